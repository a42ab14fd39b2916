//! Carrying out the deletions a plan listed: exactly those, never one more, without reading
//! the registry again.
//!
//! Each planned version is checked against one listing of the forge (one request per 50
//! versions): a version that is gone is skipped, and so is one pushed again since the plan
//! (the forge gives a pushed-again tag a new version id, so an unchanged id means unchanged
//! content). Then one `DELETE` per version, [`CONCURRENCY`] at a time within a stage of the
//! engine's safe order (tags before untagged manifests, parents before children), the stages
//! one after the other. After a failure no new deletion starts. A final listing confirms
//! that what answered 204 is gone.

use crate::clients::forgejo::ForgejoClient;
use crate::clients::Error;
use crate::retention::RetentionPlan;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use tfplugin::diagnostics::Diagnostics;

/// Deletions in flight at once within a stage.
pub const CONCURRENCY: usize = 8;

/// A planned deletion as the plan records it in private state for the apply.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    pub package: String,
    pub version: String,
    /// The version's id when planned.
    pub id: i64,
    /// The engine's stage (see [`crate::retention::Deletion::stage`]).
    pub stage: (u8, usize),
}

impl std::fmt::Display for Approved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.package, self.version)
    }
}

impl Approved {
    pub fn from_plan(plan: &RetentionPlan) -> Vec<Approved> {
        plan.deletions
            .iter()
            .map(|d| Approved {
                package: d.package.clone(),
                version: d.version.clone(),
                id: d.version_id,
                stage: d.stage,
            })
            .collect()
    }
}

/// What [`carry_out`] did.
#[derive(Debug, Default)]
pub struct Applied {
    pub deleted: Vec<Approved>,
    /// Planned versions that were already gone.
    pub gone: Vec<String>,
    /// Planned versions pushed again since the plan (another version id): kept.
    pub replaced: Vec<String>,
    /// Deletions that failed, and why.
    pub failed: Vec<(String, Error)>,
    /// Planned deletions not tried because one failed before them.
    pub not_tried: Vec<Approved>,
    /// Deleted (204) versions the forge still lists afterwards.
    pub still_listed: Vec<String>,
    /// Why the listing after the deletions failed, if it did.
    pub unverified: Option<Error>,
}

impl Applied {
    /// Failed deletions and versions still listed are errors; skipped versions a warning.
    pub fn report(&self, owner: &str, diags: &mut Diagnostics) {
        for (which, e) in &self.failed {
            diags.error(
                format!("Could not delete {which} of {owner}"),
                format!(
                    "{e}. {} version(s) were deleted; {} planned deletion(s) were not tried.{}",
                    self.deleted.len(),
                    self.not_tried.len(),
                    if e.is_forbidden() {
                        " Deleting needs a token with the write:package scope (dry_run = true \
                         only needs read:package)."
                    } else {
                        ""
                    }
                ),
            );
        }
        let skipped: Vec<&str> = self
            .gone
            .iter()
            .chain(&self.replaced)
            .map(String::as_str)
            .collect();
        if !skipped.is_empty() {
            diags.warning(
                "Some planned deletions were skipped",
                format!(
                    "The registry changed after the plan: already gone: [{}]; pushed again since \
                     the plan, so kept: [{}].",
                    self.gone.join(", "),
                    self.replaced.join(", ")
                ),
            );
        }
        if let Some(e) = &self.unverified {
            diags.warning(
                "Could not confirm the deletions",
                format!("Listing the versions after deleting failed: {e}"),
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

/// One deletion, unless an earlier one failed (`None` then).
async fn delete_one<'a>(
    fj: &ForgejoClient,
    owner: &str,
    package_type: &str,
    a: &'a Approved,
    stop: &AtomicBool,
) -> (&'a Approved, Option<Result<bool, Error>>) {
    if stop.load(Ordering::SeqCst) {
        return (a, None);
    }
    let r = fj
        .delete_version(owner, package_type, &a.package, &a.version)
        .await;
    if r.is_err() {
        stop.store(true, Ordering::SeqCst);
    }
    (a, Some(r))
}

/// Delete exactly `planned`, in its order (see the module documentation).
pub async fn carry_out(
    fj: &ForgejoClient,
    owner: &str,
    package_type: &str,
    planned: &[Approved],
) -> Result<Applied, Error> {
    let mut out = Applied::default();
    if planned.is_empty() {
        return Ok(out);
    }
    let current: BTreeMap<(String, String), i64> = fj
        .list_versions(owner, package_type)
        .await?
        .into_iter()
        .map(|v| ((v.name, v.version), v.id))
        .collect();
    let stop = AtomicBool::new(false);
    let mut rest = planned;
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|a| a.stage == first.stage).count();
        let (stage, after) = rest.split_at(n);
        rest = after;
        let mut todo = Vec::new();
        for a in stage {
            match current.get(&(a.package.clone(), a.version.clone())) {
                None => out.gone.push(a.to_string()),
                Some(id) if *id != a.id => out.replaced.push(a.to_string()),
                Some(_) => todo.push(a),
            }
        }
        let futs: Vec<_> = todo
            .into_iter()
            .map(|a| delete_one(fj, owner, package_type, a, &stop))
            .collect();
        let results: Vec<(&Approved, Option<Result<bool, Error>>)> =
            stream::iter(futs).buffered(CONCURRENCY).collect().await;
        for (a, r) in results {
            match r {
                None => out.not_tried.push(a.clone()),
                Some(Ok(true)) => out.deleted.push(a.clone()),
                Some(Ok(false)) => out.gone.push(a.to_string()),
                Some(Err(e)) => out.failed.push((a.to_string(), e)),
            }
        }
        if stop.load(Ordering::SeqCst) {
            out.not_tried.extend(rest.iter().cloned());
            break;
        }
    }
    if !out.deleted.is_empty() {
        let left: BTreeSet<(String, String)> = match fj.list_versions(owner, package_type).await {
            Ok(vs) => vs.into_iter().map(|v| (v.name, v.version)).collect(),
            Err(e) => {
                // The deletions happened: report them all the same.
                out.unverified = Some(e);
                return Ok(out);
            }
        };
        out.still_listed = out
            .deleted
            .iter()
            .filter(|a| left.contains(&(a.package.clone(), a.version.clone())))
            .map(Approved::to_string)
            .collect();
    }
    Ok(out)
}
