//! `cicd_registry_credentials`: one `kubernetes.io/dockerconfigjson` Secret, the same in every
//! namespace of `namespaces`, written with server-side apply (field manager `cicd`).
//!
//! Endpoints: Kubernetes `GET /api/v1/namespaces/{ns}`, `GET|PATCH|DELETE
//! /api/v1/namespaces/{ns}/secrets/{name}`; Vault `GET <mount>/data/<path>[?version=N]`.
//! Import id: `namespace/name` (imports that one copy; the next apply rewrites it, since the
//! provider cannot check passwords it did not write).
//!
//! Drift, per namespace: `copies` maps each namespace to an HMAC-SHA256 of the copy as found in
//! the cluster, keyed with the copy's own `metadata.uid` (never in state, so the state alone
//! does not allow guessing passwords; anyone who can read the uid can read the Secret anyway).
//! The hashes written by the last apply are kept in private state; a plan marks a namespace
//! whose copy changed or vanished "known after apply", and only that one is rewritten.
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

use crate::clients::kubernetes::KubeClient;
use crate::provider::ProviderData;
use async_trait::async_trait;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::{Attribute, Block, NestingMode, Schema};
use tfplugin::secret::register_secret;
use tfplugin::typed::Val;
use tfplugin::value::{Type, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const DOCKERCONFIG: &str = ".dockerconfigjson";

/// `password_from_vault = { mount = "secret", path = "ci/registry", key = "password" }`.
/// NOTE: a map of strings, not a nested object: Terraform 1.0's msgpack decoder panics on a
/// single-nested attribute with optional attributes inside a map-nested attribute
/// ("inconsistent map element types").
pub type VaultRef = BTreeMap<String, Val<String>>;

const VAULT_KEYS: [&str; 3] = ["mount", "path", "key"];

fn vault_field(v: &VaultRef, k: &str) -> Val<String> {
    v.get(k).cloned().unwrap_or(Val::Null)
}

fn vault_mount(v: &VaultRef) -> String {
    vault_field(v, "mount")
        .into_known()
        .unwrap_or_else(|| "secret".into())
}

/// `mount/path`, the key of `vault_versions`; None while unknown.
fn vault_id(v: &VaultRef) -> Option<String> {
    Some(format!(
        "{}/{}",
        vault_mount(v).trim_matches('/'),
        vault_field(v, "path").into_known()?.trim_matches('/')
    ))
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Registry {
    #[serde(default)]
    pub username: Val<String>,
    #[serde(default)]
    pub password: Val<String>,
    #[serde(default)]
    pub password_wo: Val<String>,
    #[serde(default)]
    pub password_wo_version: Val<i64>,
    #[serde(default)]
    pub password_from_vault: Val<VaultRef>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct State {
    #[serde(default)]
    pub id: Val<String>,
    #[serde(default)]
    pub name: Val<String>,
    #[serde(default)]
    pub namespaces: Val<BTreeSet<String>>,
    #[serde(default)]
    pub registries: Val<BTreeMap<String, Registry>>,
    #[serde(default)]
    pub labels: Val<BTreeMap<String, String>>,
    #[serde(default)]
    pub annotations: Val<BTreeMap<String, String>>,
    #[serde(default)]
    pub copies: Val<BTreeMap<String, Val<String>>>,
    #[serde(default)]
    pub vault_versions: Val<BTreeMap<String, Val<i64>>>,
}

pub struct RegistryCredentials {
    data: ProviderData,
}

impl RegistryCredentials {
    pub fn new(data: ProviderData) -> Self {
        RegistryCredentials { data }
    }
}

fn schema() -> Schema {
    let registry = vec![
        Attribute::string("username").required().describe("User name for the registry."),
        Attribute::string("password").optional().sensitive().describe("Password or token (kept in state, marked sensitive)."),
        Attribute::string("password_wo").optional().sensitive().write_only().describe("Password as a write-only value: never stored in state (Terraform/OpenTofu >= 1.11). Bump `password_wo_version` to write a new one."),
        Attribute::number("password_wo_version").optional().describe("Any number; changing it writes `password_wo` again."),
        Attribute::new("password_from_vault", Type::map(Type::String)).optional().describe("Read the password from Vault KV v2: `{ mount = \"secret\", path = \"ci/registry\", key = \"password\" }` (`mount` defaults to `secret`). Only the secret's version number is stored in state; a new version in Vault plans an update of every copy."),
    ];
    Schema::new(
        0,
        Block::new("Registry pull credentials: one `kubernetes.io/dockerconfigjson` Secret, the same in every namespace listed, written with server-side apply (field manager `cicd`). A copy edited or deleted by hand shows in the plan for that namespace only. Passwords come from configuration, a write-only attribute, or Vault (rotation shows in the plan). Import with `namespace/name`.")
            .attr(Attribute::string("id").computed().keep_prior().describe("The Secret's name."))
            .attr(Attribute::string("name").optional().computed().force_new()
                .default_value(Value::String("registry-credentials".into()))
                .describe("Name of the Secret in every namespace (default `registry-credentials`). Changing it replaces the Secrets."))
            .attr(Attribute::new("namespaces", Type::set(Type::String)).required()
                .describe("Namespaces that get a copy. Each must exist (checked at plan time)."))
            .attr(Attribute::nested("registries", NestingMode::Map, registry).required()
                .describe("Registry host (e.g. `registry.example:5000`, no scheme) to credentials. Exactly one of `password`, `password_wo`, `password_from_vault` per registry."))
            .attr(Attribute::new("labels", Type::map(Type::String)).optional().describe("Labels of every copy."))
            .attr(Attribute::new("annotations", Type::map(Type::String)).optional().describe("Annotations of every copy."))
            .attr(Attribute::new("copies", Type::map(Type::String)).computed()
                .describe("Namespace to a keyed hash (HMAC-SHA256 keyed by the copy's uid) of the copy found in the cluster. A changed or missing copy makes its namespace show in the plan."))
            .attr(Attribute::new("vault_versions", Type::map(Type::Number)).computed()
                .describe("`mount/path` to the KV v2 version whose values were written. Never the values.")),
    )
}

/// HMAC-SHA256 (RFC 2104) with sha2: no extra dependency for 15 lines.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The keyed hash of a copy: its type, data, and the labels/annotations this resource sets.
fn copy_hash(
    s: &k8s_openapi::api::core::v1::Secret,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> String {
    let mut msg = Vec::new();
    msg.extend(s.type_.as_deref().unwrap_or("").as_bytes());
    msg.push(0);
    for (k, v) in s.data.iter().flatten() {
        msg.extend(k.as_bytes());
        msg.push(0);
        msg.extend(&v.0);
        msg.push(0);
    }
    let meta = [
        (labels, s.metadata.labels.as_ref()),
        (annotations, s.metadata.annotations.as_ref()),
    ];
    for (want, have) in meta {
        msg.push(1);
        for k in want.keys() {
            msg.extend(k.as_bytes());
            msg.push(b'=');
            match have.and_then(|h| h.get(k)) {
                Some(v) => msg.extend(v.as_bytes()),
                None => msg.push(0xff),
            }
            msg.push(0);
        }
    }
    let uid = s.metadata.uid.as_deref().unwrap_or("");
    format!(
        "hmac-sha256:{}",
        hex::encode(hmac_sha256(uid.as_bytes(), &msg))
    )
}

/// `{"auths":{host:{username,password,auth}}}`.
pub fn dockerconfigjson(creds: &BTreeMap<String, (String, String)>) -> String {
    let mut auths = serde_json::Map::new();
    for (host, (u, p)) in creds {
        auths.insert(
            host.clone(),
            serde_json::json!({"username": u, "password": p, "auth": B64.encode(format!("{u}:{p}"))}),
        );
    }
    serde_json::json!({ "auths": auths }).to_string()
}

fn known_map(v: &Val<BTreeMap<String, String>>) -> BTreeMap<String, String> {
    v.known().cloned().unwrap_or_default()
}

impl RegistryCredentials {
    /// Namespaces must exist; Vault references must resolve. Returns the versions seen.
    async fn check_remote(
        &self,
        cfg: &State,
        diags: &mut Diagnostics,
    ) -> Option<BTreeMap<String, i64>> {
        let kube = self.data.kube(diags).await?;
        for ns in cfg.namespaces.known().into_iter().flatten() {
            match kube.namespace_exists(ns).await {
                Ok(true) => {}
                Ok(false) => diags.error_at(
                    AttrPath::root("namespaces"),
                    format!("Namespace {ns} does not exist"),
                    format!("The Kubernetes namespace {ns:?} listed in namespaces was not found. Create it first or remove it from the list."),
                ),
                Err(e) => diags.error_at(AttrPath::root("namespaces"), format!("Could not check namespace {ns}"), e.to_string()),
            }
        }
        let mut versions = BTreeMap::new();
        for (host, r) in cfg.registries.known().into_iter().flatten() {
            let Val::Known(v) = &r.password_from_vault else {
                continue;
            };
            let (Some(id), Val::Known(key)) = (vault_id(v), vault_field(v, "key")) else {
                continue;
            };
            let vault = self.data.vault(diags)?;
            let path = AttrPath::root("registries")
                .key(host.clone())
                .attr("password_from_vault");
            match vault
                .read_kv(&vault_mount(v), vault_field(v, "path").known()?)
                .await
            {
                Ok(s) => match s.get(&key) {
                    Ok(_) => {
                        versions.insert(id, s.version);
                    }
                    Err(e) => diags.error_at(
                        path.attr("key"),
                        format!("Key {key:?} not found in Vault secret {id}"),
                        e.to_string(),
                    ),
                },
                Err(e) => diags.error_at(
                    path.attr("path"),
                    format!("Could not read Vault secret {id}"),
                    e.to_string(),
                ),
            }
        }
        (!diags.has_errors()).then_some(versions)
    }

    /// Passwords per host from config, write-only config or Vault (at the planned versions).
    async fn passwords(
        &self,
        cfg: &State,
        planned_versions: &BTreeMap<String, i64>,
        diags: &mut Diagnostics,
    ) -> Option<(
        BTreeMap<String, (String, String)>,
        BTreeMap<String, Val<i64>>,
    )> {
        let mut creds = BTreeMap::new();
        let mut written = BTreeMap::new();
        for (host, r) in cfg.registries.known().into_iter().flatten() {
            let user = r.username.known().cloned().unwrap_or_default();
            let pw = if let Val::Known(p) = &r.password {
                p.clone()
            } else if let Val::Known(p) = &r.password_wo {
                register_secret(p);
                p.clone()
            } else if let Val::Known(v) = &r.password_from_vault {
                let vault = self.data.vault(diags)?;
                let id = vault_id(v)?;
                let (mount, path) = (vault_mount(v), vault_field(v, "path").known()?.clone());
                let read = match planned_versions.get(&id) {
                    Some(n) => vault.read_kv_version(&mount, &path, *n).await,
                    None => vault.read_kv(&mount, &path).await,
                };
                let s = match read {
                    Ok(s) => s,
                    Err(e) => {
                        diags.error(format!("Could not read Vault secret {id}"), e.to_string());
                        return None;
                    }
                };
                let key = vault_field(v, "key").into_known()?;
                let key = &key;
                match s.get(key) {
                    Ok(p) => {
                        written.insert(id, Val::Known(s.version));
                        p.expose().to_string()
                    }
                    Err(e) => {
                        diags.error(
                            format!("Key {key:?} not found in Vault secret {id}"),
                            e.to_string(),
                        );
                        return None;
                    }
                }
            } else {
                diags.error_at(
                    AttrPath::root("registries").key(host.clone()),
                    "No password",
                    "Set password, password_wo or password_from_vault.",
                );
                return None;
            };
            creds.insert(host.clone(), (user, pw));
        }
        Some((creds, written))
    }

    /// Write the copies whose planned hash is unknown; returns the state read back.
    async fn write(&self, req: &mut ApplyRequest<State>, diags: &mut Diagnostics) -> Option<State> {
        let kube = self.data.kube(diags).await?;
        // Partial write: the versions the other copies have (see modify_plan).
        let versions: BTreeMap<String, i64> = match (&req.prior, &req.planned.vault_versions) {
            (Some(_), Val::Known(v)) => v
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), *v.known()?)))
                .collect(),
            _ => BTreeMap::new(),
        };
        let (creds, written_versions) = self.passwords(&req.config, &versions, diags).await?;
        let mut st = req.planned.clone();
        let name = st
            .name
            .known()
            .cloned()
            .unwrap_or_else(|| "registry-credentials".into());
        let (labels, annotations) = (known_map(&st.labels), known_map(&st.annotations));
        let data = B64.encode(dockerconfigjson(&creds));
        let planned_copies = st.copies.known().cloned().unwrap_or_default();
        let mut copies = BTreeMap::new();
        for ns in st.namespaces.known().cloned().unwrap_or_default() {
            if let Some(Val::Known(h)) = planned_copies.get(&ns) {
                copies.insert(ns, Val::Known(h.clone()));
                continue;
            }
            let body = serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {DOCKERCONFIG: data},
            });
            match kube.apply_secret(&ns, &name, &body).await {
                Ok(s) => {
                    copies.insert(ns, Val::Known(copy_hash(&s, &labels, &annotations)));
                }
                Err(e) => {
                    diags.error(format!("Could not write Secret {ns}/{name}"), e.to_string());
                    // Record what was written so far; the rest shows in the next plan.
                    st.copies = Val::Known(copies);
                    st.vault_versions = Val::Known(written_versions);
                    st.id = Val::Known(name);
                    return Some(st);
                }
            }
        }
        if let Some(prior) = &req.prior {
            let keep = st.namespaces.known().cloned().unwrap_or_default();
            for ns in prior
                .namespaces
                .known()
                .into_iter()
                .flatten()
                .filter(|n| !keep.contains(*n))
            {
                if let Err(e) = kube.delete_secret(ns, &name).await {
                    diags.error(
                        format!("Could not delete Secret {ns}/{name}"),
                        e.to_string(),
                    );
                }
            }
        }
        req.private.set("written", &copies);
        req.private.set("vault_current", &written_versions);
        st.copies = Val::Known(copies);
        st.vault_versions = Val::Known(written_versions);
        st.id = Val::Known(name);
        Some(st)
    }

    async fn read_copies(
        &self,
        kube: &KubeClient,
        name: &str,
        namespaces: &BTreeSet<String>,
        st: &State,
        diags: &mut Diagnostics,
    ) -> Option<BTreeMap<String, Val<String>>> {
        let (labels, annotations) = (known_map(&st.labels), known_map(&st.annotations));
        let mut copies = BTreeMap::new();
        for ns in namespaces {
            match kube.get_secret(ns, name).await {
                Ok(Some(s)) => {
                    copies.insert(ns.clone(), Val::Known(copy_hash(&s, &labels, &annotations)));
                }
                Ok(None) => {}
                Err(e) => {
                    diags.error(format!("Could not read Secret {ns}/{name}"), e.to_string());
                    return None;
                }
            }
        }
        Some(copies)
    }
}

