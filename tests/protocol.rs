//! Protocol tests: the provider served in-process, a tonic client sending real tfplugin6
//! messages. Covers each implemented RPC, including diagnostics with attribute paths.

mod support;

use cicd::provider::CicdProvider;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::thing::{Store, Thing};
use tfplugin::handshake::InProcess;
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use tfplugin::resource;
use tfplugin::value::{decode_msgpack, encode_msgpack, Type, Value};
use tonic::transport::Channel;

struct Fixture {
    _srv: InProcess,
    client: ProviderClient<Channel>,
    store: Store,
    thing_ty: Type,
    provider_ty: Type,
}

async fn fixture() -> Fixture {
    let store = Store::default();
    let thing = resource::resource(Thing {
        store: store.clone(),
    });
    let thing_ty = thing.value_type().clone();
    let p = resource::provider(
        CicdProvider::new(cicd::resources::all, cicd::data_sources::all).with_resource(thing),
    );
    let provider_ty = p.value_type().clone();
    let srv = InProcess::start(p, cicd::PLUGIN).await.unwrap();
    let client = support::grpc::plain_client(srv.socket_path().to_path_buf()).await;
    Fixture {
        _srv: srv,
        client,
        store,
        thing_ty,
        provider_ty,
    }
}

fn dv(ty: &Type, v: &Value) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: encode_msgpack(ty, v).unwrap(),
        json: vec![],
    })
}

