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

use super::value_source::{self as vs, VaultRef, VALUE};
use super::woodpecker_secret::WoodpeckerSecret;
use super::woodpecker_secret_common::{self as common, doc, Model, SecretState, Where};
use crate::clients::woodpecker::SECRET_EVENTS;
use std::collections::BTreeSet;
use tfplugin::schema::{NestingMode, Schema};
use tfplugin::typed::Val;
use tfplugin::validate::{at_least, not_empty, one_of};
use tfplugin::value::Type;

tfplugin::state! {
    /// State of `cicd_woodpecker_org_secret`.
    #[derive(Clone, Debug, Default)]
    pub struct State / StateAttrs {
        /// `org_id/name`: the import id.
        id: Val<String> = string().computed().keep_prior(),
        /// Numeric id of the Woodpecker org. Set this or `org`; changing it replaces the secret.
        org_id: Val<i64> =
            number().optional().computed().keep_prior().force_new().validate(at_least(1)),
        /// Name of the org (the forge organization or user), looked up at plan time. Set this or
        /// `org_id`.
        org: Val<String> = string().optional().computed().keep_prior(),
        name: Val<String> = string().required().force_new().describe(doc::NAME),
        events: Val<BTreeSet<String>> = new(Type::set(Type::String)).required().describe(doc::events())
            .validate(not_empty()).validate(one_of(SECRET_EVENTS)),
        images: Val<BTreeSet<String>> = new(Type::set(Type::String)).optional().describe(doc::IMAGES),
        note: Val<String> = string().optional().describe(doc::NOTE),
        value: Val<String> = string().optional().sensitive().describe(vs::doc::value(&VALUE)),
        value_wo: Val<String> =
            string().optional().sensitive().write_only().describe(vs::doc::wo(&VALUE)),
        value_wo_version: Val<String> = string().optional().describe(vs::doc::wo_version(&VALUE)),
        vault_version: Val<i64> = number().computed().keep_prior().describe(vs::doc::version(&VALUE)),
        value_from_vault: Val<VaultRef> =
            block(NestingMode::Single, VaultRef::block(vs::doc::vault(&VALUE))),
    }
}

pub type OrgSecret = WoodpeckerSecret<State>;

impl SecretState for State {
    const TYPE_NAME: &'static str = "cicd_woodpecker_org_secret";

    fn schema() -> Schema {
        Schema::new(0, State::block("A secret of one Woodpecker org, available to the pipelines of all its repositories for the events \
             (and images) it allows. The value comes from exactly one of `value`, `value_wo` or `value_from_vault`; Woodpecker never \
             returns it, so only events, images, note and deletion are compared with the server. \
             Import with `org_id/name`."))
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
