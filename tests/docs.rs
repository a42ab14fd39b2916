//! The committed docs/ must be what the schemas and examples render to
//! (`scripts/gen-docs` rewrites them), and every resource, data source, action and list resource
//! has an example (resources also an import.sh).

use std::path::Path;

#[test]
fn committed_docs_match_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages = cicd::docs::render_all(root);
    let update = std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (rel, text) in &pages {
        let path = root.join(rel);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            continue;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(rel.clone());
        }
    }
    // No page for something that no longer exists.
    for dir in [
        "docs/resources",
        "docs/data-sources",
        "docs/ephemeral-resources",
        "docs/actions",
        "docs/list-resources",
    ] {
        for e in std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let rel = format!("{dir}/{}", e.file_name().to_string_lossy());
            if !pages.contains_key(&rel) {
                stale.push(format!("{rel} (no such type)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs out of date, run scripts/gen-docs: {stale:?}"
    );
}

#[test]
fn every_type_has_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = cicd::provider();
    let mut missing = Vec::new();
    for r in p.resources() {
        for f in ["resource.tf", "import.sh"] {
            let rel = format!("examples/resources/{}/{f}", r.type_name());
            if !root.join(&rel).exists() {
                missing.push(rel);
            }
        }
    }
    for d in p.data_sources() {
        let rel = format!("examples/data-sources/{}/data-source.tf", d.type_name());
        if !root.join(&rel).exists() {
            missing.push(rel);
        }
    }
    for e in p.ephemeral_resources() {
        let rel = format!(
            "examples/ephemeral-resources/{}/ephemeral-resource.tf",
            e.type_name()
        );
        if !root.join(&rel).exists() {
            missing.push(rel);
        }
    }
    for a in p.actions() {
        let rel = format!("examples/actions/{}/action.tf", a.type_name());
        if !root.join(&rel).exists() {
            missing.push(rel);
        }
    }
    for l in p.list_resources() {
        let rel = format!("examples/list-resources/{}/list.tfquery.hcl", l.type_name());
        if !root.join(&rel).exists() {
            missing.push(rel);
        }
    }
    assert!(root.join("examples/provider/provider.tf").exists());
    assert!(missing.is_empty(), "missing examples: {missing:?}");
}
