//! Action `cicd_woodpecker_pipeline`: start a Woodpecker pipeline (what the deploy step did
//! with `curl -X POST .../api/repos/<ID>/pipelines`), report its number, and optionally wait
//! for its end.
//!
//! Endpoints: `GET /api/repos/lookup/{owner}/{name}` (a repo given by name) or
//! `GET /api/repos/{id}` (plan: the repo exists), `POST /api/repos/{id}/pipelines`,
//! `GET /api/repos/{id}/pipelines` (the wait: every 2 s, until the pipeline's status is final).
//!
//! The trigger endpoint's answers are named for what they mean: 204 (the branch has no
//! pipeline file: nothing started), 500 (no such branch), 404 (no such repo).

use crate::clients::woodpecker::{Pipeline, TriggerOutcome, WoodpeckerClient};
use crate::clients::Error;
use crate::provider::ProviderData;
use crate::util::duration;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Duration;
use tfplugin::action::{Action, Progress};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::Ctx;
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::validate::{at_least, regex};
use tfplugin::value::Type;

tfplugin::state! {
    /// Configuration of `cicd_woodpecker_pipeline`.
    #[derive(Clone, Debug, Default)]
    pub struct Config / ConfigAttrs {
        /// Woodpecker's numeric id of the repository (`cicd_woodpecker_repo.X.id`). Exactly one
        /// of `repo_id` or `repo`.
        repo_id: Val<i64> = number().optional().validate(at_least(1)),
        /// The repository as `owner/name`. Exactly one of `repo_id` or `repo`.
        repo: Val<String> = string().optional()
            .validate(regex(r"^[^/\s]+/[^/\s]+$", "`owner/name`, as on the forge")),
        /// Branch to run (default: the repository's default branch).
        branch: Val<String> = string().optional().validate(regex(r"^\S+$", "a branch name")),
        /// Variables passed to the pipeline (they reach its steps as environment variables).
        variables: Val<BTreeMap<String, Val<String>>> = new(Type::map(Type::String)).optional(),
        /// Wait until the pipeline ends; a pipeline that does not succeed is then an error
        /// (default false: the action ends once the pipeline is started).
        wait: Val<bool> = bool().optional(),
        timeout: Val<String> = string().optional().describe(format!(
            "How long `wait` waits: {} (default `30m`). The pipeline goes on after a timeout.",
            duration::DOC
        )),
    }
}

const DEFAULT_TIMEOUT: &str = "30m";
const POLL: Duration = Duration::from_secs(2);
/// Statuses after which a pipeline does not change any more.
const FINAL: &[&str] = &[
    "success", "failure", "killed", "error", "declined", "skipped",
];

pub struct WoodpeckerPipeline {
    data: ProviderData,
}

impl WoodpeckerPipeline {
    pub fn new(data: ProviderData) -> Self {
        WoodpeckerPipeline { data }
    }
}

#[async_trait]
impl Action for WoodpeckerPipeline {
    type Config = Config;

    fn type_name(&self) -> &'static str {
        "cicd_woodpecker_pipeline"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, Config::block("Starts a Woodpecker pipeline on a branch of a repository (a manual event, with variables), reports its number and, with `wait`, waits for its end. Run it with `terraform apply -invoke=action.cicd_woodpecker_pipeline.NAME` or from a resource's `lifecycle { action_trigger { ... } }`. Needs Terraform >= 1.14."))
    }

    async fn validate(&self, _cx: &Ctx, c: &Config, diags: &mut Diagnostics) {
        let a = Config::ATTR;
        if c.repo_id.is_null() == c.repo.is_null() {
            let what = if c.repo.is_null() {
                "Neither is set."
            } else {
                "Both are set."
            };
            diags.error_at(
                AttrPath::root(a.repo_id),
                "Exactly one of repo_id, repo",
                format!("Name the repository by `repo_id` (Woodpecker's id) or `repo` (owner/name). {what}"),
            );
        }
        if let Val::Known(t) = &c.timeout {
            if let Err(e) = duration::parse(t) {
                diags.error_at(AttrPath::root(a.timeout), "Invalid timeout", e.to_string());
            }
        }
    }

    async fn plan(&self, _cx: &Ctx, c: &Config, diags: &mut Diagnostics) {
        // The repository must exist; unknown values (a repo created in the same run) wait.
        if c.repo_id.is_unknown() || c.repo.is_unknown() {
            return;
        }
        let Some(wp) = self.data.woodpecker(diags) else {
            return;
        };
        let _ = repo_id(&wp, c, diags).await;
    }

    async fn invoke(&self, cx: &Ctx, c: Config, progress: &Progress, diags: &mut Diagnostics) {
        let Some(wp) = self.data.woodpecker(diags) else {
            return;
        };
        let Some((id, name)) = repo_id(&wp, &c, diags).await else {
            return;
        };
        let branch = c.branch.known().cloned().unwrap_or_default();
        let on = if branch.is_empty() {
            "its default branch".to_string()
        } else {
            format!("branch {branch:?}")
        };
        let vars = c.variables.known_values();
        progress.send(format!("Starting a pipeline of {name} on {on}"));
        let p = match wp.trigger_pipeline(id, &branch, &vars).await {
            Ok(TriggerOutcome::Created(p)) => p,
            Ok(TriggerOutcome::NoPipelineFile) => {
                let at = AttrPath::root(Config::ATTR.branch);
                let why = format!("Woodpecker answered 204: {on} of {name} has no pipeline file (`.woodpecker/` or `.woodpecker.yaml`, or the repository's config_file), so nothing was started.");
                return diags.error_at(at, "No pipeline file on the branch", why);
            }
            Err(e) => return trigger_error(&e, id, &name, &on, diags),
        };
        let url = format!("{}/repos/{id}/pipeline/{}", wp.server(), p.number);
        progress.send(format!("Pipeline #{} of {name} started: {url}", p.number));
        if c.wait.known() != Some(&true) {
            return;
        }
        let t = c
            .timeout
            .known()
            .map(String::as_str)
            .unwrap_or(DEFAULT_TIMEOUT);
        let timeout = duration::parse(t).unwrap_or(Duration::from_secs(1800));
        wait(&wp, cx, id, &p, &name, timeout, progress, diags).await;
    }
}

