//! Recording a struct's fields and comparing them with a schema.

use super::*;
use crate::schema::{Attribute, Block, NestedBlock, NestingMode};
use crate::typed::Val;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Serialize, Deserialize)]
struct Login {
    username: Val<String>,
    password: Option<String>,
}

#[derive(Serialize, Deserialize)]
enum Mode {
    Fast,
    Careful { retries: i64 },
}

/// No Default, no serde(default), every shape of container.
#[derive(Serialize, Deserialize)]
struct State {
    id: Val<String>,
    count: Val<i64>,
    tags: Val<BTreeSet<String>>,
    logins: Val<BTreeMap<String, Login>>,
    hooks: Vec<Login>,
    single: Val<Login>,
    mode: Val<Mode>,
    raw: Val<serde_json::Value>,
    #[serde(rename = "renamed")]
    old_name: bool,
    #[serde(skip)]
    _local: u8,
}

fn leaf() -> Option<StateFields> {
    None
}

fn login() -> Option<StateFields> {
    Some(StateFields(
        [("username".into(), leaf()), ("password".into(), leaf())].into(),
    ))
}

#[test]
fn records_top_level_and_nested_fields() {
    let got = state_fields::<State>();
    let want = StateFields(
        [
            ("id", leaf()),
            ("count", leaf()),
            ("tags", leaf()),
            ("logins", login()),
            ("hooks", login()),
            ("single", login()),
            ("mode", leaf()),
            ("raw", leaf()),
            ("renamed", leaf()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    assert_eq!(got, want);
    assert!(!recording(), "recording mode ends with the call");
    assert_eq!(state_fields::<String>(), StateFields::default());
}

#[test]
fn disagreements_both_ways_and_nested() {
    let login_attrs = || {
        vec![
            Attribute::string("username").required(),
            Attribute::string("password").optional(),
        ]
    };
    let agreeing = Block::new("")
        .attr(Attribute::string("id").computed())
        .attr(Attribute::number("count").optional())
        .attr(Attribute::new("tags", Type::set(Type::String)).optional())
        .attr(Attribute::nested("logins", NestingMode::Map, login_attrs()))
        .attr(Attribute::nested(
            "single",
            NestingMode::Single,
            login_attrs(),
        ))
        .attr(Attribute::string("mode").optional())
        .attr(Attribute::new("raw", Type::Dynamic).optional())
        .attr(Attribute::bool("renamed").optional())
        .block(NestedBlock::new(
            "hooks",
            NestingMode::List,
            Block::new("")
                .attr(Attribute::string("username"))
                .attr(Attribute::string("password")),
        ));
    let fields = state_fields::<State>();
    assert_eq!(
        disagreements(&agreeing.value_type(), &fields),
        Vec::<String>::new()
    );

    let mut wrong = agreeing.clone();
    wrong.attributes.retain(|a| a.name != "count");
    wrong.attributes.push(Attribute::string("extra").optional());
    wrong.blocks[0].block.attributes.pop();
    wrong.attributes[0] = Attribute::nested("id", NestingMode::Single, vec![]);
    wrong.attributes.retain(|a| a.name != "single");
    wrong.attributes.push(Attribute::string("single"));
    let mut got = disagreements(&wrong.value_type(), &fields);
    got.sort();
    assert_eq!(
        got,
        [
            "count: in the struct, missing from the schema",
            "extra: in the schema, missing from the struct",
            "hooks.password: in the struct, missing from the schema",
            "single: a struct with fields, but of type string in the schema",
        ]
    );
}
