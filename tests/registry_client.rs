//! The OCI and forge clients against the stack's real forge (they fail when the stack is not
//! up, like every stack test): token challenge, HEAD/GET of an index and its children, tags
//! paging, catalog; the forge's registry reached over http on a non-loopback address; the
//! packages listing past 50 versions.

mod support;

use cicd::clients::forgejo::ForgejoClient;
use cicd::clients::registry::{ManifestKind, RegistryClient};
use std::collections::BTreeMap;
use std::process::Command;
use tfplugin::secret::Secret;

fn oci_push(env: &BTreeMap<String, String>, args: &[&str]) -> String {
    let script = oci_push_script()
        .expect("scripts/oci-push not found: the tests push images with it (or set OCI_PUSH)");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `scripts/oci-push` of this checkout, or `OCI_PUSH` when set.
fn oci_push_script() -> Option<std::path::PathBuf> {
    std::env::var("OCI_PUSH")
        .ok()
        .map(std::path::PathBuf::from)
        .or_else(|| Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/oci-push")))
        .filter(|p| p.exists())
}

/// The stack's settings; fails when the stack is not up.
fn stack() -> BTreeMap<String, String> {
    let env = support::stack_env();
    for k in ["FORGEJO_URL", "FORGEJO_USER", "FORGEJO_TOKEN"] {
        assert!(
            env.contains_key(k),
            "{k} unset: run `scripts/stack up` (or set STACK_ENV_FILE)"
        );
    }
    env
}

async fn delete_package(env: &BTreeMap<String, String>, owner: &str, name: &str) {
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/api/v1/packages/{owner}/container/{name}",
            env["FORGEJO_URL"]
        ))
        .header("Authorization", format!("token {}", env["FORGEJO_TOKEN"]))
        .send()
        .await
        .unwrap();
    eprintln!("cleanup {owner}/{name}: {}", r.status());
}

/// A non-loopback address of this machine (the source address of a route out).
fn non_loopback_ip() -> std::net::IpAddr {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("198.51.100.1:9")
        .expect("this test needs a non-loopback network interface with a route");
    let ip = s.local_addr().unwrap().ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
    ip
}

/// Forward TCP from a port on `ip` to `to`: the forge as a host that is not loopback.
async fn forward(ip: std::net::IpAddr, to: String) -> String {
    let l = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut a, _)) = l.accept().await {
            let to = to.clone();
            tokio::spawn(async move {
                if let Ok(mut b) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
                }
            });
        }
    });
    addr
}

/// An http forge on a host that is not loopback: its registry is reached over http too (the
/// scheme comes from the forge's URL, not from a guess on the host name).
#[tokio::test]
async fn http_forge_on_a_non_loopback_host() {
    let env = stack();
    let url = url::Url::parse(&env["FORGEJO_URL"]).unwrap();
    assert_eq!(
        url.scheme(),
        "http",
        "the stack's forge is served over http"
    );
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(80));
    let addr = forward(non_loopback_ip(), target).await;
    let user = &env["FORGEJO_USER"];
    let name = format!("nonloop-probe-{}", std::process::id());
    let digest = oci_push(&env, &["push-image", &format!("{user}/{name}"), "v1"]);

    let token = Secret::new(env["FORGEJO_TOKEN"].clone());
    let fj = ForgejoClient::new(&format!("http://{addr}"), token.clone());
    let host = fj.registry_host();
    assert_eq!(host, addr);
    let reg = RegistryClient::new();
    reg.set_scheme(&host, &fj.registry_scheme());
    reg.set_basic(&host, user, token);
    let m = reg
        .head_manifest(&host, &format!("{user}/{name}"), "v1")
        .await;
    delete_package(&env, user, &name).await;
    assert_eq!(m.unwrap().unwrap().digest, digest);
}

/// More than 50 versions: the listing pages until it has them all.
#[tokio::test]
async fn package_listing_past_one_page() {
    let env = stack();
    let user = &env["FORGEJO_USER"];
    let org = format!("paging-probe-{}", std::process::id());
    let api = |m: reqwest::Method, path: &str| {
        reqwest::Client::new()
            .request(m, format!("{}{path}", env["FORGEJO_URL"]))
            .header("Authorization", format!("token {}", env["FORGEJO_TOKEN"]))
    };
    let r = api(reqwest::Method::POST, "/api/v1/orgs")
        .json(&serde_json::json!({"username": org, "visibility": "public"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "create org: {}", r.status());
    oci_push(&env, &["seed-many", &format!("{org}/app"), "120"]);
    let fj = ForgejoClient::new(
        &env["FORGEJO_URL"],
        Secret::new(env["FORGEJO_TOKEN"].clone()),
    );
    let vs = fj.list_versions(&org, "container").await;
    delete_package(&env, &org, "app").await;
    let _ = api(reqwest::Method::DELETE, &format!("/api/v1/orgs/{org}"))
        .send()
        .await;
    let vs = vs.unwrap();
    let tags: std::collections::BTreeSet<&str> = vs.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(vs.len(), 120, "{user}: {tags:?}");
    assert_eq!(tags.len(), 120);
    assert!(
        vs.iter().all(|v| v.created_at > 1_600_000_000),
        "dates read"
    );
}

#[tokio::test]
async fn registry_client_against_the_stack() {
    let env = stack();
    let url = &env["FORGEJO_URL"];
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let user = &env["FORGEJO_USER"];
    let repo = format!("{user}/client-probe-{}", std::process::id());
    let idx: serde_json::Value = serde_json::from_str(&oci_push(
        &env,
        &[
            "push-index",
            &repo,
            "multi",
            "--platforms",
            "linux/amd64,linux/arm64/v8",
        ],
    ))
    .unwrap();
    for i in 0..5 {
        oci_push(
            &env,
            &[
                "push-image",
                &repo,
                &format!("t{i}"),
                "--seed",
                &i.to_string(),
            ],
        );
    }

    let c = RegistryClient::new();
    c.set_basic(host, user, Secret::new(env["FORGEJO_TOKEN"].clone()));
    let h = c
        .head_manifest(host, &repo, "multi")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.digest, idx["digest"].as_str().unwrap());
    let m = c.get_manifest(host, &repo, "multi").await.unwrap().unwrap();
    assert_eq!(m.kind, ManifestKind::Index);
    assert_eq!(m.digest, h.digest);
    assert_eq!(m.children.len(), 2);
    for ch in &m.children {
        let p = ch.platform.clone().unwrap().to_string();
        assert_eq!(
            idx["children"][&p].as_str(),
            Some(ch.digest.as_str()),
            "{p}"
        );
        assert!(c
            .head_manifest(host, &repo, &ch.digest)
            .await
            .unwrap()
            .is_some());
    }
    assert!(c
        .head_manifest(host, &repo, "nope")
        .await
        .unwrap()
        .is_none());
    let mut tags = c.tags(host, &repo).await.unwrap();
    tags.sort();
    assert_eq!(tags, ["multi", "t0", "t1", "t2", "t3", "t4"]);
    let cat = c.catalog(host).await.unwrap();
    assert!(cat.contains(&repo), "{cat:?}");

    // Clean up through the packages API.
    delete_package(&env, user, repo.split('/').nth(1).unwrap()).await;
}
