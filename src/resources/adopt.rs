//! Taking over what exists: the resource identities (Terraform >= 1.12; what `terraform query`
//! results and `import { identity = {...} }` blocks carry) and the state of an existing object
//! as import and the list resources (`crate::list_resources`) see it.
//!
//! Each identity names the object the way the resource's import id does, so an identity is
//! imported through the same code as an id.

use super::image_deployment::{self as image, apply::from_cluster};
use super::registry_credentials::{self as creds, Registry};
use super::woodpecker_global_secret as global;
use super::woodpecker_repo::{self as repo, from_repo, same_name, ON_DESTROY};
use super::woodpecker_secret_common::{apply_remote, id_of, Model, SecretState};
use crate::clients::kubernetes::{pull_secret_users, KubeClient};
use crate::clients::woodpecker::{Repo, Secret};
use crate::image_check::DEFAULT_TAG_PATTERN;
use crate::pull_secret::Copies;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use serde_json::json;
use std::collections::BTreeMap;
use tfplugin::identity::{str_attr, Identity, IdentitySchema};
use tfplugin::typed::Val;

// ----- cicd_woodpecker_repo: { id } -----

pub fn woodpecker_repo() -> IdentitySchema {
    IdentitySchema::new().number("id", "Woodpecker's numeric id of the repository.")
}

pub fn of_woodpecker_repo(s: &repo::State) -> Option<Identity> {
    Some(Identity::from_iter([("id".into(), json!(s.id.known()?))]))
}

pub fn woodpecker_repo_import_id(i: &Identity) -> Option<String> {
    i.get("id").and_then(|v| v.as_i64()).map(|n| n.to_string())
}

/// The state of an active repo as import (by `id`: a name or number) and the list resource
/// see it: the settings as the server has them.
pub fn imported_repo(r: &Repo, id: &str) -> repo::State {
    let mut st = from_repo(r, &repo::State::default());
    if same_name(id, &r.full_name) {
        st.full_name = Val::Known(id.into());
    }
    (st.adopt_existing, st.on_destroy) = (Val::Known(false), Val::Known(ON_DESTROY[0].into()));
    st
}

// ----- cicd_image_deployment: { namespace, deployment, container } -----

pub fn image_deployment() -> IdentitySchema {
    IdentitySchema::new()
        .string("namespace", "Namespace of the Deployment.")
        .string("deployment", "Name of the Deployment.")
        .string("container", "Name of the container.")
}

pub fn of_image_deployment(s: &image::State) -> Option<Identity> {
    Some(Identity::from_iter([
        ("namespace".into(), json!(s.namespace.known()?)),
        ("deployment".into(), json!(s.deployment.known()?)),
        ("container".into(), json!(s.container.known()?)),
    ]))
}

pub fn image_deployment_import_id(i: &Identity) -> Option<String> {
    let [ns, d, c] = ["namespace", "deployment", "container"].map(|k| str_attr(i, k));
    Some(format!("{}/{}/{}", ns?, d?, c?))
}

/// The state of one container of a Deployment as import and the list resource see it: the
/// image as the cluster has it, the settings at their defaults.
pub fn imported_container(d: &Deployment, container: &str) -> Option<image::State> {
    let (ns, name) = (
        d.metadata.namespace.as_deref()?,
        d.metadata.name.as_deref()?,
    );
    let base = image::State {
        id: Val::Known(format!("{ns}/{name}/{container}")),
        namespace: Val::Known(ns.into()),
        deployment: Val::Known(name.into()),
        container: Val::Known(container.into()),
        tag_pattern: Val::Known(DEFAULT_TAG_PATTERN.into()),
        verify_image: Val::Known(true),
        force: Val::Known(true),
        wait_for_rollout: Val::Known(true),
        rollout_timeout: Val::Known(image::DEFAULT_TIMEOUT.into()),
        ..Default::default()
    };
    from_cluster(&base, d, container)
}

