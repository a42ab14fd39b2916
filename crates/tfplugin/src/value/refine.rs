//! [`Refinements`]: what Terraform 1.6+ knows about a value that is not known yet.

use super::{Number, Type};

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
