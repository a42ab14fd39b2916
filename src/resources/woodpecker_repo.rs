//! `cicd_woodpecker_repo`: one repository activated in Woodpecker CI, with its settings.
//!
//! Endpoints: `GET /api/user` (once per process: is the token an admin), `GET
//! /api/user/repos?all=true` (the forge's repositories and their `forge_remote_id`, one list per
//! run), `POST /api/repos?forge_remote_id=` (activate), `PATCH /api/repos/{id}`, `POST
//! /api/repos/{id}/repair` (after a forge rename), `DELETE /api/repos/{id}[?remove=true]`,
//! `GET /api/repos` (refresh: one admin list per run for every repo; a non-admin token reads
//! `GET /api/repos/{id}`), `GET /api/repos/{id}/permissions`, `GET /api/repos/lookup/{name}`.
//! Import id: `owner/name` or the numeric id.
//!
//! - **Settings** left out of the configuration follow the server (whatever activation or a
//!   person set); each one in the configuration is enforced, empty lists included. A
//!   re-activated repository keeps its old settings, so create PATCHes every configured one
//!   that differs from what the activation shows, then reads back and checks.
//! - **Trusted** is three bools (`trusted_network`, `trusted_security`, `trusted_volumes`), not
//!   one object: each is optional+computed on its own and maps to the server's flag-by-flag
//!   patch, which a single optional+computed object attribute cannot express (setting one flag
//!   would have to set all three), and plain attributes plan the same under Terraform 1.0.3.
//! - **Identity is the numeric id**, not the name. A `full_name` change is planned in place
//!   when the new name is the same repository (the forge lists it under the new name with the
//!   same `forge_remote_id`, or Woodpecker already answers the new name with the same id):
//!   apply repairs the repo so Woodpecker picks the name up, keeping id, secrets and history.
//!   Any other `full_name` change replaces the resource.
//! - **Plan-time checks**: the repository must be on the forge (among those the token's user
//!   may push to), the token must be a Woodpecker admin or have admin rights on the
//!   repository, the trusted flags need an admin, and an already active repository is adopted
//!   only with `adopt_existing = true` (else: import it). Nothing changes on the server when a
//!   check fails.
//! - **Gone**: a repository that is deleted or deactivated (`active = false`) reads as gone, so
//!   the plan re-creates it; re-activation keeps the id. `on_destroy` chooses deactivate (keeps
//!   id, secrets and history) or remove (deletes them; a later activation gets a new id).

use crate::clients::woodpecker::{self as wp, Repo, RepoPatch, TrustedPatch, User};
use crate::clients::woodpecker::{WoodpeckerClient, WoodpeckerError};
use crate::provider::ProviderData;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::typed::Val;
use tfplugin::value::{Type, Value};

/// What `on_destroy` may say.
pub const ON_DESTROY: &[&str] = &["deactivate", "remove"];

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct State {
    pub full_name: Val<String>,
    pub id: Val<i64>,
    pub forge_remote_id: Val<String>,
    pub owner: Val<String>,
    pub name: Val<String>,
    pub clone_url: Val<String>,
    pub clone_url_ssh: Val<String>,
    pub forge_url: Val<String>,
    pub default_branch: Val<String>,
    pub private: Val<bool>,
    pub org_id: Val<i64>,
    pub visibility: Val<String>,
    pub require_approval: Val<String>,
    pub approval_allowed_users: Val<Vec<String>>,
    pub timeout: Val<i64>,
    pub allow_pr: Val<bool>,
    pub allow_deploy: Val<bool>,
    pub config_file: Val<String>,
    pub cancel_previous_pipeline_events: Val<Vec<String>>,
    pub netrc_trusted: Val<Vec<String>>,
    pub trusted_network: Val<bool>,
    pub trusted_security: Val<bool>,
    pub trusted_volumes: Val<bool>,
    pub adopt_existing: Val<bool>,
    pub on_destroy: Val<String>,
}

