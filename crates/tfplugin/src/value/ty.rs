//! The cty type system as it appears on the wire, and its JSON form
//! (`"string"`, `["list","number"]`, `["object",{...}]`, ...).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::path::quote;
use super::{ValueError, MAX_DEPTH};

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
