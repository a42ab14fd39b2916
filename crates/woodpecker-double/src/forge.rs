//! The forge as the double sees it: which repositories exist, who may do what with them, which
//! branches exist and which of them hold a pipeline file. Nothing else of a forge is modelled.
//!
//! Two kinds: [`SeedForge`] (in memory, from a seed file or the test, changed through the
//! double's control API) and [`GiteaForge`] (read from a Gitea/Forgejo API with an admin token;
//! other users are impersonated with Gitea's `Sudo` header).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user's rights on one forge repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Perm {
    #[serde(default)]
    pub pull: bool,
    #[serde(default)]
    pub push: bool,
    #[serde(default)]
    pub admin: bool,
}

impl Perm {
    pub const ALL: Perm = Perm {
        pull: true,
        push: true,
        admin: true,
    };
    pub const PULL: Perm = Perm {
        pull: true,
        push: false,
        admin: false,
    };
}

/// One forge repository, as seen by one user (`perm`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ForgeRepo {
    pub forge_remote_id: String,
    pub owner: String,
    pub name: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub avatar_url: String,
    #[serde(default)]
    pub forge_url: String,
    #[serde(default)]
    pub clone_url: String,
    #[serde(default)]
    pub clone_url_ssh: String,
    #[serde(default = "main_branch")]
    pub default_branch: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default = "yes")]
    pub pr_enabled: bool,
    #[serde(skip)]
    pub perm: Perm,
}

fn main_branch() -> String {
    "main".into()
}
fn yes() -> bool {
    true
}

/// A forge account (what a login through the forge tells Woodpecker).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ForgeUser {
    pub login: String,
    #[serde(default)]
    pub forge_remote_id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub avatar_url: String,
    /// Site admin of the forge: full rights on every repository.
    #[serde(default)]
    pub admin: bool,
}

/// What the forge says about a branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Branch {
    Unknown,
    NoPipelineFile,
    HasPipelineFile,
}

#[derive(Debug)]
pub struct ForgeError(pub String);

impl std::fmt::Display for ForgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A seeded repository: the forge data plus branches and per-user rights.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeedRepo {
    #[serde(flatten)]
    pub repo: ForgeRepo,
    /// Branches that exist (default: the default branch).
    #[serde(default)]
    pub branches: Vec<String>,
    /// Branches that hold a pipeline file (default: none).
    #[serde(default)]
    pub pipeline_branches: Vec<String>,
    /// Rights per login; users not listed get everything when they are forge admins, pull on
    /// public repositories, nothing otherwise.
    #[serde(default)]
    pub permissions: BTreeMap<String, Perm>,
}

/// Membership of one user in one forge organisation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPerm {
    #[serde(default)]
    pub member: bool,
    #[serde(default)]
    pub admin: bool,
}

/// The in-memory forge.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeedForge {
    #[serde(default)]
    pub users: Vec<ForgeUser>,
    #[serde(default)]
    pub repos: Vec<SeedRepo>,
    /// org name -> login -> membership.
    #[serde(default)]
    pub orgs: BTreeMap<String, BTreeMap<String, OrgPerm>>,
}

impl SeedForge {
    /// Fills derived fields (full name, branches) of every repository.
    pub fn normalize(&mut self) {
        for r in &mut self.repos {
            normalize_repo(r);
        }
    }

    fn user(&self, login: &str) -> Option<&ForgeUser> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    fn perm(&self, login: &str, r: &SeedRepo) -> Perm {
        if let Some(p) = r.permissions.get(login) {
            return *p;
        }
        if self.user(login).is_some_and(|u| u.admin) {
            return Perm::ALL;
        }
        if r.repo.private {
            Perm::default()
        } else {
            Perm::PULL
        }
    }

    fn view(&self, login: &str, r: &SeedRepo) -> ForgeRepo {
        let mut v = r.repo.clone();
        v.perm = self.perm(login, r);
        v
    }

