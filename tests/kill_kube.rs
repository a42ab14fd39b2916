//! Kill test: `kill -9` of terraform in the middle of an apply of N image deployments (each with
//! a rollout wait) and one `cicd_registry_credentials` over M namespaces, then `apply` again:
//! it must converge with no duplicate, orphaned or lost object, checked on the kube-apiserver
//! itself (not in the state), and the plan after it must be empty.
//!
//! Size: `KILL_DEPLOYMENTS` (default 10) and `KILL_NAMESPACES` (default 4); the full size of the
//! issue (50 and 20) runs in `scripts/bench/kill.py`.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{clis, stack_env, Attach, Workdir};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kubectl(env: &BTreeMap<String, String>, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut c = Command::new(&env["KUBECTL"]);
    c.args(args)
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("kubectl");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "kubectl {args:?}: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn json(env: &BTreeMap<String, String>, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&kubectl(env, &a, None)).unwrap()
}

fn oci_push(env: &BTreeMap<String, String>, args: &[&str]) -> bool {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut script = root.join("scripts/oci-push");
    if !script.exists() {
        if let Some(f) = env.get("STACK_ENV_FILE") {
            let main = std::path::Path::new(f).parent().and_then(|p| p.parent());
            script = main.unwrap().join("scripts/oci-push");
        }
    }
    Command::new(script)
        .args(args)
        .envs(env)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The deployments of `ns` whose `app` container runs `image`.
fn applied(env: &BTreeMap<String, String>, ns: &str, image: &str) -> usize {
    let list = json(env, &["-n", ns, "get", "deployments"]);
    let items = list["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter(|d| d["spec"]["template"]["spec"]["containers"][0]["image"] == image)
        .count()
}

#[test]
fn kill_9_mid_apply_then_apply_converges() {
    let (n, m) = (size("KILL_DEPLOYMENTS", 10), size("KILL_NAMESPACES", 4));
    let env = stack_env();
    if !env.contains_key("KUBECTL") || !env.contains_key("FORGEJO_URL") {
        panic!("the stack is not running: scripts/stack up (KUBECTL and FORGEJO_URL unset)");
    }
    let all = clis();
    let cli = all
        .iter()
        .find(|c| !c.is_tofu && c.version >= (1, 4, 0))
        .or(all.first())
        .expect("a CLI");
    let pid = std::process::id();
    let ns = format!("kill-{pid}");
    let cred_nss: Vec<String> = (0..m).map(|i| format!("kill-{pid}-c{i}")).collect();
    let host = env["FORGEJO_URL"]
        .split_once("://")
        .map_or(env["FORGEJO_URL"].as_str(), |(_, r)| r)
        .trim_end_matches('/')
        .to_string();
    let repo_path = format!("viktor/cicd-kill-{pid}");
    let repo = format!("{host}/{repo_path}");
    let tag = format!("{:08x}", pid);
    let image = format!("{repo}:{tag}");
    let names: Vec<String> = (0..n).map(|i| format!("app-{i:03}")).collect();

    let cleanup = || {
        for x in std::iter::once(&ns).chain(cred_nss.iter()) {
            let _ = Command::new(&env["KUBECTL"])
                .args(["delete", "namespace", x, "--wait=false"])
                .envs(&env)
                .output();
        }
        oci_push(&env, &["delete", &repo_path, &tag]);
    };
    struct Guard<F: Fn()>(F);
    impl<F: Fn()> Drop for Guard<F> {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    let _guard = Guard(cleanup);

    for x in std::iter::once(&ns).chain(cred_nss.iter()) {
        kubectl(&env, &["create", "namespace", x], None);
    }
    let docs: Vec<String> = names
        .iter()
        .map(|d| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {d}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {d}}}}}\n  template:\n    metadata: {{labels: {{app: {d}}}}}\n    spec:\n      containers: [{{name: app, image: \"{repo}:00000000\"}}]\n"
            )
        })
        .collect();
    kubectl(
        &env,
        &["-n", &ns, "apply", "-f", "-"],
        Some(&docs.join("---\n")),
    );
    assert!(oci_push(&env, &["push-image", &repo_path, &tag]), "push");

    let w = Workdir::new(cli, Attach::Binary);
    w.write(&format!(
        r#"
resource "cicd_image_deployment" "app" {{
  for_each   = toset({names:?})
  namespace  = "{ns}"
  deployment = each.key
  container  = "app"
  image      = "{repo}"
  tag        = "{tag}"
}}

resource "cicd_registry_credentials" "pull" {{
  namespaces = {cred_nss:?}
  registries = {{ "{host}" = {{ username = "ci", password = "kill-test-password" }} }}
}}
"#
    ));

    // The first apply, killed with SIGKILL once some deployments are applied.
    let mut c = Command::new(&cli.path);
    c.args(["apply", "-auto-approve", "-no-color", "-parallelism=4"])
        .current_dir(w.path())
        .env_clear()
        .envs(&w.env)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let started = Instant::now();
    let mut at_kill = 0;
    while started.elapsed() < Duration::from_secs(120) {
        at_kill = applied(&env, &ns, &image);
        if at_kill > 0 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let finished_first = child.try_wait().unwrap().is_some();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !finished_first,
        "the first apply ended before it could be killed"
    );
    eprintln!(
        "kill test: terraform killed (SIGKILL) {:.1}s into the apply, {at_kill} of {n} deployments applied",
        started.elapsed().as_secs_f64()
    );

    // The second apply converges.
    let t = Instant::now();
    let r = w.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 0, "second apply:\n{}", r.all());
    let second = t.elapsed();

    // The API server, not the state: every object exactly once, as configured.
    let mut checked = 0;
    let list = json(
        &env,
        &["-n", &ns, "get", "deployments", "--show-managed-fields"],
    );
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), n, "no Deployment lost or added");
    for d in items {
        let name = d["metadata"]["name"].as_str().unwrap();
        let cs = d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(cs.len(), 1, "{name}: one container");
        assert_eq!(cs[0]["image"], image.as_str(), "{name}: the image applied");
        let owners: Vec<&str> = d["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["manager"] == "cicd" && m["operation"] == "Apply")
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert_eq!(owners, ["cicd"], "{name}: one apply entry of cicd");
        let st = &d["status"];
        assert_eq!(st["updatedReplicas"], 1, "{name}: rolled out: {st}");
        checked += 1;
    }
    let rs = json(&env, &["-n", &ns, "get", "replicasets"]);
    let live_rs = rs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["spec"]["replicas"].as_i64().unwrap_or(0) > 0)
        .count();
    assert_eq!(live_rs, n, "one scaled-up ReplicaSet per Deployment");
    checked += rs["items"].as_array().unwrap().len();
    for x in std::iter::once(&ns).chain(cred_nss.iter()) {
        let secrets = json(&env, &["-n", x, "get", "secrets"]);
        let pulls: Vec<&serde_json::Value> = secrets["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["type"] == "kubernetes.io/dockerconfigjson")
            .collect();
        checked += pulls.len();
        if x == &ns {
            assert!(
                pulls.is_empty(),
                "no pull secret outside the configured namespaces"
            );
            continue;
        }
        assert_eq!(pulls.len(), 1, "{x}: exactly one pull secret");
        assert_eq!(pulls[0]["metadata"]["name"], "registry-credentials", "{x}");
    }
    let (code, plan) = {
        let r = w.run(&["plan", "-detailed-exitcode", "-no-color"]);
        (r.code, r)
    };
    assert_eq!(code, 0, "empty plan after convergence:\n{}", plan.all());
    eprintln!(
        "kill test: {n} deployments + {m} namespaces of credentials: second apply {:.1}s, {checked} objects checked on the API server, plan empty",
        second.as_secs_f64()
    );
}
