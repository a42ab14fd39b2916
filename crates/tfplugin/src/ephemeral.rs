//! Ephemeral resources (protocol 6.7, Terraform >= 1.10, OpenTofu >= 1.11): values opened for
//! the length of one plan or apply and never written to state or plan files.
//!
//! * [`EphemeralResource`]: what a provider implements (typed, like [`crate::resource::Resource`]).
//! * [`DynEphemeralResource`] and [`ephemeral_resource`]: the type-erased form the server calls.
//! * [`rpc`]: the four RPCs (ValidateEphemeralResourceConfig, Open/Renew/CloseEphemeralResource),
//!   called from [`crate::server`].
//!
//! NOTE: Terraform opens an ephemeral resource only once its configuration is wholly known
//! (otherwise it uses an unknown result itself), then calls Renew when `renew_at` has passed and
//! Close when the run no longer needs it. Private data travels Open -> Renew -> Close only.

use crate::agreement::{state_fields, StateFields};
use crate::diagnostics::Diagnostics;
use crate::resource::{run_validators, Ctx, LazySchema, Private};
use crate::schema::Schema;
use crate::typed::{from_value, to_value};
use crate::value::{Type, Value};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::SystemTime;

/// What [`EphemeralResource::open`] gives back.
pub struct Opened<S> {
    /// The result: the configuration with the computed attributes filled in.
    pub result: S,
    /// When Terraform should call [`EphemeralResource::renew`] (e.g. before a lease ends).
    pub renew_at: Option<SystemTime>,
    /// Handed to renew and close (a lease id, ...).
    pub private: Private,
}

/// What [`EphemeralResource::renew`] gives back.
#[derive(Default)]
pub struct Renewed {
    pub renew_at: Option<SystemTime>,
    pub private: Private,
}

#[async_trait]
pub trait EphemeralResource: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Offline checks of configuration (values may be unknown). Report with attribute paths.
    async fn validate(&self, _cx: &Ctx, _config: &Self::State, _diags: &mut Diagnostics) {}

    /// Produce the value. `None` is a failure, explained in `diags`.
    async fn open(
        &self,
        cx: &Ctx,
        config: Self::State,
        diags: &mut Diagnostics,
    ) -> Option<Opened<Self::State>>;

    /// Extend what `open` obtained. Only called when `open` (or a renew) set `renew_at`.
    async fn renew(&self, _cx: &Ctx, private: Private, _diags: &mut Diagnostics) -> Renewed {
        Renewed {
            renew_at: None,
            private,
        }
    }

    /// Release what `open` obtained (revoke a lease, ...).
    async fn close(&self, _cx: &Ctx, _private: Private, _diags: &mut Diagnostics) {}
}

/// The type-erased form of an [`EphemeralResource`], made by [`ephemeral_resource`].
#[async_trait]
pub trait DynEphemeralResource: Send + Sync {
    fn type_name(&self) -> &str;
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    /// The field names of the `State`; see [`crate::resource::DynResource::state_fields`].
    fn state_fields(&self) -> StateFields;
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    /// The result value, renew time and private data, or `None` with an error in `diags`.
    async fn open(
        &self,
        cx: &Ctx,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<(Value, Option<SystemTime>, Private)>;
    async fn renew(&self, cx: &Ctx, private: Private, diags: &mut Diagnostics) -> Renewed;
    async fn close(&self, cx: &Ctx, private: Private, diags: &mut Diagnostics);
}

/// Wraps a typed implementation with its lazily built schema.
pub struct TypedEphemeral<E> {
    inner: E,
    schema: LazySchema<E>,
}

pub fn ephemeral_resource<E: EphemeralResource>(e: E) -> Arc<dyn DynEphemeralResource> {
    Arc::new(TypedEphemeral {
        inner: e,
        schema: LazySchema::new(E::schema),
    })
}

#[async_trait]
impl<E: EphemeralResource> DynEphemeralResource for TypedEphemeral<E> {
    fn type_name(&self) -> &str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema.get(&self.inner).0
    }
    fn value_type(&self) -> &Type {
        &self.schema.get(&self.inner).1
    }
    fn state_fields(&self) -> StateFields {
        state_fields::<E::State>()
    }

    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        run_validators(&self.schema().block, config, diags);
        match from_value::<E::State>(config) {
            Ok(c) => self.inner.validate(cx, &c, diags).await,
            Err(e) => diags.error("Invalid configuration", e.to_string()),
        }
    }

    async fn open(
        &self,
        cx: &Ctx,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<(Value, Option<SystemTime>, Private)> {
        run_validators(&self.schema().block, config, diags);
        if diags.has_errors() {
            return None;
        }
        let c = match from_value::<E::State>(config) {
            Ok(c) => c,
            Err(e) => {
                diags.error("Invalid configuration", e.to_string());
                return None;
            }
        };
        let Some(opened) = self.inner.open(cx, c, diags).await else {
            if !diags.has_errors() {
                diags.error(
                    format!(
                        "Provider bug: {} open failed without saying why",
                        self.type_name()
                    ),
                    "The provider returned no result and no error. Please report this to its maintainers.",
                );
            }
            return None;
        };
        let v = match to_value(&opened.result, self.value_type()) {
            Ok(v) => v,
            Err(e) => {
                diags.error(
                    "Provider error building the ephemeral result",
                    format!("{e}. This is a bug in the provider."),
                );
                return None;
            }
        };
        if !v.is_wholly_known() {
            diags.error(
                "Provider returned unknown values from an ephemeral resource",
                format!("{}: this is a bug in the provider.", self.type_name()),
            );
            return None;
        }
        Some((v, opened.renew_at, opened.private))
    }

    async fn renew(&self, cx: &Ctx, private: Private, diags: &mut Diagnostics) -> Renewed {
        self.inner.renew(cx, private, diags).await
    }

    async fn close(&self, cx: &Ctx, private: Private, diags: &mut Diagnostics) {
        self.inner.close(cx, private, diags).await
    }
}

