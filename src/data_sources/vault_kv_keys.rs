//! `cicd_vault_kv_keys`: the key names of one Vault KV v2 secret, never its values, so that one
//! `for_each` declares a resource per key (e.g. a Woodpecker global secret per key of
//! `secret/ci/global`, each with `value_from_vault`). A key added in Vault shows in the next plan.
//!
//! Endpoint: Vault `GET <mount>/data/<path>` (shared with every `*_from_vault` read of the same
//! path in the run). The values it reads are registered with the log scrubber and dropped.

use crate::provider::ProviderData;
use async_trait::async_trait;
use std::collections::BTreeSet;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{Ctx, DataSource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::value::Type;

tfplugin::state! {
    #[derive(Debug, Clone, Default)]
    pub struct State / StateAttrs {
        /// KV v2 mount (default `secret`).
        mount: Val<String> = string().optional(),
        /// Path of the secret under the mount, e.g. `ci/global`.
        path: Val<String> = string().required(),
        /// `mount/path`.
        id: Val<String> = string().computed(),
        /// The secret's key names in its current version.
        keys: Val<BTreeSet<String>> = new(Type::set(Type::String)).computed(),
        /// The current KV v2 version of the secret.
        version: Val<i64> = number().computed(),
    }
}

pub struct VaultKvKeys {
    data: ProviderData,
}

impl VaultKvKeys {
    pub fn new(data: ProviderData) -> Self {
        VaultKvKeys { data }
    }
}

#[async_trait]
impl DataSource for VaultKvKeys {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_vault_kv_keys"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            State::block(
                "The key names of one Vault (or OpenBao) KV v2 secret, never its values: declare one resource per \
                 key with `for_each = data.cicd_vault_kv_keys.x.keys` and let each read its value with `value_from_vault`.",
            ),
        )
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        if let Val::Known(p) = &c.path {
            if p.trim_matches('/').is_empty() {
                diags.error_at(
                    AttrPath::root(State::ATTR.path),
                    "Empty Vault path",
                    "path must name a secret under the mount, e.g. \"ci/global\".",
                );
            }
        }
    }

    async fn read(&self, _cx: &Ctx, c: State, diags: &mut Diagnostics) -> Option<State> {
        let vault = self.data.vault(diags)?;
        let mount = c
            .mount
            .known()
            .cloned()
            .unwrap_or_else(|| crate::clients::vault::DEFAULT_MOUNT.into());
        let path = c.path.known()?.trim_matches('/').to_string();
        let kv = match vault.read_kv(&mount, &path).await {
            Ok(kv) => kv,
            Err(e) => {
                let summary = format!("Could not read the Vault secret {mount}/{path}");
                return diags.push_err_at(AttrPath::root(State::ATTR.path), summary, &e);
            }
        };
        Some(State {
            id: Val::Known(format!("{mount}/{path}")),
            keys: Val::Known(kv.keys().map(str::to_string).collect()),
            version: Val::Known(kv.version),
            mount: Val::Known(mount),
            path: c.path,
        })
    }
}