    fn find(&self, remote_id: &str) -> Option<&SeedRepo> {
        self.repos
            .iter()
            .find(|r| r.repo.forge_remote_id == remote_id)
    }

    pub fn find_mut(&mut self, remote_id: &str) -> Option<&mut SeedRepo> {
        self.repos
            .iter_mut()
            .find(|r| r.repo.forge_remote_id == remote_id)
    }

    /// Adds or replaces a repository (by `forge_remote_id`).
    pub fn put_repo(&mut self, mut r: SeedRepo) {
        normalize_repo(&mut r);
        match self.find_mut(&r.repo.forge_remote_id.clone()) {
            Some(old) => *old = r,
            None => self.repos.push(r),
        }
    }

    /// Renames / moves a repository the way a forge does: URLs follow the new full name.
    pub fn rename(&mut self, remote_id: &str, owner: Option<&str>, name: Option<&str>) -> bool {
        let Some(r) = self.find_mut(remote_id) else {
            return false;
        };
        let old = r.repo.full_name.clone();
        if let Some(o) = owner {
            r.repo.owner = o.to_string();
        }
        if let Some(n) = name {
            r.repo.name = n.to_string();
        }
        let new = format!("{}/{}", r.repo.owner, r.repo.name);
        for url in [
            &mut r.repo.forge_url,
            &mut r.repo.clone_url,
            &mut r.repo.clone_url_ssh,
        ] {
            *url = url.replace(&old, &new);
        }
        r.repo.full_name = new;
        true
    }

    pub fn put_user(&mut self, u: ForgeUser) {
        match self
            .users
            .iter_mut()
            .find(|x| x.login.eq_ignore_ascii_case(&u.login))
        {
            Some(old) => *old = u,
            None => self.users.push(u),
        }
    }
}

fn normalize_repo(r: &mut SeedRepo) {
    if r.repo.full_name.is_empty() {
        r.repo.full_name = format!("{}/{}", r.repo.owner, r.repo.name);
    }
    if r.branches.is_empty() {
        r.branches.push(r.repo.default_branch.clone());
    }
}

/// A Gitea or Forgejo server, read with an admin token.
pub struct GiteaForge {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl GiteaForge {
    pub fn new(base: &str, token: &str) -> Self {
        GiteaForge {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("http client"),
        }
    }

    /// GET `path` under /api/v1, as `sudo` when given (impersonation needs an admin token).
    async fn get(&self, path: &str, sudo: Option<&str>) -> Result<Option<Value>, ForgeError> {
        let mut req = self
            .http
            .get(format!("{}/api/v1{}", self.base, path))
            .header("Authorization", format!("token {}", self.token));
        if let Some(s) = sudo {
            req = req.header("Sudo", s);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ForgeError(format!("forge: {e}")))?;
        let status = resp.status();
        if status.as_u16() == 404 {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(ForgeError(format!("forge: GET {path}: {status}")));
        }
        resp.json()
            .await
            .map(Some)
            .map_err(|e| ForgeError(format!("forge: {e}")))
    }

    /// The forge account behind the token.
    pub async fn token_user(&self) -> Result<ForgeUser, ForgeError> {
        let v = self
            .get("/user", None)
            .await?
            .ok_or_else(|| ForgeError("forge: no user".into()))?;
        Ok(gitea_user(&v))
    }

    async fn sudo_for(&self, login: &str) -> Result<Option<String>, ForgeError> {
        let me = self.token_user().await?;
        Ok(if me.login.eq_ignore_ascii_case(login) {
            None
        } else {
            Some(login.to_string())
        })
    }

