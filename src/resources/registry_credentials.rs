//! `cicd_registry_credentials`: one `kubernetes.io/dockerconfigjson` Secret, the same in every
//! namespace of `namespaces`, written with server-side apply (field manager `cicd`).
//!
//! Endpoints: Kubernetes `GET /api/v1/namespaces/{ns}`, `GET|PATCH|DELETE
//! /api/v1/namespaces/{ns}/secrets/{name}`; Vault `GET <mount>/data/<path>[?version=N]`.
//! Import id: `namespace/name` (imports that one copy; the next apply rewrites it, since the
//! provider cannot check passwords it did not write).
//!
//! Drift, per namespace: `copies` maps each namespace to the keyed hash of the copy as found in
//! the cluster (see [`crate::pull_secret`]). The hashes written by the last apply are kept in
//! private state; a plan marks a namespace whose copy changed or vanished "known after apply",
//! and only that one is rewritten.
//!
//! Vault rotation: state keeps only the KV v2 version per `mount/path` that was written
//! (`vault_versions`). A refresh reads Vault's current versions into private data; a plan that
//! sees a newer one plans every copy and `vault_versions` as "known after apply", and the apply
//! writes whatever version is current then and records it. The decision is taken from the
//! refreshed state only, never from a Vault read inside the plan, because Terraform plans again
//! during apply and rejects a second plan that differs from the first: a rotation between plan
//! and apply is therefore written by that apply when it rewrites everything (unknown planned,
//! any version fits), and otherwise shows in the next plan. A partial write (one copy edited by
//! hand, a namespace added) writes the versions the other copies have (`?version=N`), so all
//! copies stay identical.

use super::adopt;
use crate::clients::kubernetes;
use crate::clients::vault::KvRef;
use crate::provider::ProviderData;
use crate::pull_secret::{self, Auths, Copies, Login, LoginError, Logins, NsCheck, Password};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::identity::{Identity, IdentitySchema};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::{NestingMode, Schema};
use tfplugin::typed::Val;
use tfplugin::value::{Type, Value};

tfplugin::state! {
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Registry / RegistryAttrs {
        /// User name for the registry.
        username: Val<String> = string().required(),
        /// Password or token (kept in state, marked sensitive).
        password: Val<String> = string().optional().sensitive(),
        /// Password as a write-only value: never stored in state (Terraform/OpenTofu >= 1.11).
        /// Bump `password_wo_version` to write a new one.
        password_wo: Val<String> = string().optional().sensitive().write_only(),
        /// Any number; changing it writes `password_wo` again.
        password_wo_version: Val<i64> = number().optional().validate(tfplugin::validate::whole_number()),
        /// Read the password from Vault KV v2: `{ mount = "secret", path = "ci/registry", key =
        /// "password" }` (`mount` defaults to `secret`). Only the secret's version number is
        /// stored in state; a new version in Vault plans an update of every copy.
        password_from_vault: Val<VaultMap> = new(Type::map(Type::String)).optional(),
    }
}

tfplugin::state! {
    #[derive(Clone, Debug, Default)]
    pub struct State / StateAttrs {
        /// The Secret's name.
        id: Val<String> = string().computed().keep_prior(),
        /// Name of the Secret in every namespace (default `registry-credentials`). Changing it
        /// replaces the Secrets.
        name: Val<String> =
            string().optional().computed().force_new().default_value(Value::string(DEFAULT_NAME)),
        /// Namespaces that get a copy. Each must exist (checked at plan time).
        namespaces: Val<BTreeSet<String>> = new(Type::set(Type::String)).required(),
        /// Registry host (e.g. `registry.example:5000`, no scheme) to credentials. Exactly one
        /// of `password`, `password_wo`, `password_from_vault` per registry.
        registries: Val<BTreeMap<String, Registry>> =
            nested(NestingMode::Map, Registry::attributes()).required(),
        /// Labels of every copy.
        labels: Val<BTreeMap<String, String>> = new(Type::map(Type::String)).optional().validate(crate::util::kube_names::label_keys()).validate(crate::util::kube_names::label_values()),
        /// Annotations of every copy.
        annotations: Val<BTreeMap<String, String>> = new(Type::map(Type::String)).optional().validate(crate::util::kube_names::annotation_keys()),
        /// Namespace to a keyed hash (HMAC-SHA256 keyed by the copy's uid) of the copy found in
        /// the cluster. A changed or missing copy makes its namespace show in the plan.
        copies: Val<BTreeMap<String, Val<String>>> = new(Type::map(Type::String)).computed(),
        /// `mount/path` to the KV v2 version whose values were written. Never the values.
        vault_versions: Val<BTreeMap<String, Val<i64>>> = new(Type::map(Type::Number)).computed(),
    }
}

