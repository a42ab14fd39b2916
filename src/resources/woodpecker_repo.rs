//! `cicd_woodpecker_repo`: one repository activated in Woodpecker CI, with its settings.
//!
//! Endpoints: `GET /api/user` (once per process), `GET /api/user/repos?all=true` (forge repos and
//! their `forge_remote_id`, one list per run), `POST /api/repos?forge_remote_id=`, `PATCH` /
//! `DELETE [?remove=true]` `/api/repos/{id}`, `POST /api/repos/{id}/repair`, `GET /api/repos`
//! (refresh: one admin list per run; a non-admin reads `/api/repos/{id}`), `GET
//! /api/repos/{id}/permissions`, `GET /api/repos/lookup/{owner}/{name}`. Import: owner/name or id.
//!
//! - **Settings** left out follow the server; set, each is enforced (empty lists too): create
//!   PATCHes what activation does not show (re-activation keeps old settings), then checks.
//! - **Trusted** is three bools, not one object: each is optional+computed on its own, as the
//!   server patches them; an object is set as a whole (setting one flag would pin all three).
//! - **Identity is the numeric id.** A `full_name` change is in place when the new name is the
//!   same repository (the forge lists it with the same `forge_remote_id`, or Woodpecker answers
//!   it with the same id): apply repairs the repo so Woodpecker takes the name, keeping id,
//!   secrets and history. Any other `full_name` change replaces the resource.
//! - **Plan-time checks**: the repo is on the forge, the token is a Woodpecker admin or an admin
//!   of the repo, only an admin sets trusted flags, an active repo is adopted only with
//!   `adopt_existing` (else: import it). A failed check changes nothing.
//! - **Gone**: deleted or deactivated reads as gone; the re-create re-activates the same id.

use super::adopt;
use crate::clients::woodpecker::{self as wp, Repo, RepoPatch, TrustedPatch, User};
use crate::clients::woodpecker::{WoodpeckerClient, WoodpeckerError};
use crate::clients::Error;
use crate::provider::ProviderData;
use async_trait::async_trait;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::identity::{Identity, IdentitySchema};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::validate::{at_least, one_of, regex};
use tfplugin::value::{Type, Value};

pub const ON_DESTROY: &[&str] = &["deactivate", "remove"];

