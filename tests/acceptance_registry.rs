//! Acceptance tests for cicd_forgejo_package_retention and cicd_registry_integrity against the
//! stack's real forge: one test per CLI (`retention_and_integrity::tofu_1_12_6`, ...), the
//! steps in tests/support/steps/registry.rs. `retention_follows_the_plan`: apply deletes exactly
//! the versions its plan listed, from a saved plan applied after the registry changed too.
//! `http_forge_elsewhere`: an http forge on a non-loopback address.

#[path = "support/steps/registry.rs"]
mod steps;
mod support;

support::per_cli!(retention_and_integrity, steps::retention_and_integrity);
support::per_cli!(
    retention_follows_the_plan,
    steps::retention_follows_the_plan
);
support::per_cli!(http_forge_elsewhere, steps::http_forge_elsewhere);