/// `password_from_vault = { mount = "secret", path = "ci/registry", key = "password" }`.
/// NOTE: a map of strings, not a nested object: Terraform 1.0's msgpack decoder panics on a
/// single-nested attribute with optional attributes inside a map-nested attribute
/// ("inconsistent map element types").
pub type VaultMap = BTreeMap<String, Val<String>>;
const VAULT_KEYS: [&str; 3] = ["mount", "path", "key"];

const DEFAULT_NAME: &str = "registry-credentials";

/// Private state: the copies' hashes as the last apply wrote them (namespace to hash).
const PRIVATE_WRITTEN: &str = "written";
/// Private state: Vault's current version per `mount/path`, as the last refresh read it.
const PRIVATE_VAULT_CURRENT: &str = "vault_current";

pub struct RegistryCredentials {
    data: ProviderData,
}

impl RegistryCredentials {
    pub fn new(data: ProviderData) -> Self {
        RegistryCredentials { data }
    }
}

#[async_trait]
impl Resource for RegistryCredentials {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_registry_credentials"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, State::block("Registry pull credentials: one `kubernetes.io/dockerconfigjson` Secret, the same in every namespace listed, written with server-side apply (field manager `cicd`). A copy edited or deleted by hand shows in the plan for that namespace only. Passwords come from configuration, a write-only attribute, or Vault (rotation shows in the plan). A namespace new to the resource that does not exist yet is a warning at plan (the same apply may create it). Import with `namespace/name`, or `ns1,ns2/name` for the copies in several namespaces.\n\n**RBAC.** In each namespace: `secrets` `get`, `patch` and `delete` (these may be limited to the Secret's name with `resourceNames`), and `create` (a server-side apply that creates the Secret needs it; it cannot be limited by name). Optional: `get` on the namespaces (cluster scope; without it the existence check is skipped with a warning)."))
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        for ns in c.namespaces.known().into_iter().flatten() {
            if !kubernetes::is_dns1123_label(ns) {
                diags.error_at(AttrPath::root(State::ATTR.namespaces), "Invalid namespace", format!("{ns:?} is not a valid namespace name (lower-case letters, digits and '-', at most 63)."));
            }
        }
        if let Val::Known(n) = &c.name {
            if !kubernetes::is_dns1123_subdomain(n) {
                let (at, detail) = (
                    State::ATTR.name,
                    format!("{n:?} is not a valid Kubernetes object name."),
                );
                diags.error_at(AttrPath::root(at), "Invalid Secret name", detail);
            }
        }
        for (host, r) in c.registries.known().into_iter().flatten() {
            validate_registry(host, r, diags);
        }
    }

    async fn modify_plan(
        &self,
        _cx: &Ctx,
        req: &PlanRequest<State>,
        plan: &mut Plan<State>,
        diags: &mut Diagnostics,
    ) {
        if self
            .check_remote(&req.config, req.prior.as_ref(), diags)
            .await
            .is_none()
        {
            return;
        }
        let Some(namespaces) = plan.state.namespaces.known().cloned() else {
            plan.state.copies = Val::Unknown;
            plan.state.vault_versions = Val::Unknown;
            return;
        };
        let Some(prior) = &req.prior else {
            plan.state.copies =
                Val::Known(namespaces.into_iter().map(|n| (n, Val::Unknown)).collect());
            plan.state.vault_versions = Val::Unknown;
            return;
        };
        let copies = planned_copies(prior, &plan.state, &namespaces, &req.prior_private);
        let full = copies.values().all(Val::is_unknown);
        let any_write =
            copies.values().any(Val::is_unknown) || Some(&namespaces) != prior.namespaces.known();
        if !any_write {
            // Nothing to do: plan the prior state exactly.
            return;
        }
        plan.state.copies = Val::Known(copies);
        // A full write reads Vault's current versions at apply time: unknown until then. A
        // partial write (a copy edited or deleted by hand, a namespace added) writes the
        // versions the other copies have, so the versions stay as they are.
        let versions = prior.vault_versions.clone();
        plan.state.vault_versions = if full { Val::Unknown } else { versions };
        plan.state.id = prior.id.clone();
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        self.write(req, diags).await
    }

