//! `cicd_image_deployment`: the image of ONE container of a Deployment (what the deploy
//! pipeline does today with `kubectl set image`), then a wait for the rollout.
//!
//! Endpoints: Kubernetes `GET /api/v1/namespaces/{ns}`, `GET /apis/apps/v1/namespaces/{ns}/deployments`
//! (one list per namespace per run, shared by every resource of that namespace), `PATCH`
//! (server-side apply, field manager `cicd`) and a watch with a `metadata.name` field selector,
//! `GET /api/v1/nodes` (platforms for multi-arch images); registry `HEAD|GET /v2/<repo>/manifests/<ref>`.
//! Import id: `namespace/deployment/container`.
//!
//! - Validate: `latest` is refused, tags must match `tag_pattern` (default 8 hex characters).
//! - Plan: the namespace, Deployment and container must exist, and a new image must exist in the
//!   registry (for an index, the child for every platform of the cluster's nodes), so a missing
//!   image fails the plan, not the rollout.
//! - Apply: server-side apply of just `{name, image}` of that container (`containers` or
//!   `initContainers`, merged by name). Without `force`, a field owned by another manager
//!   (`kubectl-set`, Helm) is a conflict reported as such. Then the rollout is watched with
//!   `kubectl rollout status`'s rules; a failed rollout is an error and the state records what
//!   the cluster actually has (`rollout_status` = `failed: ...` makes the next plan retry).
//! - Destroy leaves the workload untouched: the image stays as it is.

use crate::clients::image_ref;
use crate::clients::kubernetes::{self, find_container, is_dns1123_label, KubeClient};
use crate::clients::kubernetes::{ApplyImageError, RolloutError, TargetError};
use crate::image_check::{check_offline, Blame, Problem, Target, DEFAULT_TAG_PATTERN};
use crate::provider::ProviderData;
use crate::util::duration;
use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use std::time::Duration;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::value::Value;

tfplugin::state! {
    #[derive(Clone, Debug, Default)]
    pub struct State / StateAttrs {
        /// `namespace/deployment/container`.
        id: Val<String> = string().computed().keep_prior(),
        /// Namespace of the Deployment (must exist).
        namespace: Val<String> = string().required().force_new(),
        /// Name of the Deployment (must exist).
        deployment: Val<String> = string().required().force_new().validate(crate::util::kube_names::object_name()),
        /// Container name; init containers are found too, as `kubectl set image` does.
        container: Val<String> = string().required().force_new(),
        /// Image repository without tag, e.g. `registry.example:5000/team/app`.
        image: Val<String> = string().required(),
        /// Image tag. `latest` is refused; the tag must match `tag_pattern`.
        tag: Val<String> = string().required(),
        /// Optional `sha256:...` digest: the image is set as `image:tag@digest`, and the plan
        /// checks that the tag points at it.
        digest: Val<String> = string().optional(),
        /// Regular expression every tag must match (whole tag). Default: 8 lower-case hex
        /// characters (a short commit id).
        tag_pattern: Val<String> = string()
            .optional()
            .computed()
            .default_value(Value::String(DEFAULT_TAG_PATTERN.into())),
        /// Check at plan time that the image exists in the registry (default true). The
        /// provider's forgejo credentials are used for the forge's registry, anonymous access
        /// elsewhere.
        verify_image: Val<bool> = bool().optional().computed().default_value(Value::Bool(true)),
        /// Take ownership of the image field from another field manager (e.g. `kubectl-set`
        /// from `kubectl set image`, Helm). Without it such a change fails with a field
        /// manager conflict.
        force: Val<bool> = bool().optional().computed().default_value(Value::Bool(false)),
        /// Wait for the rollout to complete (default true).
        wait_for_rollout: Val<bool> =
            bool().optional().computed().default_value(Value::Bool(true)),
        rollout_timeout: Val<String> = string()
            .optional()
            .computed()
            .default_value(Value::String(DEFAULT_TIMEOUT.into()))
            .describe(format!(
                "How long to wait for the rollout: {} (default `5m`).",
                duration::DOC
            )),
        /// The container's image before this resource last changed it.
        previous_image: Val<String> = string().computed(),
        /// The Deployment's `deployment.kubernetes.io/revision`.
        revision: Val<String> = string().computed(),
        /// `complete`, `progressing`, or `failed: <reason>` (a failed rollout plans a new
        /// attempt).
        rollout_status: Val<String> = string().computed(),
    }
}

const DEFAULT_TIMEOUT: &str = "5m";

