//! The `cicd` provider: configuration schema, environment fallbacks, Configure.
//!
//! Each system has its own optional block. A value in configuration wins over the environment
//! variable users already have set for that system's own CLI. A block that ends up with nothing
//! set leaves that system unconfigured; resources that need it then fail at plan time with a
//! message naming the block, and resources that do not need it work as usual.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{Ctx, DynDataSource, DynResource, Provider};
use tfplugin::schema::{Attribute, Block, NestedBlock, NestingMode, Schema};
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
}

#[derive(Clone, Debug)]
pub struct WoodpeckerSettings {
    pub server: String,
    pub token: Secret,
}

#[derive(Clone, Debug)]
pub struct ForgejoSettings {
    pub url: String,
    pub token: Secret,
    pub username: Option<String>,
}

#[derive(Clone, Debug)]
pub enum KubernetesSettings {
    Kubeconfig {
        path: Option<String>,
        context: Option<String>,
    },
    Explicit {
        host: String,
        token: Option<Secret>,
        ca_pem: Option<String>,
    },
    InCluster,
}

#[derive(Clone, Debug)]
pub enum VaultAuth {
    Token(Secret),
    Kubernetes {
        role: String,
        mount: String,
        jwt_path: String,
    },
}

#[derive(Clone, Debug)]
pub struct VaultSettings {
    pub address: String,
    pub auth: VaultAuth,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub woodpecker: Configured<WoodpeckerSettings>,
    pub forgejo: Configured<ForgejoSettings>,
    pub kubernetes: Configured<KubernetesSettings>,
    pub vault: Configured<VaultSettings>,
    pub terraform_version: String,
}

/// Shared between the provider and its resources; filled by ConfigureProvider.
/// Besides the settings it holds one client per system, built on first use and kept for the
/// life of the process (so list caches and logins are shared by all resources).
#[derive(Clone, Default)]
pub struct ProviderData(Arc<Inner>);

#[derive(Default)]
struct Inner {
    settings: RwLock<Option<Arc<Settings>>>,
    shared: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl ProviderData {
    pub fn settings(&self, diags: &mut Diagnostics) -> Option<Arc<Settings>> {
        let s = self.0.settings.read().ok().and_then(|g| g.clone());
        if s.is_none() {
            diags.error(
                "Provider not configured",
                "The cicd provider was used before Terraform configured it. This is a bug in the provider or Terraform.",
            );
        }
        s
    }

    fn set(&self, s: Settings) {
        if let Ok(mut g) = self.0.settings.write() {
            *g = Some(Arc::new(s));
        }
        if let Ok(mut m) = self.0.shared.lock() {
            m.clear();
        }
    }

    /// The process-wide instance of `T` (a client), built by `init` on first use.
    /// `init` returning `None` (with diagnostics) is not cached.
    pub fn shared<T: Send + Sync + 'static>(
        &self,
        init: impl FnOnce() -> Option<T>,
    ) -> Option<Arc<T>> {
        let mut m = self.0.shared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = m.get(&TypeId::of::<T>()) {
            return v.clone().downcast::<T>().ok();
        }
        let v = Arc::new(init()?);
        m.insert(TypeId::of::<T>(), v.clone());
        Some(v)
    }
}

/// Turn a `Configured` into a value or an error naming the block (used by every resource).
pub fn require<'a, T>(
    c: &'a Configured<T>,
    block: &str,
    env_hint: &str,
    diags: &mut Diagnostics,
) -> Option<&'a T> {
    match c {
        Configured::Ready(t) => Some(t),
        Configured::Missing => {
            diags.error(
                format!("The provider's {block} block is not configured"),
                format!(
                    "This resource needs {block}, but the provider has no `{block} {{ ... }}` block and {env_hint} \
                     is not set. Add the block to the provider \"cicd\" configuration or set the environment variables."
                ),
            );
            None
        }
        Configured::Unknown(paths) => {
            diags.error(
                format!("The provider's {block} settings are not known yet"),
                format!(
                    "{} depend(s) on values that are only known after apply, so the provider cannot reach {block} \
                     during this plan. Apply the resources they come from first (for example with -target), \
                     or set them from values known at plan time.",
                    paths.join(", ")
                ),
            );
            None
        }
    }
}

