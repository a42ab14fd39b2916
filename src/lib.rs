//! terraform-provider-cicd: a Terraform / OpenTofu provider for Woodpecker CI, Forgejo packages,
//! Kubernetes image deployments and Vault-sourced secrets. See docs/ARCHITECTURE.md.

pub mod actions;
pub mod clients;
pub mod data_sources;
pub mod docs;
pub mod ephemeral_resources;
pub mod image_check;
pub mod list_resources;
pub mod provider;
pub mod pull_secret;
pub mod registry_walk;
pub mod resources;
pub mod retention;
pub mod util;

use std::sync::Arc;
use tfplugin::handshake::PluginInfo;
use tfplugin::resource::DynProvider;

/// Who we are, for the protocol layer's messages and reattach strings.
pub const PLUGIN: PluginInfo = PluginInfo {
    binary: "terraform-provider-cicd",
    addresses: &[
        "registry.terraform.io/viktorbarzin/cicd",
        "registry.opentofu.org/viktorbarzin/cicd",
    ],
    usage: "\
terraform-provider-cicd is a plugin for Terraform and OpenTofu and is started by them.

To use it, declare it in a configuration:

  terraform {
    required_providers {
      cicd = { source = \"viktorbarzin/cicd\" }
    }
  }

and run `terraform init` / `tofu init`. To debug it, run it with --debug and follow the printed
instructions.",
};

/// The provider, composed from every resource, data source, ephemeral resource, action and
/// list resource type.
pub fn provider() -> Arc<dyn DynProvider> {
    tfplugin::resource::provider(
        provider::CicdProvider::new(resources::all, data_sources::all)
            .with_ephemeral_resources(ephemeral_resources::all)
            .with_actions(actions::all)
            .with_list_resources(list_resources::all),
    )
}
