//! The bridge both ways, and the Option-like API of Val.

use super::*;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Reg {
    username: Val<String>,
    password: Val<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct State {
    id: Val<String>,
    count: Val<i64>,
    tags: Val<Vec<String>>,
    regs: Val<BTreeMap<String, Reg>>,
    #[serde(default)]
    flag: Val<bool>,
}

fn ty() -> Type {
    let reg = Type::object([("username", Type::String), ("password", Type::String)]);
    Type::object([
        ("id", Type::String),
        ("count", Type::Number),
        ("tags", Type::set(Type::String)),
        ("regs", Type::map(reg)),
        ("flag", Type::Bool),
    ])
}

#[test]
fn round_trip_with_unknown_and_null() {
    let mut regs = BTreeMap::new();
    regs.insert(
        "r.example".to_string(),
        Reg {
            username: Val::Known("u".into()),
            password: Val::Unknown,
        },
    );
    let s = State {
        id: Val::Unknown,
        count: Val::Known(3),
        tags: Val::Known(vec!["a".into(), "b".into()]),
        regs: Val::Known(regs),
        flag: Val::Null,
    };
    let v = to_value(&s, &ty()).unwrap();
    assert!(v.attr("id").unwrap().is_unknown());
    assert!(v.attr("flag").unwrap().is_null());
    assert!(matches!(v.attr("tags"), Some(Value::Set(_))));
    let back: State = from_value(&v).unwrap();
    assert_eq!(back, s);
}

#[test]
fn val_is_option_like() {
    let (null, unknown) = (Val::<String>::Null, Val::<String>::Unknown);
    let known = || Val::Known("x".to_string());
    // (value, known_or, known_or_default, is_known_and(non-empty))
    let cases = [
        (null.clone(), "d", "", false),
        (unknown.clone(), "d", "", false),
        (known(), "x", "x", true),
        (Val::Known(String::new()), "", "", false),
    ];
    for (v, or, or_default, non_empty) in cases {
        assert_eq!(v.clone().known_or("d".into()), or, "{v:?}");
        assert_eq!(v.clone().known_or_else(|| "d".into()), or, "{v:?}");
        assert_eq!(v.clone().known_or_default(), or_default, "{v:?}");
        assert_eq!(v.is_known_and(|s| !s.is_empty()), non_empty, "{v:?}");
        assert_eq!(v.as_deref().known_or("d"), or, "{v:?}");
        assert_eq!(v.as_ref().cloned(), v, "{v:?}");
    }
    assert_eq!(Val::Known(3).as_ref().copied(), Val::Known(3));
    let parse = |s: String| match s.parse::<i64>() {
        Ok(n) => Val::Known(n),
        Err(_) => Val::Null,
    };
    assert_eq!(known().and_then(parse), Val::Null);
    assert_eq!(Val::Known("7".to_string()).and_then(parse), Val::Known(7));
    assert_eq!(unknown.clone().and_then(parse), Val::Unknown);
    assert_eq!(null.clone().and_then(parse), Val::Null);
    assert_eq!(null.clone().or(known()), known());
    assert_eq!(unknown.clone().or(null.clone()), Val::Null);
    assert_eq!(known().or(unknown.clone()), known());
    let mut v = known();
    if let Some(s) = v.known_mut() {
        s.push('y');
    }
    if let Val::Known(s) = v.as_mut() {
        s.push('z');
    }
    assert_eq!(v, Val::Known("xyz".to_string()));
    assert_eq!(Val::from(5), Val::Known(5));
    assert_eq!(Val::from(Some(5)), Val::Known(5));
    assert_eq!(Val::<i64>::from(None), Val::Null);
    assert_eq!(
        Val::Known(vec![1, 2]).as_deref().known().map(|s| s.len()),
        Some(2)
    );
}

#[test]
fn type_mismatch_names_the_path() {
    #[derive(Serialize)]
    struct Bad {
        id: i64,
    }
    let t = Type::object([("id", Type::String)]);
    let e = to_value(&Bad { id: 1 }, &t).unwrap_err().to_string();
    assert!(e.contains(".id"), "{e}");
}

#[test]
fn maps_of_values_that_may_be_unknown() {
    let m: Val<BTreeMap<String, Val<i64>>> = Val::Known(BTreeMap::from([
        ("a".to_string(), Val::Known(1)),
        ("b".to_string(), Val::Unknown),
        ("c".to_string(), Val::Null),
    ]));
    assert_eq!(m.known_values(), BTreeMap::from([("a".to_string(), 1)]));
    assert!(Val::<BTreeMap<String, Val<i64>>>::Unknown
        .known_values()
        .is_empty());
    let all = Val::all_known(BTreeMap::from([("a".to_string(), 1)]));
    assert_eq!(all.known_values(), BTreeMap::from([("a".to_string(), 1)]));
    assert_eq!(
        all,
        Val::Known(BTreeMap::from([("a".to_string(), Val::Known(1))]))
    );
}

/// A configuration with every kind of container, to decode partly unknown values into.
#[derive(Deserialize, Debug, PartialEq, Default)]
struct Config {
    #[serde(default)]
    name: Val<String>,
    #[serde(default)]
    keep_last: Val<i64>,
    #[serde(default)]
    namespaces: Val<Vec<String>>,
    #[serde(default)]
    labels: Val<BTreeMap<String, String>>,
    #[serde(default)]
    partial: Val<BTreeMap<String, Val<String>>>,
    #[serde(default)]
    regs: Val<BTreeMap<String, Reg>>,
    #[serde(default)]
    blocks: Val<Vec<Reg>>,
    #[serde(default)]
    maybe: Val<Option<String>>,
}

fn decode(attrs: Vec<(&str, Value)>) -> Result<Config, TypedError> {
    from_value(&Value::object(attrs))
}

fn reg(username: Value, password: Value) -> Value {
    Value::object([("username", username), ("password", password)])
}

#[test]
fn an_unknown_anywhere_inside_makes_the_attribute_unknown() {
    let s = |x: &str| Value::string(x);
    let u = Value::unknown;
    let cases: Vec<(&str, Value)> = vec![
        ("namespaces", Value::set([s("a"), u()])),
        ("namespaces", Value::list([u()])),
        ("labels", Value::map([("v", u())])),
        ("regs", Value::map([("h", u())])),
        ("regs", Value::map([("h", Value::unknown_not_null())])),
        ("blocks", Value::list([u(), reg(s("a"), s("b"))])),
        ("maybe", u()),
        ("keep_last", u()),
    ];
    for (name, v) in cases {
        let c = decode(vec![(name, v.clone())]).unwrap_or_else(|e| panic!("{name}={v:?}: {e}"));
        let unknown = match name {
            "namespaces" => c.namespaces.is_unknown(),
            "labels" => c.labels.is_unknown(),
            "regs" => c.regs.is_unknown(),
            "blocks" => c.blocks.is_unknown(),
            "maybe" => c.maybe.is_unknown(),
            _ => c.keep_last.is_unknown(),
        };
        assert!(unknown, "{name}={v:?} decoded as {c:?}");
    }
}

#[test]
fn types_that_hold_unknowns_stay_partly_known() {
    let c = decode(vec![
        (
            "partial",
            Value::map([("a", Value::string("x")), ("b", Value::unknown())]),
        ),
        (
            "regs",
            Value::map([("h", reg(Value::string("u"), Value::unknown()))]),
        ),
    ])
    .unwrap();
    assert_eq!(
        c.partial,
        Val::Known(BTreeMap::from([
            ("a".to_string(), Val::Known("x".to_string())),
            ("b".to_string(), Val::Unknown),
        ]))
    );
    let regs = c.regs.known().expect("known map");
    assert_eq!(regs["h"].username, Val::Known("u".to_string()));
    assert_eq!(regs["h"].password, Val::Unknown);
}

#[test]
fn an_unknown_never_becomes_a_default_struct() {
    // The old JSON bridge ignored the marker object and gave Reg::default() (all null).
    let c = decode(vec![("regs", Value::map([("h", Value::unknown())]))]).unwrap();
    assert_eq!(c.regs, Val::Unknown);
}

#[test]
fn an_unknown_where_no_val_can_hold_it_is_an_error_with_its_path() {
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Strict {
        name: String,
    }
    let e = from_value::<Strict>(&Value::object([("name", Value::unknown())])).unwrap_err();
    let TypedError::Decode { path, msg } = e else {
        panic!("{e:?}")
    };
    assert_eq!(path.to_string(), "name");
    assert!(msg.contains("not known until apply"), "{msg}");
}

#[test]
fn decode_errors_carry_the_attribute_path() {
    let s = |x: &str| Value::string(x);
    let n = |x: &str| Value::number(x.parse::<Number>().unwrap());
    type Attrs<'a> = Vec<(&'a str, Value)>;
    let cases: Vec<(Attrs, &str, &str)> = vec![
        (
            vec![("keep_last", n("2.5"))],
            "keep_last",
            "whole number, got 2.5",
        ),
        (vec![("keep_last", n("1e30"))], "keep_last", "too large"),
        (
            vec![("name", Value::bool(true))],
            "name",
            "expected a string",
        ),
        (
            vec![("namespaces", Value::list([s("a"), Value::int(1)]))],
            "namespaces[1]",
            "expected a string",
        ),
        (
            vec![("labels", Value::map([("k", Value::int(3))]))],
            "labels[\"k\"]",
            "expected a string",
        ),
        (
            vec![("regs", Value::map([("h", reg(Value::int(1), s("p")))]))],
            "regs[\"h\"].username",
            "expected a string",
        ),
        (
            vec![(
                "blocks",
                Value::list([reg(s("u"), s("p")), reg(s("u"), n("0.5"))]),
            )],
            "blocks[1].password",
            "expected a string",
        ),
        // Set elements cannot be addressed: the path stops at the set.
        (
            vec![("namespaces", Value::set([Value::bool(false)]))],
            "namespaces",
            "expected a string",
        ),
    ];
    for (attrs, want_path, want_msg) in cases {
        let e = decode(attrs).unwrap_err();
        let TypedError::Decode { path, msg } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(path.to_string(), want_path, "{e}");
        assert!(msg.contains(want_msg), "{e}");
        assert!(e.to_string().starts_with(want_path), "{e}");
    }
}

#[test]
fn json_deserializers_still_read_vals() {
    // Private state and tests read `Val`s from JSON, where the marker object is unknown.
    let j = serde_json::json!({"id": null, "count": 3, "tags": ["a"], "regs": {}});
    let s: State = serde_json::from_value(j).unwrap();
    assert_eq!((s.id, s.count), (Val::Null, Val::Known(3)));
    let back: Val<i64> =
        serde_json::from_value(serde_json::to_value(Val::<i64>::Unknown).unwrap()).unwrap();
    assert_eq!(back, Val::Unknown);
}
