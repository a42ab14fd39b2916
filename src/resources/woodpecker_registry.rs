//! `cicd_woodpecker_registry`: credentials Woodpecker uses to pull images from one container
//! registry: instance-wide (no `repo_id` nor `org_id`), for one repo (`repo_id`) or one org
//! (`org_id`).
//!
//! Endpoints: `GET|POST /api/registries`, `GET|PATCH|DELETE /api/registries/{address}` (global;
//! the same under `/api/repos/{id}/` and `/api/orgs/{id}/`); at plan time `GET /api/user`
//! (global: writes need an admin token), `GET /api/repos/{id}` / `GET /api/orgs/{id}` on create.
//! Import id: `address` (global), `repo/ID/address`, `org/ID/address`. The password is not
//! imported (the API never returns it): the next apply writes the configured source.
//!
//! Decisions: the password comes from one of `password`, `password_wo` or
//! `password_from_vault` ([`super::value_source`], rotation per key included); the API never
//! returns it (it answers `""`), so drift is the username and deletion only. Create answers
//! carry id 0 and PATCH answers are zeroed shells: state always comes from a fresh read. Reads
//! are batched per scope (one list walk per run). `address` and the scope force a replacement
//! (the address is the registry's key).

use super::value_source::{self as vs, Source, VaultRef, PASSWORD};
use super::woodpecker_secret_common::{describe, explain, AdminCheck};
use crate::clients::woodpecker::{
    validate_registry_address, Registry, RegistryPatch, RegistryWrite, Scope,
};
use crate::clients::Error;
use crate::provider::ProviderData;
use async_trait::async_trait;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::{NestingMode, Schema};
use tfplugin::typed::Val;
use tfplugin::validate::at_least;

tfplugin::state! {
    /// State of `cicd_woodpecker_registry`.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct State / StateAttrs {
        /// `address`, `repo/ID/address` or `org/ID/address`: the import id.
        id: Val<String> = string().computed().keep_prior(),
        /// The registry's host and optional port, without scheme or path, e.g. `ghcr.io`,
        /// `registry.example.com:5000`. Changing it replaces the credentials.
        address: Val<String> = string().required().force_new(),
        /// User name for the registry.
        username: Val<String> = string().required(),
        /// For one repository only: its numeric Woodpecker id. Not with `org_id`.
        repo_id: Val<i64> = number().optional().force_new().validate(at_least(1)),
        /// For one org's repositories only: the org's numeric Woodpecker id. Not with `repo_id`.
        org_id: Val<i64> = number().optional().force_new().validate(at_least(1)),
        password: Val<String> = string().optional().sensitive().describe(vs::doc::value(&PASSWORD)),
        password_wo: Val<String> =
            string().optional().sensitive().write_only().describe(vs::doc::wo(&PASSWORD)),
        password_wo_version: Val<String> =
            string().optional().describe(vs::doc::wo_version(&PASSWORD)),
        vault_version: Val<i64> =
            number().computed().keep_prior().describe(vs::doc::version(&PASSWORD)),
        password_from_vault: Val<VaultRef> =
            block(NestingMode::Single, VaultRef::block(vs::doc::vault(&PASSWORD))),
    }
}

pub struct WoodpeckerRegistry {
    data: ProviderData,
    admin: AdminCheck,
}

impl WoodpeckerRegistry {
    pub fn new(data: ProviderData) -> Self {
        WoodpeckerRegistry {
            data,
            admin: AdminCheck::default(),
        }
    }
}

fn schema() -> Schema {
    Schema::new(
        0,
        State::block(
            "Credentials Woodpecker uses to pull images from a container registry: instance-wide (needs the \
         provider's woodpecker token to be an admin's, checked at plan), for one repository (`repo_id`) or \
         one org (`org_id`). The password comes from exactly one of `password`, `password_wo` or \
         `password_from_vault`; Woodpecker never returns it, so only the username and deletion are compared \
         with the server. Import with `address`, `repo/ID/address` or `org/ID/address`.",
        ),
    )
}

impl State {
    fn source(&self) -> Source {
        Source {
            value: self.password.clone(),
            wo: self.password_wo.clone(),
            wo_version: self.password_wo_version.clone(),
            vault: self.password_from_vault.clone(),
            version: self.vault_version.clone(),
        }
    }

