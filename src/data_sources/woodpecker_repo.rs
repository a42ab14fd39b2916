//! Data source `cicd_woodpecker_repo`: an ACTIVE Woodpecker repository by `full_name`, with its
//! numeric id (what pipeline triggers, badges and the secret resources take) and its settings,
//! for stacks that do not manage the repository themselves.
//!
//! Endpoint: `GET /api/repos/lookup/{owner}/{name}` (case-insensitive; after a forge rename and
//! a repair it also answers the old name, which gives a warning naming the new one).
//!
//! A repository Woodpecker does not know, or knows but is not active (deactivated: no webhook,
//! no pipelines), is an error rather than `active = false`: a stack that reads the id means to
//! run or configure pipelines there, and Terraform 1.0 has no preconditions to check a flag,
//! so failing the plan here is the only place that mistake shows before apply.

use crate::provider::ProviderData;
use crate::resources::woodpecker_repo::{self as resource};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{Ctx, DataSource};
use tfplugin::schema::{Block, Schema};
use tfplugin::typed::Val;

/// The resource's attributes but `adopt_existing` and `on_destroy`, all read-only but
/// `full_name`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct State {
    pub full_name: Val<String>,
    pub id: Val<i64>,
    pub forge_remote_id: Val<String>,
    pub owner: Val<String>,
    pub name: Val<String>,
    pub clone_url: Val<String>,
    pub clone_url_ssh: Val<String>,
    pub forge_url: Val<String>,
    pub default_branch: Val<String>,
    pub private: Val<bool>,
    pub org_id: Val<i64>,
    pub visibility: Val<String>,
    pub require_approval: Val<String>,
    pub approval_allowed_users: Val<Vec<String>>,
    pub timeout: Val<i64>,
    pub allow_pr: Val<bool>,
    pub allow_deploy: Val<bool>,
    pub config_file: Val<String>,
    pub cancel_previous_pipeline_events: Val<Vec<String>>,
    pub netrc_trusted: Val<Vec<String>>,
    pub trusted_network: Val<bool>,
    pub trusted_security: Val<bool>,
    pub trusted_volumes: Val<bool>,
}

/// Attributes of the resource that describe what it does, not the repository.
const RESOURCE_ONLY: &[&str] = &["adopt_existing", "on_destroy"];

fn schema() -> Schema {
    let mut block = Block::new("An active Woodpecker repository by `full_name`: its numeric id (for pipeline triggers, badges and secrets in other stacks) and its settings. A repository that Woodpecker does not know or that is not active fails the plan.");
    for mut a in resource::State::attributes() {
        if RESOURCE_ONLY.contains(&a.name.as_str()) {
            continue;
        }
        if a.name != "full_name" {
            (a.optional, a.computed, a.keep_prior, a.default) = (false, true, false, None);
        }
        block.attributes.push(a);
    }
    Schema::new(0, block)
}

pub struct WoodpeckerRepoData {
    data: ProviderData,
}

impl WoodpeckerRepoData {
    pub fn new(data: ProviderData) -> Self {
        WoodpeckerRepoData { data }
    }
}

#[async_trait]
impl DataSource for WoodpeckerRepoData {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_woodpecker_repo"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(&self, _cx: &Ctx, c: State, diags: &mut Diagnostics) -> Option<State> {
        let full_name = c.full_name.known()?.clone();
        let wp = self.data.woodpecker(diags)?;
        let path = || AttrPath::root("full_name");
        let what = format!("Repository {full_name}");
        let r = match wp.lookup_repo(&full_name).await {
            Ok(l) => l.any(),
            Err(e) => {
                diags.error_at(
                    path(),
                    format!("Could not look up repository {full_name}"),
                    e.to_string(),
                );
                return None;
            }
        };
        let Some(r) = r.filter(|r| r.active) else {
            let detail = "Woodpecker has no active repository by that name. Activate it first (resource cicd_woodpecker_repo), or fix the name.";
            diags.error_at(
                path(),
                format!("{what} is not active in Woodpecker"),
                detail,
            );
            return None;
        };
        if !resource::same_name(&r.full_name, &full_name) {
            let detail = format!("Woodpecker answers the old name {full_name} with repository {} (id {}); use the new name.", r.full_name, r.id);
            diags.warning_at(path(), format!("{what} was renamed"), detail);
        }
        let base = resource::State {
            full_name: c.full_name.clone(),
            ..Default::default()
        };
        // The resource's state without its two behaviour settings.
        let mut j = serde_json::to_value(resource::from_repo(&r, &base)).unwrap_or_default();
        if let Some(o) = j.as_object_mut() {
            o.retain(|k, _| !RESOURCE_ONLY.contains(&k.as_str()));
        }
        let mut st: State = match serde_json::from_value(j) {
            Ok(st) => st,
            Err(e) => {
                diags.error(format!("Could not read {what}"), e.to_string());
                return None;
            }
        };
        st.full_name = c.full_name;
        Some(st)
    }
}
