//! The server's records and their JSON shapes (keys, `omitempty` and `null`s as Woodpecker 3.17
//! sends them). Secret values and registry passwords are stored but never written out.

use serde_json::{json, Map, Value};

use crate::forge::ForgeRepo;

#[derive(Clone, Debug, Default)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub email: String,
    pub avatar_url: String,
    pub forge_remote_id: String,
    pub org_id: i64,
    pub admin: bool,
    /// Listed in the server's admin setting (WOODPECKER_ADMIN): shown as `admin_env` by /api/users.
    pub admin_env: bool,
}

impl User {
    /// `with_env`: the /api/users views add `admin_env`; /api/user does not.
    pub fn json(&self, with_env: bool) -> Value {
        let mut m = Map::new();
        if self.admin {
            m.insert("admin".into(), json!(true));
        }
        if with_env && self.admin_env {
            m.insert("admin_env".into(), json!(true));
        }
        m.insert("avatar_url".into(), json!(self.avatar_url));
        m.insert("email".into(), json!(self.email));
        m.insert("forge_id".into(), json!(1));
        m.insert("forge_remote_id".into(), json!(self.forge_remote_id));
        m.insert("id".into(), json!(self.id));
        m.insert("login".into(), json!(self.login));
        m.insert("org_id".into(), json!(self.org_id));
        Value::Object(m)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Org {
    pub id: i64,
    pub name: String,
    pub is_user: bool,
}

impl Org {
    pub fn json(&self) -> Value {
        json!({"forge_id": 1, "id": self.id, "is_user": self.is_user, "name": self.name})
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trusted {
    pub network: bool,
    pub security: bool,
    pub volumes: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Repo {
    pub id: i64,
    pub forge_remote_id: String,
    pub org_id: i64,
    pub owner: String,
    pub name: String,
    pub full_name: String,
    pub avatar_url: String,
    pub forge_url: String,
    pub clone_url: String,
    pub clone_url_ssh: String,
    pub default_branch: String,
    pub pr_enabled: bool,
    pub private: bool,
    pub active: bool,
    pub visibility: String,
    pub require_approval: String,
    pub timeout: i64,
    pub allow_pr: bool,
    pub allow_deploy: bool,
    pub config_file: String,
    pub approval_allowed_users: Option<Vec<String>>,
    pub cancel_previous_pipeline_events: Option<Vec<String>>,
    pub netrc_trusted: Option<Vec<String>>,
    pub trusted: Trusted,
    pub config_extension_endpoint: String,
    pub config_extension_exclusive: bool,
    pub config_extension_netrc: bool,
    pub registry_extension_endpoint: String,
    pub registry_extension_netrc: bool,
    pub secret_extension_endpoint: String,
    pub secret_extension_netrc: bool,
    /// Former full names (lower case) that still resolve after a repair followed a rename.
    pub redirects: Vec<String>,
}

impl Repo {
    /// A forge repository that was never activated (no id, zero settings).
    pub fn from_forge(f: &ForgeRepo) -> Repo {
        let mut r = Repo::default();
        r.update_from_forge(f);
        r.visibility = String::new();
        r
    }

    /// Woodpecker's `Repo.Update`: what the forge owns overwrites the stored copy.
    pub fn update_from_forge(&mut self, f: &ForgeRepo) {
        self.forge_remote_id = f.forge_remote_id.clone();
        self.owner = f.owner.clone();
        self.name = f.name.clone();
        self.full_name = f.full_name.clone();
        self.avatar_url = f.avatar_url.clone();
        self.forge_url = f.forge_url.clone();
        self.pr_enabled = f.pr_enabled;
        if !f.clone_url.is_empty() {
            self.clone_url = f.clone_url.clone();
        }
        if !f.clone_url_ssh.is_empty() {
            self.clone_url_ssh = f.clone_url_ssh.clone();
        }
        self.default_branch = f.default_branch.clone();
        if f.private != self.private {
            self.visibility = if f.private { "private" } else { "public" }.into();
        }
        self.private = f.private;
    }

    pub fn json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("active", json!(self.active));
        put("allow_deploy", json!(self.allow_deploy));
        put("allow_pr", json!(self.allow_pr));
        put("approval_allowed_users", json!(self.approval_allowed_users));
        put("avatar_url", json!(self.avatar_url));
        put(
            "cancel_previous_pipeline_events",
            json!(self.cancel_previous_pipeline_events),
        );
        put("clone_url", json!(self.clone_url));
        put("clone_url_ssh", json!(self.clone_url_ssh));
        put(
            "config_extension_endpoint",
            json!(self.config_extension_endpoint),
        );
        put(
            "config_extension_exclusive",
            json!(self.config_extension_exclusive),
        );
        put("config_extension_netrc", json!(self.config_extension_netrc));
        put("config_file", json!(self.config_file));
        put("default_branch", json!(self.default_branch));
        put("forge_id", json!(1));
        put("forge_remote_id", json!(self.forge_remote_id));
        put("forge_url", json!(self.forge_url));
        put("full_name", json!(self.full_name));
        if self.id != 0 {
            put("id", json!(self.id));
        }
        put("name", json!(self.name));
        put("netrc_trusted", json!(self.netrc_trusted));
        put("org_id", json!(self.org_id));
        put("owner", json!(self.owner));
        put("pr_enabled", json!(self.pr_enabled));
        put("private", json!(self.private));
        put(
            "registry_extension_endpoint",
            json!(self.registry_extension_endpoint),
        );
        put(
            "registry_extension_netrc",
            json!(self.registry_extension_netrc),
        );
        put("require_approval", json!(self.require_approval));
        put(
            "secret_extension_endpoint",
            json!(self.secret_extension_endpoint),
        );
        put("secret_extension_netrc", json!(self.secret_extension_netrc));
        if self.timeout != 0 {
            put("timeout", json!(self.timeout));
        }
        put(
            "trusted",
            json!({"network": self.trusted.network, "security": self.trusted.security, "volumes": self.trusted.volumes}),
        );
        put("visibility", json!(self.visibility));
        Value::Object(m)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Secret {
    pub id: i64,
    pub org_id: i64,
    pub repo_id: i64,
    pub name: String,
    pub value: String,
    pub images: Option<Vec<String>>,
    pub events: Vec<String>,
    pub note: String,
}

impl Secret {
    pub fn json(&self) -> Value {
        json!({
            "events": self.events, "id": self.id, "images": self.images, "name": self.name,
            "note": self.note, "org_id": self.org_id, "repo_id": self.repo_id,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct Registry {
    pub id: i64,
    pub org_id: i64,
    pub repo_id: i64,
    pub address: String,
    pub username: String,
    pub password: String,
}

impl Registry {
    pub fn json(&self) -> Value {
        json!({
            "address": self.address, "id": self.id, "org_id": self.org_id, "password": "",
            "readonly": false, "repo_id": self.repo_id, "username": self.username,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct Cron {
    pub id: i64,
    pub repo_id: i64,
    pub creator_id: i64,
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub branch: String,
    pub variables: Option<Map<String, Value>>,
    pub enabled: bool,
    pub created: i64,
    pub next_exec: i64,
}

impl Cron {
    pub fn json(&self) -> Value {
        json!({
            "branch": self.branch, "created": self.created, "creator_id": self.creator_id,
            "enabled": self.enabled, "id": self.id, "name": self.name, "next_exec": self.next_exec,
            "repo_id": self.repo_id, "schedule": self.schedule, "timezone": self.timezone,
            "variables": self.variables,
        })
    }
}

/// A pipeline created by a manual trigger (only when the branch has a pipeline file).
#[derive(Clone, Debug, Default)]
pub struct Pipeline {
    pub id: i64,
    pub repo_id: i64,
    pub number: i64,
    pub branch: String,
    pub author: String,
    pub variables: Map<String, Value>,
    pub created: i64,
}

impl Pipeline {
    pub fn json(&self) -> Value {
        json!({
            "author": self.author, "author_avatar": "", "author_email": "", "branch": self.branch,
            "changed_files": null, "commit": "", "created": self.created, "deploy_to": "",
            "errors": null, "event": "manual", "finished": 0, "forge_url": "", "id": self.id,
            "message": "", "number": self.number, "parent": 0, "ref": format!("refs/heads/{}", self.branch),
            "refspec": "", "sender": self.author, "started": 0, "status": "pending",
            "timestamp": self.created, "title": "", "updated": self.created, "variables": self.variables,
        })
    }
}
