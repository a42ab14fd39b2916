//! Every resource's and data source's State (and the provider's, actions' and list resources'
//! Config) has exactly the attributes and blocks of its schema: a schema attribute missing from
//! the struct would be null forever, a struct field missing from the schema fails at run time.

use tfplugin::agreement::{disagreements, StateFields};
use tfplugin::value::Type;

fn check(what: &str, ty: &Type, fields: &StateFields, problems: &mut Vec<String>) {
    for p in disagreements(ty, fields) {
        problems.push(format!("{what}: {p}"));
    }
}

#[test]
fn state_structs_agree_with_their_schemas() {
    let p = cicd::provider();
    let mut problems = Vec::new();
    let resources = p.resources();
    let data_sources = p.data_sources();
    assert!(!resources.is_empty() && !data_sources.is_empty());
    check(
        "provider",
        p.value_type(),
        &p.config_fields(),
        &mut problems,
    );
    for r in &resources {
        let what = format!("resource {}", r.type_name());
        check(&what, r.value_type(), &r.state_fields(), &mut problems);
    }
    for d in &data_sources {
        let what = format!("data source {}", d.type_name());
        check(&what, d.value_type(), &d.state_fields(), &mut problems);
    }
    for e in &p.ephemeral_resources() {
        let what = format!("ephemeral resource {}", e.type_name());
        check(&what, e.value_type(), &e.state_fields(), &mut problems);
    }
    let (actions, lists) = (p.actions(), p.list_resources());
    assert!(!actions.is_empty() && !lists.is_empty());
    for a in &actions {
        let what = format!("action {}", a.type_name());
        check(&what, a.value_type(), &a.config_fields(), &mut problems);
    }
    for l in &lists {
        let what = format!("list resource {}", l.type_name());
        check(&what, l.value_type(), &l.config_fields(), &mut problems);
    }
    assert!(
        problems.is_empty(),
        "State and schema disagree:\n  {}",
        problems.join("\n  ")
    );
}
