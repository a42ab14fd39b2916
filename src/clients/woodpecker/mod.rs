//! Woodpecker CI API client (3.x; held to the recordings of a real 3.17.0 server in the shared
//! reference, `../shared/reference/woodpecker/` beside the repository, through the test double
//! `crates/woodpecker-double`). A pure client: no Terraform types.
//!
//! # Contract for callers
//!
//! - **Reads** of one object answer `Ok(None)` for 404. Lists walk every page (`page`,
//!   `perPage=50`; the server has no total header, so pages are read until a short one) and
//!   read Go's `null` as an empty list.
//! - **Writes read back.** Every create / update / action returns the object as a fresh GET
//!   (or, where there is none, a fresh list) shows it AFTER the write, never the write's own
//!   answer: some answers are empty shells (`PATCH /api/users/{login}` answers a zeroed user and
//!   does not apply the change; `PATCH /api/repos/{id}/registries/{addr}` a zeroed registry;
//!   `POST /api/repos/{id}/registries` id 0). A write whose object cannot be read back is an
//!   error. Deletes return `Ok(true)`, or `Ok(false)` when the object was already gone (404).
//!   The one exception is [`WoodpeckerClient::trigger_pipeline`]: a pipeline is an event, its
//!   answer is returned as is.
//! - **Batched reads.** `*_cached` methods answer from one list walk per collection (global
//!   secrets, one repo's secrets, the admin repo list, ...), shared by concurrent callers
//!   (single flight) and kept for [`CACHE_TTL`] (30 s). Every write through this client to a
//!   collection drops that collection's list, whether the write succeeded or not. A name the
//!   cached list does not hold is confirmed with a direct GET before the answer is `None`, so a
//!   cached list can make a read at most 30 s stale, never wrongly "gone" for an object created
//!   elsewhere after the list was read.
//! - **Retries.** Reads, DELETEs and PATCHes (each sets fields to given values, so sending it
//!   twice is sending it once) are retried by [`Http`] on connection errors, cut answers, 429,
//!   502, 503 and 504. A POST that creates something is never sent again blindly: after a
//!   transient failure its outcome is unknown, so the object is looked up first (by name, login,
//!   address or forge id); if it is there the write happened and it is adopted (set to what was
//!   asked with an idempotent PATCH where the API has one), if not the POST is sent again.
//! - **Errors** are [`Error`] with the status and the server's text. [`WoodpeckerError`] adds
//!   what resources need: `is_duplicate()` (500 `... duplicate ...` for secrets, registries and
//!   users; 409 for repos and crons), `is_unauthorized()` (401: bad or missing token) and
//!   `is_permission_denied()` (403: valid token, no right). `Error::is_not_found()` is 404.
//!   (`Error::is_forbidden()` is true for both 401 and 403.)
//! - **Values are not validated here**: see [`validate`] for the plan-time checks.
//! - **Repo names.** A repo's identity is its `id`; see [`RepoLookup`] for renames.

mod types;
pub mod validate;

pub use types::*;
pub use validate::{
    validate_cron_name, validate_cron_schedule, validate_registry_address,
    validate_require_approval, validate_secret_events, validate_secret_image, validate_secret_name,
    validate_timeout, validate_timezone, validate_visibility, validate_webhook_events,
    REPO_VISIBILITIES, REQUIRE_APPROVAL_MODES, SECRET_EVENTS, WEBHOOK_EVENTS,
};

use super::cache::ListCache;
use super::http::{self, Http, Replay};
use super::retry;
use super::Error;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tfplugin::secret::Secret as Sensitive;

pub const SYSTEM: &str = "Woodpecker";

/// The server's largest page (a larger `perPage` still answers 50).
pub const PAGE_SIZE: usize = 50;

/// How long a cached list answers (see the module documentation).
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// A list walk stops with an error after this many pages (a server that pages wrongly must
/// not loop forever).
const MAX_PAGES: usize = 2000;

/// The server and the token to use (what the provider's `woodpecker` block resolves to).
#[derive(Clone, Debug)]
pub struct WoodpeckerConfig {
    pub server: String,
    pub token: Sensitive,
}

/// Where a secret or registry lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Instance-wide: `/api/secrets`, `/api/registries` (writes need an admin; any user may read).
    Global,
    /// An org's, by org id (see [`WoodpeckerClient::org_lookup`]): `/api/orgs/{id}/...`.
    Org(i64),
    /// A repo's, by repo id: `/api/repos/{id}/...`.
    Repo(i64),
}

impl Scope {
    fn path(self, kind: &str) -> String {
        match self {
            Scope::Global => format!("/api/{kind}"),
            Scope::Org(id) => format!("/api/orgs/{id}/{kind}"),
            Scope::Repo(id) => format!("/api/repos/{id}/{kind}"),
        }
    }

    fn key(self) -> String {
        match self {
            Scope::Global => "global".into(),
            Scope::Org(id) => format!("org/{id}"),
            Scope::Repo(id) => format!("repo/{id}"),
        }
    }

