//! Steps for the ephemeral resource `cicd_vault_kv` (a child of kube.rs for its kubectl / bao
//! helpers): a Vault value feeds a write-only registry password and the Woodpecker token of a
//! provider block, the cluster receives the password, and neither value appears in state, the
//! plan file (as `show -json` prints it and inside the file) or TF_LOG=trace output.
//! A CLI without ephemeral resources (Terraform 1.0.3) refuses the configuration itself, and
//! nothing is created.

use super::{bao, create_ns, delete_ns, secret_auths, secret_exists, slug};
use crate::support::{Cli, Exit, Scenario, Step};

pub struct VaultKv {
    ns: String,
    vpath: String,
    /// The registry password, in Vault only.
    pw: String,
    /// The stack's Woodpecker admin token, copied into Vault.
    wp_token: String,
    /// Global secret name prefix of this CLI.
    p: String,
}

const SECRET: &str = "eph-credentials";

impl VaultKv {
    fn hcl(&self) -> String {
        format!(
            r#"
ephemeral "cicd_vault_kv" "ci" {{
  path = "{vpath}"
}}

# Another instance of the provider, configured with a token from Vault.
provider "cicd" {{
  alias = "wp"
  woodpecker {{
    token = ephemeral.cicd_vault_kv.ci.data["woodpecker_token"]
  }}
}}

resource "cicd_registry_credentials" "eph" {{
  name       = "{SECRET}"
  namespaces = ["{ns}"]
  registries = {{
    "registry.example" = {{
      username            = "ci"
      password_wo         = ephemeral.cicd_vault_kv.ci.data["password"]
      password_wo_version = 1
    }}
  }}
}}

resource "cicd_woodpecker_global_secret" "eph" {{
  provider         = cicd.wp
  name             = "{p}_eph"
  events           = ["push"]
  value_wo         = ephemeral.cicd_vault_kv.ci.data["password"]
  value_wo_version = "1"
}}
"#,
            vpath = self.vpath,
            ns = self.ns,
            p = self.p,
        )
    }

    fn secrets(&self) -> [&str; 2] {
        [&self.pw, &self.wp_token]
    }
}

/// Delete the global secret through Woodpecker's API whatever state a run left it in (a run
/// that failed between apply and destroy would otherwise block the next one's create).
fn delete_global_secret(name: &str) {
    let e = crate::support::stack_env();
    let _ = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-X", "DELETE", "-H"])
        .arg(format!("Authorization: Bearer {}", e["WOODPECKER_TOKEN"]))
        .arg(format!("{}/api/secrets/{name}", e["WOODPECKER_SERVER"]))
        .status();
}

/// Every member of a zip file (a saved plan), uncompressed, as text.
fn zip_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist():\n    sys.stdout.buffer.write(z.read(n))",
        ])
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn vault_kv(cli: &Cli) -> Scenario<VaultKv> {
    type S = Step<VaultKv>;
    let s = slug(cli);
    let e = crate::support::stack_env();
    let x = VaultKv {
        ns: format!("acc-eph-{s}"),
        vpath: format!("acc/{s}/ephemeral"),
        pw: format!("ephemeral-pw-{}-{s}", std::process::id()),
        wp_token: e["WOODPECKER_TOKEN"].clone(),
        p: format!("acc_eph_{}", s.replace('-', "_")),
    };
    let hcl = x.hcl();
    let seed = S::out_of_band("seed: a namespace and the Vault secret", |w| {
        let x = &w.x;
        create_ns(&x.ns);
        delete_global_secret(&format!("{}_eph", x.p));
        bao(&[
            "kv",
            "put",
            &format!("secret/{}", x.vpath),
            &format!("password={}", x.pw),
            &format!("woodpecker_token={}", x.wp_token),
        ]);
    });
    let steps = if cli.supports_ephemeral() && cli.supports_write_only() {
        vec![
            seed,
            S::cli(
                "plan -out: the saved plan holds no Vault value",
                &["plan", "-no-color", "-out=tfplan"],
                Exit::Success,
            )
            .config(hcl.clone())
            // The env token is wrong: only the token from Vault can reach Woodpecker.
            .env("WOODPECKER_TOKEN", "not-the-token")
            .check(|w, _| {
                let secrets = w.x.secrets().map(str::to_string);
                let plan = w.here().path().join("tfplan");
                let raw = String::from_utf8_lossy(&std::fs::read(&plan).unwrap()).into_owned();
                let shown = w.here().run(&["show", "-json", "tfplan"]);
                assert_eq!(shown.code, 0, "show -json: {}", shown.all());
                let members = zip_text(&plan);
                assert!(members.contains("cicd_registry_credentials"), "plan unzipped");
                for v in &secrets {
                    assert!(!raw.contains(v.as_str()), "a Vault value in the raw plan file");
                    assert!(!members.contains(v.as_str()), "a Vault value inside the plan file");
                    assert!(!shown.stdout.contains(v.as_str()), "a Vault value in show -json");
                }
            }),
            S::apply("apply: the cluster gets the Vault password, state and trace never see it")
                .traced_without(&x.secrets())
                .check(|w, _| {
                    let state = w.here().state_file_text();
                    let x = &w.x;
                    assert!(state.contains("cicd_registry_credentials"), "state written");
                    for v in x.secrets() {
                        assert!(!state.contains(v), "a Vault value in state");
                    }
                    let auths = secret_auths(&x.ns, SECRET);
                    assert_eq!(auths["auths"]["registry.example"]["password"], x.pw.as_str());
                }),
            S::destroy("destroy: the copy is gone")
                .check(|w, _| assert!(!secret_exists(&w.x.ns, SECRET))),
            S::validate_fails("version 0 fails validate, naming the attribute", "Invalid KV version")
                .on("bad")
                .config("ephemeral \"cicd_vault_kv\" \"x\" {\n  path    = \"a/b\"\n  version = 0\n}\n")
                .output_contains("version"),
            S::plan_fails(
                "a path with no secret fails the plan, naming it",
                format!("Could not read the Vault secret secret/acc/{s}/no-such-secret"),
            )
            .on("bad")
            .config(format!(
                "ephemeral \"cicd_vault_kv\" \"x\" {{\n  path = \"acc/{s}/no-such-secret\"\n}}\n\
                 resource \"cicd_registry_credentials\" \"x\" {{\n  namespaces = [\"{ns}\"]\n  \
                 registries = {{ \"r.example\" = {{ username = \"u\", password_wo = ephemeral.cicd_vault_kv.x.data[\"p\"] }} }}\n}}\n",
                ns = x.ns,
            )),
        ]
    } else {
        vec![
            seed,
            // NOTE: Terraform < 1.10 cannot parse an `ephemeral` block, so no provider runs: the
            // CLI's own error is what the user gets (README, "Compatibility").
            S::validate_fails(
                "an ephemeral block is refused by the CLI itself",
                "Unsupported block type",
            )
            .config(hcl)
            .output_contains("Blocks of type \"ephemeral\" are not expected here"),
            S::apply_fails("apply fails the same way", "Unsupported block type").check(|w, _| {
                assert!(!secret_exists(&w.x.ns, SECRET), "nothing is created");
            }),
        ]
    };
    Scenario::new(x, steps).cleanup(vec![S::out_of_band(
        "remove the namespace, the Vault path and the global secret",
        |w| {
            delete_ns(&w.x.ns);
            delete_global_secret(&format!("{}_eph", w.x.p));
            bao(&["kv", "metadata", "delete", &format!("secret/{}", w.x.vpath)]);
        },
    )])
}
