//! The typed traits a provider implements: [`Resource`], [`DataSource`], [`Provider`], and what
//! their methods take ([`Ctx`], [`Private`], plan and apply requests).

use crate::diagnostics::{AttrPath, Diagnostics};
use crate::schema::Schema;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use super::{DynDataSource, DynResource};

/// What every call gets besides its values.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    /// Cancelled by StopProvider: long waits (rollouts, retries) must select on it.
    pub cancel: CancellationToken,
    /// The client announced it can handle write-only attributes (Terraform/OpenTofu >= 1.11).
    pub write_only_allowed: bool,
}

/// Provider-private data stored beside a resource instance's state (JSON object on the wire).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Private(pub BTreeMap<String, serde_json::Value>);

impl Private {
    pub fn from_bytes(b: &[u8]) -> Private {
        if b.is_empty() {
            return Private::default();
        }
        serde_json::from_slice(b).map(Private).unwrap_or_default()
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.0.is_empty() {
            return Vec::new();
        }
        serde_json::to_vec(&self.0).unwrap_or_default()
    }
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
    pub fn set<T: Serialize>(&mut self, key: &str, v: &T) {
        if let Ok(j) = serde_json::to_value(v) {
            self.0.insert(key.to_string(), j);
        }
    }
}

/// What [`Resource::read`] found. Saying "gone" is explicit, so that a failure whose diagnostic
/// was forgotten can never drop an object from state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read<S> {
    /// The object exists; this is its state now.
    Found(S),
    /// The object no longer exists.
    Gone,
}

impl<S> Read<S> {
    /// The state, if found.
    pub fn found(self) -> Option<S> {
        match self {
            Read::Found(s) => Some(s),
            Read::Gone => None,
        }
    }

    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Read<T> {
        match self {
            Read::Found(s) => Read::Found(f(s)),
            Read::Gone => Read::Gone,
        }
    }
}

pub struct PlanRequest<S> {
    /// `None` when the resource is being created (or replaced).
    pub prior: Option<S>,
    pub config: S,
    pub prior_private: Private,
}

pub struct Plan<S> {
    /// Starts as the framework's default plan; the resource may refine it.
    pub state: S,
    pub requires_replace: Vec<AttrPath>,
    pub private: Private,
}

pub struct ApplyRequest<S> {
    pub prior: Option<S>,
    pub planned: S,
    /// Configuration as written: the only place write-only values can be read.
    pub config: S,
    pub private: Private,
}

#[async_trait]
pub trait Resource: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Offline checks of configuration (values may be unknown). Report with attribute paths.
    async fn validate(&self, _cx: &Ctx, _config: &Self::State, _diags: &mut Diagnostics) {}

    /// Refine the default plan: remote checks, forcing a diff from an external source, etc.
    async fn modify_plan(
        &self,
        _cx: &Ctx,
        _req: &PlanRequest<Self::State>,
        _plan: &mut Plan<Self::State>,
        _diags: &mut Diagnostics,
    ) {
    }

    async fn create(
        &self,
        cx: &Ctx,
        req: &mut ApplyRequest<Self::State>,
        diags: &mut Diagnostics,
    ) -> Option<Self::State>;

    /// Refresh: [`Read::Found`] with the object as it is now, or [`Read::Gone`] when the remote
    /// object no longer exists (Terraform drops it from state and plans a create). `None` is a
    /// failure, reported in `diags`; the object stays in state as it was.
    async fn read(
        &self,
        cx: &Ctx,
        state: Self::State,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<Self::State>>;

    async fn update(
        &self,
        cx: &Ctx,
        req: &mut ApplyRequest<Self::State>,
        diags: &mut Diagnostics,
    ) -> Option<Self::State>;

    async fn delete(
        &self,
        cx: &Ctx,
        prior: Self::State,
        private: &Private,
        diags: &mut Diagnostics,
    );

    async fn import(&self, _cx: &Ctx, _id: &str, diags: &mut Diagnostics) -> Option<Self::State> {
        diags.error(
            format!("{} does not support import", self.type_name()),
            "This resource type cannot be imported.",
        );
        None
    }

    /// The resource's identity schema (Terraform >= 1.12; list resources need one).
    fn identity_schema(&self) -> Option<crate::identity::IdentitySchema> {
        None
    }

    /// The identity of the object a state describes (`None` while any part is unknown).
    fn identity(&self, _state: &Self::State) -> Option<crate::identity::Identity> {
        None
    }

    /// The import id an identity stands for (`import { identity = {...} }`), or `None` when the
    /// identity is incomplete.
    fn identity_import_id(&self, _identity: &crate::identity::Identity) -> Option<String> {
        None
    }

    /// Turn state JSON written by schema `from_version` into the current schema's JSON shape.
    fn upgrade_state(
        &self,
        from_version: i64,
        _raw: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        diags.error(
            "Unsupported state version",
            format!(
                "{} has no upgrade from schema version {from_version}.",
                self.type_name()
            ),
        );
        None
    }
}

#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _cx: &Ctx, _config: &Self::State, _diags: &mut Diagnostics) {}
    async fn read(
        &self,
        cx: &Ctx,
        config: Self::State,
        diags: &mut Diagnostics,
    ) -> Option<Self::State>;
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    type Config: Serialize + DeserializeOwned + Send + Sync + 'static;
    fn schema(&self) -> Schema;
    async fn validate(&self, _cx: &Ctx, _config: &Self::Config, _diags: &mut Diagnostics) {}
    /// The configuration may contain unknown values (e.g. a token produced by another resource
    /// in the same run). Keep what is unknown as such and report it when it is needed.
    async fn configure(
        &self,
        cx: &Ctx,
        config: Self::Config,
        terraform_version: &str,
        diags: &mut Diagnostics,
    );
    fn resources(&self) -> Vec<Arc<dyn DynResource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DynDataSource>>;
    /// Ephemeral resource types (see [`crate::ephemeral`]); none unless overridden.
    fn ephemeral_resources(&self) -> Vec<Arc<dyn crate::ephemeral::DynEphemeralResource>> {
        Vec::new()
    }
    /// Actions (Terraform >= 1.14): see [`crate::action`].
    fn actions(&self) -> Vec<Arc<dyn crate::action::DynAction>> {
        Vec::new()
    }
    /// List resources (Terraform >= 1.14): see [`crate::list`].
    fn list_resources(&self) -> Vec<Arc<dyn crate::list::DynListResource>> {
        Vec::new()
    }
}