// ----- cicd_woodpecker_global_secret: { name } -----

pub fn global_secret() -> IdentitySchema {
    IdentitySchema::new().string("name", "Name of the global secret.")
}

pub fn of_secret(m: &Model) -> Option<Identity> {
    Some(Identity::from_iter([(
        "name".into(),
        json!(m.name.known()?),
    )]))
}

/// A global secret as import and the list resource see it: no value source (Woodpecker never
/// returns the value).
pub fn imported_global_secret(s: &Secret) -> Option<global::State> {
    let mut m = global::State::default().load();
    m.name = Val::Known(s.name.clone());
    let like = m.clone();
    apply_remote(&mut m, s, &like);
    m.id = Val::Known(id_of(&m)?);
    let mut st = global::State::default();
    st.store(m);
    Some(st)
}

// ----- cicd_registry_credentials: { namespace, name } -----

pub fn registry_credentials() -> IdentitySchema {
    IdentitySchema::new()
        .string(
            "namespace",
            "Namespace of the Secret (the first, for several copies).",
        )
        .string("name", "Name of the Secret.")
}

pub fn of_registry_credentials(s: &creds::State) -> Option<Identity> {
    let ns = s.namespaces.known()?.iter().next()?;
    Some(Identity::from_iter([
        ("namespace".into(), json!(ns)),
        ("name".into(), json!(s.name.known()?)),
    ]))
}

pub fn registry_credentials_import_id(i: &Identity) -> Option<String> {
    Some(format!(
        "{}/{}",
        str_attr(i, "namespace")?,
        str_attr(i, "name")?
    ))
}

/// One copy of a pull secret as import and the list resource see it: the users of each
/// registry, no password source (the provider did not write them).
pub fn imported_pull_secret(
    kube: &KubeClient,
    ns: &str,
    name: &str,
    s: &KubeSecret,
) -> creds::State {
    let login = |user: Option<String>| Registry {
        username: user.into(),
        ..Default::default()
    };
    let users = pull_secret_users(s).into_iter();
    let registries = users.map(|(host, user)| (host, login(user))).collect();
    let hash = Copies::named(kube, name).hash(s);
    creds::State {
        id: Val::Known(name.to_string()),
        name: Val::Known(name.to_string()),
        namespaces: Val::Known([ns.to_string()].into()),
        registries: Val::Known(registries),
        copies: Val::Known([(ns.to_string(), Val::Known(hash))].into()),
        vault_versions: Val::Known(BTreeMap::new()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_name_what_the_import_ids_name() {
        let st = image::State {
            namespace: Val::Known("web".into()),
            deployment: Val::Known("site".into()),
            container: Val::Known("app".into()),
            ..Default::default()
        };
        let id = of_image_deployment(&st).unwrap();
        assert_eq!(image_deployment_import_id(&id).unwrap(), "web/site/app");
        // Unknown parts: no identity (Terraform rejects identities with unknowns).
        let st = image::State {
            container: Val::Unknown,
            ..st
        };
        assert!(of_image_deployment(&st).is_none());

        let repo = repo::State {
            id: Val::Known(12),
            ..Default::default()
        };
        let id = of_woodpecker_repo(&repo).unwrap();
        assert_eq!(woodpecker_repo_import_id(&id).unwrap(), "12");

        let pull = creds::State {
            name: Val::Known("registry-credentials".into()),
            namespaces: Val::Known(["b".into(), "a".into()].into()),
            ..Default::default()
        };
        let id = of_registry_credentials(&pull).unwrap();
        assert_eq!(
            registry_credentials_import_id(&id).unwrap(),
            "a/registry-credentials"
        );

        let mut half = Identity::new();
        half.insert("namespace".into(), json!("a"));
        assert!(registry_credentials_import_id(&half).is_none());
        half.insert("name".into(), json!(""));
        assert!(registry_credentials_import_id(&half).is_none());
    }
}
