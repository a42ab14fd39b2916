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

use crate::clients::forgejo::{ForgejoClient, OwnerError, PackageVersion};
use crate::clients::registry::{ManifestKind, RegistryClient, DOCKER_MANIFEST, OCI_MANIFEST};
use crate::clients::Error;
use crate::retention::engine::is_digest;
use crate::retention::{self, Manifest, Policy, RetentionPlan, Version};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tfplugin::diagnostics::Diagnostics;
use tfplugin::value::Type;

pub struct Evaluation {
    pub plan: RetentionPlan,
    /// Every version of the owner and type as listed (all packages).
    pub versions: Vec<PackageVersion>,
}

impl Evaluation {
    /// The deletions in the order they must be carried out, and how many versions are kept.
    pub fn pending(&self) -> (Vec<Pending>, i64) {
        let pending = self
            .plan
            .deletions
            .iter()
            .map(|d| Pending {
                package: d.package.clone(),
                version: d.version.clone(),
                reason: d.reason.clone(),
            })
            .collect();
        (pending, self.plan.kept.len() as i64)
    }
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

/// List, fetch manifests, run the engine.
pub async fn evaluate(
    fj: &ForgejoClient,
    reg: &RegistryClient,
    owner: &str,
    package_type: &str,
    policy: &Policy,
    now: i64,
) -> Result<Evaluation, Error> {
    let versions = fj.list_versions(owner, package_type).await?;
    let selected: Vec<&PackageVersion> = versions
        .iter()
        .filter(|v| policy.packages.matches(&v.name))
        .collect();
    let (engine_versions, manifests) = if package_type == "container" {
        container_inputs(fj, reg, owner, &selected).await?
    } else {
        generic_inputs(&selected)
    };
    let plan = retention::plan(policy, &engine_versions, &manifests, now);
    Ok(Evaluation { plan, versions })
}

fn generic_inputs(selected: &[&PackageVersion]) -> (Vec<Version>, BTreeMap<String, Manifest>) {
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
    /// The last evaluation, reused by an apply that follows its plan within `MEMO_TTL`.
    memo: std::sync::Mutex<Option<Memo>>,
}

struct Memo {
    key: String,
    at: std::time::Instant,
    plan: RetentionPlan,
}

/// NOTE: Terraform plans a resource again right before applying it, in the same provider
/// process; the evaluation of that plan is reused by the apply instead of being redone.
const MEMO_TTL: std::time::Duration = std::time::Duration::from_secs(15);

fn memo_key(owner: &str, package_type: &str, policy: &Policy) -> String {
    format!("{owner}\n{package_type}\n{policy:?}")
}

/// Why the forge would refuse what a policy needs, found at plan time by
/// [`Retention::check_access`]: the message is a summary, [`Self::detail`] says more.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Owner(#[from] OwnerError),
    #[error("The forgejo token cannot delete packages of {0}")]
    CannotDelete(String, #[source] Error),
}

impl AccessError {
    pub fn detail(&self) -> String {
        match self {
            AccessError::Owner(e) => e.detail(),
            AccessError::CannotDelete(_, e) => format!(
                "Retention would delete versions, but deleting needs a token with the write:package scope \
                 (or set dry_run = true to only report). The forge answered: {e}"
            ),
        }
    }
}

impl Retention {
    /// The owner exists and, when `deleting`, the token may delete its packages. A missing owner
    /// ends the checks; a failed lookup does not.
    pub async fn check_access(&self, owner: &str, ty: &str, deleting: bool) -> Vec<AccessError> {
        let mut problems = Vec::new();
        if let Err(e) = self.forgejo.require_owner(owner).await {
            let missing = matches!(e, OwnerError::Missing(_));
            problems.push(e.into());
            if missing {
                return problems;
            }
        }
        if deleting {
            if let Err(e) = self.forgejo.can_delete_packages(owner, ty).await {
                problems.push(AccessError::CannotDelete(owner.to_string(), e));
            }
        }
        problems
    }

    pub fn new(forgejo: Arc<ForgejoClient>, registry: Arc<RegistryClient>) -> Self {
        Retention {
            forgejo,
            registry,
            memo: std::sync::Mutex::new(None),
        }
    }

    /// Evaluate `policy` now (and remember the result for a following [`Self::carry_out`]).
    pub async fn evaluate(
        &self,
        owner: &str,
        package_type: &str,
        policy: &Policy,
    ) -> Result<Evaluation, Error> {
        let ev = evaluate(
            &self.forgejo,
            &self.registry,
            owner,
            package_type,
            policy,
            now_unix(),
        )
        .await?;
        *self.memo.lock().unwrap_or_else(|p| p.into_inner()) = Some(Memo {
            key: memo_key(owner, package_type, policy),
            at: std::time::Instant::now(),
            plan: ev.plan.clone(),
        });
        Ok(ev)
    }

