//! Tests of the cty model and both codecs, by concern. Helpers shared by the files live here.

mod json;
mod msgpack;
mod number;
mod props;
mod refine;
mod ty;
mod value;

use super::*;

pub(super) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub(super) fn num(s: &str) -> Number {
    s.parse().unwrap()
}

pub(super) fn msgpack_str(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_str(&mut out, s).unwrap();
    out
}

pub(super) fn refined(r: Refinements) -> Value {
    Value::Unknown(r)
}

pub(super) fn nested_type() -> Type {
    let reg = Type::object([("username", Type::String), ("password", Type::String)]);
    Type::object([("name", Type::String), ("registries", Type::map(reg))])
}