    /// None while a scope id is unknown.
    fn scope(&self) -> Option<Scope> {
        Some(match (&self.repo_id, &self.org_id) {
            (Val::Known(r), _) => Scope::Repo(*r),
            (_, Val::Known(o)) => Scope::Org(*o),
            (Val::Null, Val::Null) => Scope::Global,
            _ => return None,
        })
    }

    fn import_id(&self) -> Option<String> {
        let a = self.address.known()?;
        Some(match self.scope()? {
            Scope::Global => a.clone(),
            Scope::Repo(id) => format!("repo/{id}/{a}"),
            Scope::Org(id) => format!("org/{id}/{a}"),
        })
    }

    fn apply_remote(&mut self, r: &Registry) {
        self.username = Val::Known(r.username.clone());
    }
}

impl WoodpeckerRegistry {
    /// Read the registry back after a write (or instead of an empty one).
    async fn write_and_read(
        &self,
        req: &mut ApplyRequest<State>,
        prior: Option<&State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let client = self.data.woodpecker(diags)?;
        let mut st = req.planned.clone();
        let (scope, address) = (st.scope()?, st.address.known()?.clone());
        let src = st.source();
        let write = vs::needs_write(prior.map(State::source).as_ref(), &src);
        let (password, version) = match write {
            true => {
                let (p, v) =
                    vs::resolve(&self.data, &PASSWORD, &src, &req.config.source(), diags).await?;
                (Some(p), v)
            }
            false => (None, src.version.clone()),
        };
        let username = st.username.known().cloned().unwrap_or_default();
        let what = format!("the {} registry {address:?}", describe(scope));
        let r = match (prior, password) {
            (None, Some(password)) => {
                let body = RegistryWrite {
                    address: address.clone(),
                    username,
                    password,
                };
                client.create_registry(scope, &body).await.map_err(|e| {
                    let hint = format!(
                        "terraform import cicd_woodpecker_registry.NAME {}",
                        st.import_id().unwrap_or_default()
                    );
                    (format!("Could not create {what}"), explain(&e, &hint))
                })
            }
            (Some(p), password) => {
                let patch = RegistryPatch {
                    username: (p.username != st.username).then_some(username),
                    password,
                };
                let r = if patch == RegistryPatch::default() {
                    client
                        .registry(scope, &address)
                        .await
                        .and_then(|r| r.ok_or_else(|| Error::Other(format!("{what} is gone"))))
                } else {
                    client.patch_registry(scope, &address, &patch).await
                };
                r.map_err(|e| {
                    (
                        format!("Could not update {what}"),
                        explain(&e, "terraform import"),
                    )
                })
            }
            (None, None) => return None,
        };
        match r {
            Ok(r) => st.apply_remote(&r),
            Err((summary, detail)) => {
                diags.error(summary, detail);
                return None;
            }
        }
        st.vault_version = version;
        st.id = Val::Known(st.import_id()?);
        if write {
            vs::written(&mut req.private, &st.vault_version);
        }
        Some(st)
    }
}

