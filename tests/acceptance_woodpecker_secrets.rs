//! Acceptance tests for `cicd_woodpecker_global_secret`, `_repo_secret`, `_org_secret` and
//! `cicd_woodpecker_registry`: one test per scenario per CLI (`global_secrets_from_vault::
//! tofu_1_12_6`, ...), the steps in tests/support/steps/woodpecker_secrets.rs.

#[path = "support/steps/woodpecker_secrets.rs"]
mod steps;
mod support;

support::per_cli!(global_secrets_from_vault, steps::global_secrets_from_vault);
support::per_cli!(global_secret_sources, steps::global_secret_sources);
support::per_cli!(
    repo_org_secrets_and_registries,
    steps::repo_org_secrets_and_registries
);
