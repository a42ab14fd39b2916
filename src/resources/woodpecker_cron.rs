//! `cicd_woodpecker_cron`: one cron job of a Woodpecker repository.
//!
//! Endpoints: `GET /api/repos/{repo_id}/cron` (refresh: one list per repo per run), `GET
//! /api/repos/{repo_id}/cron/{id}`, `POST /api/repos/{repo_id}/cron`, `PATCH
//! /api/repos/{repo_id}/cron/{id}`, `DELETE /api/repos/{repo_id}/cron/{id}`.
//! Import id: `repo_id/cron_id` or `repo_id/name`.
//!
//! - `name` replaces the cron when it changes: the recordings of Woodpecker 3.17.0 never show
//!   a PATCH renaming one, so the provider does not rely on it. Clearing `branch` or `timezone`
//!   (back to empty) replaces it too: Woodpecker's PATCH skips empty values.
//! - `enabled` defaults to true (the server creates a cron disabled unless told otherwise);
//!   after create the cron is read back and any field the server did not take is PATCHed.
//! - Validation at plan: the schedule as the server's parser reads it, the time zone's shape,
//!   and (when this machine has a time zone database, `$TZDIR` or `/usr/share/zoneinfo`) that
//!   the zone exists, since an unknown zone is only refused by the server at apply.
//! - A cron whose repository was removed reads as gone.

use crate::clients::woodpecker::{self as wp, Cron, CronPatch, CronWrite, WoodpeckerError};
use crate::provider::ProviderData;
use async_trait::async_trait;
use std::collections::BTreeMap;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::validate::at_least;
use tfplugin::value::{Type, Value};

tfplugin::state! {
    /// State of `cicd_woodpecker_cron`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct State / StateAttrs {
        /// `repo_id/cron_id`.
        id: Val<String> = string().computed().keep_prior(),
        /// Woodpecker's id of the cron job.
        cron_id: Val<i64> = number().computed().keep_prior(),
        /// Id of the repository (`cicd_woodpecker_repo.<name>.id`).
        repo_id: Val<i64> = number().required().force_new().validate(at_least(1)),
        /// Name, unique within the repository (pipelines see it as `CI_PIPELINE_CRON`).
        name: Val<String> = string().required().force_new(),
        /// When to run: five fields `minute hour day-of-month month day-of-week` (e.g.
        /// `0 3 * * *`), or `@daily`, `@hourly`, `@every 6h`, ...
        schedule: Val<String> = string().required(),
        /// IANA time zone of the schedule, e.g. `Europe/London` (default empty: UTC).
        timezone: Val<String> = string().optional().computed().default_value(Value::from("")),
        /// Branch to run on (default empty: the repository's default branch).
        branch: Val<String> = string().optional().computed().default_value(Value::from("")),
        /// Whether the cron job runs (default true).
        enabled: Val<bool> = bool().optional().computed().default_value(Value::Bool(true)),
        /// Variables given to the pipelines it starts (default none).
        variables: Val<BTreeMap<String, String>> = new(Type::map(Type::String))
            .optional().computed().default_value(Value::Map(BTreeMap::new())),
    }
}

pub struct WoodpeckerCron {
    data: ProviderData,
}

impl WoodpeckerCron {
    pub fn new(data: ProviderData) -> Self {
        WoodpeckerCron { data }
    }
}

