//! The I/O around the pure retention engine ([`super::engine`]): list an owner's package
//! versions, fetch the manifest of every digest the engine needs, run it; and carry out a plan.
//!
//! Requests for a container evaluation: one list page per 50 versions, one manifest GET per
//! tag of a selected package, and one per untagged version that no fetched index describes
//! (children described by an index with an image-manifest media type are known to be leaves
//! without fetching them). Manifest GETs run 8 at a time.
//!
//! Other package types have no manifests: each version gets a synthetic digest of its own and
//! a leaf manifest, so versions are independent and only the tag rules (`keep_last`,
//! `keep_tags` on version names, `keep_newer_than`, `latest`) and `protect_in_use`
//! (`package:version`) apply.

use crate::clients::forgejo::{ForgejoClient, PackageVersion};
use crate::clients::registry::{ManifestKind, RegistryClient, DOCKER_MANIFEST, OCI_MANIFEST};
use crate::clients::Error;
use crate::retention::engine::is_digest;
use crate::retention::snapshot::Snapshot;
use crate::retention::{self, Manifest, PackageFilter, Policy, RetentionPlan, Version};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tfplugin::value::Type;

/// What the engine needs, as read from the forge and the registry.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Every version of the owner and type as listed (all packages).
    pub listed: Vec<PackageVersion>,
    /// The versions of the selected packages, with their digests where known.
    pub engine_versions: Vec<Version>,
    pub manifests: BTreeMap<String, Manifest>,
}

impl Inputs {
    /// The engine's plan of `policy` at `now`.
    pub fn plan(&self, policy: &Policy, now: i64) -> RetentionPlan {
        retention::plan(policy, &self.engine_versions, &self.manifests, now)
    }
}

/// The deletions of `plan` in the order they must be carried out, and how many versions are
/// kept.
pub fn pending(plan: &RetentionPlan) -> (Vec<Pending>, i64) {
    let pending = plan
        .deletions
        .iter()
        .map(|d| Pending {
            package: d.package.clone(),
            version: d.version.clone(),
            reason: d.reason.clone(),
        })
        .collect();
    (pending, plan.kept.len() as i64)
}

/// A deletion as the retention resource shows it (`pending_deletions`) and a plan approves it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pending {
    pub package: String,
    pub version: String,
    pub reason: String,
}

impl std::fmt::Display for Pending {
    /// `package:version`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.package, self.version)
    }
}

impl Pending {
    /// The type of a list of them (an attribute's value).
    pub fn list_type() -> Type {
        Type::list(Type::object([
            ("package", Type::String),
            ("version", Type::String),
            ("reason", Type::String),
        ]))
    }

    /// `package:version` of each, separated by `sep`, with the reason when `reasons`.
    pub fn list(pending: &[Pending], sep: &str, reasons: bool) -> String {
        let one = |p: &Pending| match reasons {
            true => format!("{p} ({})", p.reason),
            false => p.to_string(),
        };
        pending.iter().map(one).collect::<Vec<_>>().join(sep)
    }

    /// The (package, version) pairs of `approved`, as [`Retention::carry_out`] takes them.
    pub fn keys(approved: &[Pending]) -> BTreeSet<(String, String)> {
        approved
            .iter()
            .map(|p| (p.package.clone(), p.version.clone()))
            .collect()
    }
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// List, and fetch the manifests of the packages `filter` selects.
pub async fn read_inputs(
    fj: &ForgejoClient,
    reg: &RegistryClient,
    owner: &str,
    package_type: &str,
    filter: &PackageFilter,
) -> Result<Inputs, Error> {
    let listed = fj.list_versions(owner, package_type).await?;
    // Each name matched once (a regex filter compiles its anchored form per call).
    let names: BTreeSet<&str> = listed.iter().map(|v| v.name.as_str()).collect();
    let chosen: BTreeSet<&str> = names.into_iter().filter(|n| filter.matches(n)).collect();
    let selected: Vec<&PackageVersion> = listed
        .iter()
        .filter(|v| chosen.contains(v.name.as_str()))
        .collect();
    let (engine_versions, manifests) = if package_type == "container" {
        container_inputs(fj, reg, owner, &selected).await?
    } else {
        generic_inputs(&selected)
    };
    Ok(Inputs {
        listed,
        engine_versions,
        manifests,
    })
}

pub(crate) fn generic_inputs(
    selected: &[&PackageVersion],
) -> (Vec<Version>, BTreeMap<String, Manifest>) {
    let mut vs = Vec::new();
    let mut ms = BTreeMap::new();
    for v in selected {
        let digest = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(format!("{}\n{}", v.name, v.version)))
        );
        ms.insert(
            digest.clone(),
            Manifest {
                digest: digest.clone(),
                media_type: String::new(),
                children: vec![],
            },
        );
        vs.push(Version {
            package: v.name.clone(),
            version: v.version.clone(),
            version_id: v.id,
            created_at: v.created_at,
            digest: Some(digest),
        });
    }
    (vs, ms)
}

