//! Acceptance tests for what Terraform 1.14+ added: actions (`cicd_woodpecker_pipeline`,
//! `cicd_rollout_restart`) and list resources (`terraform query`), one test per CLI; older CLIs
//! check the CLI's refusal. The steps are in tests/support/steps/newest.rs.

#[path = "support/steps/newest.rs"]
mod steps;
mod support;

support::per_cli!(actions, steps::actions);
support::per_cli!(query, steps::query);
