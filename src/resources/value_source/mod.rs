//! Where a secret value comes from: shared by `cicd_woodpecker_global_secret`, `_repo_secret`,
//! `_org_secret` (attributes `value*`) and `cicd_woodpecker_registry` (`password*`), and meant
//! for any resource that writes a value its API never returns. Exactly one source per resource:
//!
//! - `value` (sensitive): kept in state, because the user chose to; a change is written.
//! - `value_wo` + `value_wo_version` (write-only, Terraform/OpenTofu >= 1.11): never in plan or
//!   state; written on create and whenever `value_wo_version` changes.
//! - `value_from_vault { mount, path, key }`: one key of a Vault KV v2 secret. State keeps only
//!   `vault_version`, the KV version whose value was written; never the value, nor a hash of it.
//!
//! Vault rotation is decided per key, not per KV version: a refresh that sees a newer version
//! reads the version written too and compares just this key's two values in memory; only a
//! key whose value changed plans an update. Nothing derived from a value (no hash, no HMAC) is
//! stored. Why, and the details: [`vault`].

use crate::provider::ProviderData;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::Private;
use tfplugin::secret::{register_secret, Secret as Sensitive};
use tfplugin::typed::Val;

mod vault;
pub use vault::{check_vault, refresh, written};

pub use crate::clients::vault::DEFAULT_MOUNT;

/// The computed attribute with the KV version written.
pub const VERSION: &str = "vault_version";

/// The attribute names of one value source.
pub struct Names {
    pub value: &'static str,
    pub wo: &'static str,
    pub wo_version: &'static str,
    pub vault: &'static str,
    /// "value", "password": for messages.
    pub what: &'static str,
}

pub const VALUE: Names = Names {
    value: "value",
    wo: "value_wo",
    wo_version: "value_wo_version",
    vault: "value_from_vault",
    what: "value",
};

pub const PASSWORD: Names = Names {
    value: "password",
    wo: "password_wo",
    wo_version: "password_wo_version",
    vault: "password_from_vault",
    what: "password",
};

tfplugin::state! {
    /// `value_from_vault { mount, path, key }` (`password_from_vault` likewise).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct VaultRef / VaultRefAttrs {
        /// KV v2 mount (default `secret`).
        mount: Val<String> = string().optional(),
        /// Path of the secret under the mount, e.g. `ci/global`.
        path: Val<String> = string().required(),
        /// Key of the secret's data.
        key: Val<String> = string().required(),
    }
}

impl VaultRef {
    /// `(mount, path, key)` when all are known (`mount` defaults to `secret`).
    pub fn known(&self) -> Option<(String, String, String)> {
        let mount = self.mount.clone().or_default_known(DEFAULT_MOUNT.into())?;
        Some((
            mount.trim_matches('/').to_string(),
            self.path.known()?.trim_matches('/').to_string(),
            self.key.known()?.clone(),
        ))
    }
}

/// Which source is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    None,
    Plain,
    WriteOnly,
    Vault,
}

/// One resource's value source, as configured, planned or stored (`wo` is null except in
/// configuration; `version` is null except in plan and state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    pub value: Val<String>,
    pub wo: Val<String>,
    pub wo_version: Val<String>,
    pub vault: Val<VaultRef>,
    pub version: Val<i64>,
}

impl Source {
    pub fn kind(&self) -> Kind {
        if !self.value.is_null() {
            Kind::Plain
        } else if !self.wo.is_null() || !self.wo_version.is_null() {
            Kind::WriteOnly
        } else if !self.vault.is_null() {
            Kind::Vault
        } else {
            Kind::None
        }
    }

    /// Tell the log scrubber about the values this source holds.
    pub fn register(&self) {
        for v in [&self.value, &self.wo] {
            if let Val::Known(v) = v {
                register_secret(v);
            }
        }
    }
}

/// Descriptions of a source's attributes, for the States that declare them.
pub mod doc {
    use super::{Names, VERSION};

    pub fn value(n: &Names) -> String {
        format!(
            "The {}, kept in state (marked sensitive). Exactly one of `{}`, `{}` or a `{}` block.",
            n.what, n.value, n.wo, n.vault
        )
    }

    pub fn wo(n: &Names) -> String {
        format!(
            "The {} as a write-only attribute (Terraform/OpenTofu >= 1.11): never stored in plan or \
             state. Written on create and whenever `{}` changes.",
            n.what, n.wo_version
        )
    }

    pub fn wo_version(n: &Names) -> String {
        format!(
            "Required with `{}`: any number or string; change it to write `{}` again.",
            n.wo, n.wo
        )
    }

    pub fn version(n: &Names) -> String {
        let w = n.what;
        format!(
            "With `{}`: the KV v2 version whose {w} was written (never the {w}). A new version in \
             which this key's {w} changed plans an update; one that changed only other keys does not.",
            n.vault
        )
    }

    pub fn vault(n: &Names) -> String {
        format!(
            "Read the {w} from one key of a Vault (or OpenBao) KV v2 secret at apply time. State \
             keeps only `{VERSION}`; a refresh notices when the key's {w} changes in Vault and the \
             plan then shows an update.",
            w = n.what
        )
    }
}

