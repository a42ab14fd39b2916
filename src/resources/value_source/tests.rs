use super::vault::{ROTATED, SAME_AT};
use super::*;

fn vault(path: &str, key: &str) -> Val<VaultRef> {
    Val::Known(VaultRef {
        mount: Val::Null,
        path: Val::Known(path.into()),
        key: Val::Known(key.into()),
    })
}

fn errors(s: &Source) -> Vec<String> {
    let mut d = Diagnostics::new();
    validate(&VALUE, s, &mut d);
    d.0.iter()
        .map(|d| format!("{} @ {}", d.summary, d.path.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn exactly_one_source_named_by_attribute() {
    let none = Source::default();
    assert_eq!(errors(&none), ["No value source @ value"]);
    let two = Source {
        value: Val::Known("a-value".into()),
        vault: vault("ci/global", "k"),
        ..Default::default()
    };
    assert_eq!(errors(&two), ["Conflicting value sources @ value"]);
    let unknown_and_wo = Source {
        value: Val::Unknown,
        wo: Val::Known("wo-value".into()),
        wo_version: Val::Known("1".into()),
        ..Default::default()
    };
    assert_eq!(
        errors(&unknown_and_wo),
        ["Conflicting value sources @ value"]
    );
    let wo_alone = Source {
        wo: Val::Known("wo-value".into()),
        ..Default::default()
    };
    assert_eq!(
        errors(&wo_alone),
        ["`value_wo` needs `value_wo_version` @ value_wo_version"]
    );
    let version_alone = Source {
        wo_version: Val::Known("1".into()),
        ..Default::default()
    };
    assert_eq!(
        errors(&version_alone),
        ["`value_wo_version` without `value_wo` @ value_wo_version"]
    );
    assert!(errors(&Source {
        vault: vault("ci/global", "k"),
        ..Default::default()
    })
    .is_empty());
    let empty = Source {
        value: Val::Known(String::new()),
        ..Default::default()
    };
    assert_eq!(errors(&empty), ["Empty value @ value"]);
}

#[test]
fn plan_writes_only_on_a_change_or_a_rotation() {
    let stored = Source {
        vault: vault("ci/global", "k"),
        version: Val::Known(3),
        ..Default::default()
    };
    let planned = Source {
        version: Val::Unknown,
        ..stored.clone()
    };
    let mut private = Private::default();
    // Create: version known after apply.
    assert_eq!(plan(None, &planned, &private), (true, Val::Unknown));
    // Nothing changed: the version stays.
    assert_eq!(
        plan(Some(&stored), &planned, &private),
        (false, Val::Known(3))
    );
    // Rotated (refresh said so): rewrite, version unknown.
    private.set(ROTATED, &true);
    assert_eq!(
        plan(Some(&stored), &planned, &private),
        (true, Val::Unknown)
    );
    // Another key: rewrite.
    private.set(ROTATED, &false);
    let other = Source {
        vault: vault("ci/global", "other"),
        ..planned.clone()
    };
    assert_eq!(plan(Some(&stored), &other, &private), (true, Val::Unknown));
    // From Vault to a plain value: no version any more.
    let plain = Source {
        value: Val::Known("v-1234".into()),
        ..Default::default()
    };
    assert_eq!(plan(Some(&stored), &plain, &private), (true, Val::Null));
    // A bumped write-only version writes; the same one does not.
    let wo1 = Source {
        wo_version: Val::Known("1".into()),
        ..Default::default()
    };
    let wo2 = Source {
        wo_version: Val::Known("2".into()),
        ..Default::default()
    };
    assert_eq!(plan(Some(&wo1), &wo1, &private), (false, Val::Null));
    assert_eq!(plan(Some(&wo1), &wo2, &private), (true, Val::Null));
}

#[test]
fn apply_agrees_with_the_plan() {
    let stored = Source {
        vault: vault("ci/global", "k"),
        version: Val::Known(3),
        ..Default::default()
    };
    assert!(!needs_write(Some(&stored), &stored));
    let rotated = Source {
        version: Val::Unknown,
        ..stored.clone()
    };
    assert!(needs_write(Some(&stored), &rotated));
    assert!(needs_write(None, &stored));
    // After an import nothing is known of the value: write it.
    assert!(needs_write(Some(&Source::default()), &stored));
}

#[test]
fn written_sets_the_baseline_and_plain_values_forget_it() {
    let mut p = Private::default();
    written(&mut p, &Val::Known(7));
    assert_eq!(p.get::<i64>(SAME_AT), Some(7));
    assert_eq!(p.get::<bool>(ROTATED), Some(false));
    written(&mut p, &Val::Null);
    assert!(p.0.is_empty());
}
