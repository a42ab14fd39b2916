//! Tests of the engine and the policy parsers.

use super::*;
use proptest::prelude::*;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};

const DAY: i64 = 86_400;
const NOW: i64 = 1_000 * DAY;

fn dg(n: u32) -> String {
    format!("sha256:{n:064x}")
}

fn tag(pkg: &str, name: &str, id: i64, created: i64, digest: Option<&str>) -> Version {
    Version {
        package: pkg.to_string(),
        version: name.to_string(),
        version_id: id,
        created_at: created,
        digest: digest.map(str::to_string),
    }
}

fn untagged(pkg: &str, digest: &str, id: i64, created: i64) -> Version {
    Version {
        package: pkg.to_string(),
        version: digest.to_string(),
        version_id: id,
        created_at: created,
        digest: Some(digest.to_string()),
    }
}

fn manifests(items: &[(&str, &[&str])]) -> BTreeMap<String, Manifest> {
    items
        .iter()
        .map(|(d, children)| {
            let media_type = if children.is_empty() {
                "application/vnd.oci.image.manifest.v1+json"
            } else {
                "application/vnd.oci.image.index.v1+json"
            };
            (
                d.to_string(),
                Manifest {
                    digest: d.to_string(),
                    media_type: media_type.to_string(),
                    children: children.iter().map(|c| c.to_string()).collect(),
                },
            )
        })
        .collect()
}

fn policy() -> Policy {
    Policy {
        packages: PackageFilter::All,
        keep_last: 0,
        keep_tags: Vec::new(),
        keep_newer_than: None,
        protect_in_use: BTreeSet::new(),
        delete_latest: false,
        dry_run: false,
    }
}

fn deleted(p: &RetentionPlan) -> Vec<String> {
    p.deletions
        .iter()
        .map(|d| format!("{}/{}", d.package, d.version))
        .collect()
}

