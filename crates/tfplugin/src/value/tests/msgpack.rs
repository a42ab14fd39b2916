//! msgpack: exact encodings both ways, paths in errors, objects, malformed input, nesting.

use super::*;

#[test]
fn known_encodings_round_trip_exactly() {
    let reg = Type::object([("a", Type::String), ("b", Type::Number)]);
    let mut dynamic_string = hex("92 c4 08");
    dynamic_string.extend_from_slice(b"\"string\"");
    dynamic_string.extend_from_slice(&hex("a1 78"));
    let mut big_decimal = vec![0xb6];
    big_decimal.extend_from_slice(b"12345678901234567890.5");
    let mut u64_max = vec![0xb4];
    u64_max.extend_from_slice(b"18446744073709551615");
    let cases: Vec<(Type, Value, Vec<u8>)> = vec![
        (Type::String, Value::unknown(), hex("d4 00 00")),
        (Type::Dynamic, Value::unknown(), hex("d4 00 00")),
        (Type::String, Value::Null, hex("c0")),
        (Type::Bool, Value::Bool(true), hex("c3")),
        (Type::Bool, Value::Bool(false), hex("c2")),
        (Type::String, Value::string("hi"), hex("a2 68 69")),
        (Type::Number, Value::int(1), hex("01")),
        (Type::Number, Value::int(-1), hex("ff")),
        (Type::Number, Value::int(300), hex("cd 01 2c")),
        (Type::Number, Value::int(-200), hex("d1 ff 38")),
        (
            Type::Number,
            Value::int(i64::MIN),
            hex("d3 80 00 00 00 00 00 00 00"),
        ),
        (
            Type::Number,
            Value::Number(num("1.5")),
            hex("cb 3f f8 00 00 00 00 00 00"),
        ),
        // 2^63 is not an i64 but is an exact float.
        (
            Type::Number,
            Value::Number(num("9223372036854775808")),
            hex("cb 43 e0 00 00 00 00 00 00"),
        ),
        (
            Type::Number,
            Value::Number(num("12345678901234567890.5")),
            big_decimal,
        ),
        (
            Type::Number,
            Value::Number(Number::from_u64(u64::MAX)),
            u64_max,
        ),
        (Type::Number, Value::Number(num("0.1")), {
            let mut v = vec![0xa3];
            v.extend_from_slice(b"0.1");
            v
        }),
        (
            Type::Number,
            Value::Number(Number::positive_infinity()),
            hex("cb 7f f0 00 00 00 00 00 00"),
        ),
        (
            reg.clone(),
            Value::object([("a", Value::string("x")), ("b", Value::Null)]),
            hex("82 a1 61 a1 78 a1 62 c0"),
        ),
        (
            Type::set(Type::String),
            Value::set([Value::string("a"), Value::string("b")]),
            hex("92 a1 61 a1 62"),
        ),
        (
            Type::list(Type::Bool),
            Value::list([Value::Bool(true), Value::Null, Value::unknown()]),
            hex("93 c3 c0 d4 00 00"),
        ),
        (
            Type::map(Type::Number),
            Value::map([("k", Value::int(2))]),
            hex("81 a1 6b 02"),
        ),
        (
            Type::tuple([Type::String, Type::Bool]),
            Value::tuple([Value::string("x"), Value::Bool(false)]),
            hex("92 a1 78 c2"),
        ),
        (
            Type::Dynamic,
            Value::dynamic(Type::String, Value::string("x")),
            dynamic_string,
        ),
        (Type::Dynamic, Value::Null, hex("c0")),
        (
            Type::String,
            refined(Refinements {
                not_null: true,
                ..Default::default()
            }),
            hex("c7 03 0c 81 01 c2"),
        ),
        (
            Type::String,
            refined(Refinements {
                string_prefix: Some("ab".into()),
                ..Default::default()
            }),
            hex("c7 05 0c 81 02 a2 61 62"),
        ),
    ];
    for (ty, v, bytes) in cases {
        let enc = encode_msgpack(&ty, &v).unwrap();
        assert_eq!(enc, bytes, "encoding {v:?} as {ty}");
        let dec = decode_msgpack(&ty, &bytes).unwrap();
        assert_eq!(dec, v, "decoding {bytes:02x?} as {ty}");
    }
}

