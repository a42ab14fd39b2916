//! Actions (protocol 6.10, Terraform >= 1.14): a declared step the provider runs on request,
//! from `terraform apply -invoke=action.TYPE.NAME` or from a resource's `action_trigger`.
//! Actions keep no state; InvokeAction streams progress messages, then one completed event
//! with the diagnostics.
//!
//! * [`Action`]: what a provider implements, over a typed configuration.
//! * [`DynAction`], [`action`]: the type-erased form the server holds.
//! * [`Actions`]: the provider's actions by type name and the three RPCs
//!   (ValidateActionConfig, PlanAction, InvokeAction) that `server.rs` hands over to it.

use crate::agreement::{state_fields, StateFields};
use crate::diagnostics::Diagnostics;
use crate::proto::tfplugin6 as pb;
use crate::resource::{decode_config, run_validators, Ctx, LazySchema};
use crate::schema::Schema;
use crate::server::{decode_dv, diags_to_proto, schema_to_proto};
use crate::value::{Type, Value};
use async_trait::async_trait;
use futures::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Where an invocation reports what it is doing; Terraform prints each message as it arrives.
#[derive(Clone, Debug)]
pub struct Progress(mpsc::UnboundedSender<pb::invoke_action::Event>);

impl Progress {
    pub fn send(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(%message, "action progress");
        let ev = pb::invoke_action::event::Type::Progress(pb::invoke_action::event::Progress {
            message,
        });
        let _ = self.0.send(pb::invoke_action::Event { r#type: Some(ev) });
    }

    /// A progress sink that drops every message (for tests of an action's own logic).
    pub fn discard() -> Progress {
        Progress(mpsc::unbounded_channel().0)
    }
}

#[async_trait]
pub trait Action: Send + Sync + 'static {
    type Config: Serialize + DeserializeOwned + Send + Sync + 'static;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Offline checks of the configuration (values may be unknown). Report with attribute paths.
    async fn validate(&self, _cx: &Ctx, _config: &Self::Config, _diags: &mut Diagnostics) {}

    /// Checks at plan time, against the remote systems when useful (values may be unknown).
    async fn plan(&self, _cx: &Ctx, _config: &Self::Config, _diags: &mut Diagnostics) {}

    /// Do it. Values are known. Errors go to `diags`; progress to `progress`.
    async fn invoke(
        &self,
        cx: &Ctx,
        config: Self::Config,
        progress: &Progress,
        diags: &mut Diagnostics,
    );
}

#[async_trait]
pub trait DynAction: Send + Sync {
    fn type_name(&self) -> &str;
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    /// The field names of the action's `Config`, for [`crate::agreement::disagreements`].
    fn config_fields(&self) -> StateFields;
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    async fn plan(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    async fn invoke(&self, cx: &Ctx, config: &Value, progress: &Progress, diags: &mut Diagnostics);
}

struct TypedAction<A> {
    inner: A,
    schema: LazySchema<A>,
}

/// The type-erased form of a typed action.
pub fn action<A: Action>(a: A) -> Arc<dyn DynAction> {
    Arc::new(TypedAction {
        inner: a,
        schema: LazySchema::new(A::schema),
    })
}

fn decode<T: DeserializeOwned>(v: &Value, diags: &mut Diagnostics) -> Option<T> {
    decode_config(v, "action", diags)
}

#[async_trait]
impl<A: Action> DynAction for TypedAction<A> {
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
        state_fields::<A::Config>()
    }
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        run_validators(&self.schema().block, config, diags);
        if let Some(c) = decode::<A::Config>(config, diags) {
            self.inner.validate(cx, &c, diags).await;
        }
    }
    async fn plan(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        if let Some(c) = decode::<A::Config>(config, diags) {
            self.inner.plan(cx, &c, diags).await;
        }
    }
    async fn invoke(&self, cx: &Ctx, config: &Value, progress: &Progress, diags: &mut Diagnostics) {
        if !config.is_wholly_known() {
            diags.error(
                "Action configuration is not known",
                "Terraform invoked the action with values still unknown. This is a bug in Terraform or the provider.",
            );
            return;
        }
        if let Some(c) = decode::<A::Config>(config, diags) {
            self.inner.invoke(cx, c, progress, diags).await;
        }
    }
}

/// The stream InvokeAction answers with.
pub type EventStream =
    Pin<Box<dyn Stream<Item = Result<pb::invoke_action::Event, tonic::Status>> + Send>>;

/// The provider's actions, by type name, and the RPCs on them.
#[derive(Default)]
pub struct Actions(HashMap<String, Arc<dyn DynAction>>);

impl Actions {
    pub fn new(actions: Vec<Arc<dyn DynAction>>) -> Self {
        Actions(
            actions
                .into_iter()
                .map(|a| (a.type_name().to_string(), a))
                .collect(),
        )
    }

    /// `action_schemas` of GetProviderSchema.
    pub fn schemas(&self) -> HashMap<String, pb::ActionSchema> {
        self.0
            .iter()
            .map(|(k, a)| {
                let schema = Some(schema_to_proto(a.schema()));
                (k.clone(), pb::ActionSchema { schema })
            })
            .collect()
    }

    /// `actions` of GetMetadata, sorted.
    pub fn metadata(&self) -> Vec<pb::get_metadata::ActionMetadata> {
        let mut names: Vec<_> = self.0.keys().cloned().collect();
        names.sort();
        names
            .into_iter()
            .map(|type_name| pb::get_metadata::ActionMetadata { type_name })
            .collect()
    }

