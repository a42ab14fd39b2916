//! The retention policy parser's fuzz corpus, run as an ordinary test on stable: every seed in
//! `tests/fuzz_corpus/retention/*.json` (the attributes of a `cicd_forgejo_package_retention`,
//! as a JSON object) and proptest's arbitrary attributes. No input may panic; an input either
//! parses, or fails naming one of the policy's attributes (so the error can carry its path).

use cicd::retention::policy::{from_attributes, PolicyAttributes};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

const FIELDS: [&str; 6] = [
    "type",
    "packages",
    "package_regex",
    "keep_last",
    "keep_tags",
    "keep_newer_than",
];

#[derive(Debug, Clone, Default)]
struct Input {
    package_type: Option<String>,
    packages: Option<BTreeSet<String>>,
    package_regex: Option<String>,
    keep_last: Option<i64>,
    keep_tags: Vec<String>,
    keep_newer_than: Option<String>,
    protect_in_use: BTreeSet<String>,
}

impl Input {
    fn from_json(j: &serde_json::Value) -> Input {
        let s = |k: &str| j.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let list = |k: &str| -> Option<Vec<String>> {
            j.get(k)?.as_array().map(|xs| {
                xs.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
        };
        Input {
            package_type: s("type"),
            packages: list("packages").map(|v| v.into_iter().collect()),
            package_regex: s("package_regex"),
            keep_last: j.get("keep_last").and_then(|v| v.as_i64()),
            keep_tags: list("keep_tags").unwrap_or_default(),
            keep_newer_than: s("keep_newer_than"),
            protect_in_use: list("protect_in_use")
                .unwrap_or_default()
                .into_iter()
                .collect(),
        }
    }

    /// Parses; an error must name a policy attribute and say something.
    fn check(&self) -> Result<bool, String> {
        let a = PolicyAttributes {
            package_type: self.package_type.as_deref(),
            packages: self.packages.as_ref(),
            package_regex: self.package_regex.as_deref(),
            keep_last: self.keep_last,
            keep_tags: &self.keep_tags,
            keep_newer_than: self.keep_newer_than.as_deref(),
            protect_in_use: self.protect_in_use.clone(),
            delete_latest: false,
            dry_run: true,
        };
        match from_attributes(a) {
            Ok(_) => Ok(true),
            Err(e) if !FIELDS.contains(&e.field) => Err(format!("unknown field {e:?}")),
            Err(e) if e.message.trim().is_empty() => Err(format!("empty message {e:?}")),
            Err(e) => {
                let path = e.path().to_string();
                if !path.starts_with(e.field) {
                    return Err(format!("path {path} does not name {}", e.field));
                }
                Ok(false)
            }
        }
    }
}

fn seeds() -> Vec<(String, serde_json::Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus/retention");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 10, "the retention corpus is missing seeds");
    out
}

#[test]
fn retention_corpus() {
    for (name, j) in seeds() {
        let parsed = Input::from_json(&j)
            .check()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // The seeds named valid_* parse; the others name their fault.
        assert_eq!(parsed, name.starts_with("valid_"), "{name}");
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        "[0-9]{1,6}(ns|us|ms|s|m|h|d|w)?",
        "\\^?[a-z.*+?()\\[\\]{}|\\\\0-9]{0,16}\\$?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_attributes_never_panic(
        package_type in prop::option::of(text()),
        packages in prop::option::of(prop::collection::btree_set(text(), 0..3)),
        package_regex in prop::option::of(text()),
        keep_last in prop::option::of(any::<i64>()),
        keep_tags in prop::collection::vec(text(), 0..3),
        keep_newer_than in prop::option::of(text()),
    ) {
        let input = Input {
            package_type,
            packages,
            package_regex,
            keep_last,
            keep_tags,
            keep_newer_than,
            protect_in_use: BTreeSet::new(),
        };
        input.check().map_err(TestCaseError::fail)?;
    }
}
