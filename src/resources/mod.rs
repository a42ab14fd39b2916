//! One file per Terraform resource type.

pub mod adopt;
pub mod forgejo_package_retention;
pub mod image_deployment;
pub mod registry_credentials;
pub mod value_source;
pub mod woodpecker_cron;
pub mod woodpecker_global_secret;
pub mod woodpecker_org_secret;
pub mod woodpecker_registry;
pub mod woodpecker_repo;
pub mod woodpecker_repo_secret;
pub mod woodpecker_secret;
pub mod woodpecker_secret_common;
pub mod woodpecker_user;

use crate::provider::ProviderData;
use std::sync::Arc;
use tfplugin::resource::{resource, DynResource};

/// Every resource type the provider serves.
pub fn all(data: &ProviderData) -> Vec<Arc<dyn DynResource>> {
    vec![
        // resource registrations, one line each
        resource(forgejo_package_retention::PackageRetention::new(
            data.clone(),
        )),
        resource(registry_credentials::RegistryCredentials::new(data.clone())),
        resource(image_deployment::ImageDeployment::new(data.clone())),
        resource(woodpecker_repo::WoodpeckerRepo::new(data.clone())),
        resource(woodpecker_cron::WoodpeckerCron::new(data.clone())),
        resource(woodpecker_global_secret::GlobalSecret::new(data.clone())),
        resource(woodpecker_repo_secret::RepoSecret::new(data.clone())),
        resource(woodpecker_org_secret::OrgSecret::new(data.clone())),
        resource(woodpecker_registry::WoodpeckerRegistry::new(data.clone())),
        resource(woodpecker_user::WoodpeckerUser::new(data.clone())),
    ]
}
