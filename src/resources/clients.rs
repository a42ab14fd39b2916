//! The process-wide clients the resources share (one login, one connection pool, one list
//! cache per system), built on first use from the provider settings.

use crate::clients::kubernetes::KubeClient;
use crate::clients::vault::VaultClient;
use crate::provider::{self, ProviderData};
use crate::tfplugin::diagnostics::Diagnostics;
use std::sync::Arc;
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
