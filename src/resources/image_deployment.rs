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

use crate::clients::kubernetes::{self, find_container, ApplyImageError, Rollout, RolloutError};
use crate::clients::registry::{ImageRef, DOCKER_LIST, OCI_INDEX};
use crate::provider::ProviderData;
use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::typed::Val;
use tfplugin::value::Value;

pub const DEFAULT_TAG_PATTERN: &str = "^[0-9a-f]{8}$";
const DEFAULT_TIMEOUT: &str = "5m";

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct State {
    #[serde(default)]
    pub id: Val<String>,
    #[serde(default)]
    pub namespace: Val<String>,
    #[serde(default)]
    pub deployment: Val<String>,
    #[serde(default)]
    pub container: Val<String>,
    #[serde(default)]
    pub image: Val<String>,
    #[serde(default)]
    pub tag: Val<String>,
    #[serde(default)]
    pub digest: Val<String>,
    #[serde(default)]
    pub tag_pattern: Val<String>,
    #[serde(default)]
    pub verify_image: Val<bool>,
    #[serde(default)]
    pub force: Val<bool>,
    #[serde(default)]
    pub wait_for_rollout: Val<bool>,
    #[serde(default)]
    pub rollout_timeout: Val<String>,
    #[serde(default)]
    pub previous_image: Val<String>,
    #[serde(default)]
    pub revision: Val<String>,
    #[serde(default)]
    pub rollout_status: Val<String>,
}

pub struct ImageDeployment {
    data: ProviderData,
}

impl ImageDeployment {
    pub fn new(data: ProviderData) -> Self {
        ImageDeployment { data }
    }
}

fn schema() -> Schema {
    let s = |n: &str| Attribute::string(n);
    Schema::new(
        0,
        Block::new("The image of one container of a Kubernetes Deployment, set with server-side apply (field manager `cicd`, only that container's `image` is owned), then a wait for the rollout like `kubectl rollout status`. The image must exist in the registry at plan time. Destroying the resource leaves the workload as it is. Import with `namespace/deployment/container`.")
            .attr(s("id").computed().keep_prior().describe("`namespace/deployment/container`."))
            .attr(s("namespace").required().force_new().describe("Namespace of the Deployment (must exist)."))
            .attr(s("deployment").required().force_new().describe("Name of the Deployment (must exist)."))
            .attr(s("container").required().force_new().describe("Container name; init containers are found too, as `kubectl set image` does."))
            .attr(s("image").required().describe("Image repository without tag, e.g. `registry.example:5000/team/app`."))
            .attr(s("tag").required().describe("Image tag. `latest` is refused; the tag must match `tag_pattern`."))
            .attr(s("digest").optional().describe("Optional `sha256:...` digest: the image is set as `image:tag@digest`, and the plan checks that the tag points at it."))
            .attr(s("tag_pattern").optional().computed().default_value(Value::String(DEFAULT_TAG_PATTERN.into()))
                .describe("Regular expression every tag must match (whole tag). Default: 8 lower-case hex characters (a short commit id)."))
            .attr(Attribute::bool("verify_image").optional().computed().default_value(Value::Bool(true))
                .describe("Check at plan time that the image exists in the registry (default true). The provider's forgejo credentials are used for the forge's registry, anonymous access elsewhere."))
            .attr(Attribute::bool("force").optional().computed().default_value(Value::Bool(false))
                .describe("Take ownership of the image field from another field manager (e.g. `kubectl-set` from `kubectl set image`, Helm). Without it such a change fails with a field manager conflict."))
            .attr(Attribute::bool("wait_for_rollout").optional().computed().default_value(Value::Bool(true))
                .describe("Wait for the rollout to complete (default true)."))
            .attr(s("rollout_timeout").optional().computed().default_value(Value::String(DEFAULT_TIMEOUT.into()))
                .describe(format!("How long to wait for the rollout: {} (default `5m`).", crate::util::duration::DOC)))
            .attr(s("previous_image").computed().describe("The container's image before this resource last changed it."))
            .attr(s("revision").computed().describe("The Deployment's `deployment.kubernetes.io/revision`."))
            .attr(s("rollout_status").computed().describe("`complete`, `progressing`, or `failed: <reason>` (a failed rollout plans a new attempt).")),
    )
}

