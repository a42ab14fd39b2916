//! The decoders' fuzz corpus, run as an ordinary test on stable: every seed in
//! `tests/fuzz_corpus/{msgpack,json}` (the same files seed `cargo fuzz run decode_msgpack`),
//! each of its truncations and single-byte corruptions, and proptest's random edits of the
//! seeds. No input may panic; whatever decodes must encode and decode back to the same value.

use proptest::prelude::*;
use std::path::PathBuf;
use tfplugin::value::{
    decode_json, decode_msgpack, encode_json, encode_msgpack, DecodeJsonOpts, Type, Value,
};

fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(kind);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "the {kind} corpus is missing seeds");
    out
}

/// The shapes the provider's schemas use, and the dynamic pseudo-type.
fn types() -> Vec<Type> {
    let registry = Type::object([("username", Type::String), ("password", Type::String)]);
    vec![
        Type::Dynamic,
        Type::Number,
        Type::String,
        Type::Bool,
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
        Type::list(Type::list(Type::Dynamic)),
    ]
}

fn msgpack_holds(ty: &Type, bytes: &[u8]) -> Result<Option<Value>, String> {
    let Ok(v) = decode_msgpack(ty, bytes) else {
        return Ok(None);
    };
    let again =
        encode_msgpack(ty, &v).map_err(|e| format!("decoded {v:?} but cannot encode it: {e}"))?;
    let back = decode_msgpack(ty, &again).map_err(|e| format!("re-decoding {v:?}: {e}"))?;
    if back != v {
        return Err(format!("round trip changed {v:?} into {back:?}"));
    }
    Ok(Some(v))
}

fn json_holds(ty: &Type, bytes: &[u8]) -> Result<Option<Value>, String> {
    let opts = DecodeJsonOpts::default();
    let Ok(v) = decode_json(ty, bytes, opts) else {
        let _ = decode_json(
            ty,
            bytes,
            DecodeJsonOpts {
                ignore_unknown_attributes: true,
            },
        );
        return Ok(None);
    };
    if !v.is_wholly_known() {
        return Ok(Some(v));
    }
    let again =
        encode_json(ty, &v).map_err(|e| format!("decoded {v:?} but cannot encode it: {e}"))?;
    let back = decode_json(ty, &again, opts).map_err(|e| format!("re-decoding {v:?}: {e}"))?;
    if back != v {
        return Err(format!("round trip changed {v:?} into {back:?}"));
    }
    Ok(Some(v))
}

/// Each truncation and, for the first 64 bytes, each byte replaced by its complement.
fn variants(seed: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..seed.len()).map(|n| seed[..n].to_vec()).collect();
    for i in 0..seed.len().min(64) {
        let mut b = seed.to_vec();
        b[i] = !b[i];
        out.push(b);
    }
    out.push(seed.to_vec());
    out
}

#[test]
fn msgpack_corpus() {
    let mut decoded = 0;
    for (name, seed) in corpus("msgpack") {
        for input in variants(&seed) {
            for ty in types() {
                match msgpack_holds(&ty, &input) {
                    Ok(Some(_)) => decoded += 1,
                    Ok(None) => {}
                    Err(e) => panic!("{name} as {ty:?} ({input:02x?}): {e}"),
                }
            }
        }
    }
    // The corpus reaches past the first byte: plenty of it decodes.
    assert!(decoded > 50, "only {decoded} inputs decoded");
}

#[test]
fn msgpack_corpus_expectations() {
    let seed = |n: &str| {
        std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fuzz_corpus/msgpack")
                .join(n),
        )
        .unwrap()
    };
    let obj = &types()[4];
    let v = decode_msgpack(obj, &seed("object_partly_unknown.bin")).unwrap();
    assert!(v.attr("id").unwrap().is_unknown());
    for bad in [
        "deep_nesting.bin",
        "declared_length_too_large_array.bin",
        "declared_length_too_large_str.bin",
        "declared_length_too_large_map.bin",
        "string_invalid_utf8.bin",
        "truncated_float.bin",
    ] {
        for ty in types() {
            assert!(decode_msgpack(&ty, &seed(bad)).is_err(), "{bad} as {ty:?}");
        }
    }
    assert!(decode_msgpack(obj, &seed("object_extra_attribute.bin")).is_err());
    // A bound written short that would be written back longer than cty allows.
    let e = decode_msgpack(
        &Type::Number,
        &seed("refined_unknown_bound_written_short.bin"),
    );
    assert!(e.is_err(), "{e:?}");
}

#[test]
fn json_corpus() {
    let mut decoded = 0;
    for (name, seed) in corpus("json") {
        for input in variants(&seed) {
            for ty in types() {
                match json_holds(&ty, &input) {
                    Ok(Some(_)) => decoded += 1,
                    Ok(None) => {}
                    Err(e) => panic!(
                        "{name} as {ty:?} ({:?}): {e}",
                        String::from_utf8_lossy(&input)
                    ),
                }
            }
        }
    }
    assert!(decoded > 20, "only {decoded} inputs decoded");
}

fn seeds_strategy(kind: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = corpus(kind).into_iter().map(|(_, b)| b).collect();
    (
        prop::sample::select(seeds),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    )
        .prop_map(|(mut buf, edits)| {
            for (at, byte, op) in edits {
                if buf.is_empty() {
                    buf.push(byte);
                    continue;
                }
                let i = at.index(buf.len());
                match op {
                    0 => buf[i] = byte,
                    1 => buf.insert(i, byte),
                    2 => {
                        buf.remove(i);
                    }
                    _ => buf.truncate(i),
                }
            }
            buf
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn edited_msgpack_seeds_never_panic(input in seeds_strategy("msgpack")) {
        for ty in types() {
            msgpack_holds(&ty, &input).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn edited_json_seeds_never_panic(input in seeds_strategy("json")) {
        for ty in types() {
            json_holds(&ty, &input).map_err(TestCaseError::fail)?;
        }
    }
}
