//! The example stacks (examples/stacks/ci-cd and app) against the local stack: one test per CLI
//! (`example_stacks::tofu_1_12_6`, ...), the steps in tests/support/steps/stacks.rs.

#[path = "support/steps/stacks.rs"]
mod steps;
mod support;

support::per_cli!(example_stacks, steps::example_stacks);