tfplugin::state! {
    /// State of `cicd_woodpecker_repo`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct State / StateAttrs {
        /// `owner/name` of the repository on the forge.
        full_name: Val<String> = string().required()
            .validate(regex(r"^[^/\s]+/[^/\s]+$", "`owner/name`, as on the forge")),
        /// Woodpecker's id of the repository (for pipeline triggers); it survives renames.
        id: Val<i64> = number().computed().keep_prior(),
        /// The forge's id of the repository.
        forge_remote_id: Val<String> = string().computed().keep_prior(),
        /// Owner (user or organization) on the forge.
        owner: Val<String> = string().computed().keep_prior(),
        /// Name on the forge, without the owner.
        name: Val<String> = string().computed().keep_prior(),
        /// HTTP(S) clone URL.
        clone_url: Val<String> = string().computed().keep_prior(),
        /// SSH clone URL.
        clone_url_ssh: Val<String> = string().computed().keep_prior(),
        /// Web page of the repository on the forge.
        forge_url: Val<String> = string().computed().keep_prior(),
        /// The forge's default branch.
        default_branch: Val<String> = string().computed().keep_prior(),
        /// Private on the forge (Woodpecker's own setting is `visibility`).
        private: Val<bool> = bool().computed().keep_prior(),
        /// Woodpecker's id of the owner (org secrets and registries take it).
        org_id: Val<i64> = number().computed().keep_prior(),
        /// Who may see the pipelines: `public`, `private` or `internal`.
        visibility: Val<String> = string().optional().computed().keep_prior()
            .validate(one_of(wp::REPO_VISIBILITIES)),
        /// Pipelines that wait for approval: `none`, `forks`, `pull_requests` or `all_events`.
        require_approval: Val<String> = string().optional().computed().keep_prior()
            .validate(one_of(wp::REQUIRE_APPROVAL_MODES)),
        /// Users who may approve pipelines (besides the repository's admins).
        approval_allowed_users: Val<Vec<String>> =
            new(Type::list(Type::String)).optional().computed().keep_prior()
            .validate(regex(r"^\S+$", "a user name")),
        /// Pipeline timeout in minutes (above the server's maximum needs an admin token).
        timeout: Val<i64> = number().optional().computed().keep_prior().validate(at_least(1)),
        /// Run pipelines for pull requests.
        allow_pr: Val<bool> = bool().optional().computed().keep_prior(),
        /// Allow deployment events.
        allow_deploy: Val<bool> = bool().optional().computed().keep_prior(),
        /// Path of the pipeline configuration (empty: `.woodpecker/` or `.woodpecker.yaml`).
        config_file: Val<String> = string().optional().computed().keep_prior(),
        /// Events that cancel older pipelines: `push`, `pull_request`, `tag`, `release`, `manual`,
        /// `deployment`, `cron`, `pull_request_closed`, `pull_request_metadata` (same branch).
        cancel_previous_pipeline_events: Val<Vec<String>> =
            new(Type::list(Type::String)).optional().computed().keep_prior()
            .validate(one_of(wp::WEBHOOK_EVENTS)),
        /// Plugin images that get the forge's netrc credentials.
        netrc_trusted: Val<Vec<String>> =
            new(Type::list(Type::String)).optional().computed().keep_prior()
            .validate(regex(r"^\S+$", "an image name")),
        /// Pipelines may use privileged network settings (`trusted.network`; needs an admin token).
        trusted_network: Val<bool> = bool().optional().computed().keep_prior(),
        /// Pipelines may run privileged containers (`trusted.security`; needs an admin token).
        trusted_security: Val<bool> = bool().optional().computed().keep_prior(),
        /// Pipelines may mount host volumes (`trusted.volumes`; needs an admin token).
        trusted_volumes: Val<bool> = bool().optional().computed().keep_prior(),
        /// Take over a repository that is already active, instead of failing (default false).
        adopt_existing: Val<bool> = bool().optional().computed().default_value(Value::Bool(false)),
        /// On destroy: `deactivate` (keeps id, secrets and history; the UI's Disable) or `remove`.
        on_destroy: Val<String> = string().optional().computed()
            .default_value(Value::String(ON_DESTROY[0].into())).validate(one_of(ON_DESTROY)),
    }
}

pub struct WoodpeckerRepo {
    data: ProviderData,
    /// The token's user, asked once per process.
    me: tokio::sync::OnceCell<User>,
}

impl WoodpeckerRepo {
    pub fn new(data: ProviderData) -> Self {
        let me = Default::default();
        WoodpeckerRepo { data, me }
    }
}

