//! The process-wide clients the resources share (one login, one connection pool, one list
//! cache per system), built on first use from the provider settings.

use crate::clients::kubernetes::KubeClient;
use crate::clients::vault::VaultClient;
use crate::provider::{self, ProviderData};
use std::sync::Arc;
use tfplugin::diagnostics::Diagnostics;
use tokio::sync::OnceCell;

#[derive(Default)]
struct KubeHolder(OnceCell<Arc<KubeClient>>);

/// The Kubernetes client, connected on first use; errors name the `kubernetes` block.
pub async fn kube(data: &ProviderData, diags: &mut Diagnostics) -> Option<Arc<KubeClient>> {
    let s = data.settings(diags)?;
    let k = provider::require(
        &s.kubernetes,
        "kubernetes",
        "KUBECONFIG (or an in-cluster service account)",
        diags,
    )?
    .clone();
    let holder = data.shared::<KubeHolder>(|| Some(KubeHolder::default()))?;
    let r = holder
        .0
        .get_or_try_init(|| async { KubeClient::connect(&k).await.map(Arc::new) })
        .await;
    match r {
        Ok(c) => Some(c.clone()),
        Err(e) => {
            diags.error("Could not configure the Kubernetes client", e.to_string());
            None
        }
    }
}

/// The Vault client (one login per process, shared).
pub fn vault(data: &ProviderData, diags: &mut Diagnostics) -> Option<Arc<VaultClient>> {
    let s = data.settings(diags)?;
    let v = provider::require(&s.vault, "vault", "VAULT_ADDR / VAULT_TOKEN", diags)?.clone();
    data.shared::<VaultClient>(|| Some(VaultClient::new(&v)))
}

/// The registry client: Basic credentials of the provider's forgejo settings for the forge's
/// own host; anonymous (token challenge) for every other registry.
pub fn registry(
    data: &ProviderData,
    diags: &mut Diagnostics,
) -> Option<Arc<crate::clients::registry::RegistryClient>> {
    let s = data.settings(diags)?;
    data.shared::<crate::clients::registry::RegistryClient>(|| {
        let c = crate::clients::registry::RegistryClient::new();
        if let provider::Configured::Ready(f) = &s.forgejo {
            let host = crate::clients::forgejo::ForgejoClient::new(&f.url, f.token.clone())
                .registry_host();
            if !host.is_empty() {
                let user = f.username.clone().unwrap_or_else(|| "token".into());
                c.set_basic(&host, &user, f.token.clone());
            }
        }
        Some(c)
    })
}

/// The forge's packages API and registry clients used by retention and the integrity walk
/// (one per process); errors name the `forgejo` block.
pub fn forge(
    data: &ProviderData,
    diags: &mut Diagnostics,
) -> Option<Arc<crate::clients::forge_retention::ForgeClients>> {
    let s = data.settings(diags)?;
    let f = provider::require(&s.forgejo, "forgejo", "FORGEJO_URL / FORGEJO_TOKEN", diags)?.clone();
    data.shared::<crate::clients::forge_retention::ForgeClients>(|| {
        Some(crate::clients::forge_retention::ForgeClients::new(
            &f.url, f.token, f.username,
        ))
    })
}
