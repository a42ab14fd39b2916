//! Value equality and accessors.

use super::*;

#[test]
fn set_equality_ignores_order() {
    let a = Value::set([Value::string("a"), Value::string("b"), Value::string("c")]);
    let b = Value::set([Value::string("c"), Value::string("a"), Value::string("b")]);
    assert_eq!(a, b);
    let nested_a = Value::set([a.clone(), Value::set([Value::int(1), Value::int(2)])]);
    let nested_b = Value::set([
        Value::set([Value::int(2), Value::Number(num("1.0"))]),
        b.clone(),
    ]);
    assert_eq!(nested_a, nested_b);
    assert_ne!(a, Value::set([Value::string("a"), Value::string("b")]));
    assert_ne!(
        Value::set([Value::string("a"), Value::string("a"), Value::string("b")]),
        Value::set([Value::string("a"), Value::string("b"), Value::string("b")])
    );
    // lists keep order; a list is never a set
    assert_ne!(
        Value::list([Value::int(1), Value::int(2)]),
        Value::list([Value::int(2), Value::int(1)])
    );
    assert_ne!(Value::list([]), Value::set([]));
}

#[test]
fn value_helpers() {
    let v = Value::object([
        ("s", Value::string("x")),
        ("n", Value::int(7)),
        ("b", Value::Bool(true)),
        ("l", Value::list([Value::unknown()])),
        ("m", Value::map([("k", Value::string("v"))])),
    ]);
    assert_eq!(v.attr("s").and_then(Value::as_str), Some("x"));
    assert_eq!(v.attr("n").and_then(Value::as_i64), Some(7));
    assert_eq!(v.attr("b").and_then(Value::as_bool), Some(true));
    assert_eq!(
        v.attr("m").and_then(|m| m.get("k")).and_then(Value::as_str),
        Some("v")
    );
    assert_eq!(
        v.attr("l").and_then(Value::as_elements).map(<[Value]>::len),
        Some(1)
    );
    assert!(v.attr("missing").is_none());
    assert!(v.is_known() && !v.is_wholly_known());
    assert!(v.attr("s").unwrap().is_wholly_known());
    assert!(Value::unknown().is_unknown() && Value::Null.is_null());
    assert!(Refinements::default().is_empty());
    assert!(!Value::unknown_not_null().refinements().unwrap().is_empty());
}
