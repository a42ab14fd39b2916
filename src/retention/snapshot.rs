//! What a refresh read from the forge and the registry, kept in the resource's private state so
//! that a plan evaluates a (possibly new or changed) policy without reading the registry again,
//! and the plan Terraform makes again right before applying computes the very same list.
//!
//! Compact on purpose (it lives in the state file): one row per listed version, the children
//! of each known manifest (empty for an image manifest), and the evaluation time, which is
//! the engine's "now" for every plan made from the snapshot.

use super::forge::Inputs;
use super::{Manifest, PackageFilter, Version};
use crate::clients::forgejo::PackageVersion;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// When the registry was read (unix seconds): "now" for the engine.
    pub at: i64,
    /// Package type the rows belong to.
    pub package_type: String,
    /// Every listed version: `[package, version, version id, created_at, digest or ""]`.
    pub versions: Vec<(String, String, i64, i64, String)>,
    /// Digest -> children digests, for every manifest read (an image manifest has none).
    pub manifests: BTreeMap<String, Vec<String>>,
    /// Lower-case names of the packages whose manifests were read (the selection of the
    /// policy that was refreshed). Versions of other packages cannot be evaluated from the
    /// snapshot: a plan leaves them to the next refresh.
    pub read: BTreeSet<String>,
}

