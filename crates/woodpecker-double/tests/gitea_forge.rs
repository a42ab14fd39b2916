//! The Gitea-backed forge (what the local stack uses), against a minimal stub of the Gitea API:
//! repositories and rights come from `/api/v1/user/repos` (other users through `Sudo`), the
//! branch and pipeline-file check from `/branches/` and `/contents/`.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use woodpecker_double::{Config, Double, ForgeConfig, UserSeed};

const FORGE_TOKEN: &str = "forge-admin-token";

fn repo(id: u64, owner: &str, name: &str, private: bool, push: bool) -> Value {
    json!({
        "id": id, "name": name, "full_name": format!("{owner}/{name}"), "private": private,
        "owner": {"login": owner, "avatar_url": format!("http://forge/avatars/{owner}")},
        "html_url": format!("http://forge/{owner}/{name}"), "clone_url": format!("http://forge/{owner}/{name}.git"),
        "ssh_url": format!("git@forge:{owner}/{name}.git"), "default_branch": "main", "has_pull_requests": true,
        "permissions": {"admin": push, "push": push, "pull": true},
    })
}

/// viktor (forge admin) sees both repositories with full rights; reader only pulls org/app.
fn answer(path: &str, sudo: Option<&str>) -> (u16, Value) {
    let as_reader = sudo == Some("reader");
    match path {
        "/api/v1/user" => (
            200,
            json!({"id": 1, "login": "viktor", "email": "v@example.com", "avatar_url": "http://forge/avatars/v", "is_admin": true}),
        ),
        "/api/v1/users/reader" => (
            200,
            json!({"id": 2, "login": "reader", "email": "r@example.com", "avatar_url": ""}),
        ),
        p if p.starts_with("/api/v1/user/repos") => {
            if p.contains("page=1") || !p.contains("page=") {
                if as_reader {
                    (200, json!([repo(10, "org", "app", false, false)]))
                } else {
                    (
                        200,
                        json!([
                            repo(10, "org", "app", false, true),
                            repo(11, "org", "deploy", true, true)
                        ]),
                    )
                }
            } else {
                (200, json!([]))
            }
        }
        "/api/v1/repositories/10" => (200, repo(10, "org", "app", false, !as_reader)),
        "/api/v1/repositories/11" if !as_reader => (200, repo(11, "org", "deploy", true, true)),
        "/api/v1/repos/org/app/branches/main" | "/api/v1/repos/org/deploy/branches/main" => {
            (200, json!({"name": "main"}))
        }
        p if p.starts_with("/api/v1/repos/org/deploy/contents/.woodpecker.yaml") => {
            (200, json!({"type": "file"}))
        }
        _ => (404, json!({"message": "not found"})),
    }
}

