//! Action `cicd_rollout_restart`: restart a Deployment's pods the way `kubectl rollout restart`
//! does (the pod template annotation `kubectl.kubernetes.io/restartedAt` set to now), then wait
//! for the rollout with `kubectl rollout status`'s rules (the watcher of
//! `cicd_image_deployment`), reporting the rollout's progress as it changes.
//!
//! Endpoints: Kubernetes `GET /apis/apps/v1/namespaces/{ns}/deployments/{name}` (plan: it
//! exists), `PATCH` (JSON merge patch, field manager `cicd-rollout-restart`), and the watch.

use crate::clients::kubernetes::{is_dns1123_label, rollout_state, KubeClient, RolloutError};
use crate::provider::ProviderData;
use crate::util::duration;
use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use std::time::Duration;
use tfplugin::action::{Action, Progress};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::Ctx;
use tfplugin::schema::Schema;
use tfplugin::typed::Val;

tfplugin::state! {
    /// Configuration of `cicd_rollout_restart`.
    #[derive(Clone, Debug, Default)]
    pub struct Config / ConfigAttrs {
        /// Namespace of the Deployment.
        namespace: Val<String> = string().required(),
        /// Name of the Deployment.
        deployment: Val<String> = string().required(),
        /// Wait for the rollout to complete (default true).
        wait_for_rollout: Val<bool> = bool().optional(),
        rollout_timeout: Val<String> = string().optional().describe(format!(
            "How long to wait for the rollout: {} (default `5m`).",
            duration::DOC
        )),
    }
}

const DEFAULT_TIMEOUT: &str = "5m";
/// How often the rollout's state is read for progress messages while the watcher waits.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

pub struct RolloutRestart {
    data: ProviderData,
}

impl RolloutRestart {
    pub fn new(data: ProviderData) -> Self {
        RolloutRestart { data }
    }
}

#[async_trait]
impl Action for RolloutRestart {
    type Config = Config;

    fn type_name(&self) -> &'static str {
        "cicd_rollout_restart"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, Config::block("Restarts the pods of a Kubernetes Deployment like `kubectl rollout restart` (the pod template annotation `kubectl.kubernetes.io/restartedAt`), then waits for the rollout like `kubectl rollout status`, reporting its progress. Run it with `terraform apply -invoke=action.cicd_rollout_restart.NAME` or from a resource's `lifecycle { action_trigger { ... } }`. Needs Terraform >= 1.14."))
    }

    async fn validate(&self, _cx: &Ctx, c: &Config, diags: &mut Diagnostics) {
        let a = Config::ATTR;
        if let Val::Known(ns) = &c.namespace {
            if !is_dns1123_label(ns) {
                let why = format!("{ns:?} is not a valid Kubernetes namespace name.");
                diags.error_at(AttrPath::root(a.namespace), "Invalid namespace", why);
            }
        }
        if let Val::Known(t) = &c.rollout_timeout {
            if let Err(e) = duration::parse(t) {
                let at = AttrPath::root(a.rollout_timeout);
                diags.error_at(at, "Invalid rollout_timeout", e.to_string());
            }
        }
    }

    async fn plan(&self, _cx: &Ctx, c: &Config, diags: &mut Diagnostics) {
        let (Val::Known(ns), Val::Known(name)) = (&c.namespace, &c.deployment) else {
            return;
        };
        let Some(kube) = self.data.kube(diags).await else {
            return;
        };
        match kube.deployment_fresh(ns, name).await {
            Ok(Some(_)) => {}
            Ok(None) => no_deployment(ns, name, diags),
            Err(e) => diags.error(
                format!("Could not read deployment {ns}/{name}"),
                e.to_string(),
            ),
        }
    }

    async fn invoke(&self, cx: &Ctx, c: Config, progress: &Progress, diags: &mut Diagnostics) {
        let (Some(ns), Some(name)) = (c.namespace.known(), c.deployment.known()) else {
            return;
        };
        let Some(kube) = self.data.kube(diags).await else {
            return;
        };
        progress.send(format!("Restarting deployment {ns}/{name}"));
        let d = match kube.restart_rollout(ns, name).await {
            Ok(d) => d,
            Err(e) if e.is_not_found() => return no_deployment(ns, name, diags),
            Err(e) => {
                let what = format!("Could not restart deployment {ns}/{name}");
                return diags.error(what, e.to_string());
            }
        };
        if c.wait_for_rollout.known() == Some(&false) {
            return;
        }
        progress.send(format!("Deployment {ns}/{name}: {}", describe(&d)));
        let t = c.rollout_timeout.known().map(String::as_str);
        let timeout =
            duration::parse(t.unwrap_or(DEFAULT_TIMEOUT)).unwrap_or(Duration::from_secs(300));
        let waited = tokio::select! {
            r = kube.wait_rollout(ns, name, d, timeout, &cx.cancel) => r,
            _ = report(&kube, ns, name, progress) => unreachable!("report never ends"),
        };
        match waited {
            Ok(_) => progress.send(format!("Deployment {ns}/{name} rolled out")),
            Err(e) => rollout_failed(ns, name, timeout, e, diags),
        }
    }
}

fn no_deployment(ns: &str, name: &str, diags: &mut Diagnostics) {
    let why = format!("Deployment {ns}/{name} does not exist.");
    diags.error_at(
        AttrPath::root(Config::ATTR.deployment),
        "Unknown deployment",
        why,
    );
}

/// Sends the rollout's state whenever it changes; never returns.
async fn report(kube: &KubeClient, ns: &str, name: &str, progress: &Progress) {
    let mut last = String::new();
    loop {
        tokio::time::sleep(PROGRESS_EVERY).await;
        if let Ok(Some(d)) = kube.deployment_fresh(ns, name).await {
            let now = describe(&d);
            if now != last {
                progress.send(format!("Deployment {ns}/{name}: {now}"));
                last = now;
            }
        }
    }
}

fn describe(d: &Deployment) -> String {
    match rollout_state(d) {
        crate::clients::kubernetes::Rollout::Waiting(w) => w,
        other => other.to_string(),
    }
}

fn rollout_failed(
    ns: &str,
    name: &str,
    timeout: Duration,
    e: RolloutError,
    diags: &mut Diagnostics,
) {
    let summary = format!("Rollout of {ns}/{name} did not complete");
    let why = match e {
        RolloutError::Failed { reason, .. } => reason,
        RolloutError::Timeout { waiting, .. } => format!(
            "Still {waiting:?} after {}; the pods were restarted and the rollout goes on.",
            duration::format(timeout)
        ),
        RolloutError::Cancelled { .. } => "Cancelled; the rollout goes on.".into(),
        RolloutError::Gone => format!("Deployment {ns}/{name} was deleted during the rollout."),
        RolloutError::Api(e) => e.to_string(),
    };
    diags.error(summary, why);
}
