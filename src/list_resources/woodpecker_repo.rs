//! List resource `cicd_woodpecker_repo`: the repositories active in Woodpecker, optionally of
//! some owners only. Endpoint: `GET /api/repos?active=true` (admin token; paged).

use crate::provider::ProviderData;
use crate::resources::adopt::imported_repo;
use crate::resources::woodpecker_repo::State;
use async_trait::async_trait;
use std::collections::BTreeSet;
use tfplugin::diagnostics::Diagnostics;
use tfplugin::list::{ListResource, ListSink};
use tfplugin::resource::Ctx;
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::validate::regex;
use tfplugin::value::Type;

tfplugin::state! {
    /// `config` of `list "cicd_woodpecker_repo"`.
    #[derive(Clone, Debug, Default)]
    pub struct Config / ConfigAttrs {
        /// Only repositories of these owners (users or organizations on the forge; case is
        /// ignored). Default: every active repository.
        owners: Val<BTreeSet<String>> = new(Type::set(Type::String)).optional()
            .validate(regex(r"^[^/\s]+$", "an owner name, without `/`")),
    }
}

pub struct ListRepos {
    data: ProviderData,
}

impl ListRepos {
    pub fn new(data: ProviderData) -> Self {
        ListRepos { data }
    }
}

#[async_trait]
impl ListResource for ListRepos {
    type Config = Config;
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_woodpecker_repo"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, Config::block("The repositories active in Woodpecker (needs an admin token), optionally of some owners only, each with its settings as the server has them. Needs Terraform >= 1.14 (`terraform query`)."))
    }

    async fn list(&self, _cx: &Ctx, c: Config, out: &ListSink<State>, diags: &mut Diagnostics) {
        let Some(wp) = self.data.woodpecker(diags) else {
            return;
        };
        let owners: Option<BTreeSet<String>> = c
            .owners
            .known()
            .map(|o| o.iter().map(|s| s.to_lowercase()).collect());
        let mut repos = match wp.repos(true).await {
            Ok(r) => r,
            Err(e) => {
                return diags.error("Could not list the Woodpecker repositories", e.to_string())
            }
        };
        repos.sort_by_key(|a| a.full_name.to_lowercase());
        for r in repos.iter().filter(|r| r.active) {
            if owners
                .as_ref()
                .is_some_and(|o| !o.contains(&r.owner.to_lowercase()))
            {
                continue;
            }
            let st = imported_repo(r, &r.full_name);
            if !out
                .send(format!("{} (id {})", r.full_name, r.id), &st)
                .await
            {
                return;
            }
        }
    }
}
