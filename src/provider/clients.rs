//! [`ProviderData`]: what Configure resolved, plus one client per system, built on first use and
//! kept for the life of the process (so logins, connection pools and list caches are shared by
//! every resource). A new Configure starts a fresh client set.

use super::settings::{Configured, Settings};
use crate::clients::forgejo::ForgejoClient;
use crate::clients::kubernetes::KubeClient;
use crate::clients::registry::RegistryClient;
use crate::clients::vault::VaultClient;
use crate::clients::woodpecker::WoodpeckerClient;
use crate::retention::forge::Retention;
use std::sync::{Arc, OnceLock, RwLock};
use tfplugin::diagnostics::Diagnostics;
use tokio::sync::OnceCell;

/// Shared between the provider and its resources; filled by ConfigureProvider.
#[derive(Clone, Default)]
pub struct ProviderData(Arc<RwLock<Option<Ready>>>);

#[derive(Clone)]
struct Ready {
    settings: Arc<Settings>,
    clients: Arc<Clients>,
}

/// One lazily built client per system; the registry client is the only one, with the forge's
/// credentials set in one place ([`ProviderData::registry`]).
#[derive(Default)]
struct Clients {
    kube: OnceCell<Arc<KubeClient>>,
    vault: OnceLock<Arc<VaultClient>>,
    forgejo: OnceLock<Arc<ForgejoClient>>,
    registry: OnceCell<Arc<RegistryClient>>,
    retention: OnceCell<Arc<Retention>>,
    woodpecker: OnceLock<Arc<WoodpeckerClient>>,
}

impl ProviderData {
    pub(super) fn configure(&self, settings: Settings) {
        let mut g = self.0.write().unwrap_or_else(|p| p.into_inner());
        *g = Some(Ready {
            settings: Arc::new(settings),
            clients: Arc::default(),
        });
    }

    fn current(&self, diags: &mut Diagnostics) -> Option<Ready> {
        let c = self.0.read().unwrap_or_else(|p| p.into_inner()).clone();
        if c.is_none() {
            diags.error(
                "Provider not configured",
                "The cicd provider was used before Terraform configured it. This is a bug in the provider or Terraform.",
            );
        }
        c
    }

    pub fn settings(&self, diags: &mut Diagnostics) -> Option<Arc<Settings>> {
        self.current(diags).map(|c| c.settings)
    }

    /// The Kubernetes client, connected on first use; errors name the `kubernetes` block.
    pub async fn kube(&self, diags: &mut Diagnostics) -> Option<Arc<KubeClient>> {
        let c = self.current(diags)?;
        let cfg = require(
            &c.settings.kubernetes,
            "kubernetes",
            "KUBECONFIG (or an in-cluster service account)",
            diags,
        )?;
        let r = c
            .clients
            .kube
            .get_or_try_init(|| async { KubeClient::connect(cfg).await.map(Arc::new) })
            .await;
        match r {
            Ok(k) => Some(k.clone()),
            Err(e) => {
                diags.error("Could not configure the Kubernetes client", e.to_string());
                None
            }
        }
    }

    /// The Vault client (one login per process).
    pub fn vault(&self, diags: &mut Diagnostics) -> Option<Arc<VaultClient>> {
        let c = self.current(diags)?;
        let cfg = require(
            &c.settings.vault,
            "vault",
            "VAULT_ADDR / VAULT_TOKEN",
            diags,
        )?;
        Some(
            c.clients
                .vault
                .get_or_init(|| Arc::new(VaultClient::new(cfg)))
                .clone(),
        )
    }

    /// The forge's REST client; errors name the `forgejo` block.
    pub fn forgejo(&self, diags: &mut Diagnostics) -> Option<Arc<ForgejoClient>> {
        let c = self.current(diags)?;
        let cfg = require(
            &c.settings.forgejo,
            "forgejo",
            "FORGEJO_URL / FORGEJO_TOKEN",
            diags,
        )?;
        Some(
            c.clients
                .forgejo
                .get_or_init(|| Arc::new(ForgejoClient::new(&cfg.url, cfg.token.clone())))
                .clone(),
        )
    }

    /// The Woodpecker client (one list cache per process); errors name the `woodpecker` block.
    pub fn woodpecker(&self, diags: &mut Diagnostics) -> Option<Arc<WoodpeckerClient>> {
        let c = self.current(diags)?;
        let cfg = require(
            &c.settings.woodpecker,
            "woodpecker",
            "WOODPECKER_SERVER / WOODPECKER_TOKEN",
            diags,
        )?;
        Some(
            c.clients
                .woodpecker
                .get_or_init(|| Arc::new(WoodpeckerClient::new(cfg)))
                .clone(),
        )
    }

    /// The one registry client: Basic credentials (the forge's user and token) for the forge's
    /// own registry host, anonymous token challenges for every other registry. The user is the
    /// configured `forgejo.username`, else the token's owner, looked up once.
    pub async fn registry(&self, diags: &mut Diagnostics) -> Option<Arc<RegistryClient>> {
        let c = self.current(diags)?;
        let forge = match &c.settings.forgejo {
            Configured::Ready(f) => {
                let client = self.forgejo(diags)?;
                Some((f.username.clone(), client))
            }
            _ => None,
        };
        let r = c
            .clients
            .registry
            .get_or_init(|| async {
                let reg = RegistryClient::new();
                if let Some((username, fj)) = forge {
                    let host = fj.registry_host();
                    let user = match username {
                        Some(u) => u,
                        None => fj.current_user().await.unwrap_or_else(|e| {
                            tracing::debug!(error = %e, "could not look up the forge user; registry login as `token`");
                            "token".to_string()
                        }),
                    };
                    if !host.is_empty() {
                        reg.set_scheme(&host, &fj.registry_scheme());
                        reg.set_basic(&host, &user, fj.token().clone());
                    }
                }
                Arc::new(reg)
            })
            .await;
        Some(r.clone())
    }

    /// Retention evaluation and deletion over the forge's packages API and registry.
    pub async fn retention(&self, diags: &mut Diagnostics) -> Option<Arc<Retention>> {
        let c = self.current(diags)?;
        let forgejo = self.forgejo(diags)?;
        let registry = self.registry(diags).await?;
        let r = c
            .clients
            .retention
            .get_or_init(|| async { Arc::new(Retention::new(forgejo, registry)) })
            .await;
        Some(r.clone())
    }
}

/// Turn a `Configured` into a value or an error naming the block.
pub(crate) fn require<'a, T>(
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
        Configured::Invalid {
            path,
            summary,
            detail,
        } => {
            diags.error(
                format!("The provider's {block} settings are invalid: {summary}"),
                format!("Provider configuration attribute {path}: {detail}"),
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