/// `repo[:tag][@digest]` split as written (no registry defaults).
pub fn split_image(s: &str) -> (String, Option<String>, Option<String>) {
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (s, None),
    };
    let last = name.rfind('/').map_or(0, |i| i + 1);
    match name[last..].rfind(':') {
        Some(i) => (
            name[..last + i].to_string(),
            Some(name[last + i + 1..].to_string()),
            digest,
        ),
        None => (name.to_string(), None, digest),
    }
}

fn target(st: &State) -> Option<String> {
    let mut s = format!("{}:{}", st.image.known()?, st.tag.known()?);
    match &st.digest {
        Val::Known(d) => s.push_str(&format!("@{d}")),
        Val::Unknown => return None,
        Val::Null => {}
    }
    Some(s)
}

fn status_of(d: &Deployment) -> String {
    match kubernetes::rollout_state(d) {
        Rollout::Complete => "complete".into(),
        Rollout::Waiting(_) => "progressing".into(),
        Rollout::Failed(r) => format!("failed: {r}"),
    }
}

/// State from the Deployment as it is (the truth), keeping the settings of `base`.
fn from_cluster(base: &State, d: &Deployment, container: &str) -> Option<State> {
    let found = find_container(d, container)?;
    let (image, tag, digest) = split_image(found.image.as_deref().unwrap_or(""));
    let mut st = base.clone();
    st.image = Val::Known(image);
    st.tag = tag.into();
    st.digest = digest.into();
    st.revision = kubernetes::revision(d).into();
    st.rollout_status = Val::Known(status_of(d));
    Some(st)
}

