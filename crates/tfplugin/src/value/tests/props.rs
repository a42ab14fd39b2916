//! Property tests: round trips, and arbitrary or mutated bytes never panic.

use super::*;
use proptest::prelude::*;

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map("[a-z_]{1,6}", inner.clone(), 0..4)
                .prop_flat_map(|attrs| {
                    let names: Vec<String> = attrs.keys().cloned().collect();
                    let n = names.len();
                    (Just(attrs), prop::sample::subsequence(names, 0..=n))
                })
                .prop_map(|(attrs, optional)| {
                    Type::Object(ObjectType {
                        attrs,
                        optional: optional.into_iter().collect(),
                    })
                }),
            prop::collection::vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
}

fn arb_number() -> BoxedStrategy<Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from_i64),
        any::<u64>().prop_map(Number::from_u64),
        any::<f64>().prop_filter_map("NaN", Number::try_from_f64),
        (any::<i64>(), -40i64..40).prop_map(|(m, e)| num(&format!("{m}e{e}"))),
        "-?[0-9]{1,40}\\.[0-9]{1,40}".prop_map(|s| num(&s)),
    ]
    .boxed()
}

fn arb_refinements(ty: &Type) -> BoxedStrategy<Refinements> {
    if *ty == Type::Dynamic {
        return Just(Refinements::default()).boxed();
    }
    let prefix = if *ty == Type::String {
        proptest::option::of("[a-z]{1,5}").boxed()
    } else {
        Just(None).boxed()
    };
    let bounds = if *ty == Type::Number {
        (
            proptest::option::of((arb_number(), any::<bool>())),
            proptest::option::of((arb_number(), any::<bool>())),
        )
            .boxed()
    } else {
        Just((None, None)).boxed()
    };
    let lengths = if ty.is_collection() {
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
        )
            .boxed()
    } else {
        Just((None, None)).boxed()
    };
    (any::<bool>(), prefix, bounds, lengths)
        .prop_map(
            |(not_null, string_prefix, (lo, hi), (lmin, lmax))| Refinements {
                not_null,
                string_prefix,
                number_lower: lo,
                number_upper: hi,
                length_min: lmin,
                length_max: lmax,
            },
        )
        .boxed()
}

fn arb_value(ty: &Type, depth: u32) -> BoxedStrategy<Value> {
    let special = prop_oneof![
        Just(Value::Null),
        arb_refinements(ty).prop_map(Value::Unknown),
    ];
    let known: BoxedStrategy<Value> = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => ".{0,8}".prop_map(Value::String).boxed(),
        Type::Dynamic => {
            if depth > 3 {
                Just(Value::Null).boxed()
            } else {
                arb_type()
                    .prop_filter("concrete", |t| *t != Type::Dynamic)
                    .prop_flat_map(move |t| {
                        let t2 = t.clone();
                        arb_value(&t, depth + 1)
                            .prop_map(move |v| Value::Dynamic(t2.clone(), Box::new(v)))
                    })
                    .boxed()
            }
        }
        Type::List(et) => prop::collection::vec(arb_value(et, depth + 1), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(et) => prop::collection::vec(arb_value(et, depth + 1), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(et) => prop::collection::btree_map(".{0,4}", arb_value(et, depth + 1), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Tuple(ets) => ets
            .iter()
            .map(|et| arb_value(et, depth + 1))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Object(ot) => {
            let names: Vec<String> = ot.attrs.keys().cloned().collect();
            ot.attrs
                .values()
                .map(|at| arb_value(at, depth + 1))
                .collect::<Vec<_>>()
                .prop_map(move |vals| Value::Object(names.iter().cloned().zip(vals).collect()))
                .boxed()
        }
    };
    prop_oneof![1 => special, 4 => known].boxed()
}

fn arb_type_and_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(|t| {
        let t2 = t.clone();
        arb_value(&t, 0).prop_map(move |v| (t2.clone(), v))
    })
}

/// No unknowns and no infinities: representable in JSON.
fn json_safe(v: &Value) -> bool {
    match v {
        Value::Unknown(_) => false,
        Value::Number(n) => !n.is_infinite(),
        Value::Null | Value::Bool(_) | Value::String(_) => true,
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs.iter().all(json_safe),
        Value::Map(m) | Value::Object(m) => m.values().all(json_safe),
        Value::Dynamic(_, v) => json_safe(v),
    }
}

/// A type derived from bytes, for throwing arbitrary input at decoders.
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
            let n = (c / 9) % 4;
            Type::object((0..n).map(|i| {
                (
                    ["a", "b", "c", "d"][usize::from(i)],
                    type_from_bytes(b, pos, depth + 1),
                )
            }))
        }
        _ => {
            let n = (c / 9) % 4;
            Type::Tuple((0..n).map(|_| type_from_bytes(b, pos, depth + 1)).collect())
        }
    }
}

fn fixed_types() -> Vec<Type> {
    vec![
        Type::Dynamic,
        Type::Number,
        Type::String,
        nested_type(),
        Type::list(Type::map(Type::Dynamic)),
        Type::tuple([Type::set(Type::Number), Type::Bool]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn msgpack_round_trips((ty, v) in arb_type_and_value()) {
        let bytes = encode_msgpack(&ty, &v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = decode_msgpack(&ty, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, v);
    }

    #[test]
    fn json_round_trips((ty, v) in arb_type_and_value()) {
        if json_safe(&v) {
            let bytes = encode_json(&ty, &v).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back = decode_json(&ty, &bytes, DecodeJsonOpts::default())
                .map_err(|e| TestCaseError::fail(format!("{e} in {}", String::from_utf8_lossy(&bytes))))?;
            prop_assert_eq!(back, v);
        } else {
            prop_assert!(encode_json(&ty, &v).is_err());
        }
    }

    #[test]
    fn type_json_round_trips_prop(ty in arb_type()) {
        prop_assert_eq!(Type::from_json(&ty.to_json_bytes()).unwrap(), ty);
    }

    #[test]
    fn number_text_round_trips(n in arb_number()) {
        prop_assert_eq!(num(&n.to_string()), n);
    }
}

/// Whatever decodes must encode again and decode back to the same value.
fn redecodes(ty: &Type, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(v) = decode_msgpack(ty, bytes) {
        let again = encode_msgpack(ty, &v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = decode_msgpack(ty, &again).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, v);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        for ty in fixed_types() {
            redecodes(&ty, &bytes)?;
        }
        let mut pos = 0;
        let ty = type_from_bytes(&bytes, &mut pos, 0);
        redecodes(&ty, &bytes[pos..])?;
        let _ = decode_json(&ty, &bytes[pos..], DecodeJsonOpts { ignore_unknown_attributes: true });
    }

    #[test]
    fn mutated_encodings_never_panic(
        (ty, v) in arb_type_and_value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
    ) {
        let mut bytes = encode_msgpack(&ty, &v).unwrap();
        let mut json = if json_safe(&v) { encode_json(&ty, &v).unwrap() } else { b"{}".to_vec() };
        for buf in [&mut bytes, &mut json] {
            for (at, byte, op) in &edits {
                if buf.is_empty() {
                    buf.push(*byte);
                    continue;
                }
                let i = at.index(buf.len());
                match op {
                    0 => buf[i] = *byte,
                    1 => buf.insert(i, *byte),
                    2 => { buf.remove(i); }
                    _ => buf.truncate(i),
                }
            }
        }
        redecodes(&ty, &bytes)?;
        redecodes(&Type::Dynamic, &bytes)?;
        let _ = decode_json(&ty, &json, DecodeJsonOpts::default());
    }
}
