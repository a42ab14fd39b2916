//! `cicd_forgejo_package_retention`: a retention policy for one owner's packages in Forgejo
//! (or Gitea), carried out by the provider with the digest-aware engine in `crate::retention`.
//!
//! The policy is the configuration; the remote "object" is the set of versions the policy
//! would delete now (`pending_deletions`). Read computes it against the registry as it is;
//! when it is not empty (and `dry_run` is false) the plan shows it going to `[]`, and apply
//! deletes those versions in the engine's safe order (parents before children, tags before
//! untagged manifests) through `DELETE /api/v1/packages/{owner}/{type}/{name}/{version}`.
//!
//! Between plan and apply the registry may change (new pushes). Apply deletes only versions
//! that were approved at plan time (kept in private state) AND that a fresh evaluation still
//! deletes, in the fresh evaluation's order: a version a new push made necessary (e.g. a child
//! a new index references) is never deleted, and nothing unapproved is. Versions that became
//! deletable after the plan are left for the next plan, with a warning; the state after apply
//! holds what was planned (`[]`), as Terraform requires.
//! - Unchanged policy (the nightly case): approved = the refreshed `pending_deletions` the plan
//!   diff shows.
//! - New policy or changed policy: the diff cannot show the new policy's list (the prior one
//!   is the old policy's), so the plan lists it in a warning; approved = the evaluation of
//!   Terraform's final plan right before apply (reused by the apply, see `Retention`).
//! - A policy value unknown at plan time (e.g. `protect_in_use` from a resource created in
//!   the same run): nothing is deleted by that apply; the next plan shows the deletions.
//!
//! `kept_count` is null only in an imported state that was never applied: read does not
//! evaluate it then (the policy comes from configuration at the next apply).
//!
//! Endpoints: packages list/get/delete, `GET /api/v1/users/{owner}` (or orgs), `/v2` manifests.
//! Import id: `owner/type`, e.g. `viktor/container`.

use crate::clients::forgejo::{OwnerError, PACKAGE_TYPES};
use crate::provider::ProviderData;
use crate::retention::forge::{AccessError, Pending, Retention};
use crate::retention::policy::{self, PolicyAttributes, PolicyError};
use crate::retention::Policy;
use async_trait::async_trait;
use std::collections::BTreeSet;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::value::{Type, Value};

tfplugin::state! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct State / StateAttrs {
        /// User or organization owning the packages. Changing it replaces the policy.
        owner: Val<String> = string().required().force_new(),
        /// Package type (default `container`). Digest-aware rules (index children, shared
        /// digests, `protect_in_use` by digest) apply to `container`. Other types the packages
        /// API lists (`generic`, `npm`, `maven`, ...) are supported with versions treated as
        /// independent: `keep_last`, `keep_tags` (on version names), `keep_newer_than` and
        /// `protect_in_use` (`package:version`) apply.
        r#type: Val<String> = string()
            .optional()
            .computed()
            .force_new()
            .default_value(Value::string(DEFAULT_TYPE)),
        /// Package names the policy applies to (case-insensitive). Conflicts with
        /// `package_regex`; with neither, every package of the owner and type.
        packages: Val<BTreeSet<String>> = new(Type::set(Type::String)).optional(),
        /// Regex that must match the whole package name. Conflicts with `packages`.
        package_regex: Val<String> = string().optional(),
        /// Keep the newest N tags of each package (0 or more; untagged manifests do not
        /// count). Default 0.
        keep_last: Val<i64> = number().optional().validate(tfplugin::validate::whole_number()),
        /// Keep tags fully matching any of these regexes, e.g. `v\\d+\\.\\d+\\.\\d+`.
        keep_tags: Val<Vec<String>> = new(Type::list(Type::String)).optional(),
        keep_newer_than: Val<String> = string().optional().describe(format!(
            "Keep versions not older than this: {}.",
            crate::util::duration::DOC
        )),
        /// Image references in use, kept whatever the other rules say: `owner/name:tag`,
        /// `name@sha256:...`, `host/owner/name:tag@sha256:...` (for example the images of
        /// `cicd_image_deployment`).
        protect_in_use: Val<BTreeSet<String>> = new(Type::set(Type::String)).optional(),
        /// Also delete `latest` when no rule keeps it. Default false.
        delete_latest: Val<bool> = bool().optional().computed().default_value(Value::bool(false)),
        /// Only report: nothing is deleted and the plan shows no change; `pending_deletions`
        /// still lists what would go.
        dry_run: Val<bool> = bool().optional().computed().default_value(Value::bool(false)),
        /// `owner/type`.
        id: Val<String> = string().computed().keep_prior(),
        /// Versions the policy would delete now, in deletion order, each with the reason.
        pending_deletions: Val<Vec<Pending>> = new(Pending::list_type()).computed(),
        /// Number of versions of the selected packages the policy keeps.
        kept_count: Val<i64> = number().computed(),
    }
}