#[async_trait]
impl Resource for WoodpeckerCron {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_woodpecker_cron"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, State::block("A cron job of a Woodpecker repository: a pipeline started on a schedule. Changing `name` replaces it. Import with `repo_id/cron_id` or `repo_id/name`."))
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        let a = State::ATTR;
        let checks = [
            (a.name, c.name.known().map(|v| wp::validate_cron_name(v))),
            (
                a.schedule,
                c.schedule.known().map(|v| wp::validate_cron_schedule(v)),
            ),
            (
                a.timezone,
                c.timezone
                    .known()
                    .map(|v| wp::validate_timezone(v).and_then(|_| zone_exists(v))),
            ),
        ];
        for (attr, r) in checks {
            if let Some(Err(e)) = r {
                diags.error_at(AttrPath::root(attr), format!("Invalid {attr}"), e);
            }
        }
    }

    async fn modify_plan(
        &self,
        _cx: &Ctx,
        req: &PlanRequest<State>,
        plan: &mut Plan<State>,
        _diags: &mut Diagnostics,
    ) {
        let Some(prior) = &req.prior else { return };
        for (attr, old, new) in [
            (State::ATTR.branch, &prior.branch, &plan.state.branch),
            (State::ATTR.timezone, &prior.timezone, &plan.state.timezone),
        ] {
            // Woodpecker's PATCH ignores an empty value: clearing needs a new cron.
            if new.known().is_some_and(String::is_empty)
                && old.known().is_some_and(|o| !o.is_empty())
            {
                plan.requires_replace.push(AttrPath::root(attr));
            }
        }
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let p = &req.planned;
        let (repo_id, name) = (p.repo_id.known().copied()?, p.name.known()?.clone());
        let wp = self.data.woodpecker(diags)?;
        let what = format!("Could not create cron {name:?} of repository {repo_id}");
        let write = CronWrite {
            name: name.clone(),
            schedule: p.schedule.known()?.clone(),
            timezone: p.timezone.known().cloned().unwrap_or_default(),
            branch: p.branch.known().cloned().unwrap_or_default(),
            variables: p.variables.known().cloned().unwrap_or_default(),
            enabled: p.enabled.known().copied().unwrap_or(true),
        };
        let cron = match wp.create_cron(repo_id, &write).await {
            Ok(c) => c,
            Err(e) if e.is_duplicate() => {
                let detail = format!("The repository already has a cron called {name:?}. Import it with `terraform import <address> {repo_id}/{name}`, or choose another name. Nothing was changed.");
                return err_at(diags, State::ATTR.name, what, detail);
            }
            Err(e) if e.status() == Some(422) => {
                return err_at(diags, field_of(&e.to_string()), what, e)
            }
            Err(e) if e.is_not_found() => {
                return err_at(
                    diags,
                    State::ATTR.repo_id,
                    what,
                    "Woodpecker has no repository with that id.",
                )
            }
            Err(e) => return err(diags, what, e),
        };
        // The server may not take every field on create (enabled, in 3.17.0): PATCH the rest.
        let st = from_cron(&cron);
        self.converge(&wp, p, st, diags).await
    }

    async fn read(
        &self,
        _cx: &Ctx,
        st: State,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let (Some(repo_id), Some(id)) = (st.repo_id.known().copied(), st.cron_id.known().copied())
        else {
            return err(diags, "Cron without ids in state", "Import it again.");
        };
        let wp = self.data.woodpecker(diags)?;
        match wp.cron_cached(repo_id, id).await {
            Ok(Some(c)) => Some(Read::Found(from_cron(&c))),
            Ok(None) => Some(Read::Gone),
            Err(e) if e.is_not_found() => Some(Read::Gone),
            Err(e) => err(
                diags,
                format!("Could not read cron {id} of repository {repo_id}"),
                e,
            ),
        }
    }

    async fn update(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let wp = self.data.woodpecker(diags)?;
        self.converge(&wp, &req.planned, req.prior.clone()?, diags)
            .await
    }

    async fn delete(&self, _cx: &Ctx, prior: State, _private: &Private, diags: &mut Diagnostics) {
        let (Some(repo_id), Some(id)) = (
            prior.repo_id.known().copied(),
            prior.cron_id.known().copied(),
        ) else {
            return;
        };
        let Some(wp) = self.data.woodpecker(diags) else {
            return;
        };
        let what = format!("Could not delete cron {id} of repository {repo_id}");
        // The delete, then the read that proves it.
        match wp
            .delete_cron(repo_id, id)
            .await
            .and(wp.cron(repo_id, id).await)
        {
            Ok(None) => {}
            Err(e) if e.is_not_found() => {}
            Ok(Some(_)) => diags.error(what, "Woodpecker still shows it afterwards."),
            Err(e) => diags.error(what, e.to_string()),
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let bad = || format!("Expected repo_id/cron_id or repo_id/name, got {id:?}.");
        let Some((repo, key)) = id.split_once('/') else {
            return err(diags, "Invalid import id", bad());
        };
        let Ok(repo_id) = repo.parse::<i64>() else {
            return err(diags, "Invalid import id", bad());
        };
        let wp = self.data.woodpecker(diags)?;
        let list = match wp.crons(repo_id).await {
            Ok(l) => l,
            Err(e) => {
                return err(
                    diags,
                    format!("Could not list the crons of repository {repo_id}"),
                    e,
                )
            }
        };
        let by_id = list.iter().find(|c| key.parse() == Ok(c.id));
        let c = by_id.or_else(|| list.iter().find(|c| c.name == key));
        match c {
            Some(c) => Some(from_cron(c)),
            None => err(
                diags,
                format!("Cannot import cron {id}"),
                format!("Repository {repo_id} has no cron with that id or name."),
            ),
        }
    }
}

impl WoodpeckerCron {
    /// PATCH what `want` has and `st` (the server's view) lacks, read back, and check.
    async fn converge(
        &self,
        wp: &wp::WoodpeckerClient,
        want: &State,
        st: State,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let patch = cron_patch(want, &st);
        let (Some(repo_id), Some(id)) = (st.repo_id.known().copied(), st.cron_id.known().copied())
        else {
            return Some(st);
        };
        if patch == CronPatch::default() {
            return Some(st);
        }
        let what = format!("Could not update cron {id} of repository {repo_id}");
        let st = match wp.patch_cron(repo_id, id, &patch).await {
            Ok(c) => from_cron(&c),
            Err(e) if e.status() == Some(422) => {
                return err_at(diags, field_of(&e.to_string()), what, e).or(Some(st))
            }
            // Created but not as configured: keep it in state (tainted after a create).
            Err(e) => return err(diags, what, e).or(Some(st)),
        };
        let left = cron_patch(want, &st);
        if left != CronPatch::default() {
            let left = serde_json::to_string(&left).unwrap_or_default();
            diags.error(
                what,
                format!("Woodpecker accepted the change but reads back without {left}."),
            );
        }
        Some(st)
    }
}

