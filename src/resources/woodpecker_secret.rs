//! What `cicd_woodpecker_global_secret`, `cicd_woodpecker_repo_secret` and
//! `cicd_woodpecker_org_secret` share: one resource, [`WoodpeckerSecret<S>`], over each type's
//! `State` (each type's file declares its State and where the secret lives; the rest is here).
//!
//! Endpoints: `GET|POST /api/secrets`, `GET|PATCH|DELETE /api/secrets/{name}` for global
//! secrets, the same under `/api/repos/{id}/` and `/api/orgs/{id}/`; at plan time
//! `GET /api/user` (global: is the token an admin's?), `GET /api/repos/{id}` (repo, on create),
//! `GET /api/orgs/lookup/{name}` / `GET /api/orgs/{id}` (org, when it changes).
//!
//! Decisions:
//! - **Batched reads**: a refresh reads its secret from the scope's list, walked once per run
//!   (`secret_cached`), so N secrets of one scope cost one list walk (50 a page), not N GETs.
//! - **Values are never returned** by the API: drift of `events`, `images` and `note`, and a
//!   deleted secret, show in the plan; the value changes only through its source
//!   ([`super::value_source`]: a new `value`, a bumped `value_wo_version`, a key whose value
//!   changed in Vault).
//! - `name` and the scope force a replacement: PATCH ignores `name`.
//! - `events` is a set (the server sorts them); `images` null and `[]` both mean any image,
//!   `note` null and `""` no note: a read keeps the form the configuration uses.
//! - **Global secrets need an admin token**, yet a non-admin may read them; so a plan that
//!   changes one first asks `GET /api/user` (once per run) and fails, naming the provider's
//!   token, before anything is written.

use super::value_source::{self as vs, Source, VaultRef, VALUE};
use crate::clients::woodpecker::{
    validate_secret_events, validate_secret_image, validate_secret_name, Scope, Secret,
    SecretPatch, SecretWrite, WoodpeckerClient, WoodpeckerError,
};
use crate::clients::Error;
use crate::provider::ProviderData;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::{Arc, Weak};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::typed::Val;
use tfplugin::value::Type;

/// Where a secret lives, as its State says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Where {
    #[default]
    Global,
    Repo {
        repo_id: Val<i64>,
    },
    Org {
        org_id: Val<i64>,
        org: Val<String>,
    },
}

/// A secret type's State seen through the fields all three share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    pub at: Where,
    pub id: Val<String>,
    pub name: Val<String>,
    pub events: Val<BTreeSet<String>>,
    pub images: Val<BTreeSet<String>>,
    pub note: Val<String>,
    pub src: Source,
}

/// Implemented by each secret type's State.
pub trait SecretState:
    Serialize + DeserializeOwned + Clone + Default + Send + Sync + 'static
{
    const TYPE_NAME: &'static str;
    fn schema() -> Schema;
    fn load(&self) -> Model;
    fn store(&mut self, m: Model);
}

pub struct WoodpeckerSecret<S> {
    data: ProviderData,
    admin: AdminCheck,
    _state: PhantomData<fn() -> S>,
}

impl<S> WoodpeckerSecret<S> {
    pub fn new(data: ProviderData) -> Self {
        WoodpeckerSecret {
            data,
            admin: AdminCheck::default(),
            _state: PhantomData,
        }
    }
}

/// The id of a secret's state and import: `name`, `repo_id/name`, `org_id/name`.
fn id_of(m: &Model) -> Option<String> {
    let name = m.name.known()?;
    Some(match &m.at {
        Where::Global => name.clone(),
        Where::Repo { repo_id } => format!("{}/{name}", repo_id.known()?),
        Where::Org { org_id, .. } => format!("{}/{name}", org_id.known()?),
    })
}

fn scope_of(m: &Model) -> Option<Scope> {
    Some(match &m.at {
        Where::Global => Scope::Global,
        Where::Repo { repo_id } => Scope::Repo(*repo_id.known()?),
        Where::Org { org_id, .. } => Scope::Org(*org_id.known()?),
    })
}

pub fn describe(scope: Scope) -> String {
    match scope {
        Scope::Global => "global".into(),
        Scope::Repo(id) => format!("repo {id}"),
        Scope::Org(id) => format!("org {id}"),
    }
}

