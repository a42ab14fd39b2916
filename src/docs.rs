//! Registry-style docs generated from the schemas (descriptions live in the schema) plus the
//! examples under `examples/`. `tests/docs.rs` fails when the committed `docs/` differ from what
//! this renders; `scripts/gen-docs` rewrites them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use tfplugin::resource::DynProvider;
use tfplugin::schema::{AttrType, Attribute, Block, NestingMode, Schema};
use tfplugin::value::Type;

/// Every page, keyed by its path under the repository root.
pub fn render_all(root: &Path) -> BTreeMap<String, String> {
    let p = crate::provider();
    let mut out = BTreeMap::new();
    out.insert("docs/index.md".to_string(), render_index(root, p.as_ref()));
    for r in p.resources() {
        let name = r.type_name().to_string();
        let example = read(root, &format!("examples/resources/{name}/resource.tf"));
        let import = read(root, &format!("examples/resources/{name}/import.sh"));
        out.insert(
            format!("docs/resources/{}.md", short(&name)),
            render_page(
                &name,
                "Resource",
                r.schema(),
                example.as_deref(),
                import.as_deref(),
            ),
        );
    }
    for d in p.data_sources() {
        let name = d.type_name().to_string();
        let example = read(
            root,
            &format!("examples/data-sources/{name}/data-source.tf"),
        );
        out.insert(
            format!("docs/data-sources/{}.md", short(&name)),
            render_page(&name, "Data Source", d.schema(), example.as_deref(), None),
        );
    }
    for e in p.ephemeral_resources() {
        let name = e.type_name().to_string();
        let example = read(
            root,
            &format!("examples/ephemeral-resources/{name}/ephemeral-resource.tf"),
        );
        out.insert(
            format!("docs/ephemeral-resources/{}.md", short(&name)),
            render_page(
                &name,
                "Ephemeral Resource",
                e.schema(),
                example.as_deref(),
                None,
            ),
        );
    }
    for a in p.actions() {
        let name = a.type_name().to_string();
        let example = read(root, &format!("examples/actions/{name}/action.tf"));
        out.insert(
            format!("docs/actions/{}.md", short(&name)),
            render_page(&name, "Action", a.schema(), example.as_deref(), None),
        );
    }
    for l in p.list_resources() {
        let name = l.type_name().to_string();
        let example = read(
            root,
            &format!("examples/list-resources/{name}/list.tfquery.hcl"),
        );
        out.insert(
            format!("docs/list-resources/{}.md", short(&name)),
            render_page(&name, "List Resource", l.schema(), example.as_deref(), None),
        );
    }
    out
}

fn short(name: &str) -> &str {
    name.strip_prefix("cicd_").unwrap_or(name)
}

fn read(root: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(root.join(rel)).ok()
}

fn render_index(root: &Path, p: &dyn DynProvider) -> String {
    let template = read(root, "templates/index.md")
        .unwrap_or_else(|| "# cicd Provider\n\n<!-- schema -->\n".into());
    let example = read(root, "examples/provider/provider.tf").unwrap_or_default();
    let mut schema = String::new();
    schema_section(&mut schema, &p.schema().block);
    template
        .replace("<!-- example -->", &format!("```terraform\n{}```", example))
        .replace("<!-- schema -->", schema.trim_end())
}

fn render_page(
    name: &str,
    kind: &str,
    s: &Schema,
    example: Option<&str>,
    import: Option<&str>,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "---\npage_title: \"{name} {kind} - cicd\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n", first_line(&s.block.description));
    let _ = writeln!(o, "# {name} ({kind})\n\n{}\n", s.block.description.trim());
    if let Some(ex) = example {
        let _ = writeln!(o, "## Example Usage\n\n```terraform\n{}```\n", ex);
    }
    schema_section(&mut o, &s.block);
    if let Some(imp) = import {
        let _ = writeln!(
            o,
            "\n## Import\n\nImport is supported using the following syntax:\n\n```shell\n{}```",
            imp
        );
    }
    while o.ends_with("\n\n") {
        o.pop();
    }
    o
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().replace('"', "'")
}

