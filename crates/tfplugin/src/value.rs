//! cty types and values, and the two wire codecs Terraform uses for them.
//!
//! Terraform sends every configuration, state and plan value to a provider as
//! a `DynamicValue`: msgpack bytes (or, as a fallback and for
//! `UpgradeResourceState`, JSON bytes) that encode a cty value of a type the
//! provider's schema implies. This module holds:
//!
//! * [`Type`]: the cty type system as it appears on the wire, with its JSON
//!   form (`"string"`, `["list","number"]`, `["object",{...}]`, ...).
//! * [`Value`]: a value of such a type, including null and (possibly refined)
//!   unknown values, and [`Number`], an arbitrary precision decimal.
//! * [`decode_msgpack`] / [`encode_msgpack`] and [`decode_json`] /
//!   [`encode_json`]: the codecs, driven by a [`Type`].
//!
//! Wire facts implemented here:
//!
//! * msgpack nil is null; any msgpack extension value is unknown. A plain
//!   unknown is written as `d4 00 00` (fixext1, type 0, one zero byte). A
//!   refined unknown is extension type 12 whose payload is a msgpack map with
//!   integer keys: 1 nullness (a bool that is *true when the value is
//!   definitely null* and *false when it is definitely not null*), 2 string
//!   prefix, 3/4 number lower/upper bound as `[number, inclusive]`, 5/6
//!   collection length lower/upper bound (inclusive integers). Unknown keys
//!   are skipped. An encoder never writes type 12 with an empty map.
//! * Numbers are read from any msgpack int or float, or from a string holding
//!   a decimal number; they are written as an integer when exactly an `i64`,
//!   else as a float64 when exactly representable, else as a decimal string.
//! * Objects are msgpack maps keyed by attribute name with every attribute
//!   present (a missing attribute decodes as null; an unexpected one is an
//!   error). Maps have string keys. Lists, sets and tuples are arrays.
//! * A value of the dynamic pseudo-type is a 2-element array: the JSON of its
//!   concrete type (as msgpack bin or str) and the value encoded with that
//!   type. In JSON it is `{"value": ..., "type": ...}`.
//!
//! Set equality: `Value`'s `PartialEq` (and `Ord`) compares the elements of
//! two `Value::Set`s without regard to order, so `Set([a, b]) == Set([b, a])`.
//! Decoders keep the wire order and do not remove duplicates.
//!
//! The decoders are meant to face hostile bytes: nesting deeper than
//! [`MAX_DEPTH`] is rejected, a declared length larger than what is left of
//! the input is rejected before anything is allocated, number texts and
//! exponents are bounded, and no input makes them panic.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use bigdecimal::num_bigint::{BigInt, Sign};
use bigdecimal::{BigDecimal, ToPrimitive, Zero};
use rmp::Marker;

/// Deepest nesting of values (and of types) the decoders accept.
pub const MAX_DEPTH: usize = 512;

/// Most significant decimal digits a number may have (cty itself keeps 512
/// bits, about 155 digits).
pub const MAX_NUMBER_DIGITS: u64 = 4096;

/// Largest magnitude of a number's decimal exponent (after removing trailing
/// zeros). Bounding it keeps comparisons and formatting cheap.
pub const MAX_NUMBER_SCALE: i64 = 16 * 1024;

/// Longest decimal text accepted for one number: room for the longest plain
/// decimal any accepted number displays as, so every number round-trips.
pub const MAX_NUMBER_TEXT_LEN: usize = 32 * 1024;

/// cty refuses refinement payloads larger than this; so do we.
const MAX_REFINEMENT_PAYLOAD: usize = 1024;

/// msgpack extension type of a refined unknown value.
const EXT_REFINED_UNKNOWN: i8 = 12;

const UNKNOWN_BYTES: [u8; 3] = [0xd4, 0x00, 0x00];

// ---------------------------------------------------------------------------
// Errors and paths
// ---------------------------------------------------------------------------

/// A value or type did not decode, encode or conform. `path` says where in the
/// value (`.attr`, `["map key"]`, `[index]` steps; empty for the whole value)
/// and `message` what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", at_prefix(.path), .message)]
pub struct ValueError {
    pub path: String,
    pub message: String,
}

impl ValueError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ValueError {
        ValueError {
            path: path.into(),
            message: message.into(),
        }
    }
}

fn at_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("at {path}: ")
    }
}

/// A location inside a value, built on the stack while walking it and only
/// rendered to text when an error is reported.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Attr(&'a Path<'a>, &'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut cur = self;
        loop {
            match cur {
                Path::Root => break,
                Path::Attr(parent, _) | Path::Key(parent, _) | Path::Index(parent, _) => {
                    steps.push(cur);
                    cur = parent;
                }
            }
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            match step {
                Path::Root => {}
                Path::Attr(_, name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Path::Key(_, key) => {
                    out.push('[');
                    out.push_str(&quote(key));
                    out.push(']');
                }
                Path::Index(_, i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out
    }

    fn err(&self, message: impl Into<String>) -> ValueError {
        ValueError::new(self.render(), message)
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// A cty type. `Dynamic` is the pseudo-type whose values carry their concrete
/// type at run time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Bool,
    Number,
    String,
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(ObjectType),
    Tuple(Vec<Type>),
}

/// The attributes of an object type. `optional` names attributes that are
/// optional in a type constraint; it only matters to the type's JSON form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectType {
    pub attrs: BTreeMap<String, Type>,
    pub optional: BTreeSet<String>,
}

impl Type {
    /// Parse a type from its JSON form, e.g. `["map",["list","string"]]`.
    pub fn from_json(bytes: &[u8]) -> Result<Type, ValueError> {
        let json: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ValueError::new("", format!("invalid type JSON: {e}")))?;
        Type::from_json_value(&json)
    }

    /// Like [`Type::from_json`], from an already parsed JSON value.
    pub fn from_json_value(json: &serde_json::Value) -> Result<Type, ValueError> {
        type_from_json(json, 0)
    }

    /// The type's JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Type::Bool => J::from("bool"),
            Type::Number => J::from("number"),
            Type::String => J::from("string"),
            Type::Dynamic => J::from("dynamic"),
            Type::List(t) => J::Array(vec![J::from("list"), t.to_json()]),
            Type::Set(t) => J::Array(vec![J::from("set"), t.to_json()]),
            Type::Map(t) => J::Array(vec![J::from("map"), t.to_json()]),
            Type::Object(o) => {
                let attrs: serde_json::Map<String, J> = o
                    .attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                let mut out = vec![J::from("object"), J::Object(attrs)];
                if !o.optional.is_empty() {
                    out.push(J::Array(
                        o.optional.iter().map(|n| J::from(n.as_str())).collect(),
                    ));
                }
                J::Array(out)
            }
            Type::Tuple(ts) => J::Array(vec![
                J::from("tuple"),
                J::Array(ts.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// The type's JSON form as compact bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// An object type with the given attributes, none optional.
    pub fn object(attrs: impl IntoIterator<Item = (impl Into<String>, Type)>) -> Type {
        Type::Object(ObjectType {
            attrs: attrs.into_iter().map(|(k, t)| (k.into(), t)).collect(),
            optional: BTreeSet::new(),
        })
    }

    /// An object type with some attributes marked optional.
    pub fn object_with_optional(
        attrs: impl IntoIterator<Item = (impl Into<String>, Type)>,
        optional: impl IntoIterator<Item = impl Into<String>>,
    ) -> Type {
        Type::Object(ObjectType {
            attrs: attrs.into_iter().map(|(k, t)| (k.into(), t)).collect(),
            optional: optional.into_iter().map(Into::into).collect(),
        })
    }

    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }

    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    pub fn tuple(ts: impl IntoIterator<Item = Type>) -> Type {
        Type::Tuple(ts.into_iter().collect())
    }

    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Bool | Type::Number | Type::String)
    }

    /// List, set or map.
    pub fn is_collection(&self) -> bool {
        matches!(self, Type::List(_) | Type::Set(_) | Type::Map(_))
    }

    /// The element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// The type of an object attribute.
    pub fn attr_type(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Object(o) => o.attrs.get(name),
            _ => None,
        }
    }

    /// A short human name: `string`, `list of number`, `object`, ...
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "dynamic".into(),
            Type::List(t) => format!("list of {}", t.friendly_name()),
            Type::Set(t) => format!("set of {}", t.friendly_name()),
            Type::Map(t) => format!("map of {}", t.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }
}

