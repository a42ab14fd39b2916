//! One registry pull secret (`kubernetes.io/dockerconfigjson`) kept the same in many
//! namespaces:
//! - its logins: where each registry's password comes from (configuration, a write-only value,
//!   or a Vault KV v2 secret, read at a given version so that every copy gets the same);
//! - how a changed copy is seen: each copy's keyed hash, HMAC-SHA256 keyed with the copy's own
//!   `metadata.uid` over its type, its data, and the labels and annotations it should carry.
//!   The uid is never in state, so hashes in state alone do not allow guessing passwords
//!   (anyone who can read the uid can read the Secret anyway).
//!
//! Requests: `GET|PATCH|DELETE /api/v1/namespaces/{ns}/secrets/{name}`, one per namespace;
//! Vault `GET <mount>/data/<path>[?version=N]`, shared per path.

use crate::clients::kubernetes::{KubeClient, PullSecret};
use crate::clients::vault::{KvRef, ValueError, VaultClient};
use crate::clients::Error;
use hmac::{Hmac, Mac};
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tfplugin::secret::register_secret;

/// Registry host to (username, password): what the `.dockerconfigjson` holds.
pub type Auths = BTreeMap<String, (String, String)>;

/// Where one registry's password comes from.
#[derive(Clone, Debug)]
pub enum Password {
    /// Configured, and kept in state (sensitive).
    Given(String),
    /// Configured write-only: never in state.
    WriteOnly(String),
    /// A key of a Vault KV v2 secret.
    Vault(KvRef, String),
}

/// One registry's login (`password` is `None` when no source is set).
#[derive(Clone, Debug)]
pub struct Login {
    pub host: String,
    pub username: String,
    pub password: Option<Password>,
}

impl Login {
    /// The Vault secret and key the password comes from, if it does.
    pub fn vault(&self) -> Option<(&KvRef, &str)> {
        match &self.password {
            Some(Password::Vault(kv, key)) => Some((kv, key)),
            _ => None,
        }
    }
}

/// Why [`Logins::resolve`] gave no credentials.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// A registry (the host) has no password source.
    #[error("No password")]
    NoPassword(String),
    #[error(transparent)]
    Vault(#[from] ValueError),
}

/// The logins of every registry, and the Vault client when a password comes from Vault.
pub struct Logins {
    pub logins: Vec<Login>,
    pub vault: Option<Arc<VaultClient>>,
}

impl Logins {
    /// Whether any password comes from Vault (so that a Vault client is needed).
    pub fn needs_vault(logins: &[Login]) -> bool {
        logins.iter().any(|l| l.vault().is_some())
    }

    fn with_vault(&self) -> impl Iterator<Item = (&Login, &KvRef, &str, &VaultClient)> {
        let vault = self.vault.as_deref();
        let logins = self.logins.iter();
        logins.filter_map(move |l| l.vault().zip(vault).map(|((kv, key), v)| (l, kv, key, v)))
    }

    /// At plan time: every Vault secret and key the logins name can be read. The failures, by
    /// host.
    pub async fn check_vault(&self) -> Vec<(String, ValueError)> {
        let mut failed = Vec::new();
        for (l, kv, key, vault) in self.with_vault() {
            if let Err(e) = vault.read_value(kv, key, None).await {
                failed.push((l.host.clone(), e));
            }
        }
        failed
    }

    /// At refresh: the current version of each Vault secret the logins name, by `mount/path`.
    pub async fn vault_versions(&self) -> Result<BTreeMap<String, i64>, ValueError> {
        let mut versions = BTreeMap::new();
        for (_, kv, _, vault) in self.with_vault() {
            match vault.read_ref(kv, None).await {
                Ok(s) => versions.insert(kv.id(), s.version),
                Err(e) => return Err(ValueError::Read(kv.id(), e)),
            };
        }
        Ok(versions)
    }

    /// At apply: the credentials, with Vault values read at `versions` (by `mount/path`) where
    /// one is given, else at the current version; and the version each Vault secret was read
    /// at. Write-only passwords are registered with the log scrubber.
    pub async fn resolve(
        &self,
        versions: &BTreeMap<String, i64>,
    ) -> Result<(Auths, BTreeMap<String, i64>), LoginError> {
        let mut auths = Auths::new();
        let mut read = BTreeMap::new();
        for l in &self.logins {
            let password = match (&l.password, self.vault.as_deref()) {
                (Some(Password::Given(p)), _) => p.clone(),
                (Some(Password::WriteOnly(p)), _) => {
                    register_secret(p);
                    p.clone()
                }
                (Some(Password::Vault(kv, key)), Some(vault)) => {
                    let at = versions.get(&kv.id()).copied();
                    let (value, version) = vault.read_value(kv, key, at).await?;
                    read.insert(kv.id(), version);
                    value.expose().to_string()
                }
                (Some(Password::Vault(..)), None) | (None, _) => {
                    return Err(LoginError::NoPassword(l.host.clone()))
                }
            };
            auths.insert(l.host.clone(), (l.username.clone(), password));
        }
        Ok((auths, read))
    }
}

