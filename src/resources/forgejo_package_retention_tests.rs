use super::*;
use tfplugin::schema::Block;

fn cfg() -> State {
    State {
        owner: Val::Known("viktor".into()),
        r#type: Val::Known("container".into()),
        ..Default::default()
    }
}

#[test]
fn bad_policies_name_the_attribute() {
    let a = State::ATTR;
    let cases: Vec<(State, AttrPath)> = vec![
        (
            State {
                keep_last: Val::Known(-1),
                ..cfg()
            },
            AttrPath::root(a.keep_last),
        ),
        (
            State {
                keep_tags: Val::Known(vec!["v(".into()]),
                ..cfg()
            },
            // A bad keep_tags pattern is named by its index in the list.
            AttrPath::root(a.keep_tags).index(0),
        ),
        (
            State {
                package_regex: Val::Known("a[".into()),
                ..cfg()
            },
            AttrPath::root(a.package_regex),
        ),
        (
            State {
                keep_newer_than: Val::Known("30 days".into()),
                ..cfg()
            },
            AttrPath::root(a.keep_newer_than),
        ),
        (
            State {
                r#type: Val::Known("oci".into()),
                ..cfg()
            },
            AttrPath::root(a.r#type),
        ),
        (
            State {
                packages: Val::Known(["a".to_string()].into()),
                package_regex: Val::Known("b".into()),
                ..cfg()
            },
            AttrPath::root(a.packages),
        ),
        (
            State {
                packages: Val::Known(BTreeSet::new()),
                ..cfg()
            },
            AttrPath::root(a.packages),
        ),
    ];
    let block: Block = PackageRetention::new(ProviderData::default())
        .schema()
        .block;
    for (s, want) in cases {
        let e = s
            .policy()
            .err()
            .unwrap_or_else(|| panic!("{want} accepted"));
        assert_eq!(e.path(), want);
        assert!(
            block.attribute(e.field).is_some(),
            "{} is no attribute",
            e.field
        );
    }
}

#[test]
fn policy_errors_keep_their_messages() {
    let e = State {
        keep_last: Val::Known(-1),
        ..cfg()
    }
    .policy()
    .unwrap_err();
    assert_eq!(e.message, "keep_last must be 0 or more, got -1");
    let e = State {
        r#type: Val::Known("oci".into()),
        ..cfg()
    }
    .policy()
    .unwrap_err();
    assert!(e
        .message
        .starts_with("unknown package type \"oci\"; the forge knows: "));
}

#[test]
fn good_policy_converts_and_unknowns_wait() {
    let s = State {
        keep_last: Val::Known(3),
        keep_tags: Val::Known(vec!["v\\d+".into()]),
        keep_newer_than: Val::Known("30d".into()),
        ..cfg()
    };
    let p = s.policy().unwrap().unwrap();
    assert_eq!(p.keep_last, 3);
    assert_eq!(p.keep_newer_than, Some(30 * 86_400));
    // An unknown package type is not the default type.
    let t = State {
        r#type: Val::Unknown,
        ..s.clone()
    };
    assert!(t.policy().unwrap().is_none());
    let s = State {
        protect_in_use: Val::Unknown,
        ..s
    };
    assert!(s.policy().unwrap().is_none());
    // Known values are still checked while another is unknown.
    let s = State {
        keep_last: Val::Known(-1),
        ..s
    };
    assert!(s.policy().is_err());
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
    assert_eq!(s.r#type, Val::Known("container".into()));
}