impl fmt::Display for Type {
    /// The compact JSON form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

fn type_from_json(json: &serde_json::Value, depth: usize) -> Result<Type, ValueError> {
    use serde_json::Value as J;
    let bad = |what: String| ValueError::new("", format!("invalid type JSON: {what}"));
    if depth > MAX_DEPTH {
        return Err(bad(format!("nested deeper than {MAX_DEPTH}")));
    }
    match json {
        J::String(name) => match name.as_str() {
            "bool" => Ok(Type::Bool),
            "number" => Ok(Type::Number),
            "string" => Ok(Type::String),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(bad(format!("unknown primitive type {}", quote(other)))),
        },
        J::Array(items) => {
            let Some(kind) = items.first().and_then(J::as_str) else {
                return Err(bad("a type array must start with its kind".into()));
            };
            match (kind, items.len()) {
                ("list", 2) => Ok(Type::list(type_from_json(&items[1], depth + 1)?)),
                ("set", 2) => Ok(Type::set(type_from_json(&items[1], depth + 1)?)),
                ("map", 2) => Ok(Type::map(type_from_json(&items[1], depth + 1)?)),
                ("object", 2 | 3) => {
                    let Some(attr_json) = items[1].as_object() else {
                        return Err(bad("object attributes must be a JSON object".into()));
                    };
                    let mut attrs = BTreeMap::new();
                    for (name, t) in attr_json {
                        attrs.insert(name.clone(), type_from_json(t, depth + 1)?);
                    }
                    let mut optional = BTreeSet::new();
                    if let Some(opt_json) = items.get(2) {
                        let Some(names) = opt_json.as_array() else {
                            return Err(bad("optional attributes must be an array".into()));
                        };
                        for name in names {
                            let Some(name) = name.as_str() else {
                                return Err(bad("optional attribute names must be strings".into()));
                            };
                            if !attrs.contains_key(name) {
                                return Err(bad(format!(
                                    "optional attribute {} is not an attribute",
                                    quote(name)
                                )));
                            }
                            optional.insert(name.to_string());
                        }
                    }
                    Ok(Type::Object(ObjectType { attrs, optional }))
                }
                ("tuple", 2) => {
                    let Some(elems) = items[1].as_array() else {
                        return Err(bad("tuple element types must be an array".into()));
                    };
                    let ts = elems
                        .iter()
                        .map(|t| type_from_json(t, depth + 1))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Type::Tuple(ts))
                }
                (kind, n) => Err(bad(format!(
                    "unsupported type kind {} with {n} elements",
                    quote(kind)
                ))),
            }
        }
        _ => Err(bad("a type is a JSON string or array".into())),
    }
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// An arbitrary precision decimal number (or ±infinity, which cty also has).
///
/// Numbers are kept normalised (no trailing zeros in the coefficient), so
/// equality and hashing follow the numeric value: `1 == 1.0 == 1e0`. The
/// decimal exponent is bounded by [`MAX_NUMBER_SCALE`].
#[derive(Clone)]
pub struct Number(NumRepr);

#[derive(Clone)]
enum NumRepr {
    NegInf,
    /// Normalised: zero has scale 0, otherwise the coefficient has no
    /// trailing decimal zeros, and `|scale| <= MAX_NUMBER_SCALE`.
    Finite(BigDecimal),
    PosInf,
}

impl Number {
    pub fn zero() -> Number {
        Number(NumRepr::Finite(BigDecimal::zero()))
    }

    pub fn from_i64(i: i64) -> Number {
        Number::normalized(BigInt::from(i), 0)
    }

    pub fn from_u64(u: u64) -> Number {
        Number::normalized(BigInt::from(u), 0)
    }

    /// The exact value of `f` (every finite float is a finite decimal), so
    /// that a float received from Terraform is sent back as the same float.
    /// NaN, which cty cannot represent, becomes zero; use
    /// [`Number::try_from_f64`] to detect it.
    pub fn from_f64(f: f64) -> Number {
        Number::try_from_f64(f).unwrap_or_else(Number::zero)
    }

    /// Like [`Number::from_f64`], `None` for NaN.
    pub fn try_from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            None
        } else if f == f64::INFINITY {
            Some(Number::positive_infinity())
        } else if f == f64::NEG_INFINITY {
            Some(Number::negative_infinity())
        } else {
            let (int, scale) = f64_exact_parts(f);
            Some(Number::normalized(int, scale))
        }
    }

    /// Parse a decimal number such as `-12.5`, `1e3`, `.5` or `Infinity`.
    /// Same as `s.parse::<Number>()`.
    pub fn parse(s: &str) -> Result<Number, ValueError> {
        parse_number(s).map_err(|m| ValueError::new("", m))
    }

    pub fn positive_infinity() -> Number {
        Number(NumRepr::PosInf)
    }

    pub fn negative_infinity() -> Number {
        Number(NumRepr::NegInf)
    }

    pub fn is_infinite(&self) -> bool {
        !matches!(self.0, NumRepr::Finite(_))
    }

    /// A finite number without fractional part.
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            NumRepr::Finite(d) => d.as_bigint_and_scale().1 <= 0,
            _ => false,
        }
    }

    /// The value as an `i64` if it is exactly one.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_exact_int()?.to_i64()
    }

    /// The value as a `u64` if it is exactly one.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_exact_int()?.to_u64()
    }

    fn as_exact_int(&self) -> Option<BigInt> {
        let NumRepr::Finite(d) = &self.0 else {
            return None;
        };
        let (int, scale) = d.as_bigint_and_scale();
        if !(-20..=0).contains(&scale) {
            return None;
        }
        Some(int.into_owned() * BigInt::from(10u8).pow(scale.unsigned_abs() as u32))
    }

    /// The nearest `f64` (infinities map to infinities). `None` when a finite
    /// number is too large for an `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match &self.0 {
            NumRepr::NegInf => Some(f64::NEG_INFINITY),
            NumRepr::PosInf => Some(f64::INFINITY),
            NumRepr::Finite(d) => {
                let (int, scale) = d.as_bigint_and_scale();
                let f: f64 = format!("{int}e{}", -scale).parse().ok()?;
                f.is_finite().then_some(f)
            }
        }
    }

    /// The value as an `f64` only if that is exact.
    pub fn to_f64_exact(&self) -> Option<f64> {
        let f = self.as_f64()?;
        match &self.0 {
            NumRepr::Finite(_) => (Number::from_f64(f) == *self).then_some(f),
            _ => Some(f),
        }
    }

    /// The decimal value; `None` for the infinities.
    pub fn as_bigdecimal(&self) -> Option<&BigDecimal> {
        match &self.0 {
            NumRepr::Finite(d) => Some(d),
            _ => None,
        }
    }

    /// Build from coefficient and scale (value = int × 10^-scale), enforcing
    /// the exponent bound.
    fn checked(int: BigInt, scale: i64) -> Result<Number, String> {
        let n = Number::normalized(int, scale);
        if let NumRepr::Finite(d) = &n.0 {
            if d.as_bigint_and_scale().1.abs() > MAX_NUMBER_SCALE {
                return Err(format!(
                    "number is outside the supported range (decimal exponent beyond ±{MAX_NUMBER_SCALE})"
                ));
            }
            if d.digits() > MAX_NUMBER_DIGITS {
                return Err(format!(
                    "number has more than {MAX_NUMBER_DIGITS} significant digits"
                ));
            }
        }
        Ok(n)
    }

    fn normalized(int: BigInt, scale: i64) -> Number {
        if int.is_zero() {
            return Number::zero();
        }
        let digits = int.magnitude().to_str_radix(10);
        let trailing = digits.bytes().rev().take_while(|&b| b == b'0').count();
        if trailing == 0 {
            return Number(NumRepr::Finite(BigDecimal::new(int, scale)));
        }
        let Ok(trailing_u32) = u32::try_from(trailing) else {
            return Number(NumRepr::Finite(BigDecimal::new(int, scale)));
        };
        let int = int / BigInt::from(10u8).pow(trailing_u32);
        let scale = scale.saturating_sub(i64::from(trailing_u32));
        Number(NumRepr::Finite(BigDecimal::new(int, scale)))
    }
}

/// The exact decimal value of a finite float as (coefficient, scale).
fn f64_exact_parts(f: f64) -> (BigInt, i64) {
    if f == 0.0 {
        return (BigInt::zero(), 0);
    }
    let bits = f.to_bits();
    let negative = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exp) = if exp_bits == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exp_bits - 1075)
    };
    let mut int = BigInt::from(mantissa);
    let scale = if exp >= 0 {
        int <<= exp as usize;
        0
    } else {
        // m × 2^-k = m × 5^k / 10^k
        int *= BigInt::from(5u8).pow((-exp) as u32);
        -exp
    };
    if negative {
        int = -int;
    }
    (int, scale)
}

