//! List resource `cicd_woodpecker_global_secret`: Woodpecker's global secrets, optionally
//! only those whose name starts with a prefix. Endpoint: `GET /api/secrets` (paged).
//! Woodpecker never returns a value: results carry no value source (see the adopt example).

use crate::clients::woodpecker::Scope;
use crate::provider::ProviderData;
use crate::resources::adopt::imported_global_secret;
use crate::resources::woodpecker_global_secret::State;
use async_trait::async_trait;
use tfplugin::diagnostics::Diagnostics;
use tfplugin::list::{ListResource, ListSink};
use tfplugin::resource::Ctx;
use tfplugin::schema::Schema;
use tfplugin::typed::Val;

tfplugin::state! {
    /// `config` of `list "cicd_woodpecker_global_secret"`.
    #[derive(Clone, Debug, Default)]
    pub struct Config / ConfigAttrs {
        /// Only secrets whose name starts with this (default: every global secret).
        name_prefix: Val<String> = string().optional(),
    }
}

pub struct ListGlobalSecrets {
    data: ProviderData,
}

impl ListGlobalSecrets {
    pub fn new(data: ProviderData) -> Self {
        ListGlobalSecrets { data }
    }
}

#[async_trait]
impl ListResource for ListGlobalSecrets {
    type Config = Config;
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_woodpecker_global_secret"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, Config::block("Woodpecker's global secrets (events, images, note; never a value, which Woodpecker does not return), optionally those whose name starts with `name_prefix`. Needs Terraform >= 1.14 (`terraform query`)."))
    }

    async fn list(&self, _cx: &Ctx, c: Config, out: &ListSink<State>, diags: &mut Diagnostics) {
        let Some(wp) = self.data.woodpecker(diags) else {
            return;
        };
        let prefix = c.name_prefix.known().cloned().unwrap_or_default();
        let mut secrets = match wp.secrets(Scope::Global).await {
            Ok(s) => s,
            Err(e) => return diags.error("Could not list the global secrets", e.to_string()),
        };
        secrets.sort_by(|a, b| a.name.cmp(&b.name));
        for s in secrets.iter().filter(|s| s.name.starts_with(&prefix)) {
            let Some(st) = imported_global_secret(s) else {
                continue;
            };
            if !out.send(s.name.clone(), &st).await {
                return;
            }
        }
    }
}
