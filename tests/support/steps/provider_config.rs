//! Steps for the provider's settings read from the environment, as users have them for each
//! system's own CLI:
//! - `VAULT_ADDR` exported without a token: a stack that uses no Vault applies; one that does
//!   gets an error naming the missing setting;
//! - the token `vault login` stores in `~/.vault-token` (with `HOME` pointed at a temp dir);
//! - `KUBECONFIG` with several paths (one missing, the others each holding part of the
//!   settings), merged as kubectl does.

use crate::support::{stack_env, Cli, Scenario, Step, World};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

pub struct Settings {
    env: BTreeMap<String, String>,
    /// Namespace (and name prefix) of this run.
    ns: String,
    /// A home without `.vault-token`.
    home_empty: tempfile::TempDir,
    /// A home whose `.vault-token` holds the stack's token.
    home_token: tempfile::TempDir,
    /// The stack's kubeconfig split in two files.
    kube_dir: tempfile::TempDir,
}

fn run(env: &BTreeMap<String, String>, prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .args(args)
        .envs(env)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{prog} {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Writes the stack's kubeconfig as two files: clusters, contexts and the current context in
/// one, users in the other. Neither works alone.
fn split_kubeconfig(env: &BTreeMap<String, String>, dir: &Path) {
    let text = run(
        env,
        &env["KUBECTL"],
        &["config", "view", "--raw", "--minify", "-o", "json"],
    );
    let full: serde_json::Value = serde_json::from_str(&text).unwrap();
    let part = |keys: &[&str]| {
        let mut m = serde_json::Map::new();
        for k in ["apiVersion", "kind"].iter().chain(keys) {
            m.insert(k.to_string(), full[*k].clone());
        }
        serde_json::Value::Object(m).to_string()
    };
    std::fs::write(
        dir.join("clusters"),
        part(&["clusters", "contexts", "current-context"]),
    )
    .unwrap();
    std::fs::write(dir.join("users"), part(&["users"])).unwrap();
}

fn credentials(ns: &str, name: &str) -> String {
    format!(
        r#"resource "cicd_registry_credentials" "c" {{
  name       = "{name}"
  namespaces = ["{ns}"]
  registries = {{
    "registry.example" = {{
      username = "ci"
      password = "not-a-real-password"
    }}
  }}
}}
"#
    )
}

fn kv_keys(ns: &str) -> String {
    format!(
        r#"data "cicd_vault_kv_keys" "k" {{
  path = "{ns}/app"
}}

output "keys" {{
  value = data.cicd_vault_kv_keys.k.keys
}}
"#
    )
}

pub fn settings_from_environment(cli: &Cli) -> Scenario<Settings> {
    let env = stack_env();
    let slug: String = cli
        .label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 100_000)
        .unwrap_or(0);
    let x = Settings {
        ns: format!("provider-settings-{slug}-{nonce}"),
        home_empty: tempfile::tempdir().unwrap(),
        home_token: tempfile::tempdir().unwrap(),
        kube_dir: tempfile::tempdir().unwrap(),
        env,
    };
    let ns = x.ns.clone();
    let home_empty = x.home_empty.path().display().to_string();
    let home_token = x.home_token.path().display().to_string();
    let kube = x.kube_dir.path();
    let kubeconfig = format!(
        "{}:{}:{}",
        kube.join("missing").display(),
        kube.join("clusters").display(),
        kube.join("users").display()
    );
    let steps = vec![
        Step::out_of_band(
            "seed: a namespace, a Vault secret, ~/.vault-token, a kubeconfig in two files",
            |w: &mut World<Settings>| {
                let x = &w.x;
                run(&x.env, &x.env["KUBECTL"], &["create", "namespace", &x.ns]);
                let path = format!("{}/app", x.ns);
                run(
                    &x.env,
                    &x.env["BAO"],
                    &["kv", "put", "-mount=secret", &path, "one=v"],
                );
                let token = format!("{}\n", x.env["VAULT_TOKEN"]);
                std::fs::write(x.home_token.path().join(".vault-token"), token).unwrap();
                split_kubeconfig(&x.env, x.kube_dir.path());
            },
        ),
        Step::apply("VAULT_ADDR without a token: a stack without Vault applies")
            .on("no-vault")
            .env("VAULT_TOKEN", "")
            .env("HOME", &home_empty)
            .config(credentials(&ns, &format!("{ns}-a"))),
        Step::plan_fails(
            "VAULT_ADDR without a token: a data source that needs Vault names the setting",
            "No Vault credentials",
        )
        .on("needs-vault")
        .env("VAULT_TOKEN", "")
        .env("HOME", &home_empty)
        .config(kv_keys(&ns))
        .output_contains("vault.token"),
        Step::apply("the token from ~/.vault-token, as the Vault CLI reads it")
            .on("vault-token-file")
            .env("VAULT_TOKEN", "")
            .env("HOME", &home_token)
            .config(kv_keys(&ns))
            .stdout_contains("\"one\""),
        Step::apply("KUBECONFIG with several paths, merged as kubectl does")
            .on("kubeconfig")
            .env("KUBECONFIG", &kubeconfig)
            .config(credentials(&ns, &format!("{ns}-b"))),
        Step::destroy("destroy (no Vault)").on("no-vault"),
        Step::destroy("destroy (merged kubeconfig)").on("kubeconfig"),
    ];
    Scenario::new(x, steps).cleanup(vec![Step::out_of_band(
        "remove the namespace",
        |w: &mut World<Settings>| {
            let x = &w.x;
            let _ = Command::new(&x.env["KUBECTL"])
                .args(["delete", "namespace", &x.ns, "--wait=false"])
                .envs(&x.env)
                .output();
        },
    )])
}