fn parse_number(s: &str) -> Result<Number, String> {
    let bad = || {
        format!(
            "{} is not a decimal number",
            quote(&truncate_for_message(s))
        )
    };
    if s.len() > MAX_NUMBER_TEXT_LEN {
        return Err(format!(
            "number text is longer than {MAX_NUMBER_TEXT_LEN} bytes"
        ));
    }
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Ok(if negative {
            Number::negative_infinity()
        } else {
            Number::positive_infinity()
        });
    }
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &rest[..i];
    let mut frac_digits = "";
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &rest[start..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(bad());
    }
    let mut exp: i64 = 0;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let mut exp_negative = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            exp_negative = b[i] == b'-';
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            // Saturate far beyond any accepted exponent.
            exp = (exp * 10 + i64::from(b[i] - b'0')).min(1_000_000_000_000);
            i += 1;
        }
        if start == i {
            return Err(bad());
        }
        if exp_negative {
            exp = -exp;
        }
    }
    if i != b.len() {
        return Err(bad());
    }
    let mut digits = String::with_capacity(int_digits.len() + frac_digits.len());
    digits.push_str(int_digits);
    digits.push_str(frac_digits);
    let mut int = BigInt::parse_bytes(digits.as_bytes(), 10).ok_or_else(bad)?;
    if negative {
        int = -int;
    }
    let frac_len = i64::try_from(frac_digits.len()).map_err(|_| bad())?;
    Number::checked(int, frac_len - exp)
}

fn truncate_for_message(s: &str) -> String {
    if s.len() <= 64 {
        return s.to_string();
    }
    let mut end = 64;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

impl FromStr for Number {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Number, ValueError> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::from_i64(i)
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Number {
        Number::from_i64(i64::from(i))
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Number {
        Number::from_u64(u)
    }
}

impl From<u32> for Number {
    fn from(u: u32) -> Number {
        Number::from_u64(u64::from(u))
    }
}

impl From<usize> for Number {
    fn from(u: usize) -> Number {
        Number::normalized(BigInt::from(u), 0)
    }
}

impl TryFrom<f64> for Number {
    type Error = ValueError;

    fn try_from(f: f64) -> Result<Number, ValueError> {
        Number::try_from_f64(f).ok_or_else(|| ValueError::new("", "NaN is not a number"))
    }
}

impl TryFrom<BigDecimal> for Number {
    type Error = ValueError;

    fn try_from(d: BigDecimal) -> Result<Number, ValueError> {
        if d.digits() > MAX_NUMBER_TEXT_LEN as u64 {
            // Cheap guard before normalising; `checked` applies the real bound.
            return Err(ValueError::new("", "number has too many digits"));
        }
        let (int, scale) = d.into_bigint_and_scale();
        Number::checked(int, scale).map_err(|m| ValueError::new("", m))
    }
}

impl fmt::Display for Number {
    /// A plain decimal without exponent and without trailing zeros, e.g.
    /// `-12.5`, `1000`, `0.001`; the infinities are `Infinity`/`-Infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            NumRepr::NegInf => f.write_str("-Infinity"),
            NumRepr::PosInf => f.write_str("Infinity"),
            NumRepr::Finite(d) => {
                let (int, scale) = d.as_bigint_and_scale();
                if int.sign() == Sign::Minus {
                    f.write_char('-')?;
                }
                let digits = int.magnitude().to_str_radix(10);
                if scale <= 0 {
                    f.write_str(&digits)?;
                    for _ in 0..scale.unsigned_abs() {
                        f.write_char('0')?;
                    }
                    Ok(())
                } else {
                    let scale = usize::try_from(scale).unwrap_or(usize::MAX);
                    if digits.len() > scale {
                        let (a, b) = digits.split_at(digits.len() - scale);
                        write!(f, "{a}.{b}")
                    } else {
                        f.write_str("0.")?;
                        for _ in 0..scale - digits.len() {
                            f.write_char('0')?;
                        }
                        f.write_str(&digits)
                    }
                }
            }
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (&self.0, &other.0) {
            (NumRepr::NegInf, NumRepr::NegInf) | (NumRepr::PosInf, NumRepr::PosInf) => true,
            // Both normalised: the same value has the same representation.
            (NumRepr::Finite(a), NumRepr::Finite(b)) => {
                a.as_bigint_and_scale() == b.as_bigint_and_scale()
            }
            _ => false,
        }
    }
}

impl Eq for Number {}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            NumRepr::NegInf => state.write_u8(0),
            NumRepr::Finite(d) => {
                state.write_u8(1);
                let (int, scale) = d.as_bigint_and_scale();
                int.hash(state);
                scale.hash(state);
            }
            NumRepr::PosInf => state.write_u8(2),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    /// Numeric order, with the infinities at the ends.
    fn cmp(&self, other: &Number) -> Ordering {
        fn rank(n: &NumRepr) -> u8 {
            match n {
                NumRepr::NegInf => 0,
                NumRepr::Finite(_) => 1,
                NumRepr::PosInf => 2,
            }
        }
        match (&self.0, &other.0) {
            (NumRepr::Finite(a), NumRepr::Finite(b)) => a.cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

// ---------------------------------------------------------------------------
// Refinements
// ---------------------------------------------------------------------------

/// What is known about an unknown value (Terraform 1.6+ "refinements").
/// The default is a wholly unknown value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Refinements {
    /// The final value is definitely not null. (On the wire, key 1 holds
    /// `false` for this; `true` there would mean "definitely null", which
    /// decodes to a plain null value.)
    pub not_null: bool,
    /// Strings only: the final value starts with this (non-empty) prefix.
    pub string_prefix: Option<String>,
    /// Numbers only: lower bound and whether it is inclusive.
    pub number_lower: Option<(Number, bool)>,
    /// Numbers only: upper bound and whether it is inclusive.
    pub number_upper: Option<(Number, bool)>,
    /// Lists, sets and maps only: inclusive lower bound of the length.
    pub length_min: Option<u64>,
    /// Lists, sets and maps only: inclusive upper bound of the length.
    pub length_max: Option<u64>,
}

impl Refinements {
    /// No refinement at all (a wholly unknown value).
    pub fn is_empty(&self) -> bool {
        !self.not_null
            && self.string_prefix.as_deref().is_none_or(str::is_empty)
            && self.number_lower.is_none()
            && self.number_upper.is_none()
            && self.length_min.is_none()
            && self.length_max.is_none()
    }

    /// Only the refinements that can apply to a value of type `ty` (this is
    /// what the encoder writes).
    pub fn for_type(&self, ty: &Type) -> Refinements {
        if *ty == Type::Dynamic {
            return Refinements::default();
        }
        Refinements {
            not_null: self.not_null,
            string_prefix: if *ty == Type::String {
                self.string_prefix.clone().filter(|p| !p.is_empty())
            } else {
                None
            },
            number_lower: if *ty == Type::Number {
                self.number_lower.clone()
            } else {
                None
            },
            number_upper: if *ty == Type::Number {
                self.number_upper.clone()
            } else {
                None
            },
            length_min: if ty.is_collection() {
                self.length_min
            } else {
                None
            },
            length_max: if ty.is_collection() {
                self.length_max
            } else {
                None
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/// A cty value. Its type is not stored: codecs take the type separately,
/// except for values of the dynamic pseudo-type, which are
/// `Dynamic(concrete type, value)`. A null or unknown dynamic value is plain
/// `Null` / `Unknown(..)`.
///
/// Equality treats `Set`s as unordered (see the module docs); `Ord` is an
/// arbitrary total order consistent with that equality.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Unknown(Refinements),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    Dynamic(Type, Box<Value>),
}

impl Value {
    pub fn null() -> Value {
        Value::Null
    }

    /// A wholly unknown value.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }

    /// An unknown value known not to be null.
    pub fn unknown_not_null() -> Value {
        Value::Unknown(Refinements {
            not_null: true,
            ..Refinements::default()
        })
    }

    pub fn bool(b: bool) -> Value {
        Value::Bool(b)
    }

    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    pub fn int(i: i64) -> Value {
        Value::Number(Number::from_i64(i))
    }

    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(items.into_iter().collect())
    }

    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(items.into_iter().collect())
    }

    pub fn tuple(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Tuple(items.into_iter().collect())
    }

    pub fn map(entries: impl IntoIterator<Item = (impl Into<String>, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn object(attrs: impl IntoIterator<Item = (impl Into<String>, Value)>) -> Value {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A value of dynamic pseudo-type with concrete type `ty`.
    pub fn dynamic(ty: Type, v: Value) -> Value {
        Value::Dynamic(ty, Box::new(v))
    }

    /// Looks through `Dynamic` wrappers to the value inside.
    pub fn inner(&self) -> &Value {
        let mut v = self;
        while let Value::Dynamic(_, inner) = v {
            v = inner;
        }
        v
    }

    pub fn is_null(&self) -> bool {
        matches!(self.inner(), Value::Null)
    }

    /// The value itself is unknown (values inside it are not looked at).
    pub fn is_unknown(&self) -> bool {
        matches!(self.inner(), Value::Unknown(_))
    }

    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }

    /// No unknown value anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
                xs.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.inner() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.inner() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.inner() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.as_number()?.as_i64()
    }

    /// The elements of a list, set or tuple.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self.inner() {
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => Some(xs),
            _ => None,
        }
    }

    /// The entries of a map or the attributes of an object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.inner() {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// An attribute of an object value.
    pub fn attr(&self, name: &str) -> Option<&Value> {
        match self.inner() {
            Value::Object(m) => m.get(name),
            _ => None,
        }
    }

    /// An element of a map value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self.inner() {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    /// Unknown refinements, if the value is unknown.
    pub fn refinements(&self) -> Option<&Refinements> {
        match self.inner() {
            Value::Unknown(r) => Some(r),
            _ => None,
        }
    }

    fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown(_) => "unknown",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
            Value::Dynamic(..) => "dynamic value",
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Unknown(_) => 1,
            Value::Bool(_) => 2,
            Value::Number(_) => 3,
            Value::String(_) => 4,
            Value::List(_) => 5,
            Value::Set(_) => 6,
            Value::Map(_) => 7,
            Value::Object(_) => 8,
            Value::Tuple(_) => 9,
            Value::Dynamic(..) => 10,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::int(i)
    }
}

fn cmp_seq<'a>(
    a: impl ExactSizeIterator<Item = &'a Value>,
    b: impl ExactSizeIterator<Item = &'a Value>,
) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        for (x, y) in a.zip(b) {
            let o = x.cmp(y);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    })
}