#[async_trait]
impl Resource for WoodpeckerRepo {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_woodpecker_repo"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, State::block("A repository activated in Woodpecker CI, with its settings: left out, a setting follows the server; set, it is enforced (an empty list clears the list). After a rename on the forge, `full_name` may follow it in place (same id, secrets and history); any other change of `full_name` replaces the repository. Import with `owner/name` or the numeric id."))
    }

    async fn modify_plan(
        &self,
        _cx: &Ctx,
        req: &PlanRequest<State>,
        plan: &mut Plan<State>,
        diags: &mut Diagnostics,
    ) {
        if req.prior.as_ref() == Some(&plan.state) {
            return;
        }
        // The checks of a create or change, each ending the plan when it fails.
        let _: Option<()> = async {
            let name = req.config.full_name.known()?;
            let wp = self.data.woodpecker(diags)?;
            let me = self.me.get_or_try_init(|| wp.current_user()).await;
            let me = me.map_err(|e| diags.error("Could not read the token's user", e.to_string()));
            let me = me.ok()?;
            let prior_or_none = req.prior.clone().unwrap_or_default();
            if !me.admin
                && settings_patch(&plan.state, &prior_or_none)
                    .trusted
                    .is_some()
            {
                let summary = "The trusted settings need a Woodpecker admin token";
                return err_at(diags, State::ATTR.trusted_network, summary, TRUSTED);
            }
            let Some(prior) = &req.prior else {
                return plan_create(&wp, me, name, &req.config, diags).await;
            };
            let id = prior.id.known().copied()?;
            if !prior.full_name.is_known_and(|p| same_name(p, name)) {
                match same_repo(&wp, name, prior).await {
                    // The repair re-syncs these from the forge.
                    Ok(true) => forget_forge_fields(&mut plan.state),
                    Ok(false) => plan.requires_replace.push(AttrPath::root(NAME)),
                    Err(e) => return err_at(diags, NAME, format!("Could not look {name} up"), e),
                }
            }
            if !me.admin && !wp.repo_permissions(id).await.is_ok_and(|p| p.admin) {
                return no_rights(me, name, "has no admin rights on it", diags);
            }
            Some(())
        }
        .await;
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let planned = &req.planned;
        let name = planned.full_name.known()?;
        let wp = self.data.woodpecker(diags)?;
        let what = format!("Could not activate repository {name}");
        let forge = match wp.forge_repo(name).await {
            Ok(Some(f)) => f,
            Ok(None) => return err_at(diags, NAME, what, NOT_ON_FORGE),
            Err(e) => return err(diags, what, e),
        };
        let adopt = planned.adopt_existing.known() == Some(&true);
        let repo = match wp.activate_repo(&forge.forge_remote_id).await {
            Ok(r) => r,
            Err(e) if e.is_duplicate() && adopt => {
                match wp.lookup_repo(name).await.map(|l| l.any()) {
                    Ok(Some(r)) if r.active => r,
                    Ok(_) => return err_at(diags, NAME, what, e),
                    Err(e) => return err(diags, what, e),
                }
            }
            Err(e) if e.is_duplicate() => return err_at(diags, NAME, what, already_active(name)),
            Err(e) => return err(diags, what, e),
        };
        write_settings(&wp, planned, from_repo(&repo, planned), diags).await
    }

    async fn read(
        &self,
        _cx: &Ctx,
        st: State,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let what = format!("Could not read repository {}", describe(&st));
        let id = st
            .id
            .known()
            .copied()
            .or_else(|| err(diags, &what, "No id in state."))?;
        match self.data.woodpecker(diags)?.repo_cached(id).await {
            Ok(Some(r)) if r.active => Some(Read::Found(from_repo(&r, &st))),
            Ok(_) => Some(Read::Gone),
            Err(e) => err(diags, what, e),
        }
    }

    async fn update(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let (prior, planned) = (req.prior.as_ref()?, &req.planned);
        let (id, name) = (prior.id.known().copied()?, planned.full_name.known()?);
        let wp = self.data.woodpecker(diags)?;
        let mut st = prior.clone();
        if !prior.full_name.is_known_and(|p| same_name(p, name)) {
            let what = format!("Could not repair repository {name} (id {id}) for its new name");
            match wp.repair_repo(id).await {
                Ok(r) if same_name(&r.full_name, name) => st = from_repo(&r, planned),
                Ok(r) => return err_at(diags, NAME, what, format!("It is still {}.", r.full_name)),
                Err(e) => return err(diags, what, e),
            }
        }
        (st.full_name, st.on_destroy) = (planned.full_name.clone(), planned.on_destroy.clone());
        st.adopt_existing = planned.adopt_existing.clone();
        write_settings(&wp, planned, st, diags).await
    }

    async fn delete(&self, _cx: &Ctx, prior: State, _private: &Private, diags: &mut Diagnostics) {
        let (Some(id), Some(wp)) = (prior.id.known().copied(), self.data.woodpecker(diags)) else {
            return;
        };
        let remove = prior.on_destroy.is_known_and(|d| d == "remove");
        let verb = if remove { "remove" } else { "deactivate" };
        let what = format!("Could not {verb} repository {}", describe(&prior));
        // Each with the read that proves it: gone (remove), or inactive (deactivate's read-back).
        let left = match remove {
            true => match wp.remove_repo(id).await {
                Ok(_) => wp.repo(id).await.map(|r| r.is_some()),
                Err(e) => Err(e),
            },
            false => wp.deactivate_repo(id).await.map(|r| r.active),
        };
        match left {
            Ok(false) => {}
            Err(e) if e.is_not_found() => {}
            Ok(true) => diags.error(what, "Woodpecker still shows it afterwards."),
            Err(e) => diags.error(what, e.to_string()),
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let wp = self.data.woodpecker(diags)?;
        let found = match id.parse::<i64>() {
            Ok(n) => wp.repo(n).await,
            Err(_) => wp.lookup_repo(id).await.map(|l| l.any()),
        };
        let what = format!("Cannot import repository {id}");
        let r = match found {
            Ok(Some(r)) if r.active => r,
            Ok(Some(_)) => return err(diags, what, NOT_ACTIVE),
            Ok(None) => return err(diags, what, NO_SUCH_REPO),
            Err(e) => return err(diags, what, e),
        };
        Some(adopt::imported_repo(&r, id))
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(adopt::woodpecker_repo())
    }
    fn identity(&self, s: &State) -> Option<Identity> {
        adopt::of_woodpecker_repo(s)
    }
    fn identity_import_id(&self, i: &Identity) -> Option<String> {
        adopt::woodpecker_repo_import_id(i)
    }
}

