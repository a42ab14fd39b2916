//! Vault as a value source: the plan-time check, the read at apply, and rotation per key.
//!
//! One KV secret holds many keys (`secret/ci/global`: 55, one resource each through
//! `cicd_vault_kv_keys` + `for_each`), and any write to it makes a new version of ALL its keys,
//! so "the version changed" does not mean "this key changed". A refresh therefore compares the
//! key itself: when Vault's current version is newer than the baseline (private `vault_same_at`:
//! the newest version known to hold the value written, at first the version written), it reads
//! the baseline version too and compares this key's two values in memory. Equal: the current
//! version becomes the baseline, nothing to do. Different, or the baseline unreadable (deleted,
//! destroyed, beyond `max_versions`): private `vault_rotated`. Both reads are shared by every
//! resource naming the path (the Vault client keeps each `path@version` for 30 s), so a
//! rotation costs two Vault requests per path and run, whatever the number of keys.
//!
//! Chosen over an HMAC of the written value in private state: nothing derived from the value is
//! stored anywhere (an HMAC whose key sits in the same state file is a salted hash, open to
//! offline guessing of weak values), and the baseline moves forward at every refresh, so the
//! version compared with stays recent.
//!
//! The plan decides from the refreshed state and private data only, never from a Vault read of
//! its own (Terraform plans again during apply and rejects a second plan that differs; Vault may
//! have moved on in between): rotated -> `vault_version` "known after apply" -> an update, whose
//! apply reads the then-current version, writes it and records it. The plan does read Vault to
//! check that the path and key exist (an error, naming the keys that do, before anything is
//! written). A refresh never fails because of Vault: a key removed from Vault must not block
//! destroying the resource that held it; the plan reports it if the resource is still there.

use super::{Names, Source};
use crate::clients::vault::VaultClient;
use crate::provider::ProviderData;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::Private;
use tfplugin::secret::Secret as Sensitive;
use tfplugin::typed::Val;

/// Private data: the newest KV version known to hold the value written.
pub(super) const SAME_AT: &str = "vault_same_at";
/// Private data: the key's value in Vault differs from the one written.
pub(super) const ROTATED: &str = "vault_rotated";

pub(super) fn rotated(private: &Private) -> bool {
    private.get(ROTATED).unwrap_or(false)
}

/// Plan time: the Vault path must be readable and hold the key (and a non-empty value). Errors
/// carry the block's path and name the keys that exist.
pub async fn check_vault(data: &ProviderData, n: &Names, s: &Source, diags: &mut Diagnostics) {
    let Val::Known(v) = &s.vault else { return };
    let Some((mount, path, key)) = v.known() else {
        return;
    };
    let Some(vault) = data.vault(diags) else {
        return;
    };
    // NOTE: Terraform points at an attribute's line, not at a block's: name `key` or `path`.
    let (at_key, at_path) = (
        AttrPath::root(n.vault).attr("key"),
        AttrPath::root(n.vault).attr("path"),
    );
    match vault.read_kv(&mount, &path).await {
        Ok(kv) => match kv.get(&key) {
            Ok(val) if val.is_empty() => diags.error_at(
                at_key,
                format!("Empty {} in Vault", n.what),
                format!(
                    "The key {key:?} of the Vault secret {mount}/{path} is empty; Woodpecker refuses an empty {}.",
                    n.what
                ),
            ),
            Ok(_) => {}
            Err(e) => diags.error_at(
                at_key,
                format!("Key {key:?} not found in Vault secret {mount}/{path}"),
                format!("{e}. Nothing was changed."),
            ),
        },
        Err(e) => diags.error_at(
            at_path,
            format!("Could not read Vault secret {mount}/{path}"),
            format!("{e}. Nothing was changed."),
        ),
    }
}

pub(super) async fn read_key(
    vault: &VaultClient,
    n: &Names,
    mount: &str,
    path: &str,
    key: &str,
    diags: &mut Diagnostics,
) -> Option<(Sensitive, Val<i64>)> {
    let at = AttrPath::root(n.vault).attr("key");
    match vault.read_kv(mount, path).await {
        Ok(kv) => match kv.get(key) {
            Ok(v) => Some((v.clone(), Val::Known(kv.version))),
            Err(e) => {
                diags.error_at(
                    at,
                    format!("Key {key:?} not found in Vault secret {mount}/{path}"),
                    e.to_string(),
                );
                None
            }
        },
        Err(e) => {
            diags.error_at(
                at,
                format!("Could not read Vault secret {mount}/{path}"),
                e.to_string(),
            );
            None
        }
    }
}

/// After a write: the version written is the new baseline.
pub fn written(private: &mut Private, version: &Val<i64>) {
    match version {
        Val::Known(v) => {
            private.set(SAME_AT, v);
            private.set(ROTATED, &false);
        }
        _ => forget(private),
    }
}

fn forget(private: &mut Private) {
    private.0.remove(SAME_AT);
    private.0.remove(ROTATED);
}

/// Refresh: does the key's value in Vault's current version still equal the one written?
/// The answer goes to private data (see the module documentation); never fails.
pub async fn refresh(data: &ProviderData, s: &Source, private: &mut Private) {
    let (Val::Known(v), Val::Known(written)) = (&s.vault, &s.version) else {
        forget(private);
        return;
    };
    let Some((mount, path, key)) = v.known() else {
        return;
    };
    let mut quiet = Diagnostics::new();
    let Some(vault) = data.vault(&mut quiet) else {
        return;
    };
    let base: i64 = private.get(SAME_AT).unwrap_or(*written);
    let current = match vault.read_kv(&mount, &path).await {
        Ok(kv) => kv,
        Err(e) => {
            // The plan's own check reports it, if the resource is still configured.
            tracing::debug!(mount = %mount, path = %path, error = %e, "vault read at refresh failed");
            return;
        }
    };
    if current.version == base {
        private.set(SAME_AT, &base);
        private.set(ROTATED, &false);
        return;
    }
    let same = match vault.read_kv_version(&mount, &path, base).await {
        Ok(old) => match (old.get(&key), current.get(&key)) {
            (Ok(a), Ok(b)) => a.expose() == b.expose(),
            _ => false,
        },
        Err(e) => {
            tracing::debug!(mount = %mount, path = %path, version = base, error = %e, "baseline version unreadable: rewrite");
            false
        }
    };
    if same {
        private.set(SAME_AT, &current.version);
        private.set(ROTATED, &false);
    } else {
        private.set(SAME_AT, &base);
        private.set(ROTATED, &true);
    }
}