const DEFAULT_TYPE: &str = "container";

/// Private state: the deletions the plan approved (`Vec<Pending>`).
const PRIVATE_APPROVED: &str = "approved";

pub struct PackageRetention {
    data: ProviderData,
}

impl PackageRetention {
    pub fn new(data: ProviderData) -> Self {
        PackageRetention { data }
    }
}

#[async_trait]
impl Resource for PackageRetention {
    type State = State;

    fn type_name(&self) -> &'static str {
        "cicd_forgejo_package_retention"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            State::block(
                "Retention policy for the packages of one Forgejo (or Gitea) owner. The provider lists the \
                 owner's package versions, reads the manifest of every tag and untagged manifest, and deletes \
                 what the policy does not keep, never a child manifest that a kept multi-arch index still \
                 references (which would break pulls). `pending_deletions` shows what the policy would delete \
                 now, so a scheduled `terraform plan` shows retention as an update; `apply` deletes those versions \
                 through the packages API, tags first, then untagged manifests. Versions that became deletable \
                 after the plan are left for the next run. `latest` is kept unless `delete_latest` is set.\n\n\
                 Deleting needs a token with the `write:package` scope (checked at plan time); `dry_run` only needs \
                 `read:package`. Destroying the resource removes only the policy from state; nothing is deleted.",
            ),
        )
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        if let Err(e) = c.policy() {
            report_policy_error(e, diags);
        }
        if let Val::Known(o) = &c.owner {
            if o.trim().is_empty() || o.contains('/') {
                diags.error_at(
                    AttrPath::root(State::ATTR.owner),
                    "Invalid owner",
                    format!("owner must be a user or organization name, got {o:?}."),
                );
            }
        }
    }

    async fn modify_plan(
        &self,
        _cx: &Ctx,
        req: &PlanRequest<State>,
        plan: &mut Plan<State>,
        diags: &mut Diagnostics,
    ) {
        let Some(c) = self.data.retention(diags).await else {
            return;
        };
        let st = &mut plan.state;
        if let (Val::Known(o), Val::Known(t)) = (&st.owner, &st.r#type) {
            st.id = Val::Known(format!("{o}/{t}"));
        }
        let approved = match &req.prior {
            Some(prior) if prior.policy_fields() == st.policy_fields() => plan_unchanged(prior, st),
            _ => self.plan_new_policy(&c, st, diags).await,
        };
        let Some(approved) = approved else { return };
        if approved.is_empty() {
            plan.private.0.remove(PRIVATE_APPROVED);
            return;
        }
        self.check_remote(&c, &plan.state, true, diags).await;
        plan.private.set(PRIVATE_APPROVED, &approved);
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let approved: Vec<Pending> = req.private.get(PRIVATE_APPROVED).unwrap_or_default();
        req.private.0.remove(PRIVATE_APPROVED);
        self.apply_policy(&req.planned, &approved, diags).await
    }

    async fn read(
        &self,
        _cx: &Ctx,
        state: State,
        _private: &mut Private,
        diags: &mut Diagnostics,
    ) -> Option<Read<State>> {
        let c = self.data.retention(diags).await?;
        match c.forgejo.require_owner(state.owner.known()?).await {
            Ok(()) => {}
            Err(OwnerError::Missing(_)) => return Some(Read::Gone),
            Err(e) => {
                diags.error(e.to_string(), e.detail());
                return Some(Read::Found(state));
            }
        }
        // Imported and never applied: the policy is not known yet (kept_count is set by apply).
        if state.kept_count.is_null() {
            return Some(Read::Found(State {
                pending_deletions: Val::Known(vec![]),
                ..state
            }));
        }
        let (pending, kept) = self.evaluate(&c, &state, diags).await?;
        Some(Read::Found(State {
            pending_deletions: Val::Known(pending),
            kept_count: Val::Known(kept),
            ..state
        }))
    }

    async fn update(
        &self,
        cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        self.create(cx, req, diags).await
    }

    async fn delete(&self, _cx: &Ctx, _prior: State, _private: &Private, _diags: &mut Diagnostics) {
        // Only the policy goes away: no package is touched.
    }

    async fn import(&self, _cx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<State> {
        let parsed = id.split_once('/').filter(|(owner, ty)| {
            !owner.is_empty() && !ty.contains('/') && PACKAGE_TYPES.contains(ty)
        });
        let Some((owner, ty)) = parsed else {
            diags.error(
                "Invalid import id",
                format!("Expected owner/type (e.g. viktor/container), got: {id}"),
            );
            return None;
        };
        Some(State {
            id: Val::Known(id.to_string()),
            owner: Val::Known(owner.to_string()),
            r#type: Val::Known(ty.to_string()),
            delete_latest: Val::Known(false),
            dry_run: Val::Known(false),
            pending_deletions: Val::Known(vec![]),
            ..Default::default()
        })
    }
}

