//! List resources (protocol 6.10, Terraform >= 1.14): `list` blocks in `*.tfquery.hcl` files,
//! run by `terraform query`. A list resource finds existing remote objects of a managed
//! resource type and streams one result per object: its identity, a display name and, when
//! asked (always with `-generate-config-out`), the object as that resource's state.
//!
//! * [`ListResource`]: what a provider implements; results go to a [`ListSink`] as typed states
//!   of the managed resource.
//! * [`ListResources`]: the list resources by type name, paired with their managed resources
//!   (the identity comes from the managed resource), and the two RPCs.

use crate::agreement::{state_fields, StateFields};
use crate::diagnostics::Diagnostics;
use crate::proto::tfplugin6 as pb;
use crate::resource::{
    decode_config, null_write_only, run_validators, Ctx, DynResource, LazySchema,
};
use crate::schema::Schema;
use crate::server::{decode_dv, diags_to_proto, identity_data, schema_to_proto};
use crate::typed::to_value;
use crate::value::{encode_msgpack, Type, Value};
use async_trait::async_trait;
use futures::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;

/// One object found: its name for people and its state as the managed resource's.
pub struct Found<S> {
    pub display_name: String,
    pub state: S,
}

/// Where a list resource puts what it finds. `send` answers false once Terraform has enough
/// (the `limit`) or went away: stop listing then.
pub struct ListSink<S> {
    tx: mpsc::Sender<Found<Value>>,
    ty: Type,
    _s: std::marker::PhantomData<fn(S)>,
}

impl<S: Serialize> ListSink<S> {
    pub async fn send(&self, display_name: impl Into<String>, state: &S) -> bool {
        let display_name = display_name.into();
        let state = match to_value(state, &self.ty) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "list result does not fit the resource's schema");
                return false;
            }
        };
        let found = Found {
            display_name,
            state,
        };
        self.tx.send(found).await.is_ok()
    }
}

#[async_trait]
pub trait ListResource: Send + Sync + 'static {
    /// The `config` block of the `list` block.
    type Config: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The managed resource's state.
    type State: Serialize + Send + Sync + 'static;

    /// Same as the managed resource's type name.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _cx: &Ctx, _config: &Self::Config, _diags: &mut Diagnostics) {}
    async fn list(
        &self,
        cx: &Ctx,
        config: Self::Config,
        out: &ListSink<Self::State>,
        diags: &mut Diagnostics,
    );
}

#[async_trait]
pub trait DynListResource: Send + Sync {
    fn type_name(&self) -> &str;
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    fn config_fields(&self) -> StateFields;
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    async fn list(
        &self,
        cx: &Ctx,
        config: &Value,
        state_ty: &Type,
        tx: mpsc::Sender<Found<Value>>,
        diags: &mut Diagnostics,
    );
}

struct TypedList<L> {
    inner: L,
    schema: LazySchema<L>,
}

/// The type-erased form of a typed list resource.
pub fn list_resource<L: ListResource>(l: L) -> Arc<dyn DynListResource> {
    Arc::new(TypedList {
        inner: l,
        schema: LazySchema::new(L::schema),
    })
}

fn decode<T: DeserializeOwned>(v: &Value, diags: &mut Diagnostics) -> Option<T> {
    decode_config(v, "list", diags)
}

#[async_trait]
impl<L: ListResource> DynListResource for TypedList<L> {
    fn type_name(&self) -> &str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema.get(&self.inner).0
    }
    fn value_type(&self) -> &Type {
        &self.schema.get(&self.inner).1
    }
    fn config_fields(&self) -> StateFields {
        state_fields::<L::Config>()
    }
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        run_validators(&self.schema().block, config, diags);
        if let Some(c) = decode::<L::Config>(config, diags) {
            self.inner.validate(cx, &c, diags).await;
        }
    }
    async fn list(
        &self,
        cx: &Ctx,
        config: &Value,
        state_ty: &Type,
        tx: mpsc::Sender<Found<Value>>,
        diags: &mut Diagnostics,
    ) {
        let Some(c) = decode::<L::Config>(config, diags) else {
            return;
        };
        let sink = ListSink {
            tx,
            ty: state_ty.clone(),
            _s: std::marker::PhantomData,
        };
        self.inner.list(cx, c, &sink, diags).await;
    }
}

/// The stream ListResource answers with.
pub type EventStream =
    Pin<Box<dyn Stream<Item = Result<pb::list_resource::Event, tonic::Status>> + Send>>;

type Pair = (Arc<dyn DynListResource>, Arc<dyn DynResource>);

/// The provider's list resources, each with its managed resource.
#[derive(Default)]
pub struct ListResources(HashMap<String, Pair>);

