//! Validators found wherever they sit in the schema, with the path of what they check.

use super::*;
use crate::diagnostics::{AttrPath, Diagnostics};
use crate::schema::NestingMode;
use crate::validate::{at_least, conflicts_with, exactly_one_of, one_of};

fn schema() -> Block {
    let login = Block::new("")
        .attr(
            Attribute::string("user")
                .optional()
                .validate(one_of(&["admin", "ci"])),
        )
        .attr(Attribute::string("token").optional())
        .attr(Attribute::string("token_wo").optional().write_only())
        .validate(exactly_one_of(&["token", "token_wo"]));
    Block::new("")
        .attr(
            Attribute::string("mode")
                .optional()
                .validate(one_of(&["fast", "safe"])),
        )
        .attr(
            Attribute::number("replicas")
                .optional()
                .validate(at_least(1)),
        )
        .attr(Attribute::string("a").optional())
        .attr(Attribute::string("b").optional())
        .attr(Attribute::nested(
            "hosts",
            NestingMode::Map,
            vec![Attribute::number("port").optional().validate(at_least(1))],
        ))
        .block(NestedBlock::new("login", NestingMode::List, login))
        .validate(conflicts_with(&["a", "b"]))
}

fn login(user: &str, token: Option<&str>) -> Value {
    Value::object([
        ("user", Value::string(user)),
        ("token", token.map_or(Value::Null, Value::string)),
        ("token_wo", Value::Null),
    ])
}

fn paths(config: &Value) -> Vec<String> {
    let mut d = Diagnostics::new();
    run_validators(&schema(), config, &mut d);
    d.0.into_iter()
        .map(|x| x.path.unwrap_or_default().to_string())
        .collect()
}

#[test]
fn validators_run_on_every_level_with_paths() {
    let config = |mode: &str, replicas: i64, port: i64, logins: Vec<Value>, b: Value| {
        Value::object([
            ("mode", Value::string(mode)),
            ("replicas", Value::int(replicas)),
            ("a", Value::string("x")),
            ("b", b),
            (
                "hosts",
                Value::map([("h1", Value::object([("port", Value::int(port))]))]),
            ),
            ("login", Value::list(logins)),
        ])
    };
    let ok = config("fast", 2, 443, vec![login("ci", Some("t"))], Value::Null);
    assert_eq!(paths(&ok), Vec::<String>::new());
    let bad = config(
        "slow",
        0,
        0,
        vec![login("ci", Some("t")), login("root", None)],
        Value::string("y"),
    );
    assert_eq!(
        paths(&bad),
        [
            "b",
            "mode",
            "replicas",
            r#"hosts["h1"].port"#,
            // A block's own validators come before its attributes'.
            "login[1].token",
            "login[1].user",
        ]
    );
    // Unknown values wait for apply.
    let later = Value::object([
        ("mode", Value::unknown()),
        ("hosts", Value::unknown()),
        ("login", Value::list([Value::unknown()])),
    ]);
    assert_eq!(paths(&later), Vec::<String>::new());
}

#[test]
fn validator_descriptions_for_docs() {
    let b = schema();
    assert_eq!(
        b.attribute("mode").unwrap().validator_descriptions(),
        ["Must be one of: `fast`, `safe`."]
    );
    assert!(b
        .attribute("a")
        .unwrap()
        .validator_descriptions()
        .is_empty());
    assert_eq!(
        b.validator_descriptions(),
        ["Only one of `a`, `b` may be set."]
    );
    assert_eq!(
        AttrPath::root("login").index(1).attr("token").to_string(),
        "login[1].token"
    );
}