pub struct ImageDeployment {
    data: ProviderData,
}

impl ImageDeployment {
    pub fn new(data: ProviderData) -> Self {
        ImageDeployment { data }
    }
}

#[async_trait]
impl Resource for ImageDeployment {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_image_deployment"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, State::block("The image of one container of a Kubernetes Deployment, set with server-side apply (field manager `cicd`, only that container's `image` is owned), then a wait for the rollout like `kubectl rollout status`. The image must exist in the registry at plan time. Destroying the resource leaves the workload as it is. Import with `namespace/deployment/container`."))
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        let a = State::ATTR;
        for (attr, v) in [(a.namespace, &c.namespace), (a.container, &c.container)] {
            if let Val::Known(v) = v {
                if !is_dns1123_label(v) {
                    diags.error_at(AttrPath::root(attr), format!("Invalid {attr}"), format!("{v:?} is not a valid Kubernetes name (lower-case letters, digits and '-')."));
                }
            }
        }
        let default_pattern = DEFAULT_TAG_PATTERN.to_string();
        let pattern = c.tag_pattern.clone().or_default_known(default_pattern);
        let (image, tag, digest) = (c.image.as_deref(), c.tag.as_deref(), c.digest.as_deref());
        let (image, tag, digest) = (image.into_known(), tag.into_known(), digest.into_known());
        for p in check_offline(image, tag, digest, pattern.as_deref()) {
            report(p, diags);
        }
        if let Val::Known(t) = &c.rollout_timeout {
            if duration::parse(t).map_or(true, |d| d.is_zero()) {
                diags.error_at(
                    AttrPath::root(a.rollout_timeout),
                    "Invalid rollout_timeout",
                    format!("{t:?} is not {} (and not zero).", duration::DOC),
                );
            }
        }
    }

    async fn modify_plan(
        &self,
        _cx: &Ctx,
        req: &PlanRequest<State>,
        plan: &mut Plan<State>,
        diags: &mut Diagnostics,
    ) {
        let c = &req.config;
        let (Val::Known(ns), Val::Known(name), Val::Known(container)) =
            (&c.namespace, &c.deployment, &c.container)
        else {
            return;
        };
        let Some(kube) = self.data.kube(diags).await else {
            return;
        };
        if let Err(e) = kube.find_target(ns, name, container).await {
            return report_target(e, diags);
        }
        plan.state.id = Val::Known(format!("{ns}/{name}/{container}"));
        let changed = match &req.prior {
            None => true,
            Some(p) => target(p) != target(&plan.state) || target(&plan.state).is_none(),
        };
        if changed && plan.state.verify_image.is_unknown() {
            let detail = "verify_image is not known until apply, so this plan did not check that the image exists.";
            diags.warning_at(AttrPath::root("verify_image"), "Image not checked", detail);
        } else if changed && plan.state.verify_image.known().copied().unwrap_or(true) {
            self.verify(&kube, &plan.state, diags).await;
        }
        let Some(prior) = &req.prior else { return };
        let failed = prior
            .rollout_status
            .is_known_and(|s| s.starts_with("failed"));
        let wait = plan.state.wait_for_rollout.known().copied().unwrap_or(true);
        if !changed && failed && wait {
            // A rollout that failed last time: plan another attempt (apply again, wait again).
            plan.state.rollout_status = Val::Unknown;
            plan.state.revision = Val::Unknown;
        } else if !changed {
            // Only settings changed: nothing is written, the computed values stay.
            keep_computed(&mut plan.state, prior.clone());
        }
    }

    async fn create(
        &self,
        cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        self.set_image(cx, req, diags).await
    }

    async fn read(
        &self,
        _cx: &Ctx,
        st: State,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let (ns, name) = (st.namespace.known()?, st.deployment.known()?);
        let container = st.container.known()?;
        let kube = self.data.kube(diags).await?;
        match kube.deployment(ns, name).await {
            // The container is gone from the Deployment: so is what this resource manages.
            Ok(Some(d)) => Some(from_cluster(&st, &d, container).map_or(Read::Gone, Read::Found)),
            Ok(None) => Some(Read::Gone),
            Err(e) => diags.push_err(format!("Could not read deployment {ns}/{name}"), &e),
        }
    }