async fn container_inputs(
    fj: &ForgejoClient,
    reg: &RegistryClient,
    owner: &str,
    selected: &[&PackageVersion],
) -> Result<(Vec<Version>, BTreeMap<String, Manifest>), Error> {
    let host = fj.registry_host();
    let repo = |name: &str| format!("{}/{}", owner.to_ascii_lowercase(), name);
    // 1. Every tag's manifest (gives the tag's digest, and an index's children).
    let tags: Vec<&PackageVersion> = selected
        .iter()
        .copied()
        .filter(|v| !is_digest(&v.version))
        .collect();
    let jobs: Vec<(i64, String, String)> = tags
        .iter()
        .map(|v| (v.id, repo(&v.name), v.version.clone()))
        .collect();
    let fetched = fetch_all(reg, &host, jobs).await?;
    let mut digest_of: BTreeMap<i64, String> = BTreeMap::new();
    let mut manifests: BTreeMap<String, Manifest> = BTreeMap::new();
    // (package, digest) of children described as image manifests by a fetched index.
    let mut leaf_children: BTreeSet<(String, String)> = BTreeSet::new();
    let name_of: BTreeMap<i64, &str> = selected.iter().map(|v| (v.id, v.name.as_str())).collect();
    for (id, m) in fetched {
        // A tag whose manifest is gone gets no digest: the engine then keeps its package frozen.
        let Some(m) = m else { continue };
        digest_of.insert(id, m.digest.clone());
        if m.kind == ManifestKind::Index {
            for c in &m.children {
                if c.media_type == OCI_MANIFEST || c.media_type == DOCKER_MANIFEST {
                    leaf_children.insert((name_of[&id].to_string(), c.digest.clone()));
                }
            }
        }
        manifests.insert(m.digest.clone(), to_engine(&m));
    }
    // 2. Untagged versions: leaves described by an index need no request.
    let mut to_fetch: Vec<&PackageVersion> = Vec::new();
    for v in selected.iter().filter(|v| is_digest(&v.version)) {
        let d = v.version.to_ascii_lowercase();
        if manifests.contains_key(&d) {
            continue;
        }
        if leaf_children.contains(&(v.name.clone(), d.clone())) {
            manifests.insert(
                d.clone(),
                Manifest {
                    digest: d,
                    media_type: OCI_MANIFEST.into(),
                    children: vec![],
                },
            );
        } else {
            to_fetch.push(v);
        }
    }
    let jobs: Vec<(i64, String, String)> = to_fetch
        .iter()
        .map(|v| (v.id, repo(&v.name), v.version.clone()))
        .collect();
    let fetched: Vec<Option<crate::clients::registry::Manifest>> = fetch_all(reg, &host, jobs)
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    for m in fetched.into_iter().flatten() {
        manifests.insert(m.digest.clone(), to_engine(&m));
    }
    let versions = selected
        .iter()
        .map(|v| Version {
            package: v.name.clone(),
            version: v.version.clone(),
            version_id: v.id,
            created_at: v.created_at,
            digest: digest_of.get(&v.id).cloned(),
        })
        .collect();
    Ok((versions, manifests))
}

/// GET manifests `CONCURRENCY` at a time; jobs are (key, repository, reference).
async fn fetch_all(
    reg: &RegistryClient,
    host: &str,
    jobs: Vec<(i64, String, String)>,
) -> Result<Vec<(i64, Option<crate::clients::registry::Manifest>)>, Error> {
    let futs = jobs.into_iter().map(|(id, repo, reference)| {
        let host = host.to_string();
        async move {
            let m = reg.get_manifest(&host, &repo, &reference).await?;
            Ok::<_, Error>((id, m))
        }
    });
    stream::iter(futs)
        .buffer_unordered(crate::clients::registry::CONCURRENCY)
        .try_collect()
        .await
}

fn to_engine(m: &crate::clients::registry::Manifest) -> Manifest {
    Manifest {
        digest: m.digest.clone(),
        media_type: m.media_type.clone(),
        children: m.children.iter().map(|c| c.digest.clone()).collect(),
    }
}

/// Evaluation and deletion for the retention resource, over the provider's shared forge and
/// registry clients (the registry login is set up by the provider's client set).
pub struct Retention {
    pub forgejo: Arc<ForgejoClient>,
    pub registry: Arc<RegistryClient>,
}

impl Retention {
    pub fn new(forgejo: Arc<ForgejoClient>, registry: Arc<RegistryClient>) -> Self {
        Retention { forgejo, registry }
    }

    /// Read the registry for `policy` now: the snapshot of what was read (evaluated at the
    /// time of reading).
    pub async fn snapshot(
        &self,
        owner: &str,
        package_type: &str,
        policy: &Policy,
    ) -> Result<Snapshot, Error> {
        let at = now_unix();
        let inputs = read_inputs(
            &self.forgejo,
            &self.registry,
            owner,
            package_type,
            &policy.packages,
        )
        .await?;
        Ok(Snapshot::new(&inputs, package_type, at))
    }
}
