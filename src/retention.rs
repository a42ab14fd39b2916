//! Retention policy engine for container images in a Forgejo package registry.
//!
//! This module is pure: no I/O, no clock, no async. A caller lists the package
//! versions of one owner, fetches the manifest of every digest it can, and asks
//! [`plan`] which versions may be deleted and in which order. The engine
//! answers with a [`RetentionPlan`]; every version of a selected package ends up
//! exactly once in either `deletions` or `kept`, each with a human reason.
//!
//! # Background: what a deletion can break
//!
//! Forgejo lists one entry per package VERSION. A container version is either a
//! tag (`a1b2c3d4`, `latest`, `v1.2.0`) or an untagged manifest named
//! `sha256:<hex>` (typically a child of a multi-arch index). Forgejo resolves an
//! index's child by digest among ALL versions of the same image, tag versions
//! included, and only accepts image manifests (never nested indexes) as
//! children. Deleting a child that a kept index still references leaves that
//! index broken (pulls fail with ErrImagePull). Deleting through the registry
//! by digest (`DELETE manifests/sha256:X`) removes every version with digest X,
//! tags included. Several tags may share one digest.
//!
//! Every [`Deletion`] is therefore meant to be carried out through the packages
//! API, one version at a time (`DELETE .../{package}/{version}`), never through
//! a registry digest reference.
//!
//! # Rules
//!
//! 1. **Selection.** Only packages matched by [`Policy::packages`] are touched;
//!    versions of other packages appear in neither list. Names compare
//!    case-insensitively (Forgejo stores container names in lower case); a
//!    regex must match the whole name.
//! 2. **Tags.** Tags of a package are ordered newest first by `created_at`
//!    (tie: higher `version_id` first). A tag is kept when any of these holds:
//!    it is among the newest `keep_last` tags of its package (`sha256:`
//!    versions never count); it fully matches a `keep_tags` regex; it is not
//!    older than `keep_newer_than`; it is named by `protect_in_use` (by tag, or
//!    by its digest); it is `latest` and `delete_latest` is false. Otherwise
//!    it is a deletion candidate. "Older than D" means `now - created_at > D`;
//!    a version exactly D old, or dated in the future, is kept.
//! 3. **Digests shared by tags.** A candidate tag whose digest is also held by
//!    a kept tag is still deleted, by version only (its reason says so). An
//!    untagged `sha256:` version whose digest is held by a kept tag is always
//!    kept: it must never look like a way to remove that digest.
//! 4. **Untagged children.** The digests that must survive are the closure of
//!    the kept roots (kept tags, kept untagged versions, digests in
//!    `protect_in_use`) through the manifests' `children`. An untagged version
//!    in that closure is kept ("referenced by kept index ..."). Any other
//!    untagged version is deleted when it is referenced by an index being
//!    deleted, or referenced by nothing (dangling; but see rule 5). A
//!    candidate TAG that holds a digest of the closure is kept too when no
//!    kept version holds that digest, since Forgejo would otherwise lose the
//!    last copy of a child still referenced by a kept index (an index built
//!    with `docker manifest create` from per-arch tags has such children).
//! 5. **Unreferenced untagged versions** (referenced by no manifest of any
//!    version in the package: a dangling child, or an untagged index that
//!    nothing points at). When `keep_newer_than` is set, such a version is
//!    removed only when older than it; younger ones are kept, as roots (so an
//!    untagged index kept this way keeps its children). The age guard covers
//!    dangling children as well as untagged indexes: a multi-arch push uploads
//!    its children before the index, so young dangling children may belong to
//!    a push in progress. Without `keep_newer_than` they are removed. An
//!    untagged version referenced only by deleted indexes is removed whatever
//!    its age.
//! 6. **Safe order.** Tag deletions come first, then untagged ones. Within a
//!    group a deleted version comes after every deleted version whose manifest
//!    references its digest (parents before children), then oldest first
//!    (`created_at`, then `version_id`, package, version). So no still-tagged
//!    index ever points at a child that is already gone. The output is
//!    deterministic: it does not depend on the input order.
//! 7. **Unknown manifests.** When a kept root has no known digest, or its
//!    manifest (or the manifest of a digest reached from it that a version of
//!    the package holds) is missing from `manifests`, nothing can prove that a
//!    version of that package is unreferenced: every version of the package is
//!    kept (the whole package is frozen, tags included, since tag versions can
//!    hold children too) and the reasons name the unknown manifest. A needed
//!    digest that no version with a known digest holds makes candidate tags
//!    with an unknown digest kept (one of them may be the holder), which in
//!    turn freezes the package. Manifests of deleted versions are not needed:
//!    their children are removable whether they reference them or not. A
//!    digest held by no version of the package and absent from `manifests`
//!    is treated as a leaf.
//!
//! Digests and tags are compared in lower case. For an untagged version the
//! digest is its version name; its `digest` field is ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use regex::Regex;

/// Name of the tag that is kept unless [`Policy::delete_latest`] is set.
pub const LATEST_TAG: &str = "latest";

const DIGEST_PREFIX: &str = "sha256:";

/// One package version as listed by the Forgejo packages API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub package: String,
    /// A tag, or `sha256:<hex>` for an untagged manifest.
    pub version: String,
    pub version_id: i64,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Manifest digest of this version, when known.
    pub digest: Option<String>,
}

impl Version {
    /// True for an untagged manifest version (`sha256:<hex>`).
    pub fn is_untagged(&self) -> bool {
        is_digest(&self.version)
    }
}

/// A manifest, keyed by its digest in the map given to [`plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    /// Digests referenced by an index; empty for an image manifest.
    pub children: Vec<String>,
}

/// Which packages a policy applies to.
#[derive(Debug, Clone)]
pub enum PackageFilter {
    All,
    /// Exact names, compared case-insensitively.
    Names(BTreeSet<String>),
    /// Must match the whole package name.
    Regex(Regex),
}

impl PackageFilter {
    /// Whether the filter selects `package` (compiles the anchored regex on
    /// each call; [`plan`] compiles it once).
    pub fn matches(&self, package: &str) -> bool {
        CompiledFilter::new(self).matches(package)
    }
}

/// [`PackageFilter`] with its regex anchored once.
enum CompiledFilter {
    All,
    Names(BTreeSet<String>),
    Regex(FullMatch),
}

impl CompiledFilter {
    fn new(filter: &PackageFilter) -> Self {
        match filter {
            PackageFilter::All => CompiledFilter::All,
            PackageFilter::Names(names) => {
                CompiledFilter::Names(names.iter().map(|n| n.to_ascii_lowercase()).collect())
            }
            PackageFilter::Regex(re) => CompiledFilter::Regex(FullMatch::new(re)),
        }
    }

    fn matches(&self, package: &str) -> bool {
        match self {
            CompiledFilter::All => true,
            CompiledFilter::Names(names) => names.contains(&package.to_ascii_lowercase()),
            CompiledFilter::Regex(re) => re.matches_strict(package),
        }
    }
}

/// What to keep. See the module documentation for the rules.
#[derive(Debug, Clone)]
pub struct Policy {
    pub packages: PackageFilter,
    /// Newest N tags kept per package; untagged versions never count.
    pub keep_last: u32,
    /// Tags fully matching any of these are kept.
    pub keep_tags: Vec<Regex>,
    /// Versions not older than this many seconds are kept.
    pub keep_newer_than: Option<u64>,
    /// References in use: `package:tag`, `package@sha256:...` or
    /// `package:tag@sha256:...`. A bare `package` means `package:latest`. A
    /// package part with a registry/owner prefix (`host/owner/package`) also
    /// matches `package`.
    pub protect_in_use: BTreeSet<String>,
    /// `latest` is kept unless this is true.
    pub delete_latest: bool,
    /// Ignored by the engine; carried for callers.
    pub dry_run: bool,
}

/// The outcome of [`plan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPlan {
    /// In the order they must be carried out.
    pub deletions: Vec<Deletion>,
    /// Sorted by package, tags before untagged versions, newest first.
    pub kept: Vec<Kept>,
}

/// A version to delete through the packages API, by package and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub package: String,
    pub version: String,
    pub version_id: i64,
    /// Manifest digest of the version, when known (informational only: never
    /// delete through it).
    pub digest: Option<String>,
    pub reason: String,
}

