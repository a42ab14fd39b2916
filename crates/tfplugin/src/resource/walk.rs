//! One walk over a block's schema and its values in step, for every rule that has to reach
//! into nested attributes and nested blocks: nulling write-only attributes, refusing them on old
//! clients, marking computed attributes in a plan, finding the paths that force replacement.
//!
//! The schema is borrowed all the way down: a nested attribute's object is seen through an
//! [`ObjectSchema`] view, never rebuilt as a `Block`. The values are borrowed too; what a walk
//! carries at each level (one value, read or written, or several values walked together) is
//! chosen by the visitor through its [`Values`] family.

use crate::diagnostics::{AttrPath, PathStep};
use crate::schema::{AttrType, Attribute, Block, NestedBlock, NestingMode};
use crate::validate::ConfigValidator;
use crate::value::Value;

/// The schema of one object: a block's attributes, nested blocks and validators, or the
/// attributes of a nested attribute's object type (which has no blocks nor validators).
#[derive(Clone, Copy)]
pub(crate) struct ObjectSchema<'s> {
    pub attributes: &'s [Attribute],
    pub blocks: &'s [NestedBlock],
    pub validators: &'s [ConfigValidator],
}

impl<'s> From<&'s Block> for ObjectSchema<'s> {
    fn from(b: &'s Block) -> Self {
        ObjectSchema {
            attributes: &b.attributes,
            blocks: &b.blocks,
            validators: &b.validators,
        }
    }
}

/// One step of the path a walk is at: an attribute or block name, or the key or index of an
/// element of a map or list (set elements have no step: they cannot be addressed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step<'s> {
    Name(&'s str),
    Key(String),
    Index(i64),
}

