//! The plan rules every resource gets for free.
//!
//! The framework's plan ([`plan_default`]) follows what Terraform core checks
//! (internal/plans/objchange/plan_valid.go): a non-null configured value is planned exactly as
//! configured; only computed attributes that are null in configuration may be filled in; those
//! become unknown on create and on any update, unless the attribute is `keep_prior`, in which
//! case the prior value is planned; write-only attributes are always planned null.
//!
//! Each rule that reaches into nested attributes and blocks is a visitor of the one walk in
//! [`super::walk`].

use crate::diagnostics::AttrPath;
use crate::schema::{AttrType, Attribute, Block, NestedBlock, NestingMode};
use crate::value::Value;

use super::walk::{
    names_path, walk, ObjectSchema, PlanSlot, Planning, ReadTwo, Ref, Step, Visitor, WriteOne,
};

/// The default plan for a block: returns the planned value and the paths that force replacement.
pub fn plan_default(
    block: &Block,
    prior: &Value,
    config: &Value,
    proposed: &Value,
) -> (Value, Vec<AttrPath>) {
    let creating = prior.is_null();
    let mut planned = proposed.clone();
    null_write_only(block, &mut planned);
    // NOTE: for an optional+computed attribute removed from configuration, Terraform proposes
    // the prior value; one with a default goes back to the default, so apply it before deciding
    // whether anything changed.
    apply_defaults(block, config, &mut planned);
    let mut prior_cmp = prior.clone();
    null_write_only(block, &mut prior_cmp);
    // NOTE: no change in configuration means the prior state is the plan: computed attributes
    // must not turn unknown, or every plan would show a diff (a "perpetual diff").
    if !creating && planned == prior_cmp {
        return (prior_cmp, vec![]);
    }
    mark_computed(block, prior, config, &mut planned);
    let mut replace = Vec::new();
    if !creating {
        collect_replace(block, prior, &planned, &mut replace);
    }
    (planned, replace)
}

fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    let Value::Object(p) = planned else { return };
    for a in &block.attributes {
        if let Some(d) = &a.default {
            if config.attr(&a.name).is_none_or(|v| v.is_null()) {
                p.insert(a.name.clone(), d.clone());
            }
        }
    }
}

fn is_single(nesting: NestingMode) -> bool {
    matches!(nesting, NestingMode::Single | NestingMode::Group)
}

/// Computed attributes that are null in configuration: the default if there is one, else the
/// prior value if `keep_prior`, else unknown. Walks into single nested attributes and blocks.
fn mark_computed(block: &Block, prior: &Value, config: &Value, planned: &mut Value) {
    let mut slot = PlanSlot {
        planned,
        prior,
        config,
    };
    walk(block.into(), &mut slot, &mut Vec::new(), &mut MarkComputed);
}

struct MarkComputed;

impl Visitor for MarkComputed {
    type Values = Planning;

    fn attribute(&mut self, _path: &[Step<'_>], a: &Attribute, v: &mut PlanSlot<'_>) -> bool {
        if a.write_only {
            *v.planned = Value::Null;
            return false;
        }
        if a.computed && v.config.is_null() {
            // The prior value is null whenever its object is being created (the object's prior
            // is null, so are its attributes): a non-null prior value means an update.
            *v.planned = if let Some(d) = &a.default {
                d.clone()
            } else if a.keep_prior && !v.prior.is_null() {
                v.prior.clone()
            } else {
                Value::unknown()
            };
            return false;
        }
        matches!(&a.ty, AttrType::Nested { nesting, .. } if is_single(*nesting))
            && !v.planned.is_null()
            && !v.planned.is_unknown()
    }

    fn block(&mut self, _path: &[Step<'_>], b: &NestedBlock, _v: &mut PlanSlot<'_>) -> bool {
        is_single(b.nesting)
    }
}

/// Paths of `force_new` attributes whose planned value differs from the prior one, at the top
/// level and inside single nested blocks.
fn collect_replace(block: &Block, prior: &Value, planned: &Value, out: &mut Vec<AttrPath>) {
    walk(
        block.into(),
        &mut (prior, planned),
        &mut Vec::new(),
        &mut CollectReplace(out),
    );
}

struct CollectReplace<'o>(&'o mut Vec<AttrPath>);

impl Visitor for CollectReplace<'_> {
    type Values = ReadTwo;

