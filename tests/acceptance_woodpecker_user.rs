//! `cicd_woodpecker_user` under every CLI against the stack's Woodpecker (the double, or a real
//! server given by WOODPECKER_SERVER / WOODPECKER_TOKEN); steps in
//! tests/support/steps/woodpecker_user.rs.

#[path = "support/steps/woodpecker_user.rs"]
mod steps;
mod support;

support::per_cli!(user_lifecycle, steps::user_lifecycle);
