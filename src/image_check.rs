//! Checks of an image to deploy: offline ([`check_offline`]: a repository without tag, a tag
//! that follows the tag policy, a well-formed digest), and at plan time ([`Target::check`]) that
//! the image is in its registry, so that a missing image fails the plan and not the rollout:
//! the tag has a manifest (at the expected digest, when one is given), and for a multi-arch
//! index, a child for every platform of the cluster's nodes that the registry has.
//!
//! Requests: `HEAD /v2/<repo>/manifests/<tag>`; for an index, the nodes' platforms
//! (`GET /api/v1/nodes`, shared), one GET of the index and one HEAD per platform's child.
//! Problems come back as values that say which part of the reference is to blame, for the
//! caller to report against its own attributes.

use crate::clients::image_ref::{self, ImageRef};
use crate::clients::kubernetes::KubeClient;
use crate::clients::registry::{ManifestHead, RegistryClient, DOCKER_LIST, OCI_INDEX};

/// The part of the reference a [`Problem`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    /// The repository (or the registry that holds it).
    Image,
    Tag,
    Digest,
    TagPattern,
}

/// The default tag policy: 8 lower-case hex characters (a short commit id).
pub const DEFAULT_TAG_PATTERN: &str = "^[0-9a-f]{8}$";

/// Why the image would not pull, in words: a summary and a detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `None`: nothing the user wrote (e.g. the cluster's nodes could not be listed).
    pub blame: Option<Blame>,
    pub summary: String,
    pub detail: String,
    /// The tag is not in the registry (yet): it may be pushed later in the same apply.
    pub not_pushed: bool,
}

fn problem(blame: Blame, summary: String, detail: impl Into<String>) -> Problem {
    Problem {
        blame: Some(blame),
        summary,
        detail: detail.into(),
        not_pushed: false,
    }
}

/// What can be told without a registry (each value `None` while not known): `image` is a
/// valid repository without tag or digest; `tag_pattern` is a valid regex, and the tag is not
/// `latest` and fully matches it; the digest is `sha256:` and 64 hex digits.
pub fn check_offline(
    image: Option<&str>,
    tag: Option<&str>,
    digest: Option<&str>,
    tag_pattern: Option<&str>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(image) = image {
        problems.extend(check_repository(image));
    }
    let re = match tag_pattern.map(anchored_tag_pattern) {
        Some(Ok(re)) => Some(re),
        Some(Err(e)) => {
            let summary = "Invalid tag_pattern".into();
            problems.push(problem(Blame::TagPattern, summary, e.to_string()));
            None
        }
        None => None,
    };
    match tag {
        Some("latest") => problems.push(problem(Blame::Tag, "The tag \"latest\" is not allowed".into(), "A moving tag cannot show in a plan what will run. Deploy an immutable tag (e.g. the commit id).")),
        // Whatever tag_pattern allows, a tag registries refuse is the tag's fault.
        Some(tag) if !image_ref::is_oci_tag(tag) => problems.push(problem(Blame::Tag, format!("Invalid tag {tag:?}"), "A tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'.")),
        Some(tag) if re.is_some_and(|re| !re.is_match(tag)) => problems.push(problem(Blame::Tag, format!("Tag {tag:?} does not match the tag policy"),
            format!("Tags must match {:?} (tag_pattern). Default: 8 lower-case hex characters, a short commit id.", tag_pattern.unwrap_or_default()))),
        _ => {}
    }
    if let Some(d) = digest.filter(|d| !image_ref::is_canonical_sha256_digest(d)) {
        let detail = format!("{d:?} must be sha256: followed by 64 lower-case hex digits (0-9, a-f), as the container runtime requires.");
        problems.push(problem(Blame::Digest, "Invalid digest".into(), detail));
    }
    problems
}

/// `^(?:pattern)$`, compiled once per distinct pattern: every resource of a plan checks its tag
/// at validate and at plan, nearly always against the same (default) pattern.
fn anchored_tag_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(pattern) {
        return Ok(re.clone());
    }
    let re = regex::Regex::new(&format!("^(?:{pattern})$"))?;
    let mut m = cache.lock().unwrap_or_else(|p| p.into_inner());
    if m.len() >= 64 {
        m.clear(); // a bound, for configurations with a pattern per resource
    }
    m.insert(pattern.to_string(), re.clone());
    Ok(re)
}

