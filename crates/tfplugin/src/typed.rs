//! Typed state: the bridge between cty values and a resource's own serde structs.
//!
//! A resource declares `#[derive(Serialize, Deserialize)] struct State { name: Val<String>, .. }`
//! and never sees cty, msgpack or protobuf. The bridge goes through `serde_json::Value` as the
//! intermediate tree: a cty value becomes JSON (unknowns become a private marker object), serde
//! fills the struct, and the way back is guided by the schema's type so that every attribute of
//! an object is present (protocol rule: absent attributes are not allowed on the wire).

pub mod de;

use crate::diagnostics::AttrPath;
use crate::value::{Number, Type, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Marker key for an unknown value inside the JSON intermediate. Never leaves this module's
/// conversions: `state_json_to_value` turns it back into `Value::Unknown`.
const UNKNOWN_MARKER: &str = "\u{0}cty-unknown";

/// A Terraform value that may be null or not yet known (during plan).
///
/// Its API follows `Option`'s: the `known*` methods treat null and unknown alike ("no value
/// yet"), e.g. `state.dry_run.clone().known_or(false)` or
/// `state.name.as_deref().known_or("")`; `is_null` and `is_unknown` tell them apart.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Val<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T> Val<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }
    pub fn known_mut(&mut self) -> Option<&mut T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }
    pub fn into_known(self) -> Option<T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }
    /// The known value, else `default` (null or unknown).
    pub fn known_or(self, default: T) -> T {
        self.into_known().unwrap_or(default)
    }
    /// The known value, else what `f` returns (null or unknown).
    pub fn known_or_else(self, f: impl FnOnce() -> T) -> T {
        self.into_known().unwrap_or_else(f)
    }
    /// The known value, else `T::default()` (null or unknown).
    pub fn known_or_default(self) -> T
    where
        T: Default,
    {
        self.into_known().unwrap_or_default()
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown)
    }
    pub fn is_known(&self) -> bool {
        matches!(self, Val::Known(_))
    }
    /// Known, and the value satisfies `f`.
    pub fn is_known_and(&self, f: impl FnOnce(&T) -> bool) -> bool {
        self.known().is_some_and(f)
    }
    pub fn as_ref(&self) -> Val<&T> {
        match self {
            Val::Null => Val::Null,
            Val::Unknown => Val::Unknown,
            Val::Known(t) => Val::Known(t),
        }
    }
    pub fn as_mut(&mut self) -> Val<&mut T> {
        match self {
            Val::Null => Val::Null,
            Val::Unknown => Val::Unknown,
            Val::Known(t) => Val::Known(t),
        }
    }
    /// `Val<String>` to `Val<&str>`, `Val<Vec<T>>` to `Val<&[T]>`, ...
    pub fn as_deref(&self) -> Val<&T::Target>
    where
        T: std::ops::Deref,
    {
        self.as_ref().map(|t| &**t)
    }
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Val<U> {
        match self {
            Val::Null => Val::Null,
            Val::Unknown => Val::Unknown,
            Val::Known(t) => Val::Known(f(t)),
        }
    }
    /// `f` of the known value; null and unknown stay as they are.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Val<U>) -> Val<U> {
        match self {
            Val::Null => Val::Null,
            Val::Unknown => Val::Unknown,
            Val::Known(t) => f(t),
        }
    }
    /// `self` if known, else `other` (e.g. the configured value, else the prior one).
    pub fn or(self, other: Val<T>) -> Val<T> {
        match self {
            Val::Known(_) => self,
            _ => other,
        }
    }
    /// Known value, or `other` when null; `None` when unknown.
    pub fn or_default_known(self, other: T) -> Option<T> {
        match self {
            Val::Null => Some(other),
            Val::Unknown => None,
            Val::Known(t) => Some(t),
        }
    }
}

impl<T: Clone> Val<&T> {
    pub fn cloned(self) -> Val<T> {
        self.map(T::clone)
    }
}

impl<T: Copy> Val<&T> {
    pub fn copied(self) -> Val<T> {
        self.map(|t| *t)
    }
}

