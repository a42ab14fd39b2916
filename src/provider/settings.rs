//! Provider configuration -> one config per client. Each block of the provider schema is read by
//! one small function that applies the environment fallbacks users already have for that
//! system's own CLI (configuration wins) and yields the client's own config type.

use crate::clients::forgejo::ForgejoConfig;
use crate::clients::kubernetes::KubeConfig;
use crate::clients::vault::{VaultAuth, VaultConfig};
use crate::clients::woodpecker::WoodpeckerConfig;
use serde::{Deserialize, Serialize};
use tfplugin::diagnostics::AttrPath;
use tfplugin::secret::Secret;
use tfplugin::typed::Val;

pub const DEFAULT_SA_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

#[derive(Serialize, Deserialize, Default, Debug, Clone)]
pub struct WoodpeckerBlock {
    #[serde(default)]
    pub server: Val<String>,
    #[serde(default)]
    pub token: Val<String>,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone)]
pub struct ForgejoBlock {
    #[serde(default)]
    pub url: Val<String>,
    #[serde(default)]
    pub token: Val<String>,
    #[serde(default)]
    pub username: Val<String>,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone)]
pub struct KubernetesBlock {
    #[serde(default)]
    pub config_path: Val<String>,
    #[serde(default)]
    pub config_context: Val<String>,
    #[serde(default)]
    pub host: Val<String>,
    #[serde(default)]
    pub token: Val<String>,
    #[serde(default)]
    pub cluster_ca_certificate: Val<String>,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone)]
pub struct KubernetesAuthBlock {
    #[serde(default)]
    pub role: Val<String>,
    #[serde(default)]
    pub mount: Val<String>,
    #[serde(default)]
    pub jwt_path: Val<String>,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone)]
pub struct VaultBlock {
    #[serde(default)]
    pub address: Val<String>,
    #[serde(default)]
    pub token: Val<String>,
    #[serde(default)]
    pub kubernetes_auth: Val<KubernetesAuthBlock>,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone)]
pub struct Config {
    #[serde(default)]
    pub woodpecker: Val<WoodpeckerBlock>,
    #[serde(default)]
    pub forgejo: Val<ForgejoBlock>,
    #[serde(default)]
    pub kubernetes: Val<KubernetesBlock>,
    #[serde(default)]
    pub vault: Val<VaultBlock>,
}

/// Resolved settings for one system, or why there are none.
#[derive(Clone, Debug)]
pub enum Configured<T> {
    Ready(T),
    /// Nothing was set in the block nor in the environment.
    Missing,
    /// Some value depends on something not known until apply (paths of the unknown attributes).
    Unknown(Vec<String>),
    /// The settings are incomplete or wrong. Reported only when a resource needs this system,
    /// so that a block (or an exported variable) no resource uses never fails the run.
    Invalid {
        path: AttrPath,
        summary: String,
        detail: String,
    },
}

fn invalid<T>(
    path: AttrPath,
    summary: impl Into<String>,
    detail: impl Into<String>,
) -> Configured<T> {
    Configured::Invalid {
        path,
        summary: summary.into(),
        detail: detail.into(),
    }
}

/// What Configure resolved: one entry per system.
#[derive(Clone, Debug)]
pub struct Settings {
    pub woodpecker: Configured<WoodpeckerConfig>,
    pub forgejo: Configured<ForgejoConfig>,
    pub kubernetes: Configured<KubeConfig>,
    pub vault: Configured<VaultConfig>,
    pub terraform_version: String,
}

/// Where environment fallbacks come from (the process environment, or a table in tests).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// Resolve one string setting: configuration first, then the environment.
fn pick(
    v: &Val<String>,
    path: &str,
    env_key: Option<&str>,
    env: EnvLookup,
    unknown: &mut Vec<String>,
) -> Option<String> {
    match v {
        Val::Known(s) if !s.is_empty() => Some(s.clone()),
        Val::Unknown => {
            unknown.push(path.to_string());
            None
        }
        _ => env_key.and_then(env),
    }
}

fn finish<T>(unknown: Vec<String>, value: Option<T>) -> Configured<T> {
    if !unknown.is_empty() {
        Configured::Unknown(unknown)
    } else {
        value.map(Configured::Ready).unwrap_or(Configured::Missing)
    }
}