    fn describe(self) -> String {
        match self {
            Scope::Global => "global".into(),
            Scope::Org(id) => format!("org {id}"),
            Scope::Repo(id) => format!("repo {id}"),
        }
    }
}

/// What resources need to tell Woodpecker's errors apart. Woodpecker answers in plain text; only
/// the duplicate check looks at it.
pub trait WoodpeckerError {
    /// The object exists already: 409 (repos: `Repository is already active.`, crons) or 500
    /// with `duplicate` in the text (secrets, registries, users: `... on insert duplicate based
    /// on constraints was detected`).
    fn is_duplicate(&self) -> bool;
    /// 401: the token is bad or missing (`User not authorized`).
    fn is_unauthorized(&self) -> bool;
    /// 403: the token is valid but lacks the right (`User not authorized`, or `user not
    /// authorized` for org secrets).
    fn is_permission_denied(&self) -> bool;
}

impl WoodpeckerError for Error {
    fn is_duplicate(&self) -> bool {
        match self {
            Error::Status { status: 409, .. } => true,
            Error::Status {
                status: 500,
                message,
                ..
            } => message.to_ascii_lowercase().contains("duplicate"),
            _ => false,
        }
    }

    fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    fn is_permission_denied(&self) -> bool {
        self.status() == Some(403)
    }
}

/// The Woodpecker API client. Cheap to share (`Arc`); all methods take `&self`.
pub struct WoodpeckerClient {
    base: String,
    token: Sensitive,
    http: Http,
    /// Keys: `admin` (`GET /api/repos`), `user-all` (`GET /api/user/repos?all=true`).
    repos: ListCache<Vec<Repo>>,
    /// Keys: [`Scope::key`].
    secrets: ListCache<Vec<Secret>>,
    registries: ListCache<Vec<Registry>>,
    /// Keys: repo id.
    crons: ListCache<Vec<Cron>>,
    /// Key: [`USERS`].
    users: ListCache<Vec<User>>,
    /// `GET /api/repos` answered 403 once (not an admin): [`Self::repo_cached`] reads by id.
    admin_list_denied: AtomicBool,
}

const REPOS_ADMIN: &str = "admin";
const REPOS_USER_ALL: &str = "user-all";
const USERS: &str = "users";

impl WoodpeckerClient {
    pub fn new(cfg: &WoodpeckerConfig) -> Self {
        Self::with_cache_ttl(cfg, CACHE_TTL)
    }

    /// A client whose cached lists live for `ttl` (`Duration::ZERO`: no batching).
    pub fn with_cache_ttl(cfg: &WoodpeckerConfig, ttl: Duration) -> Self {
        WoodpeckerClient {
            base: cfg.server.trim_end_matches('/').to_string(),
            token: cfg.token.clone(),
            http: Http::new(SYSTEM),
            repos: ListCache::new(ttl),
            secrets: ListCache::new(ttl),
            registries: ListCache::new(ttl),
            crons: ListCache::new(ttl),
            users: ListCache::new(ttl),
            admin_list_denied: AtomicBool::new(false),
        }
    }

    /// The server's base URL, without a trailing slash.
    pub fn server(&self) -> &str {
        &self.base
    }

    /// Forget every cached list.
    pub fn clear_cache(&self) {
        self.repos.clear();
        self.secrets.clear();
        self.registries.clear();
        self.crons.clear();
        self.users.clear();
    }