/// A map whose values may each be unknown (a map attribute planned value by value).
impl<K: Ord + Clone, T: Clone> Val<BTreeMap<K, Val<T>>> {
    /// The entries whose value is known; none when the map itself is not.
    pub fn known_values(&self) -> BTreeMap<K, T> {
        let entries = self.known().into_iter().flatten();
        entries
            .filter_map(|(k, v)| Some((k.clone(), v.known()?.clone())))
            .collect()
    }

    /// A known map of known values.
    pub fn all_known(m: BTreeMap<K, T>) -> Self {
        Val::Known(m.into_iter().map(|(k, v)| (k, Val::Known(v))).collect())
    }
}

/// A value that is there: `Val::Known`.
impl<T> From<T> for Val<T> {
    fn from(t: T) -> Self {
        Val::Known(t)
    }
}

/// `None` is null (not unknown).
impl<T> From<Option<T>> for Val<T> {
    fn from(t: Option<T>) -> Self {
        match t {
            Some(t) => Val::Known(t),
            None => Val::Null,
        }
    }
}

impl<T: Serialize> Serialize for Val<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Null => s.serialize_none(),
            Val::Unknown => {
                let mut m = BTreeMap::new();
                m.insert(UNKNOWN_MARKER, true);
                m.serialize(s)
            }
            Val::Known(t) => t.serialize(s),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Val<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if crate::agreement::recording() {
            // Let the field recorder see `T` (the JSON tree below would hide it).
            return T::deserialize(d).map(Val::Known);
        }
        d.deserialize_newtype_struct(de::VAL_TOKEN, ValVisitor(std::marker::PhantomData))
    }
}

/// Reads a `Val<T>`. From [`de::ValueDe`] (cty values): none is null, unit is unknown, some is
/// the value, and an unknown anywhere inside that `T` cannot hold makes the whole value unknown.
/// From any other deserializer (JSON): through a JSON tree, where null is null and the private
/// marker object is unknown.
struct ValVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: DeserializeOwned> serde::de::Visitor<'de> for ValVisitor<T> {
    type Value = Val<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value, null or unknown")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Val<T>, E> {
        Ok(Val::Null)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Val<T>, E> {
        Ok(Val::Unknown)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Val<T>, D::Error> {
        match T::deserialize(d) {
            Ok(t) => Ok(Val::Known(t)),
            Err(e) if de::is_unknown_error(&e) => Ok(Val::Unknown),
            Err(e) => Err(e),
        }
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Val<T>, D::Error> {
        let j = serde_json::Value::deserialize(d)?;
        if j.is_null() {
            return Ok(Val::Null);
        }
        if is_unknown_marker(&j) {
            return Ok(Val::Unknown);
        }
        T::deserialize(j)
            .map(Val::Known)
            .map_err(serde::de::Error::custom)
    }
}

fn is_unknown_marker(j: &serde_json::Value) -> bool {
    matches!(j, serde_json::Value::Object(m) if m.len() == 1 && m.contains_key(UNKNOWN_MARKER))
}

#[derive(Debug, thiserror::Error)]
pub enum TypedError {
    /// The value does not fit the struct at `path` (empty: the whole value).
    #[error("{}{msg}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Decode { path: AttrPath, msg: String },
    #[error("could not turn the resource's state into a value at {path}: {msg}")]
    Encode { path: String, msg: String },
}

/// cty value -> typed struct. An attribute that contains an unknown decodes as `Val::Unknown`
/// unless its type holds the unknown parts (see [`de`]); errors carry the attribute path.
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, TypedError> {
    T::deserialize(de::ValueDe(v)).map_err(|e| TypedError::Decode {
        path: e.path(),
        msg: match e.kind {
            de::DeErrorKind::Unknown => {
                "a known value is required here, but this value is not known until apply".into()
            }
            de::DeErrorKind::Invalid => e.msg,
        },
    })
}

/// typed struct -> cty value of type `ty`.
pub fn to_value<T: Serialize>(t: &T, ty: &Type) -> Result<Value, TypedError> {
    let j = serde_json::to_value(t).map_err(|e| TypedError::Encode {
        path: String::new(),
        msg: e.to_string(),
    })?;
    state_json_to_value(&j, ty, &mut String::new())
}

/// cty value -> the state JSON intermediate: the `serde_json` tree a typed state struct
/// (de)serializes through, with unknowns as a private marker object. Not cty's JSON form (see
/// [`crate::value::encode_json`]): dynamic values lose their type and numbers may be rounded.
pub fn value_to_state_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Unknown(_) => {
            let mut m = serde_json::Map::new();
            m.insert(UNKNOWN_MARKER.to_string(), J::Bool(true));
            J::Object(m)
        }
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => number_to_json(n),
        Value::String(s) => J::String(s.clone()),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            J::Array(xs.iter().map(value_to_state_json).collect())
        }
        Value::Map(m) | Value::Object(m) => J::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), value_to_state_json(v)))
                .collect(),
        ),
        Value::Dynamic(_, inner) => value_to_state_json(inner),
    }
}

