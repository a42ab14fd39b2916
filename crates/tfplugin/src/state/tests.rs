//! The state! macro and doc descriptions.

use super::*;
use crate::agreement::{disagreements, state_fields};
use crate::schema::{AttrType, NestingMode};
use crate::typed::{from_value, to_value, Val};
use crate::value::{Type, Value};
use std::collections::BTreeMap;

crate::state! {
    /// A login.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Login / LoginAttrs {
        /// User name.
        user: Val<String> = string().required(),
        /// Write-only password.
        password_wo: Val<String> = string().optional().sensitive().write_only(),
    }
}

crate::state! {
    /// Top level.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct State / StateAttrs {
        /// The name,
        /// on two lines.
        name: Val<String> = string().required().force_new(),
        id: Val<i64> = number().computed().keep_prior(),
        /// Overridden.
        tags: Val<Vec<String>> = new(Type::list(Type::String)).optional().describe("Tags."),
        /// Logins per host.
        logins: Val<BTreeMap<String, Login>> = nested(NestingMode::Map, Login::attributes()),
        /// Hooks.
        hook: Val<Vec<Login>> = block(NestingMode::List, Login::block("")).max_items(2),
        plain: Val<Login> = block(NestingMode::Single, Login::block("Kept.")),
    }
}

#[test]
fn state_macro_declares_each_attribute_once() {
    assert_eq!(
        State::ATTR,
        StateAttrs {
            name: "name",
            id: "id",
            tags: "tags",
            logins: "logins",
            hook: "hook",
            plain: "plain",
        }
    );
    let names: Vec<String> = State::attributes().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["name", "id", "tags", "logins"]);
    let b = State::block("The thing.");
    assert_eq!(b.description, "The thing.");
    let name = b.attribute("name").unwrap();
    assert!(name.required && name.force_new);
    assert_eq!(name.description, "The name, on two lines.");
    let id = b.attribute("id").unwrap();
    assert!(id.computed && id.keep_prior && id.description.is_empty());
    assert_eq!(b.attribute("tags").unwrap().description, "Tags.");
    let Some(AttrType::Nested {
        nesting,
        attributes,
    }) = b.attribute("logins").map(|a| &a.ty)
    else {
        panic!("logins is not nested")
    };
    assert_eq!(*nesting, NestingMode::Map);
    assert!(attributes[1].write_only && attributes[1].description == "Write-only password.");
    let hook = b.nested_block("hook").unwrap();
    assert_eq!(
        (hook.max_items, hook.block.description.as_str()),
        (2, "Hooks.")
    );
    assert_eq!(b.nested_block("plain").unwrap().block.description, "Kept.");
    assert_eq!(State::blocks().len(), 2);
    // The struct agrees with the schema it declares, and reads and writes its values.
    let ty = b.value_type();
    assert_eq!(
        disagreements(&ty, &state_fields::<State>()),
        Vec::<String>::new()
    );
    let s = State {
        name: Val::Known("n".into()),
        id: Val::Unknown,
        ..State::default()
    };
    let v = to_value(&s, &ty).unwrap();
    assert_eq!(v.attr("hook"), Some(&Value::Null));
    assert_eq!(from_value::<State>(&v).unwrap(), s);
    let missing: State = from_value(&Value::object([("name", Value::string("n"))])).unwrap();
    assert_eq!(missing.id, Val::Null, "absent fields default");
}

crate::state! {
    /// A keyword as an attribute name.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Keyword / KeywordAttrs {
        /// The type.
        r#type: Val<String> = string().optional(),
    }
}

#[test]
fn raw_identifiers_name_their_attribute_without_r_hash() {
    assert_eq!(Keyword::ATTR.r#type, "type");
    assert_eq!(field_name("r#match"), "match");
    assert_eq!(field_name("name"), "name");
    let b = Keyword::block("");
    assert_eq!(b.attribute("type").unwrap().description, "The type.");
    let ty = b.value_type();
    assert_eq!(
        disagreements(&ty, &state_fields::<Keyword>()),
        Vec::<String>::new()
    );
    let v = Value::object([("type", Value::string("container"))]);
    let k: Keyword = from_value(&v).unwrap();
    assert_eq!(k.r#type, Val::Known("container".into()));
    assert_eq!(to_value(&k, &ty).unwrap(), v);
}

#[test]
fn descriptions_from_doc_lines() {
    let cases: [(&[&str], &str); 5] = [
        (&[], ""),
        (&[" One line."], "One line."),
        (&[" Two", " lines."], "Two lines."),
        (
            &[" First.", "", " Second", " paragraph."],
            "First.\n\nSecond paragraph.",
        ),
        (&["", " Leading blank.", ""], "Leading blank."),
    ];
    for (lines, want) in cases {
        assert_eq!(description(lines), want, "{lines:?}");
    }
}
