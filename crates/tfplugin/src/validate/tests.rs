//! Each validator against values, table-driven.

use super::*;

/// Expected errors: (path, detail).
type Want = Vec<(&'static str, &'static str)>;

fn s(x: &str) -> Value {
    Value::string(x)
}

/// The error details `v` at `tag` gets, with their paths.
fn errors(check: &Validator, v: &Value) -> Vec<(String, String)> {
    let mut d = Diagnostics::new();
    check.check(v, &AttrPath::root("tag"), &mut d);
    d.0.into_iter()
        .map(|x| (x.path.unwrap().to_string(), x.detail))
        .collect()
}

#[test]
fn attribute_validators() {
    let unknown_elem = || Value::list([Value::unknown(), s("b")]);
    let cases: Vec<(Validator, Value, Want)> = vec![
        (one_of(&["a", "b"]), s("a"), vec![]),
        (
            one_of(&["a", "b"]),
            s("c"),
            vec![(
                "tag",
                r#"Attribute tag must be one of: "a", "b", got: "c"."#,
            )],
        ),
        (one_of(&["a"]), Value::Null, vec![]),
        (one_of(&["a"]), Value::unknown(), vec![]),
        (one_of(&["a"]), Value::int(1), vec![]), // not a string: not its business
        (one_of(&["b"]), unknown_elem(), vec![]),
        (
            one_of(&["a"]),
            Value::list([s("a"), s("x"), Value::Null]),
            vec![(
                "tag[1]",
                r#"Attribute tag[1] must be one of: "a", got: "x"."#,
            )],
        ),
        (
            one_of(&["a"]),
            Value::map([("k", s("x")), ("ok", s("a"))]),
            vec![(
                r#"tag["k"]"#,
                r#"Attribute tag["k"] must be one of: "a", got: "x"."#,
            )],
        ),
        (
            one_of(&["a"]),
            Value::set([s("x")]),
            vec![("tag", r#"Attribute tag must be one of: "a", got: "x"."#)],
        ),
        (regex("^[a-z]+$", "lower-case letters"), s("abc"), vec![]),
        (
            regex("^[a-z]+$", "lower-case letters"),
            s("aBc"),
            vec![(
                "tag",
                r#"Attribute tag must be lower-case letters, got: "aBc"."#,
            )],
        ),
        (regex("^[a-z]+$", "x"), Value::unknown_not_null(), vec![]),
        (at_least(1), Value::int(1), vec![]),
        (
            at_least(1),
            Value::int(0),
            vec![("tag", "Attribute tag must be at least 1, got: 0.")],
        ),
        (
            at_least(Number::parse("0.5").unwrap()),
            Value::list([Value::int(2), Value::number(Number::parse("0.25").unwrap())]),
            vec![(
                "tag[1]",
                "Attribute tag[1] must be at least 0.5, got: 0.25.",
            )],
        ),
        (at_least(1), s("0"), vec![]),
        (not_empty(), s("x"), vec![]),
        (
            not_empty(),
            s(""),
            vec![("tag", r#"Attribute tag must not be empty, got: ""."#)],
        ),
        (
            not_empty(),
            Value::set([]),
            vec![("tag", "Attribute tag must not be empty, got: an empty set.")],
        ),
        (
            not_empty(),
            Value::Map(Default::default()),
            vec![("tag", "Attribute tag must not be empty, got: an empty map.")],
        ),
        (not_empty(), Value::list([Value::unknown()]), vec![]),
        (not_empty(), Value::Null, vec![]),
    ];
    for (check, v, want) in cases {
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect();
        assert_eq!(errors(&check, &v), want, "{} on {v:?}", check.description());
    }
}

#[test]
fn combination_validators() {
    let obj = |a: Value, b: Value| {
        Value::object([
            ("a", a),
            ("auth", Value::object([("b", b)])),
            ("other", s("x")),
        ])
    };
    let both = r#"Exactly one of "a", "auth.b" must be set, but "a" and "auth.b" both are."#;
    let none = r#"Exactly one of "a", "auth.b" must be set; none is."#;
    let conflict = r#"Only one of "a", "auth.b" may be set, but "a" and "auth.b" both are."#;
    let cases: Vec<(ConfigValidator, Value, Want)> = vec![
        (
            exactly_one_of(&["a", "auth.b"]),
            obj(s("x"), Value::Null),
            vec![],
        ),
        (
            exactly_one_of(&["a", "auth.b"]),
            obj(Value::Null, s("y")),
            vec![],
        ),
        (
            exactly_one_of(&["a", "auth.b"]),
            obj(s("x"), s("y")),
            vec![("top.auth.b", both)],
        ),
        (
            exactly_one_of(&["a", "auth.b"]),
            obj(Value::Null, Value::Null),
            vec![("top.a", none)],
        ),
        (
            exactly_one_of(&["a", "auth.b"]),
            obj(Value::Null, Value::unknown()),
            vec![],
        ),
        (
            exactly_one_of(&["a", "auth.b"]),
            Value::object([("a", Value::Null), ("auth", Value::Null)]),
            vec![("top.a", none)],
        ),
        (exactly_one_of(&["a", "auth.b"]), Value::Null, vec![]),
        (
            conflicts_with(&["a", "auth.b"]),
            obj(Value::Null, Value::Null),
            vec![],
        ),
        (
            conflicts_with(&["a", "auth.b"]),
            obj(s("x"), Value::Null),
            vec![],
        ),
        (
            conflicts_with(&["a", "auth.b"]),
            obj(s("x"), s("y")),
            vec![("top.auth.b", conflict)],
        ),
        (
            conflicts_with(&["a", "auth.b"]),
            obj(Value::unknown(), s("y")),
            vec![],
        ),
    ];
    for (check, v, want) in cases {
        let mut d = Diagnostics::new();
        check.check(&v, &AttrPath::root("top"), &mut d);
        let got: Vec<(String, String)> =
            d.0.into_iter()
                .map(|x| (x.path.unwrap().to_string(), x.detail))
                .collect();
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect();
        assert_eq!(got, want, "{} on {v:?}", check.description());
    }
}

#[test]
fn descriptions() {
    let cases = [
        (
            one_of(&["fast", "safe"]).description(),
            "Must be one of: `fast`, `safe`.",
        ),
        (
            regex("^x$", "a lower-case DNS label").description(),
            "Must be a lower-case DNS label.",
        ),
        (at_least(3).description(), "Must be at least 3."),
        (not_empty().description(), "Must not be empty."),
        (
            exactly_one_of(&["token", "token_wo"]).description(),
            "Exactly one of `token`, `token_wo` must be set.",
        ),
        (
            conflicts_with(&["a", "b"]).description(),
            "Only one of `a`, `b` may be set.",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
#[should_panic(expected = "invalid validator pattern")]
fn an_invalid_pattern_is_a_programming_error() {
    regex("(", "anything");
}