/// Why a namespace of `namespaces` could not be confirmed.
pub enum NsCheck {
    /// It does not exist (yet).
    Missing,
    /// These credentials may not read namespaces (a namespaced Role).
    Forbidden,
    Failed(Error),
}

/// The namespaces of `namespaces` that could not be confirmed to exist, and why.
pub async fn check_namespaces(
    kube: &KubeClient,
    namespaces: &BTreeSet<String>,
) -> Vec<(String, NsCheck)> {
    let mut out = Vec::new();
    for ns in namespaces {
        let check = match kube.namespace_exists(ns).await {
            Ok(Some(true)) => continue,
            Ok(Some(false)) => NsCheck::Missing,
            Ok(None) => NsCheck::Forbidden,
            Err(e) => NsCheck::Failed(e),
        };
        out.push((ns.clone(), check));
    }
    out
}

/// A failed request for the copy in one namespace: the message is a summary, the source says
/// more.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// `namespace/name`.
    #[error("Could not read Secret {0}")]
    Read(String, #[source] Error),
    #[error("Could not write Secret {0}")]
    Write(String, #[source] Error),
    #[error("Could not delete Secret {0}")]
    Delete(String, #[source] Error),
}

impl CopyError {
    pub fn detail(&self) -> String {
        match self {
            CopyError::Read(_, e) | CopyError::Write(_, e) | CopyError::Delete(_, e) => {
                e.to_string()
            }
        }
    }
}

/// What [`Copies::sync`] did.
pub struct Synced {
    /// The hashes of the copies kept or written.
    pub hashes: BTreeMap<String, String>,
    pub failures: Vec<CopyError>,
    /// Every write went through.
    pub complete: bool,
    /// Namespaces whose copy was to be deleted and may still be there.
    pub not_deleted: BTreeSet<String>,
}

/// The namespaces a state must list after a sync: the planned ones, and every removed one
/// whose copy was not confirmed deleted (so that the next plan tries again, and a destroy
/// finds it).
pub fn namespaces_after(
    planned: &BTreeSet<String>,
    not_deleted: &BTreeSet<String>,
) -> BTreeSet<String> {
    planned.union(not_deleted).cloned().collect()
}

/// The copies of `secret`, by namespace.
pub struct Copies<'a> {
    pub kube: &'a KubeClient,
    pub secret: PullSecret<'a>,
}

/// No labels or annotations.
static NONE: BTreeMap<String, String> = BTreeMap::new();

impl<'a> Copies<'a> {
    /// The copies of the Secret `name`, for reading hashes of bare copies and deleting.
    pub fn named(kube: &'a KubeClient, name: &'a str) -> Self {
        Copies::new(kube, name, &NONE, &NONE, String::new())
    }

    pub fn new(
        kube: &'a KubeClient,
        name: &'a str,
        labels: &'a BTreeMap<String, String>,
        annotations: &'a BTreeMap<String, String>,
        config: String,
    ) -> Self {
        let secret = PullSecret {
            name,
            labels,
            annotations,
            config,
        };
        Copies { kube, secret }
    }

    /// The hash of each copy found in `namespaces` (a missing copy is left out).
    pub async fn read(
        &self,
        namespaces: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, String>, CopyError> {
        let name = self.secret.name;
        let mut hashes = BTreeMap::new();
        for ns in namespaces {
            match self.kube.get_secret(ns, name).await {
                Ok(Some(s)) => {
                    hashes.insert(ns.clone(), self.hash(&s));
                }
                Ok(None) => {}
                Err(e) => return Err(CopyError::Read(format!("{ns}/{name}"), e)),
            }
        }
        Ok(hashes)
    }

    /// Writes the secret to each of `namespaces` in order, except those in `keep` (namespace to
    /// the hash of a copy that stays as it is). The hashes of the copies kept or written, up to
    /// the failure that stopped it, if any.
    pub async fn write(
        &self,
        namespaces: &BTreeSet<String>,
        keep: &BTreeMap<String, String>,
    ) -> (BTreeMap<String, String>, Option<CopyError>) {
        let mut hashes = BTreeMap::new();
        for ns in namespaces {
            if let Some(h) = keep.get(ns) {
                hashes.insert(ns.clone(), h.clone());
                continue;
            }
            match self.kube.apply_pull_secret(ns, &self.secret).await {
                Ok(s) => {
                    hashes.insert(ns.clone(), self.hash(&s));
                }
                Err(e) => {
                    let at = format!("{ns}/{}", self.secret.name);
                    return (hashes, Some(CopyError::Write(at, e)));
                }
            }
        }
        (hashes, None)
    }

    /// [`Self::write`], then the deletion of the copies in `gone`, which runs even after a
    /// failed write (a removed namespace must not keep credentials because another namespace
    /// failed).
    pub async fn sync<'n>(
        &self,
        namespaces: &BTreeSet<String>,
        keep: &BTreeMap<String, String>,
        gone: impl Iterator<Item = &'n String>,
    ) -> Synced {
        let (hashes, failed) = self.write(namespaces, keep).await;
        let complete = failed.is_none();
        let mut failures: Vec<CopyError> = failed.into_iter().collect();
        let mut not_deleted = BTreeSet::new();
        for e in self.delete(gone).await {
            if let CopyError::Delete(at, _) = &e {
                let ns = at.split_once('/').map_or(at.as_str(), |(ns, _)| ns);
                not_deleted.insert(ns.to_string());
            }
            failures.push(e);
        }
        Synced {
            hashes,
            failures,
            complete,
            not_deleted,
        }
    }

    /// Deletes the copies in `namespaces` (one already gone is fine); a failure does not stop
    /// the others.
    pub async fn delete<'n>(&self, namespaces: impl Iterator<Item = &'n String>) -> Vec<CopyError> {
        let name = self.secret.name;
        let mut failed = Vec::new();
        for ns in namespaces {
            if let Err(e) = self.kube.delete_secret(ns, name).await {
                failed.push(CopyError::Delete(format!("{ns}/{name}"), e));
            }
        }
        failed
    }

    /// The hash of `s` as a copy of this Secret.
    pub fn hash(&self, s: &KubeSecret) -> String {
        copy_hash(s, self.secret.labels, self.secret.annotations)
    }
}