#[async_trait]
impl Resource for RegistryCredentials {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_registry_credentials"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        for ns in c.namespaces.known().into_iter().flatten() {
            if !crate::clients::kubernetes::is_dns1123_label(ns) {
                diags.error_at(AttrPath::root("namespaces"), "Invalid namespace", format!("{ns:?} is not a valid namespace name (lower-case letters, digits and '-', at most 63)."));
            }
        }
        if let Val::Known(n) = &c.name {
            let sub = regex::Regex::new(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$").expect("regex");
            if !sub.is_match(n) {
                diags.error_at(
                    AttrPath::root("name"),
                    "Invalid Secret name",
                    format!("{n:?} is not a valid Kubernetes object name."),
                );
            }
        }
        for (host, r) in c.registries.known().into_iter().flatten() {
            let at = AttrPath::root("registries").key(host.clone());
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
                for k in v.keys().filter(|k| !VAULT_KEYS.contains(&k.as_str())) {
                    diags.error_at(
                        at.clone().attr("password_from_vault"),
                        "Unknown key in password_from_vault",
                        format!("{k:?} is not one of mount, path, key."),
                    );
                }
                for k in ["path", "key"] {
                    if vault_field(v, k).is_null() {
                        diags.error_at(at.clone().attr("password_from_vault"), format!("password_from_vault needs {k}"), "Set path (inside the KV v2 mount) and key (of the secret's data); mount defaults to secret.");
                    }
                }
            }
            if n != 1 {
                diags.error_at(at.attr("password"), "Exactly one password source", format!("Registry {host}: set exactly one of password, password_wo or password_from_vault ({n} set)."));
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
        if self.check_remote(&req.config, diags).await.is_none() {
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
        // NOTE: decided from the refreshed state and private data only (never from a Vault read
        // here): Terraform plans again during apply and rejects a plan that differs
        // ("inconsistent final plan"), and Vault may have moved on in between.
        let current: BTreeMap<String, i64> =
            req.prior_private.get("vault_current").unwrap_or_default();
        let rotated = prior
            .vault_versions
            .known()
            .into_iter()
            .flatten()
            .any(|(id, v)| {
                current
                    .get(id)
                    .is_some_and(|c| v.known().is_some_and(|v| v != c))
            });
        let content_changed = plan.state.registries != prior.registries
            || plan.state.labels != prior.labels
            || plan.state.annotations != prior.annotations
            || rotated;
        let written: BTreeMap<String, String> =
            req.prior_private.get("written").unwrap_or_default();
        let prior_copies = prior.copies.known().cloned().unwrap_or_default();
        let mut copies = BTreeMap::new();
        for ns in &namespaces {
            let have = prior_copies.get(ns).and_then(|v| v.known());
            let in_sync = have.is_some() && have == written.get(ns);
            copies.insert(
                ns.clone(),
                if content_changed || !in_sync {
                    Val::Unknown
                } else {
                    Val::Known(have.cloned().unwrap_or_default())
                },
            );
        }
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
        plan.state.vault_versions = if full {
            Val::Unknown
        } else {
            prior.vault_versions.clone()
        };
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
        let name = st.name.known().cloned().unwrap_or_default();
        let namespaces = st.namespaces.known().cloned().unwrap_or_default();
        let copies = self
            .read_copies(&kube, &name, &namespaces, &st, diags)
            .await?;
        st.copies = Val::Known(copies);
        // Vault's current versions go to private data; the plan compares them with the
        // versions written (state) to show a rotation.
        let mut current: BTreeMap<String, i64> = BTreeMap::new();
        for r in st.registries.known().into_iter().flatten().map(|(_, r)| r) {
            let Val::Known(v) = &r.password_from_vault else {
                continue;
            };
            let (Some(id), Val::Known(path)) = (vault_id(v), vault_field(v, "path")) else {
                continue;
            };
            let vault = self.data.vault(diags)?;
            match vault.read_kv(&vault_mount(v), &path).await {
                Ok(s) => {
                    current.insert(id, s.version);
                }
                Err(e) => {
                    diags.error(format!("Could not read Vault secret {id}"), e.to_string());
                    return None;
                }
            }
        }
        private.set("vault_current", &current);
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
        for ns in prior.namespaces.known().into_iter().flatten() {
            if let Err(e) = kube.delete_secret(ns, &name).await {
                diags.error(
                    format!("Could not delete Secret {ns}/{name}"),
                    e.to_string(),
                );
            }
        }
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let Some((ns, name)) = id
            .split_once('/')
            .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('/'))
        else {
            diags.error(
                "Invalid import id",
                format!("Expected namespace/name, got: {id}"),
            );
            return None;
        };
        let kube = self.data.kube(diags).await?;
        let s = match kube.get_secret(ns, name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                diags.error(
                    format!("Cannot import Secret {ns}/{name}"),
                    "No such Secret.",
                );
                return None;
            }
            Err(e) => {
                diags.error(format!("Could not read Secret {ns}/{name}"), e.to_string());
                return None;
            }
        };
        let mut registries = BTreeMap::new();
        let raw = s
            .data
            .as_ref()
            .and_then(|d| d.get(DOCKERCONFIG))
            .map(|b| b.0.clone())
            .unwrap_or_default();
        let j: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_default();
        for (host, a) in j["auths"].as_object().into_iter().flatten() {
            let user = a["username"].as_str().map(str::to_string);
            registries.insert(
                host.clone(),
                Registry {
                    username: user.into(),
                    ..Default::default()
                },
            );
        }
        let st = State {
            id: Val::Known(name.to_string()),
            name: Val::Known(name.to_string()),
            namespaces: Val::Known([ns.to_string()].into()),
            registries: Val::Known(registries),
            labels: Val::Null,
            annotations: Val::Null,
            copies: Val::Known(
                [(
                    ns.to_string(),
                    Val::Known(copy_hash(&s, &BTreeMap::new(), &BTreeMap::new())),
                )]
                .into(),
            ),
            vault_versions: Val::Known(BTreeMap::new()),
        };
        Some(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let h = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(h),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn dockerconfigjson_shape() {
        let mut c = BTreeMap::new();
        c.insert(
            "r.example:5000".to_string(),
            ("u".to_string(), "p:w".to_string()),
        );
        let j: serde_json::Value = serde_json::from_str(&dockerconfigjson(&c)).unwrap();
        let a = &j["auths"]["r.example:5000"];
        assert_eq!(a["username"], "u");
        assert_eq!(a["password"], "p:w");
        assert_eq!(a["auth"], B64.encode("u:p:w"));
    }

    #[test]
    fn copy_hash_is_keyed_by_uid_and_sees_data() {
        let mk = |uid: &str, data: &str| -> k8s_openapi::api::core::v1::Secret {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "x", "uid": uid},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {DOCKERCONFIG: B64.encode(data)},
            }))
            .unwrap()
        };
        let none = BTreeMap::new();
        let a = copy_hash(&mk("u1", "{}"), &none, &none);
        assert_eq!(a, copy_hash(&mk("u1", "{}"), &none, &none));
        assert_ne!(a, copy_hash(&mk("u2", "{}"), &none, &none));
        assert_ne!(a, copy_hash(&mk("u1", "{ }"), &none, &none));
    }
}