fn block_of<T: Default + Clone>(v: &Val<T>, name: &str, unknown: &mut Vec<String>) -> T {
    match v {
        Val::Known(b) => b.clone(),
        Val::Unknown => {
            unknown.push(name.to_string());
            T::default()
        }
        Val::Null => T::default(),
    }
}

/// Never fails: a system whose settings are missing, unknown or invalid is reported only when a
/// resource needs it (see [`super::clients::require`]).
pub fn resolve(cfg: &Config, tf_version: &str) -> Settings {
    resolve_with(cfg, tf_version, &process_env)
}

pub fn resolve_with(cfg: &Config, tf_version: &str, env: EnvLookup) -> Settings {
    Settings {
        woodpecker: woodpecker(&cfg.woodpecker, env),
        forgejo: forgejo(&cfg.forgejo, env),
        kubernetes: kubernetes(&cfg.kubernetes, env),
        vault: vault(&cfg.vault, env),
        terraform_version: tf_version.to_string(),
    }
}

/// `woodpecker { server, token }` -> [`WoodpeckerConfig`].
fn woodpecker(block: &Val<WoodpeckerBlock>, env: EnvLookup) -> Configured<WoodpeckerConfig> {
    let mut u = Vec::new();
    let wb = block_of(block, "woodpecker", &mut u);
    let server = pick(
        &wb.server,
        "woodpecker.server",
        Some("WOODPECKER_SERVER"),
        env,
        &mut u,
    );
    let token = pick(
        &wb.token,
        "woodpecker.token",
        Some("WOODPECKER_TOKEN"),
        env,
        &mut u,
    );
    match (server, token) {
        (Some(server), Some(token)) => finish(
            u,
            Some(WoodpeckerConfig {
                server: server.trim_end_matches('/').to_string(),
                token: Secret::new(token),
            }),
        ),
        (None, None) => finish(u, None),
        (s, _) => {
            let missing = if s.is_none() {
                ("server", "WOODPECKER_SERVER")
            } else {
                ("token", "WOODPECKER_TOKEN")
            };
            if !u.is_empty() {
                return finish(u, None);
            }
            invalid(
                AttrPath::root("woodpecker").attr(missing.0),
                format!("woodpecker.{} is not set", missing.0),
                format!("Set woodpecker.{} in the provider configuration or the {} environment variable.", missing.0, missing.1),
            )
        }
    }
}

/// `forgejo { url, token, username }` -> [`ForgejoConfig`].
fn forgejo(block: &Val<ForgejoBlock>, env: EnvLookup) -> Configured<ForgejoConfig> {
    let mut u = Vec::new();
    let fb = block_of(block, "forgejo", &mut u);
    let url = pick(&fb.url, "forgejo.url", Some("FORGEJO_URL"), env, &mut u);
    let token = pick(
        &fb.token,
        "forgejo.token",
        Some("FORGEJO_TOKEN"),
        env,
        &mut u,
    );
    let username = pick(
        &fb.username,
        "forgejo.username",
        Some("FORGEJO_USER"),
        env,
        &mut u,
    );
    match (url, token) {
        (Some(url), Some(token)) => finish(
            u,
            Some(ForgejoConfig {
                url: url.trim_end_matches('/').to_string(),
                token: Secret::new(token),
                username,
            }),
        ),
        (None, None) => finish(u, None),
        (s, _) => {
            let missing = if s.is_none() {
                ("url", "FORGEJO_URL")
            } else {
                ("token", "FORGEJO_TOKEN")
            };
            if !u.is_empty() {
                return finish(u, None);
            }
            invalid(
                AttrPath::root("forgejo").attr(missing.0),
                format!("forgejo.{} is not set", missing.0),
                format!(
                    "Set forgejo.{} in the provider configuration or the {} environment variable.",
                    missing.0, missing.1
                ),
            )
        }
    }
}

