//! Acceptance steps as data, and the runner that executes a list of them for one CLI.
//!
//! Modelled on terraform-plugin-testing's `TestStep`:
//!
//! | TestStep                   | here                                                     |
//! |----------------------------|----------------------------------------------------------|
//! | `PreConfig`                | [`Step::pre`] (and [`Step::out_of_band`] for a step that is only that) |
//! | `Config`                   | [`Step::config`] / [`Step::config_with`] (main.tf)       |
//! | apply + empty plan         | [`Step::apply`] (the empty plan is checked unless [`Step::skip_plan_check`]) |
//! | `PlanOnly`                 | [`Step::plan_empty`] / [`Step::plan_changes`]            |
//! | `ExpectError`              | [`Step::apply_fails`] / [`Step::plan_fails`] / [`Step::validate_fails`] |
//! | `ImportState(Verify)`      | [`Step::import`] (compares every attribute but `ignore`) |
//! | `RefreshState`             | [`Step::refresh_only`]                                   |
//! | `Destroy`                  | [`Step::destroy`]                                        |
//! | `Check`                    | [`Step::check`] (a closure on the [`World`] and the CLI's output) |
//!
//! A scenario (see [`Scenario`]) is a context value `X` (names, handles to the servers, values
//! kept from one step for the next), the steps, and cleanup steps that run whatever happened.
//! Steps run in workdirs named by [`Step::on`] (`"main"` unless said), each a fresh temp dir
//! made on first use, so one scenario can drive several configurations side by side.

use super::{Attach, Cli, Run, Workdir};
use std::collections::BTreeMap;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// A closure run before the step's configuration is written (PreConfig).
pub type Hook<X> = Box<dyn Fn(&mut World<X>)>;
/// A closure run after the step's command, with its output (Check).
pub type Check<X> = Box<dyn Fn(&mut World<X>, &Run)>;

/// What the CLI must exit with, for [`Step::cli`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success,
    Failure,
    /// Not checked.
    Any,
}

/// The command of a step, with the expectation that belongs to it.
pub enum Command {
    /// No CLI command: the step is its `pre` and `check` closures.
    None,
    /// `apply -auto-approve`, must succeed.
    Apply,
    /// `apply -auto-approve`, must fail with this text in the output.
    ApplyFails(String),
    /// `plan -detailed-exitcode`, empty with and without refresh.
    PlanEmpty,
    /// `plan -detailed-exitcode` (refreshed), must show changes.
    PlanChanges,
    /// `plan`, must fail (exit 1) with this text in the output.
    PlanFails(String),
    /// `validate`, must fail with this text in the output.
    ValidateFails(String),
    /// `state rm` then `import` by id, and compare every attribute with the state before.
    Import {
        addr: String,
        /// None: the `id` attribute of `addr` in the state (ImportStateId's default).
        id: Option<String>,
        ignore: Vec<String>,
    },
    /// `apply -refresh-only -auto-approve`, must succeed.
    RefreshOnly,
    /// `destroy -auto-approve`, must succeed.
    Destroy,
    /// Any other CLI command.
    Cli { args: Vec<String>, exit: Exit },
}

impl Command {
    fn describe(&self) -> String {
        match self {
            Command::None => "out-of-band".into(),
            Command::Apply => "apply".into(),
            Command::ApplyFails(_) => "apply (expected to fail)".into(),
            Command::PlanEmpty => "plan (expected empty)".into(),
            Command::PlanChanges => "plan (expected changes)".into(),
            Command::PlanFails(_) => "plan (expected to fail)".into(),
            Command::ValidateFails(_) => "validate (expected to fail)".into(),
            Command::Import { addr, .. } => format!("import {addr}"),
            Command::RefreshOnly => "apply -refresh-only".into(),
            Command::Destroy => "destroy".into(),
            Command::Cli { args, .. } => args.join(" "),
        }
    }
}

enum Config<X> {
    Text(String),
    With(Box<dyn Fn(&X) -> String>),
}

/// One step: a name, where it runs, an optional new main.tf, the command and what must hold.
pub struct Step<X> {
    name: String,
    dir: &'static str,
    pre: Vec<Hook<X>>,
    env: Vec<(String, String)>,
    config: Option<Config<X>>,
    command: Command,
    /// Apply with TF_LOG=trace; none of these values may appear in the output.
    trace_secrets: Option<Vec<String>>,
    /// After an apply: the plan is empty, with and without refresh.
    empty_plan_after: bool,
    output_contains: Vec<String>,
    stdout_contains: Vec<String>,
    checks: Vec<Check<X>>,
}

