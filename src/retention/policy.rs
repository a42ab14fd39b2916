//! From the resource's attributes to a [`Policy`]: each error names the attribute at fault, so
//! the resource never has to guess it from the message text.

use super::engine::PackageFilter;
use regex::Regex;
use std::collections::BTreeSet;

/// An attribute of `cicd_forgejo_package_retention` that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// The attribute's name (`packages`, `package_regex`, `keep_tags`, `keep_newer_than`).
    pub field: &'static str,
    /// Index within a list attribute, when one element is at fault.
    pub index: Option<usize>,
    pub message: String,
}

impl PolicyError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        PolicyError {
            field,
            index: None,
            message: message.into(),
        }
    }
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
