//! Conformance of the Woodpecker double to recordings of a real Woodpecker 3.17.0 server.
//!
//! Every `*.jsonl` file of the recordings directory is replayed, in file-name order, on ONE fresh
//! double: each exchange's request is sent and the answer compared with the recorded one (status,
//! Content-Type, body). New files dropped in the directory are replayed with no code change.
//!
//! Recordings directory: `$WOODPECKER_RECORDINGS` if set; else `<repo>/../shared/reference/
//! woodpecker/recordings` when it exists; else the vendored copy in this crate's `recordings/`.
//!
//! Seeding: the admin is the user of the first successful `GET /api/user`; the forge holds the
//! repositories of the first successful `GET /api/user/repos?all=true` (their `forge_remote_id`s,
//! names and URLs as recorded); no branch has a pipeline file.
//!
//! Auth per exchange: no `Authorization` recorded -> none sent; recorded with a 401 answer -> a bad
//! token; otherwise the file's token (the admin's, unless a hook logs another user in).
//!
//! Comparison: status and Content-Type exactly; plain-text bodies exactly; JSON bodies by keys,
//! types and values, except the keys in [`VOLATILE`] (present with the same JSON type, any value)
//! and ids, which are mapped recorded -> double per kind ([`id_kind`]); the mapping must stay
//! one-to-one for the whole replay (so "same id again" and "a new id" are both checked).
//!
//! Scenario hooks ([`hook`]): what happened to the recorded server outside the recordings,
//! keyed on file name (and exchange index), replayed on the double through its API and its
//! `/__double/` control API. Files without hooks just replay.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use woodpecker_double::forge::{ForgeUser, SeedForge, SeedRepo};
use woodpecker_double::{AdminSeed, Config, Double, ForgeConfig};

/// Keys whose values depend on the clock or on the recorder's forge host: compared by presence
/// and JSON type only.
const VOLATILE: &[&str] = &[
    "created",
    "updated",
    "synced",
    "last_login",
    "next_exec",
    "avatar_url",
    "forge_url",
    "clone_url",
    "clone_url_ssh",
];

/// Endpoints the provider calls: any mismatch there fails the test (others are reported).
const PROVIDER_ENDPOINTS: &[&str] = &[
    r"^/version$",
    r"^/api/user$",
    r"^/api/user/repos$",
    r"^/api/repos$",
    r"^/api/repos/lookup/",
    r"^/api/repos/[^/]+$",
    r"^/api/repos/[^/]+/(secrets|cron|registries|pipelines)(/|$)",
    r"^/api/secrets(/|$)",
    r"^/api/registries(/|$)",
    r"^/api/orgs/[^/]+/(secrets|registries)(/|$)",
    r"^/api/users(/|$)",
];

const ADMIN_TOKEN: &str = "conformance-admin-token";
const BAD_TOKEN: &str = "not-a-valid-token";

#[derive(Clone, Debug)]
struct Exchange {
    method: String,
    path: String,
    query: String,
    request_headers: Map<String, Value>,
    request_body: Value,
    status: u16,
    content_type: Option<String>,
    response_body: Value,
}

fn load(path: &Path) -> Vec<Exchange> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
            let s = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let m = |k: &str| {
                v.get(k)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            Exchange {
                method: s("method"),
                path: s("path"),
                query: s("query"),
                request_headers: m("request_headers"),
                request_body: v.get("request_body").cloned().unwrap_or(Value::Null),
                status: v.get("status").and_then(Value::as_u64).unwrap_or(0) as u16,
                content_type: m("response_headers")
                    .get("Content-Type")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                response_body: v.get("response_body").cloned().unwrap_or(Value::Null),
            }
        })
        .collect()
}

fn recordings_dir() -> PathBuf {
    if let Ok(d) = std::env::var("WOODPECKER_RECORDINGS") {
        return PathBuf::from(d);
    }
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo_root = crate_dir
        .parent()
        .and_then(Path::parent)
        .expect("repo root")
        .to_path_buf();
    let shared = repo_root.join("../shared/reference/woodpecker/recordings");
    if shared.is_dir() {
        return shared;
    }
    crate_dir.join("recordings")
}

