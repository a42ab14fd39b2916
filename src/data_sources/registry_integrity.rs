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
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::typed::Val;
use tfplugin::value::Type;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BrokenEntry {
    pub image: String,
    pub tag: String,
    pub missing_digest: Option<String>,
    pub platform: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct State {
    #[serde(default)]
    pub id: Val<String>,
    #[serde(default)]
    pub owner: Val<String>,
    #[serde(default)]
    pub repository_regex: Val<String>,
    #[serde(default)]
    pub broken: Val<Vec<BrokenEntry>>,
    #[serde(default)]
    pub broken_count: Val<i64>,
    #[serde(default)]
    pub images_checked: Val<i64>,
    #[serde(default)]
    pub tags_checked: Val<i64>,
    #[serde(default)]
    pub manifests_checked: Val<i64>,
}

pub struct RegistryIntegrity {
    data: ProviderData,
}

impl RegistryIntegrity {
    pub fn new(data: ProviderData) -> Self {
        RegistryIntegrity { data }
    }
}

fn compile(re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("invalid repository_regex {re:?}: {e}"))
}

#[async_trait]
impl DataSource for RegistryIntegrity {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_registry_integrity"
    }

    fn schema(&self) -> Schema {
        let broken = Type::list(Type::object([
            ("image", Type::String),
            ("tag", Type::String),
            ("missing_digest", Type::String),
            ("platform", Type::String),
        ]));
        Schema::new(
            0,
            Block::new(
                "Checks that every tag of an owner's images in the forge's OCI registry would still pull: \
                 each tag's manifest is fetched and each child of a multi-arch index is checked with HEAD (the \
                 forge answers 404 when a manifest or its blob is gone). Use it in a `check` block (Terraform >= 1.5, \
                 OpenTofu) so that `plan` warns when `broken_count` is not 0; with older Terraform, use an output.",
            )
            .attr(Attribute::string("owner").required().describe("User or organization whose images are checked."))
            .attr(Attribute::string("repository_regex").optional().describe("Only images whose name (without `owner/`) fully matches this regex."))
            .attr(Attribute::string("id").computed().describe("The owner."))
            .attr(Attribute::new("broken", broken).computed().describe(
                "Tags that would not pull: `image` (`owner/name`), `tag`, `missing_digest` (the index child that is gone; \
                 null when the tag's own manifest is gone) and `platform` of that child (`os/arch[/variant]`).",
            ))
            .attr(Attribute::number("broken_count").computed().describe("Number of `broken` entries."))
            .attr(Attribute::number("images_checked").computed().describe("Images walked."))
            .attr(Attribute::number("tags_checked").computed().describe("Tags walked."))
            .attr(Attribute::number("manifests_checked").computed().describe("Manifests fetched or checked with HEAD (each index child once per image).")),
        )
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        if let Val::Known(re) = &c.repository_regex {
            if let Err(e) = compile(re) {
                diags.error_at(AttrPath::root("repository_regex"), "Invalid regex", e);
            }
        }
    }

    async fn read(&self, _cx: &Ctx, c: State, diags: &mut Diagnostics) -> Option<State> {
        let forgejo = self.data.forgejo(diags)?;
        let registry = self.data.registry(diags).await?;
        let owner = c.owner.known()?.clone();
        let re = match c.repository_regex.known().map(|r| compile(r)) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                diags.error_at(AttrPath::root("repository_regex"), "Invalid regex", e);
                return None;
            }
            None => None,
        };
        let host = forgejo.registry_host();
        let res = registry_walk::walk(&registry, &host, &owner, re.as_ref()).await;
        let report = match res {
            Ok(r) => r,
            Err(e) => {
                diags.error(
                    format!("Could not check the registry images of {owner}"),
                    e.to_string(),
                );
                return None;
            }
        };
        if report.images_checked == 0 {
            // An empty walk is also what a misspelt owner gives: tell them apart.
            match forgejo.owner_exists(&owner).await {
                Ok(true) => {}
                Ok(false) => {
                    diags.error_at(
                        AttrPath::root("owner"),
                        format!("Owner {owner} does not exist"),
                        format!("The forge has no user or organization named {owner:?}."),
                    );
                    return None;
                }
                Err(e) => {
                    diags.error_at(
                        AttrPath::root("owner"),
                        format!("Could not look up owner {owner}"),
                        e.to_string(),
                    );
                    return None;
                }
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
