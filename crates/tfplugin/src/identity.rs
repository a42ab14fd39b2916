//! Resource identity (protocol 6.9, Terraform >= 1.12): a small object that names one remote
//! object (e.g. `{namespace, deployment, container}`), stored beside the state. List resources
//! report their results by identity, and `import` blocks may give one instead of an id.
//!
//! A resource declares an [`IdentitySchema`] and derives the identity from its state; an
//! identity given to import is turned into the resource's import id, so import by identity
//! and by id are one code path.

use crate::proto::tfplugin6 as pb;
use crate::value::Type;

/// One identity attribute.
#[derive(Clone, Debug)]
pub struct IdentityAttr {
    pub name: String,
    pub ty: Type,
    pub description: String,
}

/// The identity attributes of a resource type; every attribute is required for import.
#[derive(Clone, Debug, Default)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttr>,
}

/// An identity as plain JSON values, attribute by attribute.
pub type Identity = serde_json::Map<String, serde_json::Value>;

impl IdentitySchema {
    pub fn new() -> Self {
        Self::default()
    }

    /// A string attribute.
    pub fn string(mut self, name: &str, description: &str) -> Self {
        self.attributes.push(IdentityAttr {
            name: name.into(),
            ty: Type::String,
            description: description.into(),
        });
        self
    }

    /// A number attribute.
    pub fn number(mut self, name: &str, description: &str) -> Self {
        self.attributes.push(IdentityAttr {
            name: name.into(),
            ty: Type::Number,
            description: description.into(),
        });
        self
    }

    /// The cty object type of an identity.
    pub fn value_type(&self) -> Type {
        Type::object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone())),
        )
    }

    pub fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| pb::resource_identity_schema::IdentityAttribute {
                    name: a.name.clone(),
                    r#type: a.ty.to_json_bytes(),
                    required_for_import: true,
                    optional_for_import: false,
                    description: a.description.clone(),
                })
                .collect(),
        }
    }
}

/// A string attribute of an identity, when present and a non-empty string.
pub fn str_attr<'a>(identity: &'a Identity, name: &str) -> Option<&'a str> {
    identity
        .get(name)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}