/// The server's answer into `m`, in the form `like` uses for empty values.
fn apply_remote(m: &mut Model, s: &Secret, like: &Model) {
    m.events = Val::Known(s.events.iter().cloned().collect());
    m.images = match (&s.images[..], &like.images) {
        ([], Val::Known(l)) if l.is_empty() => Val::Known(BTreeSet::new()),
        ([], _) => Val::Null,
        (i, _) => Val::Known(i.iter().cloned().collect()),
    };
    m.note = match (s.note.as_str(), &like.note) {
        ("", Val::Known(l)) if l.is_empty() => Val::Known(String::new()),
        ("", _) => Val::Null,
        (n, _) => Val::Known(n.to_string()),
    };
}

fn list(v: &Val<BTreeSet<String>>) -> Vec<String> {
    v.known().into_iter().flatten().cloned().collect()
}

/// What a failed write means, in the user's terms.
pub fn explain(e: &Error, import_hint: &str) -> String {
    if e.is_duplicate() {
        format!("{e}. It exists already: import it ({import_hint}) or choose another name.")
    } else if e.is_permission_denied() || e.is_unauthorized() {
        format!("{e}. The provider's woodpecker token (woodpecker.token or WOODPECKER_TOKEN) may not do this.")
    } else {
        e.to_string()
    }
}

/// Whether the provider's Woodpecker token is an admin's: asked once per client (a plan of
/// many global secrets asks once; the others wait for that answer).
#[derive(Default)]
pub struct AdminCheck(tokio::sync::Mutex<Option<(Weak<WoodpeckerClient>, Result<(), String>)>>);

impl AdminCheck {
    /// An error (no path: the provider's configuration is to blame) unless the token is an admin's.
    pub async fn require(
        &self,
        client: &Arc<WoodpeckerClient>,
        what: &str,
        diags: &mut Diagnostics,
    ) -> bool {
        let mut g = self.0.lock().await;
        let cached = g
            .as_ref()
            .filter(|(w, _)| w.upgrade().is_some_and(|c| Arc::ptr_eq(&c, client)))
            .map(|(_, r)| r.clone());
        let answer = match cached {
            Some(r) => r,
            None => {
                let r = match client.current_user().await {
                    Ok(u) if u.admin => Ok(()),
                    Ok(u) => Err(format!(
                        "The provider's woodpecker token (woodpecker.token or WOODPECKER_TOKEN) belongs to {:?}, \
                         who is not a Woodpecker admin, and only admins may write {what}. Configure an admin's \
                         personal access token. Nothing was changed.",
                        u.login
                    )),
                    Err(e) => Err(format!(
                        "Could not check the provider's woodpecker token (woodpecker.token or \
                         WOODPECKER_TOKEN) with GET /api/user: {e}. Nothing was changed."
                    )),
                };
                *g = Some((Arc::downgrade(client), r.clone()));
                r
            }
        };
        match answer {
            Ok(()) => true,
            Err(detail) => {
                diags.error(
                    format!("The provider's Woodpecker token cannot write {what}"),
                    detail,
                );
                false
            }
        }
    }
}

impl<S: SecretState> WoodpeckerSecret<S> {
    /// `org` name <-> `org_id`: looked up when it changes; a different id replaces.
    async fn plan_org(
        &self,
        client: &WoodpeckerClient,
        cfg: &Model,
        prior: Option<&Model>,
        plan: &mut Model,
        replace: &mut Vec<AttrPath>,
        diags: &mut Diagnostics,
    ) {
        let Where::Org {
            org_id: cfg_id,
            org: cfg_name,
        } = &cfg.at
        else {
            return;
        };
        let before = prior.and_then(|p| match &p.at {
            Where::Org { org_id, org } => Some((org_id.clone(), org.clone())),
            _ => None,
        });
        let (id, name) = match (cfg_id, cfg_name) {
            (Val::Known(id), _) => match &before {
                Some((Val::Known(p), name)) if p == id => (Val::Known(*id), name.clone()),
                _ => match client.org(*id).await {
                    Ok(Some(o)) => (Val::Known(*id), Val::Known(o.name)),
                    Ok(None) => {
                        let why = format!("Woodpecker knows no org with id {id}.");
                        diags.error_at(AttrPath::root("org_id"), "Unknown org", why);
                        return;
                    }
                    Err(e) => {
                        diags.error_at(
                            AttrPath::root("org_id"),
                            format!("Could not read org {id}"),
                            e.to_string(),
                        );
                        return;
                    }
                },
            },
            (Val::Null, Val::Known(n)) => match &before {
                Some((id @ Val::Known(_), Val::Known(p))) if p == n => {
                    (id.clone(), Val::Known(n.clone()))
                }
                _ => match client.org_lookup(n).await {
                    Ok(Some(o)) => (Val::Known(o.id), Val::Known(n.clone())),
                    Ok(None) => {
                        let why = format!("Woodpecker knows no org {n:?} (an org appears once one of its repos is activated).");
                        diags.error_at(AttrPath::root("org"), "Unknown org", why);
                        return;
                    }
                    Err(e) => {
                        diags.error_at(
                            AttrPath::root("org"),
                            format!("Could not look up org {n:?}"),
                            e.to_string(),
                        );
                        return;
                    }
                },
            },
            _ => (Val::Unknown, cfg_name.clone()),
        };
        if before.as_ref().is_some_and(|(p, _)| *p != id) {
            replace.push(AttrPath::root("org_id"));
        }
        plan.at = Where::Org {
            org_id: id,
            org: name,
        };
    }
}

