//! List resource `cicd_registry_credentials`: the `kubernetes.io/dockerconfigjson` Secrets of
//! a given name in the namespaces given, one result per copy. Endpoint:
//! `GET /api/v1/namespaces/{ns}/secrets/{name}`. Passwords are never read into results.

use crate::clients::kubernetes::{is_dns1123_label, is_dns1123_subdomain};
use crate::provider::ProviderData;
use crate::resources::adopt::imported_pull_secret;
use crate::resources::registry_credentials::State;
use async_trait::async_trait;
use std::collections::BTreeSet;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::list::{ListResource, ListSink};
use tfplugin::resource::Ctx;
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::validate::not_empty;
use tfplugin::value::Type;

tfplugin::state! {
    /// `config` of `list "cicd_registry_credentials"`.
    #[derive(Clone, Debug, Default)]
    pub struct Config / ConfigAttrs {
        /// Namespaces to look in.
        namespaces: Val<BTreeSet<String>> = new(Type::set(Type::String)).required()
            .validate(not_empty()),
        /// Name of the Secrets (default `registry-credentials`).
        name: Val<String> = string().optional(),
    }
}

const DEFAULT_NAME: &str = "registry-credentials";
const DOCKERCONFIGJSON: &str = "kubernetes.io/dockerconfigjson";

pub struct ListPullSecrets {
    data: ProviderData,
}

impl ListPullSecrets {
    pub fn new(data: ProviderData) -> Self {
        ListPullSecrets { data }
    }
}

#[async_trait]
impl ListResource for ListPullSecrets {
    type Config = Config;
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_registry_credentials"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, Config::block("The `kubernetes.io/dockerconfigjson` Secrets named `name` in the namespaces given, one result per namespace, with each registry's user name (never a password). Needs Terraform >= 1.14 (`terraform query`)."))
    }

    async fn validate(&self, _cx: &Ctx, c: &Config, diags: &mut Diagnostics) {
        let a = Config::ATTR;
        for ns in c.namespaces.known().into_iter().flatten() {
            if !is_dns1123_label(ns) {
                let why = format!("{ns:?} is not a valid Kubernetes namespace name.");
                diags.error_at(AttrPath::root(a.namespaces), "Invalid namespace", why);
            }
        }
        if let Val::Known(n) = &c.name {
            if !is_dns1123_subdomain(n) {
                let why = format!("{n:?} is not a valid Kubernetes Secret name.");
                diags.error_at(AttrPath::root(a.name), "Invalid name", why);
            }
        }
    }

    async fn list(&self, _cx: &Ctx, c: Config, out: &ListSink<State>, diags: &mut Diagnostics) {
        let Some(kube) = self.data.kube(diags).await else {
            return;
        };
        let name = c
            .name
            .known()
            .cloned()
            .unwrap_or_else(|| DEFAULT_NAME.into());
        for ns in c.namespaces.known().into_iter().flatten() {
            let s = match kube.get_secret(ns, &name).await {
                Ok(Some(s)) if s.type_.as_deref() == Some(DOCKERCONFIGJSON) => s,
                Ok(_) => continue,
                Err(e) => {
                    let what = format!("Could not read Secret {ns}/{name}");
                    return diags.error(what, e.to_string());
                }
            };
            let st = imported_pull_secret(&kube, ns, &name, &s);
            if !out.send(format!("{ns}/{name}"), &st).await {
                return;
            }
        }
    }
}