fn schema_section(o: &mut String, b: &Block) {
    let _ = writeln!(o, "## Schema\n");
    let mut nested: Vec<(String, NestedDoc)> = Vec::new();
    block_lists(o, b, "", &mut nested);
    let mut i = 0;
    while i < nested.len() {
        let (anchor, doc) = nested[i].clone();
        let _ = writeln!(
            o,
            "<a id=\"{anchor}\"></a>\n### Nested Schema for `{}`\n",
            doc.path
        );
        match doc.body {
            Body::Block(b) => block_lists(o, &b, &doc.path, &mut nested),
            Body::Attrs(attrs) => {
                let b = Block {
                    attributes: attrs,
                    ..Default::default()
                };
                block_lists(o, &b, &doc.path, &mut nested)
            }
        }
        i += 1;
    }
}

#[derive(Clone)]
enum Body {
    Block(Block),
    Attrs(Vec<Attribute>),
}

#[derive(Clone)]
struct NestedDoc {
    path: String,
    body: Body,
}

fn block_lists(o: &mut String, b: &Block, prefix: &str, nested: &mut Vec<(String, NestedDoc)>) {
    let groups: [(&str, AttrFilter); 3] = [
        ("Required", |a| a.required),
        ("Optional", |a| a.optional),
        ("Read-Only", |a| a.computed && !a.optional && !a.required),
    ];
    let path_of = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    for (title, pred) in groups {
        let mut lines = Vec::new();
        let mut attrs: Vec<&Attribute> = b.attributes.iter().filter(|a| pred(a)).collect();
        attrs.sort_by(|x, y| x.name.cmp(&y.name));
        for a in attrs {
            let mut flags = vec![type_name(a)];
            if a.sensitive {
                flags.push("Sensitive".into());
            }
            if a.write_only {
                flags.push("Write-only".into());
            }
            if a.deprecated {
                flags.push("Deprecated".into());
            }
            let mut line = format!("- `{}` ({})", a.name, flags.join(", "));
            if !a.description.is_empty() {
                line.push(' ');
                line.push_str(a.description.trim());
            }
            if let AttrType::Nested { attributes, .. } = &a.ty {
                let anchor = anchor("nestedatt", &path_of(&a.name));
                line.push_str(&format!(" (see [below for nested schema](#{anchor}))"));
                nested.push((
                    anchor,
                    NestedDoc {
                        path: path_of(&a.name),
                        body: Body::Attrs(attributes.clone()),
                    },
                ));
            }
            lines.push(line);
        }
        // Blocks are listed with the optional (or required, when min_items > 0) group.
        if title != "Read-Only" {
            let mut blocks: Vec<_> = b
                .blocks
                .iter()
                .filter(|nb| (nb.min_items > 0) == (title == "Required"))
                .collect();
            blocks.sort_by(|x, y| x.type_name.cmp(&y.type_name));
            for nb in blocks {
                let anchor = anchor("nestedblock", &path_of(&nb.type_name));
                let kind = match nb.nesting {
                    NestingMode::Single | NestingMode::Group => "Block".to_string(),
                    NestingMode::List => "Block List".to_string(),
                    NestingMode::Set => "Block Set".to_string(),
                    NestingMode::Map => "Block Map".to_string(),
                };
                let max = if nb.max_items > 0 {
                    format!(", Max: {}", nb.max_items)
                } else {
                    String::new()
                };
                let desc = first_line(&nb.block.description);
                lines.push(format!(
                    "- `{}` ({kind}{max}) {desc} (see [below for nested schema](#{anchor}))",
                    nb.type_name
                ));
                nested.push((
                    anchor,
                    NestedDoc {
                        path: path_of(&nb.type_name),
                        body: Body::Block(nb.block.clone()),
                    },
                ));
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(o, "### {title}\n\n{}\n", lines.join("\n"));
        }
    }
}

/// Which attributes go in a group (Required / Optional / Read-Only).
type AttrFilter = fn(&Attribute) -> bool;

fn anchor(kind: &str, path: &str) -> String {
    format!("{kind}--{}", path.replace('.', "--"))
}

fn type_name(a: &Attribute) -> String {
    match &a.ty {
        AttrType::Primitive(t) => ty_words(t),
        AttrType::Nested { nesting, .. } => match nesting {
            NestingMode::Single | NestingMode::Group => "Attributes".into(),
            NestingMode::List => "Attributes List".into(),
            NestingMode::Set => "Attributes Set".into(),
            NestingMode::Map => "Attributes Map".into(),
        },
    }
}

fn ty_words(t: &Type) -> String {
    match t {
        Type::Bool => "Boolean".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", ty_words(e)),
        Type::Set(e) => format!("Set of {}", ty_words(e)),
        Type::Map(e) => format!("Map of {}", ty_words(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}
