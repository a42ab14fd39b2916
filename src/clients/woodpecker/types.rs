//! What the Woodpecker API sends and takes (3.17.0 shapes, from the recordings).
//!
//! Read types are tolerant: missing fields take their default, Go's `null` for an empty list or
//! map becomes empty, `forge_remote_id` may come as a string or a number. Write types serialize
//! only what the caller set (`Option` fields are left out when `None`), so a patch changes what
//! it names and nothing else, and `Some(vec![])` clears a list. Secret values and registry
//! passwords travel as [`Sensitive`]: redacted in `Debug`, never in a read type at all (the
//! server never returns them).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use tfplugin::secret::Secret as Sensitive;

/// `null` (Go's nil slice or map) or missing -> the default.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A string, or a number written as one (forge ids are strings in 3.x; be lenient).
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Null => Ok(String::new()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or a number, found {other}"
        ))),
    }
}

fn expose<S: Serializer>(v: &Sensitive, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.expose())
}

fn expose_opt<S: Serializer>(v: &Option<Sensitive>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(v.expose()),
        None => s.serialize_none(),
    }
}

/// `GET /version`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Version {
    pub source: String,
    pub version: String,
}

/// A Woodpecker user (`GET /api/user`, `/api/users/{login}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub email: String,
    pub avatar_url: String,
    /// Absent (false) for non-admins.
    pub admin: bool,
    /// The user is admin through the server's `WOODPECKER_ADMIN` setting (only in `GET /api/users`).
    pub admin_env: bool,
    pub forge_id: i64,
    #[serde(deserialize_with = "string_or_number")]
    pub forge_remote_id: String,
    pub org_id: i64,
}

/// `POST /api/users` (admin only). Duplicate login: 500 `... duplicate ...`
/// ([`super::WoodpeckerError::is_duplicate`]); empty login: 400 `invalid user login`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UserWrite {
    pub login: String,
    pub email: String,
    pub admin: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
}

/// `PATCH /api/users/{login}`. NOTE: Woodpecker 3.17.0 answers a zeroed user and the change
/// does not show in the next GET (recording 02 #5-#6); the client's read-back shows that.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UserPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

/// A Woodpecker org (a forge owner: organization or user).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Org {
    pub id: i64,
    pub forge_id: i64,
    pub name: String,
    pub is_user: bool,
}

/// `GET /api/orgs/{id}/permissions`: the caller's rights on an org.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OrgPermissions {
    pub member: bool,
    pub admin: bool,
}

/// `GET /api/repos/{id}/permissions`: the caller's rights on a repo (from the forge).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RepoPermissions {
    pub pull: bool,
    pub push: bool,
    pub admin: bool,
    pub synced: i64,
}

/// A repo's trusted settings (changing them needs an instance admin).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Trusted {
    pub network: bool,
    pub security: bool,
    pub volumes: bool,
}

/// A repository as Woodpecker shows it. Its identity is `id` (and `forge_remote_id`), not its
/// name: a forge rename keeps the id (and, until a repair, the old `full_name`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Repo {
    /// Woodpecker's numeric id. 0 only in `user_repos(true)` for a forge repository that was
    /// never activated (the server leaves the field out).
    pub id: i64,
    pub forge_id: i64,
    /// The forge's id of the repository: what [`super::WoodpeckerClient::activate_repo`] takes.
    #[serde(deserialize_with = "string_or_number")]
    pub forge_remote_id: String,
    pub org_id: i64,
    pub owner: String,
    pub name: String,
    /// `owner/name` as Woodpecker last synced it from the forge.
    pub full_name: String,
    pub avatar_url: String,
    pub forge_url: String,
    pub clone_url: String,
    pub clone_url_ssh: String,
    pub default_branch: String,
    pub pr_enabled: bool,
    /// Private on the forge (read-only here; `visibility` is Woodpecker's own).
    pub private: bool,
    /// false after a deactivation (`DELETE /api/repos/{id}`), and for never-activated entries.
    pub active: bool,
    /// `public`, `private` or `internal` (empty for never-activated entries).
    pub visibility: String,
    /// `none`, `forks`, `pull_requests` or `all_events` (empty for never-activated entries).
    pub require_approval: String,
    #[serde(deserialize_with = "null_default")]
    pub approval_allowed_users: Vec<String>,
    /// Pipeline timeout in minutes (0 when the server leaves it out).
    pub timeout: i64,
    pub allow_pr: bool,
    pub allow_deploy: bool,
    pub config_file: String,
    #[serde(deserialize_with = "null_default")]
    pub cancel_previous_pipeline_events: Vec<String>,
    /// Plugin images that get the netrc credentials.
    #[serde(deserialize_with = "null_default")]
    pub netrc_trusted: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub trusted: Trusted,
    pub config_extension_endpoint: String,
    pub config_extension_exclusive: bool,
    pub config_extension_netrc: bool,
    pub registry_extension_endpoint: String,
    pub registry_extension_netrc: bool,
    pub secret_extension_endpoint: String,
    pub secret_extension_netrc: bool,
    /// In the OpenAPI description; not seen in the recordings (3.17.0 shows a deleted forge
    /// repo as active, without this flag).
    pub has_no_forge_repo: bool,
    pub has_forge_name_conflict: bool,
}

