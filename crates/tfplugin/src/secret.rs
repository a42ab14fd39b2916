//! Secrets: [`Secret`], a string whose Debug and Display never show it, and the registry of
//! secret values ([`register_secret`]) that the log scrubber in [`crate::logging`] removes from
//! every line, whatever code produced it.

use std::sync::{OnceLock, RwLock};

/// What a secret is replaced with wherever it would be shown.
pub const REDACTED: &str = "[redacted]";

fn registry() -> &'static RwLock<Vec<String>> {
    static S: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    S.get_or_init(|| RwLock::new(Vec::new()))
}

/// Remember a secret so that no log line can contain it. Very short strings are ignored: they
/// would redact ordinary words and carry little secret material.
pub fn register_secret(s: &str) {
    if s.len() < 4 {
        return;
    }
    if let Ok(mut v) = registry().write() {
        if !v.iter().any(|x| x == s) {
            v.push(s.to_string());
            // Longest first, so a secret containing another is replaced whole.
            v.sort_by_key(|x| std::cmp::Reverse(x.len()));
        }
    }
}

/// Calls `f` with every registered secret, longest first.
pub(crate) fn for_each_registered(mut f: impl FnMut(&str)) {
    if let Ok(v) = registry().read() {
        v.iter().for_each(|s| f(s));
    }
}

/// A string that must never be logged or shown: Debug and Display print a placeholder.
/// Creating one registers the value with [`register_secret`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        let s = s.into();
        register_secret(&s);
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2-hunter2");
        let mut seen = false;
        for_each_registered(|x| seen |= x == "hunter2-hunter2");
        assert!(seen, "a new Secret is registered for the log scrubber");
    }
}
