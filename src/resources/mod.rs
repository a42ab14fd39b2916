//! One file per Terraform resource type.

use crate::provider::ProviderData;
use crate::tfplugin::resource::DynResource;
use std::sync::Arc;

/// Every resource type the provider serves.
pub fn all(data: &ProviderData) -> Vec<Arc<dyn DynResource>> {
    let _ = data;
    vec![
        // resource registrations, one line each
    ]
}
