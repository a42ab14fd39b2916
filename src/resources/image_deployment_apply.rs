//! `cicd_image_deployment`'s apply (the image written, a rollout restarted, the wait) and the
//! state it leaves: the planned image, with what the cluster has beside it.

use super::{target, ImageDeployment, State};
use crate::clients::image_ref;
use crate::clients::kubernetes::{self, find_container, KubeClient, Rollout};
use crate::clients::kubernetes::{ApplyImageError, RolloutError, TargetError};
use crate::image_check::{Blame, Problem};
use crate::util::duration;
use k8s_openapi::api::apps::v1::Deployment;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx};
use tfplugin::typed::Val;

/// Private state: the image string applied, and what the cluster made of it ([`Applied`]).
pub const PRIVATE_APPLIED: &str = "applied";
/// Planned private state: the image could not be checked at plan (a tag not pushed yet, or an
/// unknown reference), so the apply checks it before writing.
pub const PRIVATE_VERIFY: &str = "verify_at_apply";

/// What the last apply wrote, and the image the cluster had right after (an admission webhook
/// may have added a digest or rewritten the host). A refresh that finds either keeps the
/// planned `image`/`tag`/`digest` in state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Applied {
    pub applied: String,
    pub live: String,
}

impl ImageDeployment {
    /// Apply the planned image (and with `restart`, restart the rollout of the same image),
    /// then wait for the rollout if asked to. The state keeps the planned image; `live_image`
    /// is what the cluster has.
    pub(super) async fn set_image(
        &self,
        cx: &Ctx,
        req: &mut ApplyRequest<State>,
        restart: bool,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let p = req.planned.clone();
        let (ns, name) = (p.namespace.known()?, p.deployment.known()?);
        let container = p.container.known()?;
        let image = target(&p)?;
        let kube = self.data.kube(diags).await?;
        if req.private.get::<bool>(PRIVATE_VERIFY) == Some(true) {
            // Not checkable at plan: checked now, before anything is written.
            self.verify(&kube, &p, false, diags).await;
            if diags.has_errors() {
                return None;
            }
        }
        let force = p.force.known().copied().unwrap_or(true);
        let applied = match kube.apply_image(ns, name, container, &image, force).await {
            Ok(a) => a,
            Err(e) => {
                report_apply(e, diags);
                return None;
            }
        };
        let mut base = p.clone();
        base.id = Val::Known(format!("{ns}/{name}/{container}"));
        base.previous_image = applied.previous.clone().into();
        let mut start = applied.deployment;
        let live = find_container(&start, container).and_then(|f| f.image);
        // The same image again over a failed rollout (a retry, or the replacement of a tainted
        // resource) changes nothing by itself: restart the rollout.
        let failed = matches!(kubernetes::rollout_state(&start), Rollout::Failed(_));
        let restart = restart || (failed && applied.previous.as_deref() == Some(image.as_str()));
        req.private.set(
            PRIVATE_APPLIED,
            &Applied {
                applied: image.clone(),
                live: live.clone().unwrap_or_default(),
            },
        );
        if live.as_deref().is_some_and(|l| l != image) {
            let detail = format!("The API server stored {:?} for the image {image:?} that was applied (an admission webhook?). The state keeps the applied image; live_image shows the stored one, and a refresh accepts it.", live.as_deref().unwrap_or(""));
            diags.warning(
                format!("The cluster changed the image of {container}"),
                detail,
            );
        }
        if restart {
            match kube.restart_rollout(ns, name).await {
                Ok(d) => start = d,
                Err(e) => {
                    diags.error(
                        format!("Could not restart the rollout of {ns}/{name}"),
                        e.to_string(),
                    );
                    return state_after(&base, &start, &image, diags);
                }
            }
        }
        if !p.wait_for_rollout.known().copied().unwrap_or(true) {
            return state_after(&base, &start, &image, diags);
        }
        let timeout = p
            .rollout_timeout
            .known()
            .and_then(|t| duration::parse(t).ok())
            .unwrap_or(Duration::from_secs(300));
        let waited = kube
            .wait_rollout(ns, name, start, timeout, &cx.cancel)
            .await;
        after_rollout(&kube, waited, &base, &image, diags).await
    }
}