/// Which id space a numeric field belongs to, from the object it is in.
fn object_kind(o: &Map<String, Value>) -> &'static str {
    if o.contains_key("full_name") {
        "repo"
    } else if o.contains_key("events") {
        "secret"
    } else if o.contains_key("address") {
        "registry"
    } else if o.contains_key("schedule") {
        "cron"
    } else if o.contains_key("login") {
        "user"
    } else if o.contains_key("is_user") {
        "org"
    } else if o.contains_key("number") {
        "pipeline"
    } else {
        "other"
    }
}

fn id_kind(object: &str, key: &str) -> Option<&'static str> {
    match (object, key) {
        (_, "repo_id") => Some("repo"),
        (_, "org_id") => Some("org"),
        (_, "creator_id") => Some("user"),
        ("repo", "id") => Some("repo"),
        ("secret", "id") => Some("secret"),
        ("registry", "id") => Some("registry"),
        ("cron", "id") => Some("cron"),
        ("user", "id") => Some("user"),
        ("org", "id") => Some("org"),
        ("pipeline", "id") => Some("pipeline"),
        _ => None,
    }
}

/// recorded id -> double id, per kind, kept one-to-one.
#[derive(Default)]
struct Ids {
    fwd: HashMap<(&'static str, i64), i64>,
    back: HashMap<(&'static str, i64), i64>,
}

impl Ids {
    fn check(&mut self, kind: &'static str, rec: i64, dbl: i64) -> Result<(), String> {
        if rec == 0 || dbl == 0 {
            return if rec == dbl {
                Ok(())
            } else {
                Err(format!("{kind} id: recorded {rec}, double {dbl}"))
            };
        }
        match (self.fwd.get(&(kind, rec)), self.back.get(&(kind, dbl))) {
            (Some(d), _) if *d != dbl => Err(format!(
                "{kind} id: recorded {rec} was double {d} before, now {dbl}"
            )),
            (_, Some(r)) if *r != rec => Err(format!(
                "{kind} id: double {dbl} stood for recorded {r} before, now for {rec}"
            )),
            _ => {
                self.fwd.insert((kind, rec), dbl);
                self.back.insert((kind, dbl), rec);
                Ok(())
            }
        }
    }

    fn map(&self, kind: &'static str, rec: &str) -> String {
        rec.parse::<i64>()
            .ok()
            .and_then(|r| self.fwd.get(&(kind, r)))
            .map(|d| d.to_string())
            .unwrap_or_else(|| rec.to_string())
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn compare(rec: &Value, dbl: &Value, at: &str, ids: &mut Ids, diffs: &mut Vec<String>) {
    match (rec, dbl) {
        (Value::Object(r), Value::Object(d)) => {
            let kind = object_kind(r);
            for k in r.keys().filter(|k| !d.contains_key(*k)) {
                diffs.push(format!(
                    "{at}.{k}: missing in the double (recorded {})",
                    r[k]
                ));
            }
            for k in d.keys().filter(|k| !r.contains_key(*k)) {
                diffs.push(format!("{at}.{k}: extra key in the double ({})", d[k]));
            }
            for (k, rv) in r {
                let Some(dv) = d.get(k) else { continue };
                let here = format!("{at}.{k}");
                if VOLATILE.contains(&k.as_str()) {
                    if type_name(rv) != type_name(dv) {
                        diffs.push(format!(
                            "{here}: type {} recorded, {} in the double",
                            type_name(rv),
                            type_name(dv)
                        ));
                    }
                } else if let (Some(kind), Some(a), Some(b)) =
                    (id_kind(kind, k), rv.as_i64(), dv.as_i64())
                {
                    if let Err(e) = ids.check(kind, a, b) {
                        diffs.push(format!("{here}: {e}"));
                    }
                } else {
                    compare(rv, dv, &here, ids, diffs);
                }
            }
        }
        (Value::Array(r), Value::Array(d)) => {
            if r.len() != d.len() {
                diffs.push(format!(
                    "{at}: {} items recorded, {} in the double",
                    r.len(),
                    d.len()
                ));
            }
            for (i, (a, b)) in r.iter().zip(d).enumerate() {
                compare(a, b, &format!("{at}[{i}]"), ids, diffs);
            }
        }
        (a, b) if a == b => {}
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) => diffs.push(format!("{at}: recorded {a}, double {b}")),
    }
}

/// The recorded path with recorded ids replaced by the double's.
fn translate(path: &str, ids: &Ids) -> String {
    let mut segs: Vec<String> = path.split('/').map(str::to_string).collect();
    // ["", "api", "repos", ID, "cron", ID] / ["", "api", "orgs", ID, ...]
    if segs.len() > 3 && segs[1] == "api" && segs[2] == "repos" && segs[3] != "lookup" {
        segs[3] = ids.map("repo", &segs[3]);
        if segs.len() > 5 && segs[4] == "cron" {
            segs[5] = ids.map("cron", &segs[5]);
        }
    }
    if segs.len() > 3 && segs[1] == "api" && segs[2] == "orgs" && segs[3] != "lookup" {
        segs[3] = ids.map("org", &segs[3]);
    }
    segs.join("/")
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    /// The token of the current file's user.
    token: String,
    ids: Ids,
}

impl Ctx {
    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        ct: Option<&str>,
    ) -> Answer {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self
            .http
            .request(m, format!("{}{}", self.base, path_and_query));
        if let Some(t) = token {
            rb = rb.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = ct {
            rb = rb.header("Content-Type", ct);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path_and_query}: {e}"));
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// A setup call that must succeed (hooks).
    async fn must(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
        let a = self
            .send(
                method,
                path,
                token,
                Some(body.to_string().into_bytes()),
                Some("application/json"),
            )
            .await;
        assert!(
            (200..300).contains(&a.status),
            "hook call {method} {path} failed: {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
        serde_json::from_slice(&a.body).unwrap_or(Value::Null)
    }
}

/// Where in a file a hook runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum At {
    BeforeFile,
    BeforeExchange(usize),
}

/// The declared scenario hooks: (file name prefix, when, what happened on the recorded server).
const HOOKS: &[(&str, At, &str)] = &[
    (
        "03-",
        At::BeforeFile,
        "between 02 and 03: the forge got wp-rec/rename-me and wp-rec/delete-me; another client \
         activated wp-rec/infra (and changed its settings) and created and deleted 100 global secrets",
    ),
    ("03-", At::BeforeExchange(4), "after its activation, wp-rec/rename-me is renamed to wp-rec/renamed on the forge"),
    ("03-", At::BeforeExchange(12), "after the listing that still shows it, wp-rec/delete-me is deleted on the forge"),
    (
        "04-",
        At::BeforeFile,
        "the admin creates bob (POST /api/users); bob has write access on the forge to the repositories \
         his all=true listing shows; bob logs in; the file runs with bob's token",
    ),
];

fn first<'a>(ex: &'a [Exchange], method: &str, path: &str, query: &str) -> Option<&'a Exchange> {
    ex.iter()
        .find(|e| e.method == method && e.path == path && e.query == query && e.status == 200)
}

async fn hook(ctx: &mut Ctx, file: &str, at: At, ex: &[Exchange]) {
    let admin = Some(ADMIN_TOKEN);
    match (&file[..3], at) {
        ("03-", At::BeforeFile) => {
            // New forge repositories: those of the file's first all=true listing the forge lacks.
            let listing = first(ex, "GET", "/api/user/repos", "all=true")
                .expect("03 has an all=true listing");
            let known = ctx.must("GET", "/__double/forge", None, Value::Null).await;
            let known: Vec<String> = known["repos"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["forge_remote_id"].as_str().map(str::to_string))
                .collect();
            for r in listing.response_body.as_array().into_iter().flatten() {
                if !known
                    .iter()
                    .any(|k| Some(k.as_str()) == r["forge_remote_id"].as_str())
                {
                    ctx.must("PUT", "/__double/forge/repos", None, r.clone())
                        .await;
                }
            }
            // Another client activated wp-rec/infra and changed its settings (as listed in 03).
            let infra = ex
                .iter()
                .filter(|e| e.status == 200)
                .filter_map(|e| e.response_body.as_array())
                .flatten()
                .find(|r| r["full_name"] == "wp-rec/infra" && r["active"] == true)
                .cloned()
                .expect("03 lists the active wp-rec/infra");
            let rid = infra["forge_remote_id"].as_str().unwrap();
            let repo = ctx
                .must(
                    "POST",
                    &format!("/api/repos?forge_remote_id={rid}"),
                    admin,
                    Value::Null,
                )
                .await;
            let mut patch = Map::new();
            for k in [
                "timeout",
                "cancel_previous_pipeline_events",
                "require_approval",
                "visibility",
                "allow_pr",
                "allow_deploy",
            ] {
                patch.insert(k.into(), infra[k].clone());
            }
            ctx.must(
                "PATCH",
                &format!("/api/repos/{}", repo["id"]),
                admin,
                Value::Object(patch),
            )
            .await;
            for i in 0..100 {
                let name = format!("other_client_{i:03}");
                ctx.must(
                    "POST",
                    "/api/secrets",
                    admin,
                    json!({"name": name, "value": "x", "events": ["push"]}),
                )
                .await;
                let a = ctx
                    .send("DELETE", &format!("/api/secrets/{name}"), admin, None, None)
                    .await;
                assert_eq!(a.status, 204);
            }
        }
        ("03-", At::BeforeExchange(4)) => {
            ctx.must(
                "PATCH",
                "/__double/forge/repos/8",
                None,
                json!({"name": "renamed"}),
            )
            .await;
        }
        ("03-", At::BeforeExchange(12)) => {
            let a = ctx
                .send("DELETE", "/__double/forge/repos/9", None, None, None)
                .await;
            assert_eq!(a.status, 204, "delete forge repo 9");
        }
        ("04-", At::BeforeFile) => {
            let me = first(ex, "GET", "/api/user", "")
                .expect("04 starts with GET /api/user")
                .response_body
                .clone();
            let login = me["login"].as_str().unwrap().to_string();
            ctx.must(
                "POST",
                "/api/users",
                admin,
                json!({"login": login, "email": me["email"]}),
            )
            .await;
            ctx.must(
                "PUT",
                "/__double/forge/users",
                None,
                json!({"login": login, "forge_remote_id": me["forge_remote_id"], "email": me["email"], "avatar_url": me["avatar_url"]}),
            )
            .await;
            if let Some(listing) = first(ex, "GET", "/api/user/repos", "all=true") {
                for r in listing.response_body.as_array().into_iter().flatten() {
                    let rid = r["forge_remote_id"].as_str().unwrap();
                    ctx.must(
                        "PUT",
                        &format!("/__double/forge/repos/{rid}/permissions/{login}"),
                        None,
                        json!({"pull": true, "push": true, "admin": false}),
                    )
                    .await;
                }
            }
            let l = ctx
                .must("POST", "/__double/login", None, json!({"login": login}))
                .await;
            ctx.token = l["token"].as_str().unwrap().to_string();
        }
        _ => {}
    }
}

fn seed(files: &[(String, Vec<Exchange>)]) -> (AdminSeed, SeedForge) {
    let all: Vec<&Exchange> = files.iter().flat_map(|(_, e)| e).collect();
    let me = all
        .iter()
        .find(|e| e.method == "GET" && e.path == "/api/user" && e.status == 200)
        .expect("a successful GET /api/user to seed the admin")
        .response_body
        .clone();
    let s = |k: &str| me[k].as_str().unwrap_or_default().to_string();
    let admin = AdminSeed {
        login: s("login"),
        email: s("email"),
        avatar_url: s("avatar_url"),
        forge_remote_id: s("forge_remote_id"),
    };
    let listing = all
        .iter()
        .find(|e| {
            e.method == "GET"
                && e.path == "/api/user/repos"
                && e.query == "all=true"
                && e.status == 200
        })
        .expect("a successful GET /api/user/repos?all=true to seed the forge");
    let repos: Vec<SeedRepo> = listing
        .response_body
        .as_array()
        .expect("listing")
        .iter()
        .map(|r| serde_json::from_value(r.clone()).expect("seed repo"))
        .collect();
    let forge = SeedForge {
        users: vec![ForgeUser {
            login: admin.login.clone(),
            forge_remote_id: admin.forge_remote_id.clone(),
            email: admin.email.clone(),
            avatar_url: admin.avatar_url.clone(),
            admin: true,
        }],
        repos,
        orgs: Default::default(),
    };
    (admin, forge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_with_woodpecker_recordings() {
    let dir = recordings_dir();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("recordings dir {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no *.jsonl in {}", dir.display());
    let files: Vec<(String, Vec<Exchange>)> = names
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                load(p),
            )
        })
        .collect();
    println!("recordings: {} ({} files)", dir.display(), files.len());

    let (admin, forge) = seed(&files);
    let double = Double::start(
        Config {
            admin: Some(admin),
            admin_token: ADMIN_TOKEN.into(),
            users: vec![],
            forge: ForgeConfig::Seeded(forge),
        },
        "127.0.0.1:0",
    )
    .await
    .expect("start the double");
    let mut ctx = Ctx {
        http: reqwest::Client::new(),
        base: double.url(),
        token: ADMIN_TOKEN.into(),
        ids: Ids::default(),
    };
    let provider_res: Vec<regex::Regex> = PROVIDER_ENDPOINTS
        .iter()
        .map(|r| regex::Regex::new(r).unwrap())
        .collect();

    let (mut total, mut matched) = (0, 0);
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for (file, ex) in &files {
        ctx.token = ADMIN_TOKEN.into();
        for (f, at, what) in HOOKS {
            if file.starts_with(f) && *at == At::BeforeFile {
                println!("hook {file} before the file: {what}");
                hook(&mut ctx, file, *at, ex).await;
            }
        }
        let mut ok = 0;
        for (i, e) in ex.iter().enumerate() {
            for (f, at, what) in HOOKS {
                if file.starts_with(f) && *at == At::BeforeExchange(i) {
                    println!("hook {file} before #{i}: {what}");
                    hook(&mut ctx, file, *at, ex).await;
                }
            }
            let token = if !e.request_headers.contains_key("Authorization") {
                None
            } else if e.status == 401 {
                Some(BAD_TOKEN.to_string())
            } else {
                Some(ctx.token.clone())
            };
            let path = translate(&e.path, &ctx.ids);
            let pq = if e.query.is_empty() {
                path.clone()
            } else {
                format!("{path}?{}", e.query)
            };
            let body = match &e.request_body {
                Value::Null => None,
                Value::String(s) => Some(s.clone().into_bytes()),
                v => Some(v.to_string().into_bytes()),
            };
            let ct = e
                .request_headers
                .get("Content-Type")
                .and_then(Value::as_str);
            let a = ctx.send(&e.method, &pq, token.as_deref(), body, ct).await;

            let mut diffs = Vec::new();
            if a.status != e.status {
                diffs.push(format!(
                    "status: recorded {}, double {}",
                    e.status, a.status
                ));
            }
            if a.content_type != e.content_type {
                diffs.push(format!(
                    "Content-Type: recorded {:?}, double {:?}",
                    e.content_type, a.content_type
                ));
            }
            let is_json = e
                .content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json"));
            if is_json {
                match serde_json::from_slice::<Value>(&a.body) {
                    Ok(v) => compare(&e.response_body, &v, "body", &mut ctx.ids, &mut diffs),
                    Err(_) => diffs.push(format!(
                        "body: not JSON: {:?}",
                        String::from_utf8_lossy(&a.body)
                    )),
                }
            } else {
                let got = String::from_utf8_lossy(&a.body).into_owned();
                let want = match &e.response_body {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                if got != want {
                    diffs.push(format!("body: recorded {want:?}, double {got:?}"));
                }
            }
            total += 1;
            if diffs.is_empty() {
                ok += 1;
                matched += 1;
            } else {
                let provider = provider_res.iter().any(|r| r.is_match(&e.path));
                let head = format!(
                    "{file} #{i}: {} {}{} ({})",
                    e.method,
                    e.path,
                    if e.query.is_empty() {
                        String::new()
                    } else {
                        format!("?{}", e.query)
                    },
                    if provider {
                        "provider endpoint"
                    } else {
                        "not called by the provider"
                    }
                );
                let text = format!("{head}\n    {}", diffs.join("\n    "));
                println!("MISMATCH {text}");
                if provider {
                    failures.push(text);
                }
            }
        }
        report.push(format!("{file}: {ok} of {} exchanges match", ex.len()));
    }
    for r in &report {
        println!("{r}");
    }
    println!("overall: {matched} of {total} exchanges match");
    assert!(
        failures.is_empty(),
        "{} mismatches on provider endpoints:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