/// `kubernetes { ... }` -> [`KubeConfig`]: explicit host, else a kubeconfig, else in-cluster.
fn kubernetes(block: &Val<KubernetesBlock>, env: EnvLookup) -> Configured<KubeConfig> {
    let mut u = Vec::new();
    let kb = block_of(block, "kubernetes", &mut u);
    let host = pick(&kb.host, "kubernetes.host", None, env, &mut u);
    let ktoken = pick(&kb.token, "kubernetes.token", None, env, &mut u);
    let ca = pick(
        &kb.cluster_ca_certificate,
        "kubernetes.cluster_ca_certificate",
        None,
        env,
        &mut u,
    );
    let path = pick(
        &kb.config_path,
        "kubernetes.config_path",
        Some("KUBECONFIG"),
        env,
        &mut u,
    );
    let context = pick(
        &kb.config_context,
        "kubernetes.config_context",
        None,
        env,
        &mut u,
    );
    if let Some(host) = host {
        finish(
            u,
            Some(KubeConfig::Explicit {
                host,
                token: ktoken.map(Secret::new),
                ca_pem: ca,
            }),
        )
    } else if path.is_some() || context.is_some() {
        finish(u, Some(KubeConfig::Kubeconfig { path, context }))
    } else if env("KUBERNETES_SERVICE_HOST").is_some() {
        finish(u, Some(KubeConfig::InCluster))
    } else {
        finish(u, None)
    }
}

/// The token `vault login` stores, as the Vault CLI's default token helper reads it:
/// `$HOME/.vault-token`, surrounding whitespace trimmed; none when missing or empty.
fn token_helper_file(env: EnvLookup) -> Option<String> {
    let home = env("HOME")?;
    let text = std::fs::read_to_string(std::path::Path::new(&home).join(".vault-token")).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// The CA certificates of `VAULT_CACERT` (a PEM file), as the Vault CLI trusts them.
fn vault_ca(env: EnvLookup) -> Result<Option<Vec<u8>>, String> {
    let Some(path) = env("VAULT_CACERT") else {
        return Ok(None);
    };
    let pem = std::fs::read(&path).map_err(|e| format!("VAULT_CACERT={path}: {e}"))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(Some(pem)),
        Ok(_) => Err(format!(
            "VAULT_CACERT={path}: no PEM certificate in the file"
        )),
        Err(e) => Err(format!("VAULT_CACERT={path}: {e}")),
    }
}