/// The state after a successful write: the planned image; `live_image`, `revision` and
/// `rollout_status` from `d`. An error when the container is gone from `d` (deleted by someone
/// right after the apply): the state says so rather than vanishing.
fn state_after(
    base: &State,
    d: &Deployment,
    image: &str,
    diags: &mut Diagnostics,
) -> Option<State> {
    let mut st = base.clone();
    st.revision = kubernetes::revision(d).into();
    st.rollout_status = Val::Known(kubernetes::rollout_state(d).to_string());
    let container = base.container.known()?;
    match find_container(d, container) {
        Some(f) => {
            let live = f.image.unwrap_or_default();
            if live != image {
                let detail = format!("The container now runs {live:?}, not {image:?} as applied: another writer changed it during the rollout. The next plan shows it as a change.");
                diags.warning(
                    format!("The image of {container} changed after the apply"),
                    detail,
                );
            }
            st.live_image = Val::Known(live);
        }
        None => {
            let (ns, name) = (base.namespace.known()?, base.deployment.known()?);
            let detail = format!("The image was applied, but the Deployment {ns}/{name} no longer has a container named {container:?} (another writer changed its pod template). The next plan shows the resource as gone.");
            diags.error_at(
                AttrPath::root(State::ATTR.container),
                format!("Container {container} disappeared from deployment {ns}/{name}"),
                detail,
            );
            st.live_image = Val::Null;
        }
    }
    Some(st)
}

