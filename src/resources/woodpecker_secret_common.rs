//! The parts of the three Woodpecker secret types that are not the resource itself: the view
//! of a State they share ([`Model`]), the schema, the server's answer into state, the org
//! lookup, error texts, and the admin check (also used by `cicd_woodpecker_registry`).
//! The resource and its decisions: [`super::woodpecker_secret`].

use super::value_source::{Source, VaultRef};
use crate::clients::woodpecker::{Scope, Secret, WoodpeckerClient, WoodpeckerError};
use crate::clients::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::identity::IdentitySchema;
use tfplugin::schema::Schema;
use tfplugin::typed::Val;

/// Where a secret lives, as its State says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Where {
    #[default]
    Global,
    Repo {
        repo_id: Val<i64>,
    },
    Org {
        org_id: Val<i64>,
        org: Val<String>,
    },
}

/// A secret type's State seen through the fields all three share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    pub at: Where,
    pub id: Val<String>,
    pub name: Val<String>,
    pub events: Val<BTreeSet<String>>,
    pub images: Val<BTreeSet<String>>,
    pub note: Val<String>,
    pub src: Source,
}

/// Implemented by each secret type's State.
pub trait SecretState:
    Serialize + DeserializeOwned + Clone + Default + Send + Sync + 'static
{
    const TYPE_NAME: &'static str;
    fn schema() -> Schema;
    fn load(&self) -> Model;
    fn store(&mut self, m: Model);
    /// The resource identity (see [`super::adopt`]); none by default.
    fn identity_schema() -> Option<IdentitySchema> {
        None
    }
}

/// The id of a secret's state and import: `name`, `repo_id/name`, `org_id/name`.
pub fn id_of(m: &Model) -> Option<String> {
    let name = m.name.known()?;
    Some(match &m.at {
        Where::Global => name.clone(),
        Where::Repo { repo_id } => format!("{}/{name}", repo_id.known()?),
        Where::Org { org_id, .. } => format!("{}/{name}", org_id.known()?),
    })
}

pub fn scope_of(m: &Model) -> Option<Scope> {
    Some(match &m.at {
        Where::Global => Scope::Global,
        Where::Repo { repo_id } => Scope::Repo(*repo_id.known()?),
        Where::Org { org_id, .. } => Scope::Org(*org_id.known()?),
    })
}

pub fn describe(scope: Scope) -> String {
    match scope {
        Scope::Global => "global".into(),
        Scope::Repo(id) => format!("repo {id}"),
        Scope::Org(id) => format!("org {id}"),
    }
}

/// The server's answer into `m`, in the form `like` uses for empty values.
pub fn apply_remote(m: &mut Model, s: &Secret, like: &Model) {
    m.events = Val::Known(s.events.iter().cloned().collect());
    m.images = match (&s.images[..], &like.images) {
        ([], Val::Known(l)) if l.is_empty() => Val::Known(BTreeSet::new()),
        ([], _) => Val::Null,
        (i, _) => Val::Known(i.iter().cloned().collect()),
    };
    m.note = match (s.note.as_str(), &like.note) {
        ("", Val::Known(l)) if l.is_empty() => Val::Known(String::new()),
        ("", _) => Val::Null,
        (n, _) => Val::Known(n.to_string()),
    };
}

pub fn list(v: &Val<BTreeSet<String>>) -> Vec<String> {
    v.known().into_iter().flatten().cloned().collect()
}

/// What a failed write means, in the user's terms.
pub fn explain(e: &Error, import_hint: &str) -> String {
    if e.is_duplicate() {
        format!("{e}. It exists already: import it ({import_hint}) or choose another name.")
    } else if e.is_permission_denied() || e.is_unauthorized() {
        format!("{e}. The provider's woodpecker token (woodpecker.token or WOODPECKER_TOKEN) may not do this.")
    } else {
        e.to_string()
    }
}

/// Whether the provider's Woodpecker token is an admin's: asked once per client (a plan of
/// many global secrets asks once; the others wait for that answer).
#[derive(Default)]
pub struct AdminCheck(tokio::sync::Mutex<Option<AdminAnswer>>);

/// The client asked, and its answer (an error text unless the token is an admin's).
type AdminAnswer = (Weak<WoodpeckerClient>, Result<(), String>);

impl AdminCheck {
    /// An error (no path: the provider's configuration is to blame) unless the token is an admin's.
    pub async fn require(
        &self,
        client: &Arc<WoodpeckerClient>,
        what: &str,
        diags: &mut Diagnostics,
    ) -> bool {
        let mut g = self.0.lock().await;
        let cached = g
            .as_ref()
            .filter(|(w, _)| w.upgrade().is_some_and(|c| Arc::ptr_eq(&c, client)))
            .map(|(_, r)| r.clone());
        let answer = match cached {
            Some(r) => r,
            None => {
                let r = match client.current_user().await {
                    Ok(u) if u.admin => Ok(()),
                    Ok(u) => Err(format!(
                        "The provider's woodpecker token (woodpecker.token or WOODPECKER_TOKEN) belongs to {:?}, \
                         who is not a Woodpecker admin, and only admins may write {what}. Configure an admin's \
                         personal access token. Nothing was changed.",
                        u.login
                    )),
                    Err(e) => Err(format!(
                        "Could not check the provider's woodpecker token (woodpecker.token or \
                         WOODPECKER_TOKEN) with GET /api/user: {e}. Nothing was changed."
                    )),
                };
                *g = Some((Arc::downgrade(client), r.clone()));
                r
            }
        };
        match answer {
            Ok(()) => true,
            Err(detail) => {
                diags.error(
                    format!("The provider's Woodpecker token cannot write {what}"),
                    detail,
                );
                false
            }
        }
    }
}