impl Snapshot {
    pub fn new(inputs: &Inputs, package_type: &str, at: i64) -> Snapshot {
        let digest: BTreeMap<i64, &str> = inputs
            .engine_versions
            .iter()
            .filter_map(|v| v.digest.as_deref().map(|d| (v.version_id, d)))
            .collect();
        let container = package_type == "container";
        Snapshot {
            at,
            package_type: package_type.to_string(),
            versions: inputs
                .listed
                .iter()
                .map(|v| {
                    let d = if container {
                        digest.get(&v.id).copied()
                    } else {
                        None
                    };
                    (
                        v.name.clone(),
                        v.version.clone(),
                        v.id,
                        v.created_at,
                        d.unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            manifests: if container {
                inputs
                    .manifests
                    .iter()
                    .map(|(d, m)| (d.clone(), m.children.clone()))
                    .collect()
            } else {
                BTreeMap::new()
            },
            read: inputs
                .engine_versions
                .iter()
                .map(|v| v.package.to_ascii_lowercase())
                .collect(),
        }
    }

    /// The versions as the forge listed them.
    pub fn listed(&self) -> Vec<PackageVersion> {
        self.versions
            .iter()
            .map(|(name, version, id, created_at, _)| PackageVersion {
                id: *id,
                package_type: self.package_type.clone(),
                name: name.clone(),
                version: version.clone(),
                created_at: *created_at,
            })
            .collect()
    }

    /// The engine's inputs for a policy selecting `filter`, and the selected packages the
    /// snapshot has no manifests for (they are left out).
    pub fn inputs(&self, filter: &PackageFilter) -> (Inputs, BTreeSet<String>) {
        let listed = self.listed();
        let mut unread = BTreeSet::new();
        // Each name matched once (a regex filter compiles its anchored form per call).
        let names: BTreeSet<&str> = listed.iter().map(|v| v.name.as_str()).collect();
        let chosen: BTreeSet<&str> = names.into_iter().filter(|n| filter.matches(n)).collect();
        let selected: Vec<&PackageVersion> = listed
            .iter()
            .filter(|v| chosen.contains(v.name.as_str()))
            .filter(|v| {
                let known = self.read.contains(&v.name.to_ascii_lowercase());
                if !known {
                    unread.insert(v.name.clone());
                }
                known
            })
            .collect();
        let (engine_versions, manifests) = if self.package_type == "container" {
            let digest: BTreeMap<i64, &str> = self
                .versions
                .iter()
                .filter(|r| !r.4.is_empty())
                .map(|r| (r.2, r.4.as_str()))
                .collect();
            let vs = selected
                .iter()
                .map(|v| Version {
                    package: v.name.clone(),
                    version: v.version.clone(),
                    version_id: v.id,
                    created_at: v.created_at,
                    digest: digest.get(&v.id).map(|d| d.to_string()),
                })
                .collect();
            let ms = self
                .manifests
                .iter()
                .map(|(d, children)| {
                    (
                        d.clone(),
                        Manifest {
                            digest: d.clone(),
                            media_type: String::new(),
                            children: children.clone(),
                        },
                    )
                })
                .collect();
            (vs, ms)
        } else {
            super::forge::generic_inputs(&selected)
        };
        let inputs = Inputs {
            listed: listed.clone(),
            engine_versions,
            manifests,
        };
        (inputs, unread)
    }

    /// The snapshot after `deleted` (package, version) pairs were deleted.
    pub fn without(mut self, deleted: &BTreeSet<(String, String)>) -> Snapshot {
        self.versions
            .retain(|(p, v, ..)| !deleted.contains(&(p.clone(), v.clone())));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::{Policy, RetentionPlan};

    fn policy(packages: PackageFilter) -> Policy {
        Policy {
            packages,
            keep_last: 1,
            keep_tags: vec![],
            keep_newer_than: Some(86_400),
            protect_in_use: Default::default(),
            delete_latest: false,
            dry_run: false,
        }
    }

    fn listed(name: &str, version: &str, id: i64, created_at: i64) -> PackageVersion {
        PackageVersion {
            id,
            package_type: "container".into(),
            name: name.into(),
            version: version.into(),
            created_at,
        }
    }

    /// An index with two children, older tags, and a package the policy does not select.
    fn inputs() -> Inputs {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let listed = vec![
            listed("app", "old", 1, 0),
            listed("app", "new", 2, 900_000),
            listed("multi", "idx", 3, 0),
            listed("multi", &d('a'), 4, 0),
            listed("multi", &d('b'), 5, 0),
            listed("multi", "idx2", 7, 900_000),
            listed("other", "x", 6, 0),
        ];
        let engine_versions = listed[..6]
            .iter()
            .map(|v| Version {
                package: v.name.clone(),
                version: v.version.clone(),
                version_id: v.id,
                created_at: v.created_at,
                digest: Some(match v.id {
                    1 => d('1'),
                    2 => d('2'),
                    3 => d('3'),
                    7 => d('4'),
                    _ => v.version.clone(),
                }),
            })
            .collect();
        let m = |digest: String, children: Vec<String>| {
            (
                digest.clone(),
                Manifest {
                    digest,
                    media_type: "x".into(),
                    children,
                },
            )
        };
        let manifests = [
            m(d('1'), vec![]),
            m(d('2'), vec![]),
            m(d('3'), vec![d('a'), d('b')]),
            m(d('4'), vec![]),
            m(d('a'), vec![]),
            m(d('b'), vec![]),
        ]
        .into_iter()
        .collect();
        Inputs {
            listed,
            engine_versions,
            manifests,
        }
    }

    #[test]
    fn a_snapshot_plans_what_the_registry_read_plans() {
        let names = |n: &[&str]| PackageFilter::Names(n.iter().map(|s| s.to_string()).collect());
        let read = inputs();
        let p = policy(names(&["app", "multi"]));
        let snap = Snapshot::new(&read, "container", 1_000_000);
        // Through the state file and back.
        let snap: Snapshot = serde_json::from_str(&serde_json::to_string(&snap).unwrap()).unwrap();
        let (from_snap, unread) = snap.inputs(&p.packages);
        assert!(unread.is_empty());
        let direct: RetentionPlan = read.plan(&p, 1_000_000);
        assert_eq!(from_snap.plan(&p, snap.at), direct);
        assert_eq!(direct.deletions.len(), 4, "{direct:?}");
        // A policy selecting a package the refresh did not read leaves it out, and says so.
        let (_, unread) = snap.inputs(&PackageFilter::All);
        assert_eq!(unread, BTreeSet::from(["other".to_string()]));
        // Deleted versions leave the snapshot.
        let gone = BTreeSet::from([("app".to_string(), "old".to_string())]);
        assert_eq!(snap.without(&gone).versions.len(), 6);
    }
}