impl ImageDeployment {
    /// The image (and, for an index, the child of every node platform) must be in the registry.
    async fn verify(&self, cfg: &State, diags: &mut Diagnostics) {
        let (Val::Known(image), Val::Known(tag)) = (&cfg.image, &cfg.tag) else {
            return;
        };
        let r = match ImageRef::parse(&format!("{image}:{tag}")) {
            Ok(r) => r,
            Err(e) => return diags.error_at(AttrPath::root("image"), "Invalid image", e),
        };
        let Some(reg) = self.data.registry(diags).await else {
            return;
        };
        let shown = format!("{image}:{tag}");
        let head = match reg.head_manifest(&r.host, &r.repository, tag).await {
            Ok(Some(h)) => h,
            Ok(None) => return diags.error_at(AttrPath::root("tag"), format!("Image {shown} not found in the registry"),
                format!("The registry {} has no manifest for {}:{tag}. Push the image first, or fix the tag. Nothing was changed in the cluster.", r.host, r.repository)),
            Err(e) => return diags.error_at(AttrPath::root("image"), format!("Could not check image {shown} in the registry"),
                format!("{e}\nSet verify_image = false to skip this check.")),
        };
        if let Val::Known(d) = &cfg.digest {
            if !head.digest.eq_ignore_ascii_case(d) {
                return diags.error_at(
                    AttrPath::root("digest"),
                    format!("Tag {tag} does not point at {d}"),
                    format!("The registry says {shown} is {}.", head.digest),
                );
            }
        }
        if head.media_type != OCI_INDEX && head.media_type != DOCKER_LIST {
            return;
        }
        let Some(kube) = self.data.kube(diags).await else {
            return;
        };
        let platforms = match kube.node_platforms().await {
            Ok(p) => p,
            Err(e) => {
                return diags.error(
                    format!("Could not list the cluster's node platforms to check {shown}"),
                    e.to_string(),
                )
            }
        };
        let index = match reg.get_manifest(&r.host, &r.repository, &head.digest).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                return diags.error_at(
                    AttrPath::root("tag"),
                    format!("Image index {shown} vanished"),
                    "The index was found by HEAD but not by GET.",
                )
            }
            Err(e) => {
                return diags.error_at(
                    AttrPath::root("image"),
                    format!("Could not read image index {shown}"),
                    e.to_string(),
                )
            }
        };
        for (os, arch) in platforms {
            let child = index.children.iter().find(|c| {
                c.platform
                    .as_ref()
                    .is_some_and(|p| p.os == os && p.architecture == arch)
            });
            let Some(child) = child else {
                diags.error_at(AttrPath::root("tag"), format!("Image {shown} has no {os}/{arch} variant"),
                    format!("The cluster has {os}/{arch} nodes, but the index {} lists no child for that platform.", head.digest));
                continue;
            };
            match reg.head_manifest(&r.host, &r.repository, &child.digest).await {
                Ok(Some(_)) => {}
                Ok(None) => diags.error_at(AttrPath::root("tag"), format!("Image {shown} is broken for {os}/{arch}"),
                    format!("The index lists {} for {os}/{arch}, but the registry does not have it: pulls would fail.", child.digest)),
                Err(e) => diags.error_at(AttrPath::root("image"), format!("Could not check {shown} for {os}/{arch}"), e.to_string()),
            }
        }
    }

    async fn set_image(
        &self,
        cx: &Ctx,
        req: &ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let p = &req.planned;
        let (ns, name, container) = (
            p.namespace.known()?.clone(),
            p.deployment.known()?.clone(),
            p.container.known()?.clone(),
        );
        let image = target(p)?;
        let kube = self.data.kube(diags).await?;
        let what = format!("deployment {ns}/{name}");
        let force = p.force.known().copied().unwrap_or(false);
        let (previous, patched) = match kube
            .apply_image(&ns, &name, &container, &image, force)
            .await
        {
            Ok(a) => (a.previous, a.deployment),
            Err(ApplyImageError::NoDeployment) => {
                diags.error_at(
                    AttrPath::root("deployment"),
                    format!("Could not set the image of {what}"),
                    "The Deployment does not exist.",
                );
                return None;
            }
            Err(ApplyImageError::NoContainer(names)) => {
                diags.error_at(
                    AttrPath::root("container"),
                    format!("Container {container} not found in {what}"),
                    format!(
                        "unable to find container named {container:?}; the pod template has: {}.",
                        names.join(", ")
                    ),
                );
                return None;
            }
            Err(ApplyImageError::Api(e)) if e.is_conflict() => {
                diags.error_at(AttrPath::root("force"), format!("Field manager conflict setting the image of {what}"),
                    format!("{e}\n\nAnother field manager (named above, e.g. kubectl-set from `kubectl set image`, or Helm) owns the image of container {container}. Set force = true to take ownership of that field; nothing was changed."));
                return None;
            }
            Err(ApplyImageError::Api(e)) => {
                diags.error(format!("Could not set the image of {what}"), e.to_string());
                return None;
            }
        };
        let mut base = p.clone();
        base.id = Val::Known(format!("{ns}/{name}/{container}"));
        base.previous_image = previous.into();
        if !p.wait_for_rollout.known().copied().unwrap_or(true) {
            return from_cluster(&base, &patched, &container);
        }
        let timeout = p
            .rollout_timeout
            .known()
            .and_then(|t| crate::util::duration::parse(t).ok())
            .unwrap_or(Duration::from_secs(300));
        let failed = |diags: &mut Diagnostics, reason: String| {
            diags.error(format!("Rollout of {what} failed"), format!("{reason}\nThe Deployment's image is now {image}; the state records what the cluster has, and the next plan shows a new attempt."));
        };
        match kube
            .wait_rollout(&ns, &name, patched, timeout, &cx.cancel)
            .await
        {
            Ok(d) => from_cluster(&base, &d, &container),
            Err(RolloutError::Failed { reason, last }) => {
                failed(diags, reason);
                from_cluster(&base, &last, &container)
            }
            Err(RolloutError::Timeout { waiting, last }) => {
                failed(
                    diags,
                    format!(
                        "timed out after {} waiting for the rollout ({waiting})",
                        p.rollout_timeout.known().cloned().unwrap_or_default()
                    ),
                );
                let mut st = from_cluster(&base, &last, &container)?;
                st.rollout_status = Val::Known(format!(
                    "failed: rollout not complete after {} ({waiting})",
                    p.rollout_timeout.known().cloned().unwrap_or_default()
                ));
                Some(st)
            }
            Err(RolloutError::Cancelled { last }) => {
                diags.error(
                    format!("Rollout wait for {what} interrupted"),
                    "Terraform asked the provider to stop.",
                );
                from_cluster(&base, &last, &container)
            }
            Err(RolloutError::Gone) => {
                diags.error(
                    format!("Rollout of {what} failed"),
                    "The Deployment was deleted while waiting.",
                );
                None
            }
            Err(RolloutError::Api(e)) => {
                diags.error(
                    format!("Could not watch the rollout of {what}"),
                    e.to_string(),
                );
                match kube.deployment_fresh(&ns, &name).await {
                    Ok(Some(d)) => from_cluster(&base, &d, &container),
                    _ => None,
                }
            }
        }
    }
}