    // ----- plumbing -----

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, &format!("{}{path}", self.base))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", self.token.expose()),
            )
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.http.send_json(self.req(Method::GET, path)).await
    }

    /// GET one object; 404 -> `None`.
    async fn get_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        match self.get_json(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), Error> {
        let replay = write_replay(&method);
        let mut req = self.req(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = self.http.send_as(req, replay).await?;
        // Read the answer to its end (the connection can be reused); state comes from the
        // read-back, never from here.
        let _ = resp.bytes(SYSTEM).await;
        Ok(())
    }

    /// A write's JSON answer (only to learn an id the read-back needs).
    async fn write_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, Error> {
        let replay = write_replay(&method);
        let mut req = self.req(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.http.send_json_as(req, replay).await
    }

    /// DELETE; 404 -> `Ok(false)`.
    async fn delete(&self, path: &str) -> Result<bool, Error> {
        match self.write::<()>(Method::DELETE, path, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every page of a list. `query` is sent with each page; `key` identifies an item, so that a
    /// server that ignores paging (answers the whole list to every page) ends the walk instead
    /// of repeating it, and an item seen twice (the list moved under us) is kept once.
    async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        key: impl Fn(&T) -> String,
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for page in 1..=MAX_PAGES {
            let req = self.req(Method::GET, path).query(query).query(&[
                ("page", page.to_string()),
                ("perPage", PAGE_SIZE.to_string()),
            ]);
            let items: Option<Vec<T>> = self.http.send_json(req).await?;
            let items = items.unwrap_or_default();
            let n = items.len();
            let before = out.len();
            out.extend(items.into_iter().filter(|i| seen.insert(key(i))));
            let nothing_new = n > 0 && out.len() == before;
            // A short page ends the list; a longer one means the server ignored `perPage`.
            if n != PAGE_SIZE || nothing_new {
                return Ok(out);
            }
        }
        Err(Error::Other(format!(
            "{SYSTEM}: the list {path} did not end after {MAX_PAGES} pages of {PAGE_SIZE}"
        )))
    }

    /// Send a creating POST at most once per attempt, never blindly again: after a transient
    /// failure (the outcome is unknown) `exists` looks the object up (uncached); `Found` means
    /// it is there (the POST happened, or another writer made it) and the caller adopts it;
    /// otherwise the POST is sent again, within the shared retry policy.
    async fn post_confirmed<T, P, PF, E, EF>(
        &self,
        what: &str,
        post: P,
        exists: E,
    ) -> Result<Posted<T>, Error>
    where
        P: Fn() -> PF,
        PF: Future<Output = Result<T, Error>>,
        E: Fn() -> EF,
        EF: Future<Output = Result<bool, Error>>,
    {
        let policy = retry::Policy::DEFAULT;
        let mut attempt = 1;
        loop {
            match post().await {
                Ok(v) => return Ok(Posted::Answer(v)),
                Err(e) if e.is_transient() && attempt < policy.attempts => {
                    let delay = retry::next_delay(&policy, what, attempt, None, &e);
                    tokio::time::sleep(delay).await;
                    if exists().await? {
                        tracing::debug!(
                            what,
                            "the create's outcome was unknown; the object exists: adopting it"
                        );
                        return Ok(Posted::Found);
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn not_read_back(what: String) -> Error {
        Error::Other(format!(
            "{SYSTEM} accepted the write of {what} but it could not be read back afterwards \
             (404); it may have been removed meanwhile"
        ))
    }

    // ----- server and user -----

    /// `GET /version`.
    pub async fn version(&self) -> Result<Version, Error> {
        self.get_json("/version").await
    }

    /// `GET /api/user`: who the token belongs to (401 for a bad token).
    pub async fn current_user(&self) -> Result<User, Error> {
        self.get_json("/api/user").await
    }

    // ----- repos -----

    /// `GET /api/user/repos`: with `all`, every forge repository the user may push to, activated
    /// or not (never-activated ones have `id == 0`); without, the active repos the user sees.
    pub async fn user_repos(&self, all: bool) -> Result<Vec<Repo>, Error> {
        let q: &[(&str, &str)] = if all { &[("all", "true")] } else { &[] };
        self.list_all("/api/user/repos", q, |r: &Repo| {
            format!("{}#{}", r.forge_remote_id, r.id)
        })
        .await
    }

    /// [`Self::user_repos`]`(true)`, batched.
    pub async fn user_repos_cached(&self) -> Result<Arc<Vec<Repo>>, Error> {
        self.repos
            .get_or_fetch(REPOS_USER_ALL, || self.user_repos(true))
            .await
    }

    /// The forge repository called `full_name` (ignoring case) among those the user may push
    /// to, activated or not: where [`Self::activate_repo`]'s `forge_remote_id` comes from. The
    /// forge's CURRENT name counts (this list is fresh from the forge). A miss in the cached
    /// list is confirmed with a fresh walk.
    pub async fn forge_repo(&self, full_name: &str) -> Result<Option<Repo>, Error> {
        let find = |l: &[Repo]| {
            l.iter()
                .find(|r| same_name(&r.full_name, full_name))
                .cloned()
        };
        if let Some(r) = find(&self.user_repos_cached().await?) {
            return Ok(Some(r));
        }
        self.repos.invalidate(REPOS_USER_ALL);
        Ok(find(&self.user_repos_cached().await?))
    }

    /// `GET /api/repos/lookup/{owner}/{name}`. The server's lookup is case-insensitive and also
    /// follows old names after a rename; see [`RepoLookup`] for how the answer is classified.
    pub async fn lookup_repo(&self, full_name: &str) -> Result<RepoLookup, Error> {
        let path = format!(
            "/api/repos/lookup/{}",
            full_name
                .split('/')
                .map(http::path_segment)
                .collect::<Vec<_>>()
                .join("/")
        );
        Ok(match self.get_opt::<Repo>(&path).await? {
            None => RepoLookup::NotFound,
            Some(r) if same_name(&r.full_name, full_name) => RepoLookup::Found(r),
            Some(r) => RepoLookup::Renamed(r),
        })
    }

    /// `GET /api/repos/{id}` (404 -> `None`; an inactive repo is `Some` with `active: false`).
    pub async fn repo(&self, id: i64) -> Result<Option<Repo>, Error> {
        self.get_opt(&format!("/api/repos/{id}")).await
    }

    /// `GET /api/repos` (admin only, 403 otherwise): every repo Woodpecker knows, active or not
    /// (`active_only`: `?active=true`).
    pub async fn repos(&self, active_only: bool) -> Result<Vec<Repo>, Error> {
        let q: &[(&str, &str)] = if active_only {
            &[("active", "true")]
        } else {
            &[]
        };
        self.list_all("/api/repos", q, |r: &Repo| r.id.to_string())
            .await
    }

    /// [`Self::repos`]`(false)`, batched.
    pub async fn repos_cached(&self) -> Result<Arc<Vec<Repo>>, Error> {
        self.repos
            .get_or_fetch(REPOS_ADMIN, || self.repos(false))
            .await
    }

    /// One repo by id from the batched admin list; for a non-admin token (the list answers 403,
    /// remembered) or a repo missing from the list, a direct GET.
    pub async fn repo_cached(&self, id: i64) -> Result<Option<Repo>, Error> {
        if !self.admin_list_denied.load(Ordering::Relaxed) {
            match self.repos_cached().await {
                Ok(l) => {
                    if let Some(r) = l.iter().find(|r| r.id == id) {
                        return Ok(Some(r.clone()));
                    }
                }
                Err(e) if e.is_permission_denied() => {
                    self.admin_list_denied.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        self.repo(id).await
    }

    fn repos_changed(&self) {
        self.repos.invalidate(REPOS_ADMIN);
        self.repos.invalidate(REPOS_USER_ALL);
    }

    async fn repo_back(&self, id: i64) -> Result<Repo, Error> {
        self.repo(id)
            .await?
            .ok_or_else(|| Self::not_read_back(format!("repo {id}")))
    }

    /// `POST /api/repos?forge_remote_id=ID`: activate (or re-activate a deactivated repo, which
    /// keeps its id and settings). 409 when already active (`is_duplicate`; per the API notes,
    /// v3.14+ also answers 409 when a stale row holds the same full name), 500 when the forge
    /// does not know the id, 403 without admin rights on the forge repo.
    pub async fn activate_repo(&self, forge_remote_id: &str) -> Result<Repo, Error> {
        let post = || async {
            let req = self
                .req(Method::POST, "/api/repos")
                .query(&[("forge_remote_id", forge_remote_id)]);
            let answer = self.http.send_json::<Repo>(req).await;
            self.repos_changed();
            answer
        };
        // Active under this forge id: the activation happened.
        let active = || async {
            Ok(self
                .user_repos(true)
                .await?
                .into_iter()
                .find(|r| r.forge_remote_id == forge_remote_id && r.id != 0 && r.active))
        };
        let answer = match self
            .post_confirmed("activate repo", post, || async {
                Ok(active().await?.is_some())
            })
            .await?
        {
            Posted::Answer(a) => a,
            Posted::Found => match active().await? {
                Some(r) => return self.repo_back(r.id).await,
                None => {
                    return Err(Self::not_read_back(format!(
                        "the repo with forge id {forge_remote_id}"
                    )))
                }
            },
        };
        if answer.id != 0 {
            return self.repo_back(answer.id).await;
        }
        self.lookup_repo(&answer.full_name)
            .await?
            .any()
            .ok_or_else(|| Self::not_read_back(format!("repo {}", answer.full_name)))
    }

    /// `PATCH /api/repos/{id}`: only the fields set in `patch` change. 400 for a bad
    /// visibility / require_approval / timeout, 403 without admin rights.
    pub async fn patch_repo(&self, id: i64, patch: &RepoPatch) -> Result<Repo, Error> {
        let r = self
            .write(Method::PATCH, &format!("/api/repos/{id}"), Some(patch))
            .await;
        self.repos_changed();
        r?;
        self.repo_back(id).await
    }

    /// `DELETE /api/repos/{id}`: deactivate (remove the webhook). The repo stays, with its id,
    /// settings, secrets and history (`active: false`); activating it again keeps the id.
    /// Deactivating twice is fine.
    pub async fn deactivate_repo(&self, id: i64) -> Result<Repo, Error> {
        let r = self
            .write::<()>(Method::DELETE, &format!("/api/repos/{id}"), None)
            .await;
        self.repos_changed();
        r?;
        self.repo_back(id).await
    }

    /// `DELETE /api/repos/{id}?remove=true`: delete the repo with its secrets, registries,
    /// crons and pipelines. A later activation gets a NEW id. `Ok(false)`: it was already gone.
    pub async fn remove_repo(&self, id: i64) -> Result<bool, Error> {
        let r = self.delete(&format!("/api/repos/{id}?remove=true")).await;
        self.repos_changed();
        let scope = Scope::Repo(id);
        self.secrets.invalidate(&scope.key());
        self.registries.invalidate(&scope.key());
        self.crons.invalidate(&id.to_string());
        r
    }

    /// `POST /api/repos/{id}/repair`: re-sync from the forge (picks up a rename) and recreate
    /// the webhook. 500 (empty text) when the forge repo is gone.
    pub async fn repair_repo(&self, id: i64) -> Result<Repo, Error> {
        let r = self.repair(id).await;
        self.repos_changed();
        r?;
        self.repo_back(id).await
    }

    /// The repair POST: it re-syncs and recreates the webhook, so sending it again is safe.
    async fn repair(&self, id: i64) -> Result<(), Error> {
        let req = self.req(Method::POST, &format!("/api/repos/{id}/repair"));
        self.http.send_as(req, Replay::Idempotent).await.map(drop)
    }

    /// `GET /api/repos/{id}/permissions`: the caller's rights on the repo.
    pub async fn repo_permissions(&self, id: i64) -> Result<RepoPermissions, Error> {
        self.get_json(&format!("/api/repos/{id}/permissions")).await
    }

    // ----- orgs -----

    /// `GET /api/orgs/lookup/{name}` (404 -> `None`).
    pub async fn org_lookup(&self, name: &str) -> Result<Option<Org>, Error> {
        let path = format!(
            "/api/orgs/lookup/{}",
            name.split('/')
                .map(http::path_segment)
                .collect::<Vec<_>>()
                .join("/")
        );
        self.get_opt(&path).await
    }

    /// `GET /api/orgs/{id}` (404 -> `None`).
    pub async fn org(&self, id: i64) -> Result<Option<Org>, Error> {
        self.get_opt(&format!("/api/orgs/{id}")).await
    }

    /// `GET /api/orgs/{id}/permissions`: the caller's rights on the org.
    pub async fn org_permissions(&self, id: i64) -> Result<OrgPermissions, Error> {
        self.get_json(&format!("/api/orgs/{id}/permissions")).await
    }

    // ----- secrets -----

    /// Every secret of `scope` (sorted by name; repo lists may be `null`: empty).
    pub async fn secrets(&self, scope: Scope) -> Result<Vec<Secret>, Error> {
        self.list_all(&scope.path("secrets"), &[], |s: &Secret| s.name.clone())
            .await
    }

    /// [`Self::secrets`], batched per scope.
    pub async fn secrets_cached(&self, scope: Scope) -> Result<Arc<Vec<Secret>>, Error> {
        self.secrets
            .get_or_fetch(&scope.key(), || self.secrets(scope))
            .await
    }

    /// `GET .../secrets/{name}` (404 -> `None`; names are case-sensitive).
    pub async fn secret(&self, scope: Scope, name: &str) -> Result<Option<Secret>, Error> {
        self.get_opt(&format!(
            "{}/{}",
            scope.path("secrets"),
            http::path_segment(name)
        ))
        .await
    }

    /// One secret from the batched list of its scope (a miss is confirmed with a GET).
    pub async fn secret_cached(&self, scope: Scope, name: &str) -> Result<Option<Secret>, Error> {
        let list = self.secrets_cached(scope).await?;
        if let Some(s) = list.iter().find(|s| s.name == name) {
            return Ok(Some(s.clone()));
        }
        self.secret(scope, name).await
    }

    /// `POST .../secrets`, then read back. Duplicate name: 500 (`is_duplicate`).
    pub async fn create_secret(&self, scope: Scope, secret: &SecretWrite) -> Result<Secret, Error> {
        let posted = self
            .post_confirmed(
                "create secret",
                || async {
                    let r = self
                        .write(Method::POST, &scope.path("secrets"), Some(secret))
                        .await;
                    self.secrets.invalidate(&scope.key());
                    r
                },
                || async { Ok(self.secret(scope, &secret.name).await?.is_some()) },
            )
            .await?;
        if let Posted::Found = posted {
            // Make the found secret what was asked (a PATCH is idempotent).
            let patch = SecretPatch {
                value: Some(secret.value.clone()),
                events: Some(secret.events.clone()),
                images: Some(secret.images.clone()),
                note: Some(secret.note.clone()),
            };
            return self.patch_secret(scope, &secret.name, &patch).await;
        }
        self.secret_back(scope, &secret.name).await
    }

    /// `PATCH .../secrets/{name}`, then read back.
    pub async fn patch_secret(
        &self,
        scope: Scope,
        name: &str,
        patch: &SecretPatch,
    ) -> Result<Secret, Error> {
        let r = self
            .write(
                Method::PATCH,
                &format!("{}/{}", scope.path("secrets"), http::path_segment(name)),
                Some(patch),
            )
            .await;
        self.secrets.invalidate(&scope.key());
        r?;
        self.secret_back(scope, name).await
    }

    /// `DELETE .../secrets/{name}`; `Ok(false)` when it was already gone.
    pub async fn delete_secret(&self, scope: Scope, name: &str) -> Result<bool, Error> {
        let r = self
            .delete(&format!(
                "{}/{}",
                scope.path("secrets"),
                http::path_segment(name)
            ))
            .await;
        self.secrets.invalidate(&scope.key());
        r
    }

    async fn secret_back(&self, scope: Scope, name: &str) -> Result<Secret, Error> {
        self.secret(scope, name)
            .await?
            .ok_or_else(|| Self::not_read_back(format!("the {} secret {name:?}", scope.describe())))
    }

    /// Global secrets, batched.
    pub async fn global_secrets_cached(&self) -> Result<Arc<Vec<Secret>>, Error> {
        self.secrets_cached(Scope::Global).await
    }

    /// One global secret from the batched list (a miss is confirmed with a GET).
    pub async fn global_secret(&self, name: &str) -> Result<Option<Secret>, Error> {
        self.secret_cached(Scope::Global, name).await
    }

    /// One repo's secrets, batched.
    pub async fn repo_secrets_cached(&self, repo_id: i64) -> Result<Arc<Vec<Secret>>, Error> {
        self.secrets_cached(Scope::Repo(repo_id)).await
    }

    /// One org's secrets, batched.
    pub async fn org_secrets_cached(&self, org_id: i64) -> Result<Arc<Vec<Secret>>, Error> {
        self.secrets_cached(Scope::Org(org_id)).await
    }

    // ----- registries -----

    /// Every registry credential of `scope` (passwords are never returned).
    pub async fn registries(&self, scope: Scope) -> Result<Vec<Registry>, Error> {
        self.list_all(&scope.path("registries"), &[], |r: &Registry| {
            r.address.clone()
        })
        .await
    }

    /// [`Self::registries`], batched per scope.
    pub async fn registries_cached(&self, scope: Scope) -> Result<Arc<Vec<Registry>>, Error> {
        self.registries
            .get_or_fetch(&scope.key(), || self.registries(scope))
            .await
    }

    /// `GET .../registries/{address}` (404 -> `None`).
    pub async fn registry(&self, scope: Scope, address: &str) -> Result<Option<Registry>, Error> {
        self.get_opt(&format!(
            "{}/{}",
            scope.path("registries"),
            http::path_segment(address)
        ))
        .await
    }

    /// One registry from the batched list of its scope (a miss is confirmed with a GET).
    pub async fn registry_cached(
        &self,
        scope: Scope,
        address: &str,
    ) -> Result<Option<Registry>, Error> {
        let list = self.registries_cached(scope).await?;
        if let Some(r) = list.iter().find(|r| r.address == address) {
            return Ok(Some(r.clone()));
        }
        self.registry(scope, address).await
    }

    /// `POST .../registries`, then read back (the repo answer has id 0). Duplicate: 500.
    pub async fn create_registry(
        &self,
        scope: Scope,
        registry: &RegistryWrite,
    ) -> Result<Registry, Error> {
        let posted = self
            .post_confirmed(
                "create registry",
                || async {
                    let r = self
                        .write(Method::POST, &scope.path("registries"), Some(registry))
                        .await;
                    self.registries.invalidate(&scope.key());
                    r
                },
                || async { Ok(self.registry(scope, &registry.address).await?.is_some()) },
            )
            .await?;
        if let Posted::Found = posted {
            let patch = RegistryPatch {
                username: Some(registry.username.clone()),
                password: Some(registry.password.clone()),
            };
            return self.patch_registry(scope, &registry.address, &patch).await;
        }
        self.registry_back(scope, &registry.address).await
    }

    /// `PATCH .../registries/{address}`, then read back (the repo answer is a zeroed shell).
    pub async fn patch_registry(
        &self,
        scope: Scope,
        address: &str,
        patch: &RegistryPatch,
    ) -> Result<Registry, Error> {
        let r = self
            .write(
                Method::PATCH,
                &format!(
                    "{}/{}",
                    scope.path("registries"),
                    http::path_segment(address)
                ),
                Some(patch),
            )
            .await;
        self.registries.invalidate(&scope.key());
        r?;
        self.registry_back(scope, address).await
    }

    /// `DELETE .../registries/{address}`; `Ok(false)` when it was already gone.
    pub async fn delete_registry(&self, scope: Scope, address: &str) -> Result<bool, Error> {
        let r = self
            .delete(&format!(
                "{}/{}",
                scope.path("registries"),
                http::path_segment(address)
            ))
            .await;
        self.registries.invalidate(&scope.key());
        r
    }

    async fn registry_back(&self, scope: Scope, address: &str) -> Result<Registry, Error> {
        self.registry(scope, address).await?.ok_or_else(|| {
            Self::not_read_back(format!("the {} registry {address:?}", scope.describe()))
        })
    }

    // ----- crons -----

    /// A repo's crons (sorted by name; `null` when none: empty).
    pub async fn crons(&self, repo_id: i64) -> Result<Vec<Cron>, Error> {
        self.list_all(&format!("/api/repos/{repo_id}/cron"), &[], |c: &Cron| {
            c.id.to_string()
        })
        .await
    }

    /// [`Self::crons`], batched per repo.
    pub async fn crons_cached(&self, repo_id: i64) -> Result<Arc<Vec<Cron>>, Error> {
        self.crons
            .get_or_fetch(&repo_id.to_string(), || self.crons(repo_id))
            .await
    }

    /// `GET /api/repos/{repo_id}/cron/{id}` (404 -> `None`).
    pub async fn cron(&self, repo_id: i64, id: i64) -> Result<Option<Cron>, Error> {
        self.get_opt(&format!("/api/repos/{repo_id}/cron/{id}"))
            .await
    }

    /// One cron from the batched list of its repo (a miss is confirmed with a GET).
    pub async fn cron_cached(&self, repo_id: i64, id: i64) -> Result<Option<Cron>, Error> {
        let list = self.crons_cached(repo_id).await?;
        if let Some(c) = list.iter().find(|c| c.id == id) {
            return Ok(Some(c.clone()));
        }
        self.cron(repo_id, id).await
    }

    /// `POST /api/repos/{repo_id}/cron`, then read back. 422 for a bad schedule, timezone or
    /// empty name (the server's text says which), 409 for a name the repo has (`is_duplicate`).
    pub async fn create_cron(&self, repo_id: i64, cron: &CronWrite) -> Result<Cron, Error> {
        // Cron names are unique per repo: the name finds a cron whose create's answer was lost.
        let by_name = || async {
            Ok::<_, Error>(
                self.crons(repo_id)
                    .await?
                    .iter()
                    .find(|c| c.name == cron.name)
                    .map(|c| c.id),
            )
        };
        let posted = self
            .post_confirmed(
                "create cron",
                || async {
                    let answer = self
                        .write_json::<_, Cron>(
                            Method::POST,
                            &format!("/api/repos/{repo_id}/cron"),
                            Some(cron),
                        )
                        .await;
                    self.crons.invalidate(&repo_id.to_string());
                    answer
                },
                || async { Ok(by_name().await?.is_some()) },
            )
            .await?;
        let id = match posted {
            Posted::Answer(a) if a.id != 0 => a.id,
            // No id in the answer: find the new cron by its (unique) name.
            Posted::Answer(_) => by_name().await?.unwrap_or(0),
            Posted::Found => {
                let id = by_name().await?.unwrap_or(0);
                let patch = CronPatch {
                    name: None,
                    schedule: Some(cron.schedule.clone()),
                    timezone: Some(cron.timezone.clone()),
                    branch: Some(cron.branch.clone()),
                    variables: Some(cron.variables.clone()),
                    enabled: Some(cron.enabled),
                };
                return self.patch_cron(repo_id, id, &patch).await;
            }
        };
        self.cron_back(repo_id, id).await
    }

    /// `PATCH /api/repos/{repo_id}/cron/{id}`, then read back.
    pub async fn patch_cron(
        &self,
        repo_id: i64,
        id: i64,
        patch: &CronPatch,
    ) -> Result<Cron, Error> {
        let r = self
            .write(
                Method::PATCH,
                &format!("/api/repos/{repo_id}/cron/{id}"),
                Some(patch),
            )
            .await;
        self.crons.invalidate(&repo_id.to_string());
        r?;
        self.cron_back(repo_id, id).await
    }

    /// `DELETE /api/repos/{repo_id}/cron/{id}`; `Ok(false)` when it was already gone.
    pub async fn delete_cron(&self, repo_id: i64, id: i64) -> Result<bool, Error> {
        let r = self
            .delete(&format!("/api/repos/{repo_id}/cron/{id}"))
            .await;
        self.crons.invalidate(&repo_id.to_string());
        r
    }

    async fn cron_back(&self, repo_id: i64, id: i64) -> Result<Cron, Error> {
        self.cron(repo_id, id)
            .await?
            .ok_or_else(|| Self::not_read_back(format!("cron {id} of repo {repo_id}")))
    }

    // ----- users (admin only) -----

    /// `GET /api/users` (sorted by login).
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        self.list_all("/api/users", &[], |u: &User| u.login.clone())
            .await
    }

    /// [`Self::users`], batched (one list walk per run for any number of user resources).
    pub async fn users_cached(&self) -> Result<Arc<Vec<User>>, Error> {
        self.users.get_or_fetch(USERS, || self.users()).await
    }

    /// `GET /api/users/{login}` (404 -> `None`).
    pub async fn user(&self, login: &str) -> Result<Option<User>, Error> {
        self.get_opt(&format!("/api/users/{}", http::path_segment(login)))
            .await
    }

    /// `POST /api/users`, then read back. Duplicate login: 500 (`is_duplicate`).
    pub async fn create_user(&self, user: &UserWrite) -> Result<User, Error> {
        // A user found after an unknown outcome is read back as it is: Woodpecker does not
        // apply a user PATCH (see [`UserPatch`]), so the caller compares it with what was asked.
        self.post_confirmed(
            "create user",
            || async {
                let r = self.write(Method::POST, "/api/users", Some(user)).await;
                self.users.invalidate(USERS);
                r
            },
            || async { Ok(self.user(&user.login).await?.is_some()) },
        )
        .await?;
        self.user_back(&user.login).await
    }

    /// `PATCH /api/users/{login}`, then read back. Woodpecker 3.17.0 does not apply this
    /// change (see [`UserPatch`]): compare the answer with what was asked.
    pub async fn patch_user(&self, login: &str, patch: &UserPatch) -> Result<User, Error> {
        let r = self
            .write(
                Method::PATCH,
                &format!("/api/users/{}", http::path_segment(login)),
                Some(patch),
            )
            .await;
        self.users.invalidate(USERS);
        r?;
        self.user_back(login).await
    }

    /// `DELETE /api/users/{login}`; `Ok(false)` when it was already gone.
    pub async fn delete_user(&self, login: &str) -> Result<bool, Error> {
        let r = self
            .delete(&format!("/api/users/{}", http::path_segment(login)))
            .await;
        self.users.invalidate(USERS);
        r
    }

    async fn user_back(&self, login: &str) -> Result<User, Error> {
        self.user(login)
            .await?
            .ok_or_else(|| Self::not_read_back(format!("user {login:?}")))
    }

    // ----- pipelines -----

    /// `POST /api/repos/{repo_id}/pipelines` with `{branch, variables}`: start a manual
    /// pipeline. 204 (the branch has no pipeline file) is [`TriggerOutcome::NoPipelineFile`],
    /// not a success. An unknown branch is a 500 with an empty text; an unknown repo 404.
    /// `variables` reach the pipeline as environment variables.
    pub async fn trigger_pipeline(
        &self,
        repo_id: i64,
        branch: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<TriggerOutcome, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            branch: &'a str,
            variables: &'a BTreeMap<String, String>,
        }
        let req = self
            .req(Method::POST, &format!("/api/repos/{repo_id}/pipelines"))
            .json(&Body { branch, variables });
        let resp = self.http.send(req).await?;
        let (method, path) = (resp.method.clone(), resp.path.clone());
        let status = resp.status();
        let body = resp.bytes(SYSTEM).await?;
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(TriggerOutcome::NoPipelineFile);
        }
        let p: Pipeline = serde_json::from_slice(&body).map_err(|e| Error::Decode {
            system: SYSTEM,
            method,
            path,
            message: e.to_string(),
        })?;
        Ok(TriggerOutcome::Created(Box::new(p)))
    }

    /// `GET /api/repos/{repo_id}/pipelines` (first page, newest first): a pipeline's progress
    /// is read here, the listing being what every Woodpecker version answers alike.
    pub async fn recent_pipelines(&self, repo_id: i64) -> Result<Vec<Pipeline>, Error> {
        self.get_json(&format!("/api/repos/{repo_id}/pipelines"))
            .await
    }
}

/// What a creating POST came to (see [`WoodpeckerClient::post_confirmed`]).
enum Posted<T> {
    /// The server's answer.
    Answer(T),
    /// The answer was lost, but the object is there.
    Found,
}

/// PATCH sets the given fields to the given values and `/repair` re-syncs: both are safe to
/// send again. Other POSTs create things and are never replayed by [`Http`].
fn write_replay(method: &Method) -> Replay {
    if *method == Method::PATCH {
        Replay::Idempotent
    } else {
        Replay::ByMethod
    }
}

/// Woodpecker compares names ignoring case.
fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, message: &str) -> Error {
        Error::Status {
            system: SYSTEM,
            method: "POST".into(),
            path: "/api/secrets".into(),
            status,
            message: message.into(),
        }
    }

    #[test]
    fn error_kinds() {
        let dup = status(
            500,
            "Error inserting global secret \"docker_password\". on insert duplicate based on constraints was detected",
        );
        assert!(dup.is_duplicate());
        assert!(status(409, "Repository is already active.").is_duplicate());
        assert!(status(409, "cron with this exists for this repo already").is_duplicate());
        assert!(!status(500, "").is_duplicate());
        assert!(!status(500, "Could not fetch repository from forge.").is_duplicate());
        let unauth = status(401, "User not authorized");
        assert!(unauth.is_unauthorized() && !unauth.is_permission_denied());
        let denied = status(403, "user not authorized");
        assert!(denied.is_permission_denied() && !denied.is_unauthorized());
        assert!(!Error::Other("x".into()).is_duplicate());
    }

    #[test]
    fn scopes_and_segments() {
        assert_eq!(Scope::Global.path("secrets"), "/api/secrets");
        assert_eq!(Scope::Org(2).path("registries"), "/api/orgs/2/registries");
        assert_eq!(Scope::Repo(1).path("secrets"), "/api/repos/1/secrets");
        assert_eq!(http::path_segment("has space"), "has%20space");
        assert_eq!(
            http::path_segment("registry.example.com:5000"),
            "registry.example.com:5000"
        );
        assert_eq!(http::path_segment("a/b"), "a%2Fb");
        assert!(same_name("wp-rec/APP-ONE", "wp-rec/app-one"));
    }
}
