//! Ring 3 for the protocol layer: every known CLI (Terraform 1.0.3, the machine's newer
//! Terraform, OpenTofu) drives the provider, one test per CLI (`providers_schema::tofu_1_12_6`,
//! ...); the steps in tests/support/steps/core.rs.

#[path = "support/steps/core.rs"]
mod steps;
mod support;

support::per_cli!(providers_schema, steps::providers_schema);
support::per_cli!(test_resource_lifecycle, steps::test_resource_lifecycle);