#[async_trait]
impl Resource for ImageDeployment {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_image_deployment"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        for (attr, v) in [("namespace", &c.namespace), ("container", &c.container)] {
            if let Val::Known(v) = v {
                if !crate::clients::kubernetes::is_dns1123_label(v) {
                    diags.error_at(AttrPath::root(attr), format!("Invalid {attr}"), format!("{v:?} is not a valid Kubernetes name (lower-case letters, digits and '-')."));
                }
            }
        }
        if let Val::Known(image) = &c.image {
            let (_, tag, digest) = split_image(image);
            if tag.is_some() || digest.is_some() {
                diags.error_at(
                    AttrPath::root("image"),
                    "Image must not carry a tag or digest",
                    format!(
                        "Set image to the repository only ({:?}) and put the tag in `tag`.",
                        split_image(image).0
                    ),
                );
            } else if let Err(e) = ImageRef::parse(&format!("{image}:x")) {
                diags.error_at(AttrPath::root("image"), "Invalid image", e);
            }
        }
        let pattern = c
            .tag_pattern
            .clone()
            .or_default_known(DEFAULT_TAG_PATTERN.into());
        let re = match pattern
            .as_deref()
            .map(|p| regex::Regex::new(&format!("^(?:{p})$")))
        {
            Some(Ok(re)) => Some(re),
            Some(Err(e)) => {
                diags.error_at(
                    AttrPath::root("tag_pattern"),
                    "Invalid tag_pattern",
                    e.to_string(),
                );
                None
            }
            None => None,
        };
        if let Val::Known(tag) = &c.tag {
            if tag == "latest" {
                diags.error_at(AttrPath::root("tag"), "The tag \"latest\" is not allowed", "A moving tag cannot show in a plan what will run. Deploy an immutable tag (e.g. the commit id).");
            } else if let Some(re) = re {
                if !re.is_match(tag) {
                    diags.error_at(AttrPath::root("tag"), format!("Tag {tag:?} does not match the tag policy"),
                        format!("Tags must match {:?} (tag_pattern). Default: 8 lower-case hex characters, a short commit id.", pattern.unwrap_or_default()));
                }
            }
        }
        if let Val::Known(d) = &c.digest {
            let ok = d
                .strip_prefix("sha256:")
                .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok {
                diags.error_at(
                    AttrPath::root("digest"),
                    "Invalid digest",
                    format!("{d:?} must be sha256: followed by 64 hex digits."),
                );
            }
        }
        if let Val::Known(t) = &c.rollout_timeout {
            if crate::util::duration::parse(t).map_or(true, |d| d.is_zero()) {
                diags.error_at(
                    AttrPath::root("rollout_timeout"),
                    "Invalid rollout_timeout",
                    format!(
                        "{t:?} is not {} (and not zero).",
                        crate::util::duration::DOC
                    ),
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
        match kube.namespace_exists(ns).await {
            Ok(true) => {}
            Ok(false) => {
                return diags.error_at(
                    AttrPath::root("namespace"),
                    format!("Namespace {ns} does not exist"),
                    "The Kubernetes namespace was not found.",
                )
            }
            Err(e) => {
                return diags.error_at(
                    AttrPath::root("namespace"),
                    format!("Could not check namespace {ns}"),
                    e.to_string(),
                )
            }
        }
        let d = match kube.deployment(ns, name).await {
            Ok(Some(d)) => d,
            Ok(None) => {
                return diags.error_at(
                    AttrPath::root("deployment"),
                    format!("Deployment {ns}/{name} does not exist"),
                    "The Deployment was not found in that namespace.",
                )
            }
            Err(e) => {
                return diags.error_at(
                    AttrPath::root("deployment"),
                    format!("Could not read deployment {ns}/{name}"),
                    e.to_string(),
                )
            }
        };
        if find_container(&d, container).is_none() {
            return diags.error_at(
                AttrPath::root("container"),
                format!("Container {container} not found in deployment {ns}/{name}"),
                format!(
                    "unable to find container named {container:?}; the pod template has: {}.",
                    kubernetes::container_names(&d).join(", ")
                ),
            );
        }
        plan.state.id = Val::Known(format!("{ns}/{name}/{container}"));
        let changed = match &req.prior {
            None => true,
            Some(p) => target(p) != target(&plan.state) || target(&plan.state).is_none(),
        };
        if changed && plan.state.verify_image.known().copied().unwrap_or(true) {
            self.verify(&plan.state, diags).await;
        }
        let Some(prior) = &req.prior else { return };
        let failed = prior
            .rollout_status
            .known()
            .is_some_and(|s| s.starts_with("failed"));
        let wait = plan.state.wait_for_rollout.known().copied().unwrap_or(true);
        if !changed && failed && wait {
            // A rollout that failed last time: plan another attempt (apply again, wait again).
            plan.state.rollout_status = Val::Unknown;
            plan.state.revision = Val::Unknown;
        } else if !changed {
            // Only settings changed: nothing is written, the computed values stay.
            plan.state.previous_image = prior.previous_image.clone();
            plan.state.revision = prior.revision.clone();
            plan.state.rollout_status = prior.rollout_status.clone();
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
        let (ns, name, container) = (
            st.namespace.known()?.clone(),
            st.deployment.known()?.clone(),
            st.container.known()?.clone(),
        );
        let kube = self.data.kube(diags).await?;
        match kube.deployment(&ns, &name).await {
            // The container is gone from the Deployment: so is what this resource manages.
            Ok(Some(d)) => Some(from_cluster(&st, &d, &container).map_or(Read::Gone, Read::Found)),
            Ok(None) => Some(Read::Gone),
            Err(e) => {
                diags.error(
                    format!("Could not read deployment {ns}/{name}"),
                    e.to_string(),
                );
                None
            }
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
            st.previous_image = prior.previous_image;
            st.revision = prior.revision;
            st.rollout_status = prior.rollout_status;
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
        let [ns, name, container] = parts[..] else {
            diags.error(
                "Invalid import id",
                format!("Expected namespace/deployment/container, got: {id}"),
            );
            return None;
        };
        if [ns, name, container].iter().any(|p| p.is_empty()) {
            diags.error(
                "Invalid import id",
                format!("Expected namespace/deployment/container, got: {id}"),
            );
            return None;
        }
        let kube = self.data.kube(diags).await?;
        let d = match kube.deployment_fresh(ns, name).await {
            Ok(Some(d)) => d,
            Ok(None) => {
                diags.error(
                    format!("Cannot import {id}"),
                    format!("Deployment {ns}/{name} does not exist."),
                );
                return None;
            }
            Err(e) => {
                diags.error(
                    format!("Could not read deployment {ns}/{name}"),
                    e.to_string(),
                );
                return None;
            }
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
        let st = from_cluster(&base, &d, container);
        if st.is_none() {
            diags.error(
                format!("Cannot import {id}"),
                format!("unable to find container named {container:?} in deployment {ns}/{name}"),
            );
        }
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_images() {
        let cases = [
            (
                "registry.example:5000/team/app:abc12345",
                ("registry.example:5000/team/app", Some("abc12345"), None),
            ),
            (
                "registry.example:5000/team/app",
                ("registry.example:5000/team/app", None, None),
            ),
            (
                "r/app:v1@sha256:00",
                ("r/app", Some("v1"), Some("sha256:00")),
            ),
            ("nginx", ("nginx", None, None)),
        ];
        for (s, (r, t, d)) in cases {
            let (r2, t2, d2) = split_image(s);
            assert_eq!(
                (r2.as_str(), t2.as_deref(), d2.as_deref()),
                (r, t, d),
                "{s}"
            );
        }
    }
}