/// What one repo lookup by full name found. The server's lookup is case-insensitive and, after
/// a forge rename and a repair, ALSO answers for the old name with the renamed repo (recording
/// 03 #9). So the client compares the answer's `full_name` with the name asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoLookup {
    /// A repo whose `full_name` is the name asked for (ignoring case).
    Found(Repo),
    /// The server answered for an old name: the repo is now called `repo.full_name`. Same id,
    /// secrets and history; whether that counts as "this name" is the caller's decision.
    Renamed(Repo),
    /// No repo is known by that name (404).
    NotFound,
}

impl RepoLookup {
    /// The repo only when it carries the name asked for.
    pub fn found(self) -> Option<Repo> {
        match self {
            RepoLookup::Found(r) => Some(r),
            _ => None,
        }
    }

    /// The repo the server answered with, renamed or not.
    pub fn any(self) -> Option<Repo> {
        match self {
            RepoLookup::Found(r) | RepoLookup::Renamed(r) => Some(r),
            RepoLookup::NotFound => None,
        }
    }
}

/// `PATCH /api/repos/{id}`: only the fields set are sent; `Some(vec![])` clears a list;
/// `trusted` is patched field by field. Values are not checked here: see
/// [`super::validate`]; the server itself checks only visibility, require_approval and
/// timeout >= 1 (400).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RepoPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_approval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_allowed_users: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_pr: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_deploy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_previous_pipeline_events: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netrc_trusted: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<TrustedPatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_extension_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_extension_exclusive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_extension_netrc: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_extension_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_extension_netrc: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_extension_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_extension_netrc: Option<bool>,
}

impl RepoPatch {
    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        *self == RepoPatch::default()
    }
}

/// `trusted` in a [`RepoPatch`]: only the flags set change (`{"network": false}` keeps
/// `security` and `volumes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrustedPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes: Option<bool>,
}

/// A secret as the server shows it: never with its value (no GET, POST or PATCH answer
/// carries it; the only way to know it is what was written).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Secret {
    pub id: i64,
    /// 0 unless an org secret.
    pub org_id: i64,
    /// 0 unless a repo secret.
    pub repo_id: i64,
    pub name: String,
    /// Sorted by the server.
    #[serde(deserialize_with = "null_default")]
    pub events: Vec<String>,
    /// `null` and `[]` both mean "any image".
    #[serde(deserialize_with = "null_default")]
    pub images: Vec<String>,
    pub note: String,
}

/// `POST .../secrets`. The server checks, in this order: events (non-empty and known, 422),
/// name (non-empty only, 422), value (non-empty, 422), images (regex, 422); a duplicate name
/// is 500 `... duplicate ...`. Check with [`super::validate`] at plan time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SecretWrite {
    pub name: String,
    #[serde(serialize_with = "expose")]
    pub value: Sensitive,
    pub events: Vec<String>,
    pub images: Vec<String>,
    pub note: String,
}

/// `PATCH .../secrets/{name}`: only the fields set change. The name cannot change (the server
/// ignores it). A `value` of `Some("")` is the same as `None` on the server (keeps the stored
/// value): a value cannot be cleared. Validation errors are 400 here (422 on create).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SecretPatch {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_opt")]
    pub value: Option<Sensitive>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A registry credential as the server shows it. The server never returns the password (it
/// answers `""`), so this type has no password field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Registry {
    pub id: i64,
    pub org_id: i64,
    pub repo_id: i64,
    pub address: String,
    pub username: String,
    pub readonly: bool,
}

/// `POST .../registries`: all three are required (400 `invalid registry
/// address|username|password`); a duplicate address is 500 `... duplicate ...`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegistryWrite {
    pub address: String,
    pub username: String,
    #[serde(serialize_with = "expose")]
    pub password: Sensitive,
}

