//! Types and their JSON form.

use super::*;

#[test]
fn type_json_round_trips() {
    let cases = [
        r#""bool""#,
        r#""number""#,
        r#""string""#,
        r#""dynamic""#,
        r#"["list","string"]"#,
        r#"["set",["map","number"]]"#,
        r#"["object",{"a":"string","b":["list","bool"]}]"#,
        r#"["object",{"a":"string","b":"number"},["b"]]"#,
        r#"["tuple",["string",["tuple",[]]]]"#,
        r#"["object",{}]"#,
    ];
    for c in cases {
        let t = Type::from_json(c.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(t.to_json_bytes()).unwrap(), c);
        assert_eq!(t.to_string(), c);
    }
    for bad in [
        r#""int""#,
        r#"["list"]"#,
        r#"["list","string","x"]"#,
        r#"["object",["a"]]"#,
        r#"["object",{"a":"string"},["b"]]"#,
        r#"["tuple","string"]"#,
        r#"{"list":"string"}"#,
        r#"["capsule","x"]"#,
        "",
        "5",
    ] {
        assert!(Type::from_json(bad.as_bytes()).is_err(), "{bad}");
    }
    assert_eq!(
        Type::object_with_optional([("a", Type::String)], ["a"]).to_string(),
        r#"["object",{"a":"string"},["a"]]"#
    );
}