impl<X> Step<X> {
    fn new(name: impl Into<String>, command: Command) -> Step<X> {
        Step {
            name: name.into(),
            dir: "main",
            pre: Vec::new(),
            env: Vec::new(),
            config: None,
            command,
            trace_secrets: None,
            empty_plan_after: false,
            output_contains: Vec::new(),
            stdout_contains: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// `apply`, then the plan must be empty with and without refresh.
    pub fn apply(name: impl Into<String>) -> Step<X> {
        Step {
            empty_plan_after: true,
            ..Step::new(name, Command::Apply)
        }
    }

    /// `apply` must fail, its output containing `needle`.
    pub fn apply_fails(name: impl Into<String>, needle: impl Into<String>) -> Step<X> {
        Step::new(name, Command::ApplyFails(needle.into()))
    }

    /// The plan must be empty, with and without refresh.
    pub fn plan_empty(name: impl Into<String>) -> Step<X> {
        Step::new(name, Command::PlanEmpty)
    }

    /// The refreshed plan must show changes (its text is the output's stdout).
    pub fn plan_changes(name: impl Into<String>) -> Step<X> {
        Step::new(name, Command::PlanChanges)
    }

    /// `plan` must fail, its output containing `needle`.
    pub fn plan_fails(name: impl Into<String>, needle: impl Into<String>) -> Step<X> {
        Step::new(name, Command::PlanFails(needle.into()))
    }

    /// `validate` must fail, its output containing `needle`.
    pub fn validate_fails(name: impl Into<String>, needle: impl Into<String>) -> Step<X> {
        Step::new(name, Command::ValidateFails(needle.into()))
    }

    /// Forget `addr`, import it again (by its `id` attribute, or [`Step::id`]) and compare
    /// every attribute but `ignore` with the state before.
    pub fn import(name: impl Into<String>, addr: &str, ignore: &[&str]) -> Step<X> {
        Step::new(
            name,
            Command::Import {
                addr: addr.into(),
                id: None,
                ignore: ignore.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    /// `apply -refresh-only` must succeed.
    pub fn refresh_only(name: impl Into<String>) -> Step<X> {
        Step::new(name, Command::RefreshOnly)
    }

    /// `destroy` must succeed.
    pub fn destroy(name: impl Into<String>) -> Step<X> {
        Step::new(name, Command::Destroy)
    }

    /// Any CLI command (`-no-color` etc. as given), with the exit it must have.
    pub fn cli(name: impl Into<String>, args: &[&str], exit: Exit) -> Step<X> {
        Step::new(
            name,
            Command::Cli {
                args: args.iter().map(|s| s.to_string()).collect(),
                exit,
            },
        )
    }

    /// No CLI command: an action on the servers (seeding, a change made by hand) or a check.
    pub fn out_of_band(name: impl Into<String>, f: impl Fn(&mut World<X>) + 'static) -> Step<X> {
        Step::new(name, Command::None).pre(f)
    }

    /// Run in the workdir named `dir` (made on first use; `"main"` by default).
    pub fn on(mut self, dir: &'static str) -> Self {
        self.dir = dir;
        self
    }

    /// Write this main.tf (a `required_providers` header is added) before the command.
    pub fn config(mut self, hcl: impl Into<String>) -> Self {
        self.config = Some(Config::Text(hcl.into()));
        self
    }

    /// Write main.tf made from the context when the step runs (for values known only then).
    pub fn config_with(mut self, f: impl Fn(&X) -> String + 'static) -> Self {
        self.config = Some(Config::With(Box::new(f)));
        self
    }

    /// Set a variable in the workdir's environment (kept for the later steps there).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Run `f` first (PreConfig): out-of-band changes, files the config needs.
    pub fn pre(mut self, f: impl Fn(&mut World<X>) + 'static) -> Self {
        self.pre.push(Box::new(f));
        self
    }

    /// Apply with `TF_LOG=trace`: no line of the output may contain any of `secrets`.
    pub fn traced_without(mut self, secrets: &[&str]) -> Self {
        self.trace_secrets = Some(secrets.iter().map(|s| s.to_string()).collect());
        self
    }

    /// After an apply, do not check that the plan is empty.
    pub fn skip_plan_check(mut self) -> Self {
        self.empty_plan_after = false;
        self
    }

    /// The import id (instead of the resource's `id` attribute).
    pub fn id(mut self, import_id: impl Into<String>) -> Self {
        match &mut self.command {
            Command::Import { id, .. } => *id = Some(import_id.into()),
            _ => panic!("Step::id on a step that does not import: {}", self.name),
        }
        self
    }

    /// The command's output (stdout and stderr) must contain `needle`.
    pub fn output_contains(mut self, needle: impl Into<String>) -> Self {
        self.output_contains.push(needle.into());
        self
    }

    /// The command's stdout (a plan's text) must contain `needle`.
    pub fn stdout_contains(mut self, needle: impl Into<String>) -> Self {
        self.stdout_contains.push(needle.into());
        self
    }

    /// Run `f` after the command, with its output (Check).
    pub fn check(mut self, f: impl Fn(&mut World<X>, &Run) + 'static) -> Self {
        self.checks.push(Box::new(f));
        self
    }
}

/// A list of steps with their context, for one CLI.
pub struct Scenario<X> {
    x: X,
    attach: Attach,
    steps: Vec<Step<X>>,
    cleanup: Vec<Step<X>>,
}

impl<X> Scenario<X> {
    /// `x` is the context the steps' closures see as `world.x`; the provider is the built
    /// binary through dev_overrides unless [`Scenario::attach`] says otherwise.
    pub fn new(x: X, steps: Vec<Step<X>>) -> Scenario<X> {
        Scenario {
            x,
            attach: Attach::Binary,
            steps,
            cleanup: Vec::new(),
        }
    }

    pub fn attach(mut self, attach: Attach) -> Self {
        self.attach = attach;
        self
    }

    /// Steps run after the others, whether they passed or not (a failure here is reported
    /// only when the steps passed).
    pub fn cleanup(mut self, steps: Vec<Step<X>>) -> Self {
        self.cleanup = steps;
        self
    }
}

/// What the steps' closures get: the CLI, the context and the workdirs.
pub struct World<X> {
    pub cli: Cli,
    pub x: X,
    attach: Attach,
    dirs: BTreeMap<&'static str, Workdir>,
    current: &'static str,
}

impl<X> World<X> {
    /// The workdir named `name` (made on first use).
    pub fn dir(&mut self, name: &'static str) -> &mut Workdir {
        let (cli, attach) = (&self.cli, &self.attach);
        self.dirs
            .entry(name)
            .or_insert_with(|| Workdir::new(cli, attach.clone()))
    }

    /// The workdir of the step running.
    pub fn here(&mut self) -> &mut Workdir {
        self.dir(self.current)
    }

    fn exec(&mut self, step: &Step<X>, out: &mut Option<Run>) {
        self.current = step.dir;
        for f in &step.pre {
            f(self);
        }
        let text = match &step.config {
            Some(Config::Text(t)) => Some(t.clone()),
            Some(Config::With(f)) => Some(f(&self.x)),
            None => None,
        };
        let w = self.dir(step.dir);
        for (k, v) in &step.env {
            w.env.insert(k.clone(), v.clone());
        }
        if let Some(t) = text {
            w.write(&t);
        }
        let run = match &step.command {
            Command::None => None,
            Command::Apply => Some(match &step.trace_secrets {
                None => w.apply(),
                Some(secrets) => apply_traced(w, secrets),
            }),
            Command::ApplyFails(needle) => Some(w.apply_expect_error(needle)),
            Command::PlanEmpty => Some(w.expect_empty_plan()),
            Command::PlanChanges => Some(w.expect_changes()),
            Command::PlanFails(needle) => Some(w.plan_expect_error(needle)),
            Command::ValidateFails(needle) => Some(w.validate_expect_error(needle)),
            Command::Import { addr, id, ignore } => {
                let id = match id {
                    Some(id) => id.clone(),
                    None => w.attrs(addr)["id"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{addr} has no id attribute to import by"))
                        .to_string(),
                };
                let ignore: Vec<&str> = ignore.iter().map(String::as_str).collect();
                w.import_and_compare(addr, &id, &ignore);
                None
            }
            Command::RefreshOnly => {
                let r = w.run(&["apply", "-refresh-only", "-auto-approve", "-no-color"]);
                assert_eq!(r.code, 0, "apply -refresh-only failed:\n{}", r.all());
                Some(r)
            }
            Command::Destroy => Some(w.destroy()),
            Command::Cli { args, exit } => {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = w.run(&args);
                match exit {
                    Exit::Success => {
                        assert_eq!(r.code, 0, "{args:?} failed:\n{}", r.all())
                    }
                    Exit::Failure => {
                        assert_ne!(r.code, 0, "{args:?} should fail:\n{}", r.all())
                    }
                    Exit::Any => {}
                }
                Some(r)
            }
        };
        *out = run;
        let run = out.as_ref();
        for needle in &step.output_contains {
            let all = run.map(Run::all).unwrap_or_default();
            assert!(
                all.contains(needle.as_str()),
                "expected {needle:?} in the output"
            );
        }
        for needle in &step.stdout_contains {
            let stdout = run.map(|r| r.stdout.as_str()).unwrap_or_default();
            assert!(
                stdout.contains(needle.as_str()),
                "expected {needle:?} in stdout"
            );
        }
        if step.empty_plan_after {
            self.dir(step.dir).expect_empty_plan();
        }
        let none = Run {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
        };
        for c in &step.checks {
            c(self, run.unwrap_or(&none));
        }
    }
}

fn apply_traced(w: &Workdir, secrets: &[String]) -> Run {
    let r = w.run_env(
        &["apply", "-auto-approve", "-no-color"],
        &[("TF_LOG", "trace")],
    );
    assert_eq!(r.code, 0, "[{}] apply failed:\n{}", w.cli.label, r.all());
    let all = r.all();
    for s in secrets {
        let bad: Vec<&str> = all.lines().filter(|l| l.contains(s.as_str())).collect();
        assert!(
            bad.is_empty(),
            "[{}] a secret value appears in the TF_LOG=trace output: {:?}",
            w.cli.label,
            bad.iter().take(3).collect::<Vec<_>>()
        );
    }
    r
}

/// Progress goes to the process's stderr, past the test harness's capture, so a run shows
/// where each CLI's test is; the failure itself comes back as the test's panic.
fn progress(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// At most the first and last 10,000 characters (a TF_LOG=trace apply prints megabytes).
fn clip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 20_000 {
        return text.to_string();
    }
    let head: String = chars[..10_000].iter().collect();
    let tail: String = chars[chars.len() - 10_000..].iter().collect();
    format!(
        "{head}\n[... {} characters left out ...]\n{tail}",
        chars.len() - 20_000
    )
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "(non-string panic)".into()
    }
}

/// Run the scenario `build` makes for the CLI of `spec`: each step in order (its name printed
/// as it starts), then the cleanup steps. The first failing step fails the test with the
/// scenario, the step, the CLI and the CLI's output. A CLI this machine does not have skips
/// the test, except under `CI=true` for a CLI the stack must provide.
pub fn run<X>(spec: &super::cli::CliSpec, scenario: &str, build: fn(&Cli) -> Scenario<X>) {
    let label = spec.label();
    let cli = match spec.resolve() {
        Ok(cli) => cli,
        Err(why) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            if ci && spec.required_in_ci {
                panic!("{label} is required under CI=true but not available ({why})");
            }
            progress(&format!(
                "SKIP: {label} not available on this machine ({why})"
            ));
            return;
        }
    };
    let t0 = Instant::now();
    let Scenario {
        x,
        attach,
        steps,
        cleanup,
    } = build(&cli);
    let mut world = World {
        cli,
        x,
        attach,
        dirs: BTreeMap::new(),
        current: "main",
    };
    let mut failure: Option<String> = None;
    let total = steps.len();
    let all = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("step {}/{total}", i + 1), s))
        .chain(cleanup.iter().map(|s| ("cleanup".to_string(), s)));
    for (n, step) in all {
        let is_cleanup = n == "cleanup";
        if failure.is_some() && !is_cleanup {
            continue;
        }
        progress(&format!(
            "[{label}] {scenario} {n} ({:.0}s): {}",
            t0.elapsed().as_secs_f64(),
            step.name
        ));
        let mut out = None;
        let r = catch_unwind(AssertUnwindSafe(|| world.exec(step, &mut out)));
        let Err(p) = r else { continue };
        let mut msg = format!(
            "[{label}] {scenario} {n} \"{}\" ({} in workdir {:?}) failed:\n{}",
            step.name,
            step.command.describe(),
            step.dir,
            panic_text(p)
        );
        // A failed command's message carries its output; a failed check gets it here.
        if let Some(r) = out {
            msg.push_str(&format!(
                "\n--- output of the step's CLI command (exit {}) ---\n{}",
                r.code,
                clip(&r.all())
            ));
        }
        match &failure {
            None => failure = Some(msg),
            Some(_) => progress(&format!("(after the failure) {msg}")),
        }
    }
    if let Some(f) = failure {
        panic!("{f}");
    }
    progress(&format!(
        "[{label}] {scenario} passed in {:.0}s",
        t0.elapsed().as_secs_f64()
    ));
}
