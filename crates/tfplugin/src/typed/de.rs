//! A `serde::Deserializer` that reads a typed struct straight from a cty [`Value`].
//!
//! Two things the JSON intermediate could not do:
//!
//! * **Unknowns anywhere.** A [`Val`](super::Val) asks for its value through
//!   [`VAL_TOKEN`]; this deserializer answers null with `visit_none`, a wholly unknown value with
//!   `visit_unit` and anything else with `visit_some`. An unknown met by anything other than a
//!   `Val` (a `String`, an element of a `Vec<String>`, a struct, an `Option`) is an error of kind
//!   unknown, which the nearest enclosing `Val` turns into `Val::Unknown`: an attribute that
//!   contains an unknown where its type cannot hold one is unknown as a whole, never a default
//!   and never a marker object. Where the type can hold it (`Val<BTreeMap<String, Val<T>>>`, a
//!   struct of `Val`s), the value is known with unknown parts.
//! * **Paths.** Every error carries the attribute path where it happened
//!   (`registries["r.example"].username`, `events[2]`). Set elements cannot be addressed
//!   (protocol rule), so an error inside one points at the set.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::diagnostics::{AttrPath, PathStep};
use crate::value::Value;

/// The newtype-struct name `Val<T>` asks for; see the module docs.
pub(crate) const VAL_TOKEN: &str = "\u{0}tfplugin::Val";

/// Marks the display of an error of kind unknown, so that a `Val` can recognise it through a
/// deserializer's opaque error type. Never shown: the top level reports [`DeError`] itself.
pub(crate) const UNKNOWN_SENTINEL: &str = "\u{0}unknown-value";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeErrorKind {
    /// The value does not fit the type (wrong type, not a whole number, out of range, ...).
    Invalid,
    /// The value is unknown where no `Val` can hold it.
    Unknown,
}

/// A decode error and where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeError {
    pub kind: DeErrorKind,
    /// Steps from the innermost outwards while the error travels up; [`DeError::path`] gives
    /// them in order.
    rev_path: Vec<PathStep>,
    pub msg: String,
}

impl DeError {
    fn unknown() -> Self {
        DeError {
            kind: DeErrorKind::Unknown,
            rev_path: vec![],
            msg: "the value is not known yet".into(),
        }
    }

    fn within(mut self, step: Option<PathStep>) -> Self {
        match step {
            Some(s) => self.rev_path.push(s),
            // Inside a set element: the element cannot be named, so the path stops at the set.
            None => self.rev_path.clear(),
        }
        self
    }

    /// The attribute path, outermost step first.
    pub fn path(&self) -> AttrPath {
        AttrPath(self.rev_path.iter().rev().cloned().collect())
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == DeErrorKind::Unknown {
            f.write_str(UNKNOWN_SENTINEL)?;
        }
        let path = self.path();
        if path.is_empty() {
            write!(f, "{}", self.msg)
        } else {
            write!(f, "{path}: {}", self.msg)
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            kind: DeErrorKind::Invalid,
            rev_path: vec![],
            msg: msg.to_string(),
        }
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        let exp = exp.to_string();
        let msg = match unexp {
            de::Unexpected::Float(f) if is_integer_type(&exp) => {
                format!("expected a whole number, got {f}")
            }
            de::Unexpected::Map => format!("expected {exp}, got a map or object"),
            de::Unexpected::Seq => format!("expected {exp}, got a list, set or tuple"),
            other => format!("expected {exp}, got {other}"),
        };
        de::Error::custom(msg)
    }
}

fn is_integer_type(exp: &str) -> bool {
    matches!(
        exp,
        "i8" | "i16" | "i32" | "i64" | "i128" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize"
    ) || exp.contains("integer")
}

/// True when `e` (of any deserializer's error type) is an error of kind unknown from
/// [`ValueDe`].
pub(crate) fn is_unknown_error(e: &impl fmt::Display) -> bool {
    e.to_string().starts_with(UNKNOWN_SENTINEL)
}

/// Deserializes from one cty value.
pub struct ValueDe<'a>(pub &'a Value);

impl<'a> ValueDe<'a> {
    fn inner(&self) -> &'a Value {
        match self.0 {
            Value::Dynamic(_, v) => v,
            v => v,
        }
    }
}