/// `PATCH .../registries/{address}`: only the fields set change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegistryPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_opt")]
    pub password: Option<Sensitive>,
}

/// A repo's cron job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Cron {
    pub id: i64,
    pub repo_id: i64,
    pub creator_id: i64,
    pub name: String,
    pub schedule: String,
    /// Empty means UTC.
    pub timezone: String,
    /// Empty means the repo's default branch.
    pub branch: String,
    #[serde(deserialize_with = "null_default")]
    pub variables: BTreeMap<String, String>,
    pub enabled: bool,
    /// Unix seconds.
    pub created: i64,
    /// Next run, unix seconds (computed by the server).
    pub next_exec: i64,
}

/// `POST /api/repos/{id}/cron`. Every field is sent; NOTE `enabled` defaults to false on the
/// server when absent (recording 01 #163), so a new cron does not run unless enabled is true.
/// Errors: 422 `... validate failed: can't parse schedule: ...` / `can't parse timezone: ...`
/// / `name is required`; 409 for a name the repo already has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CronWrite {
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub branch: String,
    pub variables: BTreeMap<String, String>,
    pub enabled: bool,
}

/// `PATCH /api/repos/{id}/cron/{cron}`: only the fields set are sent; `Some(empty map)` clears
/// the variables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CronPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A pipeline (the answer of a manual trigger).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Pipeline {
    pub id: i64,
    /// The pipeline's number within its repo (what the UI and logs show).
    pub number: i64,
    pub parent: i64,
    pub event: String,
    pub status: String,
    pub branch: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub commit: String,
    pub author: String,
    pub sender: String,
    pub message: String,
    pub deploy_to: String,
    pub forge_url: String,
    #[serde(deserialize_with = "null_default")]
    pub variables: BTreeMap<String, String>,
    pub created: i64,
    pub started: i64,
    pub finished: i64,
}

/// What a manual trigger did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerOutcome {
    /// 200: a pipeline was created.
    Created(Box<Pipeline>),
    /// 204: the branch has no pipeline file, nothing was started. NOT a success for a caller
    /// that wanted a deployment.
    NoPipelineFile,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_missing_fields_read_as_defaults() {
        // A never-activated entry of `GET /api/user/repos?all=true` (recording 01 #5): no id,
        // no timeout, null lists.
        let r: Repo = serde_json::from_str(
            r#"{"active": false, "approval_allowed_users": null, "cancel_previous_pipeline_events": null,
                "forge_remote_id": "4", "full_name": "wp-rec/app-one", "netrc_trusted": null,
                "require_approval": "", "trusted": {"network": false, "security": false, "volumes": false},
                "visibility": ""}"#,
        )
        .unwrap();
        assert_eq!((r.id, r.timeout, r.forge_remote_id.as_str()), (0, 0, "4"));
        assert!(r.cancel_previous_pipeline_events.is_empty());
        let r: Repo = serde_json::from_str(r#"{"forge_remote_id": 12, "trusted": null}"#).unwrap();
        assert_eq!(r.forge_remote_id, "12");
        let s: Secret =
            serde_json::from_str(r#"{"events": ["push"], "images": null, "name": "x", "id": 2}"#)
                .unwrap();
        assert!(s.images.is_empty());
        let c: Cron = serde_json::from_str(r#"{"id": 1, "variables": null}"#).unwrap();
        assert!(c.variables.is_empty());
    }

    #[test]
    fn patches_send_only_what_is_set() {
        let p = RepoPatch {
            approval_allowed_users: Some(vec![]),
            trusted: Some(TrustedPatch {
                network: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"approval_allowed_users":[],"trusted":{"network":false}}"#
        );
        assert!(RepoPatch::default().is_empty());
        let s = SecretPatch {
            value: Some(Sensitive::new("s3cr3t-2")),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"value":"s3cr3t-2"}"#
        );
        assert!(!format!("{s:?}").contains("s3cr3t-2"));
        assert_eq!(
            serde_json::to_string(&SecretPatch::default()).unwrap(),
            "{}"
        );
        let w = RegistryWrite {
            address: "docker.io".into(),
            username: "u".into(),
            password: Sensitive::new("hunter22"),
        };
        assert!(!format!("{w:?}").contains("hunter22"));
        assert!(serde_json::to_string(&w)
            .unwrap()
            .contains(r#""password":"hunter22""#));
    }
}
