//! One file per ephemeral resource (`ephemeral` blocks: Terraform >= 1.10, OpenTofu >= 1.11).

pub mod vault_kv;

use crate::provider::ProviderData;
use std::sync::Arc;
use tfplugin::ephemeral::{ephemeral_resource, DynEphemeralResource};

/// Every ephemeral resource the provider serves.
pub fn all(data: &ProviderData) -> Vec<Arc<dyn DynEphemeralResource>> {
    vec![
        // ephemeral resource registrations, one line each
        ephemeral_resource(vault_kv::VaultKv::new(data.clone())),
    ]
}
