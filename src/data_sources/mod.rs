//! One file per data source.

use crate::provider::ProviderData;
use crate::tfplugin::resource::DynDataSource;
use std::sync::Arc;

/// Every data source the provider serves.
pub fn all(data: &ProviderData) -> Vec<Arc<dyn DynDataSource>> {
    let _ = data;
    vec![
        // data source registrations, one line each
    ]
}
