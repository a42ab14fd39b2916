//! The tonic `tfplugin6.Provider` service: decode -> call the erased trait -> encode.
//!
//! Nothing here knows what the provider manages. RPCs the provider does not implement are
//! answered UNIMPLEMENTED by the generated default stubs; Terraform only calls them when a
//! configuration uses the feature.

use crate::action::Actions;
use crate::diagnostics::{AttrPath, Diagnostic, Diagnostics, PathStep, Severity};
use crate::ephemeral;
use crate::list::ListResources;
use crate::proto::tfplugin6 as pb;
use crate::resource::{Ctx, DynDataSource, DynProvider, DynResource, Private};
use crate::schema::{AttrType, Attribute, Block, NestingMode, Schema};
use crate::value::{decode_json, decode_msgpack, encode_msgpack, DecodeJsonOpts, Type, Value};
use pb::provider_server::Provider as PbProvider;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

pub struct ProviderService {
    provider: Arc<dyn DynProvider>,
    resources: HashMap<String, Arc<dyn DynResource>>,
    data_sources: HashMap<String, Arc<dyn DynDataSource>>,
    /// Built on the first GetProviderSchema, not before the handshake line (and never for the
    /// provider processes that Terraform >= 1.6 starts without asking for the schema).
    schema_response: OnceLock<pb::get_provider_schema::Response>,
    ephemeral: ephemeral::rpc::Registry,
    stop: Mutex<CancellationToken>,
    actions: Actions,
    lists: ListResources,
    config_known: crate::deferral::ProviderConfigKnown,
}

