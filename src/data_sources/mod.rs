//! One file per data source.

pub mod registry_integrity;
pub mod vault_kv_keys;
pub mod woodpecker_repo;

use crate::provider::ProviderData;
use std::sync::Arc;
use tfplugin::resource::{data_source, DynDataSource};

/// Every data source the provider serves.
pub fn all(data: &ProviderData) -> Vec<Arc<dyn DynDataSource>> {
    vec![
        // data source registrations, one line each
        data_source(registry_integrity::RegistryIntegrity::new(data.clone())),
        data_source(vault_kv_keys::VaultKvKeys::new(data.clone())),
        data_source(woodpecker_repo::WoodpeckerRepoData::new(data.clone())),
    ]
}
