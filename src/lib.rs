//! terraform-provider-cicd: a Terraform / OpenTofu provider for Woodpecker CI, Forgejo packages,
//! Kubernetes image deployments and Vault-sourced secrets. See docs/ARCHITECTURE.md.

pub mod provider;
pub mod retention;
pub mod tfplugin;