/// `image` is a repository only (the tag has an attribute of its own), and a valid one.
fn check_repository(image: &str) -> Option<Problem> {
    match image_ref::split(image) {
        (_, None, None) => ImageRef::parse(&format!("{image}:x"))
            .err()
            .map(|e| problem(Blame::Image, "Invalid image".into(), e)),
        (repository, ..) => Some(problem(
            Blame::Image,
            "Image must not carry a tag or digest".into(),
            format!("Set image to the repository only ({repository:?}) and put the tag in `tag`."),
        )),
    }
}

/// The `image:tag` to check.
pub struct Target {
    r: ImageRef,
    tag: String,
    shown: String,
}

impl Target {
    /// `image` is a repository without tag (`registry.example:5000/team/app`).
    pub fn parse(image: &str, tag: &str) -> Result<Target, Problem> {
        let shown = format!("{image}:{tag}");
        match ImageRef::parse(&shown) {
            Ok(r) => Ok(Target {
                r,
                tag: tag.to_string(),
                shown,
            }),
            Err(e) => Err(problem(Blame::Image, "Invalid image".into(), e)),
        }
    }

    /// The tag has a manifest (at `digest` when one is given); for a multi-arch index, every
    /// platform of the cluster's nodes has a child in the registry. Empty when all is well.
    pub async fn check(
        &self,
        reg: &RegistryClient,
        kube: &KubeClient,
        digest: Option<&str>,
    ) -> Vec<Problem> {
        let index = match self.check_tag(reg, digest).await {
            Ok(Some(index)) => index,
            Ok(None) => return vec![],
            Err(p) => return vec![p],
        };
        let platforms = match kube.node_platforms().await {
            Ok(p) => p,
            Err(e) => {
                return vec![Problem {
                    blame: None,
                    summary: format!(
                        "Could not list the cluster's node platforms to check {}",
                        self.shown
                    ),
                    detail: e.to_string(),
                    not_pushed: false,
                }]
            }
        };
        self.check_platforms(reg, &index, &platforms).await
    }

    /// The tag has a manifest, at `digest` when one is given. `Ok(Some(index))` when it is a
    /// multi-arch index, whose platforms [`Self::check_platforms`] checks.
    async fn check_tag(
        &self,
        reg: &RegistryClient,
        digest: Option<&str>,
    ) -> Result<Option<ManifestHead>, Problem> {
        let (r, tag, shown) = (&self.r, &self.tag, &self.shown);
        let head = match reg.head_manifest(&r.host, &r.repository, tag).await {
            Ok(Some(h)) => h,
            Ok(None) => return Err(Problem {
                not_pushed: true,
                ..problem(
                    Blame::Tag,
                    format!("Image {shown} not found in the registry"),
                    format!("The registry {} has no manifest for {}:{tag}. Push the image first, or fix the tag. Nothing was changed in the cluster.", r.host, r.repository),
                )
            }),
            Err(e) => return Err(problem(
                Blame::Image,
                format!("Could not check image {shown} in the registry"),
                format!("{e}\nSet verify_image = false to skip this check."),
            )),
        };
        if let Some(d) = digest {
            if !head.digest.eq_ignore_ascii_case(d) {
                return Err(problem(
                    Blame::Digest,
                    format!("Tag {tag} does not point at {d}"),
                    format!("The registry says {shown} is {}.", head.digest),
                ));
            }
        }
        let index = head.media_type == OCI_INDEX || head.media_type == DOCKER_LIST;
        Ok(index.then_some(head))
    }

