//! `cicd_woodpecker_global_secret`: one instance-wide Woodpecker secret (every repo's pipelines
//! may use it, for the events and images it allows). Replaces the CronJob that copied Vault's
//! `secret/ci/global` into Woodpecker every six hours: one resource per key with
//! `for_each = data.cicd_vault_kv_keys.global.keys` and `value_from_vault`.
//!
//! Endpoints: `GET /api/secrets` (batched), `GET|PATCH|DELETE /api/secrets/{name}`,
//! `POST /api/secrets`, `GET /api/user` (plan: writes need an admin token).
//! Import id: the secret's name. The value is not imported (the API never returns it): the
//! next apply writes the configured value source, so the plan after an import shows an update.
//!
//! Behaviour shared with the repo and org secrets: [`super::woodpecker_secret`]; the value
//! sources and Vault rotation: [`super::value_source`].

use super::value_source::{self as vs, VaultRef, VALUE};
use super::woodpecker_secret::WoodpeckerSecret;
use super::woodpecker_secret_common::{self as common, doc, Model, SecretState, Where};
use crate::clients::woodpecker::SECRET_EVENTS;
use std::collections::BTreeSet;
use tfplugin::identity::IdentitySchema;
use tfplugin::schema::{NestingMode, Schema};
use tfplugin::typed::Val;
use tfplugin::validate::{not_empty, one_of};
use tfplugin::value::Type;

tfplugin::state! {
    /// State of `cicd_woodpecker_global_secret`.
    #[derive(Clone, Debug, Default)]
    pub struct State / StateAttrs {
        /// The secret's name: the import id.
        id: Val<String> = string().computed().keep_prior(),
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

pub type GlobalSecret = WoodpeckerSecret<State>;

impl SecretState for State {
    const TYPE_NAME: &'static str = "cicd_woodpecker_global_secret";

    fn schema() -> Schema {
        Schema::new(0, State::block("An instance-wide Woodpecker secret, available to every repository's pipelines for the events \
             (and images) it allows. Needs the provider's woodpecker token to be an admin's (checked at plan). \
             The value comes from exactly one of `value`, `value_wo` or `value_from_vault`; Woodpecker never \
             returns it, so only events, images, note and deletion are compared with the server. \
             Import with the secret's name."))
    }

    fn identity_schema() -> Option<IdentitySchema> {
        Some(super::adopt::global_secret())
    }

    fn load(&self) -> Model {
        Model {
            at: Where::Global,
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
