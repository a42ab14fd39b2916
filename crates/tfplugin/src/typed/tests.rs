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