    fn attribute(&mut self, path: &[Step<'_>], a: &Attribute, v: &mut Ref<'_, Self>) -> bool {
        let (prior, planned) = *v;
        if a.force_new && prior != planned {
            self.0.push(names_path(path));
        }
        // A nested attribute is compared as a whole.
        false
    }

    fn block(&mut self, _path: &[Step<'_>], b: &NestedBlock, _v: &mut Ref<'_, Self>) -> bool {
        is_single(b.nesting)
    }
}

/// A configured value that is partly unknown (`[var.ns]`, `{ v = var.tag }`) must be planned
/// exactly as configured (Terraform checks it), but a typed state holds unknown parts only where
/// its type can ([`crate::typed::de`]): elsewhere such an attribute decodes, and so plans, as
/// wholly unknown. Where the plan has a wholly unknown value and the configuration a partly
/// known one, the configured value goes back into the plan (inside single, list and map nested
/// attributes and blocks too).
pub fn keep_partly_known_config(block: &Block, config: &Value, planned: &mut Value) {
    restore_object(&block.attributes, &block.blocks, config, planned);
}

type Inner<'s> = (NestingMode, &'s [Attribute], &'s [NestedBlock]);

fn restore_object(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    config: &Value,
    planned: &mut Value,
) {
    let Value::Object(p) = planned else { return };
    for a in attrs.iter().filter(|a| !a.write_only) {
        let (Some(c), Some(pv)) = (config.attr(&a.name), p.get_mut(&a.name)) else {
            continue;
        };
        let inner = match &a.ty {
            AttrType::Nested {
                nesting,
                attributes,
            } => Some((*nesting, attributes.as_slice(), &[][..])),
            AttrType::Primitive(_) => None,
        };
        restore_value(c, pv, inner);
    }
    for b in blocks {
        let (Some(c), Some(pv)) = (config.attr(&b.type_name), p.get_mut(&b.type_name)) else {
            continue;
        };
        let inner = (
            b.nesting,
            b.block.attributes.as_slice(),
            b.block.blocks.as_slice(),
        );
        restore_value(c, pv, Some(inner));
    }
}

fn restore_value(config: &Value, planned: &mut Value, inner: Option<Inner<'_>>) {
    if config.is_unknown() {
        // Planned as configured, refinements included.
        if planned.is_unknown() {
            *planned = config.clone();
        }
        return;
    }
    if config.is_null() {
        return;
    }
    if planned.is_unknown() {
        if !config.is_wholly_known() {
            *planned = config.clone();
        }
        return;
    }
    let Some((nesting, attrs, blocks)) = inner else {
        return;
    };
    match (nesting, config, planned) {
        (NestingMode::Single | NestingMode::Group, c, p) => restore_object(attrs, blocks, c, p),
        (NestingMode::List, Value::List(cs), Value::List(ps)) => {
            for (c, p) in cs.iter().zip(ps.iter_mut()) {
                restore_object(attrs, blocks, c, p);
            }
        }
        (NestingMode::Map, Value::Map(cm), Value::Map(pm)) => {
            for (k, p) in pm.iter_mut() {
                if let Some(c) = cm.get(k) {
                    restore_object(attrs, blocks, c, p);
                }
            }
        }
        _ => {}
    }
}

/// Write-only attributes are null in every plan and state (protocol rule, 6.8), nested
/// attributes and blocks included (e.g. `registries["host"].password_wo`).
pub fn null_write_only(block: &Block, v: &mut Value) {
    walk(
        block.into(),
        &mut &mut *v,
        &mut Vec::new(),
        &mut NullWriteOnly,
    );
}

struct NullWriteOnly;

impl Visitor for NullWriteOnly {
    type Values = WriteOne;

    fn attribute(&mut self, _path: &[Step<'_>], a: &Attribute, v: &mut &mut Value) -> bool {
        if a.write_only {
            **v = Value::Null;
            return false;
        }
        true
    }

    fn block(&mut self, _path: &[Step<'_>], _b: &NestedBlock, _v: &mut &mut Value) -> bool {
        true
    }
}

/// For a client that checks write-only attributes (Terraform >= 1.11, OpenTofu >= 1.11): a
/// wholly unknown object with write-only attributes inside (`registries = { h = var.r }`)
/// becomes an object of unknown attributes with the write-only ones null, since the client
/// checks the write-only paths of a plan even inside an unknown object. (Older clients get the
/// unknown object as configured: Terraform 1.0 fails on a nested object planned otherwise.)
pub fn fill_unknown_write_only(block: &Block, v: &mut Value) {
    walk(
        block.into(),
        &mut &mut *v,
        &mut Vec::new(),
        &mut FillUnknownWriteOnly,
    );
}

struct FillUnknownWriteOnly;

impl Visitor for FillUnknownWriteOnly {
    type Values = WriteOne;

    fn object(&mut self, path: &[Step<'_>], obj: ObjectSchema<'_>, v: &mut &mut Value) {
        if path.is_empty() || !v.is_unknown() || !obj.attributes.iter().any(|a| a.write_only) {
            return;
        }
        let attrs = obj.attributes.iter().map(|a| {
            let x = if a.write_only {
                Value::Null
            } else {
                Value::unknown()
            };
            (a.name.clone(), x)
        });
        let blocks = obj
            .blocks
            .iter()
            .map(|b| (b.type_name.clone(), Value::unknown()));
        **v = Value::Object(attrs.chain(blocks).collect());
    }

    fn attribute(&mut self, _path: &[Step<'_>], a: &Attribute, _v: &mut &mut Value) -> bool {
        !a.write_only
    }

    fn block(&mut self, _path: &[Step<'_>], _b: &NestedBlock, _v: &mut &mut Value) -> bool {
        true
    }
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
