//! The Kubernetes client against the stack's real kube-apiserver (kwok nodes run the pods):
//! concurrent writers of one Deployment, and the cost of many rollout waits in one namespace.

mod support;

use cicd::clients::http::request_count;
use cicd::clients::kubernetes::{self, KubeClient, KubeConfig, SYSTEM};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn env() -> BTreeMap<String, String> {
    let e = support::stack_env();
    assert!(
        e.contains_key("KUBECONFIG") && e.contains_key("KUBECTL"),
        "the stack is not running: scripts/stack up (KUBECONFIG and KUBECTL unset)"
    );
    e
}

fn kubectl(e: &BTreeMap<String, String>, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut c = Command::new(&e["KUBECTL"]);
    c.args(args)
        .envs(e)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A namespace for one test, removed when dropped.
struct Ns(BTreeMap<String, String>, String);

impl Ns {
    fn new(e: &BTreeMap<String, String>, name: &str) -> Ns {
        let _ = Command::new(&e["KUBECTL"])
            .args(["delete", "namespace", name, "--wait=true"])
            .envs(e)
            .output();
        kubectl(e, &["create", "namespace", name], None);
        Ns(e.clone(), name.to_string())
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new(&self.0["KUBECTL"])
            .args(["delete", "namespace", &self.1, "--wait=false"])
            .envs(&self.0)
            .output();
    }
}

fn deployment(name: &str, containers: &[&str]) -> String {
    let cs: Vec<String> = containers
        .iter()
        .map(|c| format!("{{name: {c}, image: \"r.example/{c}:0\"}}"))
        .collect();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers: [{}]\n",
        cs.join(", ")
    )
}

async fn client(e: &BTreeMap<String, String>) -> KubeClient {
    let cfg = KubeConfig::Kubeconfig {
        path: Some(e["KUBECONFIG"].clone()),
        context: None,
    };
    KubeClient::connect(&cfg).await.unwrap()
}

fn image(e: &BTreeMap<String, String>, ns: &str, name: &str, container: &str) -> String {
    kubectl(
        e,
        &[
            "-n",
            ns,
            "get",
            "deployment",
            name,
            "-o",
            &format!(
                "jsonpath={{.spec.template.spec.containers[?(@.name==\"{container}\")].image}}"
            ),
        ],
        None,
    )
}

/// Two processes (two clients) own the images of two containers of one Deployment. The one
/// whose copy of the Deployment is stale must not put the other's old image back: its apply
/// carries the resource version it read, is refused (409), reads again and applies again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_apply_never_reverts_another_process() {
    let e = env();
    let ns = Ns::new(&e, &format!("kc-stale-{}", std::process::id()));
    kubectl(
        &e,
        &["-n", &ns.1, "apply", "-f", "-"],
        Some(&deployment("web", &["app", "side"])),
    );
    let (a, b) = (client(&e).await, client(&e).await);
    a.apply_image(&ns.1, "web", "app", "r.example/app:1", true)
        .await
        .map_err(|e| e.detail())
        .unwrap();
    a.apply_image(&ns.1, "web", "side", "r.example/side:1", true)
        .await
        .map_err(|e| e.detail())
        .unwrap();
    // Process B changes the side container; A's copy is now stale.
    let stale = a.deployment(&ns.1, "web").await.unwrap().unwrap();
    b.apply_image(&ns.1, "web", "side", "r.example/side:2", true)
        .await
        .map_err(|e| e.detail())
        .unwrap();

    // An apply built from the stale copy is refused, not applied.
    let body = kubernetes::image_apply_body_from(&stale, &ns.1, "web", "app", false, "x:9");
    assert_eq!(
        body["spec"]["template"]["spec"]["containers"][1]["image"],
        "r.example/side:1"
    );
    let kc = kube::config::Kubeconfig::read_from(&e["KUBECONFIG"]).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(kube::Client::try_from(cfg).unwrap(), &ns.1);
    let pp = kube::api::PatchParams::apply(kubernetes::FIELD_MANAGER).force();
    let r = api.patch("web", &pp, &kube::api::Patch::Apply(&body)).await;
    match r {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 409, "{s:?}"),
        other => panic!("a stale apply went through: {:?}", other.map(|_| ())),
    }
    assert_eq!(image(&e, &ns.1, "web", "side"), "r.example/side:2");

    // A's own apply reads again after the 409 and keeps B's image.
    a.apply_image(&ns.1, "web", "app", "r.example/app:2", true)
        .await
        .map_err(|e| e.detail())
        .unwrap();
    assert_eq!(image(&e, &ns.1, "web", "app"), "r.example/app:2");
    assert_eq!(
        image(&e, &ns.1, "web", "side"),
        "r.example/side:2",
        "not reverted"
    );
}