/// A new repository: on the forge, not active yet (or adopted), within the token's rights.
async fn plan_create(
    wp: &WoodpeckerClient,
    me: &User,
    name: &str,
    c: &State,
    diags: &mut Diagnostics,
) -> Option<()> {
    let f = match wp.forge_repo(name).await {
        Ok(Some(f)) => f,
        Ok(None) if !me.admin => return no_rights(me, name, "the forge shows it no such repository", diags),
        Ok(None) => return err_at(diags, NAME, format!("Repository {name} not found on the forge"), format!("{NOT_ON_FORGE} Create it on the forge first, or fix the name. Nothing was changed.")),
        Err(e) => return err_at(diags, NAME, format!("Could not look {name} up on the forge"), e),
    };
    if f.id != 0 && f.active && c.adopt_existing.known() != Some(&true) {
        let summary = format!("Repository {name} is already active (id {})", f.id);
        return err_at(diags, NAME, summary, already_active(name));
    }
    if !me.admin && f.id != 0 && !wp.repo_permissions(f.id).await.is_ok_and(|p| p.admin) {
        return no_rights(me, name, "has no admin rights on it", diags);
    }
    Some(())
}

/// PATCH what `want` sets and `st` (the server's view) does not show, read back, and check.
async fn write_settings(
    wp: &WoodpeckerClient,
    want: &State,
    st: State,
    diags: &mut Diagnostics,
) -> Option<State> {
    let patch = settings_patch(want, &st);
    let Some(id) = st.id.known().copied().filter(|_| !patch.is_empty()) else {
        return Some(st);
    };
    let what = format!("Could not configure repository {}", describe(&st));
    let st = match wp.patch_repo(id, &patch).await {
        Ok(r) => from_repo(&r, &st),
        // Activated but not configured: keep it in state (tainted after a create).
        Err(e) => return err(diags, what, e).or(Some(st)),
    };
    let left = settings_patch(want, &st);
    if !left.is_empty() {
        let left = serde_json::to_string(&left).unwrap_or_default();
        diags.error(what, format!("It reads back without {left}."));
    }
    Some(st)
}

/// The known settings of `want` that `have` does not show.
fn settings_patch(want: &State, have: &State) -> RepoPatch {
    fn d<T: Clone + PartialEq>(w: &Val<T>, h: &Val<T>) -> Option<T> {
        w.known().filter(|w| h.known() != Some(*w)).cloned()
    }
    // The settings named like the API's fields.
    macro_rules! diff {
        ($($f:ident),*) => { RepoPatch { $($f: d(&want.$f, &have.$f),)* ..Default::default() } };
    }
    let trusted = TrustedPatch {
        network: d(&want.trusted_network, &have.trusted_network),
        security: d(&want.trusted_security, &have.trusted_security),
        volumes: d(&want.trusted_volumes, &have.trusted_volumes),
    };
    RepoPatch {
        trusted: (trusted != TrustedPatch::default()).then_some(trusted),
        ..diff! { visibility, require_approval, approval_allowed_users, timeout, allow_pr,
        allow_deploy, config_file, cancel_previous_pipeline_events, netrc_trusted }
    }
}

