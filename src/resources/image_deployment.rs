//! `cicd_image_deployment`: the image of ONE container of a Deployment (what the deploy
//! pipeline does today with `kubectl set image`), then a wait for the rollout.
//!
//! Endpoints: Kubernetes `GET /api/v1/namespaces/{ns}`, `GET /apis/apps/v1/namespaces/{ns}/deployments`
//! (one list per namespace per run, shared by every resource of that namespace; a GET of the one
//! Deployment when listing is forbidden), `PATCH` (server-side apply, field manager `cicd`), one
//! watch per namespace shared by every rollout wait, `GET /api/v1/nodes` (platforms for
//! multi-arch images); registry `HEAD|GET /v2/<repo>/manifests/<ref>`.
//! Import id: `namespace/deployment/container`.
//!
//! - Validate: `latest` is refused, tags must match `tag_pattern` (default 8 hex characters).
//! - Plan: the namespace, Deployment and container must exist, and a new image must exist in the
//!   registry (for an index, the child for every platform of the cluster's nodes). On create a
//!   missing namespace, Deployment or container is a warning (the same apply may create it),
//!   and so is a tag not pushed yet (a provisioner may push it): the apply checks again and
//!   fails if it is still missing.
//! - Apply: server-side apply of just `{name, image}` of that container (`containers` or
//!   `initContainers`, merged by name), with the read `resourceVersion` so that a concurrent
//!   writer is never reverted. `force` (default true) takes the field from another manager
//!   (`kubectl-set`, Helm); with `force = false` that is a conflict. Then the rollout is watched
//!   with `kubectl rollout status`'s rules; a failed rollout is an error, and the next plan
//!   offers a retry that restarts the rollout as `kubectl rollout restart` does.
//! - State: `image`, `tag` and `digest` are what was applied; `live_image` is what the cluster
//!   has (an admission webhook may add a digest or rewrite the host). A refresh shows drift only
//!   when the live image is neither what was applied nor what the cluster made of it.
//! - Destroy leaves the workload untouched: the image stays as it is.

use super::adopt;
use crate::clients::kubernetes::{is_dns1123_label, KubeClient};
use crate::image_check::{check_offline, Target, DEFAULT_TAG_PATTERN};
use crate::provider::ProviderData;
use crate::util::duration;
use apply::{refreshed, report, report_target, warn_target};
use async_trait::async_trait;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::identity::{Identity, IdentitySchema};
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
        /// from `kubectl set image`, Helm), as this resource exists to own that one field
        /// (default true; only the image of this container is taken). `false`: such a change
        /// fails with a field manager conflict and nothing is written.
        force: Val<bool> = bool().optional().computed().default_value(Value::Bool(true)),
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
        /// The container's image as the cluster has it: `image:tag[@digest]`, unless an
        /// admission webhook changed it (e.g. added a digest) or another writer did since.
        live_image: Val<String> = string().computed(),
        /// The Deployment's `deployment.kubernetes.io/revision`.
        revision: Val<String> = string().computed(),
        /// `complete`, `progressing`, or `failed: <reason>` (a failed rollout plans a new
        /// attempt).
        rollout_status: Val<String> = string().computed(),
    }
}

pub(crate) const DEFAULT_TIMEOUT: &str = "5m";

const DESCRIPTION: &str = "The image of one container of a Kubernetes Deployment, set with server-side apply (field manager `cicd`, only that container's `image` is owned), then a wait for the rollout like `kubectl rollout status`. The image must exist in the registry (checked at plan; a tag not pushed yet is a warning at plan and checked again before the apply writes). Destroying the resource leaves the workload as it is. Import with `namespace/deployment/container`.

**`force` defaults to true.** The Deployment is always created by something else (kubectl, Helm, another provider), which owns the image field; `kubectl set image` takes it again. Without force every first apply, and every apply after a `kubectl set image`, would fail with a field manager conflict, and every configuration would have to say `force = true`. Since this resource exists to own that one field, it takes it, and only it: the rest of the Deployment keeps its owners. Set `force = false` to fail on such a conflict instead (nothing is written then).

**State.** `image`, `tag` and `digest` are what was applied; `live_image` is what the cluster stores, which differs when an admission webhook rewrote the image (e.g. added a digest): a refresh accepts that, and shows any other change as drift. A failed rollout plans a retry, which restarts the rollout (the `kubectl.kubernetes.io/restartedAt` template annotation, as `kubectl rollout restart`).

