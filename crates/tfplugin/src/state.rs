//! [`state!`](crate::state!): a state struct whose attributes are written once.
//!
//! Each field is declared once, with its doc comment as the attribute's description and the
//! schema builder chain that defines it:
//!
//! ```
//! use tfplugin::schema::NestingMode;
//! use tfplugin::typed::Val;
//! use tfplugin::value::Type;
//!
//! tfplugin::state! {
//!     /// One registry's credentials.
//!     #[derive(Clone, Debug, Default, PartialEq)]
//!     pub struct Login / LoginAttrs {
//!         /// User name.
//!         username: Val<String> = string().required(),
//!     }
//! }
//!
//! tfplugin::state! {
//!     /// State of example_repo.
//!     #[derive(Clone, Debug, Default, PartialEq)]
//!     pub struct State / StateAttrs {
//!         /// The repository, `owner/name`.
//!         full_name: Val<String> = string().required().force_new(),
//!         /// Numeric id.
//!         id: Val<i64> = number().computed().keep_prior(),
//!         events: Val<Vec<String>> = new(Type::list(Type::String)).optional().computed(),
//!         /// Credentials per registry host.
//!         logins: Val<std::collections::BTreeMap<String, Login>> =
//!             nested(NestingMode::Map, Login::attributes()).optional(),
//!         /// Where to send events (a nested block).
//!         hook: Val<Vec<Login>> = block(NestingMode::List, Login::block("")).max_items(1),
//!     }
//! }
//!
//! let block = State::block("Manages a repository.");
//! assert_eq!(State::ATTR.full_name, "full_name");
//! assert_eq!(block.attribute("id").unwrap().description, "Numeric id.");
//! assert!(block.attribute("id").unwrap().keep_prior);
//! assert_eq!(block.nested_block("hook").unwrap().max_items, 1);
//! ```
//!
//! This generates:
//!
//! * the struct, deriving `serde::Serialize` and `serde::Deserialize` (so the crate using the
//!   macro depends on `serde`), with public fields that each default when absent;
//! * `StateAttrs`, a struct of `&'static str` with one field per field, and
//!   `State::ATTR: StateAttrs` holding each name, so that code writes
//!   `AttrPath::root(State::ATTR.full_name)` instead of repeating the string;
//! * `State::attributes() -> Vec<Attribute>` and `State::blocks() -> Vec<NestedBlock>`, the
//!   schema of the fields in order, and `State::block(description) -> Block` with both.
//!
//! A field's definition is a constructor from [`ctor`] (`string()`, `bool()`, `number()`,
//! `new(type)`, `nested(nesting, attributes)`, or `block(nesting, block)` for a nested block),
//! called with the field's name in front of the arguments given, then any builder methods of
//! [`Attribute`] (or [`NestedBlock`] for a block). The doc comment is the description
//! (paragraphs separated by a blank line; the lines of a paragraph are joined with spaces); a
//! `.describe(..)` in the chain overrides it, and a block's own description stays when the field
//! has no doc comment. Fields take doc comments only, no other attributes.
//!
//! An attribute whose name is a Rust keyword is a raw identifier: `r#type: Val<String> = ...`
//! is the attribute `type`, and `State::ATTR.r#type == "type"`.

use crate::schema::{Attribute, Block, NestedBlock};

/// The constructors a [`state!`](crate::state!) field definition starts with. Each takes the
/// field's name first; the macro passes it.
pub mod ctor {
    use crate::schema::{Attribute, Block, NestedBlock, NestingMode};
    use crate::value::Type;

    pub fn string(name: &str) -> Attribute {
        Attribute::string(name)
    }
    pub fn bool(name: &str) -> Attribute {
        Attribute::bool(name)
    }
    pub fn number(name: &str) -> Attribute {
        Attribute::number(name)
    }
    /// An attribute of any type, e.g. `new(Type::list(Type::String))`.
    pub fn new(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty)
    }
    /// A nested attribute: an object (or list, set or map of objects) with these attributes.
    pub fn nested(name: &str, nesting: NestingMode, attributes: Vec<Attribute>) -> Attribute {
        Attribute::nested(name, nesting, attributes)
    }
    /// A nested block.
    pub fn block(name: &str, nesting: NestingMode, block: Block) -> NestedBlock {
        NestedBlock::new(name, nesting, block)
    }
}

/// Gives an attribute or nested block the description from its field's doc comment, if it has
/// one.
#[doc(hidden)]
pub trait WithDoc: Sized {
    fn with_doc(self, description: String) -> Self;
}

impl WithDoc for Attribute {
    fn with_doc(self, description: String) -> Self {
        if description.is_empty() {
            self
        } else {
            self.describe(description)
        }
    }
}

impl WithDoc for NestedBlock {
    fn with_doc(mut self, description: String) -> Self {
        if !description.is_empty() {
            self.block.description = description;
        }
        self
    }
}