    async fn repos(&self, login: &str) -> Result<Vec<ForgeRepo>, ForgeError> {
        let sudo = self.sudo_for(login).await?;
        let mut out = Vec::new();
        for page in 1.. {
            let v = self
                .get(
                    &format!("/user/repos?page={page}&limit=50"),
                    sudo.as_deref(),
                )
                .await?;
            let items = v.and_then(|v| v.as_array().cloned()).unwrap_or_default();
            let n = items.len();
            out.extend(items.iter().map(gitea_repo));
            if n < 50 {
                break;
            }
        }
        Ok(out)
    }

    async fn repo(&self, login: &str, remote_id: &str) -> Result<Option<ForgeRepo>, ForgeError> {
        if remote_id.parse::<u64>().is_err() {
            return Ok(None);
        }
        let sudo = self.sudo_for(login).await?;
        Ok(self
            .get(&format!("/repositories/{remote_id}"), sudo.as_deref())
            .await?
            .map(|v| gitea_repo(&v)))
    }

    async fn branch(
        &self,
        full_name: &str,
        branch: &str,
        config_file: &str,
    ) -> Result<Branch, ForgeError> {
        let b = enc(branch);
        if self
            .get(&format!("/repos/{full_name}/branches/{b}"), None)
            .await?
            .is_none()
        {
            return Ok(Branch::Unknown);
        }
        let candidates: Vec<String> = if config_file.is_empty() {
            vec![
                ".woodpecker".into(),
                ".woodpecker.yaml".into(),
                ".woodpecker.yml".into(),
            ]
        } else {
            vec![config_file.to_string()]
        };
        for path in candidates {
            let p = path.split('/').map(enc).collect::<Vec<_>>().join("/");
            if let Some(v) = self
                .get(&format!("/repos/{full_name}/contents/{p}?ref={b}"), None)
                .await?
            {
                // An empty directory is no pipeline.
                if v.as_array().is_none_or(|a| !a.is_empty()) {
                    return Ok(Branch::HasPipelineFile);
                }
            }
        }
        Ok(Branch::NoPipelineFile)
    }

    async fn user(&self, login: &str) -> Result<Option<ForgeUser>, ForgeError> {
        Ok(self
            .get(&format!("/users/{}", enc(login)), None)
            .await?
            .map(|v| gitea_user(&v)))
    }