**RBAC.** In the Deployment's namespace: `deployments` (group `apps`) `get`, `patch` and `watch`; `list` is used when allowed (one request per namespace instead of one per Deployment). Optional: `get` on the namespace (cluster scope; without it the namespace check is skipped with a warning) and `list` on `nodes` (for multi-arch images, the platforms to check; without it, none). A Role limited with `resourceNames` works too: the rollout is then watched per Deployment.";

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

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(adopt::image_deployment())
    }
    fn identity(&self, s: &State) -> Option<Identity> {
        adopt::of_image_deployment(s)
    }
    fn identity_import_id(&self, i: &Identity) -> Option<String> {
        adopt::image_deployment_import_id(i)
    }

    fn schema(&self) -> Schema {
        Schema::new(0, State::block(DESCRIPTION))
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
        match kube.find_target(ns, name, container).await {
            Ok(found) => {
                for u in found.unchecked {
                    let summary = format!("Could not check namespace {ns}");
                    diags.warning_at(AttrPath::root(State::ATTR.namespace), summary, u);
                }
            }
            // A create (or a replacement) may follow the creation of its target in the same
            // apply.
            Err(e) if creating(req) && e.may_appear() => warn_target(e, diags),
            Err(e) => return report_target(e, diags),
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
            // Checked again at apply when it cannot pass yet (a tag to be pushed, or unknown).
            let later = self.verify(&kube, &plan.state, true, diags).await;
            if later {
                plan.private.set(apply::PRIVATE_VERIFY, &true);
            }
        }
        let Some(prior) = &req.prior else { return };
        let failed = prior
            .rollout_status
            .is_known_and(|s| s.starts_with("failed"));
        let wait = plan.state.wait_for_rollout.known().copied().unwrap_or(true);
        if !changed && failed && wait {
            // A rollout that failed last time: plan another attempt (a restart, then a wait).
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
        self.set_image(cx, req, false, diags).await
    }

    async fn read(
        &self,
        _cx: &Ctx,
        st: State,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let (ns, name) = (st.namespace.known()?, st.deployment.known()?);
        let container = st.container.known()?;
        let kube = self.data.kube(diags).await?;
        match kube.deployment(ns, name).await {
            // The container is gone from the Deployment: so is what this resource manages.
            Ok(Some(d)) => {
                let applied = private.get::<apply::Applied>(apply::PRIVATE_APPLIED);
                let st = refreshed(&st, &d, container, applied.as_ref());
                Some(st.map_or(Read::Gone, Read::Found))
            }
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
        let same = target(&prior) == target(&req.planned);
        if same && !retry {
            // Settings only (force, timeout, ...): nothing to write.
            let mut st = req.planned.clone();
            keep_computed(&mut st, prior);
            return Some(st);
        }
        let keep_previous = same.then(|| prior.previous_image.clone());
        // The same image after a failed rollout: restart it (`kubectl rollout restart`).
        let mut st = self.set_image(cx, req, same && retry, diags).await?;
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
        let st = found
            .as_ref()
            .and_then(|d| adopt::imported_container(d, container));
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
    /// At plan (`plan`), a tag not pushed yet is a warning; the result says whether the apply
    /// must check again (that, or the reference is not known yet).
    async fn verify(
        &self,
        kube: &KubeClient,
        cfg: &State,
        plan: bool,
        diags: &mut Diagnostics,
    ) -> bool {
        let (Val::Known(image), Val::Known(tag)) = (&cfg.image, &cfg.tag) else {
            return true;
        };
        if cfg.digest.is_unknown() {
            return true;
        }
        let t = match Target::parse(image, tag) {
            Ok(t) => t,
            Err(p) => {
                report(p, diags);
                return false;
            }
        };
        let Some(reg) = self.data.registry(diags).await else {
            return false;
        };
        let digest = cfg.digest.known().map(String::as_str);
        let mut later = false;
        for p in t.check(&reg, kube, digest).await {
            if plan && p.not_pushed {
                later = true;
                let detail = format!("{}\nIf this apply pushes it before this resource (a reference or depends_on), nothing is wrong; the apply checks again and fails if it is still missing.", p.detail);
                let at = AttrPath::root(State::ATTR.tag);
                diags.warning_at(at, format!("{} yet", p.summary), detail);
            } else {
                report(p, diags);
            }
        }
        later
    }
}

/// `image:tag[@digest]` as planned; `None` while a part is unknown.
pub(super) fn target(st: &State) -> Option<String> {
    let mut s = format!("{}:{}", st.image.known()?, st.tag.known()?);
    match &st.digest {
        Val::Known(d) => s.push_str(&format!("@{d}")),
        Val::Unknown => return None,
        Val::Null => {}
    }
    Some(s)
}

/// Whether the plan creates the resource: no prior state, or another target (namespace,
/// Deployment or container, all of which replace the resource).
fn creating(req: &PlanRequest<State>) -> bool {
    let Some(p) = &req.prior else { return true };
    let c = &req.config;
    (&p.namespace, &p.deployment, &p.container) != (&c.namespace, &c.deployment, &c.container)
}

/// The computed values of `prior`, for a change of settings only (nothing is written).
fn keep_computed(st: &mut State, prior: State) {
    st.previous_image = prior.previous_image;
    st.live_image = prior.live_image;
    st.revision = prior.revision;
    st.rollout_status = prior.rollout_status;
}

#[path = "image_deployment_apply.rs"]
pub(crate) mod apply;