/// The known fields of `want` that `have` does not show.
fn cron_patch(want: &State, have: &State) -> CronPatch {
    fn d<T: Clone + PartialEq>(w: &Val<T>, h: &Val<T>) -> Option<T> {
        w.known().filter(|w| h.known() != Some(*w)).cloned()
    }
    CronPatch {
        name: None,
        schedule: d(&want.schedule, &have.schedule),
        timezone: d(&want.timezone, &have.timezone),
        branch: d(&want.branch, &have.branch),
        variables: d(&want.variables, &have.variables),
        enabled: d(&want.enabled, &have.enabled),
    }
}

fn from_cron(c: &Cron) -> State {
    State {
        id: Val::Known(format!("{}/{}", c.repo_id, c.id)),
        cron_id: Val::Known(c.id),
        repo_id: Val::Known(c.repo_id),
        name: Val::Known(c.name.clone()),
        schedule: Val::Known(c.schedule.clone()),
        timezone: Val::Known(c.timezone.clone()),
        branch: Val::Known(c.branch.clone()),
        enabled: Val::Known(c.enabled),
        variables: Val::Known(c.variables.clone()),
    }
}

/// Whether this machine's time zone database has `tz`; Ok when there is no database to ask.
fn zone_exists(tz: &str) -> Result<(), String> {
    let dir = std::env::var("TZDIR").unwrap_or_else(|_| "/usr/share/zoneinfo".into());
    let dir = std::path::Path::new(&dir);
    if tz.is_empty() || tz == "UTC" || !dir.join("UTC").is_file() || dir.join(tz).is_file() {
        return Ok(());
    }
    Err(format!("{tz:?} is not a time zone of the IANA database ({} has no such zone); Woodpecker would refuse it. Use a name such as Europe/London, or UTC.", dir.display()))
}

/// The attribute a 422 of the server names (`can't parse schedule|timezone`, `name is required`).
fn field_of(text: &str) -> &'static str {
    let a = State::ATTR;
    [a.schedule, a.timezone, a.name]
        .into_iter()
        .find(|f| text.contains(f))
        .unwrap_or(a.schedule)
}

fn err<T>(diags: &mut Diagnostics, summary: impl Into<String>, e: impl ToString) -> Option<T> {
    diags.error(summary, e.to_string());
    None
}

fn err_at<T>(
    diags: &mut Diagnostics,
    attr: &str,
    summary: impl Into<String>,
    e: impl ToString,
) -> Option<T> {
    diags.error_at(AttrPath::root(attr), summary, e.to_string());
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron() -> Cron {
        Cron {
            id: 3,
            repo_id: 1,
            name: "nightly".into(),
            schedule: "0 3 * * *".into(),
            timezone: "Europe/London".into(),
            variables: [("A".to_string(), "1".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn state_and_patch() {
        let have = from_cron(&cron());
        assert_eq!(have.id, Val::Known("1/3".into()));
        assert_eq!(have.enabled, Val::Known(false));
        let mut want = have.clone();
        assert_eq!(cron_patch(&want, &have), CronPatch::default());
        // Created disabled although asked enabled: the PATCH sends it; an empty map clears.
        want.enabled = Val::Known(true);
        want.variables = Val::Known(BTreeMap::new());
        want.schedule = Val::Unknown;
        let p = cron_patch(&want, &have);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"enabled": true, "variables": {}})
        );
    }

    #[test]
    fn server_errors_point_at_their_attribute() {
        let e = "Error inserting cron. validate failed: can't parse timezone: unknown time zone X";
        assert_eq!(field_of(e), "timezone");
        assert_eq!(field_of("validate failed: name is required"), "name");
        assert_eq!(
            field_of("can't parse schedule: expected exactly 5 fields"),
            "schedule"
        );
    }

    #[test]
    fn zones_the_local_database_lacks_are_refused() {
        assert!(zone_exists("").is_ok() && zone_exists("UTC").is_ok());
        if std::path::Path::new("/usr/share/zoneinfo/UTC").is_file()
            && std::env::var("TZDIR").is_err()
        {
            assert!(zone_exists("Europe/London").is_ok());
            assert!(zone_exists("Mars/Olympus")
                .unwrap_err()
                .contains("Mars/Olympus"));
        }
    }
}