    async fn read(
        &self,
        _cx: &Ctx,
        mut st: State,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let kube = self.data.kube(diags).await?;
        let (_, labels, annotations) = settings(&st);
        let name = st.name.known().cloned().unwrap_or_default();
        let namespaces = st.namespaces.known().cloned().unwrap_or_default();
        let copies = Copies::new(&kube, &name, &labels, &annotations, String::new());
        st.copies = match copies.read(&namespaces).await {
            Ok(hashes) => Val::all_known(hashes),
            Err(e) => return diags.push_err(e.to_string(), &e.detail()),
        };
        // Vault's current versions go to private data; the plan compares them with the
        // versions written (state) to show a rotation.
        let current = match self.logins(&st, diags)?.vault_versions().await {
            Ok(versions) => versions,
            Err(e) => return diags.push_err(e.to_string(), &e.detail()),
        };
        private.set(PRIVATE_VAULT_CURRENT, &current);
        Some(Read::Found(st))
    }

    async fn update(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        self.write(req, diags).await
    }

    async fn delete(&self, _cx: &Ctx, prior: State, _private: &Private, diags: &mut Diagnostics) {
        let Some(kube) = self.data.kube(diags).await else {
            return;
        };
        let name = prior.name.known().cloned().unwrap_or_default();
        let copies = Copies::named(&kube, &name);
        let namespaces = prior.namespaces.known().into_iter().flatten();
        for e in copies.delete(namespaces).await {
            diags.error(e.to_string(), e.detail());
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let kube = self.data.kube(diags).await?;
        import::import(&kube, id, diags).await
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(adopt::registry_credentials())
    }
    fn identity(&self, s: &State) -> Option<Identity> {
        adopt::of_registry_credentials(s)
    }
    fn identity_import_id(&self, i: &Identity) -> Option<String> {
        adopt::registry_credentials_import_id(i)
    }
}

/// One registry's host and password sources (offline).
fn validate_registry(host: &str, r: &Registry, diags: &mut Diagnostics) {
    let at = registry_path(host);
    if host.is_empty() || host.contains("://") || host.contains('/') {
        diags.error_at(at.clone(), "Invalid registry host", format!("{host:?} must be a host name with an optional port, without scheme or path (e.g. registry.example:5000)."));
    }
    let sources = [
        !r.password.is_null(),
        !r.password_wo.is_null(),
        !r.password_from_vault.is_null(),
    ];
    let n = sources.iter().filter(|x| **x).count();
    if let Val::Known(v) = &r.password_from_vault {
        let at = at.clone().attr(Registry::ATTR.password_from_vault);
        for k in v.keys().filter(|k| !VAULT_KEYS.contains(&k.as_str())) {
            let detail = format!("{k:?} is not one of mount, path, key.");
            diags.error_at(at.clone(), "Unknown key in password_from_vault", detail);
        }
        for k in &VAULT_KEYS[1..] {
            if v.get(*k).is_none_or(Val::is_null) {
                diags.error_at(at.clone(), format!("password_from_vault needs {k}"), "Set path (inside the KV v2 mount) and key (of the secret's data); mount defaults to secret.");
            }
        }
    }
    if n != 1 {
        diags.error_at(at.attr(Registry::ATTR.password), "Exactly one password source", format!("Registry {host}: set exactly one of password, password_wo or password_from_vault ({n} set)."));
    }
}

/// Each namespace's planned hash: the prior one while the copy is as written and the content
/// is unchanged, else unknown (rewritten by the apply).
fn planned_copies(
    prior: &State,
    planned: &State,
    namespaces: &BTreeSet<String>,
    prior_private: &Private,
) -> BTreeMap<String, Val<String>> {
    // NOTE: decided from the refreshed state and private data only (never from a Vault read
    // here): Terraform plans again during apply and rejects a plan that differs
    // ("inconsistent final plan"), and Vault may have moved on in between.
    let current = prior_private.get(PRIVATE_VAULT_CURRENT).unwrap_or_default();
    let content_changed = planned.registries != prior.registries
        || planned.labels != prior.labels
        || planned.annotations != prior.annotations
        || pull_secret::rotated(&prior.vault_versions.known_values(), &current);
    let written = prior_private.get(PRIVATE_WRITTEN).unwrap_or_default();
    let found = prior.copies.known_values();
    let keep = pull_secret::unchanged_copies(namespaces, &found, &written, content_changed);
    let planned = |ns: &String| keep.get(ns).cloned().map_or(Val::Unknown, Val::Known);
    namespaces
        .iter()
        .map(|ns| (ns.clone(), planned(ns)))
        .collect()
}

impl RegistryCredentials {
    /// Each registry's login, and the Vault client when a password comes from Vault (`None`,
    /// reported, when Vault is needed but not configured).
    fn logins(&self, st: &State, diags: &mut Diagnostics) -> Option<Logins> {
        let logins = logins(st);
        let vault = match Logins::needs_vault(&logins) {
            true => Some(self.data.vault(diags)?),
            false => None,
        };
        Some(Logins { logins, vault })
    }

