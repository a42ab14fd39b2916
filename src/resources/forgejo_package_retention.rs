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

use crate::clients::forgejo::PACKAGE_TYPES;
use crate::provider::ProviderData;
use crate::retention::forge::Retention;
use crate::retention::{self, Policy};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use tfplugin::diagnostics::{AttrPath, Diagnostics};
use tfplugin::resource::{ApplyRequest, Ctx, Plan, PlanRequest, Private, Read, Resource};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::typed::Val;
use tfplugin::value::{Type, Value};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pending {
    pub package: String,
    pub version: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct State {
    #[serde(default)]
    pub id: Val<String>,
    #[serde(default)]
    pub owner: Val<String>,
    #[serde(default, rename = "type")]
    pub package_type: Val<String>,
    #[serde(default)]
    pub packages: Val<BTreeSet<String>>,
    #[serde(default)]
    pub package_regex: Val<String>,
    #[serde(default)]
    pub keep_last: Val<i64>,
    #[serde(default)]
    pub keep_tags: Val<Vec<String>>,
    #[serde(default)]
    pub keep_newer_than: Val<String>,
    #[serde(default)]
    pub protect_in_use: Val<BTreeSet<String>>,
    #[serde(default)]
    pub delete_latest: Val<bool>,
    #[serde(default)]
    pub dry_run: Val<bool>,
    #[serde(default)]
    pub pending_deletions: Val<Vec<Pending>>,
    #[serde(default)]
    pub kept_count: Val<i64>,
}

impl State {
    /// The attributes that make the policy (everything but computed results).
    fn policy_fields(&self) -> impl PartialEq + '_ {
        (
            (&self.owner, &self.package_type, &self.packages),
            (&self.package_regex, &self.keep_last, &self.keep_tags),
            (&self.keep_newer_than, &self.protect_in_use),
            (&self.delete_latest, &self.dry_run),
        )
    }
    fn dry_run(&self) -> bool {
        self.dry_run.known().copied().unwrap_or(false)
    }
}

const PRIVATE_APPROVED: &str = "approved";

pub struct PackageRetention {
    data: ProviderData,
}

impl PackageRetention {
    pub fn new(data: ProviderData) -> Self {
        PackageRetention { data }
    }

    async fn clients(&self, diags: &mut Diagnostics) -> Option<Arc<Retention>> {
        self.data.retention(diags).await
    }