#[async_trait]
impl Resource for WoodpeckerRegistry {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_woodpecker_registry"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        if let Some(Err(e)) = c.address.known().map(|a| validate_registry_address(a)) {
            diags.error_at(
                AttrPath::root(State::ATTR.address),
                "Invalid registry address",
                e,
            );
        }
        if !c.repo_id.is_null() && !c.org_id.is_null() {
            diags.error_at(
                AttrPath::root(State::ATTR.org_id),
                "Conflicting scopes",
                "Set `repo_id` (one repository), `org_id` (one org) or neither (instance-wide), not both.",
            );
        }
        if c.username.known().is_some_and(|u| u.is_empty()) {
            diags.error_at(
                AttrPath::root(State::ATTR.username),
                "Empty username",
                "Woodpecker refuses an empty username.",
            );
        }
        vs::validate(&PASSWORD, &c.source(), diags);
    }

    async fn modify_plan(
        &self,
        _cx: &Ctx,
        req: &PlanRequest<State>,
        plan: &mut Plan<State>,
        diags: &mut Diagnostics,
    ) {
        let Some(client) = self.data.woodpecker(diags) else {
            return;
        };
        req.config.source().register();
        let creating = req.prior.is_none() || !plan.requires_replace.is_empty();
        let kept = req.prior.as_ref().filter(|_| !creating);
        let (_, version) = vs::plan(
            kept.map(State::source).as_ref(),
            &plan.state.source(),
            &req.prior_private,
        );
        plan.state.vault_version = version;
        plan.state.id = match kept {
            Some(p) => p.id.clone(),
            None => plan.state.import_id().map_or(Val::Unknown, Val::Known),
        };
        let src = plan.state.source();
        vs::check_vault(&self.data, &PASSWORD, &src, diags).await;
        let scope = plan.state.scope();
        if creating {
            let found = match scope {
                Some(Scope::Repo(id)) => Some((
                    State::ATTR.repo_id,
                    client.repo(id).await.map(|r| r.is_some()),
                )),
                Some(Scope::Org(id)) => Some((
                    State::ATTR.org_id,
                    client.org(id).await.map(|o| o.is_some()),
                )),
                _ => None,
            };
            match found {
                Some((at, Ok(false))) => diags.error_at(
                    AttrPath::root(at),
                    "Unknown scope",
                    format!(
                        "Woodpecker knows no {} with this id.",
                        at.trim_end_matches("_id")
                    ),
                ),
                Some((at, Err(e))) => diags.error_at(
                    AttrPath::root(at),
                    "Could not check the scope",
                    e.to_string(),
                ),
                _ => {}
            }
        }
        if scope == Some(Scope::Global) && req.prior.as_ref() != Some(&plan.state) {
            self.admin
                .require(&client, "global registries", diags)
                .await;
        }
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        self.write_and_read(req, None, diags).await
    }

    async fn read(
        &self,
        _cx: &Ctx,
        mut st: State,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let client = self.data.woodpecker(diags)?;
        st.source().register();
        let (Some(scope), Some(address)) = (st.scope(), st.address.known().cloned()) else {
            diags.error(
                "Incomplete state",
                "The registry's address or scope is missing from state.",
            );
            return None;
        };
        match client.registry_cached(scope, &address).await {
            Ok(Some(r)) => st.apply_remote(&r),
            Ok(None) => return Some(Read::Gone),
            Err(e) if e.is_not_found() => return Some(Read::Gone),
            Err(e) => {
                diags.error(
                    format!(
                        "Could not read the {} registry {address:?}",
                        describe(scope)
                    ),
                    e.to_string(),
                );
                return None;
            }
        }
        vs::refresh(&self.data, &st.source(), private).await;
        Some(Read::Found(st))
    }

    async fn update(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let prior = req.prior.clone()?;
        self.write_and_read(req, Some(&prior), diags).await
    }

    async fn delete(&self, _cx: &Ctx, prior: State, _private: &Private, diags: &mut Diagnostics) {
        let Some(client) = self.data.woodpecker(diags) else {
            return;
        };
        let (Some(scope), Some(address)) = (prior.scope(), prior.address.known()) else {
            return;
        };
        if let Err(e) = client.delete_registry(scope, address).await {
            diags.error(
                format!(
                    "Could not delete the {} registry {address:?}",
                    describe(scope)
                ),
                explain(&e, ""),
            );
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let client = self.data.woodpecker(diags)?;
        let mut st = State::default();
        let parts: Vec<&str> = id.splitn(3, '/').collect();
        let address = match parts[..] {
            [a] => a,
            [kind @ ("repo" | "org"), n, a] if !a.is_empty() => {
                let Ok(n) = n.parse::<i64>() else {
                    diags.error(
                        "Invalid import id",
                        format!("{n:?} in {id:?} is not a numeric id."),
                    );
                    return None;
                };
                *(if kind == "repo" {
                    &mut st.repo_id
                } else {
                    &mut st.org_id
                }) = Val::Known(n);
                a
            }
            _ => {
                diags.error(
                    "Invalid import id",
                    format!("Expected address, repo/ID/address or org/ID/address, got {id:?}."),
                );
                return None;
            }
        };
        st.address = Val::Known(address.to_string());
        let scope = st.scope()?;
        match client.registry(scope, address).await {
            Ok(Some(r)) => st.apply_remote(&r),
            Ok(None) => {
                diags.error(
                    format!("Cannot import the {} registry {address:?}", describe(scope)),
                    "No such registry.",
                );
                return None;
            }
            Err(e) => {
                diags.error(
                    format!(
                        "Could not read the {} registry {address:?}",
                        describe(scope)
                    ),
                    e.to_string(),
                );
                return None;
            }
        }
        st.id = Val::Known(st.import_id()?);
        Some(st)
    }
}