/// A version the plan keeps, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub package: String,
    pub version: String,
    pub version_id: i64,
    pub digest: Option<String>,
    pub reason: String,
}

/// Parses a duration such as `30d`, `12h`, `90m`, `2w` or `1d12h` into seconds.
///
/// Accepted: one or more `<number><unit>` parts, units `w`, `d`, `h`, `m`, `s`,
/// each at most once and largest first, without spaces inside.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    const UNITS: [(char, u64); 5] = [
        ('w', 7 * 86_400),
        ('d', 86_400),
        ('h', 3_600),
        ('m', 60),
        ('s', 1),
    ];
    let err = |why: &str| {
        format!(
            "invalid duration {s:?}: {why}; expected one or more <number><unit> parts with \
             units w (weeks), d (days), h (hours), m (minutes), s (seconds), largest unit \
             first, e.g. \"30d\", \"12h\", \"90m\", \"2w\", \"1d12h\""
        )
    };
    let text = s.trim();
    if text.is_empty() {
        return Err(err("it is empty"));
    }
    let mut total: u64 = 0;
    // Index into UNITS of the next unit allowed (units go largest first).
    let mut next_unit = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == c) else {
            return Err(err(&format!("unexpected character {c:?}")));
        };
        if number.is_empty() {
            return Err(err(&format!("unit {c:?} has no number before it")));
        }
        if pos < next_unit {
            return Err(err(&format!("unit {c:?} is repeated or out of order")));
        }
        let n: u64 = number.parse().map_err(|_| err("number too large"))?;
        total = n
            .checked_mul(UNITS[pos].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| err("duration too large"))?;
        number.clear();
        next_unit = pos + 1;
    }
    if !number.is_empty() {
        return Err(err(&format!("number {number} has no unit")));
    }
    Ok(total)
}

/// Formats seconds the way [`parse_duration`] reads them, in d/h/m/s
/// (`2592000` -> `30d`, `129600` -> `1d12h`, `0` -> `0s`).
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)] {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(unit);
        }
    }
    out
}

/// Builds a [`PackageFilter`] from a list of names or one regex (not both).
/// Neither means every package.
pub fn parse_package_filter<S: AsRef<str>>(
    names: &[S],
    regex: Option<&str>,
) -> Result<PackageFilter, String> {
    match (names.is_empty(), regex) {
        (false, Some(_)) => Err("give package names or a package regex, not both".to_string()),
        (true, None) => Ok(PackageFilter::All),
        (true, Some(pattern)) => Regex::new(pattern)
            .map(PackageFilter::Regex)
            .map_err(|e| format!("invalid package regex {pattern:?}: {e}")),
        (false, None) => {
            let mut set = BTreeSet::new();
            for name in names {
                let name = name.as_ref().trim();
                if name.is_empty() {
                    return Err("package names must not be empty".to_string());
                }
                set.insert(name.to_ascii_lowercase());
            }
            Ok(PackageFilter::Names(set))
        }
    }
}

/// Compiles `keep_tags` patterns, naming the one that fails.
pub fn parse_keep_tags<S: AsRef<str>>(patterns: &[S]) -> Result<Vec<Regex>, String> {
    patterns
        .iter()
        .map(|p| {
            let p = p.as_ref();
            Regex::new(p).map_err(|e| format!("invalid keep_tags pattern {p:?}: {e}"))
        })
        .collect()
}

/// Computes the retention plan. See the module documentation for the rules.
pub fn plan(
    policy: &Policy,
    versions: &[Version],
    manifests: &BTreeMap<String, Manifest>,
    now: i64,
) -> RetentionPlan {
    let ctx = Ctx::new(policy, manifests, now);

    let filter = CompiledFilter::new(&policy.packages);
    let mut by_package: BTreeMap<&str, Vec<&Version>> = BTreeMap::new();
    for v in versions {
        if filter.matches(&v.package) {
            by_package.entry(v.package.as_str()).or_default().push(v);
        }
    }

    let mut deletions: Vec<(SortKey, Deletion)> = Vec::new();
    let mut kept: Vec<(KeptKey, Kept)> = Vec::new();
    for (package, mut vs) in by_package {
        // Input order must not matter.
        vs.sort_by(|a, b| {
            (a.version_id, &a.version, a.created_at).cmp(&(b.version_id, &b.version, b.created_at))
        });
        let (d, k) = PackagePlanner::new(&ctx, package, vs).run();
        deletions.extend(d);
        kept.extend(k);
    }
    deletions.sort_by(|a, b| a.0.cmp(&b.0));
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    RetentionPlan {
        deletions: deletions.into_iter().map(|(_, d)| d).collect(),
        kept: kept.into_iter().map(|(_, k)| k).collect(),
    }
}

// ---------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------

fn is_digest(s: &str) -> bool {
    s.len() > DIGEST_PREFIX.len() && s[..DIGEST_PREFIX.len()].eq_ignore_ascii_case(DIGEST_PREFIX)
}

/// A regex matched against a whole string.
struct FullMatch {
    anchored: Option<Regex>,
    original: Regex,
}

impl FullMatch {
    fn new(re: &Regex) -> Self {
        let p = re.as_str();
        // The pattern compiled on its own, so its groups balance and wrapping
        // it keeps its meaning. The only way the wrap can fail is a verbose-mode
        // comment at its end eating the closing `)$`; a newline ends it.
        let anchored = Regex::new(&format!("^(?:{p})$"))
            .or_else(|_| Regex::new(&format!("^(?:{p}\n)$")))
            .ok();
        FullMatch {
            anchored,
            original: re.clone(),
        }
    }

    /// Full match; if no anchored form could be built, answers only when the
    /// leftmost match spans the string, which can miss (selects less).
    fn matches_strict(&self, s: &str) -> bool {
        match &self.anchored {
            Some(a) => a.is_match(s),
            None => self
                .original
                .find(s)
                .is_some_and(|m| m.start() == 0 && m.end() == s.len()),
        }
    }

    /// Full match; if no anchored form could be built, any match counts,
    /// which can only keep more.
    fn matches_lenient(&self, s: &str) -> bool {
        match &self.anchored {
            Some(a) => a.is_match(s),
            None => self.original.is_match(s),
        }
    }
}

/// One parsed `protect_in_use` entry.
struct ProtectRef {
    raw: String,
    package: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ProtectRef {
    fn parse(raw: &str) -> Option<Self> {
        let text = raw.trim().to_ascii_lowercase();
        if text.is_empty() {
            return None;
        }
        let (name, digest) = match text.split_once('@') {
            Some((n, d)) => (n.to_string(), Some(d.to_string())),
            None => (text.clone(), None),
        };
        // A ':' after the last '/' separates the tag (a ':' before it is a
        // registry port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (package, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (
                name[..last_slash + i].to_string(),
                Some(name[last_slash + i + 1..].to_string()),
            ),
            None => (name.clone(), None),
        };
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some(LATEST_TAG.to_string()),
            (None, Some(_)) => None,
        };
        Some(ProtectRef {
            raw: raw.trim().to_string(),
            package,
            tag,
            digest,
        })
    }

    fn applies_to(&self, package: &str) -> bool {
        let p = package.to_ascii_lowercase();
        self.package == p || self.package.ends_with(&format!("/{p}"))
    }
}

struct Ctx<'a> {
    policy: &'a Policy,
    manifests: BTreeMap<String, &'a Manifest>,
    now: i64,
    keep_tags: Vec<FullMatch>,
    protect: Vec<ProtectRef>,
}

impl<'a> Ctx<'a> {
    fn new(policy: &'a Policy, manifests: &'a BTreeMap<String, Manifest>, now: i64) -> Self {
        Ctx {
            policy,
            manifests: manifests
                .iter()
                .map(|(k, m)| (k.to_ascii_lowercase(), m))
                .collect(),
            now,
            keep_tags: policy.keep_tags.iter().map(FullMatch::new).collect(),
            protect: policy
                .protect_in_use
                .iter()
                .filter_map(|r| ProtectRef::parse(r))
                .collect(),
        }
    }

    /// True when `keep_newer_than` is set and the version is not older.
    fn is_young(&self, created_at: i64) -> bool {
        self.policy
            .keep_newer_than
            .is_some_and(|limit| i128::from(self.now) - i128::from(created_at) <= i128::from(limit))
    }

