//! Schema builder: what a resource declares about its attributes.
//!
//! Besides what Terraform sees (required / optional / computed, sensitive, write-only, nesting),
//! an attribute carries two planning rules the framework applies for the resource:
//! `force_new` (a change plans a replacement) and `keep_prior` (a computed value that does not
//! change on update is planned as the prior value instead of unknown).

use crate::validate::{ConfigValidator, Validator};
use crate::value::{ObjectType, Type, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestingMode {
    Single,
    Group,
    List,
    Set,
    Map,
}

#[derive(Clone, Debug)]
pub enum AttrType {
    Primitive(Type),
    Nested {
        nesting: NestingMode,
        attributes: Vec<Attribute>,
    },
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: AttrType,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecated: bool,
    /// A change of this attribute plans a replacement.
    pub force_new: bool,
    /// Computed value kept from prior state when the resource is updated (UseStateForUnknown).
    pub keep_prior: bool,
    /// Value planned when the attribute is optional+computed and null in configuration.
    pub default: Option<Value>,
    /// Rules the configured value must follow, checked by the framework on validation.
    pub validators: Vec<Validator>,
}

impl Attribute {
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Attribute {
            name: name.into(),
            ty: AttrType::Primitive(ty),
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: false,
            force_new: false,
            keep_prior: false,
            default: None,
            validators: Vec::new(),
        }
    }
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, Type::String)
    }
    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, Type::Bool)
    }
    pub fn number(name: impl Into<String>) -> Self {
        Self::new(name, Type::Number)
    }
    pub fn nested(
        name: impl Into<String>,
        nesting: NestingMode,
        attributes: Vec<Attribute>,
    ) -> Self {
        let mut a = Self::new(name, Type::Bool);
        a.ty = AttrType::Nested {
            nesting,
            attributes,
        };
        a
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    pub fn keep_prior(mut self) -> Self {
        self.keep_prior = true;
        self
    }
    pub fn default_value(mut self, v: Value) -> Self {
        self.default = Some(v);
        self
    }
    pub fn describe(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    /// Add a rule the configured value must follow (see [`crate::validate`]).
    pub fn validate(mut self, v: Validator) -> Self {
        self.validators.push(v);
        self
    }
    /// One markdown line per validator, for the docs.
    pub fn validator_descriptions(&self) -> Vec<String> {
        self.validators.iter().map(Validator::description).collect()
    }

    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttrType::Primitive(t) => t.clone(),
            AttrType::Nested {
                nesting,
                attributes,
            } => {
                let obj = object_type(attributes, &[]);
                wrap(*nesting, obj)
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub type_name: String,
    pub block: Block,
    pub nesting: NestingMode,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn new(type_name: impl Into<String>, nesting: NestingMode, block: Block) -> Self {
        NestedBlock {
            type_name: type_name.into(),
            block,
            nesting,
            min_items: 0,
            max_items: 0,
        }
    }
    pub fn max_items(mut self, n: i64) -> Self {
        self.max_items = n;
        self
    }
    pub fn min_items(mut self, n: i64) -> Self {
        self.min_items = n;
        self
    }
    /// The nested block's description (that of its block).
    pub fn describe(mut self, d: impl Into<String>) -> Self {
        self.block.description = d.into();
        self
    }
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub deprecated: bool,
    /// Rules across the block's attributes, checked by the framework on validation.
    pub validators: Vec<ConfigValidator>,
}

impl Block {
    pub fn new(description: impl Into<String>) -> Self {
        Block {
            description: description.into(),
            ..Default::default()
        }
    }
    pub fn attr(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }
    /// Add a rule across the block's attributes (see [`crate::validate`]).
    pub fn validate(mut self, v: ConfigValidator) -> Self {
        self.validators.push(v);
        self
    }
    /// One markdown line per block validator, for the docs.
    pub fn validator_descriptions(&self) -> Vec<String> {
        self.validators
            .iter()
            .map(ConfigValidator::description)
            .collect()
    }
    /// The cty object type of a value of this block.
    pub fn value_type(&self) -> Type {
        object_type(&self.attributes, &self.blocks)
    }
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    pub fn nested_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.type_name == name)
    }
}

fn object_type(attributes: &[Attribute], blocks: &[NestedBlock]) -> Type {
    let mut attrs = BTreeMap::new();
    for a in attributes {
        attrs.insert(a.name.clone(), a.value_type());
    }
    for b in blocks {
        attrs.insert(b.type_name.clone(), wrap(b.nesting, b.block.value_type()));
    }
    Type::Object(ObjectType {
        attrs,
        optional: BTreeSet::new(),
    })
}

fn wrap(nesting: NestingMode, obj: Type) -> Type {
    match nesting {
        NestingMode::Single | NestingMode::Group => obj,
        NestingMode::List => Type::List(Box::new(obj)),
        NestingMode::Set => Type::Set(Box::new(obj)),
        NestingMode::Map => Type::Map(Box::new(obj)),
    }
}

/// A resource's, data source's or provider's schema.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(version: i64, block: Block) -> Self {
        Schema { version, block }
    }
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_type_covers_attributes_and_blocks() {
        let b = Block::new("x")
            .attr(Attribute::string("name").required())
            .attr(Attribute::nested(
                "regs",
                NestingMode::Map,
                vec![Attribute::string("user").required()],
            ))
            .block(NestedBlock::new(
                "vault",
                NestingMode::List,
                Block::new("").attr(Attribute::string("path").required()),
            ));
        let t = b.value_type();
        let Type::Object(o) = t else {
            panic!("not an object")
        };
        assert_eq!(o.attrs["name"], Type::String);
        assert!(matches!(&o.attrs["regs"], Type::Map(inner) if matches!(**inner, Type::Object(_))));
        assert!(matches!(&o.attrs["vault"], Type::List(_)));
    }
}