pub(crate) fn schema() -> Schema {
    let ro = |a: Attribute, d: &str| a.computed().keep_prior().describe(d);
    let set = |a: Attribute, d: &str| a.optional().computed().keep_prior().describe(d);
    let s = Attribute::string;
    let b = |n: &str| Attribute::bool(n);
    let list = |n: &str| Attribute::new(n, Type::list(Type::String));
    let trusted = |flag: &str| {
        set(b(&format!("trusted_{flag}")), &format!("Pipelines may use {flag} privileges (`trusted.{flag}`). Changing it needs a Woodpecker admin token."))
    };
    Schema::new(0, Block::new("A repository activated in Woodpecker CI, with its settings. Settings left out of the configuration follow the server; settings in it are enforced (an empty list clears the list). Changing `full_name` to the repository's new name after a rename on the forge keeps the repository (same id, secrets and history; Woodpecker is repaired to pick the name up); any other change of `full_name` replaces it. A repository deactivated outside Terraform plans a re-activation, which keeps its id. Import with `owner/name` or the numeric id.")
        .attr(s("full_name").required().describe("`owner/name` of the repository on the forge."))
        .attr(ro(Attribute::number("id"), "Woodpecker's numeric id of the repository (what pipeline triggers and badges use). Kept across deactivation, re-activation and forge renames."))
        .attr(ro(s("forge_remote_id"), "The forge's id of the repository."))
        .attr(ro(s("owner"), "Owner (user or organization) on the forge."))
        .attr(ro(s("name"), "Name on the forge, without the owner."))
        .attr(ro(s("clone_url"), "HTTP(S) clone URL."))
        .attr(ro(s("clone_url_ssh"), "SSH clone URL."))
        .attr(ro(s("forge_url"), "Web page of the repository on the forge."))
        .attr(ro(s("default_branch"), "The forge's default branch."))
        .attr(ro(b("private"), "Private on the forge (Woodpecker's own is `visibility`)."))
        .attr(ro(Attribute::number("org_id"), "Woodpecker's id of the owner (for org secrets and registries)."))
        .attr(set(s("visibility"), "Who may see the repository's pipelines: `public`, `private` or `internal`."))
        .attr(set(s("require_approval"), "Which pipelines need approval before they run: `none`, `forks`, `pull_requests` or `all_events`."))
        .attr(set(list("approval_allowed_users"), "Users who may approve pipelines (besides the repository's admins)."))
        .attr(set(Attribute::number("timeout"), "Pipeline timeout in minutes (at least 1; above the server's maximum needs an admin)."))
        .attr(set(b("allow_pr"), "Run pipelines for pull requests."))
        .attr(set(b("allow_deploy"), "Allow deployment events."))
        .attr(set(s("config_file"), "Path of the pipeline configuration in the repository (empty: Woodpecker's default, `.woodpecker/` or `.woodpecker.yaml`)."))
        .attr(set(list("cancel_previous_pipeline_events"), "Events whose new pipeline cancels the running ones of the same branch or pull request: `push`, `pull_request`, `pull_request_closed`, `pull_request_metadata`, `tag`, `release`, `deployment`, `cron`, `manual`."))
        .attr(set(list("netrc_trusted"), "Plugin images that get the forge's netrc credentials."))
        .attr(trusted("network"))
        .attr(trusted("security"))
        .attr(trusted("volumes"))
        .attr(b("adopt_existing").optional().computed().default_value(Value::Bool(false)).describe("When the repository is already active in Woodpecker, take it over on create instead of failing (default false: import it instead)."))
        .attr(s("on_destroy").optional().computed().default_value(Value::String("deactivate".into())).describe("What destroy does: `deactivate` (default; keeps the id, secrets and pipeline history, like the UI's Disable) or `remove` (deletes them; a later activation gets a new id).")))
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
        schema()
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        let no_empty = |v: &Vec<String>| match v.iter().any(|e| e.trim().is_empty()) {
            true => Err("The list must not contain empty strings.".to_string()),
            false => Ok(()),
        };
        let on_destroy = |v: &String| match ON_DESTROY.contains(&v.as_str()) {
            true => Ok(()),
            false => Err(format!("{v:?} is not valid; choose deactivate or remove.")),
        };
        let checks = [
            ("full_name", c.full_name.known().map(|v| valid_full_name(v))),
            (
                "visibility",
                c.visibility.known().map(|v| wp::validate_visibility(v)),
            ),
            (
                "require_approval",
                c.require_approval
                    .known()
                    .map(|v| wp::validate_require_approval(v)),
            ),
            (
                "timeout",
                c.timeout.known().map(|v| wp::validate_timeout(*v)),
            ),
            (
                "cancel_previous_pipeline_events",
                c.cancel_previous_pipeline_events
                    .known()
                    .map(|v| wp::validate_webhook_events(v)),
            ),
            (
                "approval_allowed_users",
                c.approval_allowed_users.known().map(no_empty),
            ),
            ("netrc_trusted", c.netrc_trusted.known().map(no_empty)),
            ("on_destroy", c.on_destroy.known().map(on_destroy)),
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
        diags: &mut Diagnostics,
    ) {
        let Val::Known(name) = &req.config.full_name else {
            return;
        };
        if req.prior.as_ref() == Some(&plan.state) {
            return;
        }
        let Some(wp) = self.data.woodpecker(diags) else {
            return;
        };
        let Some(me) = self.me(&wp, diags).await else {
            return;
        };
        let Some(prior) = &req.prior else {
            return plan_create(&wp, &me, name, &req.config, diags).await;
        };
        if !me.admin
            && trusted(&plan.state)
                .iter()
                .zip(trusted(prior))
                .any(|(p, q)| p != &q)
        {
            return trusted_needs_admin(&me, diags);
        }
        let Some(id) = prior.id.known().copied() else {
            return;
        };
        if prior.full_name.known().is_some_and(|p| !same_name(p, name)) {
            match same_repo(&wp, name, prior).await {
                // Woodpecker re-syncs these from the forge on the repair.
                Ok(true) => forget_forge_fields(&mut plan.state),
                Ok(false) => return plan.requires_replace.push(AttrPath::root("full_name")),
                Err(e) => {
                    return err_at(diags, "full_name", format!("Could not look up {name}"), e)
                        .unwrap_or(())
                }
            }
        }
        if !me.admin && !wp.repo_permissions(id).await.is_ok_and(|p| p.admin) {
            no_rights(&me, name, "has no admin rights on it", diags);
        }
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let planned = &req.planned;
        let name = planned.full_name.known()?.clone();
        let wp = self.data.woodpecker(diags)?;
        let what = format!("Could not activate repository {name}");
        let forge = match wp.forge_repo(&name).await {
            Ok(Some(f)) => f,
            Ok(None) => return err_at(diags, "full_name", what, NOT_ON_FORGE),
            Err(e) => return err(diags, what, e),
        };
        let adopt = planned.adopt_existing.known() == Some(&true);
        let repo = match wp.activate_repo(&forge.forge_remote_id).await {
            Ok(r) => r,
            Err(e) if e.is_duplicate() && adopt => match wp.lookup_repo(&name).await.map(|l| l.any()) {
                Ok(Some(r)) if r.active => r,
                Ok(_) => return err_at(diags, "full_name", what, format!("{e}; no active repository is called {name} (a stale entry may hold the name).")),
                Err(e) => return err(diags, what, e),
            },
            Err(e) if e.is_duplicate() => return err_at(diags, "full_name", what, already_active(&name)),
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
        let Some(id) = st.id.known().copied() else {
            return err(
                diags,
                "Repository without an id in state",
                "Import it again.",
            );
        };
        let wp = self.data.woodpecker(diags)?;
        match wp.repo_cached(id).await {
            Ok(Some(r)) if r.active => Some(Read::Found(from_repo(&r, &st))),
            Ok(_) => Some(Read::Gone),
            Err(e) => err(
                diags,
                format!("Could not read repository {}", describe(&st)),
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
        let (prior, planned) = (req.prior.as_ref()?, &req.planned);
        let (id, name) = (prior.id.known().copied()?, planned.full_name.known()?);
        let wp = self.data.woodpecker(diags)?;
        let mut st = prior.clone();
        if !prior.full_name.known().is_some_and(|p| same_name(p, name)) {
            let what =
                format!("Could not repair repository {name} (id {id}) to pick up its new name");
            match wp.repair_repo(id).await {
                Ok(r) if same_name(&r.full_name, name) => st = from_repo(&r, planned),
                Ok(r) => {
                    return err_at(
                        diags,
                        "full_name",
                        what,
                        format!("Woodpecker still calls it {}.", r.full_name),
                    )
                }
                Err(e) => return err(diags, what, e),
            }
        }
        st.full_name = planned.full_name.clone();
        st.adopt_existing = planned.adopt_existing.clone();
        st.on_destroy = planned.on_destroy.clone();
        write_settings(&wp, planned, st, diags).await
    }

    async fn delete(&self, _cx: &Ctx, prior: State, _private: &Private, diags: &mut Diagnostics) {
        let (Some(id), Some(wp)) = (prior.id.known().copied(), self.data.woodpecker(diags)) else {
            return;
        };
        let remove = prior.on_destroy.known().is_some_and(|d| d == "remove");
        let what = match remove {
            true => format!("Could not remove repository {}", describe(&prior)),
            false => format!("Could not deactivate repository {}", describe(&prior)),
        };
        // The write, then the read that proves it.
        let r = match remove {
            true => wp.remove_repo(id).await.map(|_| ()),
            false => wp.deactivate_repo(id).await.map(|_| ()).or_else(|e| {
                if e.is_not_found() {
                    Ok(())
                } else {
                    Err(e)
                }
            }),
        };
        let left = match r {
            Ok(()) => wp.repo(id).await.map(|r| r.filter(|r| remove || r.active)),
            Err(e) => Err(e),
        };
        match left {
            Ok(None) => {}
            Ok(Some(_)) => diags.error(what, "Woodpecker still shows it afterwards."),
            Err(e) => diags.error(what, e.to_string()),
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let wp = self.data.woodpecker(diags)?;
        let found = match id.parse::<i64>() {
            Ok(n) => wp.repo(n).await,
            Err(_) if valid_full_name(id).is_ok() => wp.lookup_repo(id).await.map(|l| l.any()),
            Err(_) => {
                return err(
                    diags,
                    "Invalid import id",
                    format!("Expected owner/name or a numeric id, got {id:?}."),
                )
            }
        };
        let what = format!("Cannot import repository {id}");
        let r = match found {
            Ok(Some(r)) if r.active => r,
            Ok(Some(_)) => return err(diags, what, "It is not active in Woodpecker: apply a configuration with it instead (that re-activates it with the same id)."),
            Ok(None) => return err(diags, what, "Woodpecker has no such repository."),
            Err(e) => return err(diags, what, e),
        };
        let base = State {
            full_name: Val::Known(id.into()),
            adopt_existing: Val::Known(false),
            on_destroy: Val::Known("deactivate".into()),
            ..Default::default()
        };
        Some(from_repo(&r, &base))
    }
}

impl WoodpeckerRepo {
    async fn me(&self, wp: &WoodpeckerClient, diags: &mut Diagnostics) -> Option<User> {
        match self.me.get_or_try_init(|| wp.current_user()).await {
            Ok(u) => Some(u.clone()),
            Err(e) => err(diags, "Could not read the Woodpecker token's user", e),
        }
    }
}

/// A new repository: on the forge, not active yet (or adopted), within the token's rights.
async fn plan_create(
    wp: &WoodpeckerClient,
    me: &User,
    name: &str,
    c: &State,
    diags: &mut Diagnostics,
) {
    if !me.admin && trusted(c).iter().any(Val::is_known) {
        return trusted_needs_admin(me, diags);
    }
    let f = match wp.forge_repo(name).await {
        Ok(Some(f)) => f,
        Ok(None) if !me.admin => return no_rights(me, name, "the forge lists no such repository it may push to", diags),
        Ok(None) => return diags.error_at(AttrPath::root("full_name"), format!("Repository {name} not found on the forge"), format!("{NOT_ON_FORGE} Create it on the forge first, or fix the name. Nothing was changed.")),
        Err(e) => return err_at(diags, "full_name", format!("Could not look {name} up on the forge"), e).unwrap_or(()),
    };
    if f.id != 0 && f.active && c.adopt_existing.known() != Some(&true) {
        let summary = format!(
            "Repository {name} is already active in Woodpecker (id {})",
            f.id
        );
        return diags.error_at(AttrPath::root("full_name"), summary, already_active(name));
    }
    if !me.admin && f.id != 0 && !wp.repo_permissions(f.id).await.is_ok_and(|p| p.admin) {
        no_rights(me, name, "has no admin rights on it", diags);
    }
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
    let what = format!(
        "Could not change the settings of repository {}",
        describe(&st)
    );
    let st = match wp.patch_repo(id, &patch).await {
        Ok(r) => from_repo(&r, &st),
        // Activated but not configured: keep it in state (tainted after a create).
        Err(e) => return err(diags, what, e).or(Some(st)),
    };
    let left = settings_patch(want, &st);
    if !left.is_empty() {
        let left = serde_json::to_string(&left).unwrap_or_default();
        diags.error(
            what,
            format!("Woodpecker accepted the change but reads back without {left}."),
        );
    }
    Some(st)
}

/// The known settings of `want` that `have` does not show.
fn settings_patch(want: &State, have: &State) -> RepoPatch {
    fn d<T: Clone + PartialEq>(w: &Val<T>, h: &Val<T>) -> Option<T> {
        w.known().filter(|w| h.known() != Some(*w)).cloned()
    }
    let trusted = TrustedPatch {
        network: d(&want.trusted_network, &have.trusted_network),
        security: d(&want.trusted_security, &have.trusted_security),
        volumes: d(&want.trusted_volumes, &have.trusted_volumes),
    };
    RepoPatch {
        visibility: d(&want.visibility, &have.visibility),
        require_approval: d(&want.require_approval, &have.require_approval),
        approval_allowed_users: d(&want.approval_allowed_users, &have.approval_allowed_users),
        timeout: d(&want.timeout, &have.timeout),
        allow_pr: d(&want.allow_pr, &have.allow_pr),
        allow_deploy: d(&want.allow_deploy, &have.allow_deploy),
        config_file: d(&want.config_file, &have.config_file),
        cancel_previous_pipeline_events: d(
            &want.cancel_previous_pipeline_events,
            &have.cancel_previous_pipeline_events,
        ),
        netrc_trusted: d(&want.netrc_trusted, &have.netrc_trusted),
        trusted: (trusted != TrustedPatch::default()).then_some(trusted),
        ..Default::default()
    }
}

/// State from the server's repo; `base` gives `full_name` (its spelling, when only the case
/// differs), `adopt_existing` and `on_destroy`.
pub(crate) fn from_repo(r: &Repo, base: &State) -> State {
    let full_name = match base.full_name.known() {
        Some(n) if same_name(n, &r.full_name) => n.clone(),
        _ => r.full_name.clone(),
    };
    let k = |s: &String| Val::Known(s.clone());
    State {
        full_name: Val::Known(full_name),
        id: Val::Known(r.id),
        forge_remote_id: k(&r.forge_remote_id),
        owner: k(&r.owner),
        name: k(&r.name),
        clone_url: k(&r.clone_url),
        clone_url_ssh: k(&r.clone_url_ssh),
        forge_url: k(&r.forge_url),
        default_branch: k(&r.default_branch),
        private: Val::Known(r.private),
        org_id: Val::Known(r.org_id),
        visibility: k(&r.visibility),
        require_approval: k(&r.require_approval),
        approval_allowed_users: Val::Known(r.approval_allowed_users.clone()),
        timeout: Val::Known(r.timeout),
        allow_pr: Val::Known(r.allow_pr),
        allow_deploy: Val::Known(r.allow_deploy),
        config_file: k(&r.config_file),
        cancel_previous_pipeline_events: Val::Known(r.cancel_previous_pipeline_events.clone()),
        netrc_trusted: Val::Known(r.netrc_trusted.clone()),
        trusted_network: Val::Known(r.trusted.network),
        trusted_security: Val::Known(r.trusted.security),
        trusted_volumes: Val::Known(r.trusted.volumes),
        adopt_existing: base.adopt_existing.clone(),
        on_destroy: base.on_destroy.clone(),
    }
}

/// What a repair re-syncs from the forge after a rename: unknown until then.
fn forget_forge_fields(s: &mut State) {
    let strings = [
        &mut s.owner,
        &mut s.name,
        &mut s.clone_url,
        &mut s.clone_url_ssh,
        &mut s.forge_url,
        &mut s.default_branch,
    ];
    strings.into_iter().for_each(|v| *v = Val::Unknown);
    (s.private, s.org_id) = (Val::Unknown, Val::Unknown);
}

fn trusted(s: &State) -> [Val<bool>; 3] {
    [
        s.trusted_network.clone(),
        s.trusted_security.clone(),
        s.trusted_volumes.clone(),
    ]
}

/// Is `new_name` the repository of `prior`, renamed on the forge? The forge lists it under the
/// new name with the same `forge_remote_id`, or Woodpecker answers the new name with the same id.
async fn same_repo(
    wp: &WoodpeckerClient,
    new_name: &str,
    prior: &State,
) -> Result<bool, crate::clients::Error> {
    if let Some(f) = wp.forge_repo(new_name).await? {
        return Ok(prior.forge_remote_id.known() == Some(&f.forge_remote_id));
    }
    Ok(
        matches!(wp.lookup_repo(new_name).await?, wp::RepoLookup::Found(r) if prior.id.known() == Some(&r.id)),
    )
}

/// `owner/name`: two non-empty parts.
pub(crate) fn valid_full_name(n: &str) -> Result<(), String> {
    match n.split_once('/') {
        Some((o, r))
            if !o.is_empty()
                && !r.is_empty()
                && !r.contains('/')
                && !n.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "{n:?} is not a repository name: use owner/name, as on the forge."
        )),
    }
}

/// Woodpecker compares names ignoring case.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn describe(s: &State) -> String {
    format!(
        "{} (id {})",
        s.full_name.known().map_or("", |n| n),
        s.id.known().unwrap_or(&0)
    )
}

const NOT_ON_FORGE: &str = "The forge lists no such repository that the token's user may push to.";

fn already_active(name: &str) -> String {
    format!("Repository {name} is already active in Woodpecker. Bring it under Terraform with `terraform import <address> {name}`, or set adopt_existing = true to take it over on apply. Nothing was changed.")
}

fn no_rights(me: &User, name: &str, why: &str, diags: &mut Diagnostics) {
    let detail = format!("The token belongs to {}, who is not a Woodpecker admin, and {why}. Activating and configuring a repository needs a Woodpecker admin token or admin rights on the repository on the forge. Nothing was changed.", me.login);
    diags.error_at(
        AttrPath::root("full_name"),
        format!("The Woodpecker token lacks admin rights on repository {name}"),
        detail,
    );
}

fn trusted_needs_admin(me: &User, diags: &mut Diagnostics) {
    let detail = format!("The token belongs to {}, who is not a Woodpecker admin; only an admin may change trusted_network, trusted_security and trusted_volumes. Leave them out of the configuration, or use an admin token. Nothing was changed.", me.login);
    diags.error_at(
        AttrPath::root("trusted_network"),
        "The trusted settings need a Woodpecker admin token",
        detail,
    );
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
#[path = "woodpecker_repo_tests.rs"]
mod tests;