async fn stub_gitea() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<Incoming>| async move {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let (status, body) = if auth != format!("token {FORGE_TOKEN}") {
                        (401, json!({"message": "token is required"}))
                    } else {
                        let sudo = req.headers().get("sudo").and_then(|v| v.to_str().ok());
                        let pq = req
                            .uri()
                            .path_and_query()
                            .map(|p| p.as_str())
                            .unwrap_or("/");
                        answer(pq, sudo)
                    };
                    let mut r = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
                    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                    Ok::<_, Infallible>(r)
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

async fn call(
    c: &reqwest::Client,
    d: &Double,
    m: &str,
    path: &str,
    tok: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut rb = c.request(
        reqwest::Method::from_bytes(m.as_bytes()).unwrap(),
        format!("{}{path}", d.url()),
    );
    rb = rb.header("Authorization", format!("Bearer {tok}"));
    if let Some(b) = body {
        rb = rb
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn gitea_backed_forge() {
    let forge = stub_gitea().await;
    let double = Double::start(
        Config {
            admin: None,
            admin_token: "adm".into(),
            users: vec![UserSeed {
                login: "reader".into(),
                token: "rdr".into(),
                ..UserSeed::default()
            }],
            forge: ForgeConfig::Gitea {
                url: forge,
                token: FORGE_TOKEN.into(),
            },
        },
        "127.0.0.1:0",
    )
    .await
    .expect("double");
    let d = Arc::new(double);
    let c = reqwest::Client::new();

    // The forge token's user is the admin.
    let (s, b) = call(&c, &d, "GET", "/api/user", "adm", None).await;
    assert_eq!(s, 200);
    let me: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        (me["login"].as_str(), me["admin"].as_bool()),
        (Some("viktor"), Some(true))
    );

    let (s, b) = call(&c, &d, "GET", "/api/user/repos?all=true", "adm", None).await;
    assert_eq!(s, 200);
    let list: Vec<Value> = serde_json::from_str(&b).unwrap();
    let names: Vec<&str> = list
        .iter()
        .map(|r| r["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["org/app", "org/deploy"]);
    assert_eq!(list[1]["forge_remote_id"], "11");
    assert_eq!(list[1]["clone_url"], "http://forge/org/deploy.git");

    // Activation reads the forge; a private repository is private in Woodpecker.
    let (s, b) = call(&c, &d, "POST", "/api/repos?forge_remote_id=11", "adm", None).await;
    assert_eq!(s, 200, "{b}");
    let deploy: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        (deploy["visibility"].as_str(), deploy["private"].as_bool()),
        (Some("private"), Some(true))
    );
    let (s, b) = call(
        &c,
        &d,
        "POST",
        "/api/repos?forge_remote_id=404",
        "adm",
        None,
    )
    .await;
    assert_eq!(
        (s, b.as_str()),
        (500, "Could not fetch repository from forge.")
    );
    let (s, _) = call(&c, &d, "POST", "/api/repos?forge_remote_id=10", "adm", None).await;
    assert_eq!(s, 200);

    // Triggers: a pipeline file on main of org/deploy -> 200 with a pipeline; none on org/app -> 204.
    let id = deploy["id"].as_i64().unwrap();
    let (s, b) = call(
        &c,
        &d,
        "POST",
        &format!("/api/repos/{id}/pipelines"),
        "adm",
        Some(json!({"branch": "main"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let p: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        (p["number"].as_i64(), p["event"].as_str()),
        (Some(1), Some("manual"))
    );
    let (s, _) = call(
        &c,
        &d,
        "POST",
        &format!("/api/repos/{id}/pipelines"),
        "adm",
        Some(json!({"branch": "nope"})),
    )
    .await;
    assert_eq!(s, 500);
    let (s, _) = call(
        &c,
        &d,
        "POST",
        "/api/repos/2/pipelines",
        "adm",
        Some(json!({"branch": "main"})),
    )
    .await;
    assert_eq!(s, 204);

    // A user without push rights (read through Sudo): lists nothing to activate, cannot see the
    // private repository, cannot write secrets of the public one, cannot write global secrets.
    let (s, b) = call(&c, &d, "GET", "/api/user/repos?all=true", "rdr", None).await;
    assert_eq!((s, b.as_str()), (200, "[]"));
    let (s, _) = call(&c, &d, "GET", &format!("/api/repos/{id}"), "rdr", None).await;
    assert_eq!(s, 403);
    let (s, _) = call(&c, &d, "GET", "/api/repos/2", "rdr", None).await;
    assert_eq!(s, 200);
    let (s, b) = call(
        &c,
        &d,
        "POST",
        "/api/repos/2/secrets",
        "rdr",
        Some(json!({"name": "a", "value": "b", "events": ["push"]})),
    )
    .await;
    assert_eq!((s, b.as_str()), (403, "User not authorized"));
    let (s, _) = call(
        &c,
        &d,
        "POST",
        "/api/secrets",
        "rdr",
        Some(json!({"name": "a", "value": "b", "events": ["push"]})),
    )
    .await;
    assert_eq!(s, 403);

    // The control API cannot change a real forge.
    let (s, _) = call(&c, &d, "DELETE", "/__double/forge/repos/10", "", None).await;
    assert_eq!(s, 409);
}