/// The state after a rollout wait, with the failure reported.
async fn after_rollout(
    kube: &KubeClient,
    waited: Result<Deployment, RolloutError>,
    base: &State,
    image: &str,
    diags: &mut Diagnostics,
) -> Option<State> {
    let (ns, name) = (base.namespace.known()?, base.deployment.known()?);
    let what = format!("deployment {ns}/{name}");
    let failed = format!("Rollout of {what} failed");
    let retry = |reason: String| {
        format!("{reason}\nThe Deployment's image is now {image}; the state records the rollout's status, and the next plan shows a new attempt (a restart of the rollout).")
    };
    let timeout = base.rollout_timeout.known().cloned().unwrap_or_default();
    let (summary, detail, last) = match waited {
        Ok(d) => return state_after(base, &d, image, diags),
        Err(RolloutError::Failed { reason, last }) => (failed, retry(reason), Some(*last)),
        Err(RolloutError::Timeout { waiting, last }) => {
            let reason = format!("timed out after {timeout} waiting for the rollout ({waiting})");
            diags.error(failed, retry(reason));
            let mut st = state_after(base, &last, image, diags)?;
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
    state_after(base, &last?, image, diags)
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

fn target_attr(e: &TargetError) -> &'static str {
    match e {
        TargetError::NoNamespace(_) | TargetError::Namespace(..) => State::ATTR.namespace,
        TargetError::NoDeployment(_) | TargetError::Deployment(..) => State::ATTR.deployment,
        TargetError::NoContainer { .. } => State::ATTR.container,
    }
}

/// A missing namespace, Deployment or container as an error on its attribute.
pub fn report_target(e: TargetError, diags: &mut Diagnostics) {
    diags.error_at(AttrPath::root(target_attr(&e)), e.to_string(), e.detail());
}

/// The same, as a warning: on create, the apply may create it first.
pub fn warn_target(e: TargetError, diags: &mut Diagnostics) {
    let detail = format!("{}\nIf this apply creates it before this resource (a reference or depends_on, e.g. a helm_release or kubernetes_deployment_v1), nothing is wrong; otherwise the apply fails.", e.detail());
    diags.warning_at(AttrPath::root(target_attr(&e)), format!("{e} yet"), detail);
}

/// A plan-time registry problem as a diagnostic on the attribute to blame.
pub fn report(p: Problem, diags: &mut Diagnostics) {
    let attr = match p.blame {
        None => return diags.error(p.summary, p.detail),
        Some(Blame::Image) => State::ATTR.image,
        Some(Blame::Tag) => State::ATTR.tag,
        Some(Blame::Digest) => State::ATTR.digest,
        Some(Blame::TagPattern) => State::ATTR.tag_pattern,
    };
    diags.error_at(AttrPath::root(attr), p.summary, p.detail);
}

/// State from the Deployment as it is (the truth), keeping the settings of `base`.
pub fn from_cluster(base: &State, d: &Deployment, container: &str) -> Option<State> {
    let found = find_container(d, container)?;
    let live = found.image.unwrap_or_default();
    let (image, tag, digest) = image_ref::split(&live);
    let mut st = base.clone();
    st.image = Val::Known(image.to_string());
    st.tag = tag.map(str::to_string).into();
    st.digest = digest.map(str::to_string).into();
    st.live_image = Val::Known(live.clone());
    st.revision = kubernetes::revision(d).into();
    st.rollout_status = Val::Known(kubernetes::rollout_state(d).to_string());
    Some(st)
}

/// A refresh: the Deployment as it is; the planned image is kept while the cluster has what
/// the last apply wrote (or what the cluster made of it, see [`Applied`]), else the live image
/// shows as drift. `None` when the container is gone.
pub fn refreshed(
    st: &State,
    d: &Deployment,
    container: &str,
    applied: Option<&Applied>,
) -> Option<State> {
    let mut fresh = from_cluster(st, d, container)?;
    let live = fresh.live_image.known().cloned().unwrap_or_default();
    let ours = applied.is_some_and(|a| {
        Some(&a.applied) == target(st).as_ref() && (live == a.applied || live == a.live)
    });
    if ours {
        fresh.image = st.image.clone();
        fresh.tag = st.tag.clone();
        fresh.digest = st.digest.clone();
    }
    Some(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(image: &str) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"observedGeneration": 2},
        }))
        .unwrap()
    }

    fn planned() -> State {
        State {
            namespace: Val::Known("ns".into()),
            deployment: Val::Known("web".into()),
            container: Val::Known("app".into()),
            image: Val::Known("r.example/team/web".into()),
            tag: Val::Known("0123abcd".into()),
            ..Default::default()
        }
    }

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn a_digest_added_by_a_webhook_keeps_the_planned_image() {
        let st = planned();
        let applied = "r.example/team/web:0123abcd".to_string();
        let live = format!("{applied}@{DIGEST}");
        let mut diags = Diagnostics::default();
        let after = state_after(&st, &dep(&live), &applied, &mut diags).unwrap();
        assert_eq!(after.tag, st.tag, "the planned tag stays");
        assert_eq!(after.digest, Val::Null, "no digest was planned");
        assert_eq!(after.live_image, Val::Known(live.clone()));
        assert!(!diags.has_errors());
        // A refresh accepts the webhook's digest...
        let a = Applied {
            applied: applied.clone(),
            live: live.clone(),
        };
        let r = refreshed(&after, &dep(&live), "app", Some(&a)).unwrap();
        assert_eq!(
            (r.image, r.tag, r.digest),
            (st.image.clone(), st.tag.clone(), Val::Null)
        );
        // ... but not another writer's image.
        let other = "r.example/team/web:ffffffff";
        let r = refreshed(&after, &dep(other), "app", Some(&a)).unwrap();
        assert_eq!(r.tag, Val::Known("ffffffff".into()));
        // Without private state (an import), the cluster is the truth.
        let r = refreshed(&after, &dep(&live), "app", None).unwrap();
        assert_eq!(r.digest, Val::Known(DIGEST.into()));
    }

    #[test]
    fn a_container_gone_right_after_the_apply_is_an_error() {
        let mut diags = Diagnostics::default();
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "other", "image": "x:1"}]}}},
        }))
        .unwrap();
        let st = state_after(&planned(), &d, "r.example/team/web:0123abcd", &mut diags);
        assert!(st.is_some(), "the state is kept");
        assert!(diags.has_errors(), "with an error");
    }
}