pub struct CicdProvider {
    data: ProviderData,
    extra_resources: Vec<Arc<dyn DynResource>>,
}

impl Default for CicdProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl CicdProvider {
    pub fn new() -> Self {
        CicdProvider {
            data: ProviderData::default(),
            extra_resources: Vec::new(),
        }
    }

    pub fn data(&self) -> ProviderData {
        self.data.clone()
    }

    /// Serve more resource types beside the built-in ones (the test suite uses this for a
    /// test-only resource; the shipped binary does not).
    pub fn with_resource(mut self, r: Arc<dyn DynResource>) -> Self {
        self.extra_resources.push(r);
        self
    }
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

pub fn resolve(cfg: &Config, tf_version: &str, diags: &mut Diagnostics) -> Settings {
    resolve_with(cfg, tf_version, diags, &process_env)
}

pub fn resolve_with(
    cfg: &Config,
    tf_version: &str,
    diags: &mut Diagnostics,
    env: EnvLookup,
) -> Settings {
    // woodpecker
    let mut u = Vec::new();
    let wb = block_of(&cfg.woodpecker, "woodpecker", &mut u);
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
    let woodpecker = match (server, token) {
        (Some(server), Some(token)) => finish(
            u,
            Some(WoodpeckerSettings {
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
            if u.is_empty() {
                diags.error_at(
                    AttrPath::root("woodpecker").attr(missing.0),
                    format!("woodpecker.{} is not set", missing.0),
                    format!("Set woodpecker.{} in the provider configuration or the {} environment variable.", missing.0, missing.1),
                );
            }
            finish(u, None)
        }
    };

    // forgejo
    let mut u = Vec::new();
    let fb = block_of(&cfg.forgejo, "forgejo", &mut u);
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
    let forgejo = match (url, token) {
        (Some(url), Some(token)) => finish(
            u,
            Some(ForgejoSettings {
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
            if u.is_empty() {
                diags.error_at(
                    AttrPath::root("forgejo").attr(missing.0),
                    format!("forgejo.{} is not set", missing.0),
                    format!("Set forgejo.{} in the provider configuration or the {} environment variable.", missing.0, missing.1),
                );
            }
            finish(u, None)
        }
    };

    // kubernetes
    let mut u = Vec::new();
    let kb = block_of(&cfg.kubernetes, "kubernetes", &mut u);
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
    let kubernetes = if let Some(host) = host {
        finish(
            u,
            Some(KubernetesSettings::Explicit {
                host,
                token: ktoken.map(Secret::new),
                ca_pem: ca,
            }),
        )
    } else if path.is_some() || context.is_some() {
        finish(u, Some(KubernetesSettings::Kubeconfig { path, context }))
    } else if env("KUBERNETES_SERVICE_HOST").is_some() {
        finish(u, Some(KubernetesSettings::InCluster))
    } else {
        finish(u, None)
    };

    // vault
    let mut u = Vec::new();
    let vb = block_of(&cfg.vault, "vault", &mut u);
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
                    diags.error_at(
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
            .map(|t| VaultAuth::Token(Secret::new(t)))
    };
    let vault = match (address, auth) {
        (Some(address), Some(auth)) => finish(
            u,
            Some(VaultSettings {
                address: address.trim_end_matches('/').to_string(),
                auth,
            }),
        ),
        (Some(_), None) => {
            if u.is_empty() {
                diags.error_at(
                    AttrPath::root("vault"),
                    "No Vault credentials",
                    "vault.address is set but neither vault.token (VAULT_TOKEN) nor a vault.kubernetes_auth block is.",
                );
            }
            finish(u, None)
        }
        (None, _) => finish(u, None),
    };

    Settings {
        woodpecker,
        forgejo,
        kubernetes,
        vault,
        terraform_version: tf_version.to_string(),
    }
}

fn s(name: &str, desc: &str) -> Attribute {
    Attribute::string(name).optional().describe(desc)
}

pub fn provider_schema() -> Schema {
    let woodpecker = Block::new("Woodpecker CI server. Needed by `cicd_woodpecker_repo` and `cicd_woodpecker_global_secret`.")
        .attr(s("server", "Base URL of the Woodpecker server, e.g. `https://ci.example.com`. Falls back to `WOODPECKER_SERVER`."))
        .attr(s("token", "Personal access token of a Woodpecker admin (global secrets need admin rights). Falls back to `WOODPECKER_TOKEN`.").sensitive());
    let forgejo = Block::new("Forgejo (or Gitea) server whose OCI package registry holds the images. Needed by `cicd_forgejo_package_retention`, `cicd_registry_integrity` and image checks against it.")
        .attr(s("url", "Base URL of Forgejo, e.g. `https://forgejo.example.com`. Falls back to `FORGEJO_URL`."))
        .attr(s("token", "Access token with package scopes. Falls back to `FORGEJO_TOKEN`.").sensitive())
        .attr(s("username", "User the token belongs to (used for registry Basic auth). Falls back to `FORGEJO_USER`; looked up from the token when unset."));
    let kubernetes = Block::new("Kubernetes cluster. Needed by `cicd_registry_credentials` and `cicd_image_deployment`. With nothing set, `KUBECONFIG` is used, then the in-cluster service account.")
        .attr(s("config_path", "Path to a kubeconfig file. Falls back to `KUBECONFIG`."))
        .attr(s("config_context", "Context of the kubeconfig to use (default: its current context)."))
        .attr(s("host", "API server URL, for explicit credentials instead of a kubeconfig."))
        .attr(s("token", "Bearer token for `host`.").sensitive())
        .attr(s("cluster_ca_certificate", "PEM CA certificate of the API server for `host`."));
    let kauth = Block::new("Log in to Vault with a Kubernetes service account token (re-read from `jwt_path` at every login, so rotated tokens work).")
        .attr(Attribute::string("role").optional().describe("Vault role to log in as (required in this block)."))
        .attr(s("mount", "Mount path of the Kubernetes auth method (default `kubernetes`)."))
        .attr(s("jwt_path", "File holding the service account JWT (default: the in-cluster token path)."));
    let vault = Block::new("Vault or OpenBao, for values read from KV v2 (`*_from_vault`).")
        .attr(s("address", "Vault address. Falls back to `VAULT_ADDR`."))
        .attr(
            s(
                "token",
                "Vault token. Falls back to `VAULT_TOKEN`. Ignored when `kubernetes_auth` is set.",
            )
            .sensitive(),
        )
        .block(NestedBlock::new(
            "kubernetes_auth",
            NestingMode::Single,
            kauth,
        ));
    Schema::new(
        0,
        Block::new("Declare Woodpecker CI repositories and secrets, Forgejo registry retention, registry pull secrets and image deployments, and let `terraform plan` show their drift.")
            .block(NestedBlock::new("woodpecker", NestingMode::Single, woodpecker))
            .block(NestedBlock::new("forgejo", NestingMode::Single, forgejo))
            .block(NestedBlock::new("kubernetes", NestingMode::Single, kubernetes))
            .block(NestedBlock::new("vault", NestingMode::Single, vault)),
    )
}

#[async_trait]
impl Provider for CicdProvider {
    type Config = Config;

    fn schema(&self) -> Schema {
        provider_schema()
    }

    async fn validate(&self, _cx: &Ctx, cfg: &Config, diags: &mut Diagnostics) {
        let checks: [(&Val<String>, AttrPath); 3] = [
            (
                &cfg.woodpecker
                    .known()
                    .map(|b| b.server.clone())
                    .unwrap_or_default(),
                AttrPath::root("woodpecker").attr("server"),
            ),
            (
                &cfg.forgejo
                    .known()
                    .map(|b| b.url.clone())
                    .unwrap_or_default(),
                AttrPath::root("forgejo").attr("url"),
            ),
            (
                &cfg.vault
                    .known()
                    .map(|b| b.address.clone())
                    .unwrap_or_default(),
                AttrPath::root("vault").attr("address"),
            ),
        ];
        for (v, path) in checks {
            if let Val::Known(u) = v {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    diags.error_at(
                        path.clone(),
                        "Invalid URL",
                        format!("{path} must be an http:// or https:// URL, got {u:?}."),
                    );
                }
            }
        }
    }

    async fn configure(&self, _cx: &Ctx, cfg: Config, tf_version: &str, diags: &mut Diagnostics) {
        let settings = resolve(&cfg, tf_version, diags);
        self.data.set(settings);
    }

    fn resources(&self) -> Vec<Arc<dyn DynResource>> {
        let mut v = crate::resources::all(&self.data);
        v.extend(self.extra_resources.iter().cloned());
        v
    }

    fn data_sources(&self) -> Vec<Arc<dyn DynDataSource>> {
        crate::data_sources::all(&self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn environment_fallbacks_and_missing_blocks() {
        let mut d = Diagnostics::new();
        let env = env_of(&[
            ("FORGEJO_URL", "http://forge/"),
            ("FORGEJO_TOKEN", "tok-forge-1"),
            ("VAULT_ADDR", "http://v"),
        ]);
        let s = resolve_with(&Config::default(), "1.11.4", &mut d, &env);
        assert!(
            matches!(&s.forgejo, Configured::Ready(f) if f.url == "http://forge" && f.token.expose() == "tok-forge-1")
        );
        assert!(matches!(s.woodpecker, Configured::Missing));
        assert!(matches!(s.kubernetes, Configured::Missing));
        // VAULT_ADDR without a token: an error naming the block.
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].path, Some(AttrPath::root("vault")));

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
        let mut d = Diagnostics::new();
        let s = resolve_with(&cfg, "1.0.3", &mut d, &env_of(&[("KUBECONFIG", "/other")]));
        assert_eq!(d.0.len(), 1);
        assert_eq!(
            d.0[0].path,
            Some(AttrPath::root("woodpecker").attr("token"))
        );
        assert!(
            matches!(&s.kubernetes, Configured::Ready(KubernetesSettings::Kubeconfig { path: Some(p), .. }) if p == "/k/config")
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
        let mut d = Diagnostics::new();
        let s = resolve_with(&cfg, "1.11.4", &mut d, &env_of(&[]));
        assert!(
            d.0.is_empty(),
            "unknowns are not errors at configure time: {:?}",
            d.0
        );
        let mut d = Diagnostics::new();
        assert!(require(&s.forgejo, "forgejo", "FORGEJO_URL / FORGEJO_TOKEN", &mut d).is_none());
        assert!(d.0[0].detail.contains("forgejo.token"), "{:?}", d.0);
        assert!(d.0[0].detail.contains("only known after apply"));
        let mut d = Diagnostics::new();
        assert!(require(&s.vault, "vault", "VAULT_ADDR / VAULT_TOKEN", &mut d).is_none());
        assert!(d.0[0].detail.contains("vault"));
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
        let mut d = Diagnostics::new();
        let s = resolve_with(
            &cfg,
            "1.11.4",
            &mut d,
            &env_of(&[("VAULT_TOKEN", "ignored-token")]),
        );
        assert!(d.0.is_empty());
        match s.vault {
            Configured::Ready(VaultSettings {
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
