//! Acceptance tests for `cicd_registry_credentials` and `cicd_image_deployment`: one test per
//! CLI (`registry_credentials::tofu_1_12_6`, ...), the steps in tests/support/steps/kube.rs.

#[path = "support/steps/kube.rs"]
mod steps;
mod support;

support::per_cli!(registry_credentials, steps::registry_credentials);
support::per_cli!(image_deployment, steps::image_deployment);
support::per_cli!(kube_rbac, steps::rbac);
