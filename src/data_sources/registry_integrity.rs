//! `cicd_registry_integrity`: walks the forge's OCI registry for one owner (catalog -> tags ->
//! manifests -> index children, HEAD for children, 8 requests in flight) and reports every tag
//! that would not pull: a tag whose manifest is gone, or an index child that answers 404.
//! Meant for a `check` block, so that a plan warns about a broken registry.
//!
//! Endpoints: `/v2/_catalog`, `/v2/{image}/tags/list`, `GET|HEAD /v2/{image}/manifests/{ref}`.

use crate::provider::ProviderData;
use crate::registry_walk;
use async_trait::async_trait;
use regex::Regex;
use serde::{Deserialize, Serialize};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{Ctx, DataSource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::value::Type;

tfplugin::state! {
    #[derive(Debug, Clone, Default)]
    pub struct State / StateAttrs {
        /// User or organization whose images are checked.
        owner: Val<String> = string().required(),
        /// Only images whose name (without `owner/`) fully matches this regex.
        repository_regex: Val<String> = string().optional(),
        /// The owner.
        id: Val<String> = string().computed(),
        /// Tags that would not pull: `image` (`owner/name`), `tag`, `missing_digest` (the index
        /// child that is gone; null when the tag's own manifest is gone) and `platform` of that
        /// child (`os/arch[/variant]`).
        broken: Val<Vec<BrokenEntry>> = new(broken_type()).computed(),
        /// Number of `broken` entries.
        broken_count: Val<i64> = number().computed(),
        /// Images walked.
        images_checked: Val<i64> = number().computed(),
        /// Tags walked.
        tags_checked: Val<i64> = number().computed(),
        /// Manifests fetched or checked with HEAD (each index child once per image).
        manifests_checked: Val<i64> = number().computed(),
    }
}

/// One element of `broken`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BrokenEntry {
    pub image: String,
    pub tag: String,
    pub missing_digest: Option<String>,
    pub platform: Option<String>,
}

fn broken_type() -> Type {
    Type::list(Type::object([
        ("image", Type::String),
        ("tag", Type::String),
        ("missing_digest", Type::String),
        ("platform", Type::String),
    ]))
}

pub struct RegistryIntegrity {
    data: ProviderData,
}

impl RegistryIntegrity {
    pub fn new(data: ProviderData) -> Self {
        RegistryIntegrity { data }
    }
}

#[async_trait]
impl DataSource for RegistryIntegrity {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_registry_integrity"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            State::block(
                "Checks that every tag of an owner's images in the forge's OCI registry would still pull: \
                 each tag's manifest is fetched and each child of a multi-arch index is checked with HEAD (the \
                 forge answers 404 when a manifest or its blob is gone). Use it in a `check` block (Terraform >= 1.5, \
                 OpenTofu) so that `plan` warns when `broken_count` is not 0; with older Terraform, use an output.",
            ),
        )
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        if let Val::Known(re) = &c.repository_regex {
            if let Err(e) = compile(re) {
                diags.error_at(regex_path(), "Invalid regex", e);
            }
        }
    }

    async fn read(&self, _cx: &Ctx, c: State, diags: &mut Diagnostics) -> Option<State> {
        let forgejo = self.data.forgejo(diags)?;
        let registry = self.data.registry(diags).await?;
        let owner = c.owner.known()?.clone();
        let re = match c.repository_regex.known().map(|r| compile(r)) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => return diags.push_err_at(regex_path(), "Invalid regex", &e),
            None => None,
        };
        let host = forgejo.registry_host();
        let report = match registry_walk::walk(&registry, &host, &owner, re.as_ref()).await {
            Ok(r) => r,
            Err(e) => {
                let summary = format!("Could not check the registry images of {owner}");
                return diags.push_err(summary, &e);
            }
        };
        if report.images_checked == 0 {
            // An empty walk is also what a misspelt owner gives: tell them apart.
            if let Err(e) = forgejo.require_owner(&owner).await {
                let at = AttrPath::root(State::ATTR.owner);
                return diags.push_err_at(at, e.to_string(), &e.detail());
            }
        }
        let broken: Vec<BrokenEntry> = report
            .broken
            .into_iter()
            .map(|b| BrokenEntry {
                image: b.image,
                tag: b.tag,
                missing_digest: b.missing_digest,
                platform: b.platform,
            })
            .collect();
        Some(State {
            id: Val::Known(owner),
            broken_count: Val::Known(broken.len() as i64),
            broken: Val::Known(broken),
            images_checked: Val::Known(report.images_checked as i64),
            tags_checked: Val::Known(report.tags_checked as i64),
            manifests_checked: Val::Known(report.manifests_checked as i64),
            ..c
        })
    }
}

fn regex_path() -> AttrPath {
    AttrPath::root(State::ATTR.repository_regex)
}

fn compile(re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("invalid repository_regex {re:?}: {e}"))
}