fn cmp_entries(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        for ((ka, va), (kb, vb)) in a.iter().zip(b) {
            let o = ka.cmp(kb).then_with(|| va.cmp(vb));
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    })
}

impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Unknown(a), Value::Unknown(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Number(a), Value::Number(b)) => a.cmp(b),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                cmp_seq(a.iter(), b.iter())
            }
            (Value::Set(a), Value::Set(b)) => {
                if a.len() != b.len() {
                    return a.len().cmp(&b.len());
                }
                let mut a: Vec<&Value> = a.iter().collect();
                let mut b: Vec<&Value> = b.iter().collect();
                a.sort();
                b.sort();
                cmp_seq(a.into_iter(), b.into_iter())
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                cmp_entries(a, b)
            }
            (Value::Dynamic(ta, va), Value::Dynamic(tb, vb)) => ta.cmp(tb).then_with(|| va.cmp(vb)),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

// ---------------------------------------------------------------------------
// msgpack decoding
// ---------------------------------------------------------------------------

/// Decode msgpack bytes as a value of type `ty`. Empty input is null.
pub fn decode_msgpack(ty: &Type, bytes: &[u8]) -> Result<Value, ValueError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = r.value(ty, &Path::Root, 0)?;
    if r.pos != bytes.len() {
        return Err(Path::Root.err(format!(
            "{} unexpected bytes after the msgpack value",
            bytes.len() - r.pos
        )));
    }
    Ok(v)
}

/// Decode a `DynamicValue`: msgpack when present, else JSON, else null.
pub fn decode_dynamic_value(ty: &Type, msgpack: &[u8], json: &[u8]) -> Result<Value, ValueError> {
    if !msgpack.is_empty() {
        decode_msgpack(ty, msgpack)
    } else {
        decode_json(ty, json, DecodeJsonOpts::default())
    }
}

enum Int {
    U(u64),
    I(i64),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn marker_name(m: Marker) -> String {
    match m {
        Marker::Null => "nil".into(),
        Marker::True | Marker::False => "bool".into(),
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "integer".into(),
        Marker::F32 | Marker::F64 => "float".into(),
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "string".into(),
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary".into(),
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array".into(),
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map".into(),
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => "extension".into(),
        Marker::Reserved => "the reserved byte 0xc1".into(),
    }
}

#[cold]
#[inline(never)]
fn too_deep(path: &Path) -> ValueError {
    path.err(format!("value is nested deeper than {MAX_DEPTH}"))
}

#[cold]
#[inline(never)]
fn expected_marker(path: &Path, what: &str, m: Marker) -> ValueError {
    path.err(format!("expected {what}, found msgpack {}", marker_name(m)))
}

#[cold]
#[inline(never)]
fn unsupported_attribute(path: &Path, key: &str) -> ValueError {
    path.err(format!("unsupported attribute {}", quote(key)))
}

fn is_ext(m: Marker) -> bool {
    matches!(
        m,
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    )
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn peek(&self, path: &Path) -> Result<Marker, ValueError> {
        match self.buf.get(self.pos) {
            Some(&b) => Ok(Marker::from_u8(b)),
            None => Err(path.err("unexpected end of msgpack input")),
        }
    }

    fn marker(&mut self, path: &Path) -> Result<Marker, ValueError> {
        let m = self.peek(path)?;
        self.pos += 1;
        Ok(m)
    }

    fn take(&mut self, n: usize, path: &Path) -> Result<&'a [u8], ValueError> {
        if n > self.remaining() {
            return Err(path.err(format!(
                "msgpack input declares {n} bytes but only {} remain",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize, path: &Path) -> Result<u64, ValueError> {
        let s = self.take(n, path)?;
        Ok(s.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn be_usize(&mut self, n: usize, path: &Path) -> Result<usize, ValueError> {
        let v = self.be(n, path)?;
        usize::try_from(v).map_err(|_| path.err("msgpack length does not fit in memory"))
    }

    /// The length that follows a string marker, or `None` for other markers.
    fn str_len(&mut self, m: Marker, path: &Path) -> Result<Option<usize>, ValueError> {
        Ok(Some(match m {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 => self.be_usize(1, path)?,
            Marker::Str16 => self.be_usize(2, path)?,
            Marker::Str32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        }))
    }

    fn bin_len(&mut self, m: Marker, path: &Path) -> Result<Option<usize>, ValueError> {
        Ok(Some(match m {
            Marker::Bin8 => self.be_usize(1, path)?,
            Marker::Bin16 => self.be_usize(2, path)?,
            Marker::Bin32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        }))
    }

    /// Array length, checked against the remaining input (every element
    /// takes at least one byte).
    fn array_len(&mut self, m: Marker, path: &Path) -> Result<Option<usize>, ValueError> {
        let n = match m {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => self.be_usize(2, path)?,
            Marker::Array32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        };
        if n > self.remaining() {
            return Err(path.err(format!(
                "msgpack array declares {n} elements but only {} bytes remain",
                self.remaining()
            )));
        }
        Ok(Some(n))
    }

    /// Map length, checked against the remaining input (every entry takes
    /// at least two bytes).
    fn map_len(&mut self, m: Marker, path: &Path) -> Result<Option<usize>, ValueError> {
        let n = match m {
            Marker::FixMap(n) => usize::from(n),
            Marker::Map16 => self.be_usize(2, path)?,
            Marker::Map32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        };
        if n > self.remaining() / 2 {
            return Err(path.err(format!(
                "msgpack map declares {n} entries but only {} bytes remain",
                self.remaining()
            )));
        }
        Ok(Some(n))
    }

    /// Extension header: (payload length, extension type).
    fn ext_header(&mut self, m: Marker, path: &Path) -> Result<Option<(usize, i8)>, ValueError> {
        let len = match m {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.be_usize(1, path)?,
            Marker::Ext16 => self.be_usize(2, path)?,
            Marker::Ext32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        };
        let ty = self.take(1, path)?[0] as i8;
        Ok(Some((len, ty)))
    }

    fn int(&mut self, m: Marker, path: &Path) -> Result<Option<Int>, ValueError> {
        Ok(Some(match m {
            Marker::FixPos(n) => Int::U(u64::from(n)),
            Marker::FixNeg(n) => Int::I(i64::from(n)),
            Marker::U8 => Int::U(self.be(1, path)?),
            Marker::U16 => Int::U(self.be(2, path)?),
            Marker::U32 => Int::U(self.be(4, path)?),
            Marker::U64 => Int::U(self.be(8, path)?),
            Marker::I8 => Int::I(i64::from(self.be(1, path)? as u8 as i8)),
            Marker::I16 => Int::I(i64::from(self.be(2, path)? as u16 as i16)),
            Marker::I32 => Int::I(i64::from(self.be(4, path)? as u32 as i32)),
            Marker::I64 => Int::I(self.be(8, path)? as i64),
            _ => return Ok(None),
        }))
    }

    fn utf8(&mut self, len: usize, path: &Path) -> Result<&'a str, ValueError> {
        let bytes = self.take(len, path)?;
        std::str::from_utf8(bytes).map_err(|_| path.err("string is not valid UTF-8"))
    }

    /// A msgpack str (or bin holding UTF-8).
    fn string(&mut self, what: &str, path: &Path) -> Result<&'a str, ValueError> {
        let m = self.marker(path)?;
        if let Some(len) = self.str_len(m, path)? {
            return self.utf8(len, path);
        }
        if let Some(len) = self.bin_len(m, path)? {
            return self.utf8(len, path);
        }
        Err(path.err(format!("expected {what}, found msgpack {}", marker_name(m))))
    }

    // The decoder recurses once per nesting level, so `value` only
    // dispatches: each kind is decoded in its own small, never-inlined
    // function, which keeps the per-level stack use small even in debug
    // builds.
    fn value(&mut self, ty: &Type, path: &Path, depth: usize) -> Result<Value, ValueError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(path));
        }
        let m = self.peek(path)?;
        if is_ext(m) {
            return self.unknown(ty, path, depth);
        }
        if m == Marker::Null {
            self.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::Dynamic => self.dynamic(path, depth),
            Type::Bool => self.bool_value(path),
            Type::Number => self.number_value(path),
            Type::String => self.string_value(path),
            Type::List(et) => self.sequence(ty, et, path, depth),
            Type::Set(et) => self.sequence(ty, et, path, depth),
            Type::Tuple(ets) => self.tuple(ets, path, depth),
            Type::Map(et) => self.map_value(ty, et, path, depth),
            Type::Object(ot) => self.object(ot, path, depth),
        }
    }

    /// An array header for `ty`, with exactly `want` elements if given.
    #[inline(never)]
    fn array_header(
        &mut self,
        ty: &Type,
        want: Option<usize>,
        path: &Path,
    ) -> Result<usize, ValueError> {
        let m = self.marker(path)?;
        let Some(n) = self.array_len(m, path)? else {
            return Err(expected_marker(path, &ty.friendly_name(), m));
        };
        match want {
            Some(want) if want != n => {
                Err(path.err(format!("expected a tuple of {want} elements, found {n}")))
            }
            _ => Ok(n),
        }
    }

    #[inline(never)]
    fn map_header(&mut self, ty: &Type, path: &Path) -> Result<usize, ValueError> {
        let m = self.marker(path)?;
        match self.map_len(m, path)? {
            Some(n) => Ok(n),
            None => Err(expected_marker(path, &ty.friendly_name(), m)),
        }
    }

    #[inline(never)]
    fn bool_value(&mut self, path: &Path) -> Result<Value, ValueError> {
        match self.marker(path)? {
            Marker::True => Ok(Value::Bool(true)),
            Marker::False => Ok(Value::Bool(false)),
            m => Err(expected_marker(path, "bool", m)),
        }
    }

    #[inline(never)]
    fn number_value(&mut self, path: &Path) -> Result<Value, ValueError> {
        Ok(Value::Number(self.number(path)?))
    }

    #[inline(never)]
    fn string_value(&mut self, path: &Path) -> Result<Value, ValueError> {
        Ok(Value::String(self.string("string", path)?.to_string()))
    }

    #[inline(never)]
    fn sequence(
        &mut self,
        ty: &Type,
        et: &Type,
        path: &Path,
        depth: usize,
    ) -> Result<Value, ValueError> {
        let n = self.array_header(ty, None, path)?;
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            items.push(self.value(et, &Path::Index(path, i), depth + 1)?);
        }
        Ok(if matches!(ty, Type::Set(_)) {
            Value::Set(items)
        } else {
            Value::List(items)
        })
    }

