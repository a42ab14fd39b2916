//! Registry integrity walk: catalog -> tags -> manifests -> index children, answering "would
//! every tag still pull?". A tag whose manifest is gone, or an index child that answers 404 to
//! HEAD (the forge answers 404 when the manifest OR its blob is missing), is broken.
//!
//! Requests: catalog pages, one tags walk per image, one manifest GET per tag, one HEAD per
//! distinct (image, child digest); each stage runs `CONCURRENCY` requests at a time.

use crate::clients::registry::{ManifestKind, RegistryClient};
use crate::clients::Error;
use futures::stream::{self, StreamExt, TryStreamExt};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};

/// A tag that references an index child, and the child's platform.
type TagPlatform = (String, Option<String>);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Broken {
    /// `owner/name`.
    pub image: String,
    pub tag: String,
    /// The digest that does not answer; `None` when the tag's own manifest is gone.
    pub missing_digest: Option<String>,
    /// Platform of the missing index child (`os/arch[/variant]`).
    pub platform: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub broken: Vec<Broken>,
    pub images_checked: u64,
    pub tags_checked: u64,
    pub manifests_checked: u64,
}

/// Walk the images of `owner` (those whose name, without the owner, fully matches `name_re`).
pub async fn walk(
    reg: &RegistryClient,
    host: &str,
    owner: &str,
    name_re: Option<&Regex>,
) -> Result<Report, Error> {
    let prefix = format!("{}/", owner.to_ascii_lowercase());
    let anchored = name_re.and_then(|r| Regex::new(&format!("^(?:{})$", r.as_str())).ok());
    let images: Vec<String> = reg
        .catalog(host)
        .await?
        .into_iter()
        .filter(|r| r.to_ascii_lowercase().starts_with(&prefix))
        .filter(|r| {
            anchored
                .as_ref()
                .is_none_or(|re| re.is_match(&r[prefix.len()..]))
        })
        .collect();
    let mut report = Report {
        images_checked: images.len() as u64,
        ..Default::default()
    };
    // Tags of every image.
    let tagged: Vec<(String, Vec<String>)> = stream::iter(images)
        .map(|image| async move {
            let tags = reg.tags(host, &image).await?;
            Ok::<_, Error>((image, tags))
        })
        .buffer_unordered(crate::clients::registry::CONCURRENCY)
        .try_collect()
        .await?;
    let pairs: Vec<(String, String)> = tagged
        .into_iter()
        .flat_map(|(i, ts)| ts.into_iter().map(move |t| (i.clone(), t)))
        .collect();
    report.tags_checked = pairs.len() as u64;
    // Each tag's manifest.
    let manifests: Vec<(String, String, Option<crate::clients::registry::Manifest>)> =
        stream::iter(pairs)
            .map(|(image, tag)| async move {
                let m = reg.get_manifest(host, &image, &tag).await?;
                Ok::<_, Error>((image, tag, m))
            })
            .buffer_unordered(crate::clients::registry::CONCURRENCY)
            .try_collect()
            .await?;
    report.manifests_checked = manifests.len() as u64;
    // Children to HEAD, each (image, digest) once, with the tags that need it.
    let mut users: BTreeMap<(String, String), Vec<TagPlatform>> = BTreeMap::new();
    for (image, tag, m) in manifests {
        let Some(m) = m else {
            report.broken.push(Broken {
                image,
                tag,
                missing_digest: None,
                platform: None,
            });
            continue;
        };
        if m.kind != ManifestKind::Index {
            continue;
        }
        for c in m.children {
            users
                .entry((image.clone(), c.digest))
                .or_default()
                .push((tag.clone(), c.platform.map(|p| p.to_string())));
        }
    }
    let keys: Vec<(String, String)> = users.keys().cloned().collect();
    report.manifests_checked += keys.len() as u64;
    let missing: BTreeSet<(String, String)> = stream::iter(keys)
        .map(|(image, digest)| async move {
            let h = reg.head_manifest(host, &image, &digest).await?;
            Ok::<_, Error>((image, digest, h.is_none()))
        })
        .buffer_unordered(crate::clients::registry::CONCURRENCY)
        .try_filter_map(|(i, d, gone)| async move { Ok(gone.then_some((i, d))) })
        .try_collect()
        .await?;
    for key in missing {
        for (tag, platform) in &users[&key] {
            report.broken.push(Broken {
                image: key.0.clone(),
                tag: tag.clone(),
                missing_digest: Some(key.1.clone()),
                platform: platform.clone(),
            });
        }
    }
    report.broken.sort();
    report.broken.dedup();
    Ok(report)
}