fn kept_reason<'p>(p: &'p RetentionPlan, pkg: &str, version: &str) -> &'p str {
    p.kept
        .iter()
        .find(|k| k.package == pkg && k.version == version)
        .map(|k| k.reason.as_str())
        .unwrap_or_else(|| panic!("{pkg}/{version} not kept: {p:#?}"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn names(items: &[&str]) -> Vec<String> {
    sorted(items.iter().map(|s| s.to_string()).collect())
}

/// Table of cases checked on the set of deleted `package/version`s.
struct Case {
    name: &'static str,
    policy: Policy,
    versions: Vec<Version>,
    manifests: BTreeMap<String, Manifest>,
    want_deleted: Vec<&'static str>,
}

fn single_arch(pkg: &str, tags: &[(&str, i64)]) -> (Vec<Version>, Vec<(String, Vec<String>)>) {
    let mut vs = Vec::new();
    let mut ms = Vec::new();
    for (i, (t, age_days)) in tags.iter().enumerate() {
        let d = dg(500 + i as u32);
        vs.push(tag(pkg, t, 10 + i as i64, NOW - age_days * DAY, Some(&d)));
        ms.push((d, Vec::new()));
    }
    (vs, ms)
}

fn owned_manifests(ms: &[(String, Vec<String>)]) -> BTreeMap<String, Manifest> {
    ms.iter()
        .map(|(d, c)| {
            (
                d.clone(),
                Manifest {
                    digest: d.clone(),
                    media_type: String::new(),
                    children: c.clone(),
                },
            )
        })
        .collect()
}

fn tag_rule_cases() -> Vec<Case> {
    let (vs, ms) = single_arch(
        "app",
        &[
            ("latest", 50),
            ("v1.2.0", 40),
            ("v1.2.0-rc1", 39),
            ("xv1.2.0", 38),
            ("a1", 31),
            ("b2", 30),
            ("c3", 10),
        ],
    );
    let m = owned_manifests(&ms);
    let with = |f: &dyn Fn(&mut Policy)| {
        let mut p = policy();
        f(&mut p);
        p
    };
    vec![
        Case {
            name: "latest kept unless delete_latest",
            policy: policy(),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec![
                "app/v1.2.0",
                "app/v1.2.0-rc1",
                "app/xv1.2.0",
                "app/a1",
                "app/b2",
                "app/c3",
            ],
        },
        Case {
            name: "delete_latest removes latest too",
            policy: with(&|p| p.delete_latest = true),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec![
                "app/latest",
                "app/v1.2.0",
                "app/v1.2.0-rc1",
                "app/xv1.2.0",
                "app/a1",
                "app/b2",
                "app/c3",
            ],
        },
        Case {
            name: "keep_last keeps the newest tags",
            policy: with(&|p| p.keep_last = 2),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec!["app/v1.2.0", "app/v1.2.0-rc1", "app/xv1.2.0", "app/a1"],
        },
        Case {
            name: "keep_tags is a full match",
            policy: with(&|p| p.keep_tags = vec![Regex::new(r"v\d+\.\d+\.\d+").unwrap()]),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec![
                "app/v1.2.0-rc1",
                "app/xv1.2.0",
                "app/a1",
                "app/b2",
                "app/c3",
            ],
        },
        Case {
            name: "keep_tags alternation matches the whole tag",
            policy: with(&|p| p.keep_tags = vec![Regex::new(r"v1|v1\.2\.0").unwrap()]),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec![
                "app/v1.2.0-rc1",
                "app/xv1.2.0",
                "app/a1",
                "app/b2",
                "app/c3",
            ],
        },
        Case {
            name: "keep_tags verbose pattern ending in a comment",
            policy: with(&|p| {
                p.keep_tags = vec![Regex::new("(?x) [a-c] \\d  # letter-digit tags").unwrap()]
            }),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec!["app/v1.2.0", "app/v1.2.0-rc1", "app/xv1.2.0"],
        },
        Case {
            name: "keep_newer_than keeps versions not older than the limit",
            policy: with(&|p| p.keep_newer_than = Some(30 * 86_400)),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec!["app/v1.2.0", "app/v1.2.0-rc1", "app/xv1.2.0", "app/a1"],
        },
        Case {
            name: "protect_in_use by tag, by digest, bare name and prefixed name",
            policy: with(&|p| {
                p.delete_latest = true;
                p.protect_in_use = [
                    "app:a1".to_string(),
                    format!("app@{}", dg(502)),
                    "app".to_string(),
                    "myhost:5000/owner/app:c3".to_string(),
                    "other:b2".to_string(),
                ]
                .into_iter()
                .collect();
            }),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec!["app/v1.2.0", "app/xv1.2.0", "app/b2"],
        },
    ]
}

fn filter_cases() -> Vec<Case> {
    let mut vs = Vec::new();
    let mut ms = Vec::new();
    for (i, pkg) in ["app", "apple", "web", "tools"].iter().enumerate() {
        let d = dg(700 + i as u32);
        vs.push(tag(pkg, "old", 100 + i as i64, NOW - 90 * DAY, Some(&d)));
        ms.push((d, Vec::new()));
    }
    let m = owned_manifests(&ms);
    let with_filter = |f: PackageFilter| Policy {
        packages: f,
        ..policy()
    };
    vec![
        Case {
            name: "all packages",
            policy: with_filter(PackageFilter::All),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec!["app/old", "apple/old", "web/old", "tools/old"],
        },
        Case {
            name: "names, case-insensitive",
            policy: with_filter(parse_package_filter(&["App", "web"], None).unwrap()),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec!["app/old", "web/old"],
        },
        Case {
            name: "regex must match the whole name",
            policy: with_filter(parse_package_filter::<&str>(&[], Some("ap+|tool")).unwrap()),
            versions: vs.clone(),
            manifests: m.clone(),
            want_deleted: vec!["app/old"],
        },
    ]
}

#[test]
fn table_of_selection_and_tag_rules() {
    for case in tag_rule_cases().into_iter().chain(filter_cases()) {
        let p = plan(&case.policy, &case.versions, &case.manifests, NOW);
        assert_eq!(
            sorted(deleted(&p)),
            names(&case.want_deleted),
            "case {:?}: {p:#?}",
            case.name
        );
        let selected = case
            .versions
            .iter()
            .filter(|v| case.policy.packages.matches(&v.package))
            .count();
        assert_eq!(p.deletions.len() + p.kept.len(), selected, "{}", case.name);
    }
}

#[test]
fn tag_deletion_reasons_are_readable() {
    let mut pol = policy();
    pol.keep_last = 5;
    pol.keep_newer_than = Some(30 * 86_400);
    let (vs, ms) = single_arch(
        "app",
        &[
            ("a1b2c3d4", 90),
            ("b", 5),
            ("c", 4),
            ("d", 3),
            ("e", 2),
            ("f", 1),
        ],
    );
    let p = plan(&pol, &vs, &owned_manifests(&ms), NOW);
    assert_eq!(deleted(&p), vec!["app/a1b2c3d4".to_string()]);
    assert_eq!(
        p.deletions[0].reason,
        "not among the newest 5 tags, older than 30d"
    );
}

#[test]
fn never_deletes_a_manifest_referenced_by_a_kept_index() {
    let (i1, i2, c1, c2, c3) = (dg(1), dg(2), dg(11), dg(12), dg(13));
    let vs = vec![
        untagged("app", &c1, 1, 10),
        untagged("app", &c3, 2, 11),
        tag("app", "old", 3, 12, Some(&i1)),
        untagged("app", &c2, 4, 20),
        tag("app", "new", 5, 21, Some(&i2)),
    ];
    let ms = manifests(&[
        (&i1, &[&c1, &c3]),
        (&i2, &[&c1, &c2]),
        (&c1, &[]),
        (&c2, &[]),
        (&c3, &[]),
    ]);
    let mut pol = policy();
    pol.keep_last = 1;
    let p = plan(&pol, &vs, &ms, NOW);
    assert_eq!(
        deleted(&p),
        vec!["app/old".to_string(), format!("app/{c3}")]
    );
    assert!(kept_reason(&p, "app", &c1).contains("referenced by kept index app:new"));
    assert!(kept_reason(&p, "app", &c2).contains("referenced by kept index app:new"));
    assert_eq!(
        p.deletions[1].reason,
        "child of removed app:old, referenced by no kept index"
    );
}

#[test]
fn removed_children_only_when_nothing_kept_references_them() {
    // Two indexes share child c1: one kept (protected), one removed.
    let (i1, i2, c1, c2, c3) = (dg(1), dg(2), dg(11), dg(12), dg(13));
    let vs = vec![
        untagged("app", &c1, 1, 10),
        untagged("app", &c2, 2, 10),
        untagged("app", &c3, 3, 10),
        tag("app", "blue", 4, 11, Some(&i1)),
        tag("app", "green", 5, 12, Some(&i2)),
    ];
    let ms = manifests(&[
        (&i1, &[&c1, &c2]),
        (&i2, &[&c1, &c3]),
        (&c1, &[]),
        (&c2, &[]),
        (&c3, &[]),
    ]);
    let cases: [(&str, Vec<String>); 2] = [
        ("app:blue", vec!["app/green".into(), format!("app/{c3}")]),
        ("app:green", vec!["app/blue".into(), format!("app/{c2}")]),
    ];
    for (protect, want) in cases {
        let mut pol = policy();
        pol.protect_in_use.insert(protect.to_string());
        let p = plan(&pol, &vs, &ms, NOW);
        assert_eq!(deleted(&p), want, "protect {protect}");
        assert!(kept_reason(&p, "app", &c1).contains(&format!("kept index {protect}")));
    }
}

#[test]
fn never_deletes_through_a_digest_that_a_kept_tag_holds() {
    let x = dg(7);
    let vs = vec![
        untagged("app", &x, 1, 5),
        tag("app", "old", 2, 10, Some(&x)),
        tag("app", "new", 3, 20, Some(&x)),
    ];
    let ms = manifests(&[(&x, &[])]);
    let mut pol = policy();
    pol.keep_last = 1;
    let p = plan(&pol, &vs, &ms, NOW);
    assert_eq!(deleted(&p), vec!["app/old".to_string()]);
    assert_eq!(p.deletions[0].version_id, 2);
    assert!(p.deletions[0]
        .reason
        .contains("shares its digest with kept app:new"));
    assert!(kept_reason(&p, "app", &x).contains("same digest as kept app:new"));
}

#[test]
fn keep_last_counts_tags_only() {
    // Three multi-arch pushes: children first, then the index.
    let mut vs = Vec::new();
    let mut ms = Vec::new();
    let mut id = 0;
    for push in 0..3u32 {
        let t0 = NOW - i64::from(10 - push) * DAY;
        let kids: Vec<String> = (0..4).map(|k| dg(100 + push * 10 + k)).collect();
        for k in &kids {
            id += 1;
            vs.push(untagged("app", k, id, t0));
            ms.push((k.clone(), Vec::new()));
        }
        id += 1;
        let idx = dg(push + 1);
        vs.push(tag("app", &format!("build{push}"), id, t0 + 1, Some(&idx)));
        ms.push((idx, kids));
    }
    let mut pol = policy();
    pol.keep_last = 2;
    let p = plan(&pol, &vs, &owned_manifests(&ms), NOW);
    let kept_tags: Vec<&str> = p
        .kept
        .iter()
        .filter(|k| !is_digest(&k.version))
        .map(|k| k.version.as_str())
        .collect();
    assert_eq!(kept_tags, vec!["build2", "build1"]);
    assert_eq!(p.deletions.len(), 5, "{p:#?}");
    assert_eq!(p.deletions[0].version, "build0");
    assert_eq!(p.kept.len(), 10);
}

#[test]
fn safe_order_tags_first_then_children_oldest_first() {
    let (ia, ib, iw) = (dg(1), dg(2), dg(3));
    let (a1, a2, b1, w1, lone) = (dg(11), dg(12), dg(13), dg(14), dg(15));
    let vs = vec![
        untagged("app", &a1, 1, 100),
        untagged("app", &a2, 2, 100),
        tag("app", "a", 3, 101, Some(&ia)),
        untagged("app", &b1, 4, 50),
        tag("app", "b", 5, 51, Some(&ib)),
        untagged("web", &w1, 6, 70),
        tag("web", "w", 7, 71, Some(&iw)),
        untagged("web", &lone, 8, 10),
        tag("web", "single", 9, 60, Some(&w1)),
    ];
    let ms = manifests(&[
        (&ia, &[&a1, &a2]),
        (&ib, &[&b1]),
        (&iw, &[&w1]),
        (&a1, &[]),
        (&a2, &[]),
        (&b1, &[]),
        (&w1, &[]),
        (&lone, &[]),
    ]);
    let p = plan(&policy(), &vs, &ms, NOW);
    let want: Vec<String> = [
        "app/b".to_string(),
        "web/w".to_string(),
        "app/a".to_string(),
        // Holds w's child: after its parent even though it is older.
        "web/single".to_string(),
        format!("web/{lone}"),
        format!("app/{b1}"),
        format!("web/{w1}"),
        format!("app/{a1}"),
        format!("app/{a2}"),
    ]
    .into();
    assert_eq!(deleted(&p), want);
    // Deterministic whatever the input order.
    let mut rev = vs.clone();
    rev.reverse();
    assert_eq!(plan(&policy(), &rev, &ms, NOW), p);
}

#[test]
fn untagged_index_parent_is_deleted_before_its_children() {
    let (idx, c1) = (dg(1), dg(11));
    let vs = vec![untagged("app", &c1, 1, 10), untagged("app", &idx, 2, 5)];
    let ms = manifests(&[(&idx, &[&c1]), (&c1, &[])]);
    let p = plan(&policy(), &vs, &ms, NOW);
    assert_eq!(deleted(&p), vec![format!("app/{idx}"), format!("app/{c1}")]);
    assert_eq!(
        p.deletions[0].reason,
        "untagged index referenced by nothing"
    );
}

#[test]
fn unreferenced_untagged_versions_respect_keep_newer_than() {
    let (young_idx, young_kid, old_idx, old_kid, dangling_young, dangling_old) =
        (dg(1), dg(11), dg(2), dg(12), dg(13), dg(14));
    let vs = vec![
        untagged("app", &young_kid, 1, NOW - 2 * DAY),
        untagged("app", &young_idx, 2, NOW - DAY),
        untagged("app", &old_kid, 3, NOW - 60 * DAY),
        untagged("app", &old_idx, 4, NOW - 59 * DAY),
        untagged("app", &dangling_young, 5, NOW - DAY),
        untagged("app", &dangling_old, 6, NOW - 90 * DAY),
    ];
    let ms = manifests(&[
        (&young_idx, &[&young_kid]),
        (&old_idx, &[&old_kid]),
        (&young_kid, &[]),
        (&old_kid, &[]),
        (&dangling_young, &[]),
        (&dangling_old, &[]),
    ]);
    let mut pol = policy();
    pol.keep_newer_than = Some(7 * 86_400);
    let p = plan(&pol, &vs, &ms, NOW);
    assert_eq!(
        deleted(&p),
        vec![
            format!("app/{dangling_old}"),
            format!("app/{old_idx}"),
            format!("app/{old_kid}"),
        ]
    );
    assert!(kept_reason(&p, "app", &young_idx).contains("untagged index referenced by no"));
    assert!(kept_reason(&p, "app", &young_kid).contains("referenced by kept index"));
    assert!(kept_reason(&p, "app", &dangling_young).contains("newer than 7d"));
    // Without keep_newer_than every unreferenced untagged version goes.
    let p = plan(&policy(), &vs, &ms, NOW);
    assert_eq!(p.deletions.len(), 6);
}

#[test]
fn a_tag_holding_the_last_copy_of_a_kept_child_is_kept() {
    // `docker manifest create` style: the index's children are tags.
    let (idx, amd, arm) = (dg(1), dg(11), dg(12));
    let mut vs = vec![
        tag("app", "v1-amd64", 1, 10, Some(&amd)),
        tag("app", "v1-arm64", 2, 11, Some(&arm)),
        tag("app", "v1", 3, 12, Some(&idx)),
    ];
    let ms = manifests(&[(&idx, &[&amd, &arm]), (&amd, &[]), (&arm, &[])]);
    let mut pol = policy();
    pol.protect_in_use.insert("app:v1".to_string());
    let p = plan(&pol, &vs, &ms, NOW);
    assert!(p.deletions.is_empty(), "{p:#?}");
    assert!(kept_reason(&p, "app", "v1-amd64").contains("referenced by kept index app:v1"));
    // With an untagged copy of amd64 present, that tag can go.
    vs.push(untagged("app", &amd, 4, 9));
    let p = plan(&pol, &vs, &ms, NOW);
    assert_eq!(deleted(&p), vec!["app/v1-amd64".to_string()]);
    // And when the index itself goes, the index goes before its children.
    pol.protect_in_use.clear();
    let p = plan(&pol, &vs, &ms, NOW);
    assert_eq!(
        deleted(&p),
        vec![
            "app/v1".to_string(),
            "app/v1-amd64".to_string(),
            "app/v1-arm64".to_string(),
            format!("app/{amd}"),
        ]
    );
}

#[test]
fn unknown_manifests_freeze_the_package() {
    let (idx, c1, c2, other) = (dg(1), dg(11), dg(12), dg(20));
    let base = vec![
        untagged("app", &c1, 1, 10),
        untagged("app", &c2, 2, 10),
        tag("app", "old", 3, 11, Some(&c2)),
        untagged("web", &other, 4, 10),
    ];
    let known = manifests(&[(&idx, &[&c1]), (&c1, &[]), (&c2, &[]), (&other, &[])]);
    let mut pol = policy();
    pol.protect_in_use.insert("app:current".to_string());

    // Kept tag without a digest.
    let mut vs = base.clone();
    vs.push(tag("app", "current", 5, 20, None));
    let p = plan(&pol, &vs, &known, NOW);
    assert_eq!(deleted(&p), vec![format!("web/{other}")]);
    assert!(kept_reason(&p, "app", &c1).contains("kept app:current has no known digest"));
    assert!(kept_reason(&p, "app", "old").contains("frozen"));

    // Kept tag whose manifest is missing from the map.
    let mut vs = base.clone();
    vs.push(tag("app", "current", 5, 20, Some(&dg(99))));
    let p = plan(&pol, &vs, &known, NOW);
    assert_eq!(deleted(&p), vec![format!("web/{other}")]);
    assert!(kept_reason(&p, "app", &c2).contains("is unknown"));

    // Known manifest: normal planning resumes.
    let mut vs = base.clone();
    vs.push(tag("app", "current", 5, 20, Some(&idx)));
    let p = plan(&pol, &vs, &known, NOW);
    assert_eq!(
        deleted(&p),
        vec![
            "app/old".to_string(),
            format!("app/{c2}"),
            format!("web/{other}"),
        ]
    );

    // A deleted tag's unknown manifest does not matter.
    let mut vs = base.clone();
    vs.push(tag("app", "current", 5, 20, Some(&idx)));
    vs.push(tag("app", "older", 6, 5, None));
    let p = plan(&pol, &vs, &known, NOW);
    assert_eq!(p.deletions.len(), 4, "{p:#?}");
}

#[test]
fn large_registry_is_planned() {
    // 400 multi-arch pushes with 4 children each, plus a cyclic pair of
    // untagged indexes (impossible in a real registry) that must not hang.
    let mut vs = Vec::new();
    let mut ms = Vec::new();
    let mut id = 0;
    for push in 0..400u32 {
        let kids: Vec<String> = (0..4).map(|k| dg(10_000 + push * 4 + k)).collect();
        for k in &kids {
            id += 1;
            vs.push(untagged("app", k, id, i64::from(push) * 10));
            ms.push((k.clone(), Vec::new()));
        }
        id += 1;
        let idx = dg(push + 1);
        vs.push(tag(
            "app",
            &format!("b{push}"),
            id,
            i64::from(push) * 10 + 1,
            Some(&idx),
        ));
        ms.push((idx, kids));
    }
    let (x, y) = (dg(90_001), dg(90_002));
    vs.push(untagged("app", &x, id + 1, 0));
    vs.push(untagged("app", &y, id + 2, 0));
    ms.push((x.clone(), vec![y.clone()]));
    ms.push((y, vec![x]));
    let mut pol = policy();
    pol.keep_last = 10;
    let p = plan(&pol, &vs, &owned_manifests(&ms), NOW);
    assert_eq!(p.kept.len(), 50);
    assert_eq!(p.deletions.len(), vs.len() - 50);
    assert!(p.deletions[..390].iter().all(|d| !is_digest(&d.version)));
}

#[test]
fn keep_newer_than_table() {
    let fmt = |s: u64| crate::util::duration::format(std::time::Duration::from_secs(s));
    let good: &[(&str, u64)] = &[
        ("30d", 30 * 86_400),
        ("12h", 12 * 3_600),
        ("90m", 90 * 60),
        ("2w", 14 * 86_400),
        ("1d12h", 86_400 + 12 * 3_600),
        (
            "1w2d3h4m5s",
            7 * 86_400 + 2 * 86_400 + 3 * 3_600 + 4 * 60 + 5,
        ),
        ("45s", 45),
        ("0d", 0),
        (" 7d ", 7 * 86_400),
    ];
    for (input, want) in good {
        assert_eq!(
            super::policy::parse_keep_newer_than(input),
            Ok(*want),
            "{input:?}"
        );
    }
    let bad = [
        "",
        "30",
        "d",
        "30y",
        "1h1d",
        "1d1d",
        "-1d",
        "1.5d",
        "1d 12h",
        "30D",
        "99999999999999999999d",
        "1000000000000000w",
    ];
    for input in bad {
        let e = super::policy::parse_keep_newer_than(input).expect_err(input);
        assert_eq!(e.field, "keep_newer_than");
        assert!(e.message.contains("units w, d, h, m, s"), "{input:?}: {e}");
    }
    for secs in [0, 59, 3_600, 30 * 86_400, 86_400 + 12 * 3_600, 93_784] {
        assert_eq!(super::policy::parse_keep_newer_than(&fmt(secs)), Ok(secs));
    }
    assert_eq!(fmt(30 * 86_400), "30d");
    assert_eq!(fmt(129_600), "1d12h");
}

#[test]
fn parse_helpers_report_errors() {
    assert!(parse_package_filter(&["a"], Some("b")).is_err());
    assert!(parse_package_filter(&[""], None).is_err());
    assert_eq!(
        parse_package_filter(&["a"], Some("b")).unwrap_err().field,
        "packages"
    );
    assert_eq!(
        parse_package_filter(&["a", ""], None).unwrap_err().index,
        Some(1)
    );
    assert_eq!(
        parse_package_filter::<&str>(&[], Some("("))
            .unwrap_err()
            .field,
        "package_regex"
    );
    assert!(matches!(
        parse_package_filter::<&str>(&[], None),
        Ok(PackageFilter::All)
    ));
    let e = parse_keep_tags(&["v.*", "("]).unwrap_err();
    assert!(e.message.contains("\"(\""), "{e}");
    assert_eq!((e.field, e.index), ("keep_tags", Some(1)));
    assert_eq!(parse_keep_tags(&["v.*"]).unwrap().len(), 1);
}

// ---- property test ----------------------------------------------------

const PACKAGES: [&str; 3] = ["app", "web", "tools"];
const TAGS: [&str; 7] = ["latest", "v1", "v2", "a1", "b2", "c3", "d4"];

#[derive(Debug, Clone)]
struct PkgSpec {
    /// Children (image ids 0..8) of each index of the package.
    indexes: Vec<Vec<u32>>,
    /// Target (0..8 image, 8..12 index) or unknown, and age.
    tags: Vec<(Option<u32>, i64)>,
    untagged: Vec<(u32, i64)>,
}

#[derive(Debug, Clone)]
struct World {
    pkgs: Vec<PkgSpec>,
    missing_manifest: Option<u32>,
    keep_last: u32,
    keep_tags: bool,
    keep_newer_than: Option<u64>,
    protect: Vec<(usize, u32, bool)>,
    delete_latest: bool,
    filter: u8,
}

fn pkg_spec() -> impl Strategy<Value = PkgSpec> {
    (
        prop::collection::vec(prop::collection::vec(0u32..8, 0..4), 0..4),
        prop::collection::vec((prop::option::weighted(0.92, 0u32..12), 0i64..100), 0..7),
        prop::collection::vec((0u32..12, 0i64..100), 0..8),
    )
        .prop_map(|(indexes, tags, untagged)| PkgSpec {
            indexes,
            tags,
            untagged,
        })
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(pkg_spec(), 1..4),
        prop::option::weighted(0.15, 0u32..40),
        0u32..4,
        any::<bool>(),
        prop::option::of(0u64..60),
        prop::collection::vec((0usize..3, 0u32..12, any::<bool>()), 0..3),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(
            |(
                pkgs,
                missing_manifest,
                keep_last,
                keep_tags,
                keep_newer_than,
                protect,
                delete_latest,
                filter,
            )| World {
                pkgs,
                missing_manifest,
                keep_last,
                keep_tags,
                keep_newer_than,
                protect,
                delete_latest,
                filter,
            },
        )
}

/// Digest of target `t` in package `p`: images are shared across
/// packages, indexes are per package.
fn target_digest(spec: &PkgSpec, p: usize, t: u32) -> String {
    if t >= 8 && ((t - 8) as usize) < spec.indexes.len() {
        dg(1_000 + p as u32 * 10 + (t - 8))
    } else {
        dg(t % 8)
    }
}

fn build(w: &World) -> (Policy, Vec<Version>, BTreeMap<String, Manifest>) {
    let mut versions = Vec::new();
    let mut ms: Vec<(String, Vec<String>)> = Vec::new();
    let mut id = 0;
    for (p, spec) in w.pkgs.iter().enumerate() {
        let pkg = PACKAGES[p];
        for (i, kids) in spec.indexes.iter().enumerate() {
            let d = dg(1_000 + p as u32 * 10 + i as u32);
            ms.push((d, kids.iter().map(|k| dg(*k)).collect()));
        }
        for (j, (target, created)) in spec.tags.iter().enumerate() {
            id += 1;
            let d = target.map(|t| target_digest(spec, p, t));
            versions.push(tag(pkg, TAGS[j], id, *created, d.as_deref()));
        }
        let mut seen = BTreeSet::new();
        for (target, created) in &spec.untagged {
            let d = target_digest(spec, p, *target);
            if seen.insert(d.clone()) {
                id += 1;
                versions.push(untagged(pkg, &d, id, *created));
            }
        }
    }
    for k in 0..8 {
        ms.push((dg(k), Vec::new()));
    }
    let missing = w
        .missing_manifest
        .map(|m| if m < 8 { dg(m) } else { dg(1_000 + (m - 8)) });
    ms.retain(|(d, _)| Some(d) != missing.as_ref());
    let mut protect = BTreeSet::new();
    for (p, t, by_tag) in &w.protect {
        if let Some(spec) = w.pkgs.get(*p) {
            if *by_tag {
                protect.insert(format!("{}:{}", PACKAGES[*p], TAGS[*t as usize % 7]));
            } else {
                protect.insert(format!("{}@{}", PACKAGES[*p], target_digest(spec, *p, *t)));
            }
        }
    }
    let packages = match w.filter {
        0 => PackageFilter::All,
        1 => parse_package_filter(&["app", "web"], None).unwrap(),
        _ => parse_package_filter::<&str>(&[], Some("a.*|tools")).unwrap(),
    };
    let policy = Policy {
        packages,
        keep_last: w.keep_last,
        keep_tags: if w.keep_tags {
            vec![Regex::new(r"v\d").unwrap()]
        } else {
            Vec::new()
        },
        keep_newer_than: w.keep_newer_than,
        protect_in_use: protect,
        delete_latest: w.delete_latest,
        dry_run: false,
    };
    (policy, versions, owned_manifests(&ms))
}

fn held(v: &Version) -> Option<String> {
    if v.is_untagged() {
        Some(v.version.clone())
    } else {
        v.digest.clone()
    }
}

fn check_invariants(
    policy: &Policy,
    versions: &[Version],
    ms: &BTreeMap<String, Manifest>,
    p: &RetentionPlan,
) {
    let key = |pkg: &str, ver: &str| (pkg.to_string(), ver.to_string());
    let del: BTreeSet<(String, String)> = p
        .deletions
        .iter()
        .map(|d| key(&d.package, &d.version))
        .collect();
    let kept: BTreeSet<(String, String)> =
        p.kept.iter().map(|k| key(&k.package, &k.version)).collect();
    assert!(del.is_disjoint(&kept));
    assert_eq!(del.len(), p.deletions.len(), "a version deleted twice");
    for v in versions {
        let k = key(&v.package, &v.version);
        let selected = policy.packages.matches(&v.package);
        assert_eq!(selected, del.contains(&k) || kept.contains(&k), "{k:?}");
    }
    assert_eq!(
        del.len() + kept.len(),
        versions
            .iter()
            .filter(|v| policy.packages.matches(&v.package))
            .count()
    );
    let is_kept = |v: &Version| kept.contains(&key(&v.package, &v.version));

    for pkg in PACKAGES {
        let vs: Vec<&Version> = versions.iter().filter(|v| v.package == pkg).collect();
        let kept_vs: Vec<&Version> = vs.iter().copied().filter(|v| is_kept(v)).collect();
        let del_vs: Vec<&Version> = vs
            .iter()
            .copied()
            .filter(|v| del.contains(&key(&v.package, &v.version)))
            .collect();
        // No kept index references a deleted untagged child, and every
        // child of a kept index that existed still has a holder.
        for k in &kept_vs {
            let Some(m) = held(k).and_then(|d| ms.get(&d)) else {
                continue;
            };
            for c in &m.children {
                assert!(
                    !del_vs.iter().any(|d| d.is_untagged() && &d.version == c),
                    "kept {pkg}:{} references deleted child {c}",
                    k.version
                );
                let existed = vs.iter().any(|v| held(v).as_ref() == Some(c));
                let remains = kept_vs.iter().any(|v| held(v).as_ref() == Some(c));
                assert!(!existed || remains, "last copy of {c} deleted");
            }
        }
        // No deleted untagged digest equals a kept tag's digest.
        for d in del_vs.iter().filter(|d| d.is_untagged()) {
            assert!(
                !kept_vs
                    .iter()
                    .any(|k| !k.is_untagged() && k.digest.as_ref() == Some(&d.version)),
                "deleted {} held by a kept tag",
                d.version
            );
        }
        // Deleting any untagged version needs every kept manifest known.
        if del_vs.iter().any(|d| d.is_untagged()) {
            for k in &kept_vs {
                assert!(
                    held(k).is_some_and(|d| ms.contains_key(&d)),
                    "{pkg} not frozen"
                );
            }
        }
        if !policy.packages.matches(pkg) {
            assert!(del_vs.is_empty());
            continue;
        }
        // The newest keep_last tags are kept; so is latest.
        let mut tags: Vec<&Version> = vs.iter().copied().filter(|v| !v.is_untagged()).collect();
        tags.sort_by_key(|v| std::cmp::Reverse((v.created_at, v.version_id)));
        for t in tags.iter().take(policy.keep_last as usize) {
            assert!(is_kept(t), "{pkg}:{} among newest", t.version);
        }
        for t in &tags {
            if t.version == LATEST_TAG && !policy.delete_latest {
                assert!(is_kept(t));
            }
        }
    }

    // Safe order: tags first; and replaying the deletions one by one
    // never leaves a remaining tag pointing at a child that has gone.
    let first_untagged = p.deletions.iter().position(|d| is_digest(&d.version));
    if let Some(i) = first_untagged {
        assert!(p.deletions[i..].iter().all(|d| is_digest(&d.version)));
    }
    let mut remaining: Vec<&Version> = versions.iter().collect();
    for d in &p.deletions {
        remaining.retain(|v| !(v.package == d.package && v.version == d.version));
        for t in remaining.iter().filter(|v| !v.is_untagged()) {
            let Some(m) = t.digest.as_ref().and_then(|x| ms.get(x)) else {
                continue;
            };
            for c in &m.children {
                let existed = versions
                    .iter()
                    .any(|v| v.package == t.package && held(v).as_ref() == Some(c));
                let there = remaining
                    .iter()
                    .any(|v| v.package == t.package && held(v).as_ref() == Some(c));
                assert!(
                    !existed || there,
                    "after deleting {}/{}, tag {}:{} misses {c}",
                    d.package,
                    d.version,
                    t.package,
                    t.version
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold_for_random_registries(w in world()) {
        let (policy, versions, ms) = build(&w);
        let p = plan(&policy, &versions, &ms, 100);
        check_invariants(&policy, &versions, &ms, &p);
        let mut rev = versions.clone();
        rev.reverse();
        prop_assert_eq!(plan(&policy, &rev, &ms, 100), p);
    }
}
