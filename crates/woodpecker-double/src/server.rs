//! The HTTP API: routing, authorization and the handlers, answering like Woodpecker 3.17
//! (status codes, plain-text error bodies, empty bodies, JSON shapes).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use regex::Regex;
use serde_json::{json, Map, Value};

use crate::forge::{Branch, Forge, Perm};
use crate::model::{Cron, Org, Pipeline, Registry, Repo, Secret, User};
use crate::schedule::{self, go_quote, go_quote_int};

pub const JSON: &str = "application/json; charset=utf-8";
pub const TEXT: &str = "text/plain; charset=utf-8";
const NOT_AUTHORIZED: &str = "User not authorized";
const DUPLICATE: &str = "on insert duplicate based on constraints was detected";
/// The image pattern Woodpecker checks secret images against (quoted in its error text).
const GO_IMAGE_PATTERN: &str = r"^([\w\d\-_\.]+(:\d+)?/)?([\w\d\-_\.][\w\d\-_\.\/]*/)?([\w\d\-_\.]+)(:[\w\d\-_]+)?(@sha256:[a-f\d]{64})?$";
/// The same pattern with Go's ASCII-only `\w` / `\d`.
const IMAGE_PATTERN: &str = r"^([A-Za-z0-9_.\-]+(:[0-9]+)?/)?([A-Za-z0-9_.\-][A-Za-z0-9_./\-]*/)?([A-Za-z0-9_.\-]+)(:[A-Za-z0-9_\-]+)?(@sha256:[a-f0-9]{64})?$";
const SECRET_EVENTS: &[&str] = &[
    "push",
    "pull_request",
    "pull_request_closed",
    "pull_request_metadata",
    "tag",
    "release",
    "deployment",
    "cron",
    "manual",
];

/// One answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(status: u16, v: &Value) -> Resp {
        Resp {
            status,
            content_type: Some(JSON),
            body: serde_json::to_vec(v).unwrap_or_default(),
        }
    }
    pub fn text(status: u16, s: &str) -> Resp {
        Resp {
            status,
            content_type: Some(TEXT),
            body: s.as_bytes().to_vec(),
        }
    }
    pub fn empty(status: u16) -> Resp {
        Resp {
            status,
            content_type: None,
            body: Vec::new(),
        }
    }
}

type R = Result<Resp, Resp>;

/// One request, decoded.
pub struct Req {
    pub method: String,
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub token: Option<String>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }

    fn json_body(&self) -> Result<Value, Resp> {
        let v: Value = serde_json::from_slice(&self.body).map_err(|_| Resp::empty(400))?;
        if v.is_object() {
            Ok(v)
        } else {
            Err(Resp::empty(400))
        }
    }

    /// `page` and `perPage` (at most 50).
    fn page(&self) -> (usize, usize) {
        let page = self
            .q("page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(1);
        let per = self
            .q("perPage")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(50)
            .min(50);
        (page, per)
    }

    fn paged<T: Clone>(&self, all: &[T]) -> Vec<T> {
        let (page, per) = self.page();
        all.iter()
            .skip((page - 1) * per)
            .take(per)
            .cloned()
            .collect()
    }
}

pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Typed reads of optional JSON fields (absent or null: `None`; wrong type: 400).
fn opt_str(v: &Value, k: &str) -> Result<Option<String>, Resp> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Resp::empty(400)),
    }
}
fn opt_bool(v: &Value, k: &str) -> Result<Option<bool>, Resp> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Resp::empty(400)),
    }
}
fn opt_int(v: &Value, k: &str) -> Result<Option<i64>, Resp> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| Resp::empty(400)),
        Some(_) => Err(Resp::empty(400)),
    }
}
fn opt_list(v: &Value, k: &str) -> Result<Option<Vec<String>>, Resp> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Resp::empty(400))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(Resp::empty(400)),
    }
}
fn opt_map(v: &Value, k: &str) -> Result<Option<Map<String, Value>>, Resp> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(Resp::empty(400)),
    }
}

#[derive(Default)]
struct Seq {
    user: i64,
    org: i64,
    repo: i64,
    secret: i64,
    registry: i64,
    cron: i64,
    pipeline: i64,
}

fn next(n: &mut i64) -> i64 {
    *n += 1;
    *n
}

/// Everything the server stores.
#[derive(Default)]
pub struct State {
    users: Vec<User>,
    orgs: Vec<Org>,
    repos: Vec<Repo>,
    secrets: Vec<Secret>,
    registries: Vec<Registry>,
    crons: Vec<Cron>,
    pipelines: Vec<Pipeline>,
    seq: Seq,
    tokens: HashMap<String, i64>,
    perm_synced: HashMap<(i64, i64), i64>,
}

impl State {
    fn user_by_token(&self, token: &str) -> Option<User> {
        let id = self.tokens.get(token)?;
        self.users.iter().find(|u| u.id == *id).cloned()
    }

