//! The type-erased forms the server works with ([`DynResource`], [`DynDataSource`],
//! [`DynProvider`]) and [`Typed`], the adapter that turns a typed implementation into one: it
//! converts values to and from the typed state and applies the framework's rules around the
//! implementation's own code.

use crate::agreement::{state_fields, StateFields};
use crate::diagnostics::{AttrPath, Diagnostics};
use crate::ephemeral::DynEphemeralResource;
use crate::identity::IdentitySchema;
use crate::schema::Schema;
use crate::typed::{from_value, state_json_to_value, to_value, value_to_state_json, TypedError};
use crate::value::{Type, Value};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::{Arc, OnceLock};

use super::plan::{
    fill_unknown_write_only, keep_partly_known_config, null_write_only, plan_default,
};
use super::validation::{check_write_only_allowed, run_validators};
use super::{ApplyRequest, Ctx, DataSource, Plan, PlanRequest, Private, Provider, Read, Resource};

pub struct PlanOutcome {
    pub planned: Value,
    pub requires_replace: Vec<AttrPath>,
    pub private: Private,
}

#[async_trait]
pub trait DynResource: Send + Sync {
    fn type_name(&self) -> &str;
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    /// The field names of the resource's `State` (and of the structs inside it), to check them
    /// against the schema with [`crate::agreement::disagreements`].
    fn state_fields(&self) -> StateFields;
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    async fn plan(
        &self,
        cx: &Ctx,
        prior: &Value,
        config: &Value,
        proposed: &Value,
        prior_private: Private,
        diags: &mut Diagnostics,
    ) -> Option<PlanOutcome>;
    async fn apply(
        &self,
        cx: &Ctx,
        prior: &Value,
        planned: &Value,
        config: &Value,
        private: Private,
        diags: &mut Diagnostics,
    ) -> (Value, Private);
    async fn read(
        &self,
        cx: &Ctx,
        current: &Value,
        private: Private,
        diags: &mut Diagnostics,
    ) -> (Value, Private);
    async fn import(&self, cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<Value>;
    /// The identity schema and its cty type, when the resource has one.
    fn identity_schema(&self) -> Option<&(IdentitySchema, Type)> {
        None
    }
    /// The identity of a state value, as a cty value of the identity type.
    fn identity_of(&self, _state: &Value) -> Option<Value> {
        None
    }
    /// The import id an identity value stands for.
    fn identity_import_id(&self, _identity: &Value) -> Option<String> {
        None
    }
    fn upgrade(&self, version: i64, raw_json: &[u8], diags: &mut Diagnostics) -> Option<Value>;
}

#[async_trait]
pub trait DynDataSource: Send + Sync {
    fn type_name(&self) -> &str;
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    /// The field names of the data source's `State`; see [`DynResource::state_fields`].
    fn state_fields(&self) -> StateFields;
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    async fn read(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) -> Option<Value>;
}

#[async_trait]
pub trait DynProvider: Send + Sync {
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    /// The field names of the provider's `Config`; see [`DynResource::state_fields`].
    fn config_fields(&self) -> StateFields;
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    async fn configure(&self, cx: &Ctx, config: &Value, tf_version: &str, diags: &mut Diagnostics);
    fn resources(&self) -> Vec<Arc<dyn DynResource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DynDataSource>>;
    fn ephemeral_resources(&self) -> Vec<Arc<dyn DynEphemeralResource>>;
    /// Actions (Terraform >= 1.14): see [`crate::action`].
    fn actions(&self) -> Vec<Arc<dyn crate::action::DynAction>>;
    /// List resources (Terraform >= 1.14): see [`crate::list`].
    fn list_resources(&self) -> Vec<Arc<dyn crate::list::DynListResource>>;
}

/// A typed implementation's schema and its value type, built on first use: a provider
/// process that Terraform starts for a few types never builds the others' schemas (validator
/// regexes included), and none is built before the handshake line. Every erased wrapper
/// (resources, data sources, ephemeral resources, actions, list resources) keeps one.
pub(crate) struct LazySchema<T> {
    build: fn(&T) -> Schema,
    built: OnceLock<(Schema, Type)>,
}

impl<T> LazySchema<T> {
    pub(crate) fn new(build: fn(&T) -> Schema) -> Self {
        LazySchema {
            build,
            built: OnceLock::new(),
        }
    }
    pub(crate) fn get(&self, inner: &T) -> &(Schema, Type) {
        self.built.get_or_init(|| {
            let schema = (self.build)(inner);
            let ty = schema.value_type();
            (schema, ty)
        })
    }
}

/// Decode a typed configuration. A value with unknowns nested where the typed form has no
/// room for them is skipped without an error (`None`): validate and plan see it again, and the
/// calls that act on it (invoke, list) only ever get known values. `what` names the kind in
/// the error, e.g. "action".
pub(crate) fn decode_config<T: DeserializeOwned>(
    v: &Value,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<T> {
    match from_value::<T>(v) {
        Ok(t) => Some(t),
        Err(_) if !v.is_wholly_known() => None,
        Err(e) => {
            diags.error(format!("Invalid {what} configuration"), e.to_string());
            None
        }
    }
}

/// Wraps a typed resource or data source with its lazily built schema (and identity).
pub struct Typed<R> {
    inner: R,
    schema: LazySchema<R>,
    identity_build: fn(&R) -> Option<IdentitySchema>,
    identity: OnceLock<Option<(IdentitySchema, Type)>>,
}

impl<R> Typed<R> {
    fn with(inner: R, build: fn(&R) -> Schema) -> Self {
        Typed {
            inner,
            schema: LazySchema::new(build),
            identity_build: |_| None,
            identity: OnceLock::new(),
        }
    }
    fn built(&self) -> &(Schema, Type) {
        self.schema.get(&self.inner)
    }
    fn ident(&self) -> Option<&(IdentitySchema, Type)> {
        self.identity
            .get_or_init(|| {
                (self.identity_build)(&self.inner).map(|i| {
                    let ty = i.value_type();
                    (i, ty)
                })
            })
            .as_ref()
    }
    fn sch(&self) -> &Schema {
        &self.built().0
    }
    fn ty(&self) -> &Type {
        &self.built().1
    }
}

pub fn resource<R: Resource>(r: R) -> Arc<dyn DynResource> {
    let mut t = Typed::with(r, R::schema);
    t.identity_build = R::identity_schema;
    Arc::new(t)
}

pub fn data_source<D: DataSource>(d: D) -> Arc<dyn DynDataSource> {
    Arc::new(Typed::with(d, D::schema))
}

pub fn provider<P: Provider>(p: P) -> Arc<dyn DynProvider> {
    Arc::new(Typed::with(p, P::schema))
}

fn decode<T: DeserializeOwned>(v: &Value, what: &str, diags: &mut Diagnostics) -> Option<T> {
    match from_value::<T>(v) {
        Ok(t) => Some(t),
        Err(TypedError::Decode { path, msg }) if !path.is_empty() => {
            // A validator may have said it already (`keep_last` must be a whole number).
            let said = diags.0.iter().any(|d| {
                d.severity == crate::diagnostics::Severity::Error && d.path.as_ref() == Some(&path)
            });
            if !said {
                diags.error_at(
                    path.clone(),
                    format!("Invalid {what}"),
                    format!("{path}: {msg}"),
                );
            }
            None
        }
        Err(e) => {
            diags.error(format!("Invalid {what}"), e.to_string());
            None
        }
    }
}

fn encode<T: Serialize>(t: &T, ty: &Type, what: &str, diags: &mut Diagnostics) -> Option<Value> {
    match to_value(t, ty) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error(
                format!("Provider error building {what}"),
                format!("{e}. This is a bug in the provider."),
            );
            None
        }
    }
}

