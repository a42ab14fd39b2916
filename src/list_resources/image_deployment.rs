//! List resource `cicd_image_deployment`: every container (and init container) of every
//! Deployment in the namespaces given, with its image split into `image` and `tag`.
//! Endpoint: `GET /apis/apps/v1/namespaces/{ns}/deployments` (one list per namespace).

use crate::clients::kubernetes::{container_names, is_dns1123_label};
use crate::provider::ProviderData;
use crate::resources::adopt::imported_container;
use crate::resources::image_deployment::State;
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
    /// `config` of `list "cicd_image_deployment"`.
    #[derive(Clone, Debug, Default)]
    pub struct Config / ConfigAttrs {
        /// Namespaces whose Deployments are listed.
        namespaces: Val<BTreeSet<String>> = new(Type::set(Type::String)).required()
            .validate(not_empty()),
    }
}

pub struct ListImages {
    data: ProviderData,
}

impl ListImages {
    pub fn new(data: ProviderData) -> Self {
        ListImages { data }
    }
}

#[async_trait]
impl ListResource for ListImages {
    type Config = Config;
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_image_deployment"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, Config::block("Every container of every Deployment in the namespaces given, with its image split into `image` and `tag` (and `digest`). Needs Terraform >= 1.14 (`terraform query`)."))
    }

    async fn validate(&self, _cx: &Ctx, c: &Config, diags: &mut Diagnostics) {
        for ns in c.namespaces.known().into_iter().flatten() {
            if !is_dns1123_label(ns) {
                let at = AttrPath::root(Config::ATTR.namespaces);
                let why = format!("{ns:?} is not a valid Kubernetes namespace name.");
                diags.error_at(at, "Invalid namespace", why);
            }
        }
    }

    async fn list(&self, _cx: &Ctx, c: Config, out: &ListSink<State>, diags: &mut Diagnostics) {
        let Some(kube) = self.data.kube(diags).await else {
            return;
        };
        for ns in c.namespaces.known().into_iter().flatten() {
            let list = match kube.deployments(ns).await {
                Ok(l) => l,
                Err(e) => {
                    let what = format!("Could not list the Deployments of namespace {ns}");
                    return diags.error(what, e.to_string());
                }
            };
            let Some(list) = list.as_ref() else {
                let what = format!("Could not list the Deployments of namespace {ns}");
                let why = "Listing Deployments is forbidden to these credentials (RBAC): `terraform query` needs list on deployments in each namespace given.";
                return diags.error(what, why);
            };
            let mut list: Vec<_> = list.iter().collect();
            list.sort_by_key(|d| d.metadata.name.clone());
            for d in list {
                let name = d.metadata.name.clone().unwrap_or_default();
                for container in container_names(d) {
                    let Some(st) = imported_container(d, &container) else {
                        continue;
                    };
                    let image = st.image.known().cloned().unwrap_or_default();
                    let tag = st.tag.known().map(|t| format!(":{t}")).unwrap_or_default();
                    let shown = format!("{ns}/{name}/{container} = {image}{tag}");
                    if !out.send(shown, &st).await {
                        return;
                    }
                }
            }
        }
    }
}
