//! Resource, DataSource and Provider traits over typed state, their type-erased adapters,
//! and the plan rules every resource gets for free.
//!
//! The framework's plan (see `plan_default`) follows what Terraform core checks
//! (internal/plans/objchange/plan_valid.go): a non-null configured value is planned exactly as
//! configured; only computed attributes that are null in configuration may be filled in; those
//! become unknown on create and on any update, unless the attribute is `keep_prior`, in which
//! case the prior value is planned; write-only attributes are always planned null.

use crate::diagnostics::{AttrPath, Diagnostics};
use crate::schema::{AttrType, Block, NestingMode, Schema};
use crate::typed::{from_value, to_value};
use crate::value::{Type, Value};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

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

    /// `None` means the remote object is gone: Terraform drops it from state and plans a create.
    async fn read(
        &self,
        cx: &Ctx,
        state: Self::State,
        private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Self::State>;

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
}

// ---------------------------------------------------------------------------------------------
// Type-erased forms the server works with.

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
    fn upgrade(&self, version: i64, raw_json: &[u8], diags: &mut Diagnostics) -> Option<Value>;
}

#[async_trait]
pub trait DynDataSource: Send + Sync {
    fn type_name(&self) -> &str;
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    async fn read(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) -> Option<Value>;
}

#[async_trait]
pub trait DynProvider: Send + Sync {
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics);
    async fn configure(&self, cx: &Ctx, config: &Value, tf_version: &str, diags: &mut Diagnostics);
    fn resources(&self) -> Vec<Arc<dyn DynResource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DynDataSource>>;
}

/// Wraps a typed implementation and caches its schema and type.
pub struct Typed<R> {
    inner: R,
    schema: Schema,
    ty: Type,
}

impl<R> Typed<R> {
    fn with(inner: R, schema: Schema) -> Self {
        let ty = schema.value_type();
        Typed { inner, schema, ty }
    }
}

pub fn resource<R: Resource>(r: R) -> Arc<dyn DynResource> {
    let s = r.schema();
    Arc::new(Typed::with(r, s))
}

pub fn data_source<D: DataSource>(d: D) -> Arc<dyn DynDataSource> {
    let s = d.schema();
    Arc::new(Typed::with(d, s))
}

pub fn provider<P: Provider>(p: P) -> Arc<dyn DynProvider> {
    let s = p.schema();
    Arc::new(Typed::with(p, s))
}