fn number_to_json(n: &Number) -> serde_json::Value {
    if let Some(i) = n.as_i64() {
        return serde_json::Value::from(i);
    }
    match n.as_f64() {
        Some(f) => serde_json::Value::from(f),
        None => serde_json::Value::String(n.to_string()),
    }
}

/// The state JSON intermediate (see [`value_to_state_json`]) -> cty value, guided by the type.
/// Object attributes missing from the JSON become null; ones the type lacks are errors.
pub fn state_json_to_value(
    j: &serde_json::Value,
    ty: &Type,
    path: &mut String,
) -> Result<Value, TypedError> {
    use serde_json::Value as J;
    if j.is_null() {
        return Ok(Value::Null);
    }
    if is_unknown_marker(j) {
        return Ok(Value::unknown());
    }
    let err = |path: &str, msg: String| TypedError::Encode {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.to_string()
        },
        msg,
    };
    match (ty, j) {
        (Type::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::String, J::String(s)) => Ok(Value::String(s.clone())),
        (Type::Number, J::Number(n)) => {
            let num = if let Some(i) = n.as_i64() {
                Number::from_i64(i)
            } else if let Some(f) = n.as_f64() {
                Number::from_f64(f)
            } else {
                n.to_string()
                    .parse::<Number>()
                    .map_err(|_| err(path, format!("bad number {n}")))?
            };
            Ok(Value::Number(num))
        }
        (Type::List(et), J::Array(xs)) | (Type::Set(et), J::Array(xs)) => {
            let mut out = Vec::with_capacity(xs.len());
            for (i, x) in xs.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(state_json_to_value(x, et, path)?);
                path.truncate(len);
            }
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(out)
            } else {
                Value::List(out)
            })
        }
        (Type::Tuple(ets), J::Array(xs)) if ets.len() == xs.len() => {
            let mut out = Vec::with_capacity(xs.len());
            for (i, (x, et)) in xs.iter().zip(ets).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(state_json_to_value(x, et, path)?);
                path.truncate(len);
            }
            Ok(Value::Tuple(out))
        }
        (Type::Map(et), J::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, x) in m {
                let len = path.len();
                path.push_str(&format!("[{k:?}]"));
                out.insert(k.clone(), state_json_to_value(x, et, path)?);
                path.truncate(len);
            }
            Ok(Value::Map(out))
        }
        (Type::Object(ot), J::Object(m)) => {
            let mut out = BTreeMap::new();
            for (name, at) in &ot.attrs {
                let len = path.len();
                path.push('.');
                path.push_str(name);
                let v = match m.get(name) {
                    Some(x) => state_json_to_value(x, at, path)?,
                    None => Value::Null,
                };
                out.insert(name.clone(), v);
                path.truncate(len);
            }
            for k in m.keys() {
                if !ot.attrs.contains_key(k) {
                    return Err(err(path, format!("attribute {k:?} is not in the schema")));
                }
            }
            Ok(Value::Object(out))
        }
        (Type::Dynamic, other) => Err(err(
            path,
            format!("typed structs cannot produce dynamic values ({other})"),
        )),
        (t, other) => Err(err(path, format!("expected {}, got {other}", t.to_json()))),
    }
}

#[cfg(test)]
mod tests;