    async fn org_perm(&self, login: &str, org: &str) -> Result<OrgPerm, ForgeError> {
        let v = self
            .get(
                &format!("/users/{}/orgs/{}/permissions", enc(login), enc(org)),
                None,
            )
            .await?;
        Ok(match v {
            Some(v) => {
                let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
                OrgPerm {
                    member: b("can_read") || b("is_owner"),
                    admin: b("is_owner") || b("is_admin"),
                }
            }
            None => OrgPerm::default(),
        })
    }
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn gitea_user(v: &Value) -> ForgeUser {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    ForgeUser {
        login: s("login"),
        forge_remote_id: v.get("id").map(|i| i.to_string()).unwrap_or_default(),
        email: s("email"),
        avatar_url: s("avatar_url"),
        admin: v.get("is_admin").and_then(Value::as_bool).unwrap_or(false),
    }
}

fn gitea_repo(v: &Value) -> ForgeRepo {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let owner = v.get("owner").cloned().unwrap_or(Value::Null);
    let p = v.get("permissions").cloned().unwrap_or(Value::Null);
    let pb = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
    let avatar = match s("avatar_url") {
        a if !a.is_empty() => a,
        _ => owner
            .get("avatar_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    };
    ForgeRepo {
        forge_remote_id: v.get("id").map(|i| i.to_string()).unwrap_or_default(),
        owner: owner
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        name: s("name"),
        full_name: s("full_name"),
        avatar_url: avatar,
        forge_url: s("html_url"),
        clone_url: s("clone_url"),
        clone_url_ssh: s("ssh_url"),
        default_branch: s("default_branch"),
        private: v.get("private").and_then(Value::as_bool).unwrap_or(false),
        pr_enabled: v
            .get("has_pull_requests")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        perm: Perm {
            pull: pb("pull"),
            push: pb("push"),
            admin: pb("admin"),
        },
    }
}

/// The forge of one double.
pub enum Forge {
    Seeded(Mutex<SeedForge>),
    Gitea(GiteaForge),
}

impl Forge {
    pub fn seeded(mut f: SeedForge) -> Self {
        f.normalize();
        Forge::Seeded(Mutex::new(f))
    }

    fn seed(&self) -> Option<std::sync::MutexGuard<'_, SeedForge>> {
        match self {
            Forge::Seeded(m) => Some(m.lock().unwrap_or_else(|e| e.into_inner())),
            Forge::Gitea(_) => None,
        }
    }

    /// Runs `f` on the in-memory forge; `None` for a Gitea-backed one.
    pub fn with_seed<T>(&self, f: impl FnOnce(&mut SeedForge) -> T) -> Option<T> {
        self.seed().map(|mut g| f(&mut g))
    }

    /// Every repository `login` can see, in the forge's order (Gitea lists by name).
    pub async fn repos(&self, login: &str) -> Result<Vec<ForgeRepo>, ForgeError> {
        if let Some(g) = self.seed() {
            let mut v: Vec<ForgeRepo> = g
                .repos
                .iter()
                .map(|r| g.view(login, r))
                .filter(|r| r.perm.pull)
                .collect();
            v.sort_by(|a, b| {
                (a.name.to_lowercase(), a.owner.to_lowercase())
                    .cmp(&(b.name.to_lowercase(), b.owner.to_lowercase()))
            });
            return Ok(v);
        }
        match self {
            Forge::Gitea(g) => g.repos(login).await,
            Forge::Seeded(_) => unreachable!(),
        }
    }

    /// One repository by its forge id, as `login` sees it; `None` when it does not exist.
    pub async fn repo(
        &self,
        login: &str,
        remote_id: &str,
    ) -> Result<Option<ForgeRepo>, ForgeError> {
        if let Some(g) = self.seed() {
            return Ok(g.find(remote_id).map(|r| g.view(login, r)));
        }
        match self {
            Forge::Gitea(g) => g.repo(login, remote_id).await,
            Forge::Seeded(_) => unreachable!(),
        }
    }

    /// Whether a branch exists and has a pipeline file (`config_file`, or Woodpecker's defaults).
    pub async fn branch(
        &self,
        remote_id: &str,
        full_name: &str,
        branch: &str,
        config_file: &str,
    ) -> Result<Branch, ForgeError> {
        if let Some(g) = self.seed() {
            let Some(r) = g.find(remote_id) else {
                return Err(ForgeError("forge: repository not found".into()));
            };
            return Ok(if !r.branches.iter().any(|b| b == branch) {
                Branch::Unknown
            } else if r.pipeline_branches.iter().any(|b| b == branch) {
                Branch::HasPipelineFile
            } else {
                Branch::NoPipelineFile
            });
        }
        match self {
            Forge::Gitea(g) => g.branch(full_name, branch, config_file).await,
            Forge::Seeded(_) => unreachable!(),
        }
    }

    pub async fn user(&self, login: &str) -> Result<Option<ForgeUser>, ForgeError> {
        if let Some(g) = self.seed() {
            return Ok(g.user(login).cloned());
        }
        match self {
            Forge::Gitea(g) => g.user(login).await,
            Forge::Seeded(_) => unreachable!(),
        }
    }

    pub async fn org_perm(&self, login: &str, org: &str) -> Result<OrgPerm, ForgeError> {
        if let Some(g) = self.seed() {
            if let Some(p) = g.orgs.get(org).and_then(|m| m.get(login)) {
                return Ok(*p);
            }
            let admin = g.user(login).is_some_and(|u| u.admin);
            return Ok(OrgPerm {
                member: admin,
                admin,
            });
        }
        match self {
            Forge::Gitea(g) => g.org_perm(login, org).await,
            Forge::Seeded(_) => unreachable!(),
        }
    }
}