    async fn update(
        &self,
        cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let prior = req.prior.clone()?;
        let retry = req.planned.rollout_status.is_unknown();
        if target(&prior) == target(&req.planned) && !retry {
            // Settings only (force, timeout, ...): nothing to write.
            let mut st = req.planned.clone();
            keep_computed(&mut st, prior);
            return Some(st);
        }
        let keep_previous =
            (target(&prior) == target(&req.planned)).then(|| prior.previous_image.clone());
        let mut st = self.set_image(cx, req, diags).await?;
        if let Some(p) = keep_previous {
            st.previous_image = p;
        }
        Some(st)
    }

    async fn delete(&self, _cx: &Ctx, _prior: State, _private: &Private, _diags: &mut Diagnostics) {
        // NOTE: deliberately nothing: applying an empty container list would remove the image
        // (it is optional in the API); the workload keeps running what it runs.
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let parts: Vec<&str> = id.split('/').collect();
        let (ns, name, container) = match parts[..] {
            [ns, name, container] if ![ns, name, container].contains(&"") => (ns, name, container),
            _ => {
                diags.error(
                    "Invalid import id",
                    format!("Expected namespace/deployment/container, got: {id}"),
                );
                return None;
            }
        };
        let kube = self.data.kube(diags).await?;
        let found = match kube.deployment_fresh(ns, name).await {
            Ok(d) => d,
            Err(e) => return diags.push_err(format!("Could not read deployment {ns}/{name}"), &e),
        };
        let base = State {
            id: Val::Known(id.to_string()),
            namespace: Val::Known(ns.into()),
            deployment: Val::Known(name.into()),
            container: Val::Known(container.into()),
            tag_pattern: Val::Known(DEFAULT_TAG_PATTERN.into()),
            verify_image: Val::Known(true),
            force: Val::Known(false),
            wait_for_rollout: Val::Known(true),
            rollout_timeout: Val::Known(DEFAULT_TIMEOUT.into()),
            ..Default::default()
        };
        let st = found
            .as_ref()
            .and_then(|d| from_cluster(&base, d, container));
        if st.is_none() {
            let why = match found {
                None => format!("Deployment {ns}/{name} does not exist."),
                Some(_) => format!(
                    "unable to find container named {container:?} in deployment {ns}/{name}"
                ),
            };
            diags.error(format!("Cannot import {id}"), why);
        }
        st
    }
}

impl ImageDeployment {
    /// The image (and, for an index, the child of every node platform) must be in the registry.
    async fn verify(&self, kube: &KubeClient, cfg: &State, diags: &mut Diagnostics) {
        let (Val::Known(image), Val::Known(tag)) = (&cfg.image, &cfg.tag) else {
            return;
        };
        let t = match Target::parse(image, tag) {
            Ok(t) => t,
            Err(p) => return report(p, diags),
        };
        let Some(reg) = self.data.registry(diags).await else {
            return;
        };
        let digest = cfg.digest.known().map(String::as_str);
        for p in t.check(&reg, kube, digest).await {
            report(p, diags);
        }
    }

    /// Apply the planned image, then wait for the rollout if asked to; the state is what the
    /// cluster has afterwards.
    async fn set_image(
        &self,
        cx: &Ctx,
        req: &ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let p = &req.planned;
        let (ns, name) = (p.namespace.known()?, p.deployment.known()?);
        let container = p.container.known()?;
        let image = target(p)?;
        let kube = self.data.kube(diags).await?;
        let force = p.force.known().copied().unwrap_or(false);
        let applied = match kube.apply_image(ns, name, container, &image, force).await {
            Ok(a) => a,
            Err(e) => {
                report_apply(e, diags);
                return None;
            }
        };
        let mut base = p.clone();
        base.id = Val::Known(format!("{ns}/{name}/{container}"));
        base.previous_image = applied.previous.into();
        if !p.wait_for_rollout.known().copied().unwrap_or(true) {
            return from_cluster(&base, &applied.deployment, container);
        }
        let timeout = p
            .rollout_timeout
            .known()
            .and_then(|t| duration::parse(t).ok())
            .unwrap_or(Duration::from_secs(300));
        let waited = kube
            .wait_rollout(ns, name, applied.deployment, timeout, &cx.cancel)
            .await;
        after_rollout(&kube, waited, &base, &image, diags).await
    }
}