fn undv(ty: &Type, d: &Option<pb::DynamicValue>) -> Value {
    match d {
        None => Value::Null,
        Some(d) => decode_msgpack(ty, &d.msgpack).unwrap(),
    }
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

/// A thing object with every attribute present (null unless given).
fn thing(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> = [
        "id",
        "name",
        "note",
        "tags",
        "size",
        "revision",
        "secret",
        "secret_wo",
        "secret_wo_version",
        "delay_ms",
    ]
    .iter()
    .map(|k| (k.to_string(), Value::Null))
    .collect();
    for (k, v) in pairs {
        m.insert(k.to_string(), v.clone());
    }
    Value::Object(m)
}

fn path_names(p: &pb::AttributePath) -> Vec<String> {
    use pb::attribute_path::step::Selector;
    p.steps
        .iter()
        .map(|s| match s.selector.as_ref().unwrap() {
            Selector::AttributeName(a) => a.clone(),
            Selector::ElementKeyString(k) => format!("[{k}]"),
            Selector::ElementKeyInt(i) => format!("[{i}]"),
        })
        .collect()
}

fn errors(d: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    d.iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_and_metadata() {
    let mut f = fixture().await;
    let r = f
        .client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let p = r.provider.unwrap().block.unwrap();
    let mut blocks: Vec<_> = p.block_types.iter().map(|b| b.type_name.clone()).collect();
    blocks.sort();
    assert_eq!(blocks, ["forgejo", "kubernetes", "vault", "woodpecker"]);
    let wp = p
        .block_types
        .iter()
        .find(|b| b.type_name == "woodpecker")
        .unwrap();
    let token = wp
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == "token")
        .unwrap();
    assert!(token.sensitive && token.optional);
    assert_eq!(token.description_kind, pb::StringKind::Markdown as i32);
    let t = &r.resource_schemas["cicd_test_thing"];
    assert_eq!(t.version, 1);
    let wo = t
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == "secret_wo")
        .unwrap();
    assert!(wo.write_only);
    assert_eq!(wo.r#type, b"\"string\"");
    let tags = t
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == "tags")
        .unwrap();
    assert_eq!(tags.r#type, br#"["set","string"]"#);

    let m = f
        .client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(m.resources.iter().any(|r| r.type_name == "cicd_test_thing"));

    // Identity schemas (Terraform >= 1.12 asks): the types with a list resource have one.
    let ids = f
        .client
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    let mut with_identity: Vec<_> = ids.identity_schemas.keys().cloned().collect();
    with_identity.sort();
    assert_eq!(
        with_identity,
        [
            "cicd_image_deployment",
            "cicd_registry_credentials",
            "cicd_woodpecker_global_secret",
            "cicd_woodpecker_repo"
        ]
    );
    let deploy = &ids.identity_schemas["cicd_image_deployment"];
    let names: Vec<_> = deploy
        .identity_attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["namespace", "deployment", "container"]);
    assert!(deploy
        .identity_attributes
        .iter()
        .all(|a| a.required_for_import));
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_config_validation_and_configure() {
    let mut f = fixture().await;
    let wp = Value::Object(BTreeMap::from([
        ("server".to_string(), s("ftp://ci")),
        ("token".to_string(), Value::Null),
    ]));
    let cfg = Value::Object(BTreeMap::from([
        ("woodpecker".to_string(), wp),
        ("forgejo".to_string(), Value::Null),
        ("kubernetes".to_string(), Value::Null),
        ("vault".to_string(), Value::Null),
    ]));
    let r = f
        .client
        .validate_provider_config(pb::validate_provider_config::Request {
            config: dv(&f.provider_ty, &cfg),
        })
        .await
        .unwrap()
        .into_inner();
    let e = errors(&r.diagnostics);
    assert_eq!(e.len(), 1, "{:?}", r.diagnostics);
    assert_eq!(
        path_names(e[0].attribute.as_ref().unwrap()),
        ["woodpecker", "server"]
    );

    // Unknown values are accepted by Configure (they may be known only after apply).
    let mut m = BTreeMap::new();
    m.insert("server".to_string(), Value::unknown());
    m.insert("token".to_string(), s("t0ken-value"));
    let cfg = Value::Object(BTreeMap::from([
        ("woodpecker".to_string(), Value::Object(m)),
        ("forgejo".to_string(), Value::Null),
        ("kubernetes".to_string(), Value::Null),
        ("vault".to_string(), Value::Null),
    ]));
    let r = f
        .client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: dv(&f.provider_ty, &cfg),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
}

#[tokio::test(flavor = "multi_thread")]
async fn resource_validation_reports_paths() {
    let mut f = fixture().await;
    let cfg = thing(&[
        ("name", s("")),
        ("tags", Value::Set(vec![s("ok"), s("not ok")])),
        ("secret_wo", s("hush")),
    ]);
    let call = |caps: Option<pb::ClientCapabilities>| pb::validate_resource_config::Request {
        type_name: "cicd_test_thing".into(),
        config: dv(&f.thing_ty, &cfg),
        client_capabilities: caps,
    };
    let r = f
        .client
        .validate_resource_config(call(None))
        .await
        .unwrap()
        .into_inner();
    let mut paths: Vec<_> = errors(&r.diagnostics)
        .iter()
        .map(|d| path_names(d.attribute.as_ref().unwrap()).join("."))
        .collect();
    paths.sort();
    assert_eq!(paths, ["name", "secret_wo", "tags"], "{:?}", r.diagnostics);
    assert!(r
        .diagnostics
        .iter()
        .any(|d| d.detail.contains("Terraform >= 1.11")));

    // A client that handles write-only attributes gets no error for secret_wo.
    let caps = pb::ClientCapabilities {
        write_only_attributes_allowed: true,
        ..Default::default()
    };
    let r = f
        .client
        .validate_resource_config(call(Some(caps)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&r.diagnostics).len(), 2);

    let r = f
        .client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "cicd_nope".into(),
            config: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics[0].detail.contains("cicd_nope"));
}