macro_rules! int_method {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            match self.inner() {
                Value::Number(n) => match n.as_i64() {
                    Some(i) => match <$ty>::try_from(i) {
                        Ok(x) => v.$visit(x),
                        Err(_) => Err(de::Error::custom(format!(
                            "{n} is out of range (expected {})",
                            stringify!($ty)
                        ))),
                    },
                    None if n.is_integer() => {
                        Err(de::Error::custom(format!("{n} is too large a number")))
                    }
                    None => Err(de::Error::custom(format!(
                        "expected a whole number, got {n}"
                    ))),
                },
                _ => self.deserialize_any(v),
            }
        }
    };
}

impl<'de, 'a> de::Deserializer<'de> for ValueDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.inner() {
            Value::Null => v.visit_unit(),
            Value::Unknown(_) => Err(DeError::unknown()),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    v.visit_i64(i)
                } else if let Some(u) = n.as_u64() {
                    v.visit_u64(u)
                } else if let Some(f) = n.as_f64() {
                    v.visit_f64(f)
                } else {
                    v.visit_string(n.to_string())
                }
            }
            Value::String(s) => v.visit_str(s),
            Value::List(xs) | Value::Tuple(xs) => v.visit_seq(Seq {
                items: xs.iter().enumerate(),
                addressable: true,
            }),
            Value::Set(xs) => v.visit_seq(Seq {
                items: xs.iter().enumerate(),
                addressable: false,
            }),
            Value::Map(m) => v.visit_map(Map {
                entries: m.iter(),
                value: None,
                attributes: false,
            }),
            Value::Object(m) => v.visit_map(Map {
                entries: m.iter(),
                value: None,
                attributes: true,
            }),
            Value::Dynamic(..) => unreachable!("inner() unwraps dynamic values"),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.inner() {
            Value::Null => v.visit_none(),
            Value::Unknown(_) => Err(DeError::unknown()),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        if name != VAL_TOKEN {
            return v.visit_newtype_struct(self);
        }
        match self.inner() {
            Value::Null => v.visit_none(),
            Value::Unknown(_) => v.visit_unit(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        // An attribute the struct does not model: whatever it is, unknown included.
        v.visit_unit()
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.inner() {
            Value::Number(n) => match n.as_f64() {
                Some(f) => v.visit_f64(f),
                None => Err(de::Error::custom(format!("{n} is too large a number"))),
            },
            _ => self.deserialize_any(v),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(v)
    }

    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);
    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);

    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.inner() {
            Value::Number(n) => match n.as_u64() {
                Some(u) => v.visit_u64(u),
                None if n.is_integer() => Err(de::Error::custom(format!(
                    "{n} is out of range (expected u64)"
                ))),
                None => Err(de::Error::custom(format!(
                    "expected a whole number, got {n}"
                ))),
            },
            _ => self.deserialize_any(v),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match self.inner() {
            Value::String(s) => {
                let d: de::value::StrDeserializer<'_, DeError> = s.as_str().into_deserializer();
                de::Deserializer::deserialize_enum(d, name, variants, v)
            }
            Value::Unknown(_) => Err(DeError::unknown()),
            _ => self.deserialize_any(v),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i128 u128 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier
    }
}

struct Seq<'a, I: Iterator<Item = (usize, &'a Value)>> {
    items: I,
    addressable: bool,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Value)>> de::SeqAccess<'de> for Seq<'a, I> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((i, x)) = self.items.next() else {
            return Ok(None);
        };
        let step = self.addressable.then_some(PathStep::Index(i as i64));
        seed.deserialize(ValueDe(x))
            .map(Some)
            .map_err(|e| e.within(step))
    }
}

struct Map<'a, I: Iterator<Item = (&'a String, &'a Value)>> {
    entries: I,
    value: Option<(&'a String, &'a Value)>,
    attributes: bool,
}

impl<'de, 'a, I: Iterator<Item = (&'a String, &'a Value)>> de::MapAccess<'de> for Map<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((k, x)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((k, x));
        let d: de::value::StrDeserializer<'_, DeError> = k.as_str().into_deserializer();
        seed.deserialize(d).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, DeError> {
        let (k, x) = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("value asked for before its key"))?;
        let step = if self.attributes {
            PathStep::Attribute(k.clone())
        } else {
            PathStep::Key(k.clone())
        };
        seed.deserialize(ValueDe(x))
            .map_err(|e| e.within(Some(step)))
    }
}