/// Offline checks: exactly one source; the write-only pair together; no empty value.
pub fn validate(n: &Names, s: &Source, diags: &mut Diagnostics) {
    s.register();
    let set: Vec<&str> = [
        (n.value, !s.value.is_null()),
        (n.wo, !s.wo.is_null()),
        (n.vault, !s.vault.is_null()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let choose = format!(
        "Set exactly one of `{}`, `{}` (with `{}`) or a `{}` block.",
        n.value, n.wo, n.wo_version, n.vault
    );
    match set.as_slice() {
        [] if s.wo_version.is_null() => diags.error_at(
            AttrPath::root(n.value),
            format!("No {} source", n.what),
            choose,
        ),
        [] | [_] => {}
        // The first is always an attribute (the Vault block comes last): Terraform points at
        // an attribute's line, not at a block's.
        [first, second, ..] => diags.error_at(
            AttrPath::root(*first),
            format!("Conflicting {} sources", n.what),
            format!("`{first}` and `{second}` are both set. {choose}"),
        ),
    }
    if !s.wo.is_null() && s.wo_version.is_null() {
        diags.error_at(
            AttrPath::root(n.wo_version),
            format!("`{}` needs `{}`", n.wo, n.wo_version),
            format!(
                "A write-only {} is never stored, so the provider cannot tell when it changes: set `{}` \
                 (any number or string) and change it whenever `{}` should be written again.",
                n.what, n.wo_version, n.wo
            ),
        );
    }
    if s.wo.is_null() && !s.wo_version.is_null() {
        diags.error_at(
            AttrPath::root(n.wo_version),
            format!("`{}` without `{}`", n.wo_version, n.wo),
            format!("`{}` only goes with `{}`.", n.wo_version, n.wo),
        );
    }
    for (name, v) in [(n.value, &s.value), (n.wo, &s.wo)] {
        if v.known().is_some_and(|v| v.is_empty()) {
            diags.error_at(
                AttrPath::root(name),
                format!("Empty {}", n.what),
                format!("Woodpecker refuses an empty {}.", n.what),
            );
        }
    }
    if let Val::Known(v) = &s.vault {
        for (field, val) in [("mount", &v.mount), ("path", &v.path), ("key", &v.key)] {
            if val.known().is_some_and(|x| x.trim_matches('/').is_empty()) {
                diags.error_at(
                    AttrPath::root(n.vault).attr(field),
                    format!("Empty {field} in `{}`", n.vault),
                    format!("`{}.{field}` must not be empty.", n.vault),
                );
            }
        }
    }
}
/// The plan of `vault_version` for `planned` (the planned source; `wo` is null there), and
/// whether the value will be written.
pub fn plan(prior: Option<&Source>, planned: &Source, private: &Private) -> (bool, Val<i64>) {
    let vault = planned.kind() == Kind::Vault;
    let write = match prior {
        None => true,
        Some(p) => {
            p.kind() != planned.kind()
                || p.value != planned.value
                || p.wo_version != planned.wo_version
                || p.vault != planned.vault
                || (vault && vault::rotated(private))
        }
    };
    let version = match (vault, write, prior) {
        (false, _, _) => Val::Null,
        (true, true, _) | (true, false, None) => Val::Unknown,
        (true, false, Some(p)) => p.version.clone(),
    };
    (write, version)
}

/// At apply: whether the plan writes the value (see [`plan`]; a rotation shows as an unknown
/// version).
pub fn needs_write(prior: Option<&Source>, planned: &Source) -> bool {
    match prior {
        None => true,
        Some(p) => {
            p.kind() != planned.kind()
                || p.value != planned.value
                || p.wo_version != planned.wo_version
                || p.vault != planned.vault
                || (planned.kind() == Kind::Vault && planned.version.is_unknown())
        }
    }
}
/// At apply: the value to write and the KV version it came from (Vault: the current version).
pub async fn resolve(
    data: &ProviderData,
    n: &Names,
    planned: &Source,
    config: &Source,
    diags: &mut Diagnostics,
) -> Option<(Sensitive, Val<i64>)> {
    let kind = config.kind();
    match (kind, &planned.value, &config.wo, &planned.vault) {
        (Kind::Plain, Val::Known(v), _, _) => Some((Sensitive::new(v.clone()), Val::Null)),
        (Kind::WriteOnly, _, Val::Known(v), _) => Some((Sensitive::new(v.clone()), Val::Null)),
        (Kind::Vault, _, _, Val::Known(v)) => {
            let (mount, path, key) = v.known()?;
            let vault = data.vault(diags)?;
            vault::read_key(&vault, n, &mount, &path, &key, diags).await
        }
        _ => {
            diags.error_at(
                AttrPath::root(n.value),
                format!("No {} to write", n.what),
                format!(
                    "The configuration gives no known {} (`{}`, `{}` or `{}`).",
                    n.what, n.value, n.wo, n.vault
                ),
            );
            None
        }
    }
}
#[cfg(test)]
mod tests;