    /// Evaluate the policy of `s` now: (pending deletions in order, kept count).
    async fn evaluate(
        &self,
        c: &Retention,
        s: &State,
        diags: &mut Diagnostics,
    ) -> Option<(Vec<Pending>, i64)> {
        let policy = match policy_of(s) {
            Ok(Some(p)) => p,
            Ok(None) => return None,
            Err((path, msg)) => {
                diags.error_at(path, "Invalid retention policy", msg);
                return None;
            }
        };
        let owner = s.owner.known()?.clone();
        let ty = s
            .package_type
            .known()
            .cloned()
            .unwrap_or("container".into());
        let res = c.evaluate(&owner, &ty, &policy).await;
        match res {
            Ok(ev) => {
                let pending = ev
                    .plan
                    .deletions
                    .iter()
                    .map(|d| Pending {
                        package: d.package.clone(),
                        version: d.version.clone(),
                        reason: d.reason.clone(),
                    })
                    .collect();
                Some((pending, ev.plan.kept.len() as i64))
            }
            Err(e) => {
                diags.error(
                    format!("Could not evaluate the retention policy for {owner}/{ty}"),
                    e.to_string(),
                );
                None
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
        let (Some(owner), Some(ty)) = (s.owner.known(), s.package_type.known()) else {
            return;
        };
        match c.forgejo.owner_exists(owner).await {
            Ok(true) => {}
            Ok(false) => {
                diags.error_at(
                    AttrPath::root("owner"),
                    format!("Owner {owner} does not exist"),
                    format!("The forge has no user or organization named {owner:?}."),
                );
                return;
            }
            Err(e) => diags.error_at(
                AttrPath::root("owner"),
                format!("Could not look up owner {owner}"),
                e.to_string(),
            ),
        }
        if deleting {
            if let Err(e) = c.forgejo.can_delete_packages(owner, ty).await {
                diags.error(
                    format!("The forgejo token cannot delete packages of {owner}"),
                    format!(
                        "Retention would delete versions, but deleting needs a token with the write:package scope \
                         (or set dry_run = true to only report). The forge answered: {e}"
                    ),
                );
            }
        }
    }

    /// Carry out `approved` (from the plan) in the order of a fresh evaluation.
    async fn apply_policy(
        &self,
        planned: &State,
        approved: &[Pending],
        diags: &mut Diagnostics,
    ) -> Option<State> {
        let c = self.clients(diags).await?;
        let owner = planned.owner.known()?.clone();
        let ty = planned
            .package_type
            .known()
            .cloned()
            .unwrap_or("container".into());
        let mut state = planned.clone();
        state.id = Val::Known(format!("{owner}/{ty}"));
        if !approved.is_empty() && !planned.dry_run() {
            let policy = match policy_of(planned) {
                Ok(Some(p)) => p,
                _ => return None,
            };
            let want: BTreeSet<(String, String)> = approved
                .iter()
                .map(|p| (p.package.clone(), p.version.clone()))
                .collect();
            let res = c.carry_out(&owner, &ty, &policy, &want).await;
            let done = match res {
                Ok(done) => done,
                Err(e) => {
                    diags.error(
                        format!("Could not apply the retention policy for {owner}/{ty}"),
                        e.to_string(),
                    );
                    return None;
                }
            };
            if let Some((which, e)) = &done.failed {
                diags.error(
                    format!("Could not delete {which} of {owner}"),
                    format!(
                        "{e}. {} version(s) were deleted before it; nothing after it was tried.{}",
                        done.deleted.len(),
                        if e.is_forbidden() {
                            " Deleting needs a token with the write:package scope."
                        } else {
                            ""
                        }
                    ),
                );
            }
            if !done.skipped.is_empty() {
                diags.warning(
                    "Some planned deletions were skipped",
                    format!(
                        "The registry changed after the plan; these versions are no longer deletable \
                         (gone, or needed by a newer push) and were kept: {}",
                        done.skipped.join(", ")
                    ),
                );
            }
            if !done.still_listed.is_empty() {
                diags.error(
                    "Deleted versions are still listed",
                    format!(
                        "The forge answered 204 but still lists: {}",
                        done.still_listed.join(", ")
                    ),
                );
            }
        }
        let (pending, kept) = self.evaluate(&c, planned, diags).await?;
        state.kept_count = Val::Known(kept);
        if diags.has_errors() {
            // State true to what happened: what is still pending now.
            state.pending_deletions = Val::Known(pending);
            return Some(state);
        }
        match &planned.pending_deletions {
            // NOTE: the new state must equal the plan where the plan was known, or Terraform
            // reports an inconsistent result; what became deletable since shows next time.
            Val::Known(p) => {
                if p.is_empty() && !pending.is_empty() && !planned.dry_run() {
                    diags.warning(
                        format!("{} version(s) became deletable after the plan", pending.len()),
                        format!(
                            "Changes made after the plan pushed them out; they will show in the next plan: {}",
                            pending
                                .iter()
                                .map(|p| format!("{}:{}", p.package, p.version))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                state.pending_deletions = Val::Known(p.clone());
            }
            _ => state.pending_deletions = Val::Known(pending),
        }
        Some(state)
    }
}

/// The engine's policy from the configuration; `Ok(None)` while a value is unknown.
pub fn policy_of(s: &State) -> Result<Option<Policy>, (AttrPath, String)> {
    let fields_known = !(s.packages.is_unknown()
        || s.package_regex.is_unknown()
        || s.keep_last.is_unknown()
        || s.keep_tags.is_unknown()
        || s.keep_newer_than.is_unknown()
        || s.protect_in_use.is_unknown()
        || s.delete_latest.is_unknown()
        || s.dry_run.is_unknown());
    let names: Vec<String> = s
        .packages
        .known()
        .map(|p| p.iter().cloned().collect())
        .unwrap_or_default();
    if s.packages.is_known() && names.is_empty() {
        return Err((
            AttrPath::root("packages"),
            "packages must name at least one package (leave it unset for all packages)".into(),
        ));
    }
    let packages =
        retention::parse_package_filter(&names, s.package_regex.known().map(String::as_str))
            .map_err(policy_error)?;
    let keep_tags =
        retention::parse_keep_tags(s.keep_tags.known().map(Vec::as_slice).unwrap_or(&[]))
            .map_err(policy_error)?;
    let keep_last = match s.keep_last.known() {
        Some(n) if *n < 0 => {
            return Err((
                AttrPath::root("keep_last"),
                format!("keep_last must be 0 or more, got {n}"),
            ))
        }
        Some(n) => u32::try_from(*n).unwrap_or(u32::MAX),
        None => 0,
    };
    let keep_newer_than = match s.keep_newer_than.known() {
        Some(d) => Some(retention::policy::parse_keep_newer_than(d).map_err(policy_error)?),
        None => None,
    };
    if let Val::Known(t) = &s.package_type {
        if !PACKAGE_TYPES.contains(&t.as_str()) {
            return Err((
                AttrPath::root("type"),
                format!(
                    "unknown package type {t:?}; the forge knows: {}",
                    PACKAGE_TYPES.join(", ")
                ),
            ));
        }
    }
    if !fields_known {
        return Ok(None);
    }
    Ok(Some(Policy {
        packages,
        keep_last,
        keep_tags,
        keep_newer_than,
        protect_in_use: s.protect_in_use.known().cloned().unwrap_or_default(),
        delete_latest: s.delete_latest.known().copied().unwrap_or(false),
        dry_run: s.dry_run(),
    }))
}

/// The attribute path a policy error names (list elements by index; `packages` is a set, whose
/// elements have no index in Terraform's paths).
fn policy_error(e: retention::PolicyError) -> (AttrPath, String) {
    let mut at = AttrPath::root(e.field);
    if let (Some(i), "keep_tags") = (e.index, e.field) {
        at = at.index(i as i64);
    }
    (at, e.message)
}

fn pending_type() -> Type {
    Type::list(Type::object([
        ("package", Type::String),
        ("version", Type::String),
        ("reason", Type::String),
    ]))
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
            Block::new(
                "Retention policy for the packages of one Forgejo (or Gitea) owner. The provider lists the \
                 owner's package versions, reads the manifest of every tag and untagged manifest, and deletes \
                 what the policy does not keep, never a child manifest that a kept multi-arch index still \
                 references (which would break pulls). `pending_deletions` shows what the policy would delete \
                 now, so a scheduled `terraform plan` shows retention as an update; `apply` deletes those versions \
                 through the packages API, tags first, then untagged manifests. Versions that became deletable \
                 after the plan are left for the next run. `latest` is kept unless `delete_latest` is set.\n\n\
                 Deleting needs a token with the `write:package` scope (checked at plan time); `dry_run` only needs \
                 `read:package`. Destroying the resource removes only the policy from state; nothing is deleted.",
            )
            .attr(Attribute::string("owner").required().force_new().describe("User or organization owning the packages. Changing it replaces the policy."))
            .attr(
                Attribute::string("type")
                    .optional()
                    .computed()
                    .force_new()
                    .default_value(Value::string("container"))
                    .describe(
                        "Package type (default `container`). Digest-aware rules (index children, shared digests, \
                         `protect_in_use` by digest) apply to `container`. Other types the packages API lists (`generic`, \
                         `npm`, `maven`, ...) are supported with versions treated as independent: `keep_last`, `keep_tags` \
                         (on version names), `keep_newer_than` and `protect_in_use` (`package:version`) apply.",
                    ),
            )
            .attr(Attribute::new("packages", Type::set(Type::String)).optional().describe("Package names the policy applies to (case-insensitive). Conflicts with `package_regex`; with neither, every package of the owner and type."))
            .attr(Attribute::string("package_regex").optional().describe("Regex that must match the whole package name. Conflicts with `packages`."))
            .attr(Attribute::number("keep_last").optional().describe("Keep the newest N tags of each package (0 or more; untagged manifests do not count). Default 0."))
            .attr(Attribute::new("keep_tags", Type::list(Type::String)).optional().describe("Keep tags fully matching any of these regexes, e.g. `v\\\\d+\\\\.\\\\d+\\\\.\\\\d+`."))
            .attr(Attribute::string("keep_newer_than").optional().describe(format!("Keep versions not older than this: {}.", crate::util::duration::DOC)))
            .attr(Attribute::new("protect_in_use", Type::set(Type::String)).optional().describe("Image references in use, kept whatever the other rules say: `owner/name:tag`, `name@sha256:...`, `host/owner/name:tag@sha256:...` (for example the images of `cicd_image_deployment`)."))
            .attr(Attribute::bool("delete_latest").optional().computed().default_value(Value::bool(false)).describe("Also delete `latest` when no rule keeps it. Default false."))
            .attr(Attribute::bool("dry_run").optional().computed().default_value(Value::bool(false)).describe("Only report: nothing is deleted and the plan shows no change; `pending_deletions` still lists what would go."))
            .attr(Attribute::string("id").computed().keep_prior().describe("`owner/type`."))
            .attr(Attribute::new("pending_deletions", pending_type()).computed().describe("Versions the policy would delete now, in deletion order, each with the reason."))
            .attr(Attribute::number("kept_count").computed().describe("Number of versions of the selected packages the policy keeps.")),
        )
    }

    async fn validate(&self, _cx: &Ctx, c: &State, diags: &mut Diagnostics) {
        if let Err((path, msg)) = policy_of(c) {
            diags.error_at(path, "Invalid retention policy", msg);
        }
        if let Val::Known(o) = &c.owner {
            if o.trim().is_empty() || o.contains('/') {
                diags.error_at(
                    AttrPath::root("owner"),
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
        let Some(c) = self.clients(diags).await else {
            return;
        };
        let st = &mut plan.state;
        if let (Val::Known(o), Val::Known(t)) = (&st.owner, &st.package_type) {
            st.id = Val::Known(format!("{o}/{t}"));
        }
        let unchanged = req
            .prior
            .as_ref()
            .is_some_and(|p| p.policy_fields() == st.policy_fields());
        let approved: Vec<Pending> = if unchanged {
            // The refreshed state says what the policy would delete now.
            let prior = req.prior.as_ref().expect("unchanged implies prior");
            let pending = prior.pending_deletions.known().cloned().unwrap_or_default();
            if pending.is_empty() || prior.dry_run() {
                return;
            }
            st.pending_deletions = Val::Known(vec![]);
            st.kept_count = Val::Unknown;
            pending
        } else {
            match policy_of(st) {
                Ok(Some(_)) if st.owner.is_known() && st.package_type.is_known() => {}
                _ => {
                    st.pending_deletions = Val::Unknown;
                    st.kept_count = Val::Unknown;
                    return;
                }
            }
            self.check_remote(&c, st, false, diags).await;
            st.kept_count = Val::Unknown;
            if diags.has_errors() || st.dry_run() {
                st.pending_deletions = Val::Unknown;
                return;
            }
            let Some((pending, _)) = self.evaluate(&c, st, diags).await else {
                return;
            };
            st.pending_deletions = Val::Known(vec![]);
            if !pending.is_empty() {
                diags.warning(
                    format!("Retention will delete {} version(s)", pending.len()),
                    pending
                        .iter()
                        .map(|p| format!("{}:{} ({})", p.package, p.version, p.reason))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            pending
        };
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
        let c = self.clients(diags).await?;
        let owner = state.owner.known()?.clone();
        match c.forgejo.owner_exists(&owner).await {
            Ok(true) => {}
            Ok(false) => return Some(Read::Gone),
            Err(e) => {
                diags.error(format!("Could not look up owner {owner}"), e.to_string());
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
        let parts: Vec<&str> = id.split('/').collect();
        let ok = parts.len() == 2
            && parts.iter().all(|p| !p.is_empty())
            && PACKAGE_TYPES.contains(&parts[1]);
        if !ok {
            diags.error(
                "Invalid import id",
                format!("Expected owner/type (e.g. viktor/container), got: {id}"),
            );
            return None;
        }
        Some(State {
            id: Val::Known(id.to_string()),
            owner: Val::Known(parts[0].to_string()),
            package_type: Val::Known(parts[1].to_string()),
            delete_latest: Val::Known(false),
            dry_run: Val::Known(false),
            pending_deletions: Val::Known(vec![]),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> State {
        State {
            owner: Val::Known("viktor".into()),
            package_type: Val::Known("container".into()),
            ..Default::default()
        }
    }

    #[test]
    fn bad_policies_name_the_attribute() {
        let cases: Vec<(State, &str)> = vec![
            (
                State {
                    keep_last: Val::Known(-1),
                    ..cfg()
                },
                "keep_last",
            ),
            (
                State {
                    keep_tags: Val::Known(vec!["v(".into()]),
                    ..cfg()
                },
                "keep_tags",
            ),
            (
                State {
                    package_regex: Val::Known("a[".into()),
                    ..cfg()
                },
                "package_regex",
            ),
            (
                State {
                    keep_newer_than: Val::Known("30 days".into()),
                    ..cfg()
                },
                "keep_newer_than",
            ),
            (
                State {
                    package_type: Val::Known("oci".into()),
                    ..cfg()
                },
                "type",
            ),
            (
                State {
                    packages: Val::Known(["a".to_string()].into()),
                    package_regex: Val::Known("b".into()),
                    ..cfg()
                },
                "packages",
            ),
        ];
        for (s, attr) in cases {
            let (path, _) = policy_of(&s)
                .err()
                .unwrap_or_else(|| panic!("{attr} accepted"));
            // A bad keep_tags pattern is named by its index in the list.
            let want = match attr {
                "keep_tags" => AttrPath::root(attr).index(0),
                _ => AttrPath::root(attr),
            };
            assert_eq!(path, want);
        }
    }

    #[test]
    fn good_policy_converts_and_unknowns_wait() {
        let s = State {
            keep_last: Val::Known(3),
            keep_tags: Val::Known(vec!["v\\d+".into()]),
            keep_newer_than: Val::Known("30d".into()),
            ..cfg()
        };
        let p = policy_of(&s).unwrap().unwrap();
        assert_eq!(p.keep_last, 3);
        assert_eq!(p.keep_newer_than, Some(30 * 86_400));
        let s = State {
            protect_in_use: Val::Unknown,
            ..s
        };
        assert!(policy_of(&s).unwrap().is_none());
    }

    #[test]
    fn import_ids_are_checked() {
        let r = PackageRetention::new(ProviderData::default());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut d = Diagnostics::new();
        assert!(rt
            .block_on(r.import(&Ctx::default(), "viktor", &mut d))
            .is_none());
        assert!(d.has_errors());
        let mut d = Diagnostics::new();
        let s = rt
            .block_on(r.import(&Ctx::default(), "viktor/container", &mut d))
            .unwrap();
        assert_eq!(s.owner, Val::Known("viktor".into()));
    }
}
