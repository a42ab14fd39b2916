//! `cicd_registry_credentials` import.

use super::{Registry, State};
use crate::clients::kubernetes::{self, KubeClient};
use crate::pull_secret::Copies;
use std::collections::{BTreeMap, BTreeSet};
use tfplugin::diagnostics::Diagnostics;
use tfplugin::typed::Val;

/// Import `namespace/name`, or `ns1,ns2,.../name` for the copies in several namespaces: the
/// namespaces, each registry's user name, the labels and annotations the copies carry, and each
/// copy's hash. Passwords cannot be read back: the next apply writes them.
pub async fn import(kube: &KubeClient, id: &str, diags: &mut Diagnostics) -> Option<State> {
    let Some((namespaces, name)) = parse_import_id(id) else {
        let detail = format!("Expected namespace/name or ns1,ns2,.../name, got: {id}");
        return diags.push_err("Invalid import id", &detail);
    };
    let (mut registries, mut secrets) = (BTreeMap::new(), BTreeMap::new());
    let (mut labels, mut annotations) = (BTreeMap::new(), BTreeMap::new());
    for ns in &namespaces {
        let s = match kube.get_secret(ns, name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                let summary = format!("Cannot import Secret {ns}/{name}");
                return diags.push_err(summary, &"No such Secret.");
            }
            Err(e) => return diags.push_err(format!("Could not read Secret {ns}/{name}"), &e),
        };
        for (host, user) in kubernetes::pull_secret_users(&s) {
            let login = Registry {
                username: user.into(),
                ..Default::default()
            };
            registries.insert(host, login);
        }
        // The labels and annotations the copies carry are taken as configured ones.
        labels.extend(s.metadata.labels.clone().unwrap_or_default());
        annotations.extend(s.metadata.annotations.clone().unwrap_or_default());
        secrets.insert(ns.clone(), s);
    }
    let copies = Copies::new(kube, name, &labels, &annotations, String::new());
    let hash = |(ns, s): (&String, &_)| (ns.clone(), Val::Known(copies.hash(s)));
    let hashes = secrets.iter().map(hash).collect();
    let non_empty = |m: BTreeMap<String, String>| match m.is_empty() {
        true => Val::Null,
        false => Val::Known(m),
    };
    Some(State {
        id: Val::Known(name.to_string()),
        name: Val::Known(name.to_string()),
        namespaces: Val::Known(namespaces),
        registries: Val::Known(registries),
        labels: non_empty(labels.clone()),
        annotations: non_empty(annotations.clone()),
        copies: Val::Known(hashes),
        vault_versions: Val::Known(BTreeMap::new()),
    })
}

/// `namespace/name` or `ns1,ns2,.../name`: the namespaces and the Secret's name.
fn parse_import_id(id: &str) -> Option<(BTreeSet<String>, &str)> {
    let (nss, name) = id.split_once('/')?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let nss: BTreeSet<String> = nss.split(',').map(|n| n.trim().to_string()).collect();
    (!nss.iter().any(String::is_empty)).then_some((nss, name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn import_ids() {
        let (nss, name) = super::parse_import_id("a,b/creds").unwrap();
        assert_eq!(
            (nss.into_iter().collect::<Vec<_>>(), name),
            (vec!["a".into(), "b".into()], "creds")
        );
        assert!(super::parse_import_id("a/creds").is_some());
        for bad in ["creds", "a/", "/creds", "a,,b/creds", "a/b/c"] {
            assert!(super::parse_import_id(bad).is_none(), "{bad}");
        }
    }
}
