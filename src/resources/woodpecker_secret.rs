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

use super::adopt;
use super::value_source::{self as vs, VALUE};
use super::woodpecker_secret_common::{
    apply_remote, describe, explain, id_of, list, plan_org, resolve_org, scope_of, AdminCheck,
    SecretState, Where,
};
use crate::clients::woodpecker::{
    validate_secret_image, validate_secret_name, SecretPatch, SecretWrite,
};
use crate::clients::Error;
use crate::provider::ProviderData;
use async_trait::async_trait;
use std::marker::PhantomData;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::identity::{str_attr, Identity, IdentitySchema};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;

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
        for e in list(&m.images)
            .iter()
            .filter_map(|i| validate_secret_image(i).err())
        {
            diags.error_at(AttrPath::root("images"), "Invalid image", e);
        }
        if let Where::Org { org_id, org } = &m.at {
            if org_id.is_null() == org.is_null() {
                let (at, what) = if org.is_null() {
                    ("org", "Neither is set.")
                } else {
                    ("org_id", "Both are set.")
                };
                let why = format!("Set exactly one of `org` (the org's name) or `org_id`. {what}");
                diags.error_at(AttrPath::root(at), "Exactly one of org, org_id", why);
            }
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
        cfg.src.register();
        let mut m = plan.state.load();
        plan_org(
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
        resolve_org(&client, &mut m, diags).await;
        if diags.has_errors() {
            return None;
        }
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
                let hint = format!("terraform import {}.NAME {}", S::TYPE_NAME, id_of(&m)?);
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

    fn identity_schema(&self) -> Option<IdentitySchema> {
        S::identity_schema()
    }
    fn identity(&self, s: &S) -> Option<Identity> {
        adopt::of_secret(&s.load())
    }
    fn identity_import_id(&self, i: &Identity) -> Option<String> {
        str_attr(i, "name").map(str::to_string)
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
