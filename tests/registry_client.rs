//! The OCI client against the stack's real registry (skipped when the stack is not up):
//! token challenge, HEAD/GET of an index and its children, tags paging, catalog.

mod support;

use cicd::clients::registry::{ManifestKind, RegistryClient};
use std::process::Command;
use tfplugin::secret::Secret;

fn oci_push(env: &std::collections::BTreeMap<String, String>, args: &[&str]) -> String {
    let script = oci_push_script().unwrap();
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

#[tokio::test]
async fn registry_client_against_the_stack() {
    let env = support::stack_env();
    let Some(url) = env.get("FORGEJO_URL") else {
        eprintln!("no stack: skipped");
        return;
    };
    if oci_push_script().is_none() {
        eprintln!("no scripts/oci-push: skipped");
        return;
    }
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
    let name = repo.split('/').nth(1).unwrap();
    let http = reqwest::Client::new();
    let r = http
        .delete(format!("{url}/api/v1/packages/{user}/container/{name}"))
        .header("Authorization", format!("token {}", env["FORGEJO_TOKEN"]))
        .send()
        .await
        .unwrap();
    eprintln!("cleanup: {}", r.status());
}
