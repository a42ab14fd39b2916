//! Acceptance tests for `cicd_registry_credentials`, `cicd_image_deployment` and the ephemeral
//! `cicd_vault_kv` feeding a write-only password: one test per
//! CLI (`registry_credentials::tofu_1_12_6`, ...), the steps in tests/support/steps/kube.rs.

#[path = "support/steps/kube.rs"]
mod steps;
mod support;

support::per_cli!(registry_credentials, steps::registry_credentials);
support::per_cli!(image_deployment, steps::image_deployment);
support::per_cli!(ephemeral_vault_kv, steps::ephemeral::vault_kv);
support::per_cli!(kube_rbac, steps::rbac);