    fn children(&self, digest: &str) -> Option<Vec<String>> {
        self.manifests
            .get(digest)
            .map(|m| m.children.iter().map(|c| c.to_ascii_lowercase()).collect())
    }
}

/// Deletion order: group (tags 0, untagged 1), depth, age, identity.
type SortKey = (u8, usize, i64, i64, String, String);
/// Deletions and kept versions of one package, with their sort keys.
type PackageOutcome = (Vec<(SortKey, Deletion)>, Vec<(KeptKey, Kept)>);
/// Kept order: package, group, newest first, version.
type KeptKey = (
    String,
    u8,
    std::cmp::Reverse<i64>,
    std::cmp::Reverse<i64>,
    String,
);

#[derive(Clone, Copy)]
enum Depth {
    Unknown,
    Visiting,
    Known(usize),
}

/// Why a digest must survive.
#[derive(Clone)]
enum Need {
    /// Held by a kept version (label).
    Root(String),
    /// Referenced by a kept index (label of the kept root it was reached from).
    Child(String),
    /// Named by a protect_in_use reference.
    Protected(String),
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Root(l) => write!(f, "held by kept {l}"),
            Need::Child(l) => write!(f, "referenced by kept index {l}"),
            Need::Protected(r) => write!(f, "in use as {r}"),
        }
    }
}

struct PackagePlanner<'c, 'a> {
    ctx: &'c Ctx<'a>,
    package: &'a str,
    vs: Vec<&'a Version>,
    /// Lower-case digest held by each version, when known.
    held: Vec<Option<String>>,
    labels: Vec<String>,
    /// Non-empty = kept.
    reasons: Vec<Vec<String>>,
    /// Digest -> versions whose manifest references it.
    referrers: BTreeMap<String, Vec<usize>>,
    /// Digest -> versions holding it.
    holder_map: BTreeMap<String, Vec<usize>>,
    protected_digests: Vec<(String, String)>,
}

