//! `cicd_forgejo_package_retention`: a retention policy for one owner's packages in Forgejo
//! (or Gitea), carried out by the provider with the digest-aware engine in `crate::retention`.
//!
//! The policy is the configuration; the remote "object" is the set of versions the policy
//! would delete now (`pending_deletions`). The plan lists in `deletions` exactly the versions
//! its apply deletes, and apply deletes those and no other, in the engine's safe order
//! (parents before children, tags before untagged manifests), through
//! `DELETE /api/v1/packages/{owner}/{type}/{name}/{version}`.
//!
//! How the plan and the apply agree (Terraform plans again right before applying, from the
//! refreshed state and its private data, and fails the apply when a known planned value
//! differs):
//! - Refresh (read) reads the registry once and keeps a snapshot of what the engine needs
//!   (versions, digests, index children, the time of reading) in private state.
//! - Plan evaluates the configured policy, new, changed or unchanged, against that snapshot
//!   with the snapshot's time as "now". The plan and the re-plan before the apply compute the
//!   same list, so a saved plan applied hours later deletes what it showed: versions that aged
//!   out or were pushed since are left for the next plan. The plan does not read the registry.
//! - Apply checks only the listed versions against one listing of the forge (skipping any
//!   that are gone or were pushed again since the plan) and deletes them; it does not
//!   evaluate the registry again.
//! - A new policy (no refreshed state yet) is evaluated at plan time against the registry as it
//!   is. Terraform's re-plan before the apply evaluates it again; if the registry changed in
//!   between so that the list differs, Terraform stops with "Provider produced inconsistent
//!   final plan" and nothing is deleted: planning again shows the current list.
//! - A policy value unknown at plan time (e.g. `protect_in_use` from a resource changed in the
//!   same run) plans no deletion; if the policy, once known, would delete something, Terraform
//!   stops the same way and the next plan shows the list.
//!
//! `kept_count` is null only in an imported state that was never applied: read does not
//! evaluate it then (the policy comes from configuration at the next apply).
//!
//! Endpoints: packages list/delete, `GET /api/v1/users/{owner}` (or orgs), `/v2` manifests.
//! Import id: `owner/type`, e.g. `viktor/container`.

use crate::clients::forgejo::{OwnerError, PACKAGE_TYPES};
use crate::provider::ProviderData;
use crate::retention::forge::Pending;
use crate::retention::policy::{self, PolicyAttributes, PolicyError};
use crate::retention::Policy;
use async_trait::async_trait;
use std::collections::BTreeSet;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::Schema;
use tfplugin::typed::Val;
use tfplugin::value::{Type, Value};

#[path = "forgejo_package_retention_apply.rs"]
mod apply;
#[path = "forgejo_package_retention_plan.rs"]
mod plan;

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
        /// Versions the policy would delete as of the last refresh, in deletion order, each
        /// with the reason; in a plan, what is left pending after its apply (`[]` when the
        /// apply deletes them; the list itself with `dry_run`).
        pending_deletions: Val<Vec<Pending>> = new(Pending::list_type()).computed(),
        /// In a plan: exactly the versions its apply deletes, in deletion order, each with the
        /// reason. In state: what the last apply deleted.
        deletions: Val<Vec<Pending>> = new(Pending::list_type()).computed(),
        /// Number of versions of the selected packages the policy keeps.
        kept_count: Val<i64> = number().computed(),
    }
}

const DEFAULT_TYPE: &str = "container";

/// Private state: what the last refresh read ([`crate::retention::snapshot::Snapshot`]).
const PRIVATE_SNAPSHOT: &str = "snapshot";
/// Private state of a plan: its deletions with their version ids and stages
/// (`Vec<crate::retention::delete::Approved>`).
const PRIVATE_APPROVED: &str = "approved";
/// Private state of a plan whose `kept_count` is unknown (a new policy): the count.
const PRIVATE_KEPT: &str = "kept";

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
                 as of the last refresh, so a scheduled `terraform plan` shows retention as an update; the plan \
                 lists in `deletions` exactly what its `apply` deletes, tags first, then untagged manifests, and \
                 apply deletes those and nothing else, even from a saved plan applied later: versions that aged \
                 out or were pushed after the refresh are left for the next plan. `latest` is kept unless \
                 `delete_latest` is set.\n\n\
                 A plan reads nothing from the registry: it evaluates the policy (new or changed ones too) \
                 against what the refresh read. A brand-new policy is evaluated against the registry at plan \
                 time; if the registry changes before the apply so that the list differs, Terraform stops with \
                 \"Provider produced inconsistent final plan\" and nothing is deleted: plan again.\n\n\
                 Deleting needs a token with the `write:package` scope (enforced when apply deletes; the plan \
                 only reads); `dry_run` only needs `read:package`. Destroying the resource removes only the \
                 policy from state; nothing is deleted.",
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
        self.plan(req, plan, diags).await
    }

    async fn create(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        self.apply(req, diags).await
    }

    async fn read(
        &self,
        _cx: &Ctx,
        state: State,
        private: &mut Private,
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
        private.0.remove(PRIVATE_APPROVED);
        private.0.remove(PRIVATE_KEPT);
        // Imported and never applied: the policy is not known yet (kept_count is set by apply).
        if state.kept_count.is_null() {
            private.0.remove(PRIVATE_SNAPSHOT);
            return Some(Read::Found(State {
                pending_deletions: Val::Known(vec![]),
                ..state
            }));
        }
        let policy = match state.policy() {
            Ok(p) => p?,
            Err(e) => {
                report_policy_error(e, diags);
                return None;
            }
        };
        let owner = state.owner.known()?.clone();
        let ty = state.package_type();
        let snap = match c.snapshot(&owner, &ty, &policy).await {
            Ok(s) => s,
            Err(e) => {
                let summary = format!("Could not evaluate the retention policy for {owner}/{ty}");
                return diags.push_err(summary, &e);
            }
        };
        let (pending, kept) = plan::evaluate(&snap, &policy).0;
        private.set(PRIVATE_SNAPSHOT, &snap);
        Some(Read::Found(State {
            pending_deletions: Val::Known(pending),
            kept_count: Val::Known(kept),
            ..state
        }))
    }

    async fn update(
        &self,
        _cx: &Ctx,
        req: &mut ApplyRequest<State>,
        diags: &mut Diagnostics,
    ) -> Option<State> {
        self.apply(req, diags).await
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
            deletions: Val::Known(vec![]),
            ..Default::default()
        })
    }
}

impl State {
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

#[cfg(test)]
#[path = "forgejo_package_retention_tests.rs"]
mod tests;