/// State from the server's repo; `base` gives `full_name` (its spelling, when only the case
/// differs), `adopt_existing` and `on_destroy`.
pub(crate) fn from_repo(r: &Repo, base: &State) -> State {
    // The attributes named like the API's fields.
    macro_rules! same {
        ($($f:ident),*) => { State { $($f: Val::Known(r.$f.clone()),)* ..Default::default() } };
    }
    let mut st = same! { id, forge_remote_id, owner, name, clone_url, clone_url_ssh, forge_url,
    default_branch, private, org_id, visibility, require_approval, approval_allowed_users,
    timeout, allow_pr, allow_deploy, config_file, cancel_previous_pipeline_events, netrc_trusted };
    let t = r.trusted;
    (st.trusted_network, st.trusted_security) = (t.network.into(), t.security.into());
    st.trusted_volumes = t.volumes.into();
    st.full_name = match base.full_name.known() {
        Some(n) if same_name(n, &r.full_name) => n.clone().into(),
        _ => r.full_name.clone().into(),
    };
    (st.adopt_existing, st.on_destroy) = (base.adopt_existing.clone(), base.on_destroy.clone());
    st
}

/// What a repair re-syncs from the forge after a rename: unknown until then.
fn forget_forge_fields(s: &mut State) {
    macro_rules! unknown {
        ($($f:ident),*) => { $(s.$f = Val::Unknown;)* };
    }
    unknown! { owner, name, clone_url, clone_url_ssh, forge_url, default_branch, private, org_id }
}

/// Is `new_name` the repository of `prior` (same `forge_remote_id` on the forge, or same id)?
async fn same_repo(wp: &WoodpeckerClient, new_name: &str, prior: &State) -> Result<bool, Error> {
    if let Some(f) = wp.forge_repo(new_name).await? {
        return Ok(prior.forge_remote_id.known() == Some(&f.forge_remote_id));
    }
    let found = wp.lookup_repo(new_name).await?.found();
    Ok(found.is_some_and(|r| prior.id.known() == Some(&r.id)))
}

/// Woodpecker compares names ignoring case.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn describe(s: &State) -> String {
    let name = s.full_name.as_deref().known_or("");
    format!("{name} (id {})", s.id.clone().known_or(0))
}

const NOT_ON_FORGE: &str = "The forge lists no such repository that the token's user may push to.";
const NO_SUCH_REPO: &str = "Woodpecker has no repository by that owner/name or numeric id.";
const NOT_ACTIVE: &str = "It is not active in Woodpecker: apply a configuration with it instead \
    (that re-activates it and keeps its id).";
const TRUSTED: &str = "Only a Woodpecker admin may change trusted_network, trusted_security and \
    trusted_volumes. Leave them out of the configuration, or use an admin token. Nothing was changed.";

fn already_active(name: &str) -> String {
    format!("Repository {name} is already active in Woodpecker. Bring it under Terraform with `terraform import <address> {name}`, or set adopt_existing = true to take it over on apply. Nothing was changed.")
}

fn no_rights(me: &User, name: &str, why: &str, diags: &mut Diagnostics) -> Option<()> {
    let detail = format!("The token belongs to {}, who is not a Woodpecker admin, and {why}. Activating and configuring a repository needs a Woodpecker admin token or admin rights on the repository on the forge. Nothing was changed.", me.login);
    let summary = format!("The Woodpecker token lacks admin rights on {name}");
    err_at(diags, NAME, summary, detail)
}

fn err<T>(diags: &mut Diagnostics, summary: impl Into<String>, e: impl ToString) -> Option<T> {
    diags.error(summary, e.to_string());
    None
}

/// Errors from the server or the plan-time checks are about the repository `full_name` names.
const NAME: &str = State::ATTR.full_name;

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
#[path = "woodpecker_repo_tests.rs"]
mod tests;