#[async_trait]
impl<S: SecretState> Resource for WoodpeckerSecret<S> {
    type State = S;

    fn type_name(&self) -> &'static str {
        S::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        S::schema()
    }

    async fn validate(&self, _cx: &Ctx, c: &S, diags: &mut Diagnostics) {
        let m = c.load();
        if let Some(Err(e)) = m.name.known().map(|n| validate_secret_name(n)) {
            diags.error_at(AttrPath::root("name"), "Invalid secret name", e);
        }
        if let Some(Err(e)) = m
            .events
            .known()
            .map(|e| validate_secret_events(&list(&Val::Known(e.clone()))))
        {
            diags.error_at(AttrPath::root("events"), "Invalid secret events", e);
        }
        for e in list(&m.images)
            .iter()
            .filter_map(|i| validate_secret_image(i).err())
        {
            diags.error_at(AttrPath::root("images"), "Invalid image", e);
        }
        match &m.at {
            Where::Org { org_id, org } if org_id.is_null() == org.is_null() => {
                let (at, what) = if org.is_null() {
                    ("org", "Neither is set.")
                } else {
                    ("org_id", "Both are set.")
                };
                let why = format!("Set exactly one of `org` (the org's name) or `org_id`. {what}");
                diags.error_at(AttrPath::root(at), "Exactly one of org, org_id", why);
            }
            Where::Repo { repo_id: id } | Where::Org { org_id: id, .. }
                if id.known().is_some_and(|i| *i < 1) =>
            {
                let at = if matches!(m.at, Where::Repo { .. }) {
                    "repo_id"
                } else {
                    "org_id"
                };
                diags.error_at(
                    AttrPath::root(at),
                    "Invalid id",
                    "Woodpecker ids start at 1.",
                );
            }
            _ => {}
        }
        vs::validate(&VALUE, &m.src, diags);
    }

    async fn modify_plan(
        &self,
        _cx: &Ctx,
        req: &PlanRequest<S>,
        plan: &mut Plan<S>,
        diags: &mut Diagnostics,
    ) {
        let Some(client) = self.data.woodpecker(diags) else {
            return;
        };
        let (cfg, prior) = (req.config.load(), req.prior.as_ref().map(S::load));
        let mut m = plan.state.load();
        self.plan_org(
            &client,
            &cfg,
            prior.as_ref(),
            &mut m,
            &mut plan.requires_replace,
            diags,
        )
        .await;
        if let (
            None,
            Where::Repo {
                repo_id: Val::Known(id),
            },
        ) = (&prior, &m.at)
        {
            match client.repo(*id).await {
                Ok(Some(_)) => {}
                Ok(None) => diags.error_at(
                    AttrPath::root("repo_id"),
                    "Unknown repo",
                    format!("Woodpecker knows no repo with id {id}."),
                ),
                Err(e) => diags.error_at(
                    AttrPath::root("repo_id"),
                    format!("Could not read repo {id}"),
                    e.to_string(),
                ),
            }
        }
        // A replacement writes a new secret: plan it as a create.
        let kept = prior.as_ref().filter(|_| plan.requires_replace.is_empty());
        let (_, version) = vs::plan(kept.map(|p| &p.src), &m.src, &req.prior_private);
        m.src.version = version;
        m.id = match kept {
            Some(p) => p.id.clone(),
            None => id_of(&m).map_or(Val::Unknown, Val::Known),
        };
        vs::check_vault(&self.data, &VALUE, &m.src, diags).await;
        if m.at == Where::Global && prior.as_ref() != Some(&m) {
            self.admin.require(&client, "global secrets", diags).await;
        }
        plan.state.store(m);
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<S>,
        diags: &mut Diagnostics,
    ) -> Option<S> {
        let client = self.data.woodpecker(diags)?;
        let (mut m, cfg) = (req.planned.load(), req.config.load());
        let (scope, name) = (scope_of(&m)?, m.name.known()?.clone());
        let (value, version) = vs::resolve(&self.data, &VALUE, &m.src, &cfg.src, diags).await?;
        let body = SecretWrite {
            name: name.clone(),
            value,
            events: list(&m.events),
            images: list(&m.images),
            note: m.note.known().cloned().unwrap_or_default(),
        };
        let s = match client.create_secret(scope, &body).await {
            Ok(s) => s,
            Err(e) => {
                let hint = format!("terraform import {} {}", S::TYPE_NAME, id_of(&m)?);
                let what = format!("Could not create the {} secret {name:?}", describe(scope));
                diags.error(what, explain(&e, &hint));
                return None;
            }
        };
        let like = m.clone();
        apply_remote(&mut m, &s, &like);
        m.src.version = version;
        m.id = Val::Known(id_of(&m)?);
        vs::written(&mut req.private, &m.src.version);
        let mut st = req.planned.clone();
        st.store(m);
        Some(st)
    }

    async fn read(
        &self,
        _cx: &Ctx,
        mut st: S,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<S>> {
        let client = self.data.woodpecker(diags)?;
        let mut m = st.load();
        m.src.register();
        let (Some(scope), Some(name)) = (scope_of(&m), m.name.known().cloned()) else {
            diags.error(
                "Incomplete state",
                "The secret's name or scope is missing from state.",
            );
            return None;
        };
        match client.secret_cached(scope, &name).await {
            Ok(Some(s)) => {
                let like = m.clone();
                apply_remote(&mut m, &s, &like);
            }
            Ok(None) => return Some(Read::Gone),
            // The repo or org itself is gone, and its secrets with it.
            Err(e) if e.is_not_found() => return Some(Read::Gone),
            Err(e) => {
                diags.error(
                    format!("Could not read the {} secret {name:?}", describe(scope)),
                    e.to_string(),
                );
                return None;
            }
        }
        vs::refresh(&self.data, &m.src, private).await;
        st.store(m);
        Some(Read::Found(st))
    }

    async fn update(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<S>,
        diags: &mut Diagnostics,
    ) -> Option<S> {
        let client = self.data.woodpecker(diags)?;
        let (prior, mut m, cfg) = (
            req.prior.as_ref()?.load(),
            req.planned.load(),
            req.config.load(),
        );
        let (scope, name) = (scope_of(&m)?, m.name.known()?.clone());
        let write = vs::needs_write(Some(&prior.src), &m.src);
        let (value, version) = match write {
            true => {
                let (v, ver) = vs::resolve(&self.data, &VALUE, &m.src, &cfg.src, diags).await?;
                (Some(v), ver)
            }
            false => (None, m.src.version.clone()),
        };
        let patch = SecretPatch {
            value,
            events: (m.events != prior.events).then(|| list(&m.events)),
            images: (m.images != prior.images).then(|| list(&m.images)),
            note: (m.note != prior.note).then(|| m.note.known().cloned().unwrap_or_default()),
        };
        let what = format!("the {} secret {name:?}", describe(scope));
        let r = if patch == SecretPatch::default() {
            // Nothing the server holds changes (e.g. `images` null -> []): read it to prove it.
            client
                .secret(scope, &name)
                .await
                .and_then(|s| s.ok_or_else(|| Error::Other(format!("{what} is gone"))))
        } else {
            client.patch_secret(scope, &name, &patch).await
        };
        let s = match r {
            Ok(s) => s,
            Err(e) => {
                diags.error(
                    format!("Could not update {what}"),
                    explain(&e, "terraform import"),
                );
                return None;
            }
        };
        let like = m.clone();
        apply_remote(&mut m, &s, &like);
        m.src.version = version;
        if write {
            vs::written(&mut req.private, &m.src.version);
        }
        let mut st = req.planned.clone();
        st.store(m);
        Some(st)
    }

    async fn delete(&self, _cx: &Ctx, prior: S, _private: &Private, diags: &mut Diagnostics) {
        let Some(client) = self.data.woodpecker(diags) else {
            return;
        };
        let m = prior.load();
        let (Some(scope), Some(name)) = (scope_of(&m), m.name.known()) else {
            return;
        };
        if let Err(e) = client.delete_secret(scope, name).await {
            let what = format!("Could not delete the {} secret {name:?}", describe(scope));
            diags.error(what, explain(&e, ""));
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<S> {
        let client = self.data.woodpecker(diags)?;
        let mut m = S::default().load();
        let name = match &m.at {
            Where::Global => id.to_string(),
            _ => {
                let parsed = id
                    .split_once('/')
                    .and_then(|(n, name)| Some((n.parse::<i64>().ok()?, name)));
                let Some((n, name)) = parsed.filter(|(_, name)| !name.is_empty()) else {
                    let what = if matches!(m.at, Where::Repo { .. }) {
                        "repo_id/name"
                    } else {
                        "org_id/name"
                    };
                    diags.error("Invalid import id", format!("Expected {what}, got {id:?}."));
                    return None;
                };
                m.at = match m.at {
                    Where::Repo { .. } => Where::Repo {
                        repo_id: Val::Known(n),
                    },
                    _ => {
                        let org = match client.org(n).await {
                            Ok(o) => o.map(|o| o.name).into(),
                            Err(e) => {
                                diags.error(format!("Could not read org {n}"), e.to_string());
                                return None;
                            }
                        };
                        Where::Org {
                            org_id: Val::Known(n),
                            org,
                        }
                    }
                };
                name.to_string()
            }
        };
        m.name = Val::Known(name.clone());
        let scope = scope_of(&m)?;
        let s = match client.secret(scope, &name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                diags.error(
                    format!("Cannot import the {} secret {name:?}", describe(scope)),
                    "No such secret.",
                );
                return None;
            }
            Err(e) => {
                diags.error(
                    format!("Could not read the {} secret {name:?}", describe(scope)),
                    e.to_string(),
                );
                return None;
            }
        };
        let like = m.clone();
        apply_remote(&mut m, &s, &like);
        m.id = Val::Known(id_of(&m)?);
        let mut st = S::default();
        st.store(m);
        Some(st)
    }
}

/// The value source's fields of a State, for `load`/`store`.
pub fn source(
    value: &Val<String>,
    wo: &Val<String>,
    wo_version: &Val<String>,
    vault: &Val<VaultRef>,
    version: &Val<i64>,
) -> Source {
    Source {
        value: value.clone(),
        wo: wo.clone(),
        wo_version: wo_version.clone(),
        vault: vault.clone(),
        version: version.clone(),
    }
}

/// The schema of a secret type: its scope attributes, then what all three share.
pub fn schema(description: &str, scope: Vec<Attribute>) -> Schema {
    let mut b =
        Block::new(description).attr(Attribute::string("id").computed().keep_prior().describe(
            "`name` (global), `repo_id/name` (repo), `org_id/name` (org): the import id.",
        ));
    for a in scope {
        b = b.attr(a);
    }
    b = b
        .attr(Attribute::string("name").required().force_new().describe(
            "The secret's name, as pipelines use it (`from_secret`): ASCII letters, digits and `_`, \
             not starting with a digit (case-sensitive). Changing it replaces the secret.",
        ))
        .attr(Attribute::new("events", Type::set(Type::String)).required().describe(format!(
            "Events whose pipelines get the secret, at least one of: {}.",
            crate::clients::woodpecker::SECRET_EVENTS.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
        )))
        .attr(Attribute::new("images", Type::set(Type::String)).optional().describe(
            "Limit the secret to these plugin images (e.g. `woodpeckerci/plugin-docker-buildx`). Unset or empty: any image.",
        ))
        .attr(Attribute::string("note").optional().describe("A note shown in Woodpecker's UI."));
    for a in vs::attributes(&VALUE) {
        b = b.attr(a);
    }
    Schema::new(0, b.block(vs::vault_block(&VALUE)))
}