async fn plan(
    f: &mut Fixture,
    prior: &Value,
    config: &Value,
    proposed: &Value,
    private: Vec<u8>,
) -> pb::plan_resource_change::Response {
    f.client
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "cicd_test_thing".into(),
            prior_state: dv(&f.thing_ty, prior),
            proposed_new_state: dv(&f.thing_ty, proposed),
            config: dv(&f.thing_ty, config),
            prior_private: private,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn apply(
    f: &mut Fixture,
    prior: &Value,
    planned: &Value,
    config: &Value,
    private: Vec<u8>,
) -> pb::apply_resource_change::Response {
    f.client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "cicd_test_thing".into(),
            prior_state: dv(&f.thing_ty, prior),
            planned_state: dv(&f.thing_ty, planned),
            config: dv(&f.thing_ty, config),
            planned_private: private,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_apply_read_update_replace_delete() {
    let mut f = fixture().await;
    let ty = f.thing_ty.clone();
    let cfg = thing(&[("name", s("alpha")), ("secret_wo", s("wo-secret-1"))]);

    // Create: computed attributes unknown, write-only planned null.
    let p = plan(&mut f, &Value::Null, &cfg, &cfg, vec![]).await;
    assert!(errors(&p.diagnostics).is_empty(), "{:?}", p.diagnostics);
    let planned = undv(&ty, &p.planned_state);
    assert!(planned.attr("id").unwrap().is_unknown());
    assert!(planned.attr("size").unwrap().is_unknown());
    assert!(planned.attr("secret_wo").unwrap().is_null());
    assert!(p.requires_replace.is_empty());

    let a = apply(
        &mut f,
        &Value::Null,
        &planned,
        &cfg,
        p.planned_private.clone(),
    )
    .await;
    assert!(errors(&a.diagnostics).is_empty(), "{:?}", a.diagnostics);
    let state = undv(&ty, &a.new_state);
    assert!(state.is_wholly_known());
    assert!(
        state.attr("secret_wo").unwrap().is_null(),
        "write-only never in state"
    );
    let id = state.attr("id").unwrap().as_str().unwrap().to_string();
    assert_eq!(
        f.store.get(&id).unwrap().secret_written.as_deref(),
        Some("wo-secret-1")
    );
    assert!(!a.private.is_empty(), "private data set by create");

    // Read returns the same object; private passes through.
    let r = f
        .client
        .read_resource(pb::read_resource::Request {
            type_name: "cicd_test_thing".into(),
            current_state: dv(&ty, &state),
            private: a.private.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(undv(&ty, &r.new_state), state);
    assert_eq!(r.private, a.private);

    // Unchanged configuration: the plan is the prior state, exactly.
    let mut proposed = state.clone();
    if let Value::Object(m) = &mut proposed {
        m.insert("secret_wo".into(), s("wo-secret-1"));
    }
    let p = plan(&mut f, &state, &cfg, &proposed, a.private.clone()).await;
    assert_eq!(undv(&ty, &p.planned_state), state);

    // Update in place.
    let cfg2 = thing(&[("name", s("alpha")), ("note", s("hello"))]);
    let mut proposed2 = state.clone();
    if let Value::Object(m) = &mut proposed2 {
        m.insert("note".into(), s("hello"));
    }
    let p = plan(&mut f, &state, &cfg2, &proposed2, a.private.clone()).await;
    let planned2 = undv(&ty, &p.planned_state);
    assert_eq!(
        planned2.attr("id"),
        state.attr("id"),
        "id kept (keep_prior)"
    );
    assert!(planned2.attr("revision").unwrap().is_unknown());
    assert!(p.requires_replace.is_empty());
    let a2 = apply(&mut f, &state, &planned2, &cfg2, p.planned_private.clone()).await;
    let state2 = undv(&ty, &a2.new_state);
    assert_eq!(state2.attr("note"), Some(&s("hello")));
    assert_eq!(f.store.get(&id).unwrap().revision, 2);

    // Drift: changed out of band, read shows it.
    f.store.edit(&id, |o| o.note = Some("edited".into()));
    let r = f
        .client
        .read_resource(pb::read_resource::Request {
            type_name: "cicd_test_thing".into(),
            current_state: dv(&ty, &state2),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(undv(&ty, &r.new_state).attr("note"), Some(&s("edited")));

    // Replacement: name forces it.
    let cfg3 = thing(&[("name", s("beta")), ("note", s("hello"))]);
    let mut proposed3 = state2.clone();
    if let Value::Object(m) = &mut proposed3 {
        m.insert("name".into(), s("beta"));
    }
    let p = plan(&mut f, &state2, &cfg3, &proposed3, vec![]).await;
    assert_eq!(p.requires_replace.len(), 1);
    assert_eq!(path_names(&p.requires_replace[0]), ["name"]);

    // Delete.
    let d = apply(&mut f, &state2, &Value::Null, &Value::Null, vec![]).await;
    assert!(errors(&d.diagnostics).is_empty());
    assert!(undv(&ty, &d.new_state).is_null());
    assert!(f.store.get(&id).is_none());

    // Read of a deleted object returns null (Terraform plans a create).
    let r = f
        .client
        .read_resource(pb::read_resource::Request {
            type_name: "cicd_test_thing".into(),
            current_state: dv(&ty, &state2),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(undv(&ty, &r.new_state).is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn import_and_upgrade() {
    let mut f = fixture().await;
    let ty = f.thing_ty.clone();
    let r = f
        .client
        .import_resource_state(pb::import_resource_state::Request {
            type_name: "cicd_test_thing".into(),
            id: "bogus".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.imported_resources.is_empty());
    assert!(r.diagnostics[0]
        .detail
        .contains("Expected thing-<n>, got: bogus"));

    let cfg = thing(&[("name", s("imp"))]);
    let p = plan(&mut f, &Value::Null, &cfg, &cfg, vec![]).await;
    let a = apply(
        &mut f,
        &Value::Null,
        &undv(&ty, &p.planned_state),
        &cfg,
        vec![],
    )
    .await;
    let st = undv(&ty, &a.new_state);
    let id = st.attr("id").unwrap().as_str().unwrap().to_string();
    let r = f
        .client
        .import_resource_state(pb::import_resource_state::Request {
            type_name: "cicd_test_thing".into(),
            id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.imported_resources.len(), 1);
    let imported = undv(&ty, &r.imported_resources[0].state);
    assert_eq!(imported.attr("name"), Some(&s("imp")));

    // Version 0 state: `capacity` became `size`; unknown attributes are dropped.
    let raw = serde_json::json!({"id": id, "name": "imp", "capacity": 7, "gone_attr": true});
    let r = f
        .client
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "cicd_test_thing".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: serde_json::to_vec(&raw).unwrap(),
                flatmap: Default::default(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
    let up = undv(&ty, &r.upgraded_state);
    assert_eq!(
        up.attr("size").unwrap().as_number().unwrap().as_i64(),
        Some(7)
    );

    let r = f
        .client
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "cicd_test_thing".into(),
            version: 1,
            raw_state: Some(pb::RawState {
                json: vec![],
                flatmap: [("id".to_string(), "x".to_string())].into(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics)[0].detail.contains("flatmap"));
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_provider_cancels_in_flight_apply() {
    let mut f = fixture().await;
    let ty = f.thing_ty.clone();
    let cfg = thing(&[
        ("name", s("slow")),
        ("delay_ms", Value::Number(60_000i64.into())),
    ]);
    let p = plan(&mut f, &Value::Null, &cfg, &cfg, vec![]).await;
    let planned = undv(&ty, &p.planned_state);
    let mut c2 = f.client.clone();
    let t0 = Instant::now();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c2.stop_provider(pb::stop_provider::Request {})
            .await
            .unwrap();
    });
    let a = apply(&mut f, &Value::Null, &planned, &cfg, vec![]).await;
    stopper.await.unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "apply was not cancelled"
    );
    let e = errors(&a.diagnostics);
    assert_eq!(e[0].summary, "Operation cancelled");
    assert!(
        undv(&ty, &a.new_state).is_null(),
        "nothing created, nothing in state"
    );
    assert_eq!(f.store.len(), 0);
}

/// Finding 11: StopProvider while an update waits (after it wrote). The operation watches the
/// same token and returns what it wrote; that state must reach Terraform every time, not the
/// prior state half of the time (an unbiased race between the operation and the token).
#[tokio::test(flavor = "multi_thread")]
async fn stop_provider_keeps_the_state_the_operation_returned() {
    for round in 0..10 {
        let mut f = fixture().await;
        let ty = f.thing_ty.clone();
        let cfg = thing(&[("name", s("before"))]);
        let p = plan(&mut f, &Value::Null, &cfg, &cfg, vec![]).await;
        let planned = undv(&ty, &p.planned_state);
        let a = apply(&mut f, &Value::Null, &planned, &cfg, vec![]).await;
        let state = undv(&ty, &a.new_state);
        let id = state.attr("id").unwrap().as_str().unwrap().to_string();

        let cfg2 = thing(&[
            ("name", s("after")),
            ("delay_ms", Value::Number(60_000i64.into())),
        ]);
        let mut proposed = state.clone();
        if let Value::Object(m) = &mut proposed {
            m.insert("name".into(), s("after"));
            m.insert("delay_ms".into(), Value::Number(60_000i64.into()));
        }
        let p = plan(&mut f, &state, &cfg2, &proposed, a.private.clone()).await;
        assert!(errors(&p.diagnostics).is_empty(), "{:?}", p.diagnostics);
        let planned = undv(&ty, &p.planned_state);
        let mut c2 = f.client.clone();
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            c2.stop_provider(pb::stop_provider::Request {})
                .await
                .unwrap();
        });
        let t0 = Instant::now();
        let a = apply(&mut f, &state, &planned, &cfg2, a.private.clone()).await;
        stopper.await.unwrap();
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "round {round}: not stopped"
        );
        let e = errors(&a.diagnostics);
        assert_eq!(e.len(), 1, "round {round}: {e:?}");
        assert_eq!(e[0].summary, "Wait cancelled", "round {round}");
        let after = undv(&ty, &a.new_state);
        assert_eq!(
            after.attr("name"),
            Some(&s("after")),
            "round {round}: the state must say what was written"
        );
        assert_eq!(f.store.get(&id).unwrap().name, "after");
    }
}

/// Finding 20: a provider configuration with unknown values defers plans and reads (reason
/// PROVIDER_CONFIG_UNKNOWN) for a client that can defer; other clients get the plan as before.
/// Real CLIs send `deferral_allowed` only with deferred actions enabled (an experiment in
/// Terraform 1.9+ builds that allow experiments), so this is tested at the protocol level.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_provider_configuration_defers_for_clients_that_can_defer() {
    let mut f = fixture().await;
    let ty = f.thing_ty.clone();
    let wp = Value::Object(BTreeMap::from([
        ("server".to_string(), Value::unknown()),
        ("token".to_string(), s("t0ken-value")),
    ]));
    let cfg = Value::Object(BTreeMap::from([
        ("woodpecker".to_string(), wp),
        ("forgejo".to_string(), Value::Null),
        ("kubernetes".to_string(), Value::Null),
        ("vault".to_string(), Value::Null),
    ]));
    let r = f
        .client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.9.0".into(),
            config: dv(&f.provider_ty, &cfg),
            client_capabilities: Some(pb::ClientCapabilities {
                deferral_allowed: true,
                write_only_attributes_allowed: false,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
    let can_defer = Some(pb::ClientCapabilities {
        deferral_allowed: true,
        write_only_attributes_allowed: false,
    });
    let want = Some(pb::Deferred {
        reason: pb::deferred::Reason::ProviderConfigUnknown as i32,
    });

    let thing_cfg = thing(&[("name", s("later"))]);
    let plan_req = |caps: Option<pb::ClientCapabilities>| pb::plan_resource_change::Request {
        type_name: "cicd_test_thing".into(),
        prior_state: dv(&ty, &Value::Null),
        proposed_new_state: dv(&ty, &thing_cfg),
        config: dv(&ty, &thing_cfg),
        client_capabilities: caps,
        ..Default::default()
    };
    let p = f
        .client
        .plan_resource_change(plan_req(can_defer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.deferred, want);
    assert!(errors(&p.diagnostics).is_empty(), "{:?}", p.diagnostics);
    let planned = undv(&ty, &p.planned_state);
    assert_eq!(planned.attr("name"), Some(&s("later")));
    assert!(planned.attr("id").unwrap().is_unknown());
    // A client that cannot defer: planned as before.
    let p = f
        .client
        .plan_resource_change(plan_req(None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.deferred, None);

    // ReadResource: the current state, unchanged and deferred (the object is not read).
    let current = thing(&[("id", s("thing-404")), ("name", s("x"))]);
    let r = f
        .client
        .read_resource(pb::read_resource::Request {
            type_name: "cicd_test_thing".into(),
            current_state: dv(&ty, &current),
            client_capabilities: can_defer,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.deferred, want);
    assert_eq!(
        undv(&ty, &r.new_state),
        current,
        "not read, so not gone either"
    );

    // ReadDataSource: unknown, deferred, and Woodpecker is not asked.
    let ds = "cicd_woodpecker_repo";
    let schema = f
        .client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.data_source_schemas.contains_key(ds));
    let ds_ty = cicd::data_sources::all(&Default::default())
        .into_iter()
        .find(|d| d.type_name() == ds)
        .unwrap()
        .value_type()
        .clone();
    let mut attrs = BTreeMap::new();
    if let Type::Object(o) = &ds_ty {
        for name in o.attrs.keys() {
            attrs.insert(name.clone(), Value::Null);
        }
    }
    attrs.insert("full_name".into(), s("org/repo"));
    let r = f
        .client
        .read_data_source(pb::read_data_source::Request {
            type_name: ds.into(),
            config: dv(&ds_ty, &Value::Object(attrs)),
            client_capabilities: can_defer,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.deferred, want);
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
    assert!(undv(&ds_ty, &r.state).is_unknown());
}