    /// Delete the approved versions that an evaluation made just now still deletes.
    pub async fn carry_out(
        &self,
        owner: &str,
        package_type: &str,
        policy: &Policy,
        approved: &BTreeSet<(String, String)>,
    ) -> Result<Applied, Error> {
        let recent = {
            let mut m = self.memo.lock().unwrap_or_else(|p| p.into_inner());
            m.take()
                .filter(|m| {
                    m.key == memo_key(owner, package_type, policy) && m.at.elapsed() < MEMO_TTL
                })
                .map(|m| m.plan)
        };
        let fresh = match recent {
            Some(p) => p,
            None => self.evaluate(owner, package_type, policy).await?.plan,
        };
        // Whatever happens next, the registry changed: no later call may reuse an evaluation.
        self.memo.lock().unwrap_or_else(|p| p.into_inner()).take();
        carry_out(&self.forgejo, owner, package_type, &fresh, approved).await
    }
}

/// What [`carry_out`] did.
#[derive(Debug, Default)]
pub struct Applied {
    pub deleted: Vec<crate::retention::Deletion>,
    /// Approved `package:version`s a fresh evaluation no longer deletes (gone, or needed now).
    pub skipped: Vec<String>,
    /// The deletion that failed (`package:version`) and why; nothing after it was tried.
    pub failed: Option<(String, Error)>,
    /// Deleted (204) versions the forge still lists afterwards.
    pub still_listed: Vec<String>,
}

impl Applied {
    /// Reports what did not go as approved: a failed deletion and versions still listed are
    /// errors, approved versions left alone a warning.
    pub fn report(&self, owner: &str, diags: &mut Diagnostics) {
        if let Some((which, e)) = &self.failed {
            diags.error(
                format!("Could not delete {which} of {owner}"),
                format!(
                    "{e}. {} version(s) were deleted before it; nothing after it was tried.{}",
                    self.deleted.len(),
                    if e.is_forbidden() {
                        " Deleting needs a token with the write:package scope."
                    } else {
                        ""
                    }
                ),
            );
        }
        if !self.skipped.is_empty() {
            diags.warning(
                "Some planned deletions were skipped",
                format!(
                    "The registry changed after the plan; these versions are no longer deletable \
                     (gone, or needed by a newer push) and were kept: {}",
                    self.skipped.join(", ")
                ),
            );
        }
        if !self.still_listed.is_empty() {
            diags.error(
                "Deleted versions are still listed",
                format!(
                    "The forge answered 204 but still lists: {}",
                    self.still_listed.join(", ")
                ),
            );
        }
    }
}

/// Delete the `approved` (package, version) pairs that the fresh evaluation still deletes, in
/// its safe order, then re-list to verify they are gone.
/// `fresh` must come from an evaluation made just before (see [`ForgeClients::carry_out`]).
pub async fn carry_out(
    fj: &ForgejoClient,
    owner: &str,
    package_type: &str,
    fresh: &RetentionPlan,
    approved: &BTreeSet<(String, String)>,
) -> Result<Applied, Error> {
    let key = |d: &crate::retention::Deletion| (d.package.clone(), d.version.clone());
    let deletable: BTreeSet<(String, String)> = fresh.deletions.iter().map(key).collect();
    let mut out = Applied {
        skipped: approved
            .difference(&deletable)
            .map(|(p, v)| format!("{p}:{v}"))
            .collect(),
        ..Default::default()
    };
    for d in fresh
        .deletions
        .iter()
        .filter(|d| approved.contains(&key(d)))
    {
        match fj
            .delete_version(owner, package_type, &d.package, &d.version)
            .await
        {
            Ok(_) => out.deleted.push(d.clone()),
            Err(e) => {
                out.failed = Some((format!("{}:{}", d.package, d.version), e));
                break;
            }
        }
    }
    if !out.deleted.is_empty() {
        let left: BTreeSet<(String, String)> = fj
            .list_versions(owner, package_type)
            .await?
            .into_iter()
            .map(|v| (v.name, v.version))
            .collect();
        out.still_listed = out
            .deleted
            .iter()
            .filter(|d| left.contains(&key(d)))
            .map(|d| format!("{}:{}", d.package, d.version))
            .collect();
    }
    Ok(out)
}