impl State {
    /// The attributes that make the policy (everything but computed results).
    fn policy_fields(&self) -> impl PartialEq + '_ {
        (
            (&self.owner, &self.r#type, &self.packages),
            (&self.package_regex, &self.keep_last, &self.keep_tags),
            (&self.keep_newer_than, &self.protect_in_use),
            (&self.delete_latest, &self.dry_run),
        )
    }

    fn dry_run(&self) -> bool {
        self.dry_run.known().copied().unwrap_or(false)
    }

    fn package_type(&self) -> String {
        self.r#type.clone().known_or_else(|| DEFAULT_TYPE.into())
    }

    /// The engine's policy from the configuration; `Ok(None)` while a value is unknown (the
    /// known ones are checked all the same).
    pub fn policy(&self) -> Result<Option<Policy>, PolicyError> {
        let policy = policy::from_attributes(PolicyAttributes {
            package_type: self.r#type.as_deref().into_known(),
            packages: self.packages.known(),
            package_regex: self.package_regex.as_deref().into_known(),
            keep_last: self.keep_last.known().copied(),
            keep_tags: self.keep_tags.known().map_or(&[], Vec::as_slice),
            keep_newer_than: self.keep_newer_than.as_deref().into_known(),
            protect_in_use: self.protect_in_use.clone().known_or_default(),
            delete_latest: self.delete_latest.clone().known_or(false),
            dry_run: self.dry_run(),
        })?;
        let unknown = self.packages.is_unknown()
            || self.r#type.is_unknown()
            || self.package_regex.is_unknown()
            || self.keep_last.is_unknown()
            || self.keep_tags.is_unknown()
            || self.keep_newer_than.is_unknown()
            || self.protect_in_use.is_unknown()
            || self.delete_latest.is_unknown()
            || self.dry_run.is_unknown();
        Ok((!unknown).then_some(policy))
    }
}

fn report_policy_error(e: PolicyError, diags: &mut Diagnostics) {
    diags.error_at(e.path(), "Invalid retention policy", e.message);
}

/// Plan of an unchanged policy: the refreshed state says what it would delete now. `None`:
/// nothing to approve or record.
fn plan_unchanged(prior: &State, st: &mut State) -> Option<Vec<Pending>> {
    let pending = prior.pending_deletions.known().cloned().unwrap_or_default();
    if pending.is_empty() || prior.dry_run() {
        return None;
    }
    st.pending_deletions = Val::Known(vec![]);
    st.kept_count = Val::Unknown;
    Some(pending)
}

