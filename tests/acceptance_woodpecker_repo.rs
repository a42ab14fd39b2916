//! Acceptance tests for `cicd_woodpecker_repo` (resource and data source) and
//! `cicd_woodpecker_cron` against the stack's Woodpecker and forge: one test per scenario per
//! CLI (`repo_lifecycle::tofu_1_12_6`, ...), the steps in
//! tests/support/steps/woodpecker_repo.rs.

#[path = "support/steps/woodpecker_repo.rs"]
mod steps;
mod support;

support::per_cli!(repo_lifecycle, steps::repo_lifecycle);
support::per_cli!(repo_bad_input, steps::repo_bad_input);
support::per_cli!(cron, steps::cron);
