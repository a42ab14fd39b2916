//! The `cicd` provider: its configuration schema, Configure, and the typed client set that
//! resources share.
//!
//! Each system has its own optional block. A value in configuration wins over the environment
//! variable users already have set for that system's own CLI. A block that ends up with nothing
//! set leaves that system unconfigured; resources that need it then fail at plan time with a
//! message naming the block, and resources that do not need it work as usual.
//!
//! - [`settings`]: blocks -> one config per client (`clients::*::*Config`).
//! - [`clients`]: [`ProviderData`], the settings plus one lazily built client per system.

pub mod clients;
pub mod settings;

pub use clients::ProviderData;
pub use settings::{Config, Configured, Settings};

use async_trait::async_trait;
use std::sync::Arc;
use tfplugin::action::DynAction;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::ephemeral::DynEphemeralResource;
use tfplugin::list::DynListResource;
use tfplugin::resource::{Ctx, DynDataSource, DynResource, Provider};
use tfplugin::schema::{Attribute, Block, NestedBlock, NestingMode, Schema};
use tfplugin::typed::Val;

/// The provider. Its resource and data source types come in from the composition root
/// (`lib.rs`), so this module never imports them.
pub struct CicdProvider {
    data: ProviderData,
    resources: Registry<dyn DynResource>,
    data_sources: Registry<dyn DynDataSource>,
    extra_resources: Vec<Arc<dyn DynResource>>,
    ephemeral_resources: Registry<dyn DynEphemeralResource>,
    actions: Option<Registry<dyn DynAction>>,
    list_resources: Option<Registry<dyn DynListResource>>,
}

/// Builds the type-erased types of one kind around the shared provider data.
pub type Registry<T> = fn(&ProviderData) -> Vec<Arc<T>>;

impl CicdProvider {
    pub fn new(
        resources: Registry<dyn DynResource>,
        data_sources: Registry<dyn DynDataSource>,
    ) -> Self {
        CicdProvider {
            data: ProviderData::default(),
            resources,
            data_sources,
            extra_resources: Vec::new(),
            ephemeral_resources: |_| Vec::new(),
            actions: None,
            list_resources: None,
        }
    }

    /// Serve these ephemeral resource types (`ephemeral` blocks, Terraform >= 1.10).
    pub fn with_ephemeral_resources(mut self, e: Registry<dyn DynEphemeralResource>) -> Self {
        self.ephemeral_resources = e;
        self
    }

    /// Serve these action types (Terraform >= 1.14).
    pub fn with_actions(mut self, actions: Registry<dyn DynAction>) -> Self {
        self.actions = Some(actions);
        self
    }

    /// Serve these list resource types (`terraform query`, Terraform >= 1.14).
    pub fn with_list_resources(mut self, lists: Registry<dyn DynListResource>) -> Self {
        self.list_resources = Some(lists);
        self
    }

    pub fn data(&self) -> ProviderData {
        self.data.clone()
    }

    /// Serve more resource types beside the built-in ones (the test suite uses this for a
    /// test-only resource; the shipped binary does not).
    pub fn with_resource(mut self, r: Arc<dyn DynResource>) -> Self {
        self.extra_resources.push(r);
        self
    }
}

fn s(name: &str, desc: &str) -> Attribute {
    Attribute::string(name).optional().describe(desc)
}

