//! The load test: N resources of mixed types (Woodpecker global and repo secrets, registries,
//! crons, users; pull-secret sets and image deployments on Kubernetes; one repo) applied with
//! `-parallelism=50`, planned empty, destroyed. The provider's debug log ("http request"
//! lines) gives the request count per system for each phase; each phase must stay within a
//! small number of requests per resource (no request storm).
//!
//! N is `CICD_LOAD_SIZE` (100 by default, what `cargo test` runs; `scripts/bench/load.py`
//! runs 500).

use crate::support::{oci_push_script, stack_env, stack_program, Cli, Exit, Run, Scenario, Step};
use std::collections::BTreeMap;
use std::time::Instant;

pub struct Load {
    env: BTreeMap<String, String>,
    p: String,
    org: String,
    ns: String,
    image_path: String,
    tag: String,
    /// Resources per kind.
    mix: BTreeMap<&'static str, usize>,
    started: Option<Instant>,
}

/// Shares of N per kind (they add up to N with the one repo).
fn mix(n: usize) -> BTreeMap<&'static str, usize> {
    let part = |pct: usize| (n * pct / 100).max(1);
    let mut m = BTreeMap::from([
        ("repo_secret", part(20)),
        ("registry", part(10)),
        ("cron", part(10)),
        ("user", part(10)),
        ("registry_credentials", part(5)),
        ("image_deployment", part(5)),
        ("repo", 1),
    ]);
    let used: usize = m.values().sum();
    m.insert("global_secret", n.saturating_sub(used).max(1));
    m
}

impl Load {
    fn total(&self) -> usize {
        self.mix.values().sum()
    }

    fn sh(&self, prog: &str, args: &[&str], stdin: Option<&str>) -> String {
        stack_program(&self.env, prog, args, stdin)
    }

    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        self.sh(&self.env["KUBECTL"].clone(), args, stdin)
    }

    fn oci_push(&self, args: &[&str]) -> String {
        self.sh(oci_push_script().to_str().unwrap(), args, None)
    }

    fn forge(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> u16 {
        let url = format!(
            "{}/api/v1{path}",
            self.env["FORGEJO_URL"].trim_end_matches('/')
        );
        let token = self.env["FORGEJO_TOKEN"].clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut r = reqwest::Client::new()
                .request(method.parse().unwrap(), url)
                .header("Authorization", format!("token {token}"));
            if let Some(b) = body {
                r = r.json(&b);
            }
            r.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        })
    }

    fn registry(&self) -> String {
        let u = &self.env["FORGEJO_URL"];
        u.split_once("://")
            .map_or(u.as_str(), |(_, r)| r)
            .trim_end_matches('/')
            .to_string()
    }

    fn repo(&self) -> String {
        self.p.replace('_', "-")
    }

    fn deployments(&self) -> usize {
        self.mix["image_deployment"]
    }

    fn namespaces(&self) -> Vec<String> {
        (0..self.mix["registry_credentials"])
            .map(|i| format!("{}-{i}", self.ns))
            .collect()
    }

    fn seed(&self) {
        let body =
            serde_json::json!({"name": self.repo(), "auto_init": true, "default_branch": "main"});
        assert_eq!(
            self.forge("POST", &format!("/orgs/{}/repos", self.org), Some(body)),
            201
        );
        self.kubectl(&["create", "namespace", &self.ns], None);
        for ns in self.namespaces() {
            self.kubectl(&["create", "namespace", &ns], None);
        }
        self.oci_push(&["push-image", &self.image_path, &self.tag]);
        let mut yaml = String::new();
        for i in 0..self.deployments() {
            yaml.push_str(&format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web-{i}}}\nspec:\n  replicas: 0\n  selector: {{matchLabels: {{app: web-{i}}}}}\n  template:\n    metadata: {{labels: {{app: web-{i}}}}}\n    spec:\n      containers: [{{name: app, image: \"{}/{}:00000000\"}}]\n",
                self.registry(),
                self.image_path
            ));
        }
        self.kubectl(&["-n", &self.ns, "apply", "-f", "-"], Some(&yaml));
    }

    fn hcl(&self) -> String {
        let m = &self.mix;
        let (p, org, repo) = (&self.p, &self.org, self.repo());
        format!(
            r#"
provider "cicd" {{}}

resource "cicd_woodpecker_repo" "r" {{
  full_name  = "{org}/{repo}"
  on_destroy = "remove"
}}

resource "cicd_woodpecker_global_secret" "g" {{
  count  = {g}
  name   = "{p}_g${{count.index}}"
  events = ["push"]
  value  = "load-${{count.index}}"
}}

resource "cicd_woodpecker_repo_secret" "s" {{
  count   = {s}
  repo_id = cicd_woodpecker_repo.r.id
  name    = "{p}_s${{count.index}}"
  events  = ["push"]
  value   = "load-${{count.index}}"
}}

resource "cicd_woodpecker_registry" "reg" {{
  count    = {reg}
  address  = "{repo}-${{count.index}}.registry.example"
  username = "ci"
  password = "load-${{count.index}}"
}}

resource "cicd_woodpecker_cron" "c" {{
  count    = {cron}
  repo_id  = cicd_woodpecker_repo.r.id
  name     = "c${{count.index}}"
  schedule = "0 ${{count.index % 24}} * * *"
}}

resource "cicd_woodpecker_user" "u" {{
  count = {user}
  login = "{repo}-u${{count.index}}"
  email = "{repo}-u${{count.index}}@example.com"
}}

{rc}
resource "cicd_image_deployment" "d" {{
  count      = {dep}
  namespace  = "{ns}"
  deployment = "web-${{count.index}}"
  container  = "app"
  image      = "{registry}/{image_path}"
  tag        = "{tag}"
  force      = true
}}
"#,
            g = m["global_secret"],
            s = m["repo_secret"],
            reg = m["registry"],
            cron = m["cron"],
            user = m["user"],
            rc = self.rc_blocks(),
            dep = m["image_deployment"],
            registry = self.registry(),
            ns = self.ns,
            image_path = self.image_path,
            tag = self.tag,
        )
    }

    /// One pull-secret set per namespace, each written out: a list with an element unknown at
    /// validate (`[local.ns[count.index]]`) is not decoded yet.
    fn rc_blocks(&self) -> String {
        let mut out = String::new();
        for (i, ns) in self.namespaces().iter().enumerate() {
            out.push_str(&format!(
                "resource \"cicd_registry_credentials\" \"rc{i}\" {{\n  name       = \"load-pull\"\n  namespaces = [\"{ns}\"]\n  registries = {{\n    \"{}\" = {{\n      username = \"viktor\"\n      password = \"load-password\"\n    }}\n  }}\n}}\n\n",
                self.registry()
            ));
        }
        out
    }

    /// Print the request count per system of one phase, and check it is bounded.
    fn report(&mut self, phase: &str, run: &Run, per_resource: f64) {
        let secs = self
            .started
            .take()
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for l in run.all().lines().filter(|l| l.contains("http request:")) {
            let sys = l
                .split("system=")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or("?");
            *counts.entry(sys.to_string()).or_default() += 1;
        }
        let total: usize = counts.values().sum();
        let retries = run
            .all()
            .lines()
            .filter(|l| l.contains("transient failure, retrying"))
            .count();
        let n = self.total();
        eprintln!(
            "[load N={n}] {phase}: {secs:.1}s, {total} requests ({:.2} per resource), {retries} retried: {counts:?}",
            total as f64 / n as f64
        );
        assert!(total > 0, "no request was logged");
        assert!(
            (total as f64) <= per_resource * n as f64,
            "{phase}: {total} requests for {n} resources is a request storm: {counts:?}"
        );
    }

    fn cleanup(&self) {
        let repo = format!("/repos/{}/{}", self.org, self.repo());
        self.forge("DELETE", &repo, None);
        let x = std::panic::AssertUnwindSafe(self);
        for ns in std::iter::once(self.ns.clone()).chain(self.namespaces()) {
            let _ = std::panic::catch_unwind(|| {
                x.kubectl(&["delete", "namespace", &ns, "--wait=false"], None)
            });
        }
        let _ = std::panic::catch_unwind(|| x.oci_push(&["delete", &x.image_path, &x.tag]));
    }
}