#[test]
fn numbers_decode_from_every_msgpack_form() {
    let cases = [
        ("05", "5"),
        ("e0", "-32"),
        ("cc ff", "255"),
        ("cd ff ff", "65535"),
        ("ce ff ff ff ff", "4294967295"),
        ("cf ff ff ff ff ff ff ff ff", "18446744073709551615"),
        ("d0 80", "-128"),
        ("d1 80 00", "-32768"),
        ("d2 80 00 00 00", "-2147483648"),
        ("d3 ff ff ff ff ff ff ff fe", "-2"),
        ("ca 3f c0 00 00", "1.5"),
        (
            "cb 3f b9 99 99 99 99 99 9a",
            "0.1000000000000000055511151231257827021181583404541015625",
        ),
    ];
    for (h, want) in cases {
        let got = decode_msgpack(&Type::Number, &hex(h)).unwrap();
        assert_eq!(got, Value::Number(num(want)), "{h}");
    }
    for (text, want) in [
        ("1e3", "1000"),
        ("-0.50", "-0.5"),
        ("+7", "7"),
        (".25", "0.25"),
    ] {
        let got = decode_msgpack(&Type::Number, &msgpack_str(text)).unwrap();
        assert_eq!(got, Value::Number(num(want)), "{text}");
    }
    for bad in ["", "abc", "1e", "--1", "1.2.3", "0x10"] {
        assert!(
            decode_msgpack(&Type::Number, &msgpack_str(bad)).is_err(),
            "{bad:?}"
        );
    }
    // NaN
    assert!(decode_msgpack(&Type::Number, &hex("cb 7f f8 00 00 00 00 00 00")).is_err());
}

#[test]
fn errors_name_the_path() {
    // {"name": "n", "registries": {"x": {"username": 5, "password": nil}}}
    let mut b = hex("82");
    b.extend(msgpack_str("name"));
    b.extend(msgpack_str("n"));
    b.extend(msgpack_str("registries"));
    b.extend(hex("81"));
    b.extend(msgpack_str("x"));
    b.extend(hex("82"));
    b.extend(msgpack_str("username"));
    b.extend(hex("05"));
    b.extend(msgpack_str("password"));
    b.extend(hex("c0"));
    let e = decode_msgpack(&nested_type(), &b).unwrap_err();
    assert_eq!(e.path, ".registries[\"x\"].username");
    assert!(e.message.contains("expected string"), "{e}");
    assert!(
        e.to_string()
            .starts_with("at .registries[\"x\"].username: "),
        "{e}"
    );

    let v = Value::object([
        ("name", Value::string("n")),
        (
            "registries",
            Value::map([("x", Value::object([("username", Value::list([]))]))]),
        ),
    ]);
    let e = encode_msgpack(&nested_type(), &v).unwrap_err();
    assert_eq!(e.path, ".registries[\"x\"].username");
    assert_eq!(e.message, "expected string, found list");

    let e = encode_msgpack(
        &Type::list(Type::Number),
        &Value::list([Value::int(1), Value::string("2")]),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "at [1]: expected number, found string");
}

#[test]
fn objects_missing_and_extra_attributes() {
    let ty = Type::object([("a", Type::String), ("b", Type::Bool)]);
    // missing attribute decodes as null
    let got = decode_msgpack(&ty, &hex("81 a1 61 a1 78")).unwrap();
    assert_eq!(
        got,
        Value::object([("a", Value::string("x")), ("b", Value::Null)])
    );
    assert_eq!(got.attr("b"), Some(&Value::Null));
    // unexpected attribute is an error
    let e = decode_msgpack(&ty, &hex("81 a1 7a c0")).unwrap_err();
    assert!(e.message.contains("unsupported attribute \"z\""), "{e}");
    // encoding: missing written as null, extra rejected
    assert_eq!(
        encode_msgpack(&ty, &Value::object([("b", Value::Bool(true))])).unwrap(),
        hex("82 a1 61 c0 a1 62 c3")
    );
    assert!(encode_msgpack(&ty, &Value::object([("z", Value::Null)])).is_err());
}

