//! Where in a value something went wrong: [`ValueError`], the [`Path`] the codecs build on the
//! stack while they walk a value (rendered to text only when an error is reported), and the error
//! constructors both codecs share.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{ObjectType, Type, Value, MAX_DEPTH};

/// A value or type did not decode, encode or conform. `path` says where in the
/// value (`.attr`, `["map key"]`, `[index]` steps; empty for the whole value)
/// and `message` what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", at_prefix(.path), .message)]
pub struct ValueError {
    pub path: String,
    pub message: String,
}

impl ValueError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ValueError {
        ValueError {
            path: path.into(),
            message: message.into(),
        }
    }
}

fn at_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("at {path}: ")
    }
}

/// A location inside a value, built on the stack while walking it and only
/// rendered to text when an error is reported.
#[derive(Clone, Copy)]
pub(super) enum Path<'a> {
    Root,
    Attr(&'a Path<'a>, &'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut cur = self;
        loop {
            match cur {
                Path::Root => break,
                Path::Attr(parent, _) | Path::Key(parent, _) | Path::Index(parent, _) => {
                    steps.push(cur);
                    cur = parent;
                }
            }
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            match step {
                Path::Root => {}
                Path::Attr(_, name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Path::Key(_, key) => {
                    out.push('[');
                    out.push_str(&quote(key));
                    out.push(']');
                }
                Path::Index(_, i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out
    }

    pub(super) fn err(&self, message: impl Into<String>) -> ValueError {
        ValueError::new(self.render(), message)
    }
}

pub(super) fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

// Errors both codecs report. They are cold: building the message is off the hot path.

#[cold]
#[inline(never)]
pub(super) fn too_deep(path: &Path) -> ValueError {
    path.err(format!("value is nested deeper than {MAX_DEPTH}"))
}

#[cold]
#[inline(never)]
pub(super) fn unsupported_attribute(path: &Path, key: &str) -> ValueError {
    path.err(format!("unsupported attribute {}", quote(key)))
}

#[cold]
#[inline(never)]
pub(super) fn tuple_length(path: &Path, want: usize, found: usize) -> ValueError {
    path.err(format!(
        "expected a tuple of {want} elements, found {found}"
    ))
}

#[cold]
#[inline(never)]
pub(super) fn mismatch(ty: &Type, v: &Value, path: &Path) -> ValueError {
    path.err(format!(
        "expected {}, found {}",
        ty.friendly_name(),
        v.kind_name()
    ))
}

#[cold]
#[inline(never)]
pub(super) fn bare_dynamic(path: &Path, v: &Value) -> ValueError {
    path.err(format!(
        "a value of dynamic type must be Value::Dynamic(type, value), found {}",
        v.kind_name()
    ))
}

/// Every attribute of a value must be an attribute of its type.
pub(super) fn check_attributes(
    ot: &ObjectType,
    m: &BTreeMap<String, Value>,
    path: &Path,
) -> Result<(), ValueError> {
    match m.keys().find(|k| !ot.attrs.contains_key(*k)) {
        Some(extra) => Err(unsupported_attribute(path, extra)),
        None => Ok(()),
    }
}
