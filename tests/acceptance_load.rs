//! The load test (steps in tests/support/steps/load.rs): N resources of mixed types with
//! `-parallelism=50` (N = CICD_LOAD_SIZE, 100 here; `scripts/bench/load.py` runs 500), under
//! one CLI: the request pattern is the provider's, not the CLI's.

#[path = "support/steps/load.rs"]
mod steps;
mod support;

use support::cli::CliSpec;

#[test]
fn load_mixed_terraform() {
    support::step::run(
        &CliSpec {
            env: "TERRAFORM_LATEST",
            product: "terraform",
            version: (1, 11, 4),
            required_in_ci: true,
        },
        "load_mixed",
        steps::load,
    )
}
