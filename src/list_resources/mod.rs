//! One file per list resource type (`list` blocks of `terraform query`, Terraform >= 1.14).
//! Each finds existing objects of the managed resource of the same name and reports them as
//! that resource's state, so `terraform query -generate-config-out=FILE` writes `resource` and
//! `import` blocks that plan with no change. Identities: [`crate::resources::adopt`].

pub mod image_deployment;
pub mod registry_credentials;
pub mod woodpecker_global_secret;
pub mod woodpecker_repo;

use crate::provider::ProviderData;
use std::sync::Arc;
use tfplugin::list::{list_resource, DynListResource};

/// Every list resource type the provider serves.
pub fn all(data: &ProviderData) -> Vec<Arc<dyn DynListResource>> {
    vec![
        list_resource(woodpecker_repo::ListRepos::new(data.clone())),
        list_resource(woodpecker_global_secret::ListGlobalSecrets::new(
            data.clone(),
        )),
        list_resource(image_deployment::ListImages::new(data.clone())),
        list_resource(registry_credentials::ListPullSecrets::new(data.clone())),
    ]
}