/// The repository's id (and a name for messages), checked to exist.
async fn repo_id(
    wp: &WoodpeckerClient,
    c: &Config,
    diags: &mut Diagnostics,
) -> Option<(i64, String)> {
    let a = Config::ATTR;
    if let Val::Known(name) = &c.repo {
        return match wp.lookup_repo(name).await.map(|l| l.any()) {
            Ok(Some(r)) if r.active => Some((r.id, r.full_name)),
            Ok(Some(r)) => {
                let why = format!("{} (id {}) is known to Woodpecker but not active: activate it (cicd_woodpecker_repo) first.", r.full_name, r.id);
                diags.error_at(AttrPath::root(a.repo), "Repository not active", why);
                None
            }
            Ok(None) => {
                let why = format!("Woodpecker knows no repository {name:?} (404)");
                diags.error_at(AttrPath::root(a.repo), "Unknown repository", why);
                None
            }
            Err(e) => {
                let at = AttrPath::root(a.repo);
                diags.error_at(at, format!("Could not look {name} up"), e.to_string());
                None
            }
        };
    }
    let id = *c.repo_id.known()?;
    match wp.repo(id).await {
        Ok(Some(r)) => Some((id, r.full_name)),
        Ok(None) => {
            let why = format!("Woodpecker has no repository with id {id} (404).");
            diags.error_at(AttrPath::root(a.repo_id), "Unknown repository", why);
            None
        }
        Err(e) => {
            let at = AttrPath::root(a.repo_id);
            diags.error_at(at, format!("Could not read repository {id}"), e.to_string());
            None
        }
    }
}

fn trigger_error(e: &Error, id: i64, name: &str, on: &str, diags: &mut Diagnostics) {
    let summary = format!("Could not start a pipeline of {name}");
    let a = Config::ATTR;
    match e.status() {
        Some(404) => {
            let why = format!("{e}: Woodpecker has no repository with id {id} (any more).");
            diags.error_at(AttrPath::root(a.repo_id), summary, why)
        }
        Some(500) => {
            let why = format!("{e}: Woodpecker could not start {on}. It answers 500 when the branch does not exist on the forge.");
            diags.error_at(AttrPath::root(a.branch), summary, why)
        }
        _ => diags.error(summary, e.to_string()),
    }
}

/// Polls the pipeline list until `p` reaches a final status; progress on each change.
#[allow(clippy::too_many_arguments)]
async fn wait(
    wp: &WoodpeckerClient,
    cx: &Ctx,
    id: i64,
    p: &Pipeline,
    name: &str,
    timeout: Duration,
    progress: &Progress,
    diags: &mut Diagnostics,
) {
    let n = p.number;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut status = p.status.clone();
    loop {
        if FINAL.contains(&status.as_str()) {
            if status != "success" {
                let why = format!("Pipeline #{n} of {name} ended with status {status:?}.");
                diags.error(format!("Pipeline #{n} did not succeed"), why);
            } else {
                progress.send(format!("Pipeline #{n} of {name} succeeded"));
            }
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                let why = format!("Pipeline #{n} of {name} is still {status:?} after {}; it goes on in Woodpecker.", duration::format(timeout));
                return diags.error(format!("Pipeline #{n} did not end in time"), why);
            }
            _ = cx.cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        match wp.recent_pipelines(id).await {
            Ok(list) => match list.into_iter().find(|q| q.number == n) {
                Some(q) if q.status != status => {
                    status = q.status;
                    progress.send(format!("Pipeline #{n} of {name}: {status}"));
                }
                Some(_) => {}
                None => {
                    let why = format!("Pipeline #{n} of {name} is no longer listed by Woodpecker.");
                    return diags.error(format!("Pipeline #{n} disappeared"), why);
                }
            },
            Err(e) => {
                let what = format!("Could not read the pipelines of {name}");
                return diags.error(what, e.to_string());
            }
        }
    }
}
