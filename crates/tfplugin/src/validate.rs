//! Validators: small typed values put on the schema instead of checks written by hand in
//! `validate()`. The framework runs them on every ValidateResourceConfig,
//! ValidateDataResourceConfig and ValidateProviderConfig, before the typed `validate`.
//!
//! * On an attribute, with [`Attribute::validate`](crate::schema::Attribute::validate):
//!   [`one_of`], [`regex()`], [`at_least`], [`not_empty`].
//! * On a block (a resource's own block, or a nested one), with
//!   [`Block::validate`](crate::schema::Block::validate): [`exactly_one_of`], [`conflicts_with`].
//!
//! Null and unknown values are not checked (configuration may hold values known only at apply),
//! nor are unknown elements of a list, set or map. [`one_of`], [`regex()`] and [`at_least`] check
//! each element of a list, set or map attribute; [`not_empty`] checks the value itself. Each
//! validator has a one-line markdown [`Validator::description`] for the docs.

use std::fmt;

use regex::Regex;

use crate::diagnostics::{AttrPath, Diagnostics};
use crate::value::{Number, Value};

/// A rule for an attribute's value.
#[derive(Clone, Debug)]
pub struct Validator(Rule);

#[derive(Clone, Debug)]
enum Rule {
    OneOf(Vec<String>),
    Regex {
        re: Regex,
        what: String,
    },
    AtLeast(Number),
    NotEmpty,
    WholeNumber,
    /// A check of each string; the function says what is wrong, if anything.
    Check {
        f: fn(&str) -> Option<String>,
        what: &'static str,
    },
    /// A check of each key of a map.
    Keys {
        f: fn(&str) -> Option<String>,
        what: &'static str,
    },
}

/// A string that is one of `allowed`.
pub fn one_of(allowed: &[&str]) -> Validator {
    Validator(Rule::OneOf(allowed.iter().map(|s| s.to_string()).collect()))
}

/// A string that matches `pattern` (anchor it with `^…$` to match the whole string); `what`
/// says in words what that is, completing "must be …" (e.g. `"a lower-case DNS label"`).
///
/// # Panics
///
/// If `pattern` is not a valid regular expression: schemas are built by the provider's own code.
pub fn regex(pattern: &str, what: &str) -> Validator {
    let re = Regex::new(pattern)
        .unwrap_or_else(|e| panic!("invalid validator pattern {pattern:?}: {e}"));
    Validator(Rule::Regex {
        re,
        what: what.to_string(),
    })
}

/// A number no smaller than `n`.
pub fn at_least(n: impl Into<Number>) -> Validator {
    Validator(Rule::AtLeast(n.into()))
}

/// A string that is not empty, or a list, set or map with at least one element.
pub fn not_empty() -> Validator {
    Validator(Rule::NotEmpty)
}

/// A whole number (`2`, not `2.5`).
pub fn whole_number() -> Validator {
    Validator(Rule::WholeNumber)
}

/// A string (or each string of a collection) for which `f` finds nothing wrong; `f` says what
/// is wrong in words completing "Attribute x …" ("is longer than 63 characters"), `what`
/// completes "Must be …" for the docs.
pub fn string_check(what: &'static str, f: fn(&str) -> Option<String>) -> Validator {
    Validator(Rule::Check { f, what })
}

/// Each key of a map attribute passes `f` (see [`string_check`]).
pub fn map_keys(what: &'static str, f: fn(&str) -> Option<String>) -> Validator {
    Validator(Rule::Keys { f, what })
}

impl Validator {
    /// One line of markdown for the docs, e.g. ``Must be one of: `a`, `b`.``.
    pub fn description(&self) -> String {
        match &self.0 {
            Rule::OneOf(allowed) => format!("Must be one of: {}.", code_list(allowed)),
            Rule::Regex { what, .. } => format!("Must be {what}."),
            Rule::AtLeast(n) => format!("Must be at least {n}."),
            Rule::NotEmpty => "Must not be empty.".into(),
            Rule::WholeNumber => "Must be a whole number.".into(),
            Rule::Check { what, .. } => format!("Must be {what}."),
            Rule::Keys { what, .. } => format!("Each key must be {what}."),
        }
    }