/// `None` from a typed method is a failure, which the method should have explained in `diags`.
/// If it did not, say so, so that the failure is never taken for a result (nor, for `read`, for
/// an object that is gone).
fn failed_without_reason(diags: &mut Diagnostics, type_name: &str, what: &str) {
    if !diags.has_errors() {
        diags.error(
            format!("Provider bug: {type_name} {what} failed without saying why"),
            "The provider returned no result and no error. Please report this to its maintainers.",
        );
    }
}

#[async_trait]
impl<R: Resource> DynResource for Typed<R> {
    fn type_name(&self) -> &str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        self.sch()
    }
    fn value_type(&self) -> &Type {
        self.ty()
    }
    fn state_fields(&self) -> StateFields {
        state_fields::<R::State>()
    }

    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        check_write_only_allowed(&self.sch().block, config, cx, diags);
        run_validators(&self.sch().block, config, diags);
        if let Some(c) = decode::<R::State>(config, "configuration", diags) {
            self.inner.validate(cx, &c, diags).await;
        }
    }

    async fn plan(
        &self,
        cx: &Ctx,
        prior: &Value,
        config: &Value,
        proposed: &Value,
        prior_private: Private,
        diags: &mut Diagnostics,
    ) -> Option<PlanOutcome> {
        if proposed.is_null() {
            // Destroy: nothing to plan.
            return Some(PlanOutcome {
                planned: Value::Null,
                requires_replace: vec![],
                private: prior_private,
            });
        }
        let (planned, requires_replace) = plan_default(&self.sch().block, prior, config, proposed);
        let req = PlanRequest {
            prior: if prior.is_null() {
                None
            } else {
                Some(decode::<R::State>(prior, "prior state", diags)?)
            },
            config: decode::<R::State>(config, "configuration", diags)?,
            prior_private: prior_private.clone(),
        };
        let mut plan = Plan {
            state: decode::<R::State>(&planned, "planned state", diags)?,
            requires_replace,
            private: prior_private,
        };
        self.inner.modify_plan(cx, &req, &mut plan, diags).await;
        if diags.has_errors() {
            return None;
        }
        let mut planned = encode(&plan.state, self.ty(), "the plan", diags)?;
        keep_partly_known_config(&self.sch().block, config, &mut planned);
        null_write_only(&self.sch().block, &mut planned);
        if cx.write_only_allowed {
            fill_unknown_write_only(&self.sch().block, &mut planned);
        }
        Some(PlanOutcome {
            planned,
            requires_replace: plan.requires_replace,
            private: plan.private,
        })
    }

    async fn apply(
        &self,
        cx: &Ctx,
        prior: &Value,
        planned: &Value,
        config: &Value,
        private: Private,
        diags: &mut Diagnostics,
    ) -> (Value, Private) {
        if planned.is_null() {
            if let Some(p) = decode::<R::State>(prior, "prior state", diags) {
                self.inner.delete(cx, p, &private, diags).await;
            }
            if diags.has_errors() {
                // The object may still exist: keep it in state.
                return (prior.clone(), private);
            }
            return (Value::Null, Private::default());
        }
        let Some(planned_s) = decode::<R::State>(planned, "planned state", diags) else {
            return (prior.clone(), private);
        };
        let Some(config_s) = decode::<R::State>(config, "configuration", diags) else {
            return (prior.clone(), private);
        };
        let prior_s = if prior.is_null() {
            None
        } else {
            decode::<R::State>(prior, "prior state", diags)
        };
        let creating = prior_s.is_none();
        let mut req = ApplyRequest {
            prior: prior_s,
            planned: planned_s,
            config: config_s,
            private,
        };
        let result = if creating {
            self.inner.create(cx, &mut req, diags).await
        } else {
            self.inner.update(cx, &mut req, diags).await
        };
        let new_state = match result {
            Some(s) => match encode(&s, self.ty(), "the new state", diags) {
                Some(mut v) => {
                    null_write_only(&self.sch().block, &mut v);
                    if !v.is_wholly_known() {
                        diags.error(
                            "Provider returned unknown values after apply",
                            format!("{}: this is a bug in the provider.", self.type_name()),
                        );
                    }
                    v
                }
                None => prior.clone(),
            },
            None => {
                let what = if creating { "create" } else { "update" };
                failed_without_reason(diags, self.type_name(), what);
                prior.clone()
            }
        };
        (new_state, req.private)
    }

    async fn read(
        &self,
        cx: &Ctx,
        current: &Value,
        mut private: Private,
        diags: &mut Diagnostics,
    ) -> (Value, Private) {
        if current.is_null() {
            return (Value::Null, private);
        }
        let Some(s) = decode::<R::State>(current, "state", diags) else {
            return (current.clone(), private);
        };
        match self.inner.read(cx, s, &mut private, diags).await {
            Some(Read::Found(s)) => match encode(&s, self.ty(), "the refreshed state", diags) {
                Some(mut v) => {
                    null_write_only(&self.sch().block, &mut v);
                    (v, private)
                }
                None => (current.clone(), private),
            },
            Some(Read::Gone) => (Value::Null, Private::default()),
            None => {
                // A failure keeps the object in state, whether or not it was explained.
                failed_without_reason(diags, self.type_name(), "read");
                (current.clone(), private)
            }
        }
    }

    async fn import(&self, cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let Some(s) = self.inner.import(cx, id, diags).await else {
            failed_without_reason(diags, self.type_name(), "import");
            return None;
        };
        let mut v = encode(&s, self.ty(), "the imported state", diags)?;
        null_write_only(&self.sch().block, &mut v);
        Some(v)
    }

    fn identity_schema(&self) -> Option<&(IdentitySchema, Type)> {
        self.ident()
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        let (_, ty) = self.ident()?;
        if state.is_null() || !state.is_wholly_known() {
            return None;
        }
        let s = from_value::<R::State>(state).ok()?;
        let id = self.inner.identity(&s)?;
        to_value(&id, ty).ok().filter(Value::is_wholly_known)
    }

    fn identity_import_id(&self, identity: &Value) -> Option<String> {
        match value_to_state_json(identity) {
            serde_json::Value::Object(m) => self.inner.identity_import_id(&m),
            _ => None,
        }
    }

    fn upgrade(&self, version: i64, raw_json: &[u8], diags: &mut Diagnostics) -> Option<Value> {
        let mut json: serde_json::Value = match serde_json::from_slice(raw_json) {
            Ok(j) => j,
            Err(e) => {
                diags.error("Could not read the stored state", e.to_string());
                return None;
            }
        };
        if version != self.sch().version {
            let Some(upgraded) = self.inner.upgrade_state(version, json, diags) else {
                failed_without_reason(diags, self.type_name(), "state upgrade");
                return None;
            };
            json = upgraded;
        }
        // Attributes that the schema no longer has are dropped, as Terraform's own SDKs do.
        let json = prune_to_type(json, self.ty());
        match state_json_to_value(&json, self.ty(), &mut String::new()) {
            Ok(v) => Some(v),
            Err(e) => {
                diags.error("Could not read the stored state", e.to_string());
                None
            }
        }
    }
}

