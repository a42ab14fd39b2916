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
//!
//! Layout: `ty` (types and their JSON form), `number`, `refine` (unknown refinements), `path`
//! (errors and where they happened), `msgpack` and `json` (the codecs); [`Value`] lives here.

mod json;
mod msgpack;
mod number;
mod path;
mod refine;
mod ty;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeMap;

pub use json::{decode_json, encode_json, DecodeJsonOpts};
pub use msgpack::{decode_msgpack, encode_msgpack};
pub use number::{Number, MAX_NUMBER_DIGITS, MAX_NUMBER_SCALE, MAX_NUMBER_TEXT_LEN};
pub use path::ValueError;
pub use refine::Refinements;
pub use ty::{ObjectType, Type};

/// Deepest nesting of values (and of types) the decoders accept.
pub const MAX_DEPTH: usize = 512;

/// Decode a `DynamicValue`: msgpack when present, else JSON, else null.
pub fn decode_dynamic_value(ty: &Type, msgpack: &[u8], json: &[u8]) -> Result<Value, ValueError> {
    if !msgpack.is_empty() {
        decode_msgpack(ty, msgpack)
    } else {
        decode_json(ty, json, DecodeJsonOpts::default())
    }
}

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

/// The type a primitive value implies, for dynamic slots given a bare value.
fn implied_primitive_type(v: &Value) -> Option<Type> {
    match v {
        Value::Bool(_) => Some(Type::Bool),
        Value::Number(_) => Some(Type::Number),
        Value::String(_) => Some(Type::String),
        _ => None,
    }
}
