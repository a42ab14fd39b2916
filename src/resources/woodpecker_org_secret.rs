//! `cicd_woodpecker_org_secret`: one secret of a Woodpecker org (a forge organization or user),
//! available to the pipelines of all its repos. The org is given by name (`org`, looked up at
//! plan time when it changes) or by id (`org_id`); the id is the identity: a different id
//! replaces the secret, a renamed org with the same id does not.
//!
//! Endpoints: `GET /api/orgs/{id}/secrets` (batched per org), `POST` there,
//! `GET|PATCH|DELETE /api/orgs/{id}/secrets/{name}`, `GET /api/orgs/lookup/{name}` and
//! `GET /api/orgs/{id}` (plan, when the org changes; import).
//! Import id: `org_id/name`. The value is not imported (the API never returns it): the next
//! apply writes the configured value source, so the plan after an import shows an update.
//! Writing needs admin rights on the org, not an admin token.
//!
//! Behaviour shared with the repo and org secrets: [`super::woodpecker_secret`]; the value
//! sources and Vault rotation: [`super::value_source`].

use super::value_source::VaultRef;
use super::woodpecker_secret::WoodpeckerSecret;
use super::woodpecker_secret_common::{self as common, Model, SecretState, Where};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tfplugin::schema::{Attribute, Schema};
use tfplugin::typed::Val;

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct State {
    pub id: Val<String>,
    pub org_id: Val<i64>,
    pub org: Val<String>,
    pub name: Val<String>,
    pub events: Val<BTreeSet<String>>,
    pub images: Val<BTreeSet<String>>,
    pub note: Val<String>,
    pub value: Val<String>,
    pub value_wo: Val<String>,
    pub value_wo_version: Val<String>,
    pub vault_version: Val<i64>,
    pub value_from_vault: Val<VaultRef>,
}

pub type OrgSecret = WoodpeckerSecret<State>;

impl SecretState for State {
    const TYPE_NAME: &'static str = "cicd_woodpecker_org_secret";

    fn schema() -> Schema {
        common::schema(
            "A secret of one Woodpecker org, available to the pipelines of all its repositories for the events \
             (and images) it allows. The value comes from exactly one of `value`, `value_wo` or `value_from_vault`; Woodpecker never \
             returns it, so only events, images, note and deletion are compared with the server. \
             Import with `org_id/name`.",
            vec![
                Attribute::number("org_id").optional().computed().keep_prior().force_new().describe(
                    "Numeric id of the Woodpecker org. Set this or `org`; changing it replaces the secret.",
                ),
                Attribute::string("org").optional().computed().keep_prior().describe(
                    "Name of the org (the forge organization or user), looked up at plan time. Set this or `org_id`.",
                ),
            ],
        )
    }

    fn load(&self) -> Model {
        Model {
            at: Where::Org {
                org_id: self.org_id.clone(),
                org: self.org.clone(),
            },
            id: self.id.clone(),
            name: self.name.clone(),
            events: self.events.clone(),
            images: self.images.clone(),
            note: self.note.clone(),
            src: common::source(
                &self.value,
                &self.value_wo,
                &self.value_wo_version,
                &self.value_from_vault,
                &self.vault_version,
            ),
        }
    }

    fn store(&mut self, m: Model) {
        if let Where::Org { org_id, org } = m.at {
            self.org_id = org_id;
            self.org = org;
        }
        self.id = m.id;
        self.name = m.name;
        self.events = m.events;
        self.images = m.images;
        self.note = m.note;
        self.value = m.src.value;
        self.value_wo = m.src.wo;
        self.value_wo_version = m.src.wo_version;
        self.value_from_vault = m.src.vault;
        self.vault_version = m.src.version;
    }
}
