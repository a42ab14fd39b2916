use super::*;
use crate::clients::woodpecker::Trusted;

/// A repo as activation shows it (recording 01 #9), renamed to `wp-rec/App-One` on the forge.
fn repo() -> Repo {
    Repo {
        id: 1,
        forge_remote_id: "4".into(),
        org_id: 2,
        owner: "wp-rec".into(),
        name: "app-one".into(),
        full_name: "wp-rec/app-one".into(),
        default_branch: "main".into(),
        active: true,
        visibility: "public".into(),
        require_approval: "forks".into(),
        timeout: 60,
        allow_pr: true,
        cancel_previous_pipeline_events: vec!["push".into(), "pull_request".into()],
        trusted: Trusted {
            network: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn state_from_repo_keeps_the_configured_spelling_and_behaviour() {
    let base = State {
        full_name: Val::Known("WP-REC/App-One".into()),
        adopt_existing: Val::Known(true),
        on_destroy: Val::Known("remove".into()),
        ..Default::default()
    };
    let st = from_repo(&repo(), &base);
    assert_eq!(st.full_name, Val::Known("WP-REC/App-One".into()));
    assert_eq!((st.id, st.org_id), (Val::Known(1), Val::Known(2)));
    assert_eq!(st.trusted_network, Val::Known(true));
    assert_eq!(st.trusted_volumes, Val::Known(false));
    assert_eq!(st.approval_allowed_users, Val::Known(vec![]));
    assert_eq!(
        (st.adopt_existing, st.on_destroy),
        (Val::Known(true), Val::Known("remove".into()))
    );
    // Another name: the server's.
    let base = State {
        full_name: Val::Known("wp-rec/old-name".into()),
        ..Default::default()
    };
    assert_eq!(
        from_repo(&repo(), &base).full_name,
        Val::Known("wp-rec/app-one".into())
    );
}

#[test]
fn only_known_settings_that_differ_are_patched() {
    let have = from_repo(&repo(), &State::default());
    let mut want = have.clone();
    assert!(settings_patch(&want, &have).is_empty());
    // Left out of the configuration (unknown in a create's plan): not sent.
    want.visibility = Val::Unknown;
    want.timeout = Val::Null;
    assert!(settings_patch(&want, &have).is_empty());
    // An empty list is a value: it is sent, and clears the list.
    want.cancel_previous_pipeline_events = Val::Known(vec![]);
    want.trusted_security = Val::Known(true);
    want.trusted_network = Val::Known(true);
    let p = settings_patch(&want, &have);
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        serde_json::json!({"cancel_previous_pipeline_events": [], "trusted": {"security": true}})
    );
}

#[test]
fn a_rename_forgets_what_the_repair_re_syncs() {
    let mut st = from_repo(&repo(), &State::default());
    forget_forge_fields(&mut st);
    assert!(st.name.is_unknown() && st.clone_url.is_unknown() && st.org_id.is_unknown());
    assert_eq!(
        (st.id, st.forge_remote_id),
        (Val::Known(1), Val::Known("4".into()))
    );
    assert_eq!(st.timeout, Val::Known(60));
}

#[test]
fn names_compare_ignoring_case() {
    assert!(same_name("wp-rec/APP-ONE", "wp-rec/app-one"));
    assert!(!same_name("wp-rec/app-one", "wp-rec/app-two"));
}

#[test]
fn schema_states_the_plan_rules() {
    let b = State::block("");
    let a = |n: &str| b.attribute(n).unwrap().clone();
    assert!(a("full_name").required && !a("full_name").force_new);
    for n in [
        "visibility",
        "timeout",
        "cancel_previous_pipeline_events",
        "trusted_volumes",
    ] {
        let s = a(n);
        assert!(s.optional && s.computed && s.keep_prior, "{n}");
    }
    assert!(a("id").computed && a("id").keep_prior && !a("id").optional);
    assert_eq!(
        a("on_destroy").default,
        Some(Value::String("deactivate".into()))
    );
}
