//! The Woodpecker client (`cicd::clients::woodpecker`) against an in-process Woodpecker double
//! (`crates/woodpecker-double`, held to recordings of a real 3.17.0 server), one fresh double
//! per test.
//!
//! Against a REAL server: set `WOODPECKER_SERVER` and `WOODPECKER_TOKEN` (an admin's token).
//! Then the tests run one at a time, create only objects named with a random suffix and delete
//! them afterwards, and skip what needs the double's forge controls (renames, deletions,
//! pipeline files, a 60-repo forge). Optional:
//! - `WOODPECKER_TEST_REPO=owner/name`: a scratch forge repository the token's user administers
//!   and that is NOT active in Woodpecker. Tests activate it, change its settings, add secrets,
//!   crons and registries to it and REMOVE it (`remove=true`) at the end. Without it, the tests
//!   that need a repo are skipped.
//! - `WOODPECKER_NONADMIN_TOKEN`: the token of a non-admin user who may read (not administer)
//!   `WOODPECKER_TEST_REPO`, for the 403 checks.
//!
//! Request counts come from `clients::http::request_count("Woodpecker")`, which counts the whole
//! process: tests that count hold [`GATE`] exclusively, the others share it.

use cicd::clients::http::request_count;
use cicd::clients::woodpecker::*;
use cicd::clients::Error;
use futures::{FutureExt, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;
use std::time::Duration;
use tfplugin::secret::Secret as Sensitive;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use woodpecker_double::forge::SeedForge;
use woodpecker_double::{AdminSeed, Config, Double, ForgeConfig};

static GATE: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

const ADMIN_TOKEN: &str = "admin-token-for-tests";

#[allow(dead_code)] // held for their Drop
enum Gate {
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
}

struct Env {
    client: WoodpeckerClient,
    url: String,
    token: String,
    /// `None` against a real server.
    double: Option<Double>,
    /// Random, for the names of everything a test creates.
    suffix: String,
    _gate: Gate,
}

fn real_server() -> Option<(String, String)> {
    let s = std::env::var("WOODPECKER_SERVER").ok()?;
    let t = std::env::var("WOODPECKER_TOKEN").ok()?;
    (!s.is_empty() && !t.is_empty()).then_some((s, t))
}

fn suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32) ^ N.fetch_add(1, Ordering::Relaxed);
    let mut s = String::new();
    for _ in 0..8 {
        s.push(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize] as char);
        x /= 36;
    }
    s
}

fn seed_repo(remote_id: &str, owner: &str, name: &str) -> Value {
    json!({
        "forge_remote_id": remote_id, "owner": owner, "name": name,
        "clone_url": format!("http://forge.test/{owner}/{name}.git"),
        "clone_url_ssh": format!("git@forge.test:{owner}/{name}.git"),
        "forge_url": format!("http://forge.test/{owner}/{name}"),
        "default_branch": "main", "private": false,
        "branches": ["main", "no-ci"], "pipeline_branches": ["main"],
    })
}

fn forge() -> SeedForge {
    let repos = vec![
        seed_repo("4", "wp-rec", "app-one"),
        seed_repo("5", "wp-rec", "app-two"),
        seed_repo("6", "wp-rec", "app-three"),
        seed_repo("8", "wp-rec", "rename-me"),
        seed_repo("9", "wp-rec", "delete-me"),
    ];
    serde_json::from_value(json!({"repos": repos})).expect("seed forge")
}

async fn env_with(exclusive: bool, forge: SeedForge) -> Env {
    // Against a real server everything runs one at a time.
    let real = real_server();
    let gate = if exclusive || real.is_some() {
        Gate::Exclusive(GATE.write().await)
    } else {
        Gate::Shared(GATE.read().await)
    };
    let (url, token, double) = match real {
        Some((url, token)) => (url, token, None),
        None => {
            let d = Double::start(
                Config {
                    admin: Some(AdminSeed {
                        login: "viktor".into(),
                        email: "viktor@example.com".into(),
                        avatar_url: String::new(),
                        forge_remote_id: "1".into(),
                    }),
                    admin_token: ADMIN_TOKEN.into(),
                    users: vec![],
                    forge: ForgeConfig::Seeded(forge),
                },
                "127.0.0.1:0",
            )
            .await
            .expect("double starts");
            (d.url(), ADMIN_TOKEN.to_string(), Some(d))
        }
    };
    Env {
        client: client(&url, &token),
        url,
        token,
        double,
        suffix: suffix(),
        _gate: gate,
    }
}

async fn env(exclusive: bool) -> Env {
    env_with(exclusive, forge()).await
}

fn client(url: &str, token: &str) -> WoodpeckerClient {
    WoodpeckerClient::new(&WoodpeckerConfig {
        server: url.to_string(),
        token: Sensitive::new(token),
    })
}

impl Env {
    fn is_real(&self) -> bool {
        self.double.is_none()
    }