    #[inline(never)]
    fn tuple(&mut self, ets: &[Type], path: &Path, depth: usize) -> Result<Value, ValueError> {
        let n = self.array_header(&Type::Tuple(Vec::new()), Some(ets.len()), path)?;
        let mut items = Vec::with_capacity(n);
        for (i, et) in ets.iter().enumerate() {
            items.push(self.value(et, &Path::Index(path, i), depth + 1)?);
        }
        Ok(Value::Tuple(items))
    }

    #[inline(never)]
    fn map_value(
        &mut self,
        ty: &Type,
        et: &Type,
        path: &Path,
        depth: usize,
    ) -> Result<Value, ValueError> {
        let n = self.map_header(ty, path)?;
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let key = self.string("a string map key", path)?;
            let v = self.value(et, &Path::Key(path, key), depth + 1)?;
            out.insert(key.to_string(), v);
        }
        Ok(Value::Map(out))
    }

    #[inline(never)]
    fn object(&mut self, ot: &ObjectType, path: &Path, depth: usize) -> Result<Value, ValueError> {
        let n = self.map_header(&Type::Object(ObjectType::default()), path)?;
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let key = self.string("a string attribute name", path)?;
            let Some(at) = ot.attrs.get(key) else {
                return Err(unsupported_attribute(path, key));
            };
            let v = self.value(at, &Path::Attr(path, key), depth + 1)?;
            out.insert(key.to_string(), v);
        }
        for name in ot.attrs.keys() {
            if !out.contains_key(name) {
                out.insert(name.clone(), Value::Null);
            }
        }
        Ok(Value::Object(out))
    }

    #[inline(never)]
    fn dynamic(&mut self, path: &Path, depth: usize) -> Result<Value, ValueError> {
        let ty = self.dynamic_header(path)?;
        let v = self.value(&ty, path, depth + 1)?;
        if ty == Type::Dynamic {
            // A dynamic value whose type is "dynamic" is just that value.
            return Ok(v);
        }
        Ok(Value::Dynamic(ty, Box::new(v)))
    }

    /// The `[type, ` part of a dynamic value.
    #[inline(never)]
    fn dynamic_header(&mut self, path: &Path) -> Result<Type, ValueError> {
        let m = self.marker(path)?;
        if self.array_len(m, path)? != Some(2) {
            return Err(path.err(format!(
                "a dynamic value must be a 2-element msgpack array [type, value], found {}",
                marker_name(m)
            )));
        }
        let m = self.marker(path)?;
        let len = if let Some(len) = self.bin_len(m, path)? {
            len
        } else if let Some(len) = self.str_len(m, path)? {
            len
        } else {
            return Err(path.err(format!(
                "a dynamic value's type must be msgpack bin or str, found {}",
                marker_name(m)
            )));
        };
        let type_json = self.take(len, path)?;
        Type::from_json(type_json).map_err(|e| path.err(e.message))
    }

    fn number(&mut self, path: &Path) -> Result<Number, ValueError> {
        let m = self.marker(path)?;
        match self.int(m, path)? {
            Some(Int::U(u)) => return Ok(Number::from_u64(u)),
            Some(Int::I(i)) => return Ok(Number::from_i64(i)),
            None => {}
        }
        let float = match m {
            Marker::F32 => Some(f64::from(f32::from_bits(self.be(4, path)? as u32))),
            Marker::F64 => Some(f64::from_bits(self.be(8, path)?)),
            _ => None,
        };
        if let Some(f) = float {
            return Number::try_from_f64(f).ok_or_else(|| path.err("NaN is not a valid number"));
        }
        if let Some(len) = self.str_len(m, path)? {
            let s = self.utf8(len, path)?;
            return parse_number(s).map_err(|e| path.err(e));
        }
        Err(path.err(format!("expected number, found msgpack {}", marker_name(m))))
    }

    #[inline(never)]
    fn unknown(&mut self, ty: &Type, path: &Path, depth: usize) -> Result<Value, ValueError> {
        let m = self.marker(path)?;
        let Some((len, ext_type)) = self.ext_header(m, path)? else {
            return Err(path.err("expected a msgpack extension"));
        };
        let payload = self.take(len, path)?;
        if len <= 1 || ext_type != EXT_REFINED_UNKNOWN || *ty == Type::Dynamic {
            // Any other extension is a plain unknown; its payload is ignored.
            // cty never refines values of the dynamic pseudo-type.
            return Ok(Value::unknown());
        }
        if len > MAX_REFINEMENT_PAYLOAD {
            return Err(path.err(format!(
                "unknown value refinements are larger than {MAX_REFINEMENT_PAYLOAD} bytes"
            )));
        }
        let mut r = Reader {
            buf: payload,
            pos: 0,
        };
        r.refinements(ty, path, depth)
    }

    fn refinements(&mut self, ty: &Type, path: &Path, depth: usize) -> Result<Value, ValueError> {
        let bad = |what: &str| path.err(format!("invalid unknown value refinements: {what}"));
        let m = self.marker(path)?;
        let Some(n) = self.map_len(m, path)? else {
            return Err(bad("payload is not a msgpack map"));
        };
        let mut refinements = Refinements::default();
        let mut definitely_null = false;
        for _ in 0..n {
            let km = self.marker(path)?;
            let key = match self.int(km, path)? {
                Some(Int::I(i)) => i,
                Some(Int::U(u)) => i64::try_from(u).unwrap_or(i64::MAX),
                None => return Err(bad("non-integer key")),
            };
            match key {
                1 => match self.marker(path)? {
                    Marker::True => definitely_null = true,
                    Marker::False => refinements.not_null = true,
                    _ => return Err(bad("nullness is not a bool")),
                },
                2 => {
                    if *ty != Type::String {
                        return Err(bad("string prefix for a value that is not a string"));
                    }
                    let prefix = self
                        .string("a string prefix", path)
                        .map_err(|_| bad("string prefix is not a valid string"))?;
                    if !prefix.is_empty() {
                        refinements.string_prefix = Some(prefix.to_string());
                    }
                }
                3 | 4 => {
                    if *ty != Type::Number {
                        return Err(bad("number bound for a value that is not a number"));
                    }
                    let bm = self.marker(path)?;
                    if self.array_len(bm, path)? != Some(2) {
                        return Err(bad("number bound is not a [number, bool] array"));
                    }
                    if is_ext(self.peek(path)?) || self.peek(path)? == Marker::Null {
                        return Err(bad("number bound is not a known number"));
                    }
                    let bound = self.number(path)?;
                    let inclusive = match self.marker(path)? {
                        Marker::True => true,
                        Marker::False => false,
                        _ => return Err(bad("number bound inclusiveness is not a bool")),
                    };
                    if key == 3 {
                        refinements.number_lower = Some((bound, inclusive));
                    } else {
                        refinements.number_upper = Some((bound, inclusive));
                    }
                }
                5 | 6 => {
                    if !ty.is_collection() {
                        return Err(bad("length bound for a value that is not a collection"));
                    }
                    let lm = self.marker(path)?;
                    let bound = match self.int(lm, path)? {
                        Some(Int::U(u)) => u,
                        Some(Int::I(i)) => {
                            u64::try_from(i).map_err(|_| bad("negative length bound"))?
                        }
                        None => return Err(bad("length bound is not an integer")),
                    };
                    if key == 5 {
                        refinements.length_min = Some(bound);
                    } else {
                        refinements.length_max = Some(bound);
                    }
                }
                // Future refinements: skip what we do not know.
                _ => self.skip(path, depth + 1)?,
            }
        }
        // Bytes after the map are ignored, as cty does.
        if definitely_null {
            return Ok(Value::Null);
        }
        Ok(Value::Unknown(refinements))
    }

    /// Skip one msgpack value of any kind.
    fn skip(&mut self, path: &Path, depth: usize) -> Result<(), ValueError> {
        if depth > MAX_DEPTH {
            return Err(path.err(format!("value is nested deeper than {MAX_DEPTH}")));
        }
        let m = self.marker(path)?;
        if self.int(m, path)?.is_some() {
            return Ok(());
        }
        if let Some(len) = self.str_len(m, path)? {
            self.take(len, path)?;
            return Ok(());
        }
        if let Some(len) = self.bin_len(m, path)? {
            self.take(len, path)?;
            return Ok(());
        }
        if let Some(n) = self.array_len(m, path)? {
            for _ in 0..n {
                self.skip(path, depth + 1)?;
            }
            return Ok(());
        }
        if let Some(n) = self.map_len(m, path)? {
            for _ in 0..n * 2 {
                self.skip(path, depth + 1)?;
            }
            return Ok(());
        }
        if let Some((len, _)) = self.ext_header(m, path)? {
            self.take(len, path)?;
            return Ok(());
        }
        match m {
            Marker::Null | Marker::True | Marker::False => Ok(()),
            Marker::F32 => self.take(4, path).map(|_| ()),
            Marker::F64 => self.take(8, path).map(|_| ()),
            m => Err(path.err(format!("invalid msgpack: {}", marker_name(m)))),
        }
    }
}

