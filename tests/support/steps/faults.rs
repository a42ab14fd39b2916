//! Steps for the fault-injection acceptance tests: the provider talks to OpenBao, Gitea and the
//! Woodpecker double through `crates/fault-proxy` (its settings point at the proxies), and
//! Kubernetes through the proxy's TCP mode (a copy of the kubeconfig names the proxy).
//!
//! - `transient`: apply, refresh and an empty plan of every Woodpecker, Forgejo and Vault type
//!   with 20% of requests failing transiently (503, 502, 429 with `Retry-After`, resets before
//!   forwarding, cut answers; for POSTs 503, resets and lost answers; at most 2 in a row for one
//!   request, so each passes on a retry; Kubernetes gets latency only: see the note in
//!   `transient`). Prints the faults the
//!   proxies injected, the retries the provider logged and the backoff time they added.
//! - `permanent`: the 3rd of 5 secret creations fails permanently (500) mid-apply: the state
//!   holds exactly the secrets the server has; the next apply, proxy healthy, converges and
//!   plans empty.

use crate::support::{
    oci_push_script, stack_env, stack_program, Cli, Exit, Run, Scenario, Step, World,
};
use cicd::clients::woodpecker::{Scope, WoodpeckerClient, WoodpeckerConfig};
use fault_proxy::{addr_of, Fault, Mode, Proxy, Rule, Stats};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

pub struct Faults {
    env: BTreeMap<String, String>,
    rt: tokio::runtime::Runtime,
    api: WoodpeckerClient,
    /// Vault, Forgejo, Woodpecker, Kubernetes.
    proxies: Vec<(&'static str, Proxy)>,
    p: String,
    org: String,
    /// Kubernetes namespace and the image (a package of the forge's registry) deployed in it.
    ns: String,
    image_path: String,
    tag: String,
}

fn suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32);
    (0..6)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize] as char;
            x /= 36;
            c
        })
        .collect()
}

