//! Number semantics: equality, order, display, bounds.

use super::*;
use std::hash::{Hash, Hasher};

#[test]
fn number_semantics() {
    use std::collections::hash_map::DefaultHasher;
    let hash = |n: &Number| {
        let mut h = DefaultHasher::new();
        n.hash(&mut h);
        h.finish()
    };
    let equal = [
        ("1", "1.0"),
        ("1", "1e0"),
        ("100", "1e2"),
        ("0", "-0.0"),
        ("0.5", "5e-1"),
        ("-12.50", "-12.5"),
    ];
    for (a, b) in equal {
        assert_eq!(num(a), num(b), "{a} == {b}");
        assert_eq!(hash(&num(a)), hash(&num(b)), "hash {a} {b}");
    }
    assert_eq!(Number::from_i64(3), Number::from_f64(3.0));
    assert_ne!(num("0.1"), Number::from_f64(0.1));
    assert!(num("1") < num("1.5") && num("-2") < num("-1.5"));
    assert!(
        Number::negative_infinity() < num("-1e100") && num("1e100") < Number::positive_infinity()
    );
    for (text, shown) in [
        ("1.50", "1.5"),
        ("1e3", "1000"),
        ("-0.0", "0"),
        ("0.00120", "0.0012"),
        ("-123.456", "-123.456"),
        ("12345678901234567890.5", "12345678901234567890.5"),
        ("inf", "Infinity"),
        ("-Infinity", "-Infinity"),
    ] {
        assert_eq!(num(text).to_string(), shown, "{text}");
    }
    assert_eq!(num("42").as_i64(), Some(42));
    assert_eq!(num("4.2e1").as_i64(), Some(42));
    assert_eq!(num("42.5").as_i64(), None);
    assert_eq!(num("1e19").as_i64(), None);
    assert_eq!(num("1e19").as_u64(), Some(10_000_000_000_000_000_000));
    assert_eq!(num("-1").as_u64(), None);
    assert_eq!(num("0.1").as_f64(), Some(0.1));
    assert_eq!(num("0.1").to_f64_exact(), None);
    assert_eq!(Number::from_f64(0.1).to_f64_exact(), Some(0.1));
    assert_eq!(num("1e400").as_f64(), None);
    assert_eq!(Number::from_f64(f64::NAN), Number::zero());
    assert!(Number::try_from_f64(f64::NAN).is_none());
    assert!(num("1.5").as_bigdecimal().is_some());
    // bounded exponents and texts
    assert!(Number::parse("1e100000").is_err());
    assert!(Number::parse("1e-100000").is_err());
    assert_eq!(num("0e999999999999999999999"), Number::zero());
    assert!(Number::parse(&"9".repeat(MAX_NUMBER_TEXT_LEN + 1)).is_err());
    assert!(Number::parse(&"9".repeat(MAX_NUMBER_DIGITS as usize + 1)).is_err());
    assert!(Number::parse(&format!("1e-{}", MAX_NUMBER_SCALE + 1)).is_err());
    // the longest displays still parse back
    for extreme in [
        format!(
            "-{}e-{MAX_NUMBER_SCALE}",
            "9".repeat(MAX_NUMBER_DIGITS as usize - 1)
        ),
        format!("-1e-{MAX_NUMBER_SCALE}"),
        format!(
            "-{}e{}",
            "9".repeat(MAX_NUMBER_DIGITS as usize),
            MAX_NUMBER_SCALE
        ),
    ] {
        let n = num(&extreme);
        assert_eq!(num(&n.to_string()), n, "{extreme}");
        let bytes = encode_msgpack(&Type::Number, &Value::Number(n.clone())).unwrap();
        assert_eq!(
            decode_msgpack(&Type::Number, &bytes).unwrap(),
            Value::Number(n)
        );
    }
    assert_eq!(
        num(&format!("1{}", "0".repeat(10_000))).to_string().len(),
        10_001
    );
    let subnormal = Number::from_f64(f64::from_bits(1));
    assert_eq!(subnormal.to_f64_exact(), Some(f64::from_bits(1)));
    assert_eq!(Number::from_f64(f64::MAX).to_f64_exact(), Some(f64::MAX));
}