#[test]
fn mismatches_and_malformed_input_are_errors() {
    assert!(encode_msgpack(&Type::String, &Value::list([])).is_err());
    assert!(encode_msgpack(&Type::list(Type::String), &Value::set([])).is_err());
    assert!(encode_msgpack(&Type::tuple([Type::Bool]), &Value::tuple([])).is_err());
    assert!(encode_msgpack(&Type::Dynamic, &Value::list([])).is_err());
    // a bare primitive in a dynamic slot gets its implied type
    assert_eq!(
        decode_msgpack(
            &Type::Dynamic,
            &encode_msgpack(&Type::Dynamic, &Value::Bool(true)).unwrap()
        )
        .unwrap(),
        Value::dynamic(Type::Bool, Value::Bool(true))
    );
    for (ty, h) in [
        (Type::String, "c3"),
        (Type::Bool, "a1 78"),
        (Type::list(Type::Bool), "81 a1 61 c3"),
        (Type::map(Type::Bool), "91 c3"),
        (Type::map(Type::Bool), "81 01 c3"),
        (Type::tuple([Type::Bool]), "92 c3 c3"),
        (Type::String, "a5 61"),                    // truncated string
        (Type::String, "a2 ff fe"),                 // invalid UTF-8
        (Type::list(Type::Bool), "dd ff ff ff ff"), // huge declared length
        (Type::map(Type::Bool), "df 7f ff ff ff c3"),
        (Type::String, "db ff ff ff ff 61"),
        (Type::String, "c9 ff ff ff ff 00"),
        (Type::Bool, "c1"),
        (Type::Bool, "c3 c3"), // trailing bytes
        (Type::Dynamic, "93 a1 61 c0 c0"),
        (Type::Dynamic, "92 c4 05 62 6f 67 75 73 c0"), // bad type JSON
        (Type::Dynamic, "92 01 c0"),
    ] {
        assert!(decode_msgpack(&ty, &hex(h)).is_err(), "{h} as {ty}");
    }
    assert_eq!(decode_msgpack(&Type::String, &[]).unwrap(), Value::Null);
}

#[test]
fn dynamic_values() {
    let t = Type::list(Type::Number);
    let v = Value::dynamic(t.clone(), Value::list([Value::int(1), Value::Null]));
    let bytes = encode_msgpack(&Type::Dynamic, &v).unwrap();
    let mut want = hex("92 c4 11");
    want.extend_from_slice(b"[\"list\",\"number\"]");
    want.extend(hex("92 01 c0"));
    assert_eq!(bytes, want);
    assert_eq!(decode_msgpack(&Type::Dynamic, &bytes).unwrap(), v);
    // the type may also come as a msgpack str
    let mut as_str = hex("92 b1");
    as_str.extend_from_slice(b"[\"list\",\"number\"]");
    as_str.extend(hex("92 01 c0"));
    assert_eq!(decode_msgpack(&Type::Dynamic, &as_str).unwrap(), v);
    // a typed null and a typed unknown keep their type
    let typed_null = Value::dynamic(Type::String, Value::Null);
    let b = encode_msgpack(&Type::Dynamic, &typed_null).unwrap();
    assert_eq!(decode_msgpack(&Type::Dynamic, &b).unwrap(), typed_null);
    assert!(typed_null.is_null());
    let typed_unknown = Value::dynamic(Type::String, Value::unknown());
    let b = encode_msgpack(&Type::Dynamic, &typed_unknown).unwrap();
    assert_eq!(decode_msgpack(&Type::Dynamic, &b).unwrap(), typed_unknown);
    assert!(typed_unknown.is_unknown());
    // accessors look through the wrapper
    assert_eq!(
        Value::dynamic(Type::String, Value::string("s")).as_str(),
        Some("s")
    );
}

#[test]
fn deep_nesting_is_rejected_without_overflowing() {
    // dynamic -> ["list","dynamic"] -> [dynamic] -> ... 5000 levels
    let mut b = Vec::new();
    for _ in 0..5000 {
        b.extend(hex("92 c4 12"));
        b.extend_from_slice(b"[\"list\",\"dynamic\"]");
        b.extend(hex("91"));
    }
    b.extend(hex("c0"));
    let e = decode_msgpack(&Type::Dynamic, &b).unwrap_err();
    assert!(e.message.contains("nested deeper"), "{e}");
    // and JSON
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(decode_json(&Type::Dynamic, deep.as_bytes(), DecodeJsonOpts::default()).is_err());
    let mut ty = Type::String;
    for _ in 0..600 {
        ty = Type::list(ty);
    }
    let json = ty.to_json_bytes();
    assert!(Type::from_json(&json).is_err());
    // but nesting within the limit works
    let mut b = Vec::new();
    for _ in 0..200 {
        b.extend(hex("92 c4 12"));
        b.extend_from_slice(b"[\"list\",\"dynamic\"]");
        b.extend(hex("91"));
    }
    b.extend(hex("c0"));
    let v = decode_msgpack(&Type::Dynamic, &b).unwrap();
    assert_eq!(
        decode_msgpack(&Type::Dynamic, &encode_msgpack(&Type::Dynamic, &v).unwrap()).unwrap(),
        v
    );
}
