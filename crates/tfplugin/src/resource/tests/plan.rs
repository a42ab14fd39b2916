//! The default plan and the write-only rules.

use super::*;
use crate::diagnostics::Diagnostics;
use crate::resource::validation::check_write_only_allowed;
use crate::resource::Ctx;

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
    check_write_only_allowed(&b, &cfg, &Ctx::default(), &mut d);
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

#[test]
fn write_only_inside_nested_blocks_is_nulled_and_refused() {
    let inner = Block::new("")
        .attr(Attribute::string("user").optional())
        .attr(Attribute::string("token_wo").optional().write_only());
    let b = Block::new("t")
        .block(NestedBlock::new("one", NestingMode::Single, inner.clone()))
        .block(NestedBlock::new("many", NestingMode::List, inner));
    let entry = || obj(&[("user", s("u")), ("token_wo", s("hush"))]);
    let cfg = obj(&[("one", entry()), ("many", Value::list([entry(), entry()]))]);
    let mut v = cfg.clone();
    null_write_only(&b, &mut v);
    assert!(v.attr("one").unwrap().attr("token_wo").unwrap().is_null());
    for e in v.attr("many").unwrap().as_elements().unwrap() {
        assert!(e.attr("token_wo").unwrap().is_null());
        assert_eq!(e.attr("user"), Some(&s("u")));
    }
    let mut d = Diagnostics::new();
    check_write_only_allowed(&b, &cfg, &Ctx::default(), &mut d);
    let paths: Vec<String> =
        d.0.iter()
            .map(|x| x.path.clone().unwrap().to_string())
            .collect();
    assert_eq!(paths, ["one.token_wo", "many.token_wo", "many.token_wo"]);
    let mut d = Diagnostics::new();
    let new_cli = Ctx {
        write_only_allowed: true,
        ..Ctx::default()
    };
    check_write_only_allowed(&b, &cfg, &new_cli, &mut d);
    assert!(d.is_empty());
}

#[test]
fn replacement_inside_a_single_block_is_found() {
    let b = Block::new("t").block(NestedBlock::new(
        "spec",
        NestingMode::Single,
        Block::new("")
            .attr(Attribute::string("image").required().force_new())
            .attr(Attribute::string("note").optional()),
    ));
    let prior = obj(&[("spec", obj(&[("image", s("a")), ("note", s("x"))]))]);
    let cfg = obj(&[("spec", obj(&[("image", s("b")), ("note", s("y"))]))]);
    let (_, rr) = plan_default(&b, &prior, &cfg, &cfg);
    assert_eq!(rr, vec![AttrPath::root("spec").attr("image")]);
}

#[test]
fn partly_known_configuration_is_planned_as_configured() {
    let reg = vec![
        Attribute::string("username").required(),
        Attribute::new("vault", crate::value::Type::map(crate::value::Type::String)).optional(),
    ];
    let b = Block {
        attributes: vec![
            Attribute::new("tags", crate::value::Type::set(crate::value::Type::String)).optional(),
            Attribute::new(
                "labels",
                crate::value::Type::map(crate::value::Type::String),
            )
            .optional(),
            Attribute::nested("registries", NestingMode::Map, reg).optional(),
            Attribute::string("id").computed(),
        ],
        ..Block::new("")
    };
    let tags = Value::set([s("a"), Value::unknown()]);
    let vault = Value::map([("mount", Value::unknown()), ("path", s("p"))]);
    let config = obj(&[
        ("tags", tags.clone()),
        ("labels", Value::unknown()),
        (
            "registries",
            Value::map([("h", obj(&[("username", s("u")), ("vault", vault.clone())]))]),
        ),
        ("id", Value::Null),
    ]);
    // What a typed resource plans: each partly unknown attribute wholly unknown.
    let mut planned = obj(&[
        ("tags", Value::unknown()),
        ("labels", Value::unknown()),
        (
            "registries",
            Value::map([(
                "h",
                obj(&[("username", s("u")), ("vault", Value::unknown())]),
            )]),
        ),
        ("id", Value::unknown()),
    ]);
    keep_partly_known_config(&b, &config, &mut planned);
    assert_eq!(planned.attr("tags"), Some(&tags));
    assert!(
        planned.attr("labels").unwrap().is_unknown(),
        "wholly unknown stays"
    );
    assert_eq!(
        planned
            .attr("registries")
            .unwrap()
            .get("h")
            .unwrap()
            .attr("vault"),
        Some(&vault)
    );
    assert!(planned.attr("id").unwrap().is_unknown());
}

#[test]
fn an_unknown_object_with_write_only_attributes_plans_them_null() {
    let reg = vec![
        Attribute::string("username").required(),
        Attribute::string("password_wo").optional().write_only(),
    ];
    let b = Block {
        attributes: vec![Attribute::nested("registries", NestingMode::Map, reg).optional()],
        ..Block::new("")
    };
    let mut planned = obj(&[(
        "registries",
        Value::map([("h", Value::unknown()), ("k", obj(&[("username", s("u"))]))]),
    )]);
    fill_unknown_write_only(&b, &mut planned);
    let h = planned.attr("registries").unwrap().get("h").unwrap();
    assert!(h.attr("username").unwrap().is_unknown());
    assert!(h.attr("password_wo").unwrap().is_null());
    // A wholly unknown map has no objects to fill in.
    let mut planned = obj(&[("registries", Value::unknown())]);
    fill_unknown_write_only(&b, &mut planned);
    assert!(planned.attr("registries").unwrap().is_unknown());
}
