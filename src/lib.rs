//! terraform-provider-cicd: a Terraform / OpenTofu provider for Woodpecker CI, Forgejo packages,
//! Kubernetes image deployments and Vault-sourced secrets. See docs/ARCHITECTURE.md.

pub mod clients;
pub mod data_sources;
pub mod docs;
pub mod provider;
pub mod resources;
pub mod retention;
pub mod tfplugin;
