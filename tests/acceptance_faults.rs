//! Fault injection under the real CLIs (steps in tests/support/steps/faults.rs): the provider
//! reaches every server of the stack through `crates/fault-proxy`. One CLI per scenario
//! (Terraform, the machine's release) keeps CI time modest: retries live in the provider, not
//! in the CLI, so another CLI would exercise the same code.

#[path = "support/steps/faults.rs"]
mod steps;
mod support;

use support::cli::CliSpec;

const TERRAFORM: CliSpec = CliSpec {
    env: "TERRAFORM_LATEST",
    product: "terraform",
    version: (1, 11, 4),
    required_in_ci: true,
};

#[test]
fn faults_transient_terraform() {
    support::step::run(&TERRAFORM, "faults_transient", steps::transient);
}

#[test]
fn faults_permanent_terraform() {
    support::step::run(&TERRAFORM, "faults_permanent", steps::permanent);
}