fn decode<T: DeserializeOwned>(v: &Value, what: &str, diags: &mut Diagnostics) -> Option<T> {
    match from_value::<T>(v) {
        Ok(t) => Some(t),
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

#[async_trait]
impl<R: Resource> DynResource for Typed<R> {
    fn type_name(&self) -> &str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn value_type(&self) -> &Type {
        &self.ty
    }

    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        check_write_only_allowed(&self.schema.block, config, cx, &mut Vec::new(), diags);
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
        let (planned, requires_replace) = plan_default(&self.schema.block, prior, config, proposed);
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
        let mut planned = encode(&plan.state, &self.ty, "the plan", diags)?;
        null_write_only(&self.schema.block, &mut planned);
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
            Some(s) => match encode(&s, &self.ty, "the new state", diags) {
                Some(mut v) => {
                    null_write_only(&self.schema.block, &mut v);
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
            // Nothing was created (or the update left the object as it was).
            None => prior.clone(),
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
            Some(s) => match encode(&s, &self.ty, "the refreshed state", diags) {
                Some(mut v) => {
                    null_write_only(&self.schema.block, &mut v);
                    (v, private)
                }
                None => (current.clone(), private),
            },
            None if diags.has_errors() => (current.clone(), private),
            None => (Value::Null, Private::default()),
        }
    }

    async fn import(&self, cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let s = self.inner.import(cx, id, diags).await?;
        let mut v = encode(&s, &self.ty, "the imported state", diags)?;
        null_write_only(&self.schema.block, &mut v);
        Some(v)
    }

    fn upgrade(&self, version: i64, raw_json: &[u8], diags: &mut Diagnostics) -> Option<Value> {
        let mut json: serde_json::Value = match serde_json::from_slice(raw_json) {
            Ok(j) => j,
            Err(e) => {
                diags.error("Could not read the stored state", e.to_string());
                return None;
            }
        };
        if version != self.schema.version {
            json = self.inner.upgrade_state(version, json, diags)?;
        }
        // Attributes that the schema no longer has are dropped, as Terraform's own SDKs do.
        let json = prune_to_type(json, &self.ty);
        match super::typed::state_json_to_value(&json, &self.ty, &mut String::new()) {
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
        &self.schema
    }
    fn value_type(&self) -> &Type {
        &self.ty
    }
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
        if let Some(c) = decode::<D::State>(config, "configuration", diags) {
            self.inner.validate(cx, &c, diags).await;
        }
    }
    async fn read(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let c = decode::<D::State>(config, "configuration", diags)?;
        let s = self.inner.read(cx, c, diags).await?;
        encode(&s, &self.ty, "the data source result", diags)
    }
}

#[async_trait]
impl<P: Provider> DynProvider for Typed<P> {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn value_type(&self) -> &Type {
        &self.ty
    }
    async fn validate(&self, cx: &Ctx, config: &Value, diags: &mut Diagnostics) {
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
}

// ---------------------------------------------------------------------------------------------
// Plan rules.

/// The default plan for a block: returns the planned value and the paths that force replacement.
pub fn plan_default(
    block: &Block,
    prior: &Value,
    config: &Value,
    proposed: &Value,
) -> (Value, Vec<AttrPath>) {
    let creating = prior.is_null();
    let mut planned = proposed.clone();
    null_write_only(block, &mut planned);
    // NOTE: for an optional+computed attribute removed from configuration, Terraform proposes
    // the prior value; one with a default goes back to the default, so apply it before deciding
    // whether anything changed.
    apply_defaults(block, config, &mut planned);
    let mut prior_cmp = prior.clone();
    null_write_only(block, &mut prior_cmp);
    // NOTE: no change in configuration means the prior state is the plan: computed attributes
    // must not turn unknown, or every plan would show a diff (a "perpetual diff").
    if !creating && planned == prior_cmp {
        return (prior_cmp, vec![]);
    }
    mark_computed(block, prior, config, &mut planned, creating);
    let mut replace = Vec::new();
    if !creating {
        collect_replace(block, prior, &planned, &mut Vec::new(), &mut replace);
    }
    (planned, replace)
}

fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    let Value::Object(p) = planned else { return };
    for a in &block.attributes {
        if let Some(d) = &a.default {
            if config.attr(&a.name).is_none_or(|v| v.is_null()) {
                p.insert(a.name.clone(), d.clone());
            }
        }
    }
}

fn mark_computed(
    block: &Block,
    prior: &Value,
    config: &Value,
    planned: &mut Value,
    creating: bool,
) {
    let Value::Object(p) = planned else { return };
    for a in &block.attributes {
        let cfg = config.attr(&a.name).cloned().unwrap_or(Value::Null);
        let pri = prior.attr(&a.name).cloned().unwrap_or(Value::Null);
        let slot = p.entry(a.name.clone()).or_insert(Value::Null);
        if a.write_only {
            *slot = Value::Null;
            continue;
        }
        if a.computed && cfg.is_null() {
            *slot = if let Some(d) = &a.default {
                d.clone()
            } else if !creating && a.keep_prior && !pri.is_null() {
                pri
            } else {
                Value::unknown()
            };
            continue;
        }
        if let AttrType::Nested {
            nesting: NestingMode::Single | NestingMode::Group,
            attributes,
        } = &a.ty
        {
            if !slot.is_null() && !slot.is_unknown() {
                let inner = Block {
                    attributes: attributes.clone(),
                    ..Default::default()
                };
                mark_computed(&inner, &pri, &cfg, slot, creating || pri.is_null());
            }
        }
    }
    for b in &block.blocks {
        if matches!(b.nesting, NestingMode::Single | NestingMode::Group) {
            let cfg = config.attr(&b.type_name).cloned().unwrap_or(Value::Null);
            let pri = prior.attr(&b.type_name).cloned().unwrap_or(Value::Null);
            if let Some(slot) = p.get_mut(&b.type_name) {
                if !slot.is_null() && !slot.is_unknown() {
                    mark_computed(&b.block, &pri, &cfg, slot, creating || pri.is_null());
                }
            }
        }
    }
}

fn collect_replace(
    block: &Block,
    prior: &Value,
    planned: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<AttrPath>,
) {
    for a in &block.attributes {
        let pv = prior.attr(&a.name).cloned().unwrap_or(Value::Null);
        let nv = planned.attr(&a.name).cloned().unwrap_or(Value::Null);
        if a.force_new && pv != nv {
            let mut p = AttrPath::default();
            for s in path.iter() {
                p = p.attr(s.clone());
            }
            out.push(p.attr(a.name.clone()));
        }
    }
    for b in &block.blocks {
        if matches!(b.nesting, NestingMode::Single | NestingMode::Group) {
            let pv = prior.attr(&b.type_name).cloned().unwrap_or(Value::Null);
            let nv = planned.attr(&b.type_name).cloned().unwrap_or(Value::Null);
            path.push(b.type_name.clone());
            collect_replace(&b.block, &pv, &nv, path, out);
            path.pop();
        }
    }
}

/// Write-only attributes are null in every plan and state (protocol rule, 6.8), nested
/// attributes included (e.g. `registries["host"].password_wo`).
pub fn null_write_only(block: &Block, v: &mut Value) {
    let Value::Object(m) = v else { return };
    for a in &block.attributes {
        if a.write_only {
            if let Some(slot) = m.get_mut(&a.name) {
                *slot = Value::Null;
            }
        } else if let AttrType::Nested { attributes, .. } = &a.ty {
            if let Some(slot) = m.get_mut(&a.name) {
                let inner = Block {
                    attributes: attributes.clone(),
                    ..Default::default()
                };
                match slot {
                    Value::Object(_) => null_write_only(&inner, slot),
                    Value::List(xs) | Value::Set(xs) => {
                        xs.iter_mut().for_each(|x| null_write_only(&inner, x))
                    }
                    Value::Map(xs) => xs.values_mut().for_each(|x| null_write_only(&inner, x)),
                    _ => {}
                }
            }
        }
    }
    for b in &block.blocks {
        if let Some(slot) = m.get_mut(&b.type_name) {
            match slot {
                Value::Object(_) => null_write_only(&b.block, slot),
                Value::List(xs) | Value::Set(xs) => {
                    xs.iter_mut().for_each(|x| null_write_only(&b.block, x))
                }
                Value::Map(xs) => xs.values_mut().for_each(|x| null_write_only(&b.block, x)),
                _ => {}
            }
        }
    }
}

fn check_write_only_allowed(
    block: &Block,
    config: &Value,
    cx: &Ctx,
    path: &mut Vec<String>,
    diags: &mut Diagnostics,
) {
    if cx.write_only_allowed {
        return;
    }
    for a in &block.attributes {
        if a.write_only && config.attr(&a.name).is_some_and(|v| !v.is_null()) {
            let mut p = AttrPath::default();
            for s in path.iter() {
                p = p.attr(s.clone());
            }
            diags.error_at(
                p.attr(a.name.clone()),
                "Write-only attribute not supported by this Terraform version",
                format!(
                    "\"{}\" is write-only (never stored in state). Write-only attributes need \
                     Terraform >= 1.11 or OpenTofu >= 1.11; use the other value source with older versions.",
                    a.name
                ),
            );
        }
    }
    for b in &block.blocks {
        if let Some(v @ Value::Object(_)) = config.attr(&b.type_name) {
            path.push(b.type_name.clone());
            check_write_only_allowed(&b.block, v, cx, path, diags);
            path.pop();
        }
    }
    // Nested attributes (single objects and maps of objects; the path names the first
    // element found, which is enough for Terraform to point at the attribute).
    for a in &block.attributes {
        let AttrType::Nested { attributes, .. } = &a.ty else {
            continue;
        };
        let inner = Block {
            attributes: attributes.clone(),
            ..Default::default()
        };
        match config.attr(&a.name) {
            Some(v @ Value::Object(_)) => {
                path.push(a.name.clone());
                check_write_only_allowed(&inner, v, cx, path, diags);
                path.pop();
            }
            Some(Value::Map(xs)) => {
                for x in xs.values() {
                    path.push(a.name.clone());
                    check_write_only_allowed(&inner, x, cx, path, diags);
                    path.pop();
                }
            }
            Some(Value::List(xs) | Value::Set(xs)) => {
                for x in xs {
                    path.push(a.name.clone());
                    check_write_only_allowed(&inner, x, cx, path, diags);
                    path.pop();
                }
            }
            _ => {}
        }
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
mod tests {
    use super::*;
    use crate::schema::Attribute;

    fn block() -> Block {
        Block::new("t")
            .attr(Attribute::string("name").required().force_new())
            .attr(Attribute::string("note").optional())
            .attr(Attribute::string("id").computed().keep_prior())
            .attr(Attribute::string("etag").computed())
            .attr(Attribute::string("secret_wo").optional().write_only())
            .attr(Attribute::string("mode").optional().computed())
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn s(x: &str) -> Value {
        Value::String(x.into())
    }

    #[test]
    fn create_marks_computed_unknown_and_nulls_write_only() {
        let cfg = obj(&[
            ("name", s("a")),
            ("note", Value::Null),
            ("id", Value::Null),
            ("etag", Value::Null),
            ("secret_wo", s("hush")),
            ("mode", Value::Null),
        ]);
        let (p, rr) = plan_default(&block(), &Value::Null, &cfg, &cfg);
        assert!(rr.is_empty());
        assert!(p.attr("id").unwrap().is_unknown());
        assert!(p.attr("etag").unwrap().is_unknown());
        assert!(p.attr("mode").unwrap().is_unknown());
        assert!(p.attr("secret_wo").unwrap().is_null());
        assert_eq!(p.attr("name"), Some(&s("a")));
    }

    #[test]
    fn unchanged_config_plans_prior_exactly() {
        let prior = obj(&[
            ("name", s("a")),
            ("note", Value::Null),
            ("id", s("7")),
            ("etag", s("e1")),
            ("secret_wo", Value::Null),
            ("mode", s("fast")),
        ]);
        let cfg = obj(&[
            ("name", s("a")),
            ("note", Value::Null),
            ("id", Value::Null),
            ("etag", Value::Null),
            ("secret_wo", s("hush")),
            ("mode", Value::Null),
        ]);
        // Terraform's proposed state: config with prior values for computed attributes.
        let mut proposed = prior.clone();
        if let Value::Object(m) = &mut proposed {
            m.insert("secret_wo".into(), s("hush"));
        }
        let (p, rr) = plan_default(&block(), &prior, &cfg, &proposed);
        assert_eq!(p, prior);
        assert!(rr.is_empty());
    }

    #[test]
    fn removed_attribute_with_default_returns_to_default() {
        let b = block().attr(
            Attribute::bool("dry_run")
                .optional()
                .computed()
                .default_value(Value::Bool(false)),
        );
        let prior = obj(&[
            ("name", s("a")),
            ("note", Value::Null),
            ("id", s("7")),
            ("etag", s("e1")),
            ("secret_wo", Value::Null),
            ("mode", s("fast")),
            ("dry_run", Value::Bool(true)),
        ]);
        let mut cfg = prior.clone();
        if let Value::Object(m) = &mut cfg {
            for k in ["id", "etag", "mode", "dry_run"] {
                m.insert(k.into(), Value::Null);
            }
        }
        // Terraform proposes the prior value for the removed optional+computed attribute.
        let (p, _) = plan_default(&b, &prior, &cfg, &prior);
        assert_eq!(p.attr("dry_run"), Some(&Value::Bool(false)));
        assert_eq!(p.attr("id"), Some(&s("7")));
    }

    #[test]
    fn write_only_inside_map_nested_attributes_is_nulled() {
        let b = Block::new("t").attr(Attribute::nested(
            "registries",
            NestingMode::Map,
            vec![
                Attribute::string("username").required(),
                Attribute::string("password_wo").optional().write_only(),
            ],
        ));
        let mut v = obj(&[(
            "registries",
            Value::Map(
                [(
                    "r.example".to_string(),
                    obj(&[("username", s("u")), ("password_wo", s("hush"))]),
                )]
                .into(),
            ),
        )]);
        null_write_only(&b, &mut v);
        let Some(Value::Map(m)) = v.attr("registries") else {
            panic!("{v:?}")
        };
        assert!(m["r.example"].attr("password_wo").unwrap().is_null());
        assert_eq!(m["r.example"].attr("username"), Some(&s("u")));
        let mut d = Diagnostics::new();
        let cfg = obj(&[(
            "registries",
            Value::Map([("r.example".to_string(), obj(&[("password_wo", s("x"))]))].into()),
        )]);
        check_write_only_allowed(&b, &cfg, &Ctx::default(), &mut Vec::new(), &mut d);
        assert!(
            d.has_errors(),
            "old CLIs are told write-only is unsupported"
        );
    }

    #[test]
    fn update_keeps_stable_computed_and_flags_replacement() {
        let prior = obj(&[
            ("name", s("a")),
            ("note", Value::Null),
            ("id", s("7")),
            ("etag", s("e1")),
            ("secret_wo", Value::Null),
            ("mode", s("fast")),
        ]);
        let cfg = obj(&[
            ("name", s("b")),
            ("note", s("hi")),
            ("id", Value::Null),
            ("etag", Value::Null),
            ("secret_wo", Value::Null),
            ("mode", Value::Null),
        ]);
        let proposed = obj(&[
            ("name", s("b")),
            ("note", s("hi")),
            ("id", s("7")),
            ("etag", s("e1")),
            ("secret_wo", Value::Null),
            ("mode", s("fast")),
        ]);
        let (p, rr) = plan_default(&block(), &prior, &cfg, &proposed);
        assert_eq!(p.attr("id"), Some(&s("7")), "keep_prior keeps the id");
        assert!(p.attr("etag").unwrap().is_unknown());
        assert!(p.attr("mode").unwrap().is_unknown());
        assert_eq!(rr, vec![AttrPath::root("name")]);
    }
}
