//! The release script's output installs through a filesystem mirror: `terraform init` /
//! `tofu init` accept it (checksums recorded in the lock file) and the installed provider works.

mod support;

use std::process::Command;
use support::clis;

#[test]
fn release_installs_through_a_filesystem_mirror() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dist = tempfile::tempdir().unwrap();
    let out = Command::new(format!("{root}/scripts/release"))
        .args(["--out", dist.path().to_str().unwrap(), "--binary"])
        .arg(support::provider_binary())
        .args(["--version", "0.1.0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sums =
        std::fs::read_to_string(dist.path().join("terraform-provider-cicd_0.1.0_SHA256SUMS"))
            .unwrap();
    assert!(sums.contains("terraform-provider-cicd_0.1.0_linux_amd64.zip"));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            dist.path()
                .join("terraform-provider-cicd_0.1.0_manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["metadata"]["protocol_versions"][0], "6.0");

    for cli in clis() {
        let work = tempfile::tempdir().unwrap();
        let rc = work.path().join("mirror.tfrc");
        std::fs::write(
            &rc,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
                dist.path().join("mirror").display()
            ),
        )
        .unwrap();
        std::fs::write(
            work.path().join("main.tf"),
            "terraform {\n  required_providers {\n    cicd = {\n      source  = \"viktorbarzin/cicd\"\n      version = \"0.1.0\"\n    }\n  }\n}\n",
        )
        .unwrap();
        let run = |args: &[&str]| {
            Command::new(&cli.path)
                .args(args)
                .current_dir(work.path())
                .env("TF_CLI_CONFIG_FILE", &rc)
                .env("CHECKPOINT_DISABLE", "1")
                .env_remove("TF_REATTACH_PROVIDERS")
                .output()
                .unwrap()
        };
        let init = run(&["init", "-no-color", "-input=false"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        assert!(init.status.success(), "[{}] init failed: {text}", cli.label);
        let lock = std::fs::read_to_string(work.path().join(".terraform.lock.hcl")).unwrap();
        assert!(
            lock.contains("viktorbarzin/cicd") && lock.contains("0.1.0"),
            "[{}] {lock}",
            cli.label
        );
        let schema = run(&["providers", "schema", "-json"]);
        assert!(
            schema.status.success(),
            "[{}] {}",
            cli.label,
            String::from_utf8_lossy(&schema.stderr)
        );
        assert!(String::from_utf8_lossy(&schema.stdout).contains("woodpecker"));
    }
}
