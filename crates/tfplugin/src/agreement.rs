//! Does a state struct agree with its schema? [`state_fields`] records the field names a struct
//! asks for when it is deserialized (no value and no `Default` needed), with those of the
//! structs nested in its fields; [`disagreements`] compares them with the schema's type, both
//! ways.
//!
//! The recording is a small `serde::Deserializer` that answers every request with a minimal
//! value (one element per sequence or map) and writes down the `fields` of each
//! `deserialize_struct` call. `Val<T>` normally reads through a JSON tree, which would hide `T`
//! from the recorder; while recording, it deserializes `T` directly.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use crate::value::Type;

/// The field names a struct asks for, each with the fields of the struct inside it if there is
/// one (through `Val`, `Option`, sequences and maps); `None` for any other field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateFields(pub BTreeMap<String, Option<StateFields>>);

impl StateFields {
    /// The top-level names.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

thread_local! {
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

/// True while [`state_fields`] runs on this thread.
pub(crate) fn recording() -> bool {
    RECORDING.with(Cell::get)
}

/// The fields `T` asks for; empty when `T` is not a struct with named fields.
pub fn state_fields<T: DeserializeOwned>() -> StateFields {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            RECORDING.with(|r| r.set(self.0));
        }
    }
    let _reset = Reset(RECORDING.with(|r| r.replace(true)));
    let mut out = None;
    // Whatever the struct does with the minimal values, its fields are already written down.
    let _ = T::deserialize(Recorder { out: &mut out });
    out.unwrap_or_default()
}

/// Where `fields` (of a struct meant for values of type `ty`) and the schema disagree, one line
/// each, e.g. `registries.password_wo: in the schema, missing from the struct`. Nested structs
/// are compared with the object type they stand for (inside lists, sets and maps too).
pub fn disagreements(ty: &Type, fields: &StateFields) -> Vec<String> {
    let mut out = Vec::new();
    compare(ty, fields, "", &mut out);
    out
}

fn compare(ty: &Type, fields: &StateFields, path: &str, out: &mut Vec<String>) {
    let Some(attrs) = object_of(ty) else {
        out.push(format!(
            "{}: a struct with fields, but of type {} in the schema",
            if path.is_empty() { "(root)" } else { path },
            ty.friendly_name()
        ));
        return;
    };
    let at = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    for name in attrs.keys().filter(|n| !fields.0.contains_key(*n)) {
        out.push(format!(
            "{}: in the schema, missing from the struct",
            at(name)
        ));
    }
    for (name, inner) in &fields.0 {
        match (attrs.get(name), inner) {
            (None, _) => out.push(format!(
                "{}: in the struct, missing from the schema",
                at(name)
            )),
            (Some(t), Some(inner)) => compare(t, inner, &at(name), out),
            (Some(_), None) => {}
        }
    }
}

/// The attributes of the object type `ty` is, or holds as elements.
fn object_of(ty: &Type) -> Option<&BTreeMap<String, Type>> {
    match ty {
        Type::Object(o) => Some(&o.attrs),
        Type::List(t) | Type::Set(t) | Type::Map(t) => object_of(t),
        _ => None,
    }
}

#[derive(Debug)]
struct Stop(String);

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Stop(msg.to_string())
    }
}

/// Deserializes a minimal value of whatever is asked, writing the fields of a struct to `out`.
struct Recorder<'o> {
    out: &'o mut Option<StateFields>,
}

impl Recorder<'_> {
    /// For values whose structs are not recorded (tuple and enum contents).
    fn scratch<R>(f: impl FnOnce(Recorder<'_>) -> R) -> R {
        f(Recorder { out: &mut None })
    }
}

macro_rules! minimal {
    ($($method:ident => $visit:ident($($v:expr)?)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
                visitor.$visit($($v)?)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Recorder<'_> {
    type Error = Stop;

    minimal! {
        deserialize_any => visit_unit(),
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(0),
        deserialize_i16 => visit_i64(0),
        deserialize_i32 => visit_i64(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u64(0),
        deserialize_u16 => visit_u64(0),
        deserialize_u32 => visit_u64(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f64(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_str(""),
        deserialize_string => visit_str(""),
        deserialize_bytes => visit_bytes(&[]),
        deserialize_byte_buf => visit_bytes(&[]),
        deserialize_unit => visit_unit(),
        deserialize_identifier => visit_str(""),
        deserialize_ignored_any => visit_unit(),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_seq(Elements {
            out: self.out,
            left: 1,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Stop> {
        Recorder::scratch(|r| {
            visitor.visit_seq(Elements {
                out: r.out,
                left: len,
            })
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_map(Entry {
            out: self.out,
            left: 1,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        let mut found: Vec<(String, Option<StateFields>)> =
            fields.iter().map(|f| (f.to_string(), None)).collect();
        let result = visitor.visit_map(Fields {
            found: &mut found,
            next: 0,
        });
        // Written even when a field failed: what was seen so far is still true.
        *self.out = Some(StateFields(found.into_iter().collect()));
        result
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        match variants.first() {
            Some(v) => visitor.visit_enum(FirstVariant(v)),
            None => Err(Stop("an enum without variants".into())),
        }
    }
}

/// `left` elements, each recorded into `out`.
struct Elements<'o> {
    out: &'o mut Option<StateFields>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'_> {
    type Error = Stop;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Stop> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(Recorder { out: self.out }).map(Some)
    }
}

/// One map entry with an empty key, its value recorded into `out`.
struct Entry<'o> {
    out: &'o mut Option<StateFields>,
    left: usize,
}

impl<'de> de::MapAccess<'de> for Entry<'_> {
    type Error = Stop;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let key: de::value::StrDeserializer<'_, Stop> = "".into_deserializer();
        seed.deserialize(key).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        seed.deserialize(Recorder { out: self.out })
    }
}

/// A struct's fields, in order, each value recorded into its own slot.
struct Fields<'f> {
    found: &'f mut Vec<(String, Option<StateFields>)>,
    next: usize,
}

impl<'de> de::MapAccess<'de> for Fields<'_> {
    type Error = Stop;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        let Some((name, _)) = self.found.get(self.next) else {
            return Ok(None);
        };
        let key: de::value::StrDeserializer<'_, Stop> = name.as_str().into_deserializer();
        seed.deserialize(key).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        let slot = &mut self.found[self.next].1;
        self.next += 1;
        seed.deserialize(Recorder { out: slot })
    }
}

/// An enum read as its first variant, with minimal contents.
struct FirstVariant(&'static str);

impl<'de> de::EnumAccess<'de> for FirstVariant {
    type Error = Stop;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Stop> {
        let name: de::value::StrDeserializer<'_, Stop> = self.0.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for FirstVariant {
    type Error = Stop;
    fn unit_variant(self) -> Result<(), Stop> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Stop> {
        Recorder::scratch(|r| seed.deserialize(r))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Stop> {
        Recorder::scratch(|r| {
            visitor.visit_seq(Elements {
                out: r.out,
                left: len,
            })
        })
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        Recorder::scratch(|r| de::Deserializer::deserialize_struct(r, "", fields, visitor))
    }
}

#[cfg(test)]
mod tests;