/// The state after a rollout wait: what the cluster has, with the failure reported.
async fn after_rollout(
    kube: &KubeClient,
    waited: Result<Deployment, RolloutError>,
    base: &State,
    image: &str,
    diags: &mut Diagnostics,
) -> Option<State> {
    let (ns, name) = (base.namespace.known()?, base.deployment.known()?);
    let container = base.container.known()?;
    let what = format!("deployment {ns}/{name}");
    let failed = format!("Rollout of {what} failed");
    let retry = |reason: String| {
        format!("{reason}\nThe Deployment's image is now {image}; the state records what the cluster has, and the next plan shows a new attempt.")
    };
    let timeout = base.rollout_timeout.known().cloned().unwrap_or_default();
    let (summary, detail, last) = match waited {
        Ok(d) => return from_cluster(base, &d, container),
        Err(RolloutError::Failed { reason, last }) => (failed, retry(reason), Some(*last)),
        Err(RolloutError::Timeout { waiting, last }) => {
            let reason = format!("timed out after {timeout} waiting for the rollout ({waiting})");
            diags.error(failed, retry(reason));
            let mut st = from_cluster(base, &last, container)?;
            let status = format!("failed: rollout not complete after {timeout} ({waiting})");
            st.rollout_status = Val::Known(status);
            return Some(st);
        }
        Err(RolloutError::Cancelled { last }) => {
            let summary = format!("Rollout wait for {what} interrupted");
            let detail = "Terraform asked the provider to stop.";
            (summary, detail.into(), Some(*last))
        }
        Err(RolloutError::Gone) => {
            let detail = "The Deployment was deleted while waiting.";
            (failed, detail.into(), None)
        }
        Err(RolloutError::Api(e)) => {
            let summary = format!("Could not watch the rollout of {what}");
            let last = kube.deployment_fresh(ns, name).await.ok().flatten();
            (summary, e.to_string(), last)
        }
    };
    diags.error(summary, detail);
    from_cluster(base, &last?, container)
}

/// A failed image apply as a diagnostic on the attribute to blame.
fn report_apply(e: ApplyImageError, diags: &mut Diagnostics) {
    let attr = match &e {
        ApplyImageError::NoDeployment(_) => State::ATTR.deployment,
        ApplyImageError::NoContainer(_) => State::ATTR.container,
        ApplyImageError::Conflict { .. } => State::ATTR.force,
        ApplyImageError::Api(..) => return diags.error(e.to_string(), e.detail()),
    };
    diags.error_at(AttrPath::root(attr), e.to_string(), e.detail());
}

/// A missing namespace, Deployment or container as a diagnostic on its attribute.
fn report_target(e: TargetError, diags: &mut Diagnostics) {
    let attr = match e {
        TargetError::NoNamespace(_) | TargetError::Namespace(..) => State::ATTR.namespace,
        TargetError::NoDeployment(_) | TargetError::Deployment(..) => State::ATTR.deployment,
        TargetError::NoContainer { .. } => State::ATTR.container,
    };
    diags.error_at(AttrPath::root(attr), e.to_string(), e.detail());
}

/// A plan-time registry problem as a diagnostic on the attribute to blame.
fn report(p: Problem, diags: &mut Diagnostics) {
    let attr = match p.blame {
        None => return diags.error(p.summary, p.detail),
        Some(Blame::Image) => State::ATTR.image,
        Some(Blame::Tag) => State::ATTR.tag,
        Some(Blame::Digest) => State::ATTR.digest,
        Some(Blame::TagPattern) => State::ATTR.tag_pattern,
    };
    diags.error_at(AttrPath::root(attr), p.summary, p.detail);
}

/// `image:tag[@digest]` as planned; `None` while a part is unknown.
fn target(st: &State) -> Option<String> {
    let mut s = format!("{}:{}", st.image.known()?, st.tag.known()?);
    match &st.digest {
        Val::Known(d) => s.push_str(&format!("@{d}")),
        Val::Unknown => return None,
        Val::Null => {}
    }
    Some(s)
}

/// The computed values of `prior`, for a change of settings only (nothing is written).
fn keep_computed(st: &mut State, prior: State) {
    st.previous_image = prior.previous_image;
    st.revision = prior.revision;
    st.rollout_status = prior.rollout_status;
}

/// State from the Deployment as it is (the truth), keeping the settings of `base`.
fn from_cluster(base: &State, d: &Deployment, container: &str) -> Option<State> {
    let found = find_container(d, container)?;
    let (image, tag, digest) = image_ref::split(found.image.as_deref().unwrap_or(""));
    let mut st = base.clone();
    st.image = Val::Known(image.to_string());
    st.tag = tag.map(str::to_string).into();
    st.digest = digest.map(str::to_string).into();
    st.revision = kubernetes::revision(d).into();
    st.rollout_status = Val::Known(kubernetes::rollout_state(d).to_string());
    Some(st)
}
