//! Diagnostics with attribute paths: what resources report instead of returning errors.
//!
//! A diagnostic with a path lets Terraform point at the offending line of configuration
//! ("on main.tf line 12, in resource ...: 12:   tag = "latest""), which is what users read first.

use std::fmt;

/// One step of an attribute path. Set elements cannot be addressed (protocol rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Attribute(String),
    Key(String),
    Index(i64),
}

/// A path into a configuration or state object, e.g. `registries["r.example"].username`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttrPath(pub Vec<PathStep>);

impl AttrPath {
    pub fn root(name: impl Into<String>) -> Self {
        AttrPath(vec![PathStep::Attribute(name.into())])
    }
    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.0.push(PathStep::Attribute(name.into()));
        self
    }
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.0.push(PathStep::Key(key.into()));
        self
    }
    pub fn index(mut self, i: i64) -> Self {
        self.0.push(PathStep::Index(i));
        self
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(a) if i == 0 => write!(f, "{a}")?,
                PathStep::Attribute(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub path: Option<AttrPath>,
}

/// The sink every resource method writes into. Errors abort the operation; warnings do not.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Error, summary, detail, None);
    }
    pub fn error_at(
        &mut self,
        path: AttrPath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Error, summary, detail, Some(path));
    }
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Warning, summary, detail, None);
    }
    pub fn warning_at(
        &mut self,
        path: AttrPath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Warning, summary, detail, Some(path));
    }
    /// Reports the failure `e` as an error under `summary` and gives `None`, so that a failed
    /// step is one line: `Err(e) => return diags.push_err(format!("Could not read {x}"), &e)`.
    pub fn push_err<T>(&mut self, summary: impl Into<String>, e: &impl fmt::Display) -> Option<T> {
        self.error(summary, e.to_string());
        None
    }
    /// [`push_err`](Self::push_err) for a failure one attribute is to blame for.
    pub fn push_err_at<T>(
        &mut self,
        path: AttrPath,
        summary: impl Into<String>,
        e: &impl fmt::Display,
    ) -> Option<T> {
        self.error_at(path, summary, e.to_string());
        None
    }
    fn push(
        &mut self,
        severity: Severity,
        summary: impl Into<String>,
        detail: impl Into<String>,
        path: Option<AttrPath>,
    ) {
        self.0.push(Diagnostic {
            severity,
            summary: summary.into(),
            detail: detail.into(),
            path,
        });
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display() {
        let cases = [
            (AttrPath::root("tag"), "tag"),
            (
                AttrPath::root("registries")
                    .key("r.example")
                    .attr("username"),
                "registries[\"r.example\"].username",
            ),
            (AttrPath::root("events").index(2), "events[2]"),
        ];
        for (p, want) in cases {
            assert_eq!(p.to_string(), want);
        }
    }

    #[test]
    fn errors_and_warnings() {
        let mut d = Diagnostics::new();
        d.warning("w", "");
        assert!(!d.has_errors());
        d.error_at(AttrPath::root("x"), "bad", "worse");
        assert!(d.has_errors());
        assert_eq!(d.0.len(), 2);
    }

    #[test]
    fn push_err_reports_and_gives_none() {
        let mut d = Diagnostics::new();
        let r: Option<u8> = d.push_err("Could not read x", &"404 not found");
        assert_eq!(r, None);
        let r: Option<u8> = d.push_err_at(AttrPath::root("x"), "Bad x", &42);
        assert_eq!(r, None);
        assert_eq!(d.0[0].detail, "404 not found");
        assert_eq!(
            (d.0[1].path.clone(), d.0[1].detail.as_str()),
            (Some(AttrPath::root("x")), "42")
        );
    }
}
