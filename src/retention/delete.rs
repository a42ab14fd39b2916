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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::registry::tests::{fake, Req};
    use std::sync::{Arc, Mutex};
    use tfplugin::secret::Secret;

    /// A forge listing `versions` (name, id) of package `app`; DELETE removes one (403 for
    /// `deny`). Returns the client and the DELETEs seen, in order.
    async fn forge(versions: &[(&str, i64)]) -> (ForgejoClient, Arc<Mutex<Vec<String>>>) {
        let listed: Arc<Mutex<Vec<(String, i64)>>> = Arc::new(Mutex::new(
            versions
                .iter()
                .map(|(v, id)| (v.to_string(), *id))
                .collect(),
        ));
        let deletes = Arc::new(Mutex::new(Vec::new()));
        let d = deletes.clone();
        let host = fake(Arc::new(move |r: &Req| {
            if r.method == "DELETE" {
                let v = r.path.rsplit('/').next().unwrap().to_string();
                d.lock().unwrap().push(v.clone());
                if v == "deny" {
                    return (403, vec![], r#"{"message":"token does not have write:package"}"#.into());
                }
                listed.lock().unwrap().retain(|(n, _)| *n != v);
                return (204, vec![], String::new());
            }
            let page1 = r.path.contains("page=1&") || r.path.ends_with("page=1");
            let l = listed.lock().unwrap();
            let items: Vec<serde_json::Value> = if page1 {
                l.iter()
                    .map(|(v, id)| serde_json::json!({"id": id, "type": "container", "name": "app", "version": v, "created_at": "2026-11-27T09:24:49Z"}))
                    .collect()
            } else {
                vec![]
            };
            let headers = vec![("X-Total-Count".to_string(), l.len().to_string())];
            (200, headers, serde_json::to_string(&items).unwrap())
        }))
        .await;
        (
            ForgejoClient::new(&format!("http://{host}"), Secret::new("t")),
            deletes,
        )
    }

    fn a(version: &str, id: i64, stage: (u8, usize)) -> Approved {
        Approved {
            package: "app".into(),
            version: version.into(),
            id,
            stage,
        }
    }

    #[tokio::test]
    async fn deletes_exactly_the_planned_versions_stage_by_stage() {
        let (fj, deletes) = forge(&[
            ("t1", 1),
            ("t2", 2),
            ("re", 33),
            ("c", 4),
            ("d", 5),
            ("keep", 9),
        ])
        .await;
        let planned = [
            a("t1", 1, (0, 0)),
            a("t2", 2, (0, 0)),
            // Pushed again since the plan: another id.
            a("re", 3, (0, 0)),
            a("gone", 6, (0, 0)),
            a("c", 4, (1, 0)),
            a("d", 5, (1, 1)),
        ];
        let done = carry_out(&fj, "o", "container", &planned).await.unwrap();
        let deleted: Vec<String> = done.deleted.iter().map(|d| d.version.clone()).collect();
        assert_eq!(deleted, ["t1", "t2", "c", "d"]);
        assert_eq!(done.replaced, ["app:re"]);
        assert_eq!(done.gone, ["app:gone"]);
        assert!(done.failed.is_empty() && done.still_listed.is_empty());
        let seen = deletes.lock().unwrap().clone();
        // Only planned, still-present versions; a later stage after the whole earlier one.
        let mut first: Vec<&str> = seen[..2].iter().map(String::as_str).collect();
        first.sort();
        assert_eq!(first, ["t1", "t2"]);
        assert_eq!(&seen[2..], ["c", "d"]);
    }

    #[tokio::test]
    async fn a_failed_deletion_stops_the_later_stages() {
        let (fj, deletes) = forge(&[("deny", 1), ("c", 2)]).await;
        let planned = [a("deny", 1, (0, 0)), a("c", 2, (1, 0))];
        let done = carry_out(&fj, "o", "container", &planned).await.unwrap();
        assert_eq!(done.failed.len(), 1);
        assert!(done.failed[0].1.is_forbidden());
        assert_eq!(done.not_tried, [a("c", 2, (1, 0))]);
        assert_eq!(deletes.lock().unwrap().clone(), ["deny"]);
        let mut d = Diagnostics::new();
        done.report("o", &mut d);
        assert!(d.has_errors());
    }
}