/// A field's schema: an attribute or a nested block.
#[doc(hidden)]
pub enum Member {
    Attribute(Attribute),
    Block(NestedBlock),
}

impl From<Attribute> for Member {
    fn from(a: Attribute) -> Self {
        Member::Attribute(a)
    }
}

impl From<NestedBlock> for Member {
    fn from(b: NestedBlock) -> Self {
        Member::Block(b)
    }
}

#[doc(hidden)]
pub fn attributes(members: Vec<Member>) -> Vec<Attribute> {
    members
        .into_iter()
        .filter_map(|m| match m {
            Member::Attribute(a) => Some(a),
            Member::Block(_) => None,
        })
        .collect()
}

#[doc(hidden)]
pub fn blocks(members: Vec<Member>) -> Vec<NestedBlock> {
    members
        .into_iter()
        .filter_map(|m| match m {
            Member::Block(b) => Some(b),
            Member::Attribute(_) => None,
        })
        .collect()
}

#[doc(hidden)]
pub fn block(description: String, members: Vec<Member>) -> Block {
    let mut b = Block::new(description);
    for m in members {
        match m {
            Member::Attribute(a) => b.attributes.push(a),
            Member::Block(nb) => b.blocks.push(nb),
        }
    }
    b
}

/// A field's attribute name: its identifier as written, without the `r#` of a raw identifier.
#[doc(hidden)]
pub const fn field_name(ident: &'static str) -> &'static str {
    let b = ident.as_bytes();
    if b.len() < 2 || b[0] != b'r' || b[1] != b'#' {
        return ident;
    }
    // NOTE: a table rather than slicing off `r#`: a `&str` from part of another is not const
    // before Rust 1.86/1.87, and rust-version is 1.85.
    let mut i = 0;
    while i < KEYWORDS.len() {
        if same_after_raw_prefix(b, KEYWORDS[i].as_bytes()) {
            return KEYWORDS[i];
        }
        i += 1;
    }
    panic!("a raw identifier in state! that is not a Rust keyword")
}

/// The identifiers that can only be field names as raw identifiers.
const KEYWORDS: [&str; 47] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while",
];

/// `raw` is `r#` followed by exactly `name`.
const fn same_after_raw_prefix(raw: &[u8], name: &[u8]) -> bool {
    if raw.len() != name.len() + 2 {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        if raw[i + 2] != name[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A description from the lines of a doc comment: paragraphs (separated by blank lines) are
/// kept apart by a blank line, the lines of a paragraph are joined with spaces.
pub fn description(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut paragraph_break = false;
    for line in lines.iter().flat_map(|l| l.split('\n')) {
        let line = line.trim();
        if line.is_empty() {
            paragraph_break = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if paragraph_break { "\n\n" } else { " " });
        }
        paragraph_break = false;
        out.push_str(line);
    }
    out
}

/// Declares a state struct whose attributes are written once; see [the module
/// docs](mod@crate::state).
#[macro_export]
macro_rules! state {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident / $attrs:ident {
            $(
                $(#[doc = $doc:expr])*
                $field:ident : $fty:ty = $ctor:ident ( $($arg:expr),* $(,)? )
                    $( . $method:ident ( $($marg:expr),* $(,)? ) )*
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(::serde::Serialize, ::serde::Deserialize)]
        $vis struct $name {
            $(
                $(#[doc = $doc])*
                #[serde(default)]
                pub $field: $fty,
            )*
        }

        #[doc = concat!("The attribute and block names of [`", stringify!($name), "`], one per field.")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis struct $attrs {
            $( pub $field: &'static str, )*
        }

        #[allow(dead_code)]
        impl $name {
            /// Each field's attribute (or block) name.
            pub const ATTR: $attrs = $attrs {
                $( $field: $crate::state::field_name(stringify!($field)), )*
            };

            fn members() -> ::std::vec::Vec<$crate::state::Member> {
                ::std::vec![
                    $(
                        $crate::state::Member::from(
                            $crate::state::WithDoc::with_doc(
                                $crate::state::ctor::$ctor(
                                    $crate::state::field_name(stringify!($field)) $(, $arg)*
                                ),
                                $crate::state::description(&[$($doc),*]),
                            )
                            $( .$method($($marg),*) )*
                        ),
                    )*
                ]
            }

            /// The attributes of the fields, in order (nested blocks excluded).
            pub fn attributes() -> ::std::vec::Vec<$crate::schema::Attribute> {
                $crate::state::attributes(Self::members())
            }

            /// The nested blocks of the fields, in order.
            pub fn blocks() -> ::std::vec::Vec<$crate::schema::NestedBlock> {
                $crate::state::blocks(Self::members())
            }

            /// A block with every field's attribute and nested block.
            pub fn block(description: impl Into<String>) -> $crate::schema::Block {
                $crate::state::block(description.into(), Self::members())
            }
        }
    };
}

#[cfg(test)]
mod tests;
