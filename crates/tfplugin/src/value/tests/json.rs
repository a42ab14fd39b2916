//! cty's JSON form.

use super::*;

#[test]
fn json_decoding() {
    let ty = Type::object([
        ("id", Type::String),
        ("n", Type::Number),
        ("tags", Type::set(Type::String)),
        ("meta", Type::map(Type::Bool)),
        ("any", Type::Dynamic),
        ("t", Type::tuple([Type::Number, Type::String])),
    ]);
    let json = br#"{"id":"x","n":12345678901234567890.5,"tags":["a","b"],
        "meta":{"k":true},"any":{"value":["a",1],"type":["tuple",["string","number"]]},
        "t":[1e2,"s"]}"#;
    let got = decode_json(&ty, json, DecodeJsonOpts::default()).unwrap();
    let want = Value::object([
        ("id", Value::string("x")),
        ("n", Value::Number(num("12345678901234567890.5"))),
        ("tags", Value::set([Value::string("b"), Value::string("a")])),
        ("meta", Value::map([("k", Value::Bool(true))])),
        (
            "any",
            Value::dynamic(
                Type::tuple([Type::String, Type::Number]),
                Value::tuple([Value::string("a"), Value::int(1)]),
            ),
        ),
        ("t", Value::tuple([Value::int(100), Value::string("s")])),
    ]);
    assert_eq!(got, want);
    // the JSON encoder writes what the decoder reads
    let enc = encode_json(&ty, &want).unwrap();
    assert_eq!(
        String::from_utf8(enc.clone()).unwrap(),
        r#"{"any":{"value":["a",1],"type":["tuple",["string","number"]]},"id":"x","meta":{"k":true},"n":12345678901234567890.5,"t":[100,"s"],"tags":["b","a"]}"#
    );
    assert_eq!(
        decode_json(&ty, &enc, DecodeJsonOpts::default()).unwrap(),
        want
    );
}

#[test]
fn json_unknown_and_missing_attributes() {
    let ty = Type::object([
        ("a", Type::String),
        ("nested", Type::list(Type::object([("x", Type::Bool)]))),
    ]);
    let json = br#"{"a":"v","old":1,"nested":[{"x":true,"gone":"y"}]}"#;
    let e = decode_json(&ty, json, DecodeJsonOpts::default()).unwrap_err();
    assert!(e.message.contains("unsupported attribute \"old\""), "{e}");
    let opts = DecodeJsonOpts {
        ignore_unknown_attributes: true,
    };
    let got = decode_json(&ty, json, opts).unwrap();
    assert_eq!(
        got,
        Value::object([
            ("a", Value::string("v")),
            (
                "nested",
                Value::list([Value::object([("x", Value::Bool(true))])])
            ),
        ])
    );
    let got = decode_json(&ty, br#"{}"#, DecodeJsonOpts::default()).unwrap();
    assert_eq!(
        got,
        Value::object([("a", Value::Null), ("nested", Value::Null)])
    );
    assert_eq!(
        decode_json(&ty, b"  ", DecodeJsonOpts::default()).unwrap(),
        Value::Null
    );
    assert_eq!(
        decode_json(&ty, b"null", DecodeJsonOpts::default()).unwrap(),
        Value::Null
    );
}

#[test]
fn json_lenient_primitives_and_errors() {
    let o = DecodeJsonOpts::default();
    assert_eq!(
        decode_json(&Type::Number, br#""1.5""#, o).unwrap(),
        Value::Number(num("1.5"))
    );
    assert_eq!(
        decode_json(&Type::Bool, br#""true""#, o).unwrap(),
        Value::Bool(true)
    );
    assert_eq!(
        decode_json(&Type::String, b"1.50", o).unwrap(),
        Value::string("1.50")
    );
    assert_eq!(
        decode_json(&Type::String, b"false", o).unwrap(),
        Value::string("false")
    );
    assert_eq!(
        decode_json(&Type::String, br#""\u00e9\ud83d\ude00\n\"""#, o).unwrap(),
        Value::string("é😀\n\"")
    );
    for (ty, bad) in [
        (Type::Number, "\"x\""),
        (Type::Bool, "1"),
        (Type::String, "[]"),
        (Type::list(Type::Bool), "{}"),
        (Type::tuple([Type::Bool]), "[true,false]"),
        (Type::Dynamic, r#"{"value":1}"#),
        (Type::Dynamic, r#"{"value":1,"type":"number","x":2}"#),
        (Type::Dynamic, "1"),
        (Type::String, "\"unterminated"),
        (Type::String, r#""\ud800""#),
        (Type::Number, "01"),
        (Type::Number, "1."),
        (Type::Number, "1 2"),
        (Type::Bool, "tru"),
    ] {
        assert!(
            decode_json(&ty, bad.as_bytes(), o).is_err(),
            "{bad} as {ty}"
        );
    }
    assert!(encode_json(&Type::String, &Value::unknown()).is_err());
    assert!(encode_json(&Type::Number, &Value::Number(Number::positive_infinity())).is_err());
}