/// The copies that can stay as they are, with their hashes: a copy found (`found`) as the last
/// write left it (`written`), when the content to write has not changed since. Every other
/// namespace of `namespaces` needs a write.
pub fn unchanged_copies(
    namespaces: &BTreeSet<String>,
    found: &BTreeMap<String, String>,
    written: &BTreeMap<String, String>,
    content_changed: bool,
) -> BTreeMap<String, String> {
    let in_sync = |ns: &&String| !content_changed && found.get(*ns) == written.get(*ns);
    let found = namespaces
        .iter()
        .filter_map(|ns| Some((ns, found.get(ns)?)));
    found
        .filter(|(ns, _)| in_sync(ns))
        .map(|(ns, h)| (ns.clone(), h.clone()))
        .collect()
}

/// Whether a Vault secret has a newer version than the one written (`mount/path` to version).
pub fn rotated(written: &BTreeMap<String, i64>, current: &BTreeMap<String, i64>) -> bool {
    written
        .iter()
        .any(|(id, v)| current.get(id).is_some_and(|c| c != v))
}

/// The keyed hash of a copy: its type, data, and the `labels`/`annotations` it should carry.
pub fn copy_hash(
    s: &KubeSecret,
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

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::kubernetes::DOCKERCONFIG;
    use base64::Engine;

    #[test]
    fn copies_stay_while_found_as_written() {
        let m = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let nss: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
        let found = m(&[("a", "h1"), ("b", "edited"), ("d", "h4")]);
        let written = m(&[("a", "h1"), ("b", "h2"), ("c", "h3")]);
        let keep = unchanged_copies(&nss, &found, &written, false);
        assert_eq!(keep, m(&[("a", "h1")]), "b edited, c gone, d never written");
        assert!(unchanged_copies(&nss, &found, &written, true).is_empty());
        let v = |n: i64| BTreeMap::from([("secret/ci".to_string(), n)]);
        assert!(rotated(&v(1), &v(2)));
        assert!(!rotated(&v(2), &v(2)));
        assert!(!rotated(&v(2), &BTreeMap::new()));
    }

    #[test]
    fn removed_namespaces_not_deleted_stay_listed() {
        let set = |v: &[&str]| -> BTreeSet<String> { v.iter().map(|s| s.to_string()).collect() };
        assert_eq!(
            namespaces_after(&set(&["a", "d"]), &set(&["c"])),
            set(&["a", "c", "d"])
        );
        assert_eq!(namespaces_after(&set(&["a"]), &set(&[])), set(&["a"]));
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let h = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(h),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn copy_hash_is_keyed_by_uid_and_sees_data() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mk = |uid: &str, data: &str| -> KubeSecret {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "x", "uid": uid},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {DOCKERCONFIG: b64.encode(data)},
            }))
            .unwrap()
        };
        let none = BTreeMap::new();
        let a = copy_hash(&mk("u1", "{}"), &none, &none);
        assert_eq!(a, copy_hash(&mk("u1", "{}"), &none, &none));
        assert_ne!(a, copy_hash(&mk("u2", "{}"), &none, &none));
        assert_ne!(a, copy_hash(&mk("u1", "{ }"), &none, &none));
        // A value the hand-rolled HMAC gave before the hmac crate: the same copies hash the same.
        let labels = BTreeMap::from([("team".to_string(), "a".to_string())]);
        assert_eq!(copy_hash(&mk("u1", "{}"), &labels, &none), GOLDEN);
    }

    const GOLDEN: &str =
        "hmac-sha256:048a53982f9b51d1a6f561efc13ab7730197729f938663084e2f2cb491c1e584";
}