    fn user_by_login(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    pub fn find_user_mut(&mut self, login: &str) -> Option<&mut User> {
        self.users
            .iter_mut()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    fn org_by_name(&self, name: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// The org of a repository owner, created on first use.
    fn org_for_owner(&mut self, owner: &str) -> i64 {
        if let Some(o) = self.org_by_name(owner) {
            return o.id;
        }
        let is_user = self.user_by_login(owner).is_some();
        let id = next(&mut self.seq.org);
        self.orgs.push(Org {
            id,
            name: owner.to_string(),
            is_user,
        });
        id
    }

    /// Creates a user with its own org; `None` on a duplicate login.
    pub fn create_user(&mut self, mut u: User) -> Option<User> {
        if self.user_by_login(&u.login).is_some() {
            return None;
        }
        u.id = next(&mut self.seq.user);
        u.org_id = match self.org_by_name(&u.login) {
            Some(o) => o.id,
            None => {
                let id = next(&mut self.seq.org);
                self.orgs.push(Org {
                    id,
                    name: u.login.clone(),
                    is_user: true,
                });
                id
            }
        };
        self.users.push(u.clone());
        Some(u)
    }

    pub fn add_token(&mut self, token: &str, user_id: i64) {
        self.tokens.insert(token.to_string(), user_id);
    }

    fn repo_by_name(&self, full: &str) -> Option<&Repo> {
        let l = full.to_lowercase();
        self.repos
            .iter()
            .find(|r| r.full_name.to_lowercase() == l)
            .or_else(|| self.repos.iter().find(|r| r.redirects.contains(&l)))
    }

    fn repo_mut(&mut self, id: i64) -> Option<&mut Repo> {
        self.repos.iter_mut().find(|r| r.id == id)
    }
}

pub fn new_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut s = String::from("wpd_");
    for _ in 0..4 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Where a secret or registry lives; decides the error texts.
#[derive(Clone, Copy)]
enum Scope {
    Global,
    Org(i64),
    Repo(i64),
}

impl Scope {
    fn ids(self) -> (i64, i64) {
        match self {
            Scope::Global => (0, 0),
            Scope::Org(o) => (o, 0),
            Scope::Repo(r) => (0, r),
        }
    }
    /// "global secret", "org '\x02' secret", "secret".
    fn label(self, what: &str) -> String {
        match self {
            Scope::Global => format!("global {what}"),
            Scope::Org(o) => format!("org {} {what}", go_quote_int(o)),
            Scope::Repo(_) => what.to_string(),
        }
    }
}

fn validate_secret(s: &Secret, image_re: &Regex) -> Result<(), String> {
    if s.events.is_empty() {
        return Err("invalid secret event: no event specified".into());
    }
    for e in &s.events {
        if !SECRET_EVENTS.contains(&e.as_str()) {
            return Err(format!("invalid webhook event: {e}\ninvalid secret event"));
        }
    }
    if s.name.is_empty() {
        return Err("invalid secret name: empty name".into());
    }
    if s.value.is_empty() {
        return Err("invalid secret value: empty value".into());
    }
    for i in s.images.iter().flatten() {
        if !image_re.is_match(i) {
            return Err(format!(
                "invalid secret image: image '{i}' do not match regexp '{GO_IMAGE_PATTERN}'"
            ));
        }
    }
    Ok(())
}

fn validate_registry(r: &Registry) -> Result<(), String> {
    if r.address.is_empty() {
        return Err("invalid registry address".into());
    }
    if r.username.is_empty() {
        return Err("invalid registry username".into());
    }
    if r.password.is_empty() {
        return Err("invalid registry password".into());
    }
    Ok(())
}

fn validate_cron(c: &Cron) -> Result<(schedule::Schedule, jiff::tz::TimeZone), String> {
    if c.name.is_empty() {
        return Err("name is required".into());
    }
    if c.schedule.is_empty() {
        return Err("schedule is required".into());
    }
    let s = schedule::parse(&c.schedule).map_err(|e| format!("can't parse schedule: {e}"))?;
    let tz =
        schedule::load_location(&c.timezone).map_err(|e| format!("can't parse timezone: {e}"))?;
    Ok((s, tz))
}

/// The server.
pub struct App {
    state: Mutex<State>,
    pub forge: Forge,
    image_re: Regex,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl App {
    pub fn new(state: State, forge: Forge) -> App {
        App {
            state: Mutex::new(state),
            forge,
            image_re: Regex::new(IMAGE_PATTERN).expect("image regex"),
        }
    }

    pub fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut lock(&self.state))
    }

    fn user(&self, req: &Req) -> Option<User> {
        req.token
            .as_deref()
            .and_then(|t| lock(&self.state).user_by_token(t))
    }

    fn must_user(&self, req: &Req) -> Result<User, Resp> {
        self.user(req)
            .ok_or_else(|| Resp::text(401, NOT_AUTHORIZED))
    }

    fn must_admin(&self, req: &Req) -> Result<User, Resp> {
        let u = self.must_user(req)?;
        if u.admin {
            Ok(u)
        } else {
            Err(Resp::text(403, NOT_AUTHORIZED))
        }
    }

    pub async fn handle(&self, req: Req) -> Resp {
        let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
        let m = req.method.as_str();
        let r = match (m, segs.as_slice()) {
            ("GET", ["version"]) => Ok(Resp::json(
                200,
                &json!({"source": "https://github.com/woodpecker-ci/woodpecker", "version": "3.17.0"}),
            )),
            ("GET" | "HEAD", ["healthz"]) => Ok(Resp::empty(204)),
            (_, ["__double", rest @ ..]) => crate::control::handle(self, &req, rest).await,
            (_, ["api", rest @ ..]) => self.api(&req, m, rest).await,
            _ => Ok(Resp::text(404, "404 page not found")),
        };
        r.unwrap_or_else(|e| e)
    }

    async fn api(&self, req: &Req, m: &str, segs: &[&str]) -> R {
        match (m, segs) {
            ("GET", ["user"]) => Ok(Resp::json(200, &self.must_user(req)?.json(false))),
            ("GET", ["user", "repos"]) => self.user_repos(req).await,
            ("POST", ["user", "repos", "refresh"]) => {
                self.must_user(req)?;
                Ok(Resp::json(200, &json!("Ok")))
            }
            ("GET", ["repos"]) => {
                self.must_admin(req)?;
                let active_only = req.q("active").is_some_and(|a| a == "true" || a == "1");
                let st = lock(&self.state);
                let mut v: Vec<&Repo> = st
                    .repos
                    .iter()
                    .filter(|r| !active_only || r.active)
                    .collect();
                v.sort_by_key(|r| r.full_name.to_lowercase());
                let all: Vec<Value> = v.iter().map(|r| r.json()).collect();
                Ok(Resp::json(200, &Value::Array(req.paged(&all))))
            }
            ("POST", ["repos"]) => self.activate(req).await,
            (_, ["repos", "lookup", name @ ..]) if !name.is_empty() => {
                let full = name.join("/");
                let repo = lock(&self.state)
                    .repo_by_name(&full)
                    .cloned()
                    .ok_or_else(|| Resp::empty(404))?;
                let (user, perm) = self.perm(req, &repo).await;
                need(perm.pull, &user)?;
                if m != "GET" {
                    return Ok(Resp::text(404, "404 page not found"));
                }
                Ok(Resp::json(200, &repo.json()))
            }
            (_, ["repos", id, rest @ ..]) => self.repo_routes(req, m, id, rest).await,
            (_, ["secrets", rest @ ..]) => self.global_secrets(req, m, rest),
            (_, ["registries", rest @ ..]) => self.global_registries(req, m, rest),
            (_, ["users", rest @ ..]) => self.users(req, m, rest),
            ("GET", ["orgs", "lookup", name @ ..]) if !name.is_empty() => {
                self.must_user(req)?;
                let full = name.join("/");
                let st = lock(&self.state);
                let o = st.org_by_name(&full).ok_or_else(|| Resp::empty(404))?;
                Ok(Resp::json(200, &o.json()))
            }
            (_, ["orgs", id, rest @ ..]) => self.org_routes(req, m, id, rest).await,
            _ => Ok(Resp::text(404, "404 page not found")),
        }
    }

    /// The caller's rights on a repository (admins: all; others: the forge's, plus pull on
    /// public repositories, and on internal ones when logged in).
    async fn perm(&self, req: &Req, repo: &Repo) -> (Option<User>, Perm) {
        let user = self.user(req);
        let mut p = Perm::default();
        if let Some(u) = &user {
            if u.admin {
                p = Perm::ALL;
            } else if let Ok(Some(f)) = self.forge.repo(&u.login, &repo.forge_remote_id).await {
                p = f.perm;
            }
        }
        if repo.visibility == "public" || (repo.visibility == "internal" && user.is_some()) {
            p.pull = true;
        }
        (user, p)
    }

    async fn user_repos(&self, req: &Req) -> R {
        let user = self.must_user(req)?;
        let all = req.q("all").is_some_and(|a| a == "true" || a == "1");
        if all {
            let forge = self
                .forge
                .repos(&user.login)
                .await
                .map_err(|_| Resp::empty(500))?;
            let st = lock(&self.state);
            let out: Vec<Value> = forge
                .iter()
                .filter(|f| f.perm.push)
                .map(|f| {
                    match st
                        .repos
                        .iter()
                        .find(|r| r.forge_remote_id == f.forge_remote_id)
                    {
                        Some(r) => {
                            let mut r = r.clone();
                            r.update_from_forge(f);
                            r.json()
                        }
                        None => Repo::from_forge(f).json(),
                    }
                })
                .collect();
            return Ok(Resp::json(200, &Value::Array(out)));
        }
        let mut repos: Vec<Repo> = lock(&self.state)
            .repos
            .iter()
            .filter(|r| r.active)
            .cloned()
            .collect();
        repos.sort_by_key(|r| r.full_name.to_lowercase());
        let mut out = Vec::new();
        for r in repos {
            let visible = user.admin
                || matches!(self.forge.repo(&user.login, &r.forge_remote_id).await, Ok(Some(f)) if f.perm.pull);
            if visible {
                out.push(r.json());
            }
        }
        Ok(Resp::json(200, &Value::Array(out)))
    }

    async fn activate(&self, req: &Req) -> R {
        let user = self.must_user(req)?;
        let Some(rid) = req.q("forge_remote_id").filter(|s| !s.is_empty()) else {
            return Err(Resp::text(400, "No forge_remote_id provided"));
        };
        let forge = match self.forge.repo(&user.login, rid).await {
            Ok(Some(f)) => f,
            _ => return Err(Resp::text(500, "Could not fetch repository from forge.")),
        };
        if !forge.perm.admin && !user.admin {
            return Err(Resp::text(403, "User has to be a admin of this repository"));
        }
        let mut st = lock(&self.state);
        let org_id = st.org_for_owner(&forge.owner);
        if let Some(r) = st
            .repos
            .iter_mut()
            .find(|r| r.forge_remote_id == forge.forge_remote_id)
        {
            if r.active {
                return Err(Resp::text(409, "Repository is already active."));
            }
            r.update_from_forge(&forge);
            r.active = true;
            r.org_id = org_id;
            return Ok(Resp::json(200, &r.json()));
        }
        let mut r = Repo::from_forge(&forge);
        r.id = next(&mut st.seq.repo);
        r.org_id = org_id;
        r.active = true;
        r.allow_pr = true;
        r.cancel_previous_pipeline_events = Some(vec!["push".into(), "pull_request".into()]);
        r.require_approval = "forks".into();
        r.visibility = if forge.private { "private" } else { "public" }.into();
        r.timeout = 60;
        st.repos.push(r.clone());
        Ok(Resp::json(200, &r.json()))
    }

    async fn repo_routes(&self, req: &Req, m: &str, id: &str, rest: &[&str]) -> R {
        let id: i64 = id.parse().map_err(|_| Resp::empty(400))?;
        let repo = lock(&self.state)
            .repos
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| Resp::empty(404))?;
        let (user, perm) = self.perm(req, &repo).await;
        match (m, rest) {
            ("GET", []) => {
                need(perm.pull, &user)?;
                Ok(Resp::json(200, &repo.json()))
            }
            ("PATCH", []) => {
                need(perm.admin, &user)?;
                self.patch_repo(req, id)
            }
            ("DELETE", []) => {
                need(perm.admin, &user)?;
                let mut st = lock(&self.state);
                if req.q("remove").is_some_and(|r| r == "true" || r == "1") {
                    st.repos.retain(|r| r.id != id);
                    st.secrets.retain(|s| s.repo_id != id);
                    st.registries.retain(|s| s.repo_id != id);
                    st.crons.retain(|c| c.repo_id != id);
                    st.pipelines.retain(|p| p.repo_id != id);
                    return Ok(Resp::json(200, &repo.json()));
                }
                let r = st.repo_mut(id).ok_or_else(|| Resp::empty(404))?;
                r.active = false;
                Ok(Resp::json(200, &r.json()))
            }
            ("POST", ["repair"]) => {
                need(perm.admin, &user)?;
                let login = user.as_ref().map(|u| u.login.clone()).unwrap_or_default();
                let f = match self.forge.repo(&login, &repo.forge_remote_id).await {
                    Ok(Some(f)) => f,
                    _ => return Err(Resp::empty(500)),
                };
                let mut st = lock(&self.state);
                let r = st.repo_mut(id).ok_or_else(|| Resp::empty(404))?;
                if !r.full_name.eq_ignore_ascii_case(&f.full_name) {
                    let old = r.full_name.to_lowercase();
                    if !r.redirects.contains(&old) {
                        r.redirects.push(old);
                    }
                }
                r.update_from_forge(&f);
                Ok(Resp::empty(204))
            }
            ("GET", ["permissions"]) => {
                need(perm.pull, &user)?;
                let uid = user.as_ref().map(|u| u.id).unwrap_or(0);
                let t = *lock(&self.state)
                    .perm_synced
                    .entry((uid, id))
                    .or_insert_with(now);
                Ok(Resp::json(
                    200,
                    &json!({"admin": perm.admin, "created": t, "pull": perm.pull, "push": perm.push, "synced": t, "updated": t}),
                ))
            }
            (_, ["secrets", rest @ ..]) => {
                need(perm.push, &user)?;
                self.secrets(req, m, rest, Scope::Repo(id))
            }
            (_, ["registries", rest @ ..]) => {
                need(perm.push, &user)?;
                self.registries(req, m, rest, Scope::Repo(id))
            }
            (_, ["cron", rest @ ..]) => {
                need(perm.push, &user)?;
                self.crons(req, m, rest, id, user.as_ref().map(|u| u.id).unwrap_or(0))
            }
            ("GET", ["pipelines"]) => {
                need(perm.pull, &user)?;
                let st = lock(&self.state);
                let mut v: Vec<&Pipeline> =
                    st.pipelines.iter().filter(|p| p.repo_id == id).collect();
                v.sort_by_key(|p| std::cmp::Reverse(p.number));
                let all: Vec<Value> = v.iter().map(|p| p.json()).collect();
                Ok(Resp::json(200, &Value::Array(req.paged(&all))))
            }
            ("POST", ["pipelines"]) => {
                need(perm.push, &user)?;
                let body = req.json_body()?;
                let branch = opt_str(&body, "branch")?
                    .filter(|b| !b.is_empty())
                    .unwrap_or(repo.default_branch.clone());
                let variables = opt_map(&body, "variables")?.unwrap_or_default();
                match self
                    .forge
                    .branch(
                        &repo.forge_remote_id,
                        &repo.full_name,
                        &branch,
                        &repo.config_file,
                    )
                    .await
                {
                    Ok(Branch::NoPipelineFile) => Ok(Resp::empty(204)),
                    Ok(Branch::HasPipelineFile) => {
                        let mut st = lock(&self.state);
                        let number =
                            st.pipelines.iter().filter(|p| p.repo_id == id).count() as i64 + 1;
                        let p = Pipeline {
                            id: next(&mut st.seq.pipeline),
                            repo_id: id,
                            number,
                            branch,
                            author: user.as_ref().map(|u| u.login.clone()).unwrap_or_default(),
                            variables,
                            created: now(),
                        };
                        st.pipelines.push(p.clone());
                        Ok(Resp::json(200, &p.json()))
                    }
                    Ok(Branch::Unknown) | Err(_) => Err(Resp::empty(500)),
                }
            }
            _ => Ok(Resp::text(404, "404 page not found")),
        }
    }

    fn patch_repo(&self, req: &Req, id: i64) -> R {
        let b = req.json_body()?;
        let require_approval = opt_str(&b, "require_approval")?;
        let timeout = opt_int(&b, "timeout")?;
        let visibility = opt_str(&b, "visibility")?;
        let allow_pr = opt_bool(&b, "allow_pr")?;
        let allow_deploy = opt_bool(&b, "allow_deploy")?;
        let config_file = opt_str(&b, "config_file")?;
        let approval_allowed_users = opt_list(&b, "approval_allowed_users")?;
        let cancel = opt_list(&b, "cancel_previous_pipeline_events")?;
        let netrc = opt_list(&b, "netrc_trusted")?;
        let trusted = match b.get("trusted") {
            None | Some(Value::Null) => None,
            Some(t @ Value::Object(_)) => Some((
                opt_bool(t, "network")?,
                opt_bool(t, "security")?,
                opt_bool(t, "volumes")?,
            )),
            Some(_) => return Err(Resp::empty(400)),
        };
        let ext_s = [
            "config_extension_endpoint",
            "registry_extension_endpoint",
            "secret_extension_endpoint",
        ]
        .map(|k| opt_str(&b, k));
        let ext_b = [
            "config_extension_exclusive",
            "config_extension_netrc",
            "registry_extension_netrc",
            "secret_extension_netrc",
        ]
        .map(|k| opt_bool(&b, k));
        if let Some(ra) = &require_approval {
            if !["none", "forks", "pull_requests", "all_events"].contains(&ra.as_str()) {
                return Err(Resp::text(400, "Invalid require-approval setting"));
            }
        }
        if timeout.is_some_and(|t| t < 1) {
            return Err(Resp::text(400, "Timeout must be at least 1 minute"));
        }
        if let Some(v) = &visibility {
            if !["public", "private", "internal"].contains(&v.as_str()) {
                return Err(Resp::text(400, "Invalid visibility type"));
            }
        }
        let [s0, s1, s2] = ext_s;
        let (s0, s1, s2) = (s0?, s1?, s2?);
        let [b0, b1, b2, b3] = ext_b;
        let (b0, b1, b2, b3) = (b0?, b1?, b2?, b3?);
        let mut st = lock(&self.state);
        let r = st.repo_mut(id).ok_or_else(|| Resp::empty(404))?;
        macro_rules! set {
            ($field:expr, $v:expr) => {
                if let Some(v) = $v {
                    $field = v;
                }
            };
        }
        set!(r.require_approval, require_approval);
        set!(r.timeout, timeout);
        set!(r.visibility, visibility);
        set!(r.allow_pr, allow_pr);
        set!(r.allow_deploy, allow_deploy);
        set!(r.config_file, config_file);
        if approval_allowed_users.is_some() {
            r.approval_allowed_users = approval_allowed_users;
        }
        if cancel.is_some() {
            r.cancel_previous_pipeline_events = cancel;
        }
        if netrc.is_some() {
            r.netrc_trusted = netrc;
        }
        if let Some((n, s, v)) = trusted {
            set!(r.trusted.network, n);
            set!(r.trusted.security, s);
            set!(r.trusted.volumes, v);
        }
        set!(r.config_extension_endpoint, s0);
        set!(r.registry_extension_endpoint, s1);
        set!(r.secret_extension_endpoint, s2);
        set!(r.config_extension_exclusive, b0);
        set!(r.config_extension_netrc, b1);
        set!(r.registry_extension_netrc, b2);
        set!(r.secret_extension_netrc, b3);
        Ok(Resp::json(200, &r.json()))
    }

    fn global_secrets(&self, req: &Req, m: &str, rest: &[&str]) -> R {
        if m == "GET" {
            self.must_user(req)?;
        } else {
            self.must_admin(req)?;
        }
        self.secrets(req, m, rest, Scope::Global)
    }

    fn secrets(&self, req: &Req, m: &str, rest: &[&str], scope: Scope) -> R {
        let (org_id, repo_id) = scope.ids();
        let mut st = lock(&self.state);
        let here = |s: &Secret| s.org_id == org_id && s.repo_id == repo_id;
        match (m, rest) {
            ("GET", []) => {
                let mut v: Vec<&Secret> = st.secrets.iter().filter(|s| here(s)).collect();
                v.sort_by(|a, b| a.name.cmp(&b.name));
                let all: Vec<Value> = v.iter().map(|s| s.json()).collect();
                let page = req.paged(&all);
                if page.is_empty() && matches!(scope, Scope::Repo(_)) {
                    return Ok(Resp::json(200, &Value::Null));
                }
                Ok(Resp::json(200, &Value::Array(page)))
            }
            ("GET", [name]) => {
                let s = st
                    .secrets
                    .iter()
                    .find(|s| here(s) && s.name == *name)
                    .ok_or_else(|| Resp::empty(404))?;
                Ok(Resp::json(200, &s.json()))
            }
            ("POST", []) => {
                let b = req.json_body()?;
                let mut events = opt_list(&b, "events")?.unwrap_or_default();
                events.sort();
                let s = Secret {
                    id: 0,
                    org_id,
                    repo_id,
                    name: opt_str(&b, "name")?.unwrap_or_default(),
                    value: opt_str(&b, "value")?.unwrap_or_default(),
                    images: opt_list(&b, "images")?,
                    events,
                    note: opt_str(&b, "note")?.unwrap_or_default(),
                };
                if let Err(e) = validate_secret(&s, &self.image_re) {
                    return Err(Resp::text(
                        422,
                        &format!("Error inserting {}. {e}", scope.label("secret")),
                    ));
                }
                if st.secrets.iter().any(|x| here(x) && x.name == s.name) {
                    return Err(Resp::text(
                        500,
                        &format!(
                            "Error inserting {} {}. {DUPLICATE}",
                            scope.label("secret"),
                            go_quote(&s.name)
                        ),
                    ));
                }
                let s = Secret {
                    id: next(&mut st.seq.secret),
                    ..s
                };
                st.secrets.push(s.clone());
                Ok(Resp::json(200, &s.json()))
            }
            ("PATCH", [name]) => {
                let b = req.json_body()?;
                let idx = st
                    .secrets
                    .iter()
                    .position(|s| here(s) && s.name == *name)
                    .ok_or_else(|| Resp::empty(404))?;
                let mut s = st.secrets[idx].clone();
                if let Some(v) = opt_str(&b, "value")?.filter(|v| !v.is_empty()) {
                    s.value = v;
                }
                if let Some(mut e) = opt_list(&b, "events")? {
                    e.sort();
                    s.events = e;
                }
                if let Some(i) = opt_list(&b, "images")? {
                    s.images = Some(i);
                }
                if let Some(n) = opt_str(&b, "note")? {
                    s.note = n;
                }
                if let Err(e) = validate_secret(&s, &self.image_re) {
                    return Err(Resp::text(
                        400,
                        &format!("Error updating {}. {e}", scope.label("secret")),
                    ));
                }
                st.secrets[idx] = s.clone();
                Ok(Resp::json(200, &s.json()))
            }
            ("DELETE", [name]) => {
                let idx = st
                    .secrets
                    .iter()
                    .position(|s| here(s) && s.name == *name)
                    .ok_or_else(|| Resp::empty(404))?;
                st.secrets.remove(idx);
                Ok(Resp::empty(204))
            }
            _ => Ok(Resp::text(404, "404 page not found")),
        }
    }

    fn global_registries(&self, req: &Req, m: &str, rest: &[&str]) -> R {
        if m == "GET" {
            self.must_user(req)?;
        } else {
            self.must_admin(req)?;
        }
        self.registries(req, m, rest, Scope::Global)
    }

    fn registries(&self, req: &Req, m: &str, rest: &[&str], scope: Scope) -> R {
        let (org_id, repo_id) = scope.ids();
        let mut st = lock(&self.state);
        let here = |s: &Registry| s.org_id == org_id && s.repo_id == repo_id;
        let is_repo = matches!(scope, Scope::Repo(_));
        match (m, rest) {
            ("GET", []) => {
                let mut v: Vec<&Registry> = st.registries.iter().filter(|s| here(s)).collect();
                v.sort_by(|a, b| a.address.cmp(&b.address));
                let all: Vec<Value> = v.iter().map(|s| s.json()).collect();
                let page = req.paged(&all);
                if page.is_empty() && is_repo {
                    return Ok(Resp::json(200, &Value::Null));
                }
                Ok(Resp::json(200, &Value::Array(page)))
            }
            ("GET", [addr]) => {
                let s = st
                    .registries
                    .iter()
                    .find(|s| here(s) && s.address == *addr)
                    .ok_or_else(|| Resp::empty(404))?;
                Ok(Resp::json(200, &s.json()))
            }
            ("POST", []) => {
                let b = req.json_body()?;
                let r = Registry {
                    id: 0,
                    org_id,
                    repo_id,
                    address: opt_str(&b, "address")?.unwrap_or_default(),
                    username: opt_str(&b, "username")?.unwrap_or_default(),
                    password: opt_str(&b, "password")?.unwrap_or_default(),
                };
                if let Err(e) = validate_registry(&r) {
                    return Err(Resp::text(
                        400,
                        &format!("Error inserting {}. {e}", scope.label("registry")),
                    ));
                }
                if st
                    .registries
                    .iter()
                    .any(|x| here(x) && x.address == r.address)
                {
                    return Err(Resp::text(
                        500,
                        &format!(
                            "Error inserting {} {}. {DUPLICATE}",
                            scope.label("registry"),
                            go_quote(&r.address)
                        ),
                    ));
                }
                let stored = Registry {
                    id: next(&mut st.seq.registry),
                    ..r.clone()
                };
                st.registries.push(stored.clone());
                if is_repo {
                    // Woodpecker answers with the posted copy: id 0 and repo_id 0.
                    return Ok(Resp::json(200, &Registry { repo_id: 0, ..r }.json()));
                }
                Ok(Resp::json(200, &stored.json()))
            }
            ("PATCH", [addr]) => {
                let b = req.json_body()?;
                let idx = st
                    .registries
                    .iter()
                    .position(|s| here(s) && s.address == *addr)
                    .ok_or_else(|| Resp::empty(404))?;
                let mut r = st.registries[idx].clone();
                if let Some(u) = opt_str(&b, "username")?.filter(|v| !v.is_empty()) {
                    r.username = u;
                }
                if let Some(p) = opt_str(&b, "password")?.filter(|v| !v.is_empty()) {
                    r.password = p;
                }
                if let Err(e) = validate_registry(&r) {
                    return Err(Resp::text(
                        400,
                        &format!("Error updating {}. {e}", scope.label("registry")),
                    ));
                }
                st.registries[idx] = r.clone();
                if is_repo {
                    // Woodpecker answers with an empty registry here.
                    return Ok(Resp::json(200, &Registry::default().json()));
                }
                Ok(Resp::json(200, &r.json()))
            }
            ("DELETE", [addr]) => {
                let idx = st
                    .registries
                    .iter()
                    .position(|s| here(s) && s.address == *addr)
                    .ok_or_else(|| Resp::empty(404))?;
                st.registries.remove(idx);
                Ok(Resp::empty(204))
            }
            _ => Ok(Resp::text(404, "404 page not found")),
        }
    }

    fn crons(&self, req: &Req, m: &str, rest: &[&str], repo_id: i64, user_id: i64) -> R {
        let mut st = lock(&self.state);
        let cron_id = |s: &str| s.parse::<i64>().map_err(|_| Resp::empty(400));
        match (m, rest) {
            ("GET", []) => {
                let mut v: Vec<&Cron> = st.crons.iter().filter(|c| c.repo_id == repo_id).collect();
                v.sort_by(|a, b| a.name.cmp(&b.name));
                let all: Vec<Value> = v.iter().map(|c| c.json()).collect();
                let page = req.paged(&all);
                if page.is_empty() {
                    return Ok(Resp::json(200, &Value::Null));
                }
                Ok(Resp::json(200, &Value::Array(page)))
            }
            ("GET", [id]) => {
                let id = cron_id(id)?;
                let c = st
                    .crons
                    .iter()
                    .find(|c| c.repo_id == repo_id && c.id == id)
                    .ok_or_else(|| Resp::empty(404))?;
                Ok(Resp::json(200, &c.json()))
            }
            ("POST", []) => {
                let b = req.json_body()?;
                let mut c = Cron {
                    id: 0,
                    repo_id,
                    creator_id: user_id,
                    name: opt_str(&b, "name")?.unwrap_or_default(),
                    schedule: opt_str(&b, "schedule")?.unwrap_or_default(),
                    timezone: opt_str(&b, "timezone")?.unwrap_or_default(),
                    branch: opt_str(&b, "branch")?.unwrap_or_default(),
                    variables: opt_map(&b, "variables")?,
                    enabled: opt_bool(&b, "enabled")?.unwrap_or(false),
                    created: now(),
                    next_exec: 0,
                };
                let (s, tz) = validate_cron(&c).map_err(|e| {
                    Resp::text(422, &format!("Error inserting cron. validate failed: {e}"))
                })?;
                if st
                    .crons
                    .iter()
                    .any(|x| x.repo_id == repo_id && x.name == c.name)
                {
                    return Err(Resp::text(
                        409,
                        "cron with this exists for this repo already",
                    ));
                }
                c.next_exec = schedule::next(&s, &tz, c.created);
                c.id = next(&mut st.seq.cron);
                st.crons.push(c.clone());
                Ok(Resp::json(200, &c.json()))
            }
            ("PATCH", [id]) => {
                let id = cron_id(id)?;
                let b = req.json_body()?;
                let idx = st
                    .crons
                    .iter()
                    .position(|c| c.repo_id == repo_id && c.id == id)
                    .ok_or_else(|| Resp::empty(404))?;
                let mut c = st.crons[idx].clone();
                if let Some(v) = opt_str(&b, "name")?.filter(|v| !v.is_empty()) {
                    c.name = v;
                }
                if let Some(v) = opt_str(&b, "schedule")?.filter(|v| !v.is_empty()) {
                    c.schedule = v;
                }
                if let Some(v) = opt_str(&b, "timezone")? {
                    c.timezone = v;
                }
                if let Some(v) = opt_str(&b, "branch")? {
                    c.branch = v;
                }
                if let Some(v) = opt_map(&b, "variables")? {
                    c.variables = Some(v);
                }
                if let Some(v) = opt_bool(&b, "enabled")? {
                    c.enabled = v;
                }
                let (s, tz) = validate_cron(&c).map_err(|e| {
                    Resp::text(422, &format!("Error updating cron. validate failed: {e}"))
                })?;
                if st
                    .crons
                    .iter()
                    .any(|x| x.repo_id == repo_id && x.id != id && x.name == c.name)
                {
                    return Err(Resp::text(
                        409,
                        "cron with this exists for this repo already",
                    ));
                }
                c.next_exec = schedule::next(&s, &tz, now());
                st.crons[idx] = c.clone();
                Ok(Resp::json(200, &c.json()))
            }
            ("DELETE", [id]) => {
                let id = cron_id(id)?;
                let idx = st
                    .crons
                    .iter()
                    .position(|c| c.repo_id == repo_id && c.id == id)
                    .ok_or_else(|| Resp::empty(404))?;
                st.crons.remove(idx);
                Ok(Resp::empty(204))
            }
            _ => Ok(Resp::text(404, "404 page not found")),
        }
    }

    fn users(&self, req: &Req, m: &str, rest: &[&str]) -> R {
        self.must_admin(req)?;
        let mut st = lock(&self.state);
        match (m, rest) {
            ("GET", []) => {
                let mut v: Vec<&User> = st.users.iter().collect();
                v.sort_by(|a, b| a.login.cmp(&b.login));
                let all: Vec<Value> = v.iter().map(|u| u.json(true)).collect();
                Ok(Resp::json(200, &Value::Array(req.paged(&all))))
            }
            ("GET", [login]) => {
                let u = st.user_by_login(login).ok_or_else(|| Resp::empty(404))?;
                Ok(Resp::json(200, &u.json(true)))
            }
            ("POST", []) => {
                let b = req.json_body()?;
                let login = opt_str(&b, "login")?.unwrap_or_default();
                let valid = Regex::new(r"^[A-Za-z0-9._\-]+$")
                    .map(|re| re.is_match(&login))
                    .unwrap_or(false);
                if !valid || login.len() > 250 {
                    return Err(Resp::text(400, "invalid user login"));
                }
                let u = User {
                    login,
                    email: opt_str(&b, "email")?.unwrap_or_default(),
                    avatar_url: opt_str(&b, "avatar_url")?.unwrap_or_default(),
                    forge_remote_id: "0".into(),
                    admin: opt_bool(&b, "admin")?.unwrap_or(false),
                    ..User::default()
                };
                let u = st
                    .create_user(u)
                    .ok_or_else(|| Resp::text(500, DUPLICATE))?;
                Ok(Resp::json(200, &u.json(false)))
            }
            ("PATCH", [login]) => {
                let b = req.json_body()?;
                st.user_by_login(login).ok_or_else(|| Resp::empty(404))?;
                // Woodpecker 3.17 answers with the decoded request on an empty user and stores nothing.
                let shell = User {
                    login: opt_str(&b, "login")?.unwrap_or_default(),
                    email: opt_str(&b, "email")?.unwrap_or_default(),
                    avatar_url: opt_str(&b, "avatar_url")?.unwrap_or_default(),
                    forge_remote_id: opt_str(&b, "forge_remote_id")?.unwrap_or_default(),
                    admin: opt_bool(&b, "admin")?.unwrap_or(false),
                    ..User::default()
                };
                let mut v = shell.json(false);
                if let Some(o) = v.as_object_mut() {
                    o.remove("forge_id");
                }
                Ok(Resp::json(200, &v))
            }
            ("DELETE", [login]) => {
                let idx = st
                    .users
                    .iter()
                    .position(|u| u.login.eq_ignore_ascii_case(login))
                    .ok_or_else(|| Resp::empty(404))?;
                let u = st.users.remove(idx);
                st.tokens.retain(|_, id| *id != u.id);
                Ok(Resp::empty(204))
            }
            _ => Ok(Resp::text(404, "404 page not found")),
        }
    }

    async fn org_routes(&self, req: &Req, m: &str, id: &str, rest: &[&str]) -> R {
        let id: i64 = id.parse().map_err(|_| Resp::empty(400))?;
        let org = lock(&self.state)
            .orgs
            .iter()
            .find(|o| o.id == id)
            .cloned()
            .ok_or_else(|| Resp::empty(404))?;
        let user = self.must_user(req)?;
        let perm = if user.admin || (org.is_user && org.name.eq_ignore_ascii_case(&user.login)) {
            crate::forge::OrgPerm {
                member: true,
                admin: true,
            }
        } else {
            self.forge
                .org_perm(&user.login, &org.name)
                .await
                .unwrap_or_default()
        };
        let must_org_admin = || {
            if perm.admin {
                Ok(())
            } else {
                Err(Resp::text(403, "user not authorized"))
            }
        };
        match (m, rest) {
            ("GET", []) => Ok(Resp::json(200, &org.json())),
            ("GET", ["permissions"]) => Ok(Resp::json(
                200,
                &json!({"admin": perm.admin, "member": perm.member}),
            )),
            (_, ["secrets", rest @ ..]) => {
                must_org_admin()?;
                let r = self.secrets(req, m, rest, Scope::Org(id))?;
                Ok(r)
            }
            (_, ["registries", rest @ ..]) => {
                must_org_admin()?;
                self.registries(req, m, rest, Scope::Org(id))
            }
            _ => Ok(Resp::text(404, "404 page not found")),
        }
    }
}

/// A repository right the caller lacks: 401 without a user, 403 with one.
fn need(ok: bool, user: &Option<User>) -> Result<(), Resp> {
    match (ok, user) {
        (true, _) => Ok(()),
        (false, None) => Err(Resp::text(401, NOT_AUTHORIZED)),
        (false, Some(_)) => Err(Resp::text(403, NOT_AUTHORIZED)),
    }
}