impl Faults {
    fn new(cli: &Cli, test: &str) -> (Faults, Vec<(String, String)>) {
        let env = stack_env();
        for k in [
            "VAULT_ADDR",
            "FORGEJO_URL",
            "WOODPECKER_SERVER",
            "WOODPECKER_TOKEN",
            "KUBECONFIG",
        ] {
            assert!(
                env.get(k).is_some_and(|v| !v.is_empty()),
                "{k} unset: run `scripts/stack up` (or set STACK_ENV_FILE)"
            );
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        eprintln!("[{test}] fault-proxy seed {seed}");
        let mut proxies = Vec::new();
        let mut settings = Vec::new();
        for (i, (system, var)) in [
            ("Vault", "VAULT_ADDR"),
            ("Forgejo", "FORGEJO_URL"),
            ("Woodpecker", "WOODPECKER_SERVER"),
        ]
        .into_iter()
        .enumerate()
        {
            let up = addr_of(&env[var]).unwrap_or_else(|| panic!("{var} is not an address"));
            let p = Proxy::spawn(up, Mode::Http, seed + i as u64).unwrap();
            settings.push((var.to_string(), p.url()));
            proxies.push((system, p));
        }
        // Kubernetes: the kubeconfig's server, through the TCP mode.
        let kc = std::fs::read_to_string(&env["KUBECONFIG"]).unwrap();
        let server = kc
            .lines()
            .find_map(|l| l.trim().strip_prefix("server:"))
            .map(|s| s.trim().to_string())
            .expect("a server in the kubeconfig");
        let up = addr_of(&server).unwrap();
        let kp = Proxy::spawn(up, Mode::Tcp, seed + 9).unwrap();
        let dir = std::env::temp_dir().join(format!("cicd-faults-{test}-{}", suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let kc_path = dir.join("kubeconfig");
        let host = up.to_string();
        std::fs::write(&kc_path, kc.replace(&host, &kp.addr().to_string())).unwrap();
        settings.push(("KUBECONFIG".into(), kc_path.display().to_string()));
        proxies.push(("Kubernetes", kp));

        let api = WoodpeckerClient::with_cache_ttl(
            &WoodpeckerConfig {
                server: env["WOODPECKER_SERVER"].clone(),
                token: tfplugin::secret::Secret::new(env["WOODPECKER_TOKEN"].clone()),
            },
            Duration::ZERO,
        );
        let org = env
            .get("FORGEJO_TEST_ORG")
            .cloned()
            .unwrap_or_else(|| "cicd-test".into());
        let p = format!("{test}_{}_{}", cli.label.replace(['.', '-'], "_"), suffix());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (
            Faults {
                ns: format!("acc-{}", p.replace('_', "-")),
                image_path: format!("viktor/cicd-acc-{}", p.replace('_', "-")),
                tag: {
                    use sha2::Digest;
                    hex::encode(sha2::Sha256::digest(p.as_bytes()))[..8].to_string()
                },
                env,
                rt,
                api,
                proxies,
                p,
                org,
            },
            settings,
        )
    }

    fn proxy(&self, system: &str) -> &Proxy {
        &self.proxies.iter().find(|(s, _)| *s == system).unwrap().1
    }

    /// Rules for every proxy; at most 2 faults in a row for one request (transient: the third
    /// attempt passes, well within the provider's 5).
    fn set_all(&self, http: Vec<Rule>, tcp: Vec<Rule>) {
        for (s, p) in &self.proxies {
            p.set_streak_limit(Some(2));
            p.set_rules(if *s == "Kubernetes" {
                tcp.clone()
            } else {
                http.clone()
            });
        }
    }

    fn secret_names(&self) -> BTreeSet<String> {
        self.rt
            .block_on(self.api.secrets(Scope::Global))
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .filter(|n| n.starts_with(&self.p))
            .collect()
    }

    fn bao(&self, args: &[&str]) {
        let out = Command::new(&self.env["BAO"])
            .args(args)
            .envs(&self.env)
            .output()
            .unwrap();
        assert!(out.status.success(), "bao {args:?}: {out:?}");
    }

    fn forge(&self, m: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> u16 {
        let url = format!(
            "{}/api/v1{path}",
            self.env["FORGEJO_URL"].trim_end_matches('/')
        );
        let token = self.env["FORGEJO_TOKEN"].clone();
        self.rt.block_on(async {
            let mut r = reqwest::Client::new()
                .request(m, url)
                .header("Authorization", format!("token {token}"));
            if let Some(b) = body {
                r = r.json(&b);
            }
            r.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        })
    }

    /// A program of the stack (kubectl, bao, the oci-push script), which must succeed.
    fn sh(&self, prog: &str, args: &[&str], stdin: Option<&str>) -> String {
        stack_program(&self.env, prog, args, stdin)
    }

    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        self.sh(&self.env["KUBECTL"].clone(), args, stdin)
    }

    fn oci_push(&self, args: &[&str]) -> String {
        self.sh(oci_push_script().to_str().unwrap(), args, None)
    }

    /// The registry as the provider reaches it: the forge's proxy.
    fn registry(&self) -> String {
        self.proxy("Forgejo").addr().to_string()
    }

    /// Namespace, an image in the registry, a Deployment running an older one.
    fn seed_kube(&self) {
        self.kubectl(&["create", "namespace", &self.ns], None);
        self.oci_push(&["push-image", &self.image_path, &self.tag]);
        let name = "web";
        let yaml = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers: [{{name: app, image: \"{}/{}:00000000\"}}]\n",
            self.registry(),
            self.image_path
        );
        self.kubectl(&["-n", &self.ns, "apply", "-f", "-"], Some(&yaml));
    }

    fn repo(&self) -> String {
        self.p.replace('_', "-")
    }

    /// Print what the proxies injected and what the provider retried (from its debug log).
    fn report(&self, what: &str, run: &Run) -> (u64, u64) {
        let log = run.all();
        let retries: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("transient failure, retrying"))
            .collect();
        let backoff_ms: u64 = retries
            .iter()
            .filter_map(|l| l.split("delay_ms=").nth(1))
            .filter_map(|s| {
                s.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|d| d.parse::<u64>().ok())
            })
            .sum();
        let mut failures = 0;
        for (s, p) in &self.proxies {
            let st: Stats = p.stats();
            failures += st.failures();
            eprintln!(
                "[{}] {what}: {s}: {} requests/connections received, {} forwarded, faults {:?}, latency added {} ms",
                self.p, st.received, st.forwarded, st.faults, st.latency_ms
            );
            p.reset_stats();
        }
        eprintln!(
            "[{}] {what}: {failures} transient faults injected; the provider retried {} times, adding {} ms of backoff",
            self.p,
            retries.len(),
            backoff_ms
        );
        (failures, retries.len() as u64)
    }
}

fn hcl(x: &Faults) -> String {
    format!(
        r#"
provider "cicd" {{}}

data "cicd_vault_kv_keys" "k" {{
  path = "acc/{p}"
}}

resource "cicd_woodpecker_global_secret" "g" {{
  for_each = data.cicd_vault_kv_keys.k.keys
  name     = "{p}_${{each.key}}"
  events   = ["push"]
  value_from_vault {{
    path = "acc/{p}"
    key  = each.key
  }}
}}

resource "cicd_woodpecker_repo" "r" {{
  full_name = "{org}/{repo}"
  timeout   = 45
  on_destroy = "remove"
}}

data "cicd_woodpecker_repo" "r" {{
  full_name  = cicd_woodpecker_repo.r.full_name
}}

resource "cicd_woodpecker_repo_secret" "s" {{
  repo_id = cicd_woodpecker_repo.r.id
  name    = "{p}_repo"
  events  = ["push"]
  value   = "repo-secret-{p}"
}}

resource "cicd_woodpecker_org_secret" "o" {{
  org    = "{org}"
  name   = "{p}_org"
  events = ["push"]
  value  = "org-secret-{p}"
  # On a fresh server the org exists only once a repo of it is activated (by this apply).
  depends_on = [cicd_woodpecker_repo.r]
}}

resource "cicd_woodpecker_registry" "reg" {{
  address  = "{repo}.registry.example"
  username = "ci"
  password_from_vault {{
    path = "acc/{p}"
    key  = "k0"
  }}
}}

resource "cicd_woodpecker_cron" "c" {{
  repo_id  = cicd_woodpecker_repo.r.id
  name     = "nightly"
  schedule = "0 3 * * *"
}}

resource "cicd_woodpecker_user" "u" {{
  login = "{repo}"
  email = "{repo}@example.com"
}}

resource "cicd_forgejo_package_retention" "ret" {{
  owner     = "{org}"
  packages  = ["{repo}-none"]
  keep_last = 3
}}

data "cicd_registry_integrity" "i" {{
  owner            = "{org}"
  repository_regex = "{repo}-none"
}}

resource "cicd_registry_credentials" "rc" {{
  namespaces = ["{ns}"]
  registries = {{
    "{registry}" = {{
      username            = "viktor"
      password_from_vault = {{ path = "acc/{p}", key = "k1" }}
    }}
  }}
}}

resource "cicd_image_deployment" "web" {{
  namespace  = "{ns}"
  deployment = "web"
  container  = "app"
  image      = "{registry}/{image_path}"
  tag        = "{tag}"
  force      = true
}}

output "repo_id" {{ value = data.cicd_woodpecker_repo.r.id }}
output "broken" {{ value = data.cicd_registry_integrity.i.broken_count }}
"#,
        p = x.p,
        org = x.org,
        repo = x.repo(),
        ns = x.ns,
        registry = x.registry(),
        image_path = x.image_path,
        tag = x.tag,
    )
}

const DEBUG: (&str, &str) = ("TF_LOG_PROVIDER", "DEBUG");

pub fn transient(cli: &Cli) -> Scenario<Faults> {
    type S = Step<Faults>;
    let (x, settings) = Faults::new(cli, "faults_transient");
    let mut first = S::out_of_band(
        "seed: a forge repo, 3 Vault keys; 20% of requests fail",
        |w| {
            let x = &w.x;
            let body =
                serde_json::json!({"name": x.repo(), "auto_init": true, "default_branch": "main"});
            assert_eq!(
                x.forge(
                    reqwest::Method::POST,
                    &format!("/orgs/{}/repos", x.org),
                    Some(body)
                ),
                201
            );
            x.bao(&[
                "kv",
                "put",
                &format!("secret/acc/{}", x.p),
                "k0=v0",
                "k1=v1",
                "k2=v2",
            ]);
            x.seed_kube();
            x.set_all(
                Rule::transient_mix(0.2),
                // kube-apiserver is TLS: faults per connection (kube-rs keeps a few open).
                vec![
                    Rule::always(Fault::Reset).probability(0.2),
                    Rule::always(Fault::Latency { ms: 50 }).probability(0.2),
                ],
            );
        },
    );
    for (k, v) in settings {
        first = first.env(&k, v);
    }
    let steps = vec![
        first.env(DEBUG.0, DEBUG.1),
        S::cli(
            "apply every type under 20% transient faults",
            &["apply", "-auto-approve", "-no-color"],
            Exit::Success,
        )
        .config_with(hcl)
        .check(|w, run| {
            let (faults, retries) = w.x.report("apply", run);
            assert!(faults > 0, "the proxies injected no fault");
            assert!(retries > 0, "the provider retried nothing");
            assert_eq!(
                w.x.secret_names().len(),
                3,
                "one global secret per Vault key"
            );
            let image = w.x.kubectl(
                &[
                    "-n",
                    &w.x.ns,
                    "get",
                    "deployment",
                    "web",
                    "-o",
                    "jsonpath={.spec.template.spec.containers[0].image}",
                ],
                None,
            );
            assert!(image.ends_with(&format!(":{}", w.x.tag)), "{image}");
        }),
        S::cli(
            "refresh every type under 20% transient faults",
            &["apply", "-refresh-only", "-auto-approve", "-no-color"],
            Exit::Success,
        )
        .check(|w, run| {
            w.x.report("refresh", run);
        }),
        S::cli(
            "plan under 20% transient faults is empty",
            &["plan", "-detailed-exitcode", "-no-color"],
            Exit::Success,
        )
        .check(|w, run| {
            w.x.report("plan", run);
        }),
    ];
    let cleanup = vec![S::out_of_band(
        "heal the proxies, destroy, remove the forge repo",
        |w| {
            w.x.set_all(vec![], vec![]);
            let r = w.here().destroy();
            assert_eq!(r.code, 0, "destroy: {}", r.all());
            let repo = format!("/repos/{}/{}", w.x.org, w.x.repo());
            w.x.forge(reqwest::Method::DELETE, &repo, None);
            let x = std::panic::AssertUnwindSafe(&w.x);
            let _ = std::panic::catch_unwind(|| {
                x.kubectl(&["delete", "namespace", &x.ns, "--wait=false"], None)
            });
            let _ = std::panic::catch_unwind(|| x.oci_push(&["delete", &x.image_path, &x.tag]));
            assert!(w.x.secret_names().is_empty());
        },
    )];
    Scenario::new(x, steps).cleanup(cleanup)
}

fn five(x: &Faults) -> String {
    let mut s = String::from("provider \"cicd\" {}\n");
    for i in 0..5 {
        s.push_str(&format!(
            "\nresource \"cicd_woodpecker_global_secret\" \"s{i}\" {{\n  name   = \"{p}_{i}\"\n  events = [\"push\"]\n  value  = \"value-{i}\"\n}}\n",
            p = x.p
        ));
    }
    s
}

/// Global secret names in the state.
fn state_names<X>(w: &mut World<X>) -> BTreeSet<String> {
    let st = w.here().state();
    let mut out = BTreeSet::new();
    for r in st["values"]["root_module"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if let Some(n) = r["values"]["name"].as_str() {
            out.insert(n.to_string());
        }
    }
    out
}

pub fn permanent(cli: &Cli) -> Scenario<Faults> {
    type S = Step<Faults>;
    let (x, settings) = Faults::new(cli, "faults_permanent");
    let mut first = S::out_of_band("the 3rd secret creation will fail permanently (500)", |w| {
        let rule = Rule::always(Fault::Status {
            status: 500,
            retry_after: None,
        })
        .method("POST")
        .path("/api/secrets")
        .skip(2)
        .count(1);
        w.x.proxy("Woodpecker").set_rules(vec![rule]);
    });
    for (k, v) in settings {
        first = first.env(&k, v);
    }
    let steps = vec![
        first,
        S::cli(
            "apply 5 secrets one at a time: the 3rd fails",
            &["apply", "-auto-approve", "-no-color", "-parallelism=1"],
            Exit::Failure,
        )
        .config_with(five)
        .output_contains("injected 500")
        .check(|w, _| {
            let server = w.x.secret_names();
            let state = state_names(w);
            eprintln!(
                "[{}] after the failed apply: server {server:?}, state {state:?}",
                w.x.p
            );
            assert_eq!(
                server.len(),
                4,
                "the failed creation made nothing: {server:?}"
            );
            assert_eq!(state, server, "the state holds exactly what the server has");
        }),
        S::apply("the next apply, proxy healthy, converges").check(|w, _| {
            assert_eq!(w.x.secret_names().len(), 5);
            assert_eq!(state_names(w), w.x.secret_names());
        }),
        S::destroy("destroy").check(|w, _| assert!(w.x.secret_names().is_empty())),
    ];
    let cleanup = vec![S::out_of_band("remove what is left", |w| {
        for n in w.x.secret_names() {
            let _ = w.x.rt.block_on(w.x.api.delete_secret(Scope::Global, &n));
        }
    })];
    Scenario::new(x, steps).cleanup(cleanup)
}