/// The RPC bodies, kept here so that `server.rs` only forwards to them.
pub(crate) mod rpc {
    use super::DynEphemeralResource;
    use crate::diagnostics::Diagnostics;
    use crate::proto::google::protobuf::Timestamp;
    use crate::proto::tfplugin6 as pb;
    use crate::resource::{Ctx, Private};
    use crate::server::{decode_dv, diags_to_proto, encode_dv};
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::{SystemTime, UNIX_EPOCH};

    pub type Registry = HashMap<String, Arc<dyn DynEphemeralResource>>;

    fn find(
        reg: &Registry,
        name: &str,
        diags: &mut Diagnostics,
    ) -> Option<Arc<dyn DynEphemeralResource>> {
        let e = reg.get(name).cloned();
        if e.is_none() {
            diags.error(
                "Unknown ephemeral resource type",
                format!("This provider has no ephemeral resource type {name:?}."),
            );
        }
        e
    }

    fn timestamp(t: SystemTime) -> Timestamp {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }
    }

    fn private_bytes(p: &Private) -> Option<Vec<u8>> {
        let b = p.to_bytes();
        (!b.is_empty()).then_some(b)
    }

    pub async fn validate(
        reg: &Registry,
        cx: &Ctx,
        r: pb::validate_ephemeral_resource_config::Request,
    ) -> pb::validate_ephemeral_resource_config::Response {
        let mut diags = Diagnostics::new();
        if let Some(e) = find(reg, &r.type_name, &mut diags) {
            if let Some(cfg) = decode_dv(
                r.config.as_ref(),
                e.value_type(),
                "configuration",
                &mut diags,
            ) {
                e.validate(cx, &cfg, &mut diags).await;
            }
        }
        pb::validate_ephemeral_resource_config::Response {
            diagnostics: diags_to_proto(&diags),
        }
    }

    pub async fn open(
        reg: &Registry,
        cx: &Ctx,
        r: pb::open_ephemeral_resource::Request,
    ) -> pb::open_ephemeral_resource::Response {
        let mut diags = Diagnostics::new();
        let mut out = pb::open_ephemeral_resource::Response::default();
        if let Some(e) = find(reg, &r.type_name, &mut diags) {
            let ty = e.value_type().clone();
            if let Some(cfg) = decode_dv(r.config.as_ref(), &ty, "configuration", &mut diags) {
                let mut d2 = Diagnostics::new();
                let opened = tokio::select! {
                    v = e.open(cx, &cfg, &mut d2) => v,
                    _ = cx.cancel.cancelled() => {
                        diags.error("Operation cancelled", "Terraform asked the provider to stop (interrupt) while this ephemeral resource was being opened.");
                        None
                    }
                };
                diags.extend(d2);
                if let Some((v, renew_at, private)) = opened.filter(|_| !diags.has_errors()) {
                    out.result = encode_dv(&v, &ty, &mut diags);
                    out.renew_at = renew_at.map(timestamp);
                    out.private = private_bytes(&private);
                }
            }
        }
        out.diagnostics = diags_to_proto(&diags);
        out
    }

    pub async fn renew(
        reg: &Registry,
        cx: &Ctx,
        r: pb::renew_ephemeral_resource::Request,
    ) -> pb::renew_ephemeral_resource::Response {
        let mut diags = Diagnostics::new();
        let mut out = pb::renew_ephemeral_resource::Response::default();
        if let Some(e) = find(reg, &r.type_name, &mut diags) {
            let private = Private::from_bytes(r.private.as_deref().unwrap_or_default());
            let renewed = e.renew(cx, private, &mut diags).await;
            out.renew_at = renewed.renew_at.map(timestamp);
            out.private = private_bytes(&renewed.private);
        }
        out.diagnostics = diags_to_proto(&diags);
        out
    }

    pub async fn close(
        reg: &Registry,
        cx: &Ctx,
        r: pb::close_ephemeral_resource::Request,
    ) -> pb::close_ephemeral_resource::Response {
        let mut diags = Diagnostics::new();
        if let Some(e) = find(reg, &r.type_name, &mut diags) {
            let private = Private::from_bytes(r.private.as_deref().unwrap_or_default());
            e.close(cx, private, &mut diags).await;
        }
        pb::close_ephemeral_resource::Response {
            diagnostics: diags_to_proto(&diags),
        }
    }
}