    /// The index lists a child for every `(os, arch)` of `platforms`, and the registry has it.
    async fn check_platforms(
        &self,
        reg: &RegistryClient,
        index: &ManifestHead,
        platforms: &[(String, String)],
    ) -> Vec<Problem> {
        let (r, shown) = (&self.r, &self.shown);
        let manifest = match reg
            .get_manifest(&r.host, &r.repository, &index.digest)
            .await
        {
            Ok(Some(m)) => m,
            Ok(None) => {
                return vec![problem(
                    Blame::Tag,
                    format!("Image index {shown} vanished"),
                    "The index was found by HEAD but not by GET.",
                )]
            }
            Err(e) => {
                return vec![problem(
                    Blame::Image,
                    format!("Could not read image index {shown}"),
                    e.to_string(),
                )]
            }
        };
        let mut problems = Vec::new();
        for (os, arch) in platforms {
            let child = manifest.children.iter().find(|c| {
                c.platform
                    .as_ref()
                    .is_some_and(|p| &p.os == os && &p.architecture == arch)
            });
            let Some(child) = child else {
                problems.push(problem(Blame::Tag, format!("Image {shown} has no {os}/{arch} variant"),
                    format!("The cluster has {os}/{arch} nodes, but the index {} lists no child for that platform.", index.digest)));
                continue;
            };
            match reg.head_manifest(&r.host, &r.repository, &child.digest).await {
                Ok(Some(_)) => {}
                Ok(None) => problems.push(problem(Blame::Tag, format!("Image {shown} is broken for {os}/{arch}"),
                    format!("The index lists {} for {os}/{arch}, but the registry does not have it: pulls would fail.", child.digest))),
                Err(e) => problems.push(problem(Blame::Image, format!("Could not check {shown} for {os}/{arch}"), e.to_string())),
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blames(image: &str, tag: &str, digest: Option<&str>, pattern: &str) -> Vec<Blame> {
        check_offline(Some(image), Some(tag), digest, Some(pattern))
            .into_iter()
            .filter_map(|p| p.blame)
            .collect()
    }

    #[test]
    fn offline_checks_blame_the_attribute_at_fault() {
        let (repo, d) = ("registry.example:5000/team/app", DEFAULT_TAG_PATTERN);
        assert_eq!(blames(repo, "abc12345", None, d), []);
        assert_eq!(blames(repo, "latest", None, ".*"), [Blame::Tag]);
        assert_eq!(blames(repo, "v1.2", None, d), [Blame::Tag]);
        assert_eq!(blames(repo, "v1.2", None, "v[0-9.]+"), []);
        assert_eq!(blames(repo, "x", None, "("), [Blame::TagPattern]);
        assert_eq!(
            blames(&format!("{repo}:v1"), "abc12345", None, d),
            [Blame::Image]
        );
        assert_eq!(blames("Team/App", "abc12345", None, d), [Blame::Image]);
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(blames(repo, "abc12345", Some(&digest), d), []);
        assert_eq!(
            blames(repo, "abc12345", Some("sha256:ab"), d),
            [Blame::Digest]
        );
        // A tag the pattern allows but registries refuse is blamed on the tag, not the image.
        assert_eq!(blames(repo, "v1+build", None, ".*"), [Blame::Tag]);
        // Upper-case hex passes a hex check but fails every pull (finding 15).
        let upper = format!("sha256:{}", "AB".repeat(32));
        assert_eq!(blames(repo, "abc12345", Some(&upper), d), [Blame::Digest]);
        // Unknown values are not checked.
        assert!(check_offline(None, None, None, None).is_empty());
    }

    #[test]
    fn offline_messages_say_what_to_do() {
        let p = &check_offline(None, Some("latest"), None, None)[0];
        assert_eq!(p.summary, "The tag \"latest\" is not allowed");
        let p = &check_offline(None, Some("v1"), None, Some(DEFAULT_TAG_PATTERN))[0];
        assert_eq!(p.summary, "Tag \"v1\" does not match the tag policy");
        assert!(p
            .detail
            .starts_with("Tags must match \"^[0-9a-f]{8}$\" (tag_pattern)."));
        let p = &check_offline(Some("r.example/app:v1"), None, None, None)[0];
        assert_eq!(
            p.detail,
            "Set image to the repository only (\"r.example/app\") and put the tag in `tag`."
        );
    }
}
