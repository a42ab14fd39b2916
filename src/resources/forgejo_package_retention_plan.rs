//! Plan of `cicd_forgejo_package_retention`: the policy in configuration evaluated against the
//! snapshot the refresh kept (see the module documentation of the resource).

use super::{
    report_policy_error, PackageRetention, State, PRIVATE_APPROVED, PRIVATE_KEPT, PRIVATE_SNAPSHOT,
};
use crate::retention::delete::Approved;
use crate::retention::forge::{pending, Pending};
use crate::retention::snapshot::Snapshot;
use crate::retention::{Policy, RetentionPlan};
use std::collections::BTreeSet;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{Plan, PlanRequest};
use tfplugin::typed::Val;

/// `policy` evaluated against `snap` at the snapshot's time: ((pending, kept count), the
/// engine's plan, selected packages the snapshot has no manifests for).
pub(super) fn evaluate(
    snap: &Snapshot,
    policy: &Policy,
) -> ((Vec<Pending>, i64), RetentionPlan, BTreeSet<String>) {
    let (inputs, unread) = snap.inputs(&policy.packages);
    let plan = inputs.plan(policy, snap.at);
    (pending(&plan), plan, unread)
}

impl PackageRetention {
    pub(super) async fn plan(
        &self,
        req: &PlanRequest<State>,
        plan: &mut Plan<State>,
        diags: &mut Diagnostics,
    ) {
        let st = &mut plan.state;
        if let (Val::Known(o), Val::Known(t)) = (&st.owner, &st.r#type) {
            st.id = Val::Known(format!("{o}/{t}"));
        }
        plan.private.0.remove(PRIVATE_APPROVED);
        plan.private.0.remove(PRIVATE_KEPT);
        // What the last apply deleted stays as it is unless this plan deletes something.
        let last = match &req.prior {
            Some(p) => p.deletions.clone(),
            None => Val::Known(vec![]),
        };
        let policy = match st.policy() {
            Ok(Some(p)) if st.owner.is_known() && st.r#type.is_known() => p,
            Ok(_) => {
                // Not known before apply: nothing can be listed, so nothing is deleted.
                st.deletions = last;
                st.pending_deletions = Val::Unknown;
                st.kept_count = Val::Unknown;
                diags.warning(
                    "The retention policy is not known until apply",
                    "A policy value comes from something known only during apply, so this plan \
                     cannot list deletions and deletes nothing. If the policy, once known, would \
                     delete versions, Terraform stops this resource's apply with \"Provider \
                     produced inconsistent final plan\" (nothing is deleted); the next plan \
                     lists them.",
                );
                return;
            }
            Err(e) => return report_policy_error(e, diags),
        };
        let ty = st.package_type();
        let snap = req
            .prior
            .as_ref()
            .and_then(|_| req.prior_private.get::<Snapshot>(PRIVATE_SNAPSHOT))
            .filter(|s| s.package_type == ty);
        let from_refresh = snap.is_some();
        let snap = match snap {
            Some(s) => s,
            None if st.dry_run() => {
                // Nothing to delete, nothing to list in advance: the apply evaluates once.
                st.deletions = last;
                st.pending_deletions = Val::Unknown;
                st.kept_count = Val::Unknown;
                return;
            }
            None => {
                // A new policy (or a state without a snapshot): read the registry now.
                let Some(c) = self.data.retention(diags).await else {
                    return;
                };
                let owner = st.owner.known().cloned().unwrap_or_default();
                if let Err(e) = c.forgejo.require_owner(&owner).await {
                    diags.error_at(AttrPath::root(State::ATTR.owner), e.to_string(), e.detail());
                    return;
                }
                match c.snapshot(&owner, &ty, &policy).await {
                    Ok(s) => s,
                    Err(e) => {
                        let summary =
                            format!("Could not evaluate the retention policy for {owner}/{ty}");
                        diags.push_err::<()>(summary, &e);
                        return;
                    }
                }
            }
        };
        let ((list, kept), engine_plan, unread) = evaluate(&snap, &policy);
        if !unread.is_empty() {
            diags.warning(
                "Some selected packages are evaluated from the next refresh on",
                format!(
                    "The last refresh did not read the manifests of {}: this plan deletes none \
                     of their versions; the next plan includes them.",
                    unread.into_iter().collect::<Vec<_>>().join(", ")
                ),
            );
        }
        if st.dry_run() {
            st.deletions = last;
            st.pending_deletions = Val::Known(list);
        } else if list.is_empty() {
            st.deletions = last;
            st.pending_deletions = Val::Known(vec![]);
        } else {
            st.deletions = Val::Known(list);
            st.pending_deletions = Val::Known(vec![]);
            plan.private
                .set(PRIVATE_APPROVED, &Approved::from_plan(&engine_plan));
        }
        if from_refresh {
            st.kept_count = Val::Known(kept);
        } else {
            // A fresh evaluation may count differently when Terraform plans again before the
            // apply (a push in between): the count is settled by the apply.
            st.kept_count = Val::Unknown;
            plan.private.set(PRIVATE_KEPT, &kept);
            plan.private.set(PRIVATE_SNAPSHOT, &snap);
        }
    }
}