impl ProviderService {
    pub fn new(provider: Arc<dyn DynProvider>) -> Self {
        let resources: HashMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|r| (r.type_name().to_string(), r))
            .collect();
        let data_sources: HashMap<_, _> = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name().to_string(), d))
            .collect();
        let ephemeral: ephemeral::rpc::Registry = provider
            .ephemeral_resources()
            .into_iter()
            .map(|e| (e.type_name().to_string(), e))
            .collect();
        let actions = Actions::new(provider.actions());
        let lists = ListResources::new(provider.list_resources(), &resources);
        ProviderService {
            provider,
            resources,
            data_sources,
            ephemeral,
            schema_response: OnceLock::new(),
            stop: Mutex::new(CancellationToken::new()),
            actions,
            lists,
            config_known: Default::default(),
        }
    }

    fn schema_response(&self) -> &pb::get_provider_schema::Response {
        self.schema_response
            .get_or_init(|| pb::get_provider_schema::Response {
                provider: Some(schema_to_proto(self.provider.schema())),
                resource_schemas: self
                    .resources
                    .iter()
                    .map(|(k, r)| (k.clone(), schema_to_proto(r.schema())))
                    .collect(),
                data_source_schemas: self
                    .data_sources
                    .iter()
                    .map(|(k, d)| (k.clone(), schema_to_proto(d.schema())))
                    .collect(),
                ephemeral_resource_schemas: self
                    .ephemeral
                    .iter()
                    .map(|(k, e)| (k.clone(), schema_to_proto(e.schema())))
                    .collect(),
                server_capabilities: Some(capabilities()),
                action_schemas: self.actions.schemas(),
                list_resource_schemas: self.lists.schemas(),
                ..Default::default()
            })
    }

    fn ctx(&self, caps: Option<&pb::ClientCapabilities>) -> Ctx {
        let cancel = self
            .stop
            .lock()
            .map(|t| t.child_token())
            .unwrap_or_default();
        Ctx {
            cancel,
            write_only_allowed: caps.is_some_and(|c| c.write_only_attributes_allowed),
        }
    }

    fn resource(&self, name: &str, diags: &mut Diagnostics) -> Option<Arc<dyn DynResource>> {
        let r = self.resources.get(name).cloned();
        if r.is_none() {
            diags.error(
                "Unknown resource type",
                format!("This provider has no resource type {name:?}."),
            );
        }
        r
    }

    fn data_source(&self, name: &str, diags: &mut Diagnostics) -> Option<Arc<dyn DynDataSource>> {
        let d = self.data_sources.get(name).cloned();
        if d.is_none() {
            diags.error(
                "Unknown data source",
                format!("This provider has no data source {name:?}."),
            );
        }
        d
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: false,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

/// Run `f`; when Terraform calls StopProvider meanwhile, `f` gets [`crate::cancel::GRACE`] to
/// return its own (partial) result, else this stops with an error diagnostic.
async fn cancellable<T>(
    cx: &Ctx,
    diags: &mut Diagnostics,
    fallback: T,
    f: impl Future<Output = T>,
) -> T {
    match crate::cancel::run(&cx.cancel, f).await {
        crate::cancel::Outcome::Returned(v) => v,
        crate::cancel::Outcome::Abandoned => {
            diags.error("Operation cancelled", "Terraform asked the provider to stop (interrupt) while this operation was in progress. The remote object may be partly changed; run plan to see its state.");
            fallback
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions.

/// The identity of a state value on the wire, when the resource has an identity schema.
pub(crate) fn identity_data(
    res: &dyn DynResource,
    state: &Value,
    diags: &mut Diagnostics,
) -> Option<pb::ResourceIdentityData> {
    let (_, ty) = res.identity_schema()?;
    let v = res.identity_of(state)?;
    Some(pb::ResourceIdentityData {
        identity_data: Some(encode_dv(&v, ty, diags)?),
    })
}

/// The import id an identity from an `import { identity = ... }` block stands for.
fn import_id_of(
    res: &dyn DynResource,
    dv: &pb::DynamicValue,
    diags: &mut Diagnostics,
) -> Option<String> {
    let Some((_, ty)) = res.identity_schema() else {
        diags.error(
            "Import by identity is not supported",
            format!(
                "{} has no resource identity: import it by id.",
                res.type_name()
            ),
        );
        return None;
    };
    let v = decode_dv(Some(dv), ty, "identity", diags)?;
    let id = res.identity_import_id(&v);
    if id.is_none() {
        diags.error(
            "Incomplete identity",
            format!(
                "Every attribute of the {} identity must be set.",
                res.type_name()
            ),
        );
    }
    id
}

pub(crate) fn decode_dv(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(dv) = dv else {
        return Some(Value::Null);
    };
    let res = if !dv.msgpack.is_empty() {
        decode_msgpack(ty, &dv.msgpack)
    } else if !dv.json.is_empty() {
        decode_json(ty, &dv.json, DecodeJsonOpts::default())
    } else {
        return Some(Value::Null);
    };
    match res {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error(format!("Could not decode the {what}"), e.to_string());
            None
        }
    }
}

pub(crate) fn encode_dv(v: &Value, ty: &Type, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    match encode_msgpack(ty, v) {
        Ok(b) => Some(pb::DynamicValue {
            msgpack: b,
            json: vec![],
        }),
        Err(e) => {
            diags.error(
                "Provider could not encode a value",
                format!("{e}. This is a bug in the provider."),
            );
            None
        }
    }
}

pub fn path_to_proto(p: &AttrPath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attribute(a) => Selector::AttributeName(a.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

pub fn diags_to_proto(d: &Diagnostics) -> Vec<pb::Diagnostic> {
    d.0.iter().map(diag_to_proto).collect()
}

fn diag_to_proto(d: &Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error as i32,
            Severity::Warning => pb::diagnostic::Severity::Warning as i32,
        },
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        attribute: d.path.as_ref().filter(|p| !p.is_empty()).map(path_to_proto),
    }
}

pub fn schema_to_proto(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block_to_proto(&s.block, s.version)),
    }
}

fn block_to_proto(b: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: b.attributes.iter().map(attr_to_proto).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.type_name.clone(),
                block: Some(block_to_proto(&nb.block, 0)),
                nesting: match nb.nesting {
                    NestingMode::Single => pb::schema::nested_block::NestingMode::Single,
                    NestingMode::Group => pb::schema::nested_block::NestingMode::Group,
                    NestingMode::List => pb::schema::nested_block::NestingMode::List,
                    NestingMode::Set => pb::schema::nested_block::NestingMode::Set,
                    NestingMode::Map => pb::schema::nested_block::NestingMode::Map,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    }
}

fn attr_to_proto(a: &Attribute) -> pb::schema::Attribute {
    let (ty, nested) = match &a.ty {
        AttrType::Primitive(t) => (t.to_json_bytes(), None),
        AttrType::Nested {
            nesting,
            attributes,
        } => (
            vec![],
            Some(pb::schema::Object {
                attributes: attributes.iter().map(attr_to_proto).collect(),
                nesting: match nesting {
                    NestingMode::Single | NestingMode::Group => {
                        pb::schema::object::NestingMode::Single
                    }
                    NestingMode::List => pb::schema::object::NestingMode::List,
                    NestingMode::Set => pb::schema::object::NestingMode::Set,
                    NestingMode::Map => pb::schema::object::NestingMode::Map,
                } as i32,
                ..Default::default()
            }),
        ),
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type: nested,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecated,
        write_only: a.write_only,
    }
}

type Rsp<T> = Result<Response<T>, Status>;

fn sorted_keys<V>(m: &HashMap<String, V>) -> impl Iterator<Item = String> {
    let mut k: Vec<String> = m.keys().cloned().collect();
    k.sort();
    k.into_iter()
}

#[tonic::async_trait]
impl PbProvider for ProviderService {
    async fn get_metadata(
        &self,
        _r: Request<pb::get_metadata::Request>,
    ) -> Rsp<pb::get_metadata::Response> {
        let mut resources: Vec<_> = self.resources.keys().cloned().collect();
        resources.sort();
        let mut data_sources: Vec<_> = self.data_sources.keys().cloned().collect();
        data_sources.sort();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: resources
                .into_iter()
                .map(|type_name| pb::get_metadata::ResourceMetadata { type_name })
                .collect(),
            data_sources: data_sources
                .into_iter()
                .map(|type_name| pb::get_metadata::DataSourceMetadata { type_name })
                .collect(),
            ephemeral_resources: sorted_keys(&self.ephemeral)
                .map(|type_name| pb::get_metadata::EphemeralMetadata { type_name })
                .collect(),
            actions: self.actions.metadata(),
            list_resources: self.lists.metadata(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _r: Request<pb::get_provider_schema::Request>,
    ) -> Rsp<pb::get_provider_schema::Response> {
        Ok(Response::new(self.schema_response().clone()))
    }

    async fn get_resource_identity_schemas(
        &self,
        _r: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Rsp<pb::get_resource_identity_schemas::Response> {
        let identity_schemas = self
            .resources
            .iter()
            .filter_map(|(k, r)| Some((k.clone(), r.identity_schema()?.0.to_proto())))
            .collect();
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas,
            diagnostics: vec![],
        }))
    }

    async fn get_functions(
        &self,
        _r: Request<pb::get_functions::Request>,
    ) -> Rsp<pb::get_functions::Response> {
        Ok(Response::new(Default::default()))
    }

    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> Rsp<pb::validate_provider_config::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(None);
        if let Some(cfg) = decode_dv(
            r.config.as_ref(),
            self.provider.value_type(),
            "provider configuration",
            &mut diags,
        ) {
            self.provider.validate(&cx, &cfg, &mut diags).await;
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> Rsp<pb::configure_provider::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(r.client_capabilities.as_ref());
        tracing::info!(terraform_version = %r.terraform_version, "configuring provider");
        if let Some(cfg) = decode_dv(
            r.config.as_ref(),
            self.provider.value_type(),
            "provider configuration",
            &mut diags,
        ) {
            self.config_known.record(&cfg);
            self.provider
                .configure(&cx, &cfg, &r.terraform_version, &mut diags)
                .await;
        }
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        r: Request<pb::validate_resource_config::Request>,
    ) -> Rsp<pb::validate_resource_config::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(r.client_capabilities.as_ref());
        if let Some(res) = self.resource(&r.type_name, &mut diags) {
            if let Some(cfg) = decode_dv(
                r.config.as_ref(),
                res.value_type(),
                "configuration",
                &mut diags,
            ) {
                res.validate(&cx, &cfg, &mut diags).await;
            }
        }
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        r: Request<pb::validate_data_resource_config::Request>,
    ) -> Rsp<pb::validate_data_resource_config::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(None);
        if let Some(ds) = self.data_source(&r.type_name, &mut diags) {
            if let Some(cfg) = decode_dv(
                r.config.as_ref(),
                ds.value_type(),
                "configuration",
                &mut diags,
            ) {
                ds.validate(&cx, &cfg, &mut diags).await;
            }
        }
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        r: Request<pb::upgrade_resource_state::Request>,
    ) -> Rsp<pb::upgrade_resource_state::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let mut upgraded = None;
        if let Some(res) = self.resource(&r.type_name, &mut diags) {
            let raw = r.raw_state.unwrap_or_default();
            if raw.json.is_empty() {
                if raw.flatmap.is_empty() {
                    upgraded = encode_dv(&Value::Null, res.value_type(), &mut diags);
                } else {
                    diags.error(
                        "Unsupported state format",
                        "This state was written in the pre-0.12 flatmap format, which this provider never produced.",
                    );
                }
            } else if let Some(v) = res.upgrade(r.version, &raw.json, &mut diags) {
                upgraded = encode_dv(&v, res.value_type(), &mut diags);
            }
        }
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state: upgraded,
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn read_resource(
        &self,
        r: Request<pb::read_resource::Request>,
    ) -> Rsp<pb::read_resource::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(r.client_capabilities.as_ref());
        let mut out = pb::read_resource::Response {
            private: r.private.clone(),
            new_state: r.current_state.clone(),
            ..Default::default()
        };
        if let Some(res) = self.resource(&r.type_name, &mut diags) {
            let ty = res.value_type().clone();
            out.deferred = self.config_known.defer(r.client_capabilities.as_ref());
            if out.deferred.is_some() {
                // The current state stays as it is.
            } else if let Some(cur) =
                decode_dv(r.current_state.as_ref(), &ty, "current state", &mut diags)
            {
                let private = Private::from_bytes(&r.private);
                let fallback = (cur.clone(), private.clone());
                let mut d2 = Diagnostics::new();
                let (v, p) = cancellable(
                    &cx,
                    &mut diags,
                    fallback,
                    res.read(&cx, &cur, private, &mut d2),
                )
                .await;
                diags.extend(d2);
                out.new_identity = identity_data(res.as_ref(), &v, &mut diags);
                if let Some(dv) = encode_dv(&v, &ty, &mut diags) {
                    out.new_state = Some(dv);
                    out.private = p.to_bytes();
                }
            }
        }
        out.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(out))
    }

    async fn plan_resource_change(
        &self,
        r: Request<pb::plan_resource_change::Request>,
    ) -> Rsp<pb::plan_resource_change::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(r.client_capabilities.as_ref());
        let mut out = pb::plan_resource_change::Response::default();
        if let Some(res) = self.resource(&r.type_name, &mut diags) {
            let ty = res.value_type().clone();
            let prior = decode_dv(r.prior_state.as_ref(), &ty, "prior state", &mut diags);
            let proposed = decode_dv(
                r.proposed_new_state.as_ref(),
                &ty,
                "proposed new state",
                &mut diags,
            );
            let config = decode_dv(r.config.as_ref(), &ty, "configuration", &mut diags);
            let deferred = self.config_known.defer(r.client_capabilities.as_ref());
            if let (Some(d), Some(prior), Some(proposed), Some(config)) =
                (&deferred, &prior, &proposed, &config)
            {
                let planned = crate::deferral::deferred_plan(&*res, prior, config, proposed);
                out.planned_state = encode_dv(&planned, &ty, &mut diags);
                out.planned_private = r.prior_private.clone();
                out.deferred = Some(*d);
            } else if let (Some(prior), Some(proposed), Some(config)) = (prior, proposed, config) {
                let private = Private::from_bytes(&r.prior_private);
                let mut d2 = Diagnostics::new();
                let outcome = cancellable(
                    &cx,
                    &mut diags,
                    None,
                    res.plan(&cx, &prior, &config, &proposed, private, &mut d2),
                )
                .await;
                diags.extend(d2);
                if let Some(o) = outcome.filter(|_| !diags.has_errors()) {
                    out.planned_state = encode_dv(&o.planned, &ty, &mut diags);
                    out.requires_replace = o.requires_replace.iter().map(path_to_proto).collect();
                    out.planned_private = o.private.to_bytes();
                }
            }
        }
        out.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(out))
    }

    async fn apply_resource_change(
        &self,
        r: Request<pb::apply_resource_change::Request>,
    ) -> Rsp<pb::apply_resource_change::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(None);
        let mut out = pb::apply_resource_change::Response {
            new_state: r.prior_state.clone(),
            private: r.planned_private.clone(),
            ..Default::default()
        };
        if let Some(res) = self.resource(&r.type_name, &mut diags) {
            let ty = res.value_type().clone();
            let prior = decode_dv(r.prior_state.as_ref(), &ty, "prior state", &mut diags);
            let planned = decode_dv(r.planned_state.as_ref(), &ty, "planned state", &mut diags);
            let config = decode_dv(r.config.as_ref(), &ty, "configuration", &mut diags);
            if let (Some(prior), Some(planned), Some(config)) = (prior, planned, config) {
                let private = Private::from_bytes(&r.planned_private);
                let fallback = (prior.clone(), private.clone());
                let mut d2 = Diagnostics::new();
                let (v, p) = cancellable(
                    &cx,
                    &mut diags,
                    fallback,
                    res.apply(&cx, &prior, &planned, &config, private, &mut d2),
                )
                .await;
                diags.extend(d2);
                out.new_identity = identity_data(res.as_ref(), &v, &mut diags);
                if let Some(dv) = encode_dv(&v, &ty, &mut diags) {
                    out.new_state = Some(dv);
                    out.private = p.to_bytes();
                }
            }
        }
        out.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(out))
    }

    async fn import_resource_state(
        &self,
        r: Request<pb::import_resource_state::Request>,
    ) -> Rsp<pb::import_resource_state::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(r.client_capabilities.as_ref());
        let mut out = pb::import_resource_state::Response::default();
        if let Some(res) = self.resource(&r.type_name, &mut diags) {
            let ty = res.value_type().clone();
            let id = match r.identity.as_ref().and_then(|i| i.identity_data.as_ref()) {
                None => Some(r.id.clone()),
                Some(dv) => import_id_of(res.as_ref(), dv, &mut diags),
            };
            let mut d2 = Diagnostics::new();
            let v = match id {
                Some(id) => cancellable(&cx, &mut diags, None, res.import(&cx, &id, &mut d2)).await,
                None => None,
            };
            diags.extend(d2);
            if let Some(v) = v.filter(|_| !diags.has_errors()) {
                let identity = identity_data(res.as_ref(), &v, &mut diags);
                if let Some(dv) = encode_dv(&v, &ty, &mut diags) {
                    out.imported_resources
                        .push(pb::import_resource_state::ImportedResource {
                            type_name: r.type_name.clone(),
                            state: Some(dv),
                            identity,
                            ..Default::default()
                        });
                }
            }
        }
        out.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(out))
    }

    async fn read_data_source(
        &self,
        r: Request<pb::read_data_source::Request>,
    ) -> Rsp<pb::read_data_source::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::new();
        let cx = self.ctx(r.client_capabilities.as_ref());
        let mut out = pb::read_data_source::Response::default();
        if let Some(ds) = self.data_source(&r.type_name, &mut diags) {
            let ty = ds.value_type().clone();
            out.deferred = self.config_known.defer(r.client_capabilities.as_ref());
            if out.deferred.is_some() {
                out.state = encode_dv(&Value::unknown(), &ty, &mut diags);
            } else if let Some(cfg) = decode_dv(r.config.as_ref(), &ty, "configuration", &mut diags)
            {
                let mut d2 = Diagnostics::new();
                let v = cancellable(&cx, &mut diags, None, ds.read(&cx, &cfg, &mut d2)).await;
                diags.extend(d2);
                if let Some(v) = v.filter(|_| !diags.has_errors()) {
                    out.state = encode_dv(&v, &ty, &mut diags);
                }
            }
        }
        out.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(out))
    }

    // Ephemeral resources: the bodies are in crate::ephemeral::rpc.

    async fn validate_ephemeral_resource_config(
        &self,
        r: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Rsp<pb::validate_ephemeral_resource_config::Response> {
        let cx = self.ctx(None);
        let out = ephemeral::rpc::validate(&self.ephemeral, &cx, r.into_inner()).await;
        Ok(Response::new(out))
    }

    async fn open_ephemeral_resource(
        &self,
        r: Request<pb::open_ephemeral_resource::Request>,
    ) -> Rsp<pb::open_ephemeral_resource::Response> {
        let r = r.into_inner();
        let cx = self.ctx(r.client_capabilities.as_ref());
        let out = ephemeral::rpc::open(&self.ephemeral, &cx, r).await;
        Ok(Response::new(out))
    }

    async fn renew_ephemeral_resource(
        &self,
        r: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Rsp<pb::renew_ephemeral_resource::Response> {
        let cx = self.ctx(None);
        let out = ephemeral::rpc::renew(&self.ephemeral, &cx, r.into_inner()).await;
        Ok(Response::new(out))
    }

    async fn close_ephemeral_resource(
        &self,
        r: Request<pb::close_ephemeral_resource::Request>,
    ) -> Rsp<pb::close_ephemeral_resource::Response> {
        let cx = self.ctx(None);
        let out = ephemeral::rpc::close(&self.ephemeral, &cx, r.into_inner()).await;
        Ok(Response::new(out))
    }

    // Actions (Terraform >= 1.14): see crate::action.
    async fn validate_action_config(
        &self,
        r: Request<pb::validate_action_config::Request>,
    ) -> Rsp<pb::validate_action_config::Response> {
        let cx = self.ctx(None);
        Ok(Response::new(
            self.actions.validate(&cx, r.into_inner()).await,
        ))
    }

    async fn plan_action(
        &self,
        r: Request<pb::plan_action::Request>,
    ) -> Rsp<pb::plan_action::Response> {
        let r = r.into_inner();
        let cx = self.ctx(r.client_capabilities.as_ref());
        Ok(Response::new(self.actions.plan(&cx, r).await))
    }

    async fn invoke_action(
        &self,
        r: Request<pb::invoke_action::Request>,
    ) -> Rsp<crate::action::EventStream> {
        let r = r.into_inner();
        let cx = self.ctx(r.client_capabilities.as_ref());
        Ok(Response::new(self.actions.invoke(cx, r)))
    }

    // List resources (Terraform >= 1.14): see crate::list.
    async fn validate_list_resource_config(
        &self,
        r: Request<pb::validate_list_resource_config::Request>,
    ) -> Rsp<pb::validate_list_resource_config::Response> {
        let cx = self.ctx(None);
        Ok(Response::new(
            self.lists.validate(&cx, r.into_inner()).await,
        ))
    }

    async fn list_resource(
        &self,
        r: Request<pb::list_resource::Request>,
    ) -> Rsp<crate::list::EventStream> {
        let cx = self.ctx(None);
        Ok(Response::new(self.lists.list(cx, r.into_inner())))
    }

    async fn stop_provider(
        &self,
        _r: Request<pb::stop_provider::Request>,
    ) -> Rsp<pb::stop_provider::Response> {
        tracing::info!("StopProvider: cancelling operations in progress");
        if let Ok(t) = self.stop.lock() {
            t.cancel();
        }
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}
