//! The provider's settings from the environment (Vault without a token, `~/.vault-token`, a
//! multi-path `KUBECONFIG`): one test per CLI, the steps in
//! tests/support/steps/provider_config.rs.

#[path = "support/steps/provider_config.rs"]
mod steps;
mod support;

support::per_cli!(settings_from_environment, steps::settings_from_environment);