impl<'c, 'a> PackagePlanner<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>, package: &'a str, vs: Vec<&'a Version>) -> Self {
        let held: Vec<Option<String>> = vs
            .iter()
            .map(|v| {
                if v.is_untagged() {
                    Some(v.version.to_ascii_lowercase())
                } else {
                    v.digest.as_ref().map(|d| d.to_ascii_lowercase())
                }
            })
            .collect();
        let labels = vs
            .iter()
            .map(|v| {
                if v.is_untagged() {
                    format!("{}@{}", v.package, v.version)
                } else {
                    format!("{}:{}", v.package, v.version)
                }
            })
            .collect();
        let mut holder_map: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, d) in held.iter().enumerate() {
            if let Some(d) = d {
                holder_map.entry(d.clone()).or_default().push(i);
            }
        }
        let mut referrers: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, d) in held.iter().enumerate() {
            if let Some(children) = d.as_deref().and_then(|d| ctx.children(d)) {
                for c in children {
                    let list = referrers.entry(c).or_default();
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
        }
        let protected_digests = ctx
            .protect
            .iter()
            .filter(|p| p.applies_to(package))
            .filter_map(|p| p.digest.clone().map(|d| (d, p.raw.clone())))
            .collect();
        let n = vs.len();
        PackagePlanner {
            ctx,
            package,
            vs,
            held,
            labels,
            reasons: vec![Vec::new(); n],
            referrers,
            holder_map,
            protected_digests,
        }
    }

    fn kept(&self, i: usize) -> bool {
        !self.reasons[i].is_empty()
    }

    fn holders(&self, digest: &str) -> Vec<usize> {
        self.holder_map.get(digest).cloned().unwrap_or_default()
    }

    fn is_held(&self, digest: &str) -> bool {
        self.holder_map.contains_key(digest)
    }

    fn run(mut self) -> PackageOutcome {
        self.apply_tag_rules();
        self.apply_untagged_root_rules();
        self.close_over_kept_roots();
        self.finish()
    }

    /// Rule 2.
    fn apply_tag_rules(&mut self) {
        let policy = self.ctx.policy;
        let mut tags: Vec<usize> = (0..self.vs.len())
            .filter(|&i| !self.vs[i].is_untagged())
            .collect();
        tags.sort_by(|&a, &b| {
            let (va, vb) = (self.vs[a], self.vs[b]);
            (vb.created_at, vb.version_id).cmp(&(va.created_at, va.version_id))
        });
        for (rank, &i) in tags.iter().enumerate() {
            let v = self.vs[i];
            let tag = v.version.to_ascii_lowercase();
            let mut why = Vec::new();
            if (rank as u64) < u64::from(policy.keep_last) {
                why.push(format!(
                    "among the newest {} tags (#{})",
                    policy.keep_last,
                    rank + 1
                ));
            }
            for (re, src) in self.ctx.keep_tags.iter().zip(&policy.keep_tags) {
                if re.matches_lenient(&v.version) {
                    why.push(format!("matches keep_tags pattern `{}`", src.as_str()));
                    break;
                }
            }
            if self.ctx.is_young(v.created_at) {
                why.push(format!(
                    "newer than {}",
                    format_duration(policy.keep_newer_than.unwrap_or(0))
                ));
            }
            for p in self
                .ctx
                .protect
                .iter()
                .filter(|p| p.applies_to(self.package))
            {
                let by_tag = p.tag.as_deref() == Some(tag.as_str());
                let by_digest = p.digest.is_some() && p.digest == self.held[i];
                if by_tag || by_digest {
                    why.push(format!(
                        "in use as {} (by {})",
                        p.raw,
                        if by_tag { "tag" } else { "digest" }
                    ));
                }
            }
            if tag == LATEST_TAG && !policy.delete_latest {
                why.push("`latest` (delete_latest is false)".to_string());
            }
            self.reasons[i] = why;
        }
    }

    /// Protected and young unreferenced untagged versions (rules 4 and 5).
    fn apply_untagged_root_rules(&mut self) {
        for i in 0..self.vs.len() {
            if !self.vs[i].is_untagged() {
                continue;
            }
            let digest = self.held[i].clone().unwrap_or_default();
            for (d, raw) in &self.protected_digests {
                if *d == digest {
                    self.reasons[i].push(format!("in use as {raw}"));
                }
            }
            let unreferenced = !self.referrers.contains_key(&digest);
            if unreferenced && self.ctx.is_young(self.vs[i].created_at) {
                let what = match self.ctx.children(&digest) {
                    Some(c) if !c.is_empty() => "untagged index",
                    _ => "untagged manifest",
                };
                self.reasons[i].push(format!(
                    "{what} referenced by no index but newer than {} (may belong to a push in \
                     progress)",
                    format_duration(self.ctx.policy.keep_newer_than.unwrap_or(0))
                ));
            }
        }
    }

    /// Rules 3, 4 and 7: keep everything the kept roots need, until stable.
    fn close_over_kept_roots(&mut self) {
        loop {
            let needs = match self.needed_digests() {
                Ok(needs) => needs,
                Err(unknown) => {
                    self.freeze(&unknown);
                    return;
                }
            };
            let mut changed = false;
            for (digest, need) in &needs {
                let holders = self.holders(digest);
                // Untagged holders of a needed digest are always kept.
                for &h in &holders {
                    if self.vs[h].is_untagged() && !self.kept(h) {
                        let why = match need {
                            Need::Root(l) => format!(
                                "same digest as kept {l} (removing it by digest would take the \
                                 tag with it)"
                            ),
                            other => other.to_string(),
                        };
                        self.reasons[h].push(why);
                        changed = true;
                    }
                }
                if holders.iter().any(|&h| self.kept(h)) {
                    continue;
                }
                if !holders.is_empty() {
                    // Only candidate tags hold it: they are its last copies.
                    for &h in &holders {
                        self.reasons[h].push(format!(
                            "holds {digest}, {need}, and no kept version holds it"
                        ));
                    }
                    changed = true;
                    continue;
                }
                let unknown: Vec<usize> = (0..self.vs.len())
                    .filter(|&i| self.held[i].is_none() && !self.kept(i))
                    .collect();
                for &h in &unknown {
                    self.reasons[h].push(format!(
                        "digest unknown: it may be the only holder of {digest}, {need}"
                    ));
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// The digests that must keep a holder, or the description of a kept
    /// root whose references cannot be known.
    fn needed_digests(&self) -> Result<BTreeMap<String, Need>, String> {
        let mut needs: BTreeMap<String, Need> = BTreeMap::new();
        let mut queue: Vec<(String, String)> = Vec::new();
        // Tags first, so that reasons name a tag when one holds the index.
        let mut roots: Vec<usize> = (0..self.vs.len()).filter(|&i| self.kept(i)).collect();
        roots.sort_by_key(|&i| self.vs[i].is_untagged());
        for i in roots {
            let Some(d) = self.held[i].clone() else {
                return Err(format!("kept {} has no known digest", self.labels[i]));
            };
            if !self.ctx.manifests.contains_key(&d) {
                return Err(format!(
                    "the manifest {d} of kept {} is unknown",
                    self.labels[i]
                ));
            }
            needs
                .entry(d.clone())
                .or_insert_with(|| Need::Root(self.labels[i].clone()));
            queue.push((d, self.labels[i].clone()));
        }
        for (d, raw) in &self.protected_digests {
            if self.is_held(d) && !self.ctx.manifests.contains_key(d) {
                return Err(format!("the manifest {d} in use as {raw} is unknown"));
            }
            needs
                .entry(d.clone())
                .or_insert_with(|| Need::Protected(raw.clone()));
            queue.push((d.clone(), raw.clone()));
        }
        let mut seen: BTreeSet<String> = BTreeSet::new();
        while let Some((d, root)) = queue.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            let Some(children) = self.ctx.children(&d) else {
                continue;
            };
            for c in children {
                if self.is_held(&c) && !self.ctx.manifests.contains_key(&c) {
                    return Err(format!(
                        "the manifest {c}, referenced by kept index {root}, is unknown"
                    ));
                }
                needs
                    .entry(c.clone())
                    .or_insert_with(|| Need::Child(root.clone()));
                queue.push((c, root.clone()));
            }
        }
        Ok(needs)
    }

    fn freeze(&mut self, unknown: &str) {
        for i in 0..self.vs.len() {
            if !self.kept(i) {
                self.reasons[i].push(format!(
                    "package {} frozen: {unknown}, so no version of it can be proven \
                     unreferenced",
                    self.package
                ));
            }
        }
    }

    fn deletion_reason(&self, i: usize) -> String {
        let policy = self.ctx.policy;
        let v = self.vs[i];
        let digest = self.held[i].clone().unwrap_or_default();
        if v.is_untagged() {
            return match self.referrers.get(&digest) {
                Some(refs) => {
                    let names: Vec<&str> = refs.iter().map(|&r| self.labels[r].as_str()).collect();
                    format!(
                        "child of removed {}, referenced by no kept index",
                        names.join(", ")
                    )
                }
                None => {
                    let what = match self.ctx.children(&digest) {
                        Some(c) if !c.is_empty() => "untagged index referenced by nothing",
                        _ => "untagged manifest referenced by no index (dangling)",
                    };
                    match policy.keep_newer_than {
                        Some(t) => format!("{what}, older than {}", format_duration(t)),
                        None => what.to_string(),
                    }
                }
            };
        }
        let mut parts = Vec::new();
        if policy.keep_last == 0 {
            parts.push("keep_last is 0".to_string());
        } else {
            parts.push(format!("not among the newest {} tags", policy.keep_last));
        }
        if !policy.keep_tags.is_empty() {
            parts.push("matches no keep_tags pattern".to_string());
        }
        if let Some(t) = policy.keep_newer_than {
            parts.push(format!("older than {}", format_duration(t)));
        }
        if !policy.protect_in_use.is_empty() {
            parts.push("not in use".to_string());
        }
        if v.version.eq_ignore_ascii_case(LATEST_TAG) {
            parts.push("`latest` with delete_latest set".to_string());
        }
        if let Some(d) = &self.held[i] {
            let mut sharing: Vec<usize> = self
                .holders(d)
                .into_iter()
                .filter(|&h| self.kept(h))
                .collect();
            sharing.sort_by_key(|&h| self.vs[h].is_untagged());
            let sharing: Vec<&str> = sharing.iter().map(|&h| self.labels[h].as_str()).collect();
            if !sharing.is_empty() {
                parts.push(format!(
                    "shares its digest with kept {}: delete this version only, never by digest",
                    sharing.join(", ")
                ));
            }
        }
        parts.join(", ")
    }

    /// Depth of each deleted version below deleted parents that reference it.
    fn depths(&self) -> Vec<usize> {
        let n = self.vs.len();
        let mut memo: Vec<Depth> = vec![Depth::Unknown; n];
        (0..n).map(|i| self.depth_of(i, &mut memo)).collect()
    }

    fn depth_of(&self, i: usize, memo: &mut [Depth]) -> usize {
        match memo[i] {
            Depth::Known(d) => return d,
            // Content addressing rules cycles out; this only stops bad input.
            Depth::Visiting => return 0,
            Depth::Unknown => {}
        }
        memo[i] = Depth::Visiting;
        let parents: Vec<usize> = self.held[i]
            .as_ref()
            .and_then(|d| self.referrers.get(d))
            .map(|r| r.iter().copied().filter(|&p| !self.kept(p)).collect())
            .unwrap_or_default();
        let d = parents
            .into_iter()
            .map(|p| self.depth_of(p, memo) + 1)
            .max()
            .unwrap_or(0);
        memo[i] = Depth::Known(d);
        d
    }

    fn finish(self) -> PackageOutcome {
        let depths = self.depths();
        let mut deletions = Vec::new();
        let mut kept = Vec::new();
        for (i, &depth) in depths.iter().enumerate() {
            let v = self.vs[i];
            let group = u8::from(v.is_untagged());
            if self.kept(i) {
                kept.push((
                    (
                        v.package.clone(),
                        group,
                        std::cmp::Reverse(v.created_at),
                        std::cmp::Reverse(v.version_id),
                        v.version.clone(),
                    ),
                    Kept {
                        package: v.package.clone(),
                        version: v.version.clone(),
                        version_id: v.version_id,
                        digest: self.held[i].clone(),
                        reason: self.reasons[i].join("; "),
                    },
                ));
            } else {
                deletions.push((
                    (
                        group,
                        depth,
                        v.created_at,
                        v.version_id,
                        v.package.clone(),
                        v.version.clone(),
                    ),
                    Deletion {
                        package: v.package.clone(),
                        version: v.version.clone(),
                        version_id: v.version_id,
                        digest: self.held[i].clone(),
                        reason: self.deletion_reason(i),
                    },
                ));
            }
        }
        (deletions, kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_000 * DAY;

    fn dg(n: u32) -> String {
        format!("sha256:{n:064x}")
    }

    fn tag(pkg: &str, name: &str, id: i64, created: i64, digest: Option<&str>) -> Version {
        Version {
            package: pkg.to_string(),
            version: name.to_string(),
            version_id: id,
            created_at: created,
            digest: digest.map(str::to_string),
        }
    }

    fn untagged(pkg: &str, digest: &str, id: i64, created: i64) -> Version {
        Version {
            package: pkg.to_string(),
            version: digest.to_string(),
            version_id: id,
            created_at: created,
            digest: Some(digest.to_string()),
        }
    }

    fn manifests(items: &[(&str, &[&str])]) -> BTreeMap<String, Manifest> {
        items
            .iter()
            .map(|(d, children)| {
                let media_type = if children.is_empty() {
                    "application/vnd.oci.image.manifest.v1+json"
                } else {
                    "application/vnd.oci.image.index.v1+json"
                };
                (
                    d.to_string(),
                    Manifest {
                        digest: d.to_string(),
                        media_type: media_type.to_string(),
                        children: children.iter().map(|c| c.to_string()).collect(),
                    },
                )
            })
            .collect()
    }

    fn policy() -> Policy {
        Policy {
            packages: PackageFilter::All,
            keep_last: 0,
            keep_tags: Vec::new(),
            keep_newer_than: None,
            protect_in_use: BTreeSet::new(),
            delete_latest: false,
            dry_run: false,
        }
    }

    fn deleted(p: &RetentionPlan) -> Vec<String> {
        p.deletions
            .iter()
            .map(|d| format!("{}/{}", d.package, d.version))
            .collect()
    }

    fn kept_reason<'p>(p: &'p RetentionPlan, pkg: &str, version: &str) -> &'p str {
        p.kept
            .iter()
            .find(|k| k.package == pkg && k.version == version)
            .map(|k| k.reason.as_str())
            .unwrap_or_else(|| panic!("{pkg}/{version} not kept: {p:#?}"))
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    fn names(items: &[&str]) -> Vec<String> {
        sorted(items.iter().map(|s| s.to_string()).collect())
    }

    /// Table of cases checked on the set of deleted `package/version`s.
    struct Case {
        name: &'static str,
        policy: Policy,
        versions: Vec<Version>,
        manifests: BTreeMap<String, Manifest>,
        want_deleted: Vec<&'static str>,
    }

    fn single_arch(pkg: &str, tags: &[(&str, i64)]) -> (Vec<Version>, Vec<(String, Vec<String>)>) {
        let mut vs = Vec::new();
        let mut ms = Vec::new();
        for (i, (t, age_days)) in tags.iter().enumerate() {
            let d = dg(500 + i as u32);
            vs.push(tag(pkg, t, 10 + i as i64, NOW - age_days * DAY, Some(&d)));
            ms.push((d, Vec::new()));
        }
        (vs, ms)
    }

    fn owned_manifests(ms: &[(String, Vec<String>)]) -> BTreeMap<String, Manifest> {
        ms.iter()
            .map(|(d, c)| {
                (
                    d.clone(),
                    Manifest {
                        digest: d.clone(),
                        media_type: String::new(),
                        children: c.clone(),
                    },
                )
            })
            .collect()
    }

    fn tag_rule_cases() -> Vec<Case> {
        let (vs, ms) = single_arch(
            "app",
            &[
                ("latest", 50),
                ("v1.2.0", 40),
                ("v1.2.0-rc1", 39),
                ("xv1.2.0", 38),
                ("a1", 31),
                ("b2", 30),
                ("c3", 10),
            ],
        );
        let m = owned_manifests(&ms);
        let with = |f: &dyn Fn(&mut Policy)| {
            let mut p = policy();
            f(&mut p);
            p
        };
        vec![
            Case {
                name: "latest kept unless delete_latest",
                policy: policy(),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec![
                    "app/v1.2.0",
                    "app/v1.2.0-rc1",
                    "app/xv1.2.0",
                    "app/a1",
                    "app/b2",
                    "app/c3",
                ],
            },
            Case {
                name: "delete_latest removes latest too",
                policy: with(&|p| p.delete_latest = true),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec![
                    "app/latest",
                    "app/v1.2.0",
                    "app/v1.2.0-rc1",
                    "app/xv1.2.0",
                    "app/a1",
                    "app/b2",
                    "app/c3",
                ],
            },
            Case {
                name: "keep_last keeps the newest tags",
                policy: with(&|p| p.keep_last = 2),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec!["app/v1.2.0", "app/v1.2.0-rc1", "app/xv1.2.0", "app/a1"],
            },
            Case {
                name: "keep_tags is a full match",
                policy: with(&|p| p.keep_tags = vec![Regex::new(r"v\d+\.\d+\.\d+").unwrap()]),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec![
                    "app/v1.2.0-rc1",
                    "app/xv1.2.0",
                    "app/a1",
                    "app/b2",
                    "app/c3",
                ],
            },
            Case {
                name: "keep_tags alternation matches the whole tag",
                policy: with(&|p| p.keep_tags = vec![Regex::new(r"v1|v1\.2\.0").unwrap()]),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec![
                    "app/v1.2.0-rc1",
                    "app/xv1.2.0",
                    "app/a1",
                    "app/b2",
                    "app/c3",
                ],
            },
            Case {
                name: "keep_tags verbose pattern ending in a comment",
                policy: with(&|p| {
                    p.keep_tags = vec![Regex::new("(?x) [a-c] \\d  # letter-digit tags").unwrap()]
                }),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec!["app/v1.2.0", "app/v1.2.0-rc1", "app/xv1.2.0"],
            },
            Case {
                name: "keep_newer_than keeps versions not older than the limit",
                policy: with(&|p| p.keep_newer_than = Some(30 * 86_400)),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec!["app/v1.2.0", "app/v1.2.0-rc1", "app/xv1.2.0", "app/a1"],
            },
            Case {
                name: "protect_in_use by tag, by digest, bare name and prefixed name",
                policy: with(&|p| {
                    p.delete_latest = true;
                    p.protect_in_use = [
                        "app:a1".to_string(),
                        format!("app@{}", dg(502)),
                        "app".to_string(),
                        "myhost:5000/owner/app:c3".to_string(),
                        "other:b2".to_string(),
                    ]
                    .into_iter()
                    .collect();
                }),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec!["app/v1.2.0", "app/xv1.2.0", "app/b2"],
            },
        ]
    }

    fn filter_cases() -> Vec<Case> {
        let mut vs = Vec::new();
        let mut ms = Vec::new();
        for (i, pkg) in ["app", "apple", "web", "tools"].iter().enumerate() {
            let d = dg(700 + i as u32);
            vs.push(tag(pkg, "old", 100 + i as i64, NOW - 90 * DAY, Some(&d)));
            ms.push((d, Vec::new()));
        }
        let m = owned_manifests(&ms);
        let with_filter = |f: PackageFilter| Policy {
            packages: f,
            ..policy()
        };
        vec![
            Case {
                name: "all packages",
                policy: with_filter(PackageFilter::All),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec!["app/old", "apple/old", "web/old", "tools/old"],
            },
            Case {
                name: "names, case-insensitive",
                policy: with_filter(parse_package_filter(&["App", "web"], None).unwrap()),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec!["app/old", "web/old"],
            },
            Case {
                name: "regex must match the whole name",
                policy: with_filter(parse_package_filter::<&str>(&[], Some("ap+|tool")).unwrap()),
                versions: vs.clone(),
                manifests: m.clone(),
                want_deleted: vec!["app/old"],
            },
        ]
    }

    #[test]
    fn table_of_selection_and_tag_rules() {
        for case in tag_rule_cases().into_iter().chain(filter_cases()) {
            let p = plan(&case.policy, &case.versions, &case.manifests, NOW);
            assert_eq!(
                sorted(deleted(&p)),
                names(&case.want_deleted),
                "case {:?}: {p:#?}",
                case.name
            );
            let selected = case
                .versions
                .iter()
                .filter(|v| case.policy.packages.matches(&v.package))
                .count();
            assert_eq!(p.deletions.len() + p.kept.len(), selected, "{}", case.name);
        }
    }

    #[test]
    fn tag_deletion_reasons_are_readable() {
        let mut pol = policy();
        pol.keep_last = 5;
        pol.keep_newer_than = Some(30 * 86_400);
        let (vs, ms) = single_arch(
            "app",
            &[
                ("a1b2c3d4", 90),
                ("b", 5),
                ("c", 4),
                ("d", 3),
                ("e", 2),
                ("f", 1),
            ],
        );
        let p = plan(&pol, &vs, &owned_manifests(&ms), NOW);
        assert_eq!(deleted(&p), vec!["app/a1b2c3d4".to_string()]);
        assert_eq!(
            p.deletions[0].reason,
            "not among the newest 5 tags, older than 30d"
        );
    }

    #[test]
    fn never_deletes_a_manifest_referenced_by_a_kept_index() {
        let (i1, i2, c1, c2, c3) = (dg(1), dg(2), dg(11), dg(12), dg(13));
        let vs = vec![
            untagged("app", &c1, 1, 10),
            untagged("app", &c3, 2, 11),
            tag("app", "old", 3, 12, Some(&i1)),
            untagged("app", &c2, 4, 20),
            tag("app", "new", 5, 21, Some(&i2)),
        ];
        let ms = manifests(&[
            (&i1, &[&c1, &c3]),
            (&i2, &[&c1, &c2]),
            (&c1, &[]),
            (&c2, &[]),
            (&c3, &[]),
        ]);
        let mut pol = policy();
        pol.keep_last = 1;
        let p = plan(&pol, &vs, &ms, NOW);
        assert_eq!(
            deleted(&p),
            vec!["app/old".to_string(), format!("app/{c3}")]
        );
        assert!(kept_reason(&p, "app", &c1).contains("referenced by kept index app:new"));
        assert!(kept_reason(&p, "app", &c2).contains("referenced by kept index app:new"));
        assert_eq!(
            p.deletions[1].reason,
            "child of removed app:old, referenced by no kept index"
        );
    }

    #[test]
    fn removed_children_only_when_nothing_kept_references_them() {
        // Two indexes share child c1: one kept (protected), one removed.
        let (i1, i2, c1, c2, c3) = (dg(1), dg(2), dg(11), dg(12), dg(13));
        let vs = vec![
            untagged("app", &c1, 1, 10),
            untagged("app", &c2, 2, 10),
            untagged("app", &c3, 3, 10),
            tag("app", "blue", 4, 11, Some(&i1)),
            tag("app", "green", 5, 12, Some(&i2)),
        ];
        let ms = manifests(&[
            (&i1, &[&c1, &c2]),
            (&i2, &[&c1, &c3]),
            (&c1, &[]),
            (&c2, &[]),
            (&c3, &[]),
        ]);
        let cases: [(&str, Vec<String>); 2] = [
            ("app:blue", vec!["app/green".into(), format!("app/{c3}")]),
            ("app:green", vec!["app/blue".into(), format!("app/{c2}")]),
        ];
        for (protect, want) in cases {
            let mut pol = policy();
            pol.protect_in_use.insert(protect.to_string());
            let p = plan(&pol, &vs, &ms, NOW);
            assert_eq!(deleted(&p), want, "protect {protect}");
            assert!(kept_reason(&p, "app", &c1).contains(&format!("kept index {protect}")));
        }
    }

    #[test]
    fn never_deletes_through_a_digest_that_a_kept_tag_holds() {
        let x = dg(7);
        let vs = vec![
            untagged("app", &x, 1, 5),
            tag("app", "old", 2, 10, Some(&x)),
            tag("app", "new", 3, 20, Some(&x)),
        ];
        let ms = manifests(&[(&x, &[])]);
        let mut pol = policy();
        pol.keep_last = 1;
        let p = plan(&pol, &vs, &ms, NOW);
        assert_eq!(deleted(&p), vec!["app/old".to_string()]);
        assert_eq!(p.deletions[0].version_id, 2);
        assert!(p.deletions[0]
            .reason
            .contains("shares its digest with kept app:new"));
        assert!(kept_reason(&p, "app", &x).contains("same digest as kept app:new"));
    }

    #[test]
    fn keep_last_counts_tags_only() {
        // Three multi-arch pushes: children first, then the index.
        let mut vs = Vec::new();
        let mut ms = Vec::new();
        let mut id = 0;
        for push in 0..3u32 {
            let t0 = NOW - i64::from(10 - push) * DAY;
            let kids: Vec<String> = (0..4).map(|k| dg(100 + push * 10 + k)).collect();
            for k in &kids {
                id += 1;
                vs.push(untagged("app", k, id, t0));
                ms.push((k.clone(), Vec::new()));
            }
            id += 1;
            let idx = dg(push + 1);
            vs.push(tag("app", &format!("build{push}"), id, t0 + 1, Some(&idx)));
            ms.push((idx, kids));
        }
        let mut pol = policy();
        pol.keep_last = 2;
        let p = plan(&pol, &vs, &owned_manifests(&ms), NOW);
        let kept_tags: Vec<&str> = p
            .kept
            .iter()
            .filter(|k| !is_digest(&k.version))
            .map(|k| k.version.as_str())
            .collect();
        assert_eq!(kept_tags, vec!["build2", "build1"]);
        assert_eq!(p.deletions.len(), 5, "{p:#?}");
        assert_eq!(p.deletions[0].version, "build0");
        assert_eq!(p.kept.len(), 10);
    }

    #[test]
    fn safe_order_tags_first_then_children_oldest_first() {
        let (ia, ib, iw) = (dg(1), dg(2), dg(3));
        let (a1, a2, b1, w1, lone) = (dg(11), dg(12), dg(13), dg(14), dg(15));
        let vs = vec![
            untagged("app", &a1, 1, 100),
            untagged("app", &a2, 2, 100),
            tag("app", "a", 3, 101, Some(&ia)),
            untagged("app", &b1, 4, 50),
            tag("app", "b", 5, 51, Some(&ib)),
            untagged("web", &w1, 6, 70),
            tag("web", "w", 7, 71, Some(&iw)),
            untagged("web", &lone, 8, 10),
            tag("web", "single", 9, 60, Some(&w1)),
        ];
        let ms = manifests(&[
            (&ia, &[&a1, &a2]),
            (&ib, &[&b1]),
            (&iw, &[&w1]),
            (&a1, &[]),
            (&a2, &[]),
            (&b1, &[]),
            (&w1, &[]),
            (&lone, &[]),
        ]);
        let p = plan(&policy(), &vs, &ms, NOW);
        let want: Vec<String> = [
            "app/b".to_string(),
            "web/w".to_string(),
            "app/a".to_string(),
            // Holds w's child: after its parent even though it is older.
            "web/single".to_string(),
            format!("web/{lone}"),
            format!("app/{b1}"),
            format!("web/{w1}"),
            format!("app/{a1}"),
            format!("app/{a2}"),
        ]
        .into();
        assert_eq!(deleted(&p), want);
        // Deterministic whatever the input order.
        let mut rev = vs.clone();
        rev.reverse();
        assert_eq!(plan(&policy(), &rev, &ms, NOW), p);
    }

    #[test]
    fn untagged_index_parent_is_deleted_before_its_children() {
        let (idx, c1) = (dg(1), dg(11));
        let vs = vec![untagged("app", &c1, 1, 10), untagged("app", &idx, 2, 5)];
        let ms = manifests(&[(&idx, &[&c1]), (&c1, &[])]);
        let p = plan(&policy(), &vs, &ms, NOW);
        assert_eq!(deleted(&p), vec![format!("app/{idx}"), format!("app/{c1}")]);
        assert_eq!(
            p.deletions[0].reason,
            "untagged index referenced by nothing"
        );
    }

    #[test]
    fn unreferenced_untagged_versions_respect_keep_newer_than() {
        let (young_idx, young_kid, old_idx, old_kid, dangling_young, dangling_old) =
            (dg(1), dg(11), dg(2), dg(12), dg(13), dg(14));
        let vs = vec![
            untagged("app", &young_kid, 1, NOW - 2 * DAY),
            untagged("app", &young_idx, 2, NOW - DAY),
            untagged("app", &old_kid, 3, NOW - 60 * DAY),
            untagged("app", &old_idx, 4, NOW - 59 * DAY),
            untagged("app", &dangling_young, 5, NOW - DAY),
            untagged("app", &dangling_old, 6, NOW - 90 * DAY),
        ];
        let ms = manifests(&[
            (&young_idx, &[&young_kid]),
            (&old_idx, &[&old_kid]),
            (&young_kid, &[]),
            (&old_kid, &[]),
            (&dangling_young, &[]),
            (&dangling_old, &[]),
        ]);
        let mut pol = policy();
        pol.keep_newer_than = Some(7 * 86_400);
        let p = plan(&pol, &vs, &ms, NOW);
        assert_eq!(
            deleted(&p),
            vec![
                format!("app/{dangling_old}"),
                format!("app/{old_idx}"),
                format!("app/{old_kid}"),
            ]
        );
        assert!(kept_reason(&p, "app", &young_idx).contains("untagged index referenced by no"));
        assert!(kept_reason(&p, "app", &young_kid).contains("referenced by kept index"));
        assert!(kept_reason(&p, "app", &dangling_young).contains("newer than 7d"));
        // Without keep_newer_than every unreferenced untagged version goes.
        let p = plan(&policy(), &vs, &ms, NOW);
        assert_eq!(p.deletions.len(), 6);
    }

    #[test]
    fn a_tag_holding_the_last_copy_of_a_kept_child_is_kept() {
        // `docker manifest create` style: the index's children are tags.
        let (idx, amd, arm) = (dg(1), dg(11), dg(12));
        let mut vs = vec![
            tag("app", "v1-amd64", 1, 10, Some(&amd)),
            tag("app", "v1-arm64", 2, 11, Some(&arm)),
            tag("app", "v1", 3, 12, Some(&idx)),
        ];
        let ms = manifests(&[(&idx, &[&amd, &arm]), (&amd, &[]), (&arm, &[])]);
        let mut pol = policy();
        pol.protect_in_use.insert("app:v1".to_string());
        let p = plan(&pol, &vs, &ms, NOW);
        assert!(p.deletions.is_empty(), "{p:#?}");
        assert!(kept_reason(&p, "app", "v1-amd64").contains("referenced by kept index app:v1"));
        // With an untagged copy of amd64 present, that tag can go.
        vs.push(untagged("app", &amd, 4, 9));
        let p = plan(&pol, &vs, &ms, NOW);
        assert_eq!(deleted(&p), vec!["app/v1-amd64".to_string()]);
        // And when the index itself goes, the index goes before its children.
        pol.protect_in_use.clear();
        let p = plan(&pol, &vs, &ms, NOW);
        assert_eq!(
            deleted(&p),
            vec![
                "app/v1".to_string(),
                "app/v1-amd64".to_string(),
                "app/v1-arm64".to_string(),
                format!("app/{amd}"),
            ]
        );
    }

    #[test]
    fn unknown_manifests_freeze_the_package() {
        let (idx, c1, c2, other) = (dg(1), dg(11), dg(12), dg(20));
        let base = vec![
            untagged("app", &c1, 1, 10),
            untagged("app", &c2, 2, 10),
            tag("app", "old", 3, 11, Some(&c2)),
            untagged("web", &other, 4, 10),
        ];
        let known = manifests(&[(&idx, &[&c1]), (&c1, &[]), (&c2, &[]), (&other, &[])]);
        let mut pol = policy();
        pol.protect_in_use.insert("app:current".to_string());

        // Kept tag without a digest.
        let mut vs = base.clone();
        vs.push(tag("app", "current", 5, 20, None));
        let p = plan(&pol, &vs, &known, NOW);
        assert_eq!(deleted(&p), vec![format!("web/{other}")]);
        assert!(kept_reason(&p, "app", &c1).contains("kept app:current has no known digest"));
        assert!(kept_reason(&p, "app", "old").contains("frozen"));

        // Kept tag whose manifest is missing from the map.
        let mut vs = base.clone();
        vs.push(tag("app", "current", 5, 20, Some(&dg(99))));
        let p = plan(&pol, &vs, &known, NOW);
        assert_eq!(deleted(&p), vec![format!("web/{other}")]);
        assert!(kept_reason(&p, "app", &c2).contains("is unknown"));

        // Known manifest: normal planning resumes.
        let mut vs = base.clone();
        vs.push(tag("app", "current", 5, 20, Some(&idx)));
        let p = plan(&pol, &vs, &known, NOW);
        assert_eq!(
            deleted(&p),
            vec![
                "app/old".to_string(),
                format!("app/{c2}"),
                format!("web/{other}"),
            ]
        );

        // A deleted tag's unknown manifest does not matter.
        let mut vs = base.clone();
        vs.push(tag("app", "current", 5, 20, Some(&idx)));
        vs.push(tag("app", "older", 6, 5, None));
        let p = plan(&pol, &vs, &known, NOW);
        assert_eq!(p.deletions.len(), 4, "{p:#?}");
    }

    #[test]
    fn large_registry_is_planned() {
        // 400 multi-arch pushes with 4 children each, plus a cyclic pair of
        // untagged indexes (impossible in a real registry) that must not hang.
        let mut vs = Vec::new();
        let mut ms = Vec::new();
        let mut id = 0;
        for push in 0..400u32 {
            let kids: Vec<String> = (0..4).map(|k| dg(10_000 + push * 4 + k)).collect();
            for k in &kids {
                id += 1;
                vs.push(untagged("app", k, id, i64::from(push) * 10));
                ms.push((k.clone(), Vec::new()));
            }
            id += 1;
            let idx = dg(push + 1);
            vs.push(tag(
                "app",
                &format!("b{push}"),
                id,
                i64::from(push) * 10 + 1,
                Some(&idx),
            ));
            ms.push((idx, kids));
        }
        let (x, y) = (dg(90_001), dg(90_002));
        vs.push(untagged("app", &x, id + 1, 0));
        vs.push(untagged("app", &y, id + 2, 0));
        ms.push((x.clone(), vec![y.clone()]));
        ms.push((y, vec![x]));
        let mut pol = policy();
        pol.keep_last = 10;
        let p = plan(&pol, &vs, &owned_manifests(&ms), NOW);
        assert_eq!(p.kept.len(), 50);
        assert_eq!(p.deletions.len(), vs.len() - 50);
        assert!(p.deletions[..390].iter().all(|d| !is_digest(&d.version)));
    }

    #[test]
    fn parse_duration_table() {
        let good: &[(&str, u64)] = &[
            ("30d", 30 * 86_400),
            ("12h", 12 * 3_600),
            ("90m", 90 * 60),
            ("2w", 14 * 86_400),
            ("1d12h", 86_400 + 12 * 3_600),
            (
                "1w2d3h4m5s",
                7 * 86_400 + 2 * 86_400 + 3 * 3_600 + 4 * 60 + 5,
            ),
            ("45s", 45),
            ("0d", 0),
            (" 7d ", 7 * 86_400),
        ];
        for (input, want) in good {
            assert_eq!(parse_duration(input), Ok(*want), "{input:?}");
        }
        let bad = [
            "",
            "30",
            "d",
            "30y",
            "1h1d",
            "1d1d",
            "-1d",
            "1.5d",
            "1d 12h",
            "30D",
            "99999999999999999999d",
            "1000000000000000w",
        ];
        for input in bad {
            let e = parse_duration(input).expect_err(input);
            assert!(e.contains("units w (weeks), d (days)"), "{input:?}: {e}");
        }
        for secs in [0, 59, 3_600, 30 * 86_400, 86_400 + 12 * 3_600, 93_784] {
            assert_eq!(parse_duration(&format_duration(secs)), Ok(secs));
        }
        assert_eq!(format_duration(30 * 86_400), "30d");
        assert_eq!(format_duration(129_600), "1d12h");
    }

    #[test]
    fn parse_helpers_report_errors() {
        assert!(parse_package_filter(&["a"], Some("b")).is_err());
        assert!(parse_package_filter(&[""], None).is_err());
        assert!(parse_package_filter::<&str>(&[], Some("(")).is_err());
        assert!(matches!(
            parse_package_filter::<&str>(&[], None),
            Ok(PackageFilter::All)
        ));
        let e = parse_keep_tags(&["v.*", "("]).unwrap_err();
        assert!(e.contains("\"(\""), "{e}");
        assert_eq!(parse_keep_tags(&["v.*"]).unwrap().len(), 1);
    }

    // ---- property test ----------------------------------------------------

    const PACKAGES: [&str; 3] = ["app", "web", "tools"];
    const TAGS: [&str; 7] = ["latest", "v1", "v2", "a1", "b2", "c3", "d4"];

    #[derive(Debug, Clone)]
    struct PkgSpec {
        /// Children (image ids 0..8) of each index of the package.
        indexes: Vec<Vec<u32>>,
        /// Target (0..8 image, 8..12 index) or unknown, and age.
        tags: Vec<(Option<u32>, i64)>,
        untagged: Vec<(u32, i64)>,
    }

    #[derive(Debug, Clone)]
    struct World {
        pkgs: Vec<PkgSpec>,
        missing_manifest: Option<u32>,
        keep_last: u32,
        keep_tags: bool,
        keep_newer_than: Option<u64>,
        protect: Vec<(usize, u32, bool)>,
        delete_latest: bool,
        filter: u8,
    }

    fn pkg_spec() -> impl Strategy<Value = PkgSpec> {
        (
            prop::collection::vec(prop::collection::vec(0u32..8, 0..4), 0..4),
            prop::collection::vec((prop::option::weighted(0.92, 0u32..12), 0i64..100), 0..7),
            prop::collection::vec((0u32..12, 0i64..100), 0..8),
        )
            .prop_map(|(indexes, tags, untagged)| PkgSpec {
                indexes,
                tags,
                untagged,
            })
    }

    fn world() -> impl Strategy<Value = World> {
        (
            prop::collection::vec(pkg_spec(), 1..4),
            prop::option::weighted(0.15, 0u32..40),
            0u32..4,
            any::<bool>(),
            prop::option::of(0u64..60),
            prop::collection::vec((0usize..3, 0u32..12, any::<bool>()), 0..3),
            any::<bool>(),
            0u8..3,
        )
            .prop_map(
                |(
                    pkgs,
                    missing_manifest,
                    keep_last,
                    keep_tags,
                    keep_newer_than,
                    protect,
                    delete_latest,
                    filter,
                )| World {
                    pkgs,
                    missing_manifest,
                    keep_last,
                    keep_tags,
                    keep_newer_than,
                    protect,
                    delete_latest,
                    filter,
                },
            )
    }

    /// Digest of target `t` in package `p`: images are shared across
    /// packages, indexes are per package.
    fn target_digest(spec: &PkgSpec, p: usize, t: u32) -> String {
        if t >= 8 && ((t - 8) as usize) < spec.indexes.len() {
            dg(1_000 + p as u32 * 10 + (t - 8))
        } else {
            dg(t % 8)
        }
    }

    fn build(w: &World) -> (Policy, Vec<Version>, BTreeMap<String, Manifest>) {
        let mut versions = Vec::new();
        let mut ms: Vec<(String, Vec<String>)> = Vec::new();
        let mut id = 0;
        for (p, spec) in w.pkgs.iter().enumerate() {
            let pkg = PACKAGES[p];
            for (i, kids) in spec.indexes.iter().enumerate() {
                let d = dg(1_000 + p as u32 * 10 + i as u32);
                ms.push((d, kids.iter().map(|k| dg(*k)).collect()));
            }
            for (j, (target, created)) in spec.tags.iter().enumerate() {
                id += 1;
                let d = target.map(|t| target_digest(spec, p, t));
                versions.push(tag(pkg, TAGS[j], id, *created, d.as_deref()));
            }
            let mut seen = BTreeSet::new();
            for (target, created) in &spec.untagged {
                let d = target_digest(spec, p, *target);
                if seen.insert(d.clone()) {
                    id += 1;
                    versions.push(untagged(pkg, &d, id, *created));
                }
            }
        }
        for k in 0..8 {
            ms.push((dg(k), Vec::new()));
        }
        let missing = w
            .missing_manifest
            .map(|m| if m < 8 { dg(m) } else { dg(1_000 + (m - 8)) });
        ms.retain(|(d, _)| Some(d) != missing.as_ref());
        let mut protect = BTreeSet::new();
        for (p, t, by_tag) in &w.protect {
            if let Some(spec) = w.pkgs.get(*p) {
                if *by_tag {
                    protect.insert(format!("{}:{}", PACKAGES[*p], TAGS[*t as usize % 7]));
                } else {
                    protect.insert(format!("{}@{}", PACKAGES[*p], target_digest(spec, *p, *t)));
                }
            }
        }
        let packages = match w.filter {
            0 => PackageFilter::All,
            1 => parse_package_filter(&["app", "web"], None).unwrap(),
            _ => parse_package_filter::<&str>(&[], Some("a.*|tools")).unwrap(),
        };
        let policy = Policy {
            packages,
            keep_last: w.keep_last,
            keep_tags: if w.keep_tags {
                vec![Regex::new(r"v\d").unwrap()]
            } else {
                Vec::new()
            },
            keep_newer_than: w.keep_newer_than,
            protect_in_use: protect,
            delete_latest: w.delete_latest,
            dry_run: false,
        };
        (policy, versions, owned_manifests(&ms))
    }

    fn held(v: &Version) -> Option<String> {
        if v.is_untagged() {
            Some(v.version.clone())
        } else {
            v.digest.clone()
        }
    }

    fn check_invariants(
        policy: &Policy,
        versions: &[Version],
        ms: &BTreeMap<String, Manifest>,
        p: &RetentionPlan,
    ) {
        let key = |pkg: &str, ver: &str| (pkg.to_string(), ver.to_string());
        let del: BTreeSet<(String, String)> = p
            .deletions
            .iter()
            .map(|d| key(&d.package, &d.version))
            .collect();
        let kept: BTreeSet<(String, String)> =
            p.kept.iter().map(|k| key(&k.package, &k.version)).collect();
        assert!(del.is_disjoint(&kept));
        assert_eq!(del.len(), p.deletions.len(), "a version deleted twice");
        for v in versions {
            let k = key(&v.package, &v.version);
            let selected = policy.packages.matches(&v.package);
            assert_eq!(selected, del.contains(&k) || kept.contains(&k), "{k:?}");
        }
        assert_eq!(
            del.len() + kept.len(),
            versions
                .iter()
                .filter(|v| policy.packages.matches(&v.package))
                .count()
        );
        let is_kept = |v: &Version| kept.contains(&key(&v.package, &v.version));

        for pkg in PACKAGES {
            let vs: Vec<&Version> = versions.iter().filter(|v| v.package == pkg).collect();
            let kept_vs: Vec<&Version> = vs.iter().copied().filter(|v| is_kept(v)).collect();
            let del_vs: Vec<&Version> = vs
                .iter()
                .copied()
                .filter(|v| del.contains(&key(&v.package, &v.version)))
                .collect();
            // No kept index references a deleted untagged child, and every
            // child of a kept index that existed still has a holder.
            for k in &kept_vs {
                let Some(m) = held(k).and_then(|d| ms.get(&d)) else {
                    continue;
                };
                for c in &m.children {
                    assert!(
                        !del_vs.iter().any(|d| d.is_untagged() && &d.version == c),
                        "kept {pkg}:{} references deleted child {c}",
                        k.version
                    );
                    let existed = vs.iter().any(|v| held(v).as_ref() == Some(c));
                    let remains = kept_vs.iter().any(|v| held(v).as_ref() == Some(c));
                    assert!(!existed || remains, "last copy of {c} deleted");
                }
            }
            // No deleted untagged digest equals a kept tag's digest.
            for d in del_vs.iter().filter(|d| d.is_untagged()) {
                assert!(
                    !kept_vs
                        .iter()
                        .any(|k| !k.is_untagged() && k.digest.as_ref() == Some(&d.version)),
                    "deleted {} held by a kept tag",
                    d.version
                );
            }
            // Deleting any untagged version needs every kept manifest known.
            if del_vs.iter().any(|d| d.is_untagged()) {
                for k in &kept_vs {
                    assert!(
                        held(k).is_some_and(|d| ms.contains_key(&d)),
                        "{pkg} not frozen"
                    );
                }
            }
            if !policy.packages.matches(pkg) {
                assert!(del_vs.is_empty());
                continue;
            }
            // The newest keep_last tags are kept; so is latest.
            let mut tags: Vec<&Version> = vs.iter().copied().filter(|v| !v.is_untagged()).collect();
            tags.sort_by_key(|v| std::cmp::Reverse((v.created_at, v.version_id)));
            for t in tags.iter().take(policy.keep_last as usize) {
                assert!(is_kept(t), "{pkg}:{} among newest", t.version);
            }
            for t in &tags {
                if t.version == LATEST_TAG && !policy.delete_latest {
                    assert!(is_kept(t));
                }
            }
        }

        // Safe order: tags first; and replaying the deletions one by one
        // never leaves a remaining tag pointing at a child that has gone.
        let first_untagged = p.deletions.iter().position(|d| is_digest(&d.version));
        if let Some(i) = first_untagged {
            assert!(p.deletions[i..].iter().all(|d| is_digest(&d.version)));
        }
        let mut remaining: Vec<&Version> = versions.iter().collect();
        for d in &p.deletions {
            remaining.retain(|v| !(v.package == d.package && v.version == d.version));
            for t in remaining.iter().filter(|v| !v.is_untagged()) {
                let Some(m) = t.digest.as_ref().and_then(|x| ms.get(x)) else {
                    continue;
                };
                for c in &m.children {
                    let existed = versions
                        .iter()
                        .any(|v| v.package == t.package && held(v).as_ref() == Some(c));
                    let there = remaining
                        .iter()
                        .any(|v| v.package == t.package && held(v).as_ref() == Some(c));
                    assert!(
                        !existed || there,
                        "after deleting {}/{}, tag {}:{} misses {c}",
                        d.package,
                        d.version,
                        t.package,
                        t.version
                    );
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn invariants_hold_for_random_registries(w in world()) {
            let (policy, versions, ms) = build(&w);
            let p = plan(&policy, &versions, &ms, 100);
            check_invariants(&policy, &versions, &ms, &p);
            let mut rev = versions.clone();
            rev.reverse();
            prop_assert_eq!(plan(&policy, &rev, &ms, 100), p);
        }
    }
}