    /// The action and its decoded configuration, or an error diagnostic.
    fn get(
        &self,
        name: &str,
        config: Option<&pb::DynamicValue>,
        diags: &mut Diagnostics,
    ) -> Option<(Arc<dyn DynAction>, Value)> {
        let Some(a) = self.0.get(name).cloned() else {
            diags.error(
                "Unknown action type",
                format!("This provider has no action type {name:?}."),
            );
            return None;
        };
        let cfg = decode_dv(config, a.value_type(), "action configuration", diags)?;
        Some((a, cfg))
    }

    pub async fn validate(
        &self,
        cx: &Ctx,
        r: pb::validate_action_config::Request,
    ) -> pb::validate_action_config::Response {
        let mut diags = Diagnostics::new();
        if let Some((a, cfg)) = self.get(&r.type_name, r.config.as_ref(), &mut diags) {
            a.validate(cx, &cfg, &mut diags).await;
        }
        pb::validate_action_config::Response {
            diagnostics: diags_to_proto(&diags),
        }
    }

    pub async fn plan(&self, cx: &Ctx, r: pb::plan_action::Request) -> pb::plan_action::Response {
        let mut diags = Diagnostics::new();
        if let Some((a, cfg)) = self.get(&r.action_type, r.config.as_ref(), &mut diags) {
            a.plan(cx, &cfg, &mut diags).await;
        }
        pb::plan_action::Response {
            diagnostics: diags_to_proto(&diags),
            deferred: None,
        }
    }

    /// Runs the action in its own task; the stream ends with the completed event. StopProvider
    /// (the context's cancel token) ends the run with an error.
    pub fn invoke(&self, cx: Ctx, r: pb::invoke_action::Request) -> EventStream {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut diags = Diagnostics::new();
        let found = self.get(&r.action_type, r.config.as_ref(), &mut diags);
        let progress = Progress(tx.clone());
        tokio::spawn(async move {
            if let Some((a, cfg)) = found {
                tokio::select! {
                    _ = a.invoke(&cx, &cfg, &progress, &mut diags) => {}
                    _ = cx.cancel.cancelled() => diags.error(
                        "Action cancelled",
                        "Terraform asked the provider to stop (interrupt) while the action was running. What it started may still be going on.",
                    ),
                }
            }
            let done = pb::invoke_action::event::Completed {
                diagnostics: diags_to_proto(&diags),
            };
            let ev = pb::invoke_action::event::Type::Completed(done);
            let _ = tx.send(pb::invoke_action::Event { r#type: Some(ev) });
        });
        let events = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
        Box::pin(futures::StreamExt::map(events, Ok))
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn DynAction>> {
        self.0.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, Block};
    use crate::value::encode_msgpack;
    use futures::StreamExt;
    use std::collections::BTreeMap;

    #[derive(Serialize, serde::Deserialize)]
    struct Cfg {
        names: Option<Vec<String>>,
    }

    struct Greet;

    #[async_trait]
    impl Action for Greet {
        type Config = Cfg;
        fn type_name(&self) -> &'static str {
            "test_greet"
        }
        fn schema(&self) -> Schema {
            let names = Attribute::new("names", Type::list(Type::String)).optional();
            Schema::new(0, Block::new("Greets.").attr(names))
        }
        async fn invoke(&self, _cx: &Ctx, c: Cfg, p: &Progress, diags: &mut Diagnostics) {
            for n in c.names.unwrap_or_default() {
                p.send(format!("hello {n}"));
            }
            diags.error("done badly", "on purpose");
        }
    }

    fn config(names: Value) -> Option<pb::DynamicValue> {
        let ty = Type::object([("names", Type::list(Type::String))]);
        let v = Value::Object(BTreeMap::from([("names".to_string(), names)]));
        let msgpack = encode_msgpack(&ty, &v).unwrap();
        Some(pb::DynamicValue {
            msgpack,
            json: vec![],
        })
    }

    fn s(x: &str) -> Value {
        Value::String(x.into())
    }

    #[tokio::test]
    async fn invoke_streams_progress_then_one_completed_event() {
        let actions = Actions::new(vec![action(Greet)]);
        let r = pb::invoke_action::Request {
            action_type: "test_greet".into(),
            config: config(Value::List(vec![s("a"), s("b")])),
            client_capabilities: None,
        };
        let events: Vec<_> = actions.invoke(Ctx::default(), r).collect().await;
        use pb::invoke_action::event::Type as T;
        let kinds: Vec<String> = events
            .into_iter()
            .map(|e| match e.unwrap().r#type.unwrap() {
                T::Progress(p) => p.message,
                T::Completed(c) => format!("completed: {}", c.diagnostics[0].summary),
            })
            .collect();
        assert_eq!(kinds, ["hello a", "hello b", "completed: done badly"]);
    }

    #[tokio::test]
    async fn unknowns_in_a_plain_list_are_no_error_before_invoke() {
        let actions = Actions::new(vec![action(Greet)]);
        let unknown = Value::Unknown(Default::default());
        let r = pb::plan_action::Request {
            action_type: "test_greet".into(),
            config: config(Value::List(vec![s("a"), unknown])),
            client_capabilities: None,
        };
        let resp = actions.plan(&Ctx::default(), r).await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let r = pb::validate_action_config::Request {
            type_name: "test_nope".into(),
            config: None,
        };
        let resp = actions.validate(&Ctx::default(), r).await;
        assert_eq!(resp.diagnostics[0].summary, "Unknown action type");
    }
}