const DEBUG: (&str, &str) = ("TF_LOG_PROVIDER", "DEBUG");

pub fn load(cli: &Cli) -> Scenario<Load> {
    type S = Step<Load>;
    let env = stack_env();
    let n: usize = std::env::var("CICD_LOAD_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rnd = {
        use sha2::Digest;
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        hex::encode(sha2::Sha256::digest(seed.as_bytes()))
    };
    let p = format!("load_{}_{}", cli.label.replace(['.', '-'], "_"), &rnd[..6]);
    let x = Load {
        org: env
            .get("FORGEJO_TEST_ORG")
            .cloned()
            .unwrap_or_else(|| "cicd-test".into()),
        ns: format!("acc-{}", p.replace('_', "-")),
        image_path: format!("viktor/cicd-acc-{}", p.replace('_', "-")),
        tag: rnd[8..16].to_string(),
        mix: mix(n),
        started: None,
        env,
        p,
    };
    let steps = vec![
        S::out_of_band("seed: forge repo, namespaces, image, Deployments", |w| {
            w.x.seed()
        })
        .env(DEBUG.0, DEBUG.1),
        S::cli(
            "apply N mixed resources with -parallelism=50",
            &["apply", "-auto-approve", "-no-color", "-parallelism=50"],
            Exit::Success,
        )
        .config_with(Load::hcl)
        .pre(|w| {
            eprintln!("[load N={}] mix {:?}", w.x.total(), w.x.mix);
            w.x.started = Some(Instant::now());
        })
        .check(|w, run| w.x.report("apply", run, 5.0)),
        S::cli(
            "the plan after is empty",
            &["plan", "-detailed-exitcode", "-no-color", "-parallelism=50"],
            Exit::Success,
        )
        .pre(|w| w.x.started = Some(Instant::now()))
        .check(|w, run| w.x.report("plan (refresh)", run, 1.0)),
        S::cli(
            "destroy N resources with -parallelism=50",
            &["destroy", "-auto-approve", "-no-color", "-parallelism=50"],
            Exit::Success,
        )
        .pre(|w| w.x.started = Some(Instant::now()))
        .check(|w, run| w.x.report("destroy", run, 3.0)),
    ];
    Scenario::new(x, steps).cleanup(vec![S::out_of_band("remove what is left", |w| {
        w.x.cleanup()
    })])
}
