//! Acceptance-test harness: real `terraform` / `tofu` binaries driving the provider, in a fresh
//! temp dir per case, with terraform-plugin-testing's habits (empty plan after apply, with and
//! without refresh; import and compare; destroy and check).
//!
//! - `cli`: the table of known CLIs (`known_clis!`, one line each) and `per_cli!`, which makes
//!   one `#[test]` per CLI for a scenario (`image_deployment::tofu_1_12_6`);
//! - `step`: steps as data (`Step`, modelled on terraform-plugin-testing's TestStep) and the
//!   runner that executes a scenario's steps for one CLI;
//! - `steps/`: each acceptance file's scenarios, compiled only into that test binary (through
//!   `#[path]`), so protocol and handshake tests do not build the resources' step lists.
#![allow(dead_code)]

pub mod cli;
pub mod grpc;
pub mod step;
pub mod thing;

// Each test binary uses its own part of these.
#[allow(unused_imports)]
pub(crate) use cli::per_cli;
#[allow(unused_imports)]
pub use cli::{clis, Cli};
#[allow(unused_imports)]
pub use step::{Exit, Scenario, Step, World};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run a program of the stack (kubectl, bao, the oci-push script, curl) with `env`, feeding
/// it `stdin` if given; it must succeed. Its stdout and stderr, in that order.
pub fn stack_program(
    env: &BTreeMap<String, String>,
    prog: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> String {
    use std::io::Write;
    let mut c = Command::new(prog);
    c.args(args)
        .envs(env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("{prog}: {e}"));
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{prog} {args:?}: {text}");
    text
}

/// `scripts/oci-push` of this checkout, or, in a worktree without the stack, of the main
/// checkout (STACK_ENV_FILE's sibling).
pub fn oci_push_script() -> PathBuf {
    let mut script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/oci-push");
    if !script.exists() {
        if let Ok(f) = std::env::var("STACK_ENV_FILE") {
            script = Path::new(&f)
                .parent()
                .and_then(|p| p.parent())
                .unwrap()
                .join("scripts/oci-push");
        }
    }
    script
}

/// Settings written by `scripts/stack up`, merged under the process environment.
pub fn stack_env() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let f = std::env::var("STACK_ENV_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join(".stack/env"));
    if let Ok(text) = std::fs::read_to_string(f) {
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("export ") else {
                continue;
            };
            let Some((k, v)) = rest.split_once('=') else {
                continue;
            };
            out.insert(k.to_string(), unquote(v));
        }
    }
    for (k, v) in std::env::vars() {
        out.insert(k, v);
    }
    out
}

/// Undo bash's `printf %q` for the simple forms it produces for paths, URLs and tokens.
fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix("$'").and_then(|s| s.strip_suffix('\'')) {
        return inner.replace("\\'", "'").replace("\\\\", "\\");
    }
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return inner.to_string();
    }
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The provider binary built by cargo for this test run.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-cicd"))
}

/// How the CLI finds the provider.
#[derive(Clone, Debug)]
pub enum Attach {
    /// The real binary through dev_overrides (AutoMTLS on, as in production).
    Binary,
    /// A provider served in this test process (plaintext), through TF_REATTACH_PROVIDERS.
    Reattach(String),
}

