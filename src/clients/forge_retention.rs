//! The I/O around the pure retention engine (`crate::retention`): list an owner's package
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

use super::forgejo::{ForgejoClient, PackageVersion};
use super::registry::{ManifestKind, RegistryClient, DOCKER_MANIFEST, OCI_MANIFEST};
use super::Error;
use crate::retention::{self, Manifest, Policy, RetentionPlan, Version};
use futures::stream::{self, StreamExt, TryStreamExt};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Manifest requests in flight at once.
pub const CONCURRENCY: usize = 8;

pub struct Evaluation {
    pub plan: RetentionPlan,
    /// Every version of the owner and type as listed (all packages).
    pub versions: Vec<PackageVersion>,
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
    let fetched: Vec<Option<super::registry::Manifest>> = fetch_all(reg, &host, jobs)
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
) -> Result<Vec<(i64, Option<super::registry::Manifest>)>, Error> {
    let futs = jobs.into_iter().map(|(id, repo, reference)| {
        let host = host.to_string();
        async move {
            let m = reg.get_manifest(&host, &repo, &reference).await?;
            Ok::<_, Error>((id, m))
        }
    });
    stream::iter(futs)
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}

fn to_engine(m: &super::registry::Manifest) -> Manifest {
    Manifest {
        digest: m.digest.clone(),
        media_type: m.media_type.clone(),
        children: m.children.iter().map(|c| c.digest.clone()).collect(),
    }
}

fn is_digest(v: &str) -> bool {
    v.len() > 7 && v[..7].eq_ignore_ascii_case("sha256:")
}

/// The forge's REST client and its registry client, with the registry login set up once.
pub struct ForgeClients {
    pub forgejo: ForgejoClient,
    pub registry: RegistryClient,
    username: Option<String>,
    login: tokio::sync::OnceCell<()>,
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

impl ForgeClients {
    pub fn new(url: &str, token: tfplugin::secret::Secret, username: Option<String>) -> Self {
        ForgeClients {
            forgejo: ForgejoClient::new(url, token),
            registry: RegistryClient::new(),
            username,
            login: tokio::sync::OnceCell::new(),
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
        self.ready().await?;
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

    /// Give the registry client Basic credentials for the forge's registry (user:token); the
    /// user is the configured one, else the token's owner (`GET /api/v1/user`).
    pub async fn ready(&self) -> Result<(), Error> {
        self.login
            .get_or_try_init(|| async {
                let user = match &self.username {
                    Some(u) => u.clone(),
                    None => self.forgejo.current_user().await?,
                };
                self.registry.set_basic(
                    &self.forgejo.registry_host(),
                    &user,
                    self.forgejo.token().clone(),
                );
                Ok::<_, Error>(())
            })
            .await
            .map(|_| ())
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