// ---------------------------------------------------------------------------
// msgpack encoding
// ---------------------------------------------------------------------------

/// Encode `v` as msgpack for type `ty`. A value that does not conform to the
/// type is an error naming where. Missing object attributes are written as
/// null.
pub fn encode_msgpack(ty: &Type, v: &Value) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::new();
    encode_value(&mut out, ty, v, &Path::Root, 0)?;
    Ok(out)
}

fn wrote<T, E: fmt::Display>(r: Result<T, E>, path: &Path) -> Result<(), ValueError> {
    r.map(|_| ())
        .map_err(|e| path.err(format!("msgpack write failed: {e}")))
}

fn len_u32(n: usize, path: &Path) -> Result<u32, ValueError> {
    u32::try_from(n).map_err(|_| path.err("too many elements for msgpack"))
}

#[cold]
#[inline(never)]
fn mismatch(ty: &Type, v: &Value, path: &Path) -> ValueError {
    path.err(format!(
        "expected {}, found {}",
        ty.friendly_name(),
        v.kind_name()
    ))
}

/// The type a primitive value implies, for dynamic slots given a bare value.
fn implied_primitive_type(v: &Value) -> Option<Type> {
    match v {
        Value::Bool(_) => Some(Type::Bool),
        Value::Number(_) => Some(Type::Number),
        Value::String(_) => Some(Type::String),
        _ => None,
    }
}

// Like the decoder, the encoder recurses once per nesting level and keeps the
// recursive frames small by doing each kind in its own never-inlined function.
fn encode_value(
    out: &mut Vec<u8>,
    ty: &Type,
    v: &Value,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    match (ty, v) {
        (_, Value::Null) => wrote(rmp::encode::write_nil(out), path),
        (_, Value::Unknown(r)) => encode_unknown(out, ty, r, path),
        (Type::Dynamic, _) => encode_dynamic(out, v, path, depth),
        (t, Value::Dynamic(vt, inner)) if t == vt => encode_value(out, t, inner, path, depth + 1),
        (Type::Bool, Value::Bool(b)) => wrote(rmp::encode::write_bool(out, *b), path),
        (Type::Number, Value::Number(n)) => encode_number(out, n, path),
        (Type::String, Value::String(s)) => wrote(rmp::encode::write_str(out, s), path),
        (Type::List(et), Value::List(xs)) | (Type::Set(et), Value::Set(xs)) => {
            encode_elements(out, std::iter::repeat(&**et), xs, path, depth)
        }
        (Type::Tuple(ets), Value::Tuple(xs)) => {
            if ets.len() != xs.len() {
                return Err(tuple_length(path, ets.len(), xs.len()));
            }
            encode_elements(out, ets.iter(), xs, path, depth)
        }
        (Type::Map(et), Value::Map(m)) => encode_map(out, et, m, path, depth),
        (Type::Object(ot), Value::Object(m)) => encode_object(out, ot, m, path, depth),
        _ => Err(mismatch(ty, v, path)),
    }
}

#[inline(never)]
fn encode_dynamic(
    out: &mut Vec<u8>,
    v: &Value,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    let (t, inner) = match v {
        Value::Dynamic(t, inner) => (t.clone(), &**inner),
        _ => match implied_primitive_type(v) {
            Some(t) => (t, v),
            None => return Err(bare_dynamic(path, v)),
        },
    };
    if t != Type::Dynamic {
        wrote(rmp::encode::write_array_len(out, 2), path)?;
        wrote(rmp::encode::write_bin(out, &t.to_json_bytes()), path)?;
    }
    encode_value(out, &t, inner, path, depth + 1)
}

#[inline(never)]
fn encode_elements<'t>(
    out: &mut Vec<u8>,
    types: impl Iterator<Item = &'t Type>,
    xs: &[Value],
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    wrote(
        rmp::encode::write_array_len(out, len_u32(xs.len(), path)?),
        path,
    )?;
    for (i, (et, x)) in types.zip(xs).enumerate() {
        encode_value(out, et, x, &Path::Index(path, i), depth + 1)?;
    }
    Ok(())
}

#[inline(never)]
fn encode_map(
    out: &mut Vec<u8>,
    et: &Type,
    m: &BTreeMap<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    wrote(
        rmp::encode::write_map_len(out, len_u32(m.len(), path)?),
        path,
    )?;
    for (k, x) in m {
        wrote(rmp::encode::write_str(out, k), path)?;
        encode_value(out, et, x, &Path::Key(path, k), depth + 1)?;
    }
    Ok(())
}

#[inline(never)]
fn encode_object(
    out: &mut Vec<u8>,
    ot: &ObjectType,
    m: &BTreeMap<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    check_attributes(ot, m, path)?;
    wrote(
        rmp::encode::write_map_len(out, len_u32(ot.attrs.len(), path)?),
        path,
    )?;
    for (name, at) in &ot.attrs {
        wrote(rmp::encode::write_str(out, name), path)?;
        let x = m.get(name).unwrap_or(&Value::Null);
        encode_value(out, at, x, &Path::Attr(path, name), depth + 1)?;
    }
    Ok(())
}