pub struct Workdir {
    pub cli: Cli,
    pub dir: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Workdir {
    pub fn new(cli: &Cli, attach: Attach) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("cicd-acc-")
            .tempdir()
            .unwrap();
        let mut env = stack_env();
        env.insert("CHECKPOINT_DISABLE".into(), "1".into());
        env.insert("TF_IN_AUTOMATION".into(), "1".into());
        env.insert("TF_INPUT".into(), "0".into());
        env.remove("TF_CLI_ARGS");
        match attach {
            Attach::Binary => {
                let bin_dir = provider_binary().parent().unwrap().to_path_buf();
                let rc = dir.path().join("cli.tfrc");
                std::fs::write(
                    &rc,
                    format!(
                        "provider_installation {{\n  dev_overrides {{\n    \"viktorbarzin/cicd\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                        bin_dir.display()
                    ),
                )
                .unwrap();
                env.insert("TF_CLI_CONFIG_FILE".into(), rc.display().to_string());
                env.remove("TF_REATTACH_PROVIDERS");
            }
            Attach::Reattach(r) => {
                env.insert("TF_REATTACH_PROVIDERS".into(), r);
                let rc = dir.path().join("cli.tfrc");
                std::fs::write(&rc, "").unwrap();
                env.insert("TF_CLI_CONFIG_FILE".into(), rc.display().to_string());
            }
        }
        Workdir {
            cli: cli.clone(),
            dir,
            env,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write main.tf (a `terraform { required_providers }` header is added).
    pub fn write(&self, hcl: &str) {
        let header = "terraform {\n  required_providers {\n    cicd = { source = \"viktorbarzin/cicd\" }\n  }\n}\n\n";
        std::fs::write(self.path().join("main.tf"), format!("{header}{hcl}")).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut c = Command::new(&self.cli.path);
        c.args(args).current_dir(self.path()).env_clear();
        for (k, v) in &self.env {
            c.env(k, v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        Run::from(c.output().expect("run CLI"))
    }

    fn must(&self, what: &str, r: Run) -> Run {
        assert_eq!(
            r.code,
            0,
            "[{}] {what} failed:\n{}",
            self.cli.label,
            r.all()
        );
        r
    }

    pub fn apply(&self) -> Run {
        let r = self.run(&["apply", "-auto-approve", "-no-color"]);
        self.must("apply", r)
    }

    pub fn apply_expect_error(&self, needle: &str) -> Run {
        let r = self.run(&["apply", "-auto-approve", "-no-color"]);
        assert_ne!(
            r.code,
            0,
            "[{}] apply should fail:\n{}",
            self.cli.label,
            r.all()
        );
        assert!(
            r.all().contains(needle),
            "[{}] expected {needle:?} in:\n{}",
            self.cli.label,
            r.all()
        );
        r
    }

    /// `plan -detailed-exitcode`: 0 no changes, 2 changes (1 error is a failure here).
    pub fn plan_code(&self, refresh: bool) -> (i32, Run) {
        let mut args = vec!["plan", "-detailed-exitcode", "-no-color", "-input=false"];
        if !refresh {
            args.push("-refresh=false");
        }
        let r = self.run(&args);
        assert!(
            r.code == 0 || r.code == 2,
            "[{}] plan failed:\n{}",
            self.cli.label,
            r.all()
        );
        (r.code, r)
    }

    pub fn plan_expect_error(&self, needle: &str) -> Run {
        let r = self.run(&["plan", "-no-color", "-input=false"]);
        assert_eq!(
            r.code,
            1,
            "[{}] plan should fail:\n{}",
            self.cli.label,
            r.all()
        );
        assert!(
            r.all().contains(needle),
            "[{}] expected {needle:?} in:\n{}",
            self.cli.label,
            r.all()
        );
        r
    }

    pub fn validate_expect_error(&self, needle: &str) -> Run {
        let r = self.run(&["validate", "-no-color"]);
        assert_ne!(
            r.code,
            0,
            "[{}] validate should fail:\n{}",
            self.cli.label,
            r.all()
        );
        assert!(
            r.all().contains(needle),
            "[{}] expected {needle:?} in:\n{}",
            self.cli.label,
            r.all()
        );
        r
    }

    /// The plan must be empty with and without refresh (no perpetual diff); returns the
    /// refreshed plan.
    pub fn expect_empty_plan(&self) -> Run {
        let mut last = None;
        for refresh in [false, true] {
            let (code, r) = self.plan_code(refresh);
            assert_eq!(
                code,
                0,
                "[{}] plan (refresh={refresh}) not empty:\n{}",
                self.cli.label,
                r.all()
            );
            last = Some(r);
        }
        last.unwrap()
    }

    /// The refreshed plan must show changes; returns it (the plan text is its stdout).
    pub fn expect_changes(&self) -> Run {
        let (code, r) = self.plan_code(true);
        assert_eq!(
            code,
            2,
            "[{}] plan should show changes:\n{}",
            self.cli.label,
            r.all()
        );
        r
    }

    pub fn state(&self) -> serde_json::Value {
        let r = self.run(&["show", "-json", "-no-color"]);
        let r = self.must("show -json", r);
        serde_json::from_str(&r.stdout).expect("state json")
    }

    /// Attribute values of `addr` in the state.
    pub fn attrs(&self, addr: &str) -> serde_json::Value {
        let s = self.state();
        find_resource(&s["values"]["root_module"], addr)
            .unwrap_or_else(|| panic!("[{}] {addr} not in state: {s:#}", self.cli.label))
    }

    pub fn import(&self, addr: &str, id: &str) -> Run {
        let r = self.run(&["import", "-no-color", "-input=false", addr, id]);
        self.must("import", r)
    }

    pub fn state_rm(&self, addr: &str) {
        let r = self.run(&["state", "rm", addr]);
        self.must("state rm", r);
    }

    pub fn destroy(&self) -> Run {
        let r = self.run(&["destroy", "-auto-approve", "-no-color"]);
        self.must("destroy", r)
    }

    /// Import `addr` by `id` into a copy of the state and compare every attribute with the
    /// applied state (except `ignore`).
    pub fn import_and_compare(&self, addr: &str, id: &str, ignore: &[&str]) {
        let before = self.attrs(addr);
        self.state_rm(addr);
        self.import(addr, id);
        let after = self.attrs(addr);
        let (b, a) = (before.as_object().unwrap(), after.as_object().unwrap());
        for (k, v) in b {
            if ignore.contains(&k.as_str()) {
                continue;
            }
            assert_eq!(
                Some(v),
                a.get(k),
                "[{}] import of {addr} differs at {k}",
                self.cli.label
            );
        }
    }

    pub fn state_file_text(&self) -> String {
        std::fs::read_to_string(self.path().join("terraform.tfstate")).unwrap_or_default()
    }
}

fn find_resource(module: &serde_json::Value, addr: &str) -> Option<serde_json::Value> {
    for r in module["resources"].as_array().into_iter().flatten() {
        if r["address"] == addr {
            return Some(r["values"].clone());
        }
    }
    for c in module["child_modules"].as_array().into_iter().flatten() {
        if let Some(v) = find_resource(c, addr) {
            return Some(v);
        }
    }
    None
}
