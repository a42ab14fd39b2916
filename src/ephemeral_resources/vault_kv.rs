//! `cicd_vault_kv` (ephemeral): the data of one Vault KV v2 secret, opened for one plan or
//! apply and never written to state or plan files. It feeds write-only attributes (`*_wo`) and
//! provider settings (e.g. the Woodpecker token of a `cicd` provider block).
//!
//! Endpoint: Vault `GET <mount>/data/<path>[?version=N]`. KV reads hold no lease, so there is
//! nothing to renew or close. Every value read is registered with the log scrubber.
//!
//! Decisions: `mount` defaults to the provider's one KV mount default
//! (`clients::vault::DEFAULT_MOUNT`), as every other Vault reference of the provider;
//! `version` unset reads the current version and reports which one it was.

use crate::clients::vault::DEFAULT_MOUNT;
use crate::provider::ProviderData;
use async_trait::async_trait;
use std::collections::BTreeMap;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::ephemeral::{EphemeralResource, Opened};
use tfplugin::resource::{Ctx, Private};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::value::Type;

tfplugin::state! {
    #[derive(Debug, Clone, Default)]
    pub struct State / StateAttrs {
        /// KV v2 mount (default `secret`).
        mount: Val<String> = string().optional().computed(),
        /// Path of the secret under the mount, e.g. `ci/registry`.
        path: Val<String> = string().required(),
        /// KV v2 version to read (default: the current one, which is then reported here).
        version: Val<i64> = number().optional().computed(),
        /// The secret's keys and values in that version.
        data: Val<BTreeMap<String, String>> = new(Type::map(Type::String)).computed().sensitive(),
    }
}

pub struct VaultKv {
    data: ProviderData,
}

impl VaultKv {
    pub fn new(data: ProviderData) -> Self {
        VaultKv { data }
    }
}

#[async_trait]
impl EphemeralResource for VaultKv {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_vault_kv"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            State::block(
                "The data of one Vault (or OpenBao) KV v2 secret as an ephemeral value: read during plan and \
                 apply, never stored in state or plan files. Use it for write-only attributes (`password_wo`, \
                 `value_wo`) and provider settings. Needs Terraform >= 1.10 or OpenTofu >= 1.11.",
            ),
        )
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        if let Val::Known(p) = &c.path {
            if p.trim_matches('/').is_empty() {
                diags.error_at(
                    AttrPath::root(State::ATTR.path),
                    "Empty Vault path",
                    "path must name a secret under the mount, e.g. \"ci/registry\".",
                );
            }
        }
        if let Val::Known(v) = c.version {
            if v < 1 {
                diags.error_at(
                    AttrPath::root(State::ATTR.version),
                    "Invalid KV version",
                    format!("version must be 1 or more (KV v2 versions start at 1), got {v}."),
                );
            }
        }
    }

    async fn open(&self, _cx: &Ctx, c: State, diags: &mut Diagnostics) -> Option<Opened<State>> {
        let vault = self.data.vault(diags)?;
        let mount = c
            .mount
            .known()
            .cloned()
            .unwrap_or_else(|| DEFAULT_MOUNT.into());
        // NOTE: Terraform opens an ephemeral resource only with a wholly known configuration;
        // say so plainly should a client ever send an unknown path or mount.
        let (Some(path), false) = (c.path.known(), c.mount.is_unknown()) else {
            diags.error_at(
                AttrPath::root(State::ATTR.path),
                "Vault secret not known yet",
                "mount and path must be known when the ephemeral resource is opened.",
            );
            return None;
        };
        let path = path.trim_matches('/').to_string();
        let read = match c.version.known() {
            Some(&n) => vault.read_kv_version(&mount, &path, n).await,
            None => vault.read_kv(&mount, &path).await,
        };
        let kv = match read {
            Ok(kv) => kv,
            Err(e) => {
                let at = match c.version {
                    Val::Known(_) => State::ATTR.version,
                    _ => State::ATTR.path,
                };
                let summary = format!("Could not read the Vault secret {mount}/{path}");
                return diags.push_err_at(AttrPath::root(at), summary, &e);
            }
        };
        let data = kv
            .entries()
            .map(|(k, v)| (k.to_string(), v.expose().to_string()))
            .collect();
        Some(Opened {
            result: State {
                mount: Val::Known(mount),
                path: c.path,
                version: Val::Known(kv.version),
                data: Val::Known(data),
            },
            renew_at: None,
            private: Private::default(),
        })
    }
}