    /// Check `v`, the value at `path`; report what fails into `diags`.
    pub fn check(&self, v: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        if v.is_null() || v.is_unknown() {
            return;
        }
        match &self.0 {
            Rule::NotEmpty => {
                let empty = match v.inner() {
                    Value::String(s) => s.is_empty(),
                    Value::List(xs) | Value::Set(xs) => xs.is_empty(),
                    Value::Map(m) => m.is_empty(),
                    _ => false,
                };
                if empty {
                    invalid(diags, path, "must not be empty", &Shown(v));
                }
            }
            Rule::Keys { f, .. } => {
                if let Value::Map(m) = v.inner() {
                    for k in m.keys() {
                        if let Some(why) = f(k) {
                            let at = path.clone().key(k.clone());
                            diags.error_at(
                                at,
                                "Invalid map key",
                                format!("Key {k:?} of attribute {path} {why}."),
                            );
                        }
                    }
                }
            }
            rule => each_element(v, path, &mut |x, at| {
                let broken = match (rule, x.inner()) {
                    (Rule::OneOf(allowed), Value::String(s)) => (!allowed.iter().any(|a| a == s))
                        .then(|| format!("must be one of: {}", quoted_list(allowed))),
                    (Rule::Regex { re, what }, Value::String(s)) => {
                        (!re.is_match(s)).then(|| format!("must be {what}"))
                    }
                    (Rule::AtLeast(n), Value::Number(x)) => {
                        (x < n).then(|| format!("must be at least {n}"))
                    }
                    (Rule::WholeNumber, Value::Number(x)) => {
                        (!x.is_integer()).then(|| "must be a whole number".to_string())
                    }
                    (Rule::Check { f, .. }, Value::String(s)) => f(s),
                    _ => None,
                };
                if let Some(rule) = broken {
                    invalid(diags, at, &rule, &Shown(x));
                }
            }),
        }
    }
}

/// Calls `f` with `v` itself, or with each known element of a list, set or map, and its path
/// (set elements cannot be addressed: they get the set's path).
fn each_element(v: &Value, path: &AttrPath, f: &mut dyn FnMut(&Value, &AttrPath)) {
    let known = |x: &&Value| !x.is_null() && !x.is_unknown();
    match v.inner() {
        Value::List(xs) => {
            for (i, x) in xs.iter().enumerate().filter(|(_, x)| known(x)) {
                f(x, &path.clone().index(i as i64));
            }
        }
        Value::Set(xs) => xs.iter().filter(known).for_each(|x| f(x, path)),
        Value::Map(m) => {
            for (k, x) in m.iter().filter(|(_, x)| known(x)) {
                f(x, &path.clone().key(k.clone()));
            }
        }
        _ => f(v, path),
    }
}

fn invalid(diags: &mut Diagnostics, path: &AttrPath, rule: &str, got: &Shown<'_>) {
    diags.error_at(
        path.clone(),
        "Invalid attribute value",
        format!("Attribute {path} {rule}, got: {got}."),
    );
}

/// A value as a user wrote it, for messages.
struct Shown<'v>(&'v Value);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.inner() {
            Value::String(s) => write!(f, "{s:?}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::List(_) => f.write_str("an empty list"),
            Value::Set(_) => f.write_str("an empty set"),
            Value::Map(_) => f.write_str("an empty map"),
            other => write!(f, "{other:?}"),
        }
    }
}

fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A rule across several attributes of one block.
#[derive(Clone, Debug)]
pub struct ConfigValidator {
    kind: Combination,
    paths: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Combination {
    ExactlyOne,
    AtMostOne,
}

/// Exactly one of these attributes is set (not null). Paths are attribute names of the block,
/// dotted to reach into single nested objects (`"auth.token"`).
pub fn exactly_one_of(paths: &[&str]) -> ConfigValidator {
    ConfigValidator {
        kind: Combination::ExactlyOne,
        paths: paths.iter().map(|p| p.to_string()).collect(),
    }
}

/// At most one of these attributes is set: each conflicts with the others. Paths as for
/// [`exactly_one_of`].
pub fn conflicts_with(paths: &[&str]) -> ConfigValidator {
    ConfigValidator {
        kind: Combination::AtMostOne,
        paths: paths.iter().map(|p| p.to_string()).collect(),
    }
}

impl ConfigValidator {
    /// One line of markdown for the docs.
    pub fn description(&self) -> String {
        let names = code_list(&self.paths);
        match self.kind {
            Combination::ExactlyOne => format!("Exactly one of {names} must be set."),
            Combination::AtMostOne => format!("Only one of {names} may be set."),
        }
    }

    /// Check `obj`, the value of the block at `path` (empty for the resource itself).
    pub fn check(&self, obj: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        if obj.is_null() || obj.is_unknown() {
            return;
        }
        let mut set = Vec::new();
        for p in &self.paths {
            let v = p
                .split('.')
                .try_fold(obj, |v, name| v.attr(name))
                .unwrap_or(&Value::Null);
            if v.is_unknown() {
                // Known only at apply: whether it will be set cannot be told yet.
                return;
            }
            if !v.is_null() {
                set.push(p);
            }
        }
        let at = |p: &str| {
            p.split('.')
                .fold(path.clone(), |at, name| at.attr(name.to_string()))
        };
        let names = quoted_list(&self.paths);
        let rule = match self.kind {
            Combination::ExactlyOne => format!("Exactly one of {names} must be set"),
            Combination::AtMostOne => format!("Only one of {names} may be set"),
        };
        match (self.kind, set.as_slice(), self.paths.first()) {
            (Combination::ExactlyOne, [], Some(first)) => diags.error_at(
                at(first),
                "Invalid attribute combination",
                format!("{rule}; none is."),
            ),
            (_, [first, second, ..], _) => diags.error_at(
                at(second),
                "Invalid attribute combination",
                format!("{rule}, but {first:?} and {second:?} both are."),
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