/// At apply: an org id left unknown by the plan (the org did not exist yet) is looked up by
/// name now; still missing is an error at `org`.
pub async fn resolve_org(client: &WoodpeckerClient, m: &mut Model, diags: &mut Diagnostics) {
    let Where::Org {
        org_id: id @ Val::Unknown,
        org: Val::Known(n),
    } = &mut m.at
    else {
        return;
    };
    match client.org_lookup(n).await {
        Ok(Some(o)) => *id = Val::Known(o.id),
        Ok(None) => {
            let why = format!("Woodpecker knows no org {n:?} (an org appears once one of its repos is activated).");
            diags.error_at(AttrPath::root("org"), "Unknown org", why);
        }
        Err(e) => diags.error_at(
            AttrPath::root("org"),
            format!("Could not look up org {n:?}"),
            e.to_string(),
        ),
    }
}

/// `org` name <-> `org_id`: looked up when it changes; a different id replaces.
pub async fn plan_org(
    client: &WoodpeckerClient,
    cfg: &Model,
    prior: Option<&Model>,
    plan: &mut Model,
    replace: &mut Vec<AttrPath>,
    diags: &mut Diagnostics,
) {
    let Where::Org {
        org_id: cfg_id,
        org: cfg_name,
    } = &cfg.at
    else {
        return;
    };
    let before = prior.and_then(|p| match &p.at {
        Where::Org { org_id, org } => Some((org_id.clone(), org.clone())),
        _ => None,
    });
    let (id, name) = match (cfg_id, cfg_name) {
        (Val::Known(id), _) => match &before {
            Some((Val::Known(p), name)) if p == id => (Val::Known(*id), name.clone()),
            _ => match client.org(*id).await {
                Ok(Some(o)) => (Val::Known(*id), Val::Known(o.name)),
                Ok(None) => {
                    let why = format!("Woodpecker knows no org with id {id}.");
                    diags.error_at(AttrPath::root("org_id"), "Unknown org", why);
                    return;
                }
                Err(e) => {
                    diags.error_at(
                        AttrPath::root("org_id"),
                        format!("Could not read org {id}"),
                        e.to_string(),
                    );
                    return;
                }
            },
        },
        (Val::Null, Val::Known(n)) => match &before {
            Some((id @ Val::Known(_), Val::Known(p))) if p == n => {
                (id.clone(), Val::Known(n.clone()))
            }
            _ => match client.org_lookup(n).await {
                Ok(Some(o)) => (Val::Known(o.id), Val::Known(n.clone())),
                Ok(None) if prior.is_none() => {
                    // A repo activated by this same apply may bring the org: looked up again
                    // at apply (`resolve_org`), which fails if it is still missing.
                    let why = format!("Woodpecker knows no org {n:?} yet (an org appears once one of its repos is activated). If this apply activates one, the org is looked up again when the secret is created.");
                    diags.warning_at(AttrPath::root("org"), "Org not found yet", why);
                    (Val::Unknown, Val::Known(n.clone()))
                }
                Ok(None) => {
                    let why = format!("Woodpecker knows no org {n:?} (an org appears once one of its repos is activated).");
                    diags.error_at(AttrPath::root("org"), "Unknown org", why);
                    return;
                }
                Err(e) => {
                    diags.error_at(
                        AttrPath::root("org"),
                        format!("Could not look up org {n:?}"),
                        e.to_string(),
                    );
                    return;
                }
            },
        },
        _ => (Val::Unknown, cfg_name.clone()),
    };
    if before.as_ref().is_some_and(|(p, _)| *p != id) {
        replace.push(AttrPath::root("org_id"));
    }
    plan.at = Where::Org {
        org_id: id,
        org: name,
    };
}

/// The value source's fields of a State, for `load`/`store`.
pub fn source(
    value: &Val<String>,
    wo: &Val<String>,
    wo_version: &Val<String>,
    vault: &Val<VaultRef>,
    version: &Val<i64>,
) -> Source {
    Source {
        value: value.clone(),
        wo: wo.clone(),
        wo_version: wo_version.clone(),
        vault: vault.clone(),
        version: version.clone(),
    }
}

/// Descriptions of the attributes the three secret types share (one text for three States).
pub mod doc {
    use crate::clients::woodpecker::SECRET_EVENTS;

    pub const NAME: &str = "The secret's name, as pipelines use it (`from_secret`): ASCII letters, \
        digits and `_`, not starting with a digit (case-sensitive). Changing it replaces the secret.";
    pub const IMAGES: &str = "Limit the secret to these plugin images (e.g. \
        `woodpeckerci/plugin-docker-buildx`). Unset or empty: any image.";
    pub const NOTE: &str = "A note shown in Woodpecker's UI.";

    pub fn events() -> String {
        let names: Vec<String> = SECRET_EVENTS.iter().map(|e| format!("`{e}`")).collect();
        format!(
            "Events whose pipelines get the secret, at least one of: {}.",
            names.join(", ")
        )
    }
}
