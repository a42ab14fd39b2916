//! From the resource's attributes to a [`Policy`]: each error names the attribute at fault, so
//! the resource never has to guess it from the message text.

use super::engine::{PackageFilter, Policy};
use crate::clients::forgejo::PACKAGE_TYPES;
use regex::Regex;
use std::collections::BTreeSet;
use tfplugin::diagnostics::AttrPath;

/// An attribute of `cicd_forgejo_package_retention` that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// The attribute's name (`type`, `packages`, `package_regex`, `keep_last`, `keep_tags`,
    /// `keep_newer_than`).
    pub field: &'static str,
    /// Index within a list attribute, when one element is at fault.
    pub index: Option<usize>,
    pub message: String,
}

impl PolicyError {
    /// The attribute path the error names (list elements by index; `packages` is a set, whose
    /// elements have no index in Terraform's paths).
    pub fn path(&self) -> AttrPath {
        let at = AttrPath::root(self.field);
        match self.index {
            Some(i) if self.field == "keep_tags" => at.index(i as i64),
            _ => at,
        }
    }

    fn new(field: &'static str, message: impl Into<String>) -> Self {
        PolicyError {
            field,
            index: None,
            message: message.into(),
        }
    }
}

/// The attributes of `cicd_forgejo_package_retention` that make its policy, as plain values:
/// `None` when not set (or not known yet, which the caller tells apart).
#[derive(Debug, Clone, Default)]
pub struct PolicyAttributes<'a> {
    pub package_type: Option<&'a str>,
    pub packages: Option<&'a BTreeSet<String>>,
    pub package_regex: Option<&'a str>,
    pub keep_last: Option<i64>,
    pub keep_tags: &'a [String],
    pub keep_newer_than: Option<&'a str>,
    pub protect_in_use: BTreeSet<String>,
    pub delete_latest: bool,
    pub dry_run: bool,
}

/// The engine's [`Policy`] from the attributes; the first attribute that does not parse is
/// the error (checked in the order `packages`, `package_regex`, `keep_tags`, `keep_last`,
/// `keep_newer_than`, `type`).
pub fn from_attributes(a: PolicyAttributes<'_>) -> Result<Policy, PolicyError> {
    if a.packages.is_some_and(BTreeSet::is_empty) {
        return Err(PolicyError::new(
            "packages",
            "packages must name at least one package (leave it unset for all packages)",
        ));
    }
    let names: Vec<&String> = a.packages.into_iter().flatten().collect();
    let packages = parse_package_filter(&names, a.package_regex)?;
    let keep_tags = parse_keep_tags(a.keep_tags)?;
    let keep_last = match a.keep_last {
        Some(n) if n < 0 => {
            return Err(PolicyError::new(
                "keep_last",
                format!("keep_last must be 0 or more, got {n}"),
            ))
        }
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
        None => 0,
    };
    let keep_newer_than = a.keep_newer_than.map(parse_keep_newer_than).transpose()?;
    if let Some(t) = a.package_type {
        if !PACKAGE_TYPES.contains(&t) {
            return Err(PolicyError::new(
                "type",
                format!(
                    "unknown package type {t:?}; the forge knows: {}",
                    PACKAGE_TYPES.join(", ")
                ),
            ));
        }
    }
    Ok(Policy {
        packages,
        keep_last,
        keep_tags,
        keep_newer_than,
        protect_in_use: a.protect_in_use,
        delete_latest: a.delete_latest,
        dry_run: a.dry_run,
    })
}

/// Builds a [`PackageFilter`] from a list of names or one regex (not both).
/// Neither means every package.
pub fn parse_package_filter<S: AsRef<str>>(
    names: &[S],
    regex: Option<&str>,
) -> Result<PackageFilter, PolicyError> {
    match (names.is_empty(), regex) {
        (false, Some(_)) => Err(PolicyError::new(
            "packages",
            "give package names or a package regex, not both",
        )),
        (true, None) => Ok(PackageFilter::All),
        (true, Some(pattern)) => Regex::new(pattern).map(PackageFilter::Regex).map_err(|e| {
            PolicyError::new(
                "package_regex",
                format!("invalid package regex {pattern:?}: {e}"),
            )
        }),
        (false, None) => {
            let mut set = BTreeSet::new();
            for (i, name) in names.iter().enumerate() {
                let name = name.as_ref().trim();
                if name.is_empty() {
                    return Err(PolicyError {
                        index: Some(i),
                        ..PolicyError::new("packages", "package names must not be empty")
                    });
                }
                set.insert(name.to_ascii_lowercase());
            }
            Ok(PackageFilter::Names(set))
        }
    }
}

/// Compiles `keep_tags` patterns, naming the one that fails.
pub fn parse_keep_tags<S: AsRef<str>>(patterns: &[S]) -> Result<Vec<Regex>, PolicyError> {
    patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let p = p.as_ref();
            Regex::new(p).map_err(|e| PolicyError {
                index: Some(i),
                ..PolicyError::new("keep_tags", format!("invalid keep_tags pattern {p:?}: {e}"))
            })
        })
        .collect()
}

/// `keep_newer_than` in seconds, in the provider's one duration grammar.
pub fn parse_keep_newer_than(s: &str) -> Result<u64, PolicyError> {
    crate::util::duration::parse(s)
        .map(|d| d.as_secs())
        .map_err(|e| PolicyError::new("keep_newer_than", e.to_string()))
}