impl ListResources {
    /// Pairs each list resource with the managed resource of its name. A list resource without
    /// one, or whose resource has no identity, is a bug of the provider: it panics at start.
    pub fn new(
        lists: Vec<Arc<dyn DynListResource>>,
        resources: &HashMap<String, Arc<dyn DynResource>>,
    ) -> Self {
        ListResources(
            lists
                .into_iter()
                .map(|l| {
                    let name = l.type_name().to_string();
                    let r = resources
                        .get(&name)
                        .filter(|r| r.identity_schema().is_some())
                        .unwrap_or_else(|| {
                            panic!("list resource {name} needs a managed resource with an identity")
                        })
                        .clone();
                    (name, (l, r))
                })
                .collect(),
        )
    }

    /// `list_resource_schemas` of GetProviderSchema.
    pub fn schemas(&self) -> HashMap<String, pb::Schema> {
        self.0
            .iter()
            .map(|(k, (l, _))| (k.clone(), schema_to_proto(l.schema())))
            .collect()
    }

    /// `list_resources` of GetMetadata, sorted.
    pub fn metadata(&self) -> Vec<pb::get_metadata::ListResourceMetadata> {
        let mut names: Vec<_> = self.0.keys().cloned().collect();
        names.sort();
        names
            .into_iter()
            .map(|type_name| pb::get_metadata::ListResourceMetadata { type_name })
            .collect()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn DynListResource>> {
        self.0.values().map(|(l, _)| l)
    }

    fn get(
        &self,
        name: &str,
        config: Option<&pb::DynamicValue>,
        diags: &mut Diagnostics,
    ) -> Option<(Pair, Value)> {
        let Some(pair) = self.0.get(name).cloned() else {
            diags.error(
                "Unknown list resource type",
                format!("This provider has no list resource type {name:?}."),
            );
            return None;
        };
        let cfg = decode_dv(config, pair.0.value_type(), "list configuration", diags)?;
        Some((pair, cfg))
    }

    pub async fn validate(
        &self,
        cx: &Ctx,
        r: pb::validate_list_resource_config::Request,
    ) -> pb::validate_list_resource_config::Response {
        let mut diags = Diagnostics::new();
        if let Some(((l, _), cfg)) = self.get(&r.type_name, r.config.as_ref(), &mut diags) {
            l.validate(cx, &cfg, &mut diags).await;
        }
        pb::validate_list_resource_config::Response {
            diagnostics: diags_to_proto(&diags),
        }
    }

    /// Lists in its own task; each object found becomes one event. Errors end the stream with
    /// an event that carries them.
    pub fn list(&self, cx: Ctx, r: pb::list_resource::Request) -> EventStream {
        let (out_tx, out_rx) = mpsc::channel::<Result<pb::list_resource::Event, tonic::Status>>(16);
        let mut diags = Diagnostics::new();
        let found = self.get(&r.type_name, r.config.as_ref(), &mut diags);
        let (include, limit) = (r.include_resource_object, r.limit);
        tokio::spawn(async move {
            let Some(((l, res), cfg)) = found else {
                let _ = out_tx.send(Ok(diag_event(&diags))).await;
                return;
            };
            let (tx, mut rx) = mpsc::channel::<Found<Value>>(16);
            let state_ty = res.value_type().clone();
            let mut listed = Diagnostics::new();
            let producer = l.list(&cx, &cfg, &state_ty, tx, &mut listed);
            let consumer = async {
                let mut sent = 0i64;
                while let Some(f) = rx.recv().await {
                    if limit > 0 && sent >= limit {
                        break;
                    }
                    let ev = result_event(res.as_ref(), &state_ty, f, include);
                    if out_tx.send(Ok(ev)).await.is_err() {
                        break;
                    }
                    sent += 1;
                }
                drop(rx);
            };
            tokio::select! {
                _ = futures::future::join(producer, consumer) => {}
                _ = cx.cancel.cancelled() => diags.error("Listing cancelled", "Terraform asked the provider to stop."),
            }
            diags.extend(listed);
            if !diags.0.is_empty() {
                let _ = out_tx.send(Ok(diag_event(&diags))).await;
            }
        });
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(out_rx))
    }
}

fn diag_event(diags: &Diagnostics) -> pb::list_resource::Event {
    pb::list_resource::Event {
        diagnostic: diags_to_proto(diags),
        ..Default::default()
    }
}

fn result_event(
    res: &dyn DynResource,
    ty: &Type,
    f: Found<Value>,
    include: bool,
) -> pb::list_resource::Event {
    let mut diags = Diagnostics::new();
    let mut state = f.state;
    null_write_only(&res.schema().block, &mut state);
    let identity = identity_data(res, &state, &mut diags);
    if identity.is_none() {
        diags.error(
            "List result without identity",
            format!(
                "The provider found {} but could not name it. This is a bug in the provider.",
                f.display_name
            ),
        );
    }
    let resource_object = if include {
        match encode_msgpack(ty, &state) {
            Ok(b) => Some(pb::DynamicValue {
                msgpack: b,
                json: vec![],
            }),
            Err(e) => {
                diags.error("Provider could not encode a list result", e.to_string());
                None
            }
        }
    } else {
        None
    };
    pb::list_resource::Event {
        identity,
        display_name: f.display_name,
        resource_object,
        diagnostic: diags_to_proto(&diags),
    }
}
