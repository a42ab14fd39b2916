//! Apply of `cicd_forgejo_package_retention`: delete exactly the planned `deletions`
//! (see [`crate::retention::delete`]), without evaluating the registry again.

use super::{PackageRetention, State, PRIVATE_APPROVED, PRIVATE_KEPT, PRIVATE_SNAPSHOT};
use crate::retention::delete::{self, Applied, Approved};
use crate::retention::forge::Pending;
use crate::retention::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet};
use tfplugin::diagnostics::Diagnostics;
use tfplugin::resource::ApplyRequest;
use tfplugin::typed::Val;

impl PackageRetention {
    pub(super) async fn apply(
        &self,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let planned = &req.planned;
        let owner = planned.owner.known()?.clone();
        let ty = planned.package_type();
        let mut state = planned.clone();
        state.id = Val::Known(format!("{owner}/{ty}"));
        let approved: Vec<Approved> = req.private.get(PRIVATE_APPROVED).unwrap_or_default();
        let kept: Option<i64> = req.private.get(PRIVATE_KEPT);
        req.private.0.remove(PRIVATE_APPROVED);
        req.private.0.remove(PRIVATE_KEPT);
        if state.pending_deletions.is_unknown() {
            // Nothing was listed (a dry run, or a policy not known at plan time), so nothing
            // is deleted: evaluate once to report what is pending.
            return self.evaluate_into(req, state, diags).await;
        }
        if state.kept_count.is_unknown() {
            state.kept_count = Val::Known(kept.unwrap_or_default());
        }
        let list = planned.deletions.clone().known_or_default();
        // The plan records its deletions (with their ids) only when it deletes something; a
        // `deletions` carried over from the last apply is no request to delete again.
        if planned.dry_run() || approved.is_empty() || list.is_empty() {
            return Some(state);
        }
        let c = self.data.retention(diags).await?;
        let (todo, unmatched) = match_planned(&list, &approved);
        if !unmatched.is_empty() {
            diags.warning(
                "Some planned deletions were skipped",
                format!(
                    "The plan did not record which versions it meant (a plan made by another \
                     provider version?); these were kept: {}",
                    unmatched.join(", ")
                ),
            );
        }
        let done = match delete::carry_out(&c.forgejo, &owner, &ty, &todo).await {
            Ok(done) => done,
            Err(e) => {
                // Nothing was deleted: the state says so.
                state.deletions = req
                    .prior
                    .as_ref()
                    .map_or(Val::Known(vec![]), |p| p.deletions.clone());
                state.pending_deletions = Val::Known(list);
                let summary = format!("Could not apply the retention policy for {owner}/{ty}");
                diags.push_err::<()>(summary, &e);
                return Some(state);
            }
        };
        done.report(&owner, diags);
        let deleted: BTreeSet<(String, String)> = done
            .deleted
            .iter()
            .map(|a| (a.package.clone(), a.version.clone()))
            .collect();
        if let Some(snap) = req.private.get::<Snapshot>(PRIVATE_SNAPSHOT) {
            req.private.set(PRIVATE_SNAPSHOT, &snap.without(&deleted));
        }
        if !done.failed.is_empty() || !done.still_listed.is_empty() {
            settle_failed(&mut state, &list, &done, &deleted);
        }
        Some(state)
    }
}

impl PackageRetention {
    /// `state` with `pending_deletions` and `kept_count` from an evaluation made now (kept
    /// in private state as the snapshot a following plan starts from).
    async fn evaluate_into(
        &self,
        req: &mut ApplyRequest<State>,
        mut state: State,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let c = self.data.retention(diags).await?;
        let owner = state.owner.known()?.clone();
        let ty = state.package_type();
        let Ok(Some(policy)) = state.policy() else {
            diags.error(
                "The retention policy is not known",
                "A policy value was still unknown during apply: this is a bug in the provider.",
            );
            return None;
        };
        let snap = match c.snapshot(&owner, &ty, &policy).await {
            Ok(s) => s,
            Err(e) => {
                let summary = format!("Could not evaluate the retention policy for {owner}/{ty}");
                return diags.push_err(summary, &e);
            }
        };
        let ((pending, kept), ..) = super::plan::evaluate(&snap, &policy);
        state.pending_deletions = Val::Known(pending);
        state.kept_count = Val::Known(kept);
        req.private.set(PRIVATE_SNAPSHOT, &snap);
        Some(state)
    }
}

/// The planned deletions with what the plan recorded about each, in the planned order; and the
/// `package:version` of those it recorded nothing for.
fn match_planned(list: &[Pending], approved: &[Approved]) -> (Vec<Approved>, Vec<String>) {
    let by_key: BTreeMap<(&str, &str), &Approved> = approved
        .iter()
        .map(|a| ((a.package.as_str(), a.version.as_str()), a))
        .collect();
    let mut todo = Vec::new();
    let mut unmatched = Vec::new();
    for p in list {
        match by_key.get(&(p.package.as_str(), p.version.as_str())) {
            Some(a) => todo.push((*a).clone()),
            None => unmatched.push(p.to_string()),
        }
    }
    (todo, unmatched)
}

/// State after a failed deletion, true to what happened: `deletions` holds what was deleted,
/// `pending_deletions` what was planned and is still there.
fn settle_failed(
    state: &mut State,
    list: &[Pending],
    done: &Applied,
    deleted: &BTreeSet<(String, String)>,
) {
    let still: BTreeSet<&str> = done.still_listed.iter().map(String::as_str).collect();
    let is_deleted = |p: &Pending| {
        deleted.contains(&(p.package.clone(), p.version.clone()))
            && !still.contains(p.to_string().as_str())
    };
    state.deletions = Val::Known(list.iter().filter(|p| is_deleted(p)).cloned().collect());
    let skipped: BTreeSet<&str> = done
        .gone
        .iter()
        .chain(&done.replaced)
        .map(String::as_str)
        .collect();
    state.pending_deletions = Val::Known(
        list.iter()
            .filter(|p| !is_deleted(p) && !skipped.contains(p.to_string().as_str()))
            .cloned()
            .collect(),
    );
}