pub fn provider_schema() -> Schema {
    let woodpecker = Block::new("Woodpecker CI server. Needed by `cicd_woodpecker_repo` and `cicd_woodpecker_global_secret`.")
        .attr(s("server", "Base URL of the Woodpecker server, e.g. `https://ci.example.com`. Falls back to `WOODPECKER_SERVER`."))
        .attr(s("token", "Personal access token of a Woodpecker admin (global secrets need admin rights). Falls back to `WOODPECKER_TOKEN`.").sensitive());
    let forgejo = Block::new("Forgejo (or Gitea) server whose OCI package registry holds the images. Needed by `cicd_forgejo_package_retention`, `cicd_registry_integrity` and image checks against it.")
        .attr(s("url", "Base URL of Forgejo, e.g. `https://forgejo.example.com`. Falls back to `FORGEJO_URL`."))
        .attr(s("token", "Access token with package scopes. Falls back to `FORGEJO_TOKEN`.").sensitive())
        .attr(s("username", "User the token belongs to (used for registry Basic auth). Falls back to `FORGEJO_USER`; looked up from the token when unset."));
    let kubernetes = Block::new("Kubernetes cluster. Needed by `cicd_registry_credentials` and `cicd_image_deployment`. With nothing set, `KUBECONFIG` is used, then the in-cluster service account.")
        .attr(s("config_path", "Path to a kubeconfig file, or several separated by `:` (merged as kubectl does). Falls back to `KUBECONFIG`."))
        .attr(s("config_context", "Context of the kubeconfig to use (default: its current context)."))
        .attr(s("host", "API server URL, for explicit credentials instead of a kubeconfig."))
        .attr(s("token", "Bearer token for `host`.").sensitive())
        .attr(s("cluster_ca_certificate", "PEM CA certificate of the API server for `host`."));
    let kauth = Block::new("Log in to Vault with a Kubernetes service account token (re-read from `jwt_path` at every login, so rotated tokens work).")
        .attr(Attribute::string("role").optional().describe("Vault role to log in as (required in this block)."))
        .attr(s("mount", "Mount path of the Kubernetes auth method (default `kubernetes`)."))
        .attr(s("jwt_path", "File holding the service account JWT (default: the in-cluster token path)."));
    let vault = Block::new("Vault or OpenBao, for values read from KV v2 (`*_from_vault`).")
        .attr(s("address", "Vault address. Falls back to `VAULT_ADDR`."))
        .attr(
            s(
                "token",
                "Vault token. Falls back to `VAULT_TOKEN`, then to `~/.vault-token` (where `vault login` stores it). Ignored when `kubernetes_auth` is set.",
            )
            .sensitive(),
        )
        .block(NestedBlock::new(
            "kubernetes_auth",
            NestingMode::Single,
            kauth,
        ));
    Schema::new(
        0,
        Block::new("Declare Woodpecker CI repositories and secrets, Forgejo registry retention, registry pull secrets and image deployments, and let `terraform plan` show their drift.")
            .block(NestedBlock::new("woodpecker", NestingMode::Single, woodpecker))
            .block(NestedBlock::new("forgejo", NestingMode::Single, forgejo))
            .block(NestedBlock::new("kubernetes", NestingMode::Single, kubernetes))
            .block(NestedBlock::new("vault", NestingMode::Single, vault)),
    )
}

#[async_trait]
impl Provider for CicdProvider {
    type Config = Config;

    fn schema(&self) -> Schema {
        provider_schema()
    }

    async fn validate(&self, _cx: &Ctx, cfg: &Config, diags: &mut Diagnostics) {
        let checks: [(&Val<String>, AttrPath); 3] = [
            (
                &cfg.woodpecker
                    .known()
                    .map(|b| b.server.clone())
                    .unwrap_or_default(),
                AttrPath::root("woodpecker").attr("server"),
            ),
            (
                &cfg.forgejo
                    .known()
                    .map(|b| b.url.clone())
                    .unwrap_or_default(),
                AttrPath::root("forgejo").attr("url"),
            ),
            (
                &cfg.vault
                    .known()
                    .map(|b| b.address.clone())
                    .unwrap_or_default(),
                AttrPath::root("vault").attr("address"),
            ),
        ];
        for (v, path) in checks {
            if let Val::Known(u) = v {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    diags.error_at(
                        path.clone(),
                        "Invalid URL",
                        format!("{path} must be an http:// or https:// URL, got {u:?}."),
                    );
                }
            }
        }
    }

    async fn configure(&self, _cx: &Ctx, cfg: Config, tf_version: &str, _diags: &mut Diagnostics) {
        self.data.configure(settings::resolve(&cfg, tf_version));
    }

    fn resources(&self) -> Vec<Arc<dyn DynResource>> {
        let mut v = (self.resources)(&self.data);
        v.extend(self.extra_resources.iter().cloned());
        v
    }

    fn data_sources(&self) -> Vec<Arc<dyn DynDataSource>> {
        (self.data_sources)(&self.data)
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn DynEphemeralResource>> {
        (self.ephemeral_resources)(&self.data)
    }

    fn actions(&self) -> Vec<Arc<dyn DynAction>> {
        self.actions.map(|a| a(&self.data)).unwrap_or_default()
    }

    fn list_resources(&self) -> Vec<Arc<dyn DynListResource>> {
        self.list_resources
            .map(|l| l(&self.data))
            .unwrap_or_default()
    }
}
