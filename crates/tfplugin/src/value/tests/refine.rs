//! Refined unknowns on the msgpack wire.

use super::*;

#[test]
fn refined_unknowns_decode_each_key() {
    let list = Type::list(Type::String);
    let cases: Vec<(Type, &str, Value)> = vec![
        (
            Type::String,
            "c7 03 0c 81 01 c2",
            refined(Refinements {
                not_null: true,
                ..Default::default()
            }),
        ),
        // nullness true = definitely null, which is just null
        (Type::String, "c7 03 0c 81 01 c3", Value::Null),
        (
            Type::String,
            "c7 06 0c 81 02 a3 61 62 63",
            refined(Refinements {
                string_prefix: Some("abc".into()),
                ..Default::default()
            }),
        ),
        (
            Type::Number,
            "c7 05 0c 81 03 92 01 c3",
            refined(Refinements {
                number_lower: Some((Number::from_i64(1), true)),
                ..Default::default()
            }),
        ),
        (
            Type::Number,
            "c7 0d 0c 81 04 92 cb 3f f8 00 00 00 00 00 00 c2",
            refined(Refinements {
                number_upper: Some((num("1.5"), false)),
                ..Default::default()
            }),
        ),
        (
            Type::Number,
            "c7 08 0c 81 03 92 a3 30 2e 31 c3",
            refined(Refinements {
                number_lower: Some((num("0.1"), true)),
                ..Default::default()
            }),
        ),
        (
            list.clone(),
            "c7 03 0c 81 05 02",
            refined(Refinements {
                length_min: Some(2),
                ..Default::default()
            }),
        ),
        (
            Type::map(Type::Bool),
            "c7 03 0c 81 06 0a",
            refined(Refinements {
                length_max: Some(10),
                ..Default::default()
            }),
        ),
        (
            list.clone(),
            "c7 07 0c 83 01 c2 05 01 06 03",
            refined(Refinements {
                not_null: true,
                length_min: Some(1),
                length_max: Some(3),
                ..Default::default()
            }),
        ),
        // unknown keys (with nested values) are skipped
        (
            Type::String,
            "c7 0c 0c 83 07 a1 78 63 81 01 92 01 02 01 c2",
            refined(Refinements {
                not_null: true,
                ..Default::default()
            }),
        ),
        // a refinement-free map is a plain unknown, as are trailing bytes
        (Type::String, "c7 02 0c 80 ff", Value::unknown()),
        // any other extension type, and short payloads, are plain unknown
        (Type::String, "c7 03 05 81 01 c2", Value::unknown()),
        (Type::String, "d4 0c 00", Value::unknown()),
        (Type::String, "c7 00 00", Value::unknown()),
        (Type::Number, "d5 00 00 00", Value::unknown()),
        // dynamic values are never refined
        (Type::Dynamic, "c7 03 0c 81 01 c2", Value::unknown()),
    ];
    for (ty, h, want) in cases {
        let got = decode_msgpack(&ty, &hex(h)).unwrap_or_else(|e| panic!("{h}: {e}"));
        assert_eq!(got, want, "{h}");
        // and the encoder writes the same refinements back
        if let Value::Unknown(r) = &want {
            let again = decode_msgpack(&ty, &encode_msgpack(&ty, &want).unwrap()).unwrap();
            assert_eq!(again, Value::Unknown(r.for_type(&ty)));
        }
    }
}

#[test]
fn inapplicable_or_malformed_refinements_are_errors() {
    for (ty, h) in [
        (Type::Number, "c7 04 0c 81 02 a1 61"), // prefix on a number
        (Type::String, "c7 05 0c 81 03 92 01 c3"), // bound on a string
        (Type::String, "c7 03 0c 81 05 01"),    // length on a string
        (Type::String, "c7 03 0c 81 01 01"),    // nullness not a bool
        (Type::String, "c7 03 0c 81 a1 61"),    // non-integer key
        (Type::String, "c7 02 0c 91 c0"),       // payload not a map
        (Type::Number, "c7 05 0c 81 03 92 c0 c3"), // null bound
        (Type::String, "c7 05 0c 82 01 c2 02"), // truncated payload
        (Type::list(Type::Bool), "c7 03 0c 81 05 ff"), // negative length
    ] {
        assert!(decode_msgpack(&ty, &hex(h)).is_err(), "{h}");
    }
    // oversize payload
    let mut big = hex("c8 04 01 0c 81 07 c5 03 fb");
    big.resize(big.len() + 1019, 0);
    assert!(decode_msgpack(&Type::String, &big).is_err());
}

#[test]
fn encoder_writes_only_applicable_refinements() {
    let r = Refinements {
        not_null: false,
        string_prefix: Some("x".into()),
        length_min: Some(1),
        ..Default::default()
    };
    // nothing applies to a number: plain unknown, never an empty ext 12
    assert_eq!(
        encode_msgpack(&Type::Number, &Value::Unknown(r.clone())).unwrap(),
        hex("d4 00 00")
    );
    assert_eq!(
        encode_msgpack(&Type::Dynamic, &Value::unknown_not_null()).unwrap(),
        hex("d4 00 00")
    );
    let empty_prefix = Refinements {
        string_prefix: Some(String::new()),
        ..Default::default()
    };
    assert!(empty_prefix.is_empty());
    assert_eq!(
        encode_msgpack(&Type::String, &Value::Unknown(empty_prefix)).unwrap(),
        hex("d4 00 00")
    );
}
