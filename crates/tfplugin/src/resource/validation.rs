//! What the framework checks in ValidateResourceConfig (and the data source and provider
//! equivalents) before the typed `validate`: write-only attributes on clients that cannot take
//! them, and the validators on the schema ([`crate::validate`]). Both are visitors of the walk
//! in [`super::walk`].

use crate::diagnostics::Diagnostics;
use crate::features::Feature;
use crate::schema::{Attribute, Block, NestedBlock};
use crate::value::Value;

use super::walk::{attr_path, names_path, walk, ObjectSchema, ReadOne, Step, Visitor};
use super::Ctx;

/// Before Terraform/OpenTofu 1.11 a client cannot handle write-only attributes: refuse any that
/// is set, wherever it is nested. The path names the attribute (not the element of a map or
/// list it sits in), which is enough for Terraform to point at it.
pub(super) fn check_write_only_allowed(
    block: &Block,
    config: &Value,
    cx: &Ctx,
    diags: &mut Diagnostics,
) {
    if cx.write_only_allowed {
        return;
    }
    walk(
        block.into(),
        &mut &*config,
        &mut Vec::new(),
        &mut RefuseWriteOnly(diags),
    );
}

struct RefuseWriteOnly<'d>(&'d mut Diagnostics);

impl Visitor for RefuseWriteOnly<'_> {
    type Values = ReadOne;

    fn attribute(&mut self, path: &[Step<'_>], a: &Attribute, v: &mut &Value) -> bool {
        if a.write_only && !v.is_null() {
            Feature::WriteOnlyAttributes.refuse(
                self.0,
                Some(names_path(path)),
                &format!("\"{}\" is write-only (never stored in state)", a.name),
                "use the other value source with older versions.",
            );
        }
        true
    }

    fn block(&mut self, _path: &[Step<'_>], _b: &NestedBlock, _v: &mut &Value) -> bool {
        true
    }
}

/// Run every validator of the schema (attributes and blocks, nested ones included) on `config`.
pub(crate) fn run_validators(block: &Block, config: &Value, diags: &mut Diagnostics) {
    walk(
        block.into(),
        &mut &*config,
        &mut Vec::new(),
        &mut RunValidators(diags),
    );
}

struct RunValidators<'d>(&'d mut Diagnostics);

impl Visitor for RunValidators<'_> {
    type Values = ReadOne;

    fn object(&mut self, path: &[Step<'_>], obj: ObjectSchema<'_>, v: &mut &Value) {
        if obj.validators.is_empty() {
            return;
        }
        let at = attr_path(path);
        for check in obj.validators {
            check.check(v, &at, self.0);
        }
    }

    fn attribute(&mut self, path: &[Step<'_>], a: &Attribute, v: &mut &Value) -> bool {
        if !a.validators.is_empty() {
            let at = attr_path(path);
            for check in &a.validators {
                check.check(v, &at, self.0);
            }
        }
        true
    }

    fn block(&mut self, _path: &[Step<'_>], _b: &NestedBlock, _v: &mut &Value) -> bool {
        true
    }
}

#[cfg(test)]
#[path = "tests/validation.rs"]
mod tests;