    /// Namespaces must exist; Vault references must resolve. `None` when one does not. A
    /// namespace new to this resource may be created by the same apply (e.g. by
    /// `kubernetes_namespace_v1`): missing, it is a warning here and the apply fails if it is
    /// still missing then.
    async fn check_remote(
        &self,
        cfg: &State,
        prior: Option<&State>,
        diags: &mut Diagnostics,
    ) -> Option<()> {
        let kube = self.data.kube(diags).await?;
        let namespaces = cfg.namespaces.clone().known_or_default();
        let before = prior.and_then(|p| p.namespaces.known().cloned());
        let at = AttrPath::root(State::ATTR.namespaces);
        for (ns, check) in pull_secret::check_namespaces(&kube, &namespaces).await {
            let summary = format!("Namespace {ns} does not exist");
            match check {
                NsCheck::Missing if before.as_ref().is_some_and(|b| b.contains(&ns)) => {
                    diags.error_at(at.clone(), summary, format!("The Kubernetes namespace {ns:?} listed in namespaces was not found. Create it again or remove it from the list."));
                }
                NsCheck::Missing => diags.warning_at(at.clone(), format!("{summary} yet"), format!("The Kubernetes namespace {ns:?} listed in namespaces was not found. If this apply creates it before this resource (a reference or depends_on), nothing is wrong; otherwise the apply fails.")),
                NsCheck::Forbidden => diags.warning_at(at.clone(), format!("Could not check namespace {ns}"), "These credentials may not read namespaces (a namespaced Role), so its existence was not checked; writing the Secret will tell."),
                NsCheck::Failed(e) => {
                    diags.error_at(at.clone(), format!("Could not check namespace {ns}"), e.to_string())
                }
            }
        }
        for (host, e) in self.logins(cfg, diags)?.check_vault().await {
            let at = registry_path(&host).attr(Registry::ATTR.password_from_vault);
            diags.error_at(at.attr(e.part()), e.to_string(), e.detail());
        }
        (!diags.has_errors()).then_some(())
    }

    /// Passwords per host from config, write-only config or Vault (at the planned versions),
    /// and the version each Vault secret was read at.
    async fn passwords(
        &self,
        cfg: &State,
        versions: &BTreeMap<String, i64>,
        diags: &mut Diagnostics,
    ) -> Option<(Auths, BTreeMap<String, i64>)> {
        match self.logins(cfg, diags)?.resolve(versions).await {
            Ok(found) => Some(found),
            Err(LoginError::NoPassword(host)) => {
                let detail = "Set password, password_wo or password_from_vault.";
                diags.push_err_at(registry_path(&host), "No password", &detail)
            }
            Err(LoginError::Vault(e)) => diags.push_err(e.to_string(), &e.detail()),
        }
    }