/// Every attribute of a value must be an attribute of its type.
fn check_attributes(
    ot: &ObjectType,
    m: &BTreeMap<String, Value>,
    path: &Path,
) -> Result<(), ValueError> {
    match m.keys().find(|k| !ot.attrs.contains_key(*k)) {
        Some(extra) => Err(unsupported_attribute(path, extra)),
        None => Ok(()),
    }
}

#[cold]
#[inline(never)]
fn tuple_length(path: &Path, want: usize, found: usize) -> ValueError {
    path.err(format!(
        "expected a tuple of {want} elements, found {found}"
    ))
}

#[cold]
#[inline(never)]
fn bare_dynamic(path: &Path, v: &Value) -> ValueError {
    path.err(format!(
        "a value of dynamic type must be Value::Dynamic(type, value), found {}",
        v.kind_name()
    ))
}

fn encode_number(out: &mut Vec<u8>, n: &Number, path: &Path) -> Result<(), ValueError> {
    if let Some(i) = n.as_i64() {
        return wrote(rmp::encode::write_sint(out, i), path);
    }
    if let Some(f) = n.to_f64_exact() {
        return wrote(rmp::encode::write_f64(out, f), path);
    }
    wrote(rmp::encode::write_str(out, &n.to_string()), path)
}

fn encode_unknown(
    out: &mut Vec<u8>,
    ty: &Type,
    r: &Refinements,
    path: &Path,
) -> Result<(), ValueError> {
    let r = r.for_type(ty);
    if r.is_empty() {
        out.extend_from_slice(&UNKNOWN_BYTES);
        return Ok(());
    }
    let mut body = Vec::new();
    let mut entries = 0u32;
    if r.not_null {
        entries += 1;
        wrote(rmp::encode::write_sint(&mut body, 1), path)?;
        // The nullness key holds "is null"; false means definitely not null.
        wrote(rmp::encode::write_bool(&mut body, false), path)?;
    }
    if let Some(prefix) = &r.string_prefix {
        entries += 1;
        wrote(rmp::encode::write_sint(&mut body, 2), path)?;
        wrote(rmp::encode::write_str(&mut body, prefix), path)?;
    }
    for (key, bound) in [(3, &r.number_lower), (4, &r.number_upper)] {
        if let Some((n, inclusive)) = bound {
            entries += 1;
            wrote(rmp::encode::write_sint(&mut body, key), path)?;
            wrote(rmp::encode::write_array_len(&mut body, 2), path)?;
            encode_number(&mut body, n, path)?;
            wrote(rmp::encode::write_bool(&mut body, *inclusive), path)?;
        }
    }
    for (key, bound) in [(5, r.length_min), (6, r.length_max)] {
        if let Some(n) = bound {
            entries += 1;
            wrote(rmp::encode::write_sint(&mut body, key), path)?;
            wrote(rmp::encode::write_uint(&mut body, n), path)?;
        }
    }
    let mut head = Vec::new();
    wrote(rmp::encode::write_map_len(&mut head, entries), path)?;
    let len = len_u32(head.len() + body.len(), path)?;
    wrote(
        rmp::encode::write_ext_meta(out, len, EXT_REFINED_UNKNOWN),
        path,
    )?;
    out.extend_from_slice(&head);
    out.extend_from_slice(&body);
    Ok(())
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

/// Options for [`decode_json`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeJsonOpts {
    /// Drop object attributes the type does not have instead of failing
    /// (for state written under an older schema).
    pub ignore_unknown_attributes: bool,
}

/// Decode cty's JSON form as a value of type `ty`. Numbers keep their full
/// decimal precision. Missing object attributes become null. As cty does,
/// a string is accepted for a number or bool (`"12"`, `"true"`) and a number
/// or bool for a string. Empty input is null.
pub fn decode_json(ty: &Type, bytes: &[u8], opts: DecodeJsonOpts) -> Result<Value, ValueError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| Path::Root.err("JSON input is not valid UTF-8"))?;
    let mut p = JsonParser {
        s: text,
        b: text.as_bytes(),
        pos: 0,
    };
    let json = p.parse_document()?;
    json_to_value(ty, &json, &Path::Root, 0, opts)
}

/// Encode `v` in cty's JSON form for type `ty`. Unknown values (and the
/// infinities) cannot be written in JSON and are errors.
pub fn encode_json(ty: &Type, v: &Value) -> Result<Vec<u8>, ValueError> {
    let mut out = String::new();
    write_json(&mut out, ty, v, &Path::Root, 0)?;
    Ok(out.into_bytes())
}

/// A parsed JSON document that keeps number texts verbatim.
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "JSON boolean",
            Json::Number(_) => "JSON number",
            Json::String(_) => "JSON string",
            Json::Array(_) => "JSON array",
            Json::Object(_) => "JSON object",
        }
    }

    /// For type JSON nested in a dynamic value (types hold no numbers).
    fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Json::Null | Json::Number(_) => J::Null,
            Json::Bool(b) => J::Bool(*b),
            Json::String(s) => J::String(s.clone()),
            Json::Array(xs) => J::Array(xs.iter().map(Json::to_serde).collect()),
            Json::Object(m) => {
                J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_serde())).collect())
            }
        }
    }
}

struct JsonParser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl JsonParser<'_> {
    fn err(&self, what: &str) -> ValueError {
        Path::Root.err(format!("invalid JSON at byte {}: {what}", self.pos))
    }

    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn parse_document(&mut self) -> Result<Json, ValueError> {
        let v = self.parse_value(0)?;
        self.ws();
        if self.pos != self.b.len() {
            return Err(self.err("unexpected data after the JSON value"));
        }
        Ok(v)
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, ValueError> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn parse_value(&mut self, depth: usize) -> Result<Json, ValueError> {
        if depth > MAX_DEPTH {
            return Err(self.err(&format!("nested deeper than {MAX_DEPTH}")));
        }
        self.ws();
        let Some(&c) = self.b.get(self.pos) else {
            return Err(self.err("unexpected end of input"));
        };
        match c {
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'"' => Ok(Json::String(self.parse_string()?)),
            b'-' | b'0'..=b'9' => self.parse_number(),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.parse_value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(entries));
                }
                loop {
                    self.ws();
                    if self.b.get(self.pos) != Some(&b'"') {
                        return Err(self.err("expected a string object key"));
                    }
                    let key = self.parse_string()?;
                    self.ws();
                    if self.b.get(self.pos) != Some(&b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.pos += 1;
                    let v = self.parse_value(depth + 1)?;
                    entries.push((key, v));
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(entries));
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            _ => Err(self.err("unexpected character")),
        }
    }

    fn parse_number(&mut self) -> Result<Json, ValueError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let st = p.pos;
            while p.pos < p.b.len() && p.b[p.pos].is_ascii_digit() {
                p.pos += 1;
            }
            p.pos - st
        };
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 || (n > 1 && self.b[int_start] == b'0') {
            return Err(self.err("invalid number"));
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        Ok(Json::Number(self.s[start..self.pos].to_string()))
    }

    fn hex4(&mut self) -> Result<u32, ValueError> {
        let Some(h) = self.b.get(self.pos..self.pos + 4) else {
            return Err(self.err("truncated \\u escape"));
        };
        let mut v = 0u32;
        for &c in h {
            let d = char::from(c)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid \\u escape"))?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    fn parse_string(&mut self) -> Result<String, ValueError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self.pos < self.b.len() && !matches!(self.b[self.pos], b'"' | b'\\' | 0..=0x1f) {
                self.pos += 1;
            }
            out.push_str(&self.s[start..self.pos]);
            match self.b.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(&e) = self.b.get(self.pos) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if self.b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.err("invalid \\u escape"))?;
                            out.push(c);
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }
}

// Thin dispatcher plus one never-inlined function per kind, as in the
// msgpack codec, to keep the per-level stack use small.
fn json_to_value(
    ty: &Type,
    json: &Json,
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Value, ValueError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    match (ty, json) {
        (_, Json::Null) => Ok(Value::Null),
        (Type::Dynamic, Json::Object(entries)) => json_dynamic(entries, path, depth, opts),
        (Type::Bool | Type::Number | Type::String, _) => json_primitive(ty, json, path),
        (Type::List(et) | Type::Set(et), Json::Array(xs)) => {
            let items = json_elements(std::iter::repeat(&**et), xs, path, depth, opts)?;
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(items)
            } else {
                Value::List(items)
            })
        }
        (Type::Tuple(ets), Json::Array(xs)) => {
            if xs.len() != ets.len() {
                return Err(tuple_length(path, ets.len(), xs.len()));
            }
            Ok(Value::Tuple(json_elements(
                ets.iter(),
                xs,
                path,
                depth,
                opts,
            )?))
        }
        (Type::Map(et), Json::Object(entries)) => json_map(et, entries, path, depth, opts),
        (Type::Object(ot), Json::Object(entries)) => json_object(ot, entries, path, depth, opts),
        _ => Err(json_mismatch(ty, json, path)),
    }
}

