//! The pure retention engine: which versions a policy deletes, in which order.
//! See the module documentation of [`crate::retention`] for the rules.

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
    /// (group, depth) of the safe order: tags (0) before untagged versions (1), parents
    /// before children. Deletions of one stage never reference each other, so they may run
    /// in parallel; stages run in order. [`RetentionPlan::deletions`] is sorted by it.
    pub stage: (u8, usize),
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

/// Whether a version name is a digest (`sha256:...`, any case): an untagged manifest.
pub fn is_digest(s: &str) -> bool {
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
                    crate::util::duration::format(std::time::Duration::from_secs(
                        policy.keep_newer_than.unwrap_or(0)
                    ))
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
                    crate::util::duration::format(std::time::Duration::from_secs(
                        self.ctx.policy.keep_newer_than.unwrap_or(0)
                    ))
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
                        Some(t) => format!(
                            "{what}, older than {}",
                            crate::util::duration::format(std::time::Duration::from_secs(t))
                        ),
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
            parts.push(format!(
                "older than {}",
                crate::util::duration::format(std::time::Duration::from_secs(t))
            ));
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
                        stage: (group, depth),
                    },
                ));
            }
        }
        (deletions, kept)
    }
}
