//! Feeds arbitrary bytes to the cty msgpack (and JSON) decoders.
//!
//! Each input is decoded against a few fixed schema-like types, and against a
//! type derived from its first bytes (the rest being the value). Whatever
//! decodes must encode again and decode back to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;

use tfplugin::value::{decode_json, decode_msgpack, encode_msgpack, DecodeJsonOpts, Type};

fn fixed_types() -> Vec<Type> {
    let registry = Type::object([("username", Type::String), ("password", Type::String)]);
    vec![
        Type::Dynamic,
        Type::Number,
        Type::String,
        Type::object([
            ("id", Type::String),
            ("count", Type::Number),
            ("enabled", Type::Bool),
            ("tags", Type::set(Type::String)),
            ("registries", Type::map(registry)),
            ("extra", Type::Dynamic),
        ]),
        Type::list(Type::map(Type::Dynamic)),
        Type::Tuple(vec![Type::set(Type::Number), Type::Bool]),
    ]
}

/// A type built from the leading bytes; `pos` ends after the bytes used.
fn type_from_bytes(b: &[u8], pos: &mut usize, depth: u32) -> Type {
    let Some(&c) = b.get(*pos) else {
        return Type::String;
    };
    *pos += 1;
    let kind = if depth > 4 { c % 4 } else { c % 9 };
    match kind {
        0 => Type::Bool,
        1 => Type::Number,
        2 => Type::String,
        3 => Type::Dynamic,
        4 => Type::list(type_from_bytes(b, pos, depth + 1)),
        5 => Type::set(type_from_bytes(b, pos, depth + 1)),
        6 => Type::map(type_from_bytes(b, pos, depth + 1)),
        7 => {
            let n = usize::from(c / 9 % 4);
            let names = ["a", "b", "c", "d"];
            Type::object(
                names[..n]
                    .iter()
                    .map(|name| (*name, type_from_bytes(b, pos, depth + 1)))
                    .collect::<Vec<_>>(),
            )
        }
        _ => {
            let n = c / 9 % 4;
            Type::Tuple((0..n).map(|_| type_from_bytes(b, pos, depth + 1)).collect())
        }
    }
}

fn check(ty: &Type, bytes: &[u8]) {
    if let Ok(v) = decode_msgpack(ty, bytes) {
        let again = match encode_msgpack(ty, &v) {
            Ok(again) => again,
            Err(e) => panic!("decoded value does not encode: {e}: {v:?}"),
        };
        match decode_msgpack(ty, &again) {
            Ok(back) => assert_eq!(back, v, "value changed on a second round trip"),
            Err(e) => panic!("re-encoded value does not decode: {e}: {v:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for ty in fixed_types() {
        check(&ty, data);
    }
    let mut pos = 0;
    let ty = type_from_bytes(data, &mut pos, 0);
    check(&ty, &data[pos..]);
    let _ = decode_json(
        &ty,
        &data[pos..],
        DecodeJsonOpts {
            ignore_unknown_attributes: true,
        },
    );
});
