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
//!
//! Layout: [`engine`] is pure (policy + versions + manifests -> plan); [`policy`] turns the
//! resource's attributes into a [`Policy`] with errors that name the attribute; [`forge`] is the
//! I/O around the engine (list, fetch manifests); [`snapshot`] is what a refresh read, kept for
//! the plans made from it; [`delete`] carries out exactly the deletions a plan listed.

pub mod delete;
pub mod engine;
pub mod forge;
pub mod policy;
pub mod snapshot;

pub use engine::*;
pub use policy::{parse_keep_tags, parse_package_filter, PolicyError};

#[cfg(test)]
mod tests;