/// Issue #13's goal: an apply of N image deployments in one namespace costs at most two
/// Kubernetes requests per resource plus one watch for the namespace, whatever N.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_waits_share_one_watch_per_namespace() {
    let e = env();
    let n = 8;
    let ns = Ns::new(&e, &format!("kc-watch-{}", std::process::id()));
    let names: Vec<String> = (0..n).map(|i| format!("app-{i}")).collect();
    let docs: Vec<String> = names.iter().map(|d| deployment(d, &["app"])).collect();
    kubectl(
        &e,
        &["-n", &ns.1, "apply", "-f", "-"],
        Some(&docs.join("---\n")),
    );
    let kube = std::sync::Arc::new(client(&e).await);
    let before = request_count(SYSTEM);
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for name in names.clone() {
        let (kube, ns, cancel) = (kube.clone(), ns.1.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            let applied = kube
                .apply_image(&ns, &name, "app", "r.example/app:1", true)
                .await
                .map_err(|e| e.detail())
                .unwrap();
            let d = kube
                .wait_rollout(
                    &ns,
                    &name,
                    applied.deployment,
                    Duration::from_secs(120),
                    &cancel,
                )
                .await;
            assert!(d.is_ok(), "{name}: rollout did not complete");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let used = request_count(SYSTEM) - before;
    eprintln!("{n} image applies + rollout waits in one namespace: {used} Kubernetes requests");
    assert!(
        used <= 2 * n as u64 + 1,
        "{used} requests for {n} resources (goal: <= 2 per resource + 1 watch)"
    );
}

/// StopProvider: a rollout wait ends within a second of the cancellation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_rollout_wait_ends_within_a_second() {
    let e = env();
    let ns = Ns::new(&e, &format!("kc-cancel-{}", std::process::id()));
    // Never schedulable: the rollout cannot complete.
    let doc = deployment("stuck", &["app"]).replace(
        "    spec:\n",
        "    spec:\n      nodeSelector: {stack.local/never: \"true\"}\n",
    );
    kubectl(&e, &["-n", &ns.1, "apply", "-f", "-"], Some(&doc));
    let kube = client(&e).await;
    let applied = kube
        .apply_image(&ns.1, "stuck", "app", "r.example/app:1", true)
        .await
        .map_err(|e| e.detail())
        .unwrap();
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        c.cancel();
    });
    let t = std::time::Instant::now();
    let r = kube
        .wait_rollout(
            &ns.1,
            "stuck",
            applied.deployment,
            Duration::from_secs(60),
            &cancel,
        )
        .await;
    let waited = t.elapsed();
    assert!(matches!(r, Err(kubernetes::RolloutError::Cancelled { .. })));
    assert!(
        waited < Duration::from_secs(3),
        "cancelled after 2 s, returned after {waited:?}"
    );
}

/// A TCP relay to the API server whose connections can all be cut at once (a dropped watch).
struct Relay {
    addr: std::net::SocketAddr,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> =
            Default::default();
        let c = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        });
        Relay { addr, conns }
    }

    fn cut(&self) -> usize {
        let mut c = self.conns.lock().unwrap();
        let n = c.len();
        for t in c.drain(..) {
            t.abort();
        }
        n
    }
}

/// A watch that drops in the middle of a rollout wait is started again from a fresh read, and
/// the wait ends when the rollout completes (it used to fail the apply).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_watch_is_resumed_until_the_rollout_completes() {
    let e = env();
    let ns = Ns::new(&e, &format!("kc-drop-{}", std::process::id()));
    let doc = deployment("web", &["app"]).replace(
        "    spec:\n",
        "    spec:\n      nodeSelector: {stack.local/never: \"true\"}\n",
    );
    kubectl(&e, &["-n", &ns.1, "apply", "-f", "-"], Some(&doc));
    // The same kubeconfig, through the relay.
    let api = e["KUBE_API"].clone();
    let upstream = api.trim_start_matches("https://").to_string();
    let relay = Relay::start(upstream).await;
    let text = std::fs::read_to_string(&e["KUBECONFIG"]).unwrap();
    let relayed = text.replace(&api, &format!("https://{}", relay.addr));
    assert_ne!(relayed, text, "the kubeconfig names {api}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, relayed).unwrap();
    let kube = KubeClient::connect(&KubeConfig::Kubeconfig {
        path: Some(path.display().to_string()),
        context: None,
    })
    .await
    .unwrap();
    let applied = kube
        .apply_image(&ns.1, "web", "app", "r.example/app:1", true)
        .await
        .map_err(|e| e.detail())
        .unwrap();
    let cancel = CancellationToken::new();
    let wait = kube.wait_rollout(
        &ns.1,
        "web",
        applied.deployment,
        Duration::from_secs(60),
        &cancel,
    );
    let chaos = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let cut = relay.cut();
        assert!(cut > 0, "no connection to cut");
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Now the rollout can complete: scaled to zero.
        let e = e.clone();
        let ns = ns.1.clone();
        tokio::task::spawn_blocking(move || {
            kubectl(
                &e,
                &["-n", &ns, "scale", "deployment/web", "--replicas=0"],
                None,
            )
        })
        .await
        .unwrap();
    };
    let (r, ()) = tokio::join!(wait, chaos);
    assert!(r.is_ok(), "the wait did not survive the dropped watch");
}