#[cold]
#[inline(never)]
fn json_mismatch(ty: &Type, json: &Json, path: &Path) -> ValueError {
    let what = match ty {
        Type::Dynamic => "a {\"value\":...,\"type\":...} object for a dynamic value".to_string(),
        _ => ty.friendly_name(),
    };
    path.err(format!("expected {what}, found {}", json.kind()))
}

#[inline(never)]
fn json_primitive(ty: &Type, json: &Json, path: &Path) -> Result<Value, ValueError> {
    match (ty, json) {
        (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Bool, Json::String(s)) if s == "true" => Ok(Value::Bool(true)),
        (Type::Bool, Json::String(s)) if s == "false" => Ok(Value::Bool(false)),
        (Type::Number, Json::Number(s) | Json::String(s)) => {
            Ok(Value::Number(parse_number(s).map_err(|e| path.err(e))?))
        }
        (Type::String, Json::String(s) | Json::Number(s)) => Ok(Value::String(s.clone())),
        (Type::String, Json::Bool(b)) => Ok(Value::String(b.to_string())),
        _ => Err(json_mismatch(ty, json, path)),
    }
}

#[inline(never)]
fn json_dynamic(
    entries: &[(String, Json)],
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Value, ValueError> {
    let (t, value_json) = json_dynamic_header(entries, path)?;
    let v = json_to_value(&t, value_json, path, depth + 1, opts)?;
    if t == Type::Dynamic {
        return Ok(v);
    }
    Ok(Value::Dynamic(t, Box::new(v)))
}

#[inline(never)]
fn json_dynamic_header<'j>(
    entries: &'j [(String, Json)],
    path: &Path,
) -> Result<(Type, &'j Json), ValueError> {
    let (mut type_json, mut value_json) = (None, None);
    for (k, v) in entries {
        match k.as_str() {
            "type" => type_json = Some(v),
            "value" => value_json = Some(v),
            other => {
                return Err(path.err(format!(
                    "invalid key {} in a dynamic value (only \"value\" and \"type\")",
                    quote(other)
                )))
            }
        }
    }
    let Some(type_json) = type_json else {
        return Err(path.err("a dynamic value is missing its \"type\""));
    };
    let Some(value_json) = value_json else {
        return Err(path.err("a dynamic value is missing its \"value\""));
    };
    let t = Type::from_json_value(&type_json.to_serde()).map_err(|e| path.err(e.message))?;
    Ok((t, value_json))
}

#[inline(never)]
fn json_elements<'t>(
    types: impl Iterator<Item = &'t Type>,
    xs: &[Json],
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Vec<Value>, ValueError> {
    let mut items = Vec::with_capacity(xs.len());
    for (i, (et, x)) in types.zip(xs).enumerate() {
        items.push(json_to_value(
            et,
            x,
            &Path::Index(path, i),
            depth + 1,
            opts,
        )?);
    }
    Ok(items)
}

#[inline(never)]
fn json_map(
    et: &Type,
    entries: &[(String, Json)],
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Value, ValueError> {
    let mut out = BTreeMap::new();
    for (k, x) in entries {
        let v = json_to_value(et, x, &Path::Key(path, k), depth + 1, opts)?;
        out.insert(k.clone(), v);
    }
    Ok(Value::Map(out))
}

#[inline(never)]
fn json_object(
    ot: &ObjectType,
    entries: &[(String, Json)],
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Value, ValueError> {
    let mut out = BTreeMap::new();
    for (k, x) in entries {
        let Some(at) = ot.attrs.get(k) else {
            if opts.ignore_unknown_attributes {
                continue;
            }
            return Err(unsupported_attribute(path, k));
        };
        let v = json_to_value(at, x, &Path::Attr(path, k), depth + 1, opts)?;
        out.insert(k.clone(), v);
    }
    for name in ot.attrs.keys() {
        if !out.contains_key(name) {
            out.insert(name.clone(), Value::Null);
        }
    }
    Ok(Value::Object(out))
}

fn write_json(
    out: &mut String,
    ty: &Type,
    v: &Value,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    match (ty, v) {
        (_, Value::Null) => out.push_str("null"),
        (_, Value::Unknown(_)) => {
            return Err(path.err("an unknown value cannot be encoded as JSON"))
        }
        (Type::Dynamic, _) => return write_json_dynamic(out, v, path, depth),
        (t, Value::Dynamic(vt, inner)) if t == vt => {
            return write_json(out, t, inner, path, depth + 1);
        }
        (Type::Bool, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        (Type::Number, Value::Number(n)) => {
            if n.is_infinite() {
                return Err(path.err("infinity cannot be encoded as JSON"));
            }
            let _ = write!(out, "{n}");
        }
        (Type::String, Value::String(s)) => out.push_str(&quote(s)),
        (Type::List(et), Value::List(xs)) | (Type::Set(et), Value::Set(xs)) => {
            return write_json_elements(out, std::iter::repeat(&**et), xs, path, depth);
        }
        (Type::Tuple(ets), Value::Tuple(xs)) => {
            if ets.len() != xs.len() {
                return Err(tuple_length(path, ets.len(), xs.len()));
            }
            return write_json_elements(out, ets.iter(), xs, path, depth);
        }
        (Type::Map(et), Value::Map(m)) => return write_json_map(out, et, m, path, depth),
        (Type::Object(ot), Value::Object(m)) => return write_json_object(out, ot, m, path, depth),
        _ => return Err(mismatch(ty, v, path)),
    }
    Ok(())
}

#[inline(never)]
fn write_json_dynamic(
    out: &mut String,
    v: &Value,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    let (t, inner) = match v {
        Value::Dynamic(t, inner) => (t.clone(), &**inner),
        _ => match implied_primitive_type(v) {
            Some(t) => (t, v),
            None => return Err(bare_dynamic(path, v)),
        },
    };
    if t == Type::Dynamic {
        return write_json(out, &t, inner, path, depth + 1);
    }
    out.push_str("{\"value\":");
    write_json(out, &t, inner, path, depth + 1)?;
    out.push_str(",\"type\":");
    out.push_str(&t.to_json().to_string());
    out.push('}');
    Ok(())
}

#[inline(never)]
fn write_json_elements<'t>(
    out: &mut String,
    types: impl Iterator<Item = &'t Type>,
    xs: &[Value],
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    out.push('[');
    for (i, (et, x)) in types.zip(xs).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json(out, et, x, &Path::Index(path, i), depth + 1)?;
    }
    out.push(']');
    Ok(())
}

#[inline(never)]
fn write_json_map(
    out: &mut String,
    et: &Type,
    m: &BTreeMap<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    out.push('{');
    for (i, (k, x)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(k));
        out.push(':');
        write_json(out, et, x, &Path::Key(path, k), depth + 1)?;
    }
    out.push('}');
    Ok(())
}

#[inline(never)]
fn write_json_object(
    out: &mut String,
    ot: &ObjectType,
    m: &BTreeMap<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    check_attributes(ot, m, path)?;
    out.push('{');
    for (i, (name, at)) in ot.attrs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(name));
        out.push(':');
        let x = m.get(name).unwrap_or(&Value::Null);
        write_json(out, at, x, &Path::Attr(path, name), depth + 1)?;
    }
    out.push('}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn num(s: &str) -> Number {
        s.parse().unwrap()
    }

    fn msgpack_str(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        rmp::encode::write_str(&mut out, s).unwrap();
        out
    }

    fn refined(r: Refinements) -> Value {
        Value::Unknown(r)
    }

    // ----- exact encodings, both directions -----

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

    // ----- refinements -----

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

    // ----- structure -----

    fn nested_type() -> Type {
        let reg = Type::object([("username", Type::String), ("password", Type::String)]);
        Type::object([("name", Type::String), ("registries", Type::map(reg))])
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

    // ----- types -----

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

    // ----- numbers -----

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
            Number::negative_infinity() < num("-1e100")
                && num("1e100") < Number::positive_infinity()
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

    // ----- values -----

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

    // ----- JSON -----

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

    // ----- property tests -----

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
            let back =
                decode_msgpack(ty, &again).map_err(|e| TestCaseError::fail(e.to_string()))?;
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
}