/// `vault { address, token, kubernetes_auth { ... } }` -> [`VaultConfig`].
fn vault(block: &Val<VaultBlock>, env: EnvLookup) -> Configured<VaultConfig> {
    let mut u = Vec::new();
    let vb = block_of(block, "vault", &mut u);
    let address = pick(
        &vb.address,
        "vault.address",
        Some("VAULT_ADDR"),
        env,
        &mut u,
    );
    let kauth = match &vb.kubernetes_auth {
        Val::Known(k) => Some(k.clone()),
        Val::Unknown => {
            u.push("vault.kubernetes_auth".into());
            None
        }
        Val::Null => None,
    };
    let auth = if let Some(k) = kauth {
        let role = pick(&k.role, "vault.kubernetes_auth.role", None, env, &mut u);
        let mount = pick(&k.mount, "vault.kubernetes_auth.mount", None, env, &mut u)
            .unwrap_or_else(|| "kubernetes".into());
        let jwt_path = pick(
            &k.jwt_path,
            "vault.kubernetes_auth.jwt_path",
            None,
            env,
            &mut u,
        )
        .unwrap_or_else(|| DEFAULT_SA_TOKEN_PATH.into());
        match role {
            Some(role) => Some(VaultAuth::Kubernetes {
                role,
                mount,
                jwt_path,
            }),
            None => {
                if u.is_empty() {
                    return invalid(
                        AttrPath::root("vault").attr("kubernetes_auth").attr("role"),
                        "vault.kubernetes_auth.role is required",
                        "Kubernetes login needs the Vault role to log in as.",
                    );
                }
                None
            }
        }
    } else {
        pick(&vb.token, "vault.token", Some("VAULT_TOKEN"), env, &mut u)
            .or_else(|| token_helper_file(env))
            .map(|t| VaultAuth::Token(Secret::new(t)))
    };
    match (address, auth) {
        (Some(address), Some(auth)) => {
            let ca_pem = match vault_ca(env) {
                Ok(pem) => pem,
                Err(e) => return invalid(AttrPath::root("vault"), "Unusable VAULT_CACERT", e),
            };
            finish(
                u,
                Some(VaultConfig {
                    address: address.trim_end_matches('/').to_string(),
                    auth,
                    ca_pem,
                    namespace: env("VAULT_NAMESPACE")
                        .map(|n| n.trim().trim_matches('/').to_string()),
                }),
            )
        }
        (Some(_), None) => {
            if !u.is_empty() {
                return finish(u, None);
            }
            invalid(
                AttrPath::root("vault").attr("token"),
                "No Vault credentials",
                "The Vault address is set (vault.address or VAULT_ADDR) but there is no token: set vault.token, \
                 VAULT_TOKEN, log in with `vault login` (which stores ~/.vault-token) or add a \
                 vault.kubernetes_auth block.",
            )
        }
        (None, _) => finish(u, None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::clients::require;
    use super::*;
    use std::collections::HashMap;
    use tfplugin::diagnostics::Diagnostics;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn invalid_path<T>(c: &Configured<T>) -> Option<String> {
        match c {
            Configured::Invalid { path, .. } => Some(path.to_string()),
            _ => None,
        }
    }

    #[test]
    fn environment_fallbacks_and_missing_blocks() {
        let env = env_of(&[
            ("FORGEJO_URL", "http://forge/"),
            ("FORGEJO_TOKEN", "tok-forge-1"),
            ("VAULT_ADDR", "http://v"),
            ("HOME", "/nonexistent-home-for-test"),
        ]);
        let s = resolve_with(&Config::default(), "1.11.4", &env);
        assert!(
            matches!(&s.forgejo, Configured::Ready(f) if f.url == "http://forge" && f.token.expose() == "tok-forge-1")
        );
        assert!(matches!(s.woodpecker, Configured::Missing));
        assert!(matches!(s.kubernetes, Configured::Missing));
        // VAULT_ADDR without a token (the old code failed every operation at configure time):
        // recorded, and reported only to a resource that needs Vault.
        assert_eq!(invalid_path(&s.vault).as_deref(), Some("vault.token"));
        let mut d = Diagnostics::new();
        assert!(require(&s.vault, "vault", "VAULT_ADDR / VAULT_TOKEN", &mut d).is_none());
        assert!(d.0[0].summary.contains("No Vault credentials"), "{:?}", d.0);
        assert!(d.0[0].detail.contains("vault.token"), "{:?}", d.0);
        assert!(d.0[0].detail.contains(".vault-token"), "{:?}", d.0);

        let mut d = Diagnostics::new();
        assert!(require(
            &s.woodpecker,
            "woodpecker",
            "WOODPECKER_SERVER / WOODPECKER_TOKEN",
            &mut d
        )
        .is_none());
        assert!(
            d.0[0]
                .summary
                .contains("woodpecker block is not configured"),
            "{:?}",
            d.0
        );
        assert!(d.0[0].detail.contains("WOODPECKER_SERVER"));
    }

    #[test]
    fn the_token_from_vault_login_is_read_from_home() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".vault-token"), "hvs.from-login-file\n").unwrap();
        let h = home.path().display().to_string();
        let s = resolve_with(
            &Config::default(),
            "1.11.4",
            &env_of(&[("VAULT_ADDR", "http://v"), ("HOME", &h)]),
        );
        assert!(
            matches!(&s.vault, Configured::Ready(VaultConfig { auth: VaultAuth::Token(t), .. }) if t.expose() == "hvs.from-login-file"),
            "{:?}",
            s.vault
        );
        // VAULT_TOKEN wins over the file, as in the Vault CLI.
        let s = resolve_with(
            &Config::default(),
            "1.11.4",
            &env_of(&[
                ("VAULT_ADDR", "http://v"),
                ("HOME", &h),
                ("VAULT_TOKEN", "hvs.env"),
            ]),
        );
        assert!(
            matches!(&s.vault, Configured::Ready(VaultConfig { auth: VaultAuth::Token(t), .. }) if t.expose() == "hvs.env")
        );
        // An empty file is no token.
        std::fs::write(home.path().join(".vault-token"), "  \n").unwrap();
        let s = resolve_with(
            &Config::default(),
            "1.11.4",
            &env_of(&[("VAULT_ADDR", "http://v"), ("HOME", &h)]),
        );
        assert_eq!(invalid_path(&s.vault).as_deref(), Some("vault.token"));
    }

    #[test]
    fn configuration_wins_and_partial_blocks_name_the_missing_attribute() {
        let cfg = Config {
            woodpecker: Val::Known(WoodpeckerBlock {
                server: Val::Known("https://ci".into()),
                token: Val::Null,
            }),
            kubernetes: Val::Known(KubernetesBlock {
                config_path: Val::Known("/k/config".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = resolve_with(&cfg, "1.0.3", &env_of(&[("KUBECONFIG", "/other")]));
        assert_eq!(
            invalid_path(&s.woodpecker).as_deref(),
            Some("woodpecker.token")
        );
        let mut d = Diagnostics::new();
        assert!(require(&s.woodpecker, "woodpecker", "", &mut d).is_none());
        assert!(d.0[0].detail.contains("woodpecker.token"), "{:?}", d.0);
        assert!(
            matches!(&s.kubernetes, Configured::Ready(KubeConfig::Kubeconfig { path: Some(p), .. }) if p == "/k/config")
        );
    }

    #[test]
    fn unknown_settings_are_reported_when_used() {
        let cfg = Config {
            forgejo: Val::Known(ForgejoBlock {
                url: Val::Known("https://forge".into()),
                token: Val::Unknown,
                username: Val::Null,
            }),
            vault: Val::Unknown,
            ..Default::default()
        };
        let s = resolve_with(&cfg, "1.11.4", &env_of(&[]));
        let mut d = Diagnostics::new();
        assert!(require(&s.forgejo, "forgejo", "FORGEJO_URL / FORGEJO_TOKEN", &mut d).is_none());
        assert!(d.0[0].detail.contains("forgejo.token"), "{:?}", d.0);
        assert!(d.0[0].detail.contains("only known after apply"));
        let mut d = Diagnostics::new();
        assert!(require(&s.vault, "vault", "VAULT_ADDR / VAULT_TOKEN", &mut d).is_none());
        assert!(d.0[0].detail.contains("vault"));
    }

    #[test]
    fn vault_cacert_and_namespace_as_the_vault_cli_reads_them() {
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let der = tfplugin::handshake::ServerIdentity::generate()
            .unwrap()
            .cert_der;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &pem).unwrap();
        let ca = ca.display().to_string();
        let base = [("VAULT_ADDR", "https://v"), ("VAULT_TOKEN", "t")];
        let with = |extra: &[(&str, &str)]| {
            let pairs: Vec<_> = base.iter().chain(extra).copied().collect();
            resolve_with(&Config::default(), "1.11.4", &env_of(&pairs))
        };
        match with(&[("VAULT_CACERT", &ca), ("VAULT_NAMESPACE", "team-a/")]).vault {
            Configured::Ready(v) => {
                assert_eq!(v.ca_pem.as_deref(), Some(pem.as_bytes()));
                assert_eq!(v.namespace.as_deref(), Some("team-a"));
                // The client trusts it (an unusable PEM would be refused by reqwest).
                assert!(
                    crate::clients::http::Http::with_ca_pem("vault", &v.ca_pem.unwrap()).is_ok()
                );
            }
            other => panic!("{other:?}"),
        }
        // Unreadable or not PEM: reported (to the resources that use Vault) naming the variable.
        let missing = dir.path().join("missing.pem").display().to_string();
        std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
        let junk = dir.path().join("junk.pem").display().to_string();
        for bad in [missing, junk] {
            match with(&[("VAULT_CACERT", &bad)]).vault {
                Configured::Invalid { detail, .. } => {
                    assert!(detail.contains("VAULT_CACERT"), "{detail}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        // Neither set: none.
        assert!(matches!(
            with(&[]).vault,
            Configured::Ready(VaultConfig {
                ca_pem: None,
                namespace: None,
                ..
            })
        ));
    }

    #[test]
    fn vault_kubernetes_auth_defaults() {
        let cfg = Config {
            vault: Val::Known(VaultBlock {
                address: Val::Known("http://v".into()),
                token: Val::Null,
                kubernetes_auth: Val::Known(KubernetesAuthBlock {
                    role: Val::Known("ci".into()),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        let s = resolve_with(&cfg, "1.11.4", &env_of(&[("VAULT_TOKEN", "ignored-token")]));
        match s.vault {
            Configured::Ready(VaultConfig {
                auth:
                    VaultAuth::Kubernetes {
                        role,
                        mount,
                        jwt_path,
                    },
                ..
            }) => {
                assert_eq!((role.as_str(), mount.as_str()), ("ci", "kubernetes"));
                assert_eq!(jwt_path, DEFAULT_SA_TOKEN_PATH);
            }
            other => panic!("{other:?}"),
        }
    }
}