    /// A double-only control call (`/__double/...`).
    async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp = reqwest::Client::new()
            .request(method, format!("{}/__double/{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("control call");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "control {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A raw GET with the admin token, to look at the exact JSON.
    async fn raw_get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("raw get")
            .json()
            .await
            .expect("json")
    }

    /// The full name of a forge repo the test may activate: one of the seeded ones on the
    /// double, `WOODPECKER_TEST_REPO` on a real server (`None`: skip).
    fn scratch_repo(&self, seeded: &str) -> Option<String> {
        if self.is_real() {
            let r = std::env::var("WOODPECKER_TEST_REPO")
                .ok()
                .filter(|s| !s.is_empty());
            if r.is_none() {
                eprintln!("skipped: set WOODPECKER_TEST_REPO to run this against a real server");
            }
            r
        } else {
            Some(seeded.to_string())
        }
    }

    /// Activate a scratch repo and return it (read back).
    async fn activate(&self, full_name: &str) -> Repo {
        if self.is_real() {
            if let RepoLookup::Found(r) = self.client.lookup_repo(full_name).await.unwrap() {
                assert!(
                    !r.active,
                    "WOODPECKER_TEST_REPO {full_name} is active in Woodpecker; use a scratch repo"
                );
            }
        }
        let f = self
            .client
            .forge_repo(full_name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{full_name} is not among the user's forge repos"));
        self.client.activate_repo(&f.forge_remote_id).await.unwrap()
    }

    /// Remove a scratch repo (with its secrets, crons, registries), ignoring errors.
    async fn remove(&self, id: i64) {
        let _ = self.client.remove_repo(id).await;
    }
}

/// Run `body`, then `cleanup` even when `body` panicked.
async fn guarded(body: impl Future<Output = ()>, cleanup: impl Future<Output = ()>) {
    let r = AssertUnwindSafe(body).catch_unwind().await;
    cleanup.await;
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
}

fn status_of(e: &Error) -> u16 {
    e.status()
        .unwrap_or_else(|| panic!("not a status error: {e}"))
}

fn count() -> u64 {
    request_count(SYSTEM)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn version_and_current_user() {
    let env = env(false).await;
    let v = env.client.version().await.unwrap();
    assert!(!v.version.is_empty());
    if !env.is_real() {
        assert_eq!(v.version, "3.17.0");
    }
    let me = env.client.current_user().await.unwrap();
    assert!(me.admin, "the tests need an admin token");
    assert!(me.id > 0 && !me.login.is_empty());
}

#[tokio::test]
async fn a_bad_token_is_401_not_403() {
    let env = env(false).await;
    let bad = client(&env.url, "not-a-token");
    let e = bad.current_user().await.unwrap_err();
    assert_eq!(status_of(&e), 401);
    assert!(e.is_unauthorized() && !e.is_permission_denied());
    assert!(e.to_string().contains("User not authorized"), "{e}");
    // The token never shows in an error.
    assert!(!e.to_string().contains("not-a-token"));
    let e = bad.secrets(Scope::Global).await.unwrap_err();
    assert!(e.is_unauthorized());
}

#[tokio::test]
async fn a_non_admin_gets_403_and_repo_cached_falls_back_to_get() {
    let env = env(true).await;
    let bob_token = if env.is_real() {
        match std::env::var("WOODPECKER_NONADMIN_TOKEN") {
            Ok(t) if !t.is_empty() => t,
            _ => {
                eprintln!("skipped: set WOODPECKER_NONADMIN_TOKEN");
                return;
            }
        }
    } else {
        let u = env
            .control(
                reqwest::Method::POST,
                "users",
                json!({"login": "bob", "admin": false, "email": "bob@example.com"}),
            )
            .await;
        u["token"].as_str().unwrap().to_string()
    };
    let bob = client(&env.url, &bob_token);
    assert!(!bob.current_user().await.unwrap().admin);
    // A non-admin may read global secrets and registries ...
    bob.secrets(Scope::Global).await.unwrap();
    bob.registries(Scope::Global).await.unwrap();
    // ... but not write them, nor list repos or users.
    let w = SecretWrite {
        name: format!("bob_{}", env.suffix),
        value: Sensitive::new("x"),
        events: strings(&["push"]),
        ..Default::default()
    };
    let e = bob.create_secret(Scope::Global, &w).await.unwrap_err();
    assert_eq!(status_of(&e), 403);
    assert!(e.is_permission_denied() && !e.is_unauthorized() && !e.is_duplicate());
    assert!(bob.users().await.unwrap_err().is_permission_denied());
    assert!(bob.repos(false).await.unwrap_err().is_permission_denied());

    let Some(name) = env.scratch_repo("wp-rec/app-one") else {
        return;
    };
    let repo = env.activate(&name).await;
    guarded(
        async {
            // Bob can read the (public) repo but not change it.
            let e = bob
                .patch_repo(
                    repo.id,
                    &RepoPatch {
                        timeout: Some(50),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert!(e.is_permission_denied(), "{e}");
            // repo_cached: the admin list answers 403 once, then it reads by id.
            let before = count();
            let r = bob.repo_cached(repo.id).await.unwrap().unwrap();
            assert_eq!(r.id, repo.id);
            assert_eq!(count() - before, 2, "one 403 list page, one GET");
            let before = count();
            bob.repo_cached(repo.id).await.unwrap().unwrap();
            assert_eq!(count() - before, 1, "the 403 is remembered");
        },
        env.remove(repo.id),
    )
    .await;
}

#[tokio::test]
async fn repo_activate_lookup_patch_deactivate_remove() {
    let env = env(false).await;
    let Some(name) = env.scratch_repo("wp-rec/app-one") else {
        return;
    };
    // Never activated: listed by user_repos(true) with id 0, unknown to the lookup.
    let f = env.client.forge_repo(&name).await.unwrap().unwrap();
    assert_eq!(f.id, 0);
    assert!(!f.active && !f.forge_remote_id.is_empty());
    assert!(env
        .client
        .user_repos(true)
        .await
        .unwrap()
        .iter()
        .any(|r| r.forge_remote_id == f.forge_remote_id));
    assert_eq!(
        env.client.lookup_repo(&name).await.unwrap(),
        RepoLookup::NotFound
    );

    let repo = env.client.activate_repo(&f.forge_remote_id).await.unwrap();
    let id = repo.id;
    guarded(
        async {
            assert!(repo.active && id > 0);
            assert_eq!(repo.forge_remote_id, f.forge_remote_id);
            assert!(REPO_VISIBILITIES.contains(&repo.visibility.as_str()));
            assert!(REQUIRE_APPROVAL_MODES.contains(&repo.require_approval.as_str()));
            assert!(repo.timeout >= 1);
            let perms = env.client.repo_permissions(id).await.unwrap();
            assert!(perms.pull && perms.push && perms.admin);
            // The active repos the user sees.
            assert!(env
                .client
                .user_repos(false)
                .await
                .unwrap()
                .iter()
                .any(|r| r.id == id && r.active));

            // Twice: 409, a duplicate.
            let e = env
                .client
                .activate_repo(&f.forge_remote_id)
                .await
                .unwrap_err();
            assert_eq!(status_of(&e), 409);
            assert!(e.is_duplicate() && e.is_conflict());
            // An id the forge does not know: 500, not a duplicate.
            let e = env.client.activate_repo("999999999").await.unwrap_err();
            assert_eq!(status_of(&e), 500);
            assert!(!e.is_duplicate());

            // Lookup ignores case; the answer carries Woodpecker's spelling.
            let upper = name.to_uppercase();
            match env.client.lookup_repo(&upper).await.unwrap() {
                RepoLookup::Found(r) => {
                    assert_eq!((r.id, r.full_name.as_str()), (id, name.as_str()))
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                env.client
                    .lookup_repo("wp-rec/does-not-exist-x")
                    .await
                    .unwrap(),
                RepoLookup::NotFound
            );
            assert_eq!(env.client.repo(999_999_999).await.unwrap(), None);

            // Patch sets lists and flags ...
            let p = env
                .client
                .patch_repo(
                    id,
                    &RepoPatch {
                        allow_deploy: Some(true),
                        allow_pr: Some(false),
                        approval_allowed_users: Some(strings(&["viktor", "bot"])),
                        cancel_previous_pipeline_events: Some(strings(&["push", "pull_request"])),
                        netrc_trusted: Some(strings(&["docker.io/woodpeckerci/plugin-git"])),
                        config_file: Some(".ci/pipeline.yaml".into()),
                        require_approval: Some("pull_requests".into()),
                        timeout: Some(90),
                        trusted: Some(TrustedPatch {
                            network: Some(true),
                            security: Some(true),
                            volumes: Some(false),
                        }),
                        visibility: Some("private".into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(p.approval_allowed_users, strings(&["viktor", "bot"]));
            assert_eq!(p.netrc_trusted.len(), 1);
            assert_eq!((p.timeout, p.visibility.as_str()), (90, "private"));
            assert_eq!(p.require_approval, "pull_requests");
            assert!(p.allow_deploy && !p.allow_pr);
            assert_eq!(
                p.trusted,
                Trusted {
                    network: true,
                    security: true,
                    volumes: false
                }
            );
            // ... an empty list clears, an absent field stays, trusted goes flag by flag.
            let p = env
                .client
                .patch_repo(
                    id,
                    &RepoPatch {
                        approval_allowed_users: Some(vec![]),
                        cancel_previous_pipeline_events: Some(vec![]),
                        netrc_trusted: Some(vec![]),
                        trusted: Some(TrustedPatch {
                            network: Some(false),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert!(p.approval_allowed_users.is_empty());
            assert!(p.cancel_previous_pipeline_events.is_empty());
            assert!(p.netrc_trusted.is_empty());
            assert_eq!(p.config_file, ".ci/pipeline.yaml");
            assert_eq!(p.timeout, 90);
            assert!(!p.trusted.network && p.trusted.security);
            // The read-back is what a fresh GET says.
            assert_eq!(env.client.repo(id).await.unwrap().unwrap(), p);

            // The server's own checks: 400 with its text.
            for (patch, text) in [
                (
                    RepoPatch {
                        visibility: Some("bogus".into()),
                        ..Default::default()
                    },
                    "Invalid visibility type",
                ),
                (
                    RepoPatch {
                        require_approval: Some("bogus".into()),
                        ..Default::default()
                    },
                    "Invalid require-approval setting",
                ),
                (
                    RepoPatch {
                        timeout: Some(-5),
                        ..Default::default()
                    },
                    "Timeout must be at least 1 minute",
                ),
            ] {
                let e = env.client.patch_repo(id, &patch).await.unwrap_err();
                assert_eq!(status_of(&e), 400);
                assert!(e.to_string().contains(text), "{e}");
            }

            // Deactivate: same id, still readable and findable, twice is fine.
            let d = env.client.deactivate_repo(id).await.unwrap();
            assert!(!d.active);
            assert_eq!(d.id, id);
            assert!(!env.client.deactivate_repo(id).await.unwrap().active);
            assert_eq!(
                env.client
                    .lookup_repo(&name)
                    .await
                    .unwrap()
                    .found()
                    .map(|r| r.id),
                Some(id)
            );
            // Re-activation keeps the id and the settings.
            let again = env.client.activate_repo(&f.forge_remote_id).await.unwrap();
            assert_eq!(again.id, id);
            assert!(again.active);
            assert_eq!(again.timeout, 90);

            // Remove: gone (404 -> None / false), and a new activation is a new id.
            assert!(env.client.remove_repo(id).await.unwrap());
            assert_eq!(env.client.repo(id).await.unwrap(), None);
            assert_eq!(
                env.client.lookup_repo(&name).await.unwrap(),
                RepoLookup::NotFound
            );
            assert!(!env.client.remove_repo(id).await.unwrap());
            let fresh = env.client.activate_repo(&f.forge_remote_id).await.unwrap();
            assert_ne!(fresh.id, id);
            assert!(env.client.remove_repo(fresh.id).await.unwrap());
        },
        async {
            if let Some(r) = env
                .client
                .lookup_repo(&name)
                .await
                .ok()
                .and_then(RepoLookup::any)
            {
                env.remove(r.id).await;
            }
        },
    )
    .await;
}

#[tokio::test]
async fn lookup_after_a_forge_rename_and_deletion() {
    let env = env(false).await;
    if env.is_real() {
        eprintln!("skipped: needs the double's forge controls");
        return;
    }
    let c = &env.client;
    let renamed = env.activate("wp-rec/rename-me").await;
    let deleted = env.activate("wp-rec/delete-me").await;

    // Rename on the forge: Woodpecker keeps the old name until a repair.
    env.control(
        reqwest::Method::PATCH,
        "forge/repos/8",
        json!({"name": "renamed"}),
    )
    .await;
    assert_eq!(
        c.lookup_repo("wp-rec/renamed").await.unwrap(),
        RepoLookup::NotFound
    );
    let before = c
        .lookup_repo("wp-rec/rename-me")
        .await
        .unwrap()
        .found()
        .unwrap();
    assert_eq!(before.id, renamed.id);
    // The forge list already has the new name (and the same forge id).
    let f = c.forge_repo("wp-rec/renamed").await.unwrap().unwrap();
    assert_eq!((f.forge_remote_id.as_str(), f.id), ("8", renamed.id));

    let repaired = c.repair_repo(renamed.id).await.unwrap();
    assert_eq!(repaired.full_name, "wp-rec/renamed");
    assert_eq!(repaired.id, renamed.id);
    // Now the new name is found, and the old one answers with the renamed repo: flagged.
    match c.lookup_repo("wp-rec/renamed").await.unwrap() {
        RepoLookup::Found(r) => assert_eq!(r.id, renamed.id),
        other => panic!("{other:?}"),
    }
    match c.lookup_repo("wp-rec/rename-me").await.unwrap() {
        RepoLookup::Renamed(r) => {
            assert_eq!((r.id, r.full_name.as_str()), (renamed.id, "wp-rec/renamed"))
        }
        other => panic!("the old name must not count as found: {other:?}"),
    }
    assert_eq!(
        c.lookup_repo("wp-rec/rename-me").await.unwrap().found(),
        None
    );

    // Deleted on the forge: still shown active, repair fails with 500, the rest still works.
    env.control(reqwest::Method::DELETE, "forge/repos/9", Value::Null)
        .await;
    assert!(c.repo(deleted.id).await.unwrap().unwrap().active);
    let e = c.repair_repo(deleted.id).await.unwrap_err();
    assert_eq!(status_of(&e), 500);
    let p = c
        .patch_repo(
            deleted.id,
            &RepoPatch {
                timeout: Some(45),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(p.timeout, 45);
    assert!(!c.deactivate_repo(deleted.id).await.unwrap().active);
    assert!(c.remove_repo(deleted.id).await.unwrap());
    assert_eq!(c.forge_repo("wp-rec/delete-me").await.unwrap(), None);
}

#[tokio::test]
async fn global_secrets_crud_duplicate_and_server_texts() {
    let env = env(false).await;
    let c = &env.client;
    let name = format!("cicdtest_{}", env.suffix);
    guarded(
        async {
            assert_eq!(c.secret(Scope::Global, &name).await.unwrap(), None);
            let s = c
                .create_secret(
                    Scope::Global,
                    &SecretWrite {
                        name: name.clone(),
                        value: Sensitive::new("s3cr3t-1"),
                        events: strings(&["push", "tag", "deployment"]),
                        images: vec![],
                        note: "from vault".into(),
                    },
                )
                .await
                .unwrap();
            // Read back: events sorted by the server, no value anywhere.
            assert_eq!(s.events, strings(&["deployment", "push", "tag"]));
            assert_eq!((s.org_id, s.repo_id, s.note.as_str()), (0, 0, "from vault"));
            assert!(s.id > 0);
            let raw = env.raw_get(&format!("/api/secrets/{name}")).await;
            assert!(
                raw.get("value").is_none_or(|v| v == "" || v.is_null()),
                "{raw}"
            );

            // The same name again: 500 with "duplicate", which is_duplicate() recognises.
            let e = c
                .create_secret(
                    Scope::Global,
                    &SecretWrite {
                        name: name.clone(),
                        value: Sensitive::new("again"),
                        events: strings(&["push"]),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(status_of(&e), 500);
            assert!(e.is_duplicate() && !e.is_conflict(), "{e}");
            assert!(!e.to_string().contains("again"), "no value in errors");

            // The server's validation, surfaced with its text.
            let e = c
                .create_secret(
                    Scope::Global,
                    &SecretWrite {
                        name: format!("{name}_noev"),
                        value: Sensitive::new("x"),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(status_of(&e), 422);
            assert!(e.to_string().contains("no event specified"), "{e}");
            let e = c
                .create_secret(
                    Scope::Global,
                    &SecretWrite {
                        name: format!("{name}_bogus"),
                        value: Sensitive::new("x"),
                        events: strings(&["bogus"]),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert!(
                e.to_string().contains("invalid webhook event: bogus"),
                "{e}"
            );
            assert!(!e.is_duplicate());

            // Every event of SECRET_EVENTS is accepted (patch to all of them).
            let all = c
                .patch_secret(
                    Scope::Global,
                    &name,
                    &SecretPatch {
                        events: Some(strings(SECRET_EVENTS)),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let mut want = strings(SECRET_EVENTS);
            want.sort();
            assert_eq!(all.events, want);

            // Patch: only what is set changes.
            let p = c
                .patch_secret(
                    Scope::Global,
                    &name,
                    &SecretPatch {
                        value: Some(Sensitive::new("s3cr3t-2")),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!((p.events.len(), p.note.as_str()), (9, "from vault"));
            let p = c
                .patch_secret(
                    Scope::Global,
                    &name,
                    &SecretPatch {
                        events: Some(strings(&["cron"])),
                        images: Some(strings(&["plugins/docker", "woodpeckerci/plugin-s3"])),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(p.events, strings(&["cron"]));
            assert_eq!(p.images.len(), 2);
            let p = c
                .patch_secret(
                    Scope::Global,
                    &name,
                    &SecretPatch {
                        images: Some(vec![]),
                        note: Some(String::new()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert!(p.images.is_empty() && p.note.is_empty());
            assert_eq!(p.events, strings(&["cron"]));
            // Patch validation is 400 (not 422).
            let e = c
                .patch_secret(
                    Scope::Global,
                    &name,
                    &SecretPatch {
                        events: Some(vec![]),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(status_of(&e), 400);
            assert!(e.to_string().contains("no event specified"), "{e}");
            // Patching a missing secret: 404.
            let e = c
                .patch_secret(
                    Scope::Global,
                    &format!("{name}_missing"),
                    &SecretPatch::default(),
                )
                .await
                .unwrap_err();
            assert!(e.is_not_found());

            // Names are case-sensitive.
            assert_eq!(
                c.secret(Scope::Global, &name.to_uppercase()).await.unwrap(),
                None
            );
            assert!(c.delete_secret(Scope::Global, &name).await.unwrap());
            assert!(!c.delete_secret(Scope::Global, &name).await.unwrap());
            assert_eq!(c.secret(Scope::Global, &name).await.unwrap(), None);
        },
        async {
            let _ = c.delete_secret(Scope::Global, &name).await;
        },
    )
    .await;
}

#[tokio::test]
async fn repo_and_org_secrets() {
    let env = env(false).await;
    let c = &env.client;
    let Some(full) = env.scratch_repo("wp-rec/app-two") else {
        return;
    };
    let repo = env.activate(&full).await;
    guarded(
        async {
            let scope = Scope::Repo(repo.id);
            // `null` when there are none: an empty list.
            assert!(c.secrets(scope).await.unwrap().is_empty());
            assert!(c.repo_secrets_cached(repo.id).await.unwrap().is_empty());
            let w = SecretWrite {
                name: "repo_token".into(),
                value: Sensitive::new("r1"),
                events: strings(&["push", "pull_request"]),
                ..Default::default()
            };
            let s = c.create_secret(scope, &w).await.unwrap();
            assert_eq!((s.repo_id, s.org_id), (repo.id, 0));
            assert_eq!(s.events, strings(&["pull_request", "push"]));
            // The create dropped the cached (empty) list.
            assert_eq!(c.repo_secrets_cached(repo.id).await.unwrap().len(), 1);
            assert_eq!(
                c.secret_cached(scope, "repo_token").await.unwrap(),
                Some(s.clone())
            );
            assert!(c.create_secret(scope, &w).await.unwrap_err().is_duplicate());
            let p = c
                .patch_secret(
                    scope,
                    "repo_token",
                    &SecretPatch {
                        events: Some(strings(&["push"])),
                        value: Some(Sensitive::new("r2")),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(p.events, strings(&["push"]));
            assert!(c.delete_secret(scope, "repo_token").await.unwrap());
            assert!(c.repo_secrets_cached(repo.id).await.unwrap().is_empty());

            // Org secrets: the repo's owner is an org once a repo of it is active.
            let owner = full.split('/').next().unwrap();
            let org = c.org_lookup(owner).await.unwrap().unwrap();
            assert_eq!(org.name.to_lowercase(), owner.to_lowercase());
            assert_eq!(c.org(org.id).await.unwrap(), Some(org.clone()));
            assert_eq!(
                c.org_lookup(&format!("no-such-org-{}", env.suffix))
                    .await
                    .unwrap(),
                None
            );
            let perms = c.org_permissions(org.id).await.unwrap();
            assert!(perms.admin || env.is_real());
            let oname = format!("org_{}", env.suffix);
            let scope = Scope::Org(org.id);
            let w = SecretWrite {
                name: oname.clone(),
                value: Sensitive::new("o1"),
                events: strings(&["push"]),
                ..Default::default()
            };
            let s = c.create_secret(scope, &w).await.unwrap();
            assert_eq!((s.org_id, s.repo_id), (org.id, 0));
            let e = c.create_secret(scope, &w).await.unwrap_err();
            assert_eq!(status_of(&e), 500);
            assert!(e.is_duplicate());
            assert!(c
                .org_secrets_cached(org.id)
                .await
                .unwrap()
                .iter()
                .any(|s| s.name == oname));
            assert!(c.delete_secret(scope, &oname).await.unwrap());
            assert_eq!(c.secret(scope, &oname).await.unwrap(), None);
        },
        async {
            if let Ok(Some(org)) = c.org_lookup(full.split('/').next().unwrap()).await {
                let _ = c
                    .delete_secret(Scope::Org(org.id), &format!("org_{}", env.suffix))
                    .await;
            }
            env.remove(repo.id).await;
        },
    )
    .await;
}

/// 120 global secrets: one list walk is 3 requests (50 + 50 + 20, or more pages when a real
/// server holds other secrets), cached reads of every one of them cost nothing more, and a
/// write drops the cache.
#[tokio::test]
async fn paging_and_batched_reads_of_120_global_secrets() {
    let env = env(true).await;
    let c = &env.client;
    let names: Vec<String> = (0..120)
        .map(|i| format!("pg_{}_{i:03}", env.suffix))
        .collect();
    guarded(
        async {
            let created = futures::stream::iter(names.iter())
                .map(|n| async move {
                    let w = SecretWrite {
                        name: n.clone(),
                        value: Sensitive::new("v"),
                        events: strings(&["push"]),
                        ..Default::default()
                    };
                    c.create_secret(Scope::Global, &w).await
                })
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
            for r in created {
                r.unwrap();
            }

            // One full walk: pages of 50 until a short one.
            let before = count();
            let all = c.secrets(Scope::Global).await.unwrap();
            let walk = count() - before;
            for n in &names {
                assert!(
                    all.iter().any(|s| &s.name == n),
                    "{n} missing from the list"
                );
            }
            assert_eq!(walk, all.len() as u64 / 50 + 1, "{} secrets", all.len());
            if !env.is_real() {
                assert_eq!((all.len(), walk), (120, 3));
            }
            // Sorted by name, no repeats across pages.
            let mut sorted: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), all.len());

            // Batched: 100 concurrent reads of single secrets share one walk.
            let before = count();
            let found =
                futures::future::join_all(names.iter().take(100).map(|n| c.global_secret(n))).await;
            for (n, s) in names.iter().zip(found) {
                assert_eq!(&s.unwrap().unwrap().name, n);
            }
            assert_eq!(count() - before, walk, "100 reads, one walk");
            let before = count();
            assert_eq!(c.global_secrets_cached().await.unwrap().len(), all.len());
            for n in &names {
                assert!(c.global_secret(n).await.unwrap().is_some());
            }
            assert_eq!(count() - before, 0, "answered from the cache");
            // A name the list does not hold is confirmed with one GET.
            let before = count();
            assert_eq!(
                c.global_secret(&format!("pg_{}_missing", env.suffix))
                    .await
                    .unwrap(),
                None
            );
            assert_eq!(count() - before, 1);

            // A write drops the list: the next cached read walks again.
            assert!(c.delete_secret(Scope::Global, &names[0]).await.unwrap());
            let before = count();
            assert_eq!(
                c.global_secrets_cached().await.unwrap().len(),
                all.len() - 1
            );
            assert_eq!(count() - before, (all.len() as u64 - 1) / 50 + 1);
            // ... and the deleted one is gone (list miss + GET 404).
            assert_eq!(c.global_secret(&names[0]).await.unwrap(), None);

            // The TTL: a client with a zero TTL walks every time.
            let uncached = WoodpeckerClient::with_cache_ttl(
                &WoodpeckerConfig {
                    server: env.url.clone(),
                    token: Sensitive::new(env.token.as_str()),
                },
                Duration::ZERO,
            );
            let before = count();
            uncached.global_secret(&names[1]).await.unwrap().unwrap();
            uncached.global_secret(&names[1]).await.unwrap().unwrap();
            assert_eq!(count() - before, 2 * ((all.len() as u64 - 1) / 50 + 1));
        },
        async {
            futures::stream::iter(names.iter())
                .map(|n| c.delete_secret(Scope::Global, n))
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
        },
    )
    .await;
}

/// A server that ignores `page`/`perPage` (the double's `GET /api/user/repos`, like the real
/// one's forge listing) must not make the walk loop or repeat: 60 forge repos, one request.
#[tokio::test]
async fn a_list_that_ignores_paging_is_read_once() {
    let mut f = forge();
    let extra: Vec<Value> = (100..155)
        .map(|i| seed_repo(&i.to_string(), "bulk", &format!("r{i}")))
        .collect();
    let more: SeedForge = serde_json::from_value(json!({ "repos": extra })).unwrap();
    f.repos.extend(more.repos);
    let env = env_with(true, f).await;
    if env.is_real() {
        eprintln!("skipped: needs a seeded forge");
        return;
    }
    let before = count();
    let all = env.client.user_repos(true).await.unwrap();
    assert_eq!(all.len(), 60);
    assert_eq!(count() - before, 1);
    // Cached, and the forge lookup answers from it.
    let before = count();
    env.client.user_repos_cached().await.unwrap();
    let r = env.client.forge_repo("BULK/r120").await.unwrap().unwrap();
    assert_eq!(r.forge_remote_id, "120");
    assert_eq!(count() - before, 1);
}

#[tokio::test]
async fn repos_cached_and_remove_drops_the_repo_collections() {
    let env = env(true).await;
    let c = &env.client;
    let Some(full) = env.scratch_repo("wp-rec/app-three") else {
        return;
    };
    let repo = env.activate(&full).await;
    guarded(
        async {
            let before = count();
            assert_eq!(c.repo_cached(repo.id).await.unwrap().unwrap().id, repo.id);
            assert_eq!(c.repo_cached(repo.id).await.unwrap().unwrap().id, repo.id);
            let listed = c.repos_cached().await.unwrap().len() as u64;
            assert_eq!(count() - before, listed / 50 + 1, "one walk for all of it");
            // A patch drops the list; the next cached read shows the change.
            c.patch_repo(
                repo.id,
                &RepoPatch {
                    timeout: Some(33),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert_eq!(c.repo_cached(repo.id).await.unwrap().unwrap().timeout, 33);
            // Inactive repos are in the admin list too.
            c.deactivate_repo(repo.id).await.unwrap();
            assert!(!c.repo_cached(repo.id).await.unwrap().unwrap().active);
            assert!(c.repos(true).await.unwrap().iter().all(|r| r.active));

            let w = SecretWrite {
                name: "s".into(),
                value: Sensitive::new("v"),
                events: strings(&["push"]),
                ..Default::default()
            };
            c.create_secret(Scope::Repo(repo.id), &w).await.unwrap();
            assert_eq!(c.repo_secrets_cached(repo.id).await.unwrap().len(), 1);
            assert!(c.remove_repo(repo.id).await.unwrap());
            assert_eq!(c.repo_cached(repo.id).await.unwrap(), None);
            // remove=true deleted the repo's secrets; the cached list was dropped with it.
            let e = c.repo_secrets_cached(repo.id).await.unwrap_err();
            assert!(e.is_not_found(), "{e}");
        },
        env.remove(repo.id),
    )
    .await;
}

#[tokio::test]
async fn crons_texts_duplicates_and_patches() {
    let env = env(false).await;
    let c = &env.client;
    let Some(full) = env.scratch_repo("wp-rec/app-two") else {
        return;
    };
    let repo = env.activate(&full).await;
    guarded(
        async {
            assert!(c.crons(repo.id).await.unwrap().is_empty());
            let w = CronWrite {
                name: "drift-detection".into(),
                schedule: "0 3 * * *".into(),
                timezone: "Europe/London".into(),
                branch: String::new(),
                variables: BTreeMap::from([("DRIFT".to_string(), "1".to_string())]),
                enabled: true,
            };
            let cr = c.create_cron(repo.id, &w).await.unwrap();
            assert!(cr.id > 0 && cr.enabled);
            assert_eq!(cr.repo_id, repo.id);
            assert_eq!(cr.variables.get("DRIFT").map(String::as_str), Some("1"));
            assert!(cr.next_exec > 0);
            // Duplicate name: 409.
            let e = c.create_cron(repo.id, &w).await.unwrap_err();
            assert_eq!(status_of(&e), 409);
            assert!(e.is_duplicate());
            // The server's 422 texts reach the caller.
            for (schedule, tz, name, text) in [
                (
                    "not a schedule",
                    "",
                    "bad",
                    "can't parse schedule: expected exactly 5 fields",
                ),
                ("0 0 3 * * *", "", "six", "can't parse schedule"),
                (
                    "@daily",
                    "Mars/Olympus",
                    "tz-bad",
                    "can't parse timezone: unknown time zone Mars/Olympus",
                ),
                ("@daily", "", "", "name is required"),
            ] {
                let e = c
                    .create_cron(
                        repo.id,
                        &CronWrite {
                            name: name.into(),
                            schedule: schedule.into(),
                            timezone: tz.into(),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap_err();
                assert_eq!(status_of(&e), 422, "{e}");
                assert!(e.to_string().contains(text), "{e}");
            }
            // Patch, then read back.
            let p = c
                .patch_cron(
                    repo.id,
                    cr.id,
                    &CronPatch {
                        schedule: Some("@every 6h".into()),
                        variables: Some(BTreeMap::new()),
                        enabled: Some(false),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(p.schedule, "@every 6h");
            assert!(p.variables.is_empty() && !p.enabled);
            assert_eq!(
                (p.name.as_str(), p.timezone.as_str()),
                ("drift-detection", "Europe/London")
            );
            assert_eq!(c.cron(repo.id, cr.id).await.unwrap(), Some(p.clone()));
            assert_eq!(c.cron_cached(repo.id, cr.id).await.unwrap(), Some(p));
            assert_eq!(c.crons_cached(repo.id).await.unwrap().len(), 1);
            assert!(c.delete_cron(repo.id, cr.id).await.unwrap());
            assert!(!c.delete_cron(repo.id, cr.id).await.unwrap());
            assert!(c.crons_cached(repo.id).await.unwrap().is_empty());
            assert_eq!(c.cron(repo.id, cr.id).await.unwrap(), None);
        },
        env.remove(repo.id),
    )
    .await;
}

/// Our schedule check is never more lenient than the server's parser (the double's copy of
/// robfig/cron's standard parser, itself held to the recordings).
#[test]
fn the_schedule_check_is_at_least_as_strict_as_the_server() {
    let mut corpus: Vec<String> = [
        "0 3 * * *",
        "*/15 * * * *",
        "0 0 1 1 *",
        "0 9-17/2 * * mon-fri",
        "0 0 * JAN,jul SUN",
        "5,10 ? * * *",
        "@daily",
        "@midnight",
        "@hourly",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "@every 6h",
        "@every 1h30m",
        "@every 1.5h",
        "@every 90s",
        "@every 10ms",
        "@every 0s",
        "@every -5m",
        "@every",
        "@every 6",
        "@often",
        "",
        "not a schedule",
        "0 0 3 * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 7",
        "5-1 * * * *",
        "*/0 * * * *",
        "1/2/3 * * * *",
        "1-2-3 * * * *",
        "a * * * *",
        "TZ=UTC 0 3 * * *",
        "0 3 * * * ",
        " 0 3 * * *",
        "0\t3 * * *",
        "3/5 * * * *",
        "* * * * sun-sat",
        "* * * * SAT",
        "* * 31 2 *",
        "0-59/60 * * * *",
        "-1 * * * *",
        "99999999999 * * * *",
        "*/ * * * *",
        ", * * * *",
        "* * * dec-jan *",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for m in 0..61 {
        corpus.push(format!("{m} * * * *"));
        corpus.push(format!("*/{m} * * * *"));
    }
    let mut stricter = Vec::new();
    for s in &corpus {
        let ours = validate_cron_schedule(s).is_ok();
        let server = woodpecker_double::schedule::parse(s).is_ok();
        assert!(!ours || server, "we accept {s:?}, the server does not");
        if server && !ours {
            stricter.push(s.clone());
        }
    }
    // Where we are stricter, on purpose.
    assert_eq!(
        stricter,
        strings(&["@every 10ms", "@every 0s", "@every -5m"])
    );
}

#[tokio::test]
async fn registries_never_return_passwords_and_read_back_real_ids() {
    let env = env(false).await;
    let c = &env.client;
    let addr = format!("reg-{}.example.com", env.suffix);
    let Some(full) = env.scratch_repo("wp-rec/app-one") else {
        // Global registries only.
        global_registry(&env, &addr).await;
        return;
    };
    global_registry(&env, &addr).await;
    let repo = env.activate(&full).await;
    guarded(
        async {
            let scope = Scope::Repo(repo.id);
            let w = RegistryWrite {
                address: "docker.io".into(),
                username: "u".into(),
                password: Sensitive::new("p"),
            };
            // The POST answers id 0 / repo_id 0; the read-back has the real ones.
            let r = c.create_registry(scope, &w).await.unwrap();
            assert!(r.id > 0);
            assert_eq!((r.repo_id, r.address.as_str()), (repo.id, "docker.io"));
            let raw = env
                .raw_get(&format!("/api/repos/{}/registries/docker.io", repo.id))
                .await;
            assert_eq!(raw["password"], "", "{raw}");
            // PATCH answers a zeroed shell; the read-back is the real registry.
            let p = c
                .patch_registry(
                    scope,
                    "docker.io",
                    &RegistryPatch {
                        password: Some(Sensitive::new("p2")),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(p, r);
            assert_eq!(c.registries_cached(scope).await.unwrap().len(), 1);
            assert_eq!(
                c.registry_cached(scope, "docker.io").await.unwrap(),
                Some(r)
            );
            assert!(c.delete_registry(scope, "docker.io").await.unwrap());
            assert!(!c.delete_registry(scope, "docker.io").await.unwrap());
            assert!(c.registries(scope).await.unwrap().is_empty());

            // Org registries.
            let owner = full.split('/').next().unwrap();
            let org = c.org_lookup(owner).await.unwrap().unwrap();
            let scope = Scope::Org(org.id);
            let ow = RegistryWrite {
                address: addr.clone(),
                username: "ci".into(),
                password: Sensitive::new("pw"),
            };
            let r = c.create_registry(scope, &ow).await.unwrap();
            assert_eq!(r.org_id, org.id);
            assert!(c
                .create_registry(scope, &ow)
                .await
                .unwrap_err()
                .is_duplicate());
            let p = c
                .patch_registry(
                    scope,
                    &addr,
                    &RegistryPatch {
                        username: Some("ci2".into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(p.username, "ci2");
            assert!(c.delete_registry(scope, &addr).await.unwrap());
        },
        async {
            if let Ok(Some(org)) = c.org_lookup(full.split('/').next().unwrap()).await {
                let _ = c.delete_registry(Scope::Org(org.id), &addr).await;
            }
            env.remove(repo.id).await;
        },
    )
    .await;
}

async fn global_registry(env: &Env, addr: &str) {
    let c = &env.client;
    guarded(
        async {
            for (w, text) in [
                (("", "u", "p"), "invalid registry address"),
                ((addr, "", "p"), "invalid registry username"),
                ((addr, "u", ""), "invalid registry password"),
            ] {
                let e = c
                    .create_registry(
                        Scope::Global,
                        &RegistryWrite {
                            address: w.0.into(),
                            username: w.1.into(),
                            password: Sensitive::new(w.2),
                        },
                    )
                    .await
                    .unwrap_err();
                assert_eq!(status_of(&e), 400);
                assert!(e.to_string().contains(text), "{e}");
            }
            let w = RegistryWrite {
                address: addr.into(),
                username: "viktor".into(),
                password: Sensitive::new("pw-secret-1"),
            };
            let r = c.create_registry(Scope::Global, &w).await.unwrap();
            assert_eq!((r.address.as_str(), r.username.as_str()), (addr, "viktor"));
            let raw = env.raw_get(&format!("/api/registries/{addr}")).await;
            assert_eq!(raw["password"], "", "{raw}");
            let list = env.raw_get("/api/registries").await;
            assert!(!list.to_string().contains("pw-secret-1"));
            let e = c.create_registry(Scope::Global, &w).await.unwrap_err();
            assert_eq!(status_of(&e), 500);
            assert!(e.is_duplicate());
            let p = c
                .patch_registry(
                    Scope::Global,
                    addr,
                    &RegistryPatch {
                        password: Some(Sensitive::new("pw-secret-2")),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(p, r);
            assert_eq!(
                c.registry(Scope::Global, "missing.example.com")
                    .await
                    .unwrap(),
                None
            );
            assert!(c.delete_registry(Scope::Global, addr).await.unwrap());
        },
        async {
            let _ = c.delete_registry(Scope::Global, addr).await;
        },
    )
    .await;
}

#[tokio::test]
async fn users_create_duplicate_patch_is_read_back_delete() {
    let env = env(false).await;
    let c = &env.client;
    let login = format!("cicdtest-{}", env.suffix);
    guarded(
        async {
            let u = c
                .create_user(&UserWrite {
                    login: login.clone(),
                    email: format!("{login}@example.com"),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(u.id > 0 && !u.admin);
            assert_eq!(u.login, login);
            assert!(c.users().await.unwrap().iter().any(|x| x.login == login));
            let e = c
                .create_user(&UserWrite {
                    login: login.clone(),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(status_of(&e), 500);
            assert!(e.is_duplicate());
            let e = c.create_user(&UserWrite::default()).await.unwrap_err();
            assert_eq!(status_of(&e), 400);
            // The PATCH answer is a zeroed shell; the read-back is what a GET shows (3.17.0
            // does not apply the change at all).
            let p = c
                .patch_user(
                    &login,
                    &UserPatch {
                        email: Some(format!("{login}-2@example.com")),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(p.login, login);
            assert_eq!(Some(p.clone()), c.user(&login).await.unwrap());
            if !env.is_real() {
                assert_eq!(
                    p.email,
                    format!("{login}@example.com"),
                    "3.17.0 keeps the email"
                );
            }
            assert!(c.delete_user(&login).await.unwrap());
            assert!(!c.delete_user(&login).await.unwrap());
            assert_eq!(c.user(&login).await.unwrap(), None);
        },
        async {
            let _ = c.delete_user(&login).await;
        },
    )
    .await;
}

#[tokio::test]
async fn pipeline_trigger_outcomes() {
    let env = env(false).await;
    if env.is_real() {
        eprintln!("skipped: would start real pipelines");
        return;
    }
    let c = &env.client;
    let repo = env.activate("wp-rec/app-one").await;
    let vars = BTreeMap::from([("DEPLOY_TAG".to_string(), "a1b2c3d4".to_string())]);
    match c.trigger_pipeline(repo.id, "main", &vars).await.unwrap() {
        TriggerOutcome::Created(p) => {
            assert_eq!((p.number, p.branch.as_str()), (1, "main"));
            assert_eq!(p.variables, vars);
            assert_eq!(p.event, "manual");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.trigger_pipeline(repo.id, "no-ci", &vars).await.unwrap(),
        TriggerOutcome::NoPipelineFile
    );
    let e = c
        .trigger_pipeline(repo.id, "no-such-branch", &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), 500);
    let e = c
        .trigger_pipeline(999_999, "main", &BTreeMap::new())
        .await
        .unwrap_err();
    assert!(e.is_not_found());
}