/// The whole path, elements included.
pub(crate) fn attr_path(path: &[Step<'_>]) -> AttrPath {
    AttrPath(
        path.iter()
            .map(|s| match s {
                Step::Name(n) => PathStep::Attribute(n.to_string()),
                Step::Key(k) => PathStep::Key(k.clone()),
                Step::Index(i) => PathStep::Index(*i),
            })
            .collect(),
    )
}

/// The attribute and block names of the path only.
pub(crate) fn names_path(path: &[Step<'_>]) -> AttrPath {
    AttrPath(
        path.iter()
            .filter_map(|s| match s {
                Step::Name(n) => Some(PathStep::Attribute(n.to_string())),
                _ => None,
            })
            .collect(),
    )
}

/// How a walk steps from an object's value(s) to the values inside it. `Ref<'v>` is what the
/// walk carries at one level.
pub(crate) trait Values {
    type Ref<'v>;
    /// The value(s) of attribute or nested block `name` of an object; `None` skips it.
    fn field<'v, 'a: 'v>(v: &'v mut Self::Ref<'a>, name: &str) -> Option<Self::Ref<'v>>;
    /// The objects inside a nested attribute or block of mode `nesting`, with the step to each:
    /// the value itself (no step) for single and group nesting, each element (or map value) for
    /// list, set and map nesting.
    fn objects<'v, 'a: 'v>(v: &'v mut Self::Ref<'a>, nesting: NestingMode) -> Objects<'v, Self>;
}

pub(crate) type Objects<'v, V> = Vec<(Option<Step<'static>>, <V as Values>::Ref<'v>)>;

/// What a walk does at each object, attribute and nested block. `path` leads from the root to
/// what is visited.
pub(crate) trait Visitor {
    type Values: Values;
    /// Visit an object (the root, or one inside a nested attribute or block) before its
    /// attributes.
    fn object(&mut self, _path: &[Step<'_>], _obj: ObjectSchema<'_>, _v: &mut Ref<'_, Self>) {}
    /// Visit attribute `a`; return true to walk into its objects if it is a nested attribute.
    fn attribute(&mut self, path: &[Step<'_>], a: &Attribute, v: &mut Ref<'_, Self>) -> bool;
    /// Visit nested block `b`; return true to walk into its objects.
    fn block(&mut self, path: &[Step<'_>], b: &NestedBlock, v: &mut Ref<'_, Self>) -> bool;
}

pub(crate) type Ref<'v, W> = <<W as Visitor>::Values as Values>::Ref<'v>;

/// Walk `obj` with its values `v`: every attribute, then every nested block, each followed by
/// the objects inside it when the visitor asks for them.
pub(crate) fn walk<'s, W: Visitor + ?Sized>(
    obj: ObjectSchema<'s>,
    v: &mut Ref<'_, W>,
    path: &mut Vec<Step<'s>>,
    w: &mut W,
) {
    w.object(path, obj, v);
    for a in obj.attributes {
        let Some(mut field) = W::Values::field(v, &a.name) else {
            continue;
        };
        path.push(Step::Name(&a.name));
        let descend = w.attribute(path, a, &mut field);
        if let (
            true,
            AttrType::Nested {
                nesting,
                attributes,
            },
        ) = (descend, &a.ty)
        {
            let inner = ObjectSchema {
                attributes,
                blocks: &[],
                validators: &[],
            };
            for (step, mut o) in W::Values::objects(&mut field, *nesting) {
                walk_element(inner, step, &mut o, path, w);
            }
        }
        path.pop();
    }
    for b in obj.blocks {
        let Some(mut field) = W::Values::field(v, &b.type_name) else {
            continue;
        };
        path.push(Step::Name(&b.type_name));
        if w.block(path, b, &mut field) {
            for (step, mut o) in W::Values::objects(&mut field, b.nesting) {
                walk_element((&b.block).into(), step, &mut o, path, w);
            }
        }
        path.pop();
    }
}

fn walk_element<'s, W: Visitor + ?Sized>(
    obj: ObjectSchema<'s>,
    step: Option<Step<'static>>,
    v: &mut Ref<'_, W>,
    path: &mut Vec<Step<'s>>,
    w: &mut W,
) {
    let stepped = step.map(|s| path.push(s)).is_some();
    walk(obj, v, path, w);
    if stepped {
        path.pop();
    }
}

/// What an absent attribute reads as.
static NULL: Value = Value::Null;

fn index<T>((i, x): (usize, T)) -> (Option<Step<'static>>, T) {
    (Some(Step::Index(i as i64)), x)
}

fn key<T>((k, x): (&String, T)) -> (Option<Step<'static>>, T) {
    (Some(Step::Key(k.clone())), x)
}

fn is_single(nesting: NestingMode) -> bool {
    matches!(nesting, NestingMode::Single | NestingMode::Group)
}

/// One value, read. Attributes of a value that is not an object are skipped.
pub(crate) struct ReadOne;

impl Values for ReadOne {
    type Ref<'v> = &'v Value;
    fn field<'v, 'a: 'v>(v: &'v mut &'a Value, name: &str) -> Option<&'v Value> {
        v.attr(name)
    }
    fn objects<'v, 'a: 'v>(v: &'v mut &'a Value, nesting: NestingMode) -> Objects<'v, Self> {
        match (is_single(nesting), *v) {
            (true, v) => vec![(None, v)],
            (false, Value::List(xs)) => xs.iter().enumerate().map(index).collect(),
            (false, Value::Set(xs)) => xs.iter().map(|x| (None, x)).collect(),
            (false, Value::Map(m)) => m.iter().map(key).collect(),
            _ => vec![],
        }
    }
}

/// One value, written. Attributes of a value that is not an object are skipped.
pub(crate) struct WriteOne;

impl Values for WriteOne {
    type Ref<'v> = &'v mut Value;
    fn field<'v, 'a: 'v>(v: &'v mut &'a mut Value, name: &str) -> Option<&'v mut Value> {
        match &mut **v {
            Value::Object(m) => m.get_mut(name),
            _ => None,
        }
    }
    fn objects<'v, 'a: 'v>(v: &'v mut &'a mut Value, nesting: NestingMode) -> Objects<'v, Self> {
        match (is_single(nesting), &mut **v) {
            (true, v) => vec![(None, v)],
            (false, Value::List(xs)) => xs.iter_mut().enumerate().map(index).collect(),
            (false, Value::Set(xs)) => xs.iter_mut().map(|x| (None, x)).collect(),
            (false, Value::Map(m)) => m.iter_mut().map(key).collect(),
            _ => vec![],
        }
    }
}

/// Two values read together (e.g. prior state and plan); an attribute absent from one reads
/// as null. Only single objects are walked into: the elements of two collections do not pair up.
pub(crate) struct ReadTwo;

impl Values for ReadTwo {
    type Ref<'v> = (&'v Value, &'v Value);
    fn field<'v, 'a: 'v>(
        v: &'v mut (&'a Value, &'a Value),
        name: &str,
    ) -> Option<(&'v Value, &'v Value)> {
        Some((
            v.0.attr(name).unwrap_or(&NULL),
            v.1.attr(name).unwrap_or(&NULL),
        ))
    }
    fn objects<'v, 'a: 'v>(
        v: &'v mut (&'a Value, &'a Value),
        nesting: NestingMode,
    ) -> Objects<'v, Self> {
        if is_single(nesting) {
            vec![(None, (v.0, v.1))]
        } else {
            vec![]
        }
    }
}

/// A plan being written, with the prior state and configuration read beside it.
pub(crate) struct PlanSlot<'v> {
    pub planned: &'v mut Value,
    pub prior: &'v Value,
    pub config: &'v Value,
}

/// [`PlanSlot`]s: the plan's attributes are visited only where the plan is an object (a missing
/// one is added as null); prior and configuration read null where absent. Only single objects
/// are walked into, as for [`ReadTwo`].
pub(crate) struct Planning;

impl Values for Planning {
    type Ref<'v> = PlanSlot<'v>;
    fn field<'v, 'a: 'v>(v: &'v mut PlanSlot<'a>, name: &str) -> Option<PlanSlot<'v>> {
        let Value::Object(p) = &mut *v.planned else {
            return None;
        };
        if !p.contains_key(name) {
            p.insert(name.to_string(), Value::Null);
        }
        Some(PlanSlot {
            planned: p.get_mut(name)?,
            prior: v.prior.attr(name).unwrap_or(&NULL),
            config: v.config.attr(name).unwrap_or(&NULL),
        })
    }
    fn objects<'v, 'a: 'v>(v: &'v mut PlanSlot<'a>, nesting: NestingMode) -> Objects<'v, Self> {
        if is_single(nesting) {
            let slot = PlanSlot {
                planned: &mut *v.planned,
                prior: v.prior,
                config: v.config,
            };
            vec![(None, slot)]
        } else {
            vec![]
        }
    }
}
