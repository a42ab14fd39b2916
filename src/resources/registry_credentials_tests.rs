use super::*;

fn vault_map(kv: &[(&str, Val<&str>)]) -> VaultMap {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.clone().map(str::to_string)))
        .collect()
}

#[test]
fn password_from_vault_is_read_in_one_place() {
    let m = vault_map(&[
        ("path", Val::Known("/ci/registry/")),
        ("key", Val::Known("pw")),
    ]);
    let Some(Password::Vault(kv, key)) = vault_password(&m) else {
        panic!("not a Vault password")
    };
    assert_eq!((kv.id(), key.as_str()), ("secret/ci/registry".into(), "pw"));
    let m = vault_map(&[("path", Val::Unknown), ("key", Val::Known("pw"))]);
    assert!(vault_password(&m).is_none(), "waits for the path");
    // An unknown mount is not the default mount (the plan read `secret` instead).
    let m = vault_map(&[
        ("mount", Val::Unknown),
        ("path", Val::Known("ci/registry")),
        ("key", Val::Known("pw")),
    ]);
    assert!(vault_password(&m).is_none(), "waits for the mount");
}

#[test]
fn logins_take_the_password_source_that_is_set() {
    let r = |password: Option<&str>, wo: Option<&str>| Registry {
        username: Val::Known("u".into()),
        password: password.map(str::to_string).into(),
        password_wo: wo.map(str::to_string).into(),
        ..Default::default()
    };
    let st = State {
        registries: Val::Known(BTreeMap::from([
            ("a.example".to_string(), r(Some("p"), None)),
            ("b.example".to_string(), r(None, Some("w"))),
            ("c.example".to_string(), r(None, None)),
        ])),
        ..Default::default()
    };
    let got: Vec<_> = logins(&st)
        .into_iter()
        .map(|l| (l.host, format!("{:?}", l.password)))
        .collect();
    assert_eq!(
        got,
        [
            ("a.example".to_string(), "Some(Given(\"p\"))".to_string()),
            (
                "b.example".to_string(),
                "Some(WriteOnly(\"w\"))".to_string()
            ),
            ("c.example".to_string(), "None".to_string()),
        ]
    );
}

#[test]
fn a_plan_rewrites_only_copies_changed_by_hand() {
    let known = |kv: &[(&str, &str)]| {
        let m = kv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Val::all_known(m)
    };
    let prior = State {
        copies: known(&[("a", "h1"), ("b", "edited")]),
        ..Default::default()
    };
    let mut private = Private::default();
    private.set(PRIVATE_WRITTEN, &BTreeMap::from([("a", "h1"), ("b", "h2")]));
    let nss: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let planned = planned_copies(&prior, &prior.clone(), &nss, &private);
    let want = [
        ("a".to_string(), Val::Known("h1".to_string())),
        ("b".to_string(), Val::Unknown),
        ("c".to_string(), Val::Unknown),
    ];
    assert_eq!(planned, BTreeMap::from(want));
    // A newer Vault version rewrites every copy.
    let prior = State {
        vault_versions: Val::all_known(BTreeMap::from([("secret/ci".to_string(), 1)])),
        ..prior
    };
    private.set(PRIVATE_VAULT_CURRENT, &BTreeMap::from([("secret/ci", 2)]));
    let planned = planned_copies(&prior, &prior.clone(), &nss, &private);
    assert!(planned.values().all(Val::is_unknown));
}