#[async_trait]
impl<D: DataSource> DynDataSource for Typed<D> {
    fn type_name(&self) -> &str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        self.sch()
    }
    fn value_type(&self) -> &Type {
        self.ty()
    }
    fn state_fields(&self) -> StateFields {
        state_fields::<D::State>()
    }
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        run_validators(&self.sch().block, config, diags);
        if let Some(c) = decode::<D::State>(config, "configuration", diags) {
            self.inner.validate(cx, &c, diags).await;
        }
    }
    async fn read(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let c = decode::<D::State>(config, "configuration", diags)?;
        let Some(s) = self.inner.read(cx, c, diags).await else {
            failed_without_reason(diags, self.type_name(), "read");
            return None;
        };
        encode(&s, self.ty(), "the data source result", diags)
    }
}

#[async_trait]
impl<P: Provider> DynProvider for Typed<P> {
    fn schema(&self) -> &Schema {
        self.sch()
    }
    fn value_type(&self) -> &Type {
        self.ty()
    }
    fn config_fields(&self) -> StateFields {
        state_fields::<P::Config>()
    }
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        run_validators(&self.sch().block, config, diags);
        if let Some(c) = decode::<P::Config>(config, "provider configuration", diags) {
            self.inner.validate(cx, &c, diags).await;
        }
    }
    async fn configure(&self, cx: &Ctx, config: &Value, tf_version: &str, diags: &mut Diagnostics) {
        if let Some(c) = decode::<P::Config>(config, "provider configuration", diags) {
            self.inner.configure(cx, c, tf_version, diags).await;
        }
    }
    fn resources(&self) -> Vec<Arc<dyn DynResource>> {
        self.inner.resources()
    }
    fn data_sources(&self) -> Vec<Arc<dyn DynDataSource>> {
        self.inner.data_sources()
    }
    fn ephemeral_resources(&self) -> Vec<Arc<dyn DynEphemeralResource>> {
        self.inner.ephemeral_resources()
    }
    fn actions(&self) -> Vec<Arc<dyn crate::action::DynAction>> {
        self.inner.actions()
    }
    fn list_resources(&self) -> Vec<Arc<dyn crate::list::DynListResource>> {
        self.inner.list_resources()
    }
}

/// Drop object attributes the type does not know (used when reading older state JSON).
fn prune_to_type(j: serde_json::Value, ty: &Type) -> serde_json::Value {
    use serde_json::Value as J;
    match (j, ty) {
        (J::Object(m), Type::Object(o)) => J::Object(
            m.into_iter()
                .filter_map(|(k, v)| o.attrs.get(&k).map(|t| (k, prune_to_type(v, t))))
                .collect(),
        ),
        (J::Object(m), Type::Map(t)) => J::Object(
            m.into_iter()
                .map(|(k, v)| (k, prune_to_type(v, t)))
                .collect(),
        ),
        (J::Array(xs), Type::List(t) | Type::Set(t)) => {
            J::Array(xs.into_iter().map(|x| prune_to_type(x, t)).collect())
        }
        (other, _) => other,
    }
}

#[cfg(test)]
#[path = "tests/erased.rs"]
mod tests;