impl PackageRetention {
    /// Plan of a new or changed policy: its deletions cannot show in the diff (the prior list
    /// is the old policy's), so a warning lists them. `None`: nothing to approve or record.
    async fn plan_new_policy(
        &self,
        c: &Retention,
        st: &mut State,
        diags: &mut Diagnostics,
    ) -> Option<Vec<Pending>> {
        st.kept_count = Val::Unknown;
        let ready = matches!(st.policy(), Ok(Some(_)));
        let ready = ready && st.owner.is_known() && st.r#type.is_known();
        if ready {
            self.check_remote(c, st, false, diags).await;
        }
        if !ready || diags.has_errors() || st.dry_run() {
            st.pending_deletions = Val::Unknown;
            return None;
        }
        let (pending, _) = self.evaluate(c, st, diags).await?;
        st.pending_deletions = Val::Known(vec![]);
        if !pending.is_empty() {
            diags.warning(
                format!("Retention will delete {} version(s)", pending.len()),
                Pending::list(&pending, "\n", true),
            );
        }
        Some(pending)
    }

    /// Evaluate the policy of `s` now: (pending deletions in order, kept count).
    async fn evaluate(
        &self,
        c: &Retention,
        s: &State,
        diags: &mut Diagnostics,
    ) -> Option<(Vec<Pending>, i64)> {
        let policy = match s.policy() {
            Ok(p) => p?,
            Err(e) => {
                report_policy_error(e, diags);
                return None;
            }
        };
        let owner = s.owner.known()?.clone();
        let ty = s.package_type();
        match c.evaluate(&owner, &ty, &policy).await {
            Ok(ev) => Some(ev.pending()),
            Err(e) => {
                let summary = format!("Could not evaluate the retention policy for {owner}/{ty}");
                diags.push_err(summary, &e)
            }
        }
    }

    /// Remote checks at plan time: owner exists; the token may delete when deletions are planned.
    async fn check_remote(
        &self,
        c: &Retention,
        s: &State,
        deleting: bool,
        diags: &mut Diagnostics,
    ) {
        let (Some(owner), Some(ty)) = (s.owner.known(), s.r#type.known()) else {
            return;
        };
        for e in c.check_access(owner, ty, deleting).await {
            match e {
                AccessError::Owner(_) => {
                    diags.error_at(AttrPath::root(State::ATTR.owner), e.to_string(), e.detail())
                }
                AccessError::CannotDelete(..) => diags.error(e.to_string(), e.detail()),
            }
        }
    }

    /// Carry out `approved` (from the plan) in the order of a fresh evaluation; the state is
    /// what the registry has afterwards.
    async fn apply_policy(
        &self,
        planned: &State,
        approved: &[Pending],
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let c = self.data.retention(diags).await?;
        let owner = planned.owner.known()?.clone();
        let ty = planned.package_type();
        let mut state = planned.clone();
        state.id = Val::Known(format!("{owner}/{ty}"));
        if !approved.is_empty() && !planned.dry_run() {
            let Ok(Some(policy)) = planned.policy() else {
                return None;
            };
            let want = Pending::keys(approved);
            let done = match c.carry_out(&owner, &ty, &policy, &want).await {
                Ok(done) => done,
                Err(e) => {
                    let summary = format!("Could not apply the retention policy for {owner}/{ty}");
                    return diags.push_err(summary, &e);
                }
            };
            done.report(&owner, diags);
        }
        let (pending, kept) = self.evaluate(&c, planned, diags).await?;
        state.kept_count = Val::Known(kept);
        state.pending_deletions = Val::Known(settle_pending(planned, pending, diags));
        Some(state)
    }
}

/// `pending_deletions` after an apply, from what is `pending` now.
fn settle_pending(planned: &State, pending: Vec<Pending>, diags: &mut Diagnostics) -> Vec<Pending> {
    if diags.has_errors() {
        // State true to what happened: what is still pending now.
        return pending;
    }
    // NOTE: the new state must equal the plan where the plan was known, or Terraform reports
    // an inconsistent result; what became deletable since shows next time.
    let Val::Known(p) = &planned.pending_deletions else {
        return pending;
    };
    if p.is_empty() && !pending.is_empty() && !planned.dry_run() {
        diags.warning(
            format!(
                "{} version(s) became deletable after the plan",
                pending.len()
            ),
            format!(
                "Changes made after the plan pushed them out; they will show in the next plan: {}",
                Pending::list(&pending, ", ", false)
            ),
        );
    }
    p.clone()
}

#[cfg(test)]
#[path = "forgejo_package_retention_tests.rs"]
mod tests;