    /// Write the copies whose planned hash is unknown; returns the state read back.
    async fn write(&self, req: &mut ApplyRequest<State>, diags: &mut Diagnostics) -> Option<State> {
        let kube = self.data.kube(diags).await?;
        // Partial write: the versions the other copies have (see modify_plan).
        let versions = match &req.prior {
            Some(_) => req.planned.vault_versions.known_values(),
            None => BTreeMap::new(),
        };
        let (creds, written_versions) = self.passwords(&req.config, &versions, diags).await?;
        let mut st = req.planned.clone();
        let (name, labels, annotations) = settings(&st);
        let config = kubernetes::dockerconfigjson(&creds);
        let copies = Copies::new(&kube, &name, &labels, &annotations, config);
        let namespaces = st.namespaces.known().cloned().unwrap_or_default();
        let gone = req
            .prior
            .iter()
            .flat_map(|p| p.namespaces.known().into_iter().flatten());
        let gone = gone.filter(|n| !namespaces.contains(*n));
        let keep = st.copies.known_values();
        // After a failed write, the state records what was written so far; the rest shows in
        // the next plan.
        let synced = copies.sync(&namespaces, &keep, gone).await;
        for e in &synced.failures {
            diags.error(e.to_string(), e.detail());
        }
        // A removed namespace whose copy may still be there stays in state: the next plan
        // deletes it again, and a destroy finds it.
        let listed = pull_secret::namespaces_after(&namespaces, &synced.not_deleted);
        st.namespaces = Val::Known(listed);
        let written = Val::all_known(synced.hashes);
        if synced.complete {
            req.private.set(PRIVATE_WRITTEN, &written);
            req.private.set(PRIVATE_VAULT_CURRENT, &written_versions);
        }
        st.copies = written;
        st.vault_versions = Val::all_known(written_versions);
        st.id = Val::Known(name);
        Some(st)
    }
}

fn registry_path(host: &str) -> AttrPath {
    AttrPath::root(State::ATTR.registries).key(host)
}

/// The Secret's name (default `registry-credentials`), labels and annotations.
fn settings(st: &State) -> (String, BTreeMap<String, String>, BTreeMap<String, String>) {
    let name = st.name.clone().known_or_else(|| DEFAULT_NAME.into());
    let labels = st.labels.clone().known_or_default();
    (name, labels, st.annotations.clone().known_or_default())
}

/// Each registry's login, with where its password comes from.
fn logins(st: &State) -> Vec<Login> {
    let registries = st.registries.known().into_iter().flatten();
    let login = |(host, r): (&String, &Registry)| Login {
        host: host.clone(),
        username: r.username.clone().known_or_default(),
        password: match (&r.password, &r.password_wo, &r.password_from_vault) {
            (Val::Known(p), ..) => Some(Password::Given(p.clone())),
            (_, Val::Known(p), _) => Some(Password::WriteOnly(p.clone())),
            (.., Val::Known(v)) => vault_password(v),
            _ => None,
        },
    };
    registries.map(login).collect()
}

/// The Vault secret and key a `password_from_vault` map names, read in this one place
/// (`mount` defaults to `secret` when null); `None` while `mount`, `path` or `key` is not known.
fn vault_password(m: &VaultMap) -> Option<Password> {
    let field = |k: &str| m.get(k).cloned().unwrap_or(Val::Null);
    let [mount, path, key] = VAULT_KEYS.map(field);
    let mount = mount.or_default_known(crate::clients::vault::DEFAULT_MOUNT.into())?;
    let kv = KvRef::new(mount, path.into_known()?);
    Some(Password::Vault(kv, key.into_known()?))
}

#[path = "registry_credentials_import.rs"]
mod import;

#[cfg(test)]
#[path = "registry_credentials_tests.rs"]
mod tests;
