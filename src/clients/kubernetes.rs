//! Kubernetes client (kube-rs) built from the provider's `kubernetes` settings: a kubeconfig
//! (path + context), explicit host/token/CA, or the in-cluster service account.
//!
//! What the resources need and nothing more: namespace existence, Secrets get / server-side
//! apply / delete, Deployments listed once per namespace (shared through a `ListCache`, so a
//! refresh of N image deployments in one namespace costs one list request), server-side apply
//! of one container's image, a rollout watch with `kubectl rollout status`'s rules, and the
//! nodes' platforms. Every request is counted and logged at debug as "http request" (method +
//! path, like `clients::http`), so benchmarks can count them.

use super::cache::ListCache;
use super::Error;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Secret as KubeSecret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tfplugin::secret::Secret;
use tokio_util::sync::CancellationToken;

pub const SYSTEM: &str = "Kubernetes";
/// The field manager of every write this provider makes.
pub const FIELD_MANAGER: &str = "cicd";

fn note(method: &str, path: &str) {
    super::http::note_request(SYSTEM, method, path);
}

/// kube-rs errors as the provider's errors: the API's status code and message are kept.
fn err(method: &str, path: &str, e: kube::Error) -> Error {
    match e {
        kube::Error::Api(s) => Error::Status {
            system: SYSTEM,
            method: method.to_string(),
            path: path.to_string(),
            status: s.code,
            message: s.message.clone(),
        },
        other => Error::Transport {
            system: SYSTEM,
            method: method.to_string(),
            path: path.to_string(),
            message: other.to_string(),
        },
    }
}

/// Where a container was found in a pod template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundContainer {
    pub init: bool,
    pub image: Option<String>,
}

/// A Kubernetes object name that must be an RFC 1123 label (namespaces, container names):
/// lower-case letters, digits and '-', starting and ending alphanumeric, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$").expect("static regex")
    })
    .is_match(s)
}

/// A Kubernetes object name that must be an RFC 1123 subdomain (most objects, Secrets among
/// them): lower-case letters, digits, '-' and '.', starting and ending alphanumeric, at most
/// 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$").expect("static regex")
    })
    .is_match(s)
}

/// A container by name among `initContainers` and `containers` (as `kubectl set image` looks).
pub fn find_container(d: &Deployment, name: &str) -> Option<FoundContainer> {
    let spec = d.spec.as_ref()?.template.spec.as_ref()?;
    if let Some(c) = spec.containers.iter().find(|c| c.name == name) {
        return Some(FoundContainer {
            init: false,
            image: c.image.clone(),
        });
    }
    spec.init_containers
        .iter()
        .flatten()
        .find(|c| c.name == name)
        .map(|c| FoundContainer {
            init: true,
            image: c.image.clone(),
        })
}

/// Every container name of the pod template (init containers first), for error messages.
pub fn container_names(d: &Deployment) -> Vec<String> {
    let Some(spec) = d.spec.as_ref().and_then(|s| s.template.spec.as_ref()) else {
        return vec![];
    };
    spec.init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .map(|c| c.name.clone())
        .collect()
}

pub fn revision(d: &Deployment) -> Option<String> {
    d.metadata
        .annotations
        .as_ref()?
        .get("deployment.kubernetes.io/revision")
        .cloned()
}

/// The containers (init?, name) whose `image` field `manager` owns through server-side apply,
/// from `metadata.managedFields` (`f:containers` / `k:{"name":"app"}` / `f:image`).
pub fn owned_images(d: &Deployment, manager: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for m in d.metadata.managed_fields.iter().flatten() {
        if m.manager.as_deref() != Some(manager) || m.operation.as_deref() != Some("Apply") {
            continue;
        }
        let Some(f) = &m.fields_v1 else { continue };
        let spec = &f.0["f:spec"]["f:template"]["f:spec"];
        for (list, init) in [("f:containers", false), ("f:initContainers", true)] {
            for (k, v) in spec[list].as_object().into_iter().flatten() {
                if v.get("f:image").is_none() {
                    continue;
                }
                let Some(key) = k.strip_prefix("k:") else {
                    continue;
                };
                if let Ok(j) = serde_json::from_str::<serde_json::Value>(key) {
                    if let Some(n) = j["name"].as_str() {
                        out.push((init, n.to_string()));
                    }
                }
            }
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollout {
    Complete,
    Waiting(String),
    Failed(String),
}

/// In one word (and the reason of a failure): `complete`, `progressing`, `failed: <reason>`.
impl std::fmt::Display for Rollout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rollout::Complete => f.write_str("complete"),
            Rollout::Waiting(_) => f.write_str("progressing"),
            Rollout::Failed(r) => write!(f, "failed: {r}"),
        }
    }
}

/// `kubectl rollout status` for a Deployment (pkg/polymorphichelpers/rollout_status.go).
pub fn rollout_state(d: &Deployment) -> Rollout {
    let name = d.metadata.name.clone().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let st = d.status.clone().unwrap_or_default();
    if generation > st.observed_generation.unwrap_or(0) {
        return Rollout::Waiting("waiting for the deployment spec update to be observed".into());
    }
    if let Some(c) = st
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing")
    {
        if c.reason.as_deref() == Some("ProgressDeadlineExceeded") {
            return Rollout::Failed(format!(
                "deployment {name:?} exceeded its progress deadline (ProgressDeadlineExceeded): {}",
                c.message.clone().unwrap_or_default()
            ));
        }
    }
    let updated = st.updated_replicas.unwrap_or(0);
    if let Some(want) = d.spec.as_ref().and_then(|s| s.replicas) {
        if updated < want {
            return Rollout::Waiting(format!(
                "{updated} out of {want} new replicas have been updated"
            ));
        }
    }
    if st.replicas.unwrap_or(0) > updated {
        return Rollout::Waiting(format!(
            "{} old replicas are pending termination",
            st.replicas.unwrap_or(0) - updated
        ));
    }
    let available = st.available_replicas.unwrap_or(0);
    if available < updated {
        return Rollout::Waiting(format!(
            "{available} of {updated} updated replicas are available"
        ));
    }
    Rollout::Complete
}

/// The data key of a `kubernetes.io/dockerconfigjson` Secret.
pub const DOCKERCONFIG: &str = ".dockerconfigjson";

/// A `kubernetes.io/dockerconfigjson` Secret that this provider writes and owns whole.
pub struct PullSecret<'a> {
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    /// The `.dockerconfigjson` document, see [`dockerconfigjson`].
    pub config: String,
}

impl PullSecret<'_> {
    /// The Secret in `ns` as it is applied: every field the provider owns (labels and
    /// annotations even when empty). Every field of a typed Secret is optional, so nothing is
    /// sent empty and claimed by accident.
    pub fn body(&self, ns: &str) -> KubeSecret {
        KubeSecret {
            metadata: ObjectMeta {
                name: Some(self.name.to_string()),
                namespace: Some(ns.to_string()),
                labels: Some(self.labels.clone()),
                annotations: Some(self.annotations.clone()),
                ..Default::default()
            },
            type_: Some("kubernetes.io/dockerconfigjson".into()),
            data: Some(BTreeMap::from([(
                DOCKERCONFIG.to_string(),
                ByteString(self.config.as_bytes().to_vec()),
            )])),
            ..Default::default()
        }
    }
}

/// `{"auths":{host:{username,password,auth}}}` from registry host to (username, password).
pub fn dockerconfigjson(auths: &BTreeMap<String, (String, String)>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = serde_json::Map::new();
    for (host, (u, p)) in auths {
        out.insert(
            host.clone(),
            serde_json::json!({"username": u, "password": p, "auth": b64.encode(format!("{u}:{p}"))}),
        );
    }
    serde_json::json!({ "auths": out }).to_string()
}

/// The user name per registry host in a pull secret's `.dockerconfigjson` (never the
/// passwords); empty when the Secret holds no such document.
pub fn pull_secret_users(s: &KubeSecret) -> BTreeMap<String, Option<String>> {
    let raw = s
        .data
        .as_ref()
        .and_then(|d| d.get(DOCKERCONFIG))
        .map(|b| b.0.clone())
        .unwrap_or_default();
    let j: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_default();
    let auths = j["auths"].as_object().into_iter().flatten();
    auths
        .map(|(host, a)| (host.clone(), a["username"].as_str().map(str::to_string)))
        .collect()
}

/// The minimal object a server-side apply of one container's image sends: only the fields
/// this provider owns (containers merge by name). NOTE: not the typed Deployment struct, whose
/// required selector/template fields would be sent empty and claimed.
pub fn image_apply_body(
    namespace: &str,
    name: &str,
    container: &str,
    init: bool,
    image: &str,
) -> serde_json::Value {
    let list = if init { "initContainers" } else { "containers" };
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {list: [{"name": container, "image": image}]}}},
    })
}

/// The outcome of an image apply: the image before, and the Deployment as the API returned it.
pub struct ImageApplied {
    pub previous: Option<String>,
    pub deployment: Deployment,
}

/// Why [`KubeClient::apply_image`] did not set the image: the message is a summary,
/// [`Self::detail`] says more.
#[derive(Debug, thiserror::Error)]
pub enum ApplyImageError {
    /// `namespace/name`.
    #[error("Could not set the image of deployment {0}")]
    NoDeployment(String),
    /// A [`TargetError::NoContainer`].
    #[error(transparent)]
    NoContainer(TargetError),
    /// Another field manager owns the image (server-side apply without `force`).
    #[error("Field manager conflict setting the image of deployment {deployment}")]
    Conflict {
        deployment: String,
        container: String,
        #[source]
        source: Error,
    },
    #[error("Could not set the image of deployment {0}")]
    Api(String, #[source] Error),
}

impl ApplyImageError {
    pub fn detail(&self) -> String {
        match self {
            ApplyImageError::NoDeployment(_) => "The Deployment does not exist.".into(),
            ApplyImageError::NoContainer(e) => e.detail(),
            ApplyImageError::Conflict {
                container, source, ..
            } => format!("{source}\n\nAnother field manager (named above, e.g. kubectl-set from `kubectl set image`, or Helm) owns the image of container {container}. Set force = true to take ownership of that field; nothing was changed."),
            ApplyImageError::Api(_, e) => e.to_string(),
        }
    }

    /// A failed request: a conflict when the API server answered 409.
    fn api(deployment: String, container: &str, e: Error) -> Self {
        if e.is_conflict() {
            ApplyImageError::Conflict {
                deployment,
                container: container.to_string(),
                source: e,
            }
        } else {
            ApplyImageError::Api(deployment, e)
        }
    }
}

/// Why [`KubeClient::find_target`] did not find the container: the message is a summary,
/// [`Self::detail`] says more.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("Namespace {0} does not exist")]
    NoNamespace(String),
    #[error("Could not check namespace {0}")]
    Namespace(String, #[source] Error),
    /// `namespace/name`.
    #[error("Deployment {0} does not exist")]
    NoDeployment(String),
    #[error("Could not read deployment {0}")]
    Deployment(String, #[source] Error),
    #[error("Container {container} not found in deployment {deployment}")]
    NoContainer {
        deployment: String,
        container: String,
        /// The containers the pod template has.
        names: Vec<String>,
    },
}

impl TargetError {
    pub fn detail(&self) -> String {
        match self {
            TargetError::NoNamespace(_) => "The Kubernetes namespace was not found.".into(),
            TargetError::NoDeployment(_) => {
                "The Deployment was not found in that namespace.".into()
            }
            TargetError::Namespace(_, e) | TargetError::Deployment(_, e) => e.to_string(),
            TargetError::NoContainer {
                container, names, ..
            } => format!(
                "unable to find container named {container:?}; the pod template has: {}.",
                names.join(", ")
            ),
        }
    }
}

pub enum RolloutError {
    Failed {
        reason: String,
        last: Box<Deployment>,
    },
    Timeout {
        waiting: String,
        last: Box<Deployment>,
    },
    Cancelled {
        last: Box<Deployment>,
    },
    Gone,
    Api(Error),
}

/// How to reach the cluster (what the provider's `kubernetes` block resolves to).
#[derive(Clone, Debug)]
pub enum KubeConfig {
    Kubeconfig {
        path: Option<String>,
        context: Option<String>,
    },
    Explicit {
        host: String,
        token: Option<Secret>,
        ca_pem: Option<String>,
    },
    InCluster,
}

pub struct KubeClient {
    client: kube::Client,
    deployments: ListCache<Vec<Deployment>>,
    namespaces: ListCache<bool>,
    platforms: ListCache<Vec<(String, String)>>,
    apply_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A kubeconfig path as kubectl takes it from KUBECONFIG: one file, or several joined with the
/// platform's path separator (`:`), merged in order (the first file to set a value wins), where
/// empty entries and files that do not exist are skipped as long as one remains.
fn read_kubeconfig(paths: &str) -> Result<Kubeconfig, String> {
    let list: Vec<_> = std::env::split_paths(paths)
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    let read = |p: &std::path::Path| {
        Kubeconfig::read_from(p)
            .map_err(|e| format!("could not read kubeconfig {}: {e}", p.display()))
    };
    if let [one] = list.as_slice() {
        return read(one);
    }
    let existing: Vec<_> = list.iter().filter(|p| p.exists()).collect();
    if existing.is_empty() {
        return Err(format!("none of the kubeconfig files {paths} exists"));
    }
    existing
        .into_iter()
        .try_fold(Kubeconfig::default(), |merged, p| {
            merged
                .merge(read(p)?)
                .map_err(|e| format!("could not merge kubeconfig {}: {e}", p.display()))
        })
}

#[cfg(test)]
mod kubeconfig_paths {
    use super::read_kubeconfig;

    fn file(dir: &std::path::Path, name: &str, cluster: &str, context: Option<&str>) -> String {
        let current = context
            .map(|c| format!("current-context: {c}\n"))
            .unwrap_or_default();
        let text = format!(
            "apiVersion: v1\nkind: Config\n{current}clusters:\n- name: {cluster}\n  cluster:\n    server: https://{cluster}.example:6443\ncontexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: {cluster}\nusers:\n- name: {cluster}\n  user:\n    token: t-{cluster}\n"
        );
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    #[test]
    fn several_paths_are_merged_like_kubectl() {
        let d = tempfile::tempdir().unwrap();
        let a = file(d.path(), "a", "alpha", Some("alpha"));
        let b = file(d.path(), "b", "beta", Some("beta"));
        let missing = d.path().join("missing").display().to_string();
        let kc = read_kubeconfig(&format!("{a}:{missing}::{b}")).unwrap();
        let names: Vec<_> = kc.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["alpha", "beta"]);
        // The first file to set current-context wins.
        assert_eq!(kc.current_context.as_deref(), Some("alpha"));
        // One path must exist; none of several is an error naming them.
        assert!(read_kubeconfig(&missing).is_err());
        let e = read_kubeconfig(&format!("{missing}:{missing}2")).unwrap_err();
        assert!(e.contains("none of the kubeconfig files"), "{e}");
    }
}

async fn config_for(s: &KubeConfig) -> Result<kube::Config, Error> {
    let bad = |e: String| Error::Other(format!("invalid Kubernetes settings: {e}"));
    match s {
        KubeConfig::Kubeconfig { path, context } => {
            let kc = match path {
                Some(p) => read_kubeconfig(p).map_err(bad)?,
                None => Kubeconfig::read().map_err(|e| bad(e.to_string()))?,
            };
            let opts = KubeConfigOptions {
                context: context.clone(),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| bad(e.to_string()))
        }
        KubeConfig::Explicit {
            host,
            token,
            ca_pem,
        } => {
            use base64::Engine;
            let mut cluster = serde_json::json!({"server": host});
            if let Some(ca) = ca_pem {
                cluster["certificate-authority-data"] = base64::engine::general_purpose::STANDARD
                    .encode(ca.as_bytes())
                    .into();
            }
            let mut user = serde_json::json!({});
            if let Some(t) = token {
                user["token"] = t.expose().into();
            }
            let doc = serde_json::json!({
                "apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            });
            // JSON is YAML: the kubeconfig loader handles CA data and tokens for us.
            let kc = Kubeconfig::from_yaml(&doc.to_string()).map_err(|e| bad(e.to_string()))?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|e| bad(e.to_string()))
        }
        KubeConfig::InCluster => {
            kube::Config::incluster().map_err(|e| bad(format!("in-cluster configuration: {e}")))
        }
    }
}

impl KubeClient {
    pub async fn connect(s: &KubeConfig) -> Result<KubeClient, Error> {
        let cfg = config_for(s).await?;
        let client = kube::Client::try_from(cfg)
            .map_err(|e| Error::Other(format!("could not build the Kubernetes client: {e}")))?;
        let ttl = Duration::from_secs(60);
        Ok(KubeClient {
            client,
            deployments: ListCache::new(ttl),
            namespaces: ListCache::new(ttl),
            platforms: ListCache::new(Duration::from_secs(300)),
            apply_locks: Default::default(),
        })
    }

    pub async fn namespace_exists(&self, ns: &str) -> Result<bool, Error> {
        let r = self
            .namespaces
            .get_or_fetch(ns, || async {
                let path = format!("/api/v1/namespaces/{ns}");
                note("GET", &path);
                let api: Api<Namespace> = Api::all(self.client.clone());
                api.get_opt(ns)
                    .await
                    .map(|n| n.is_some())
                    .map_err(|e| err("GET", &path, e))
            })
            .await?;
        Ok(*r)
    }

    pub async fn get_secret(&self, ns: &str, name: &str) -> Result<Option<KubeSecret>, Error> {
        let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
        note("GET", &path);
        let api: Api<KubeSecret> = Api::namespaced(self.client.clone(), ns);
        api.get_opt(name).await.map_err(|e| err("GET", &path, e))
    }

    /// Server-side apply of a pull secret in `ns` (`force`: the provider is the Secret's only
    /// rightful writer, so a hand edit's field ownership is taken back).
    pub async fn apply_pull_secret(
        &self,
        ns: &str,
        secret: &PullSecret<'_>,
    ) -> Result<KubeSecret, Error> {
        let name = secret.name;
        let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
        note("PATCH", &path);
        let api: Api<KubeSecret> = Api::namespaced(self.client.clone(), ns);
        api.patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&secret.body(ns)),
        )
        .await
        .map_err(|e| err("PATCH", &path, e))
    }

    /// Delete a Secret; one that is already gone is fine.
    pub async fn delete_secret(&self, ns: &str, name: &str) -> Result<(), Error> {
        let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
        note("DELETE", &path);
        let api: Api<KubeSecret> = Api::namespaced(self.client.clone(), ns);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = err("DELETE", &path, e);
                if e.is_not_found() {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Every Deployment of `ns`, listed once and shared by all readers for a minute.
    pub async fn deployments(&self, ns: &str) -> Result<Arc<Vec<Deployment>>, Error> {
        self.deployments
            .get_or_fetch(ns, || async {
                let path = format!("/apis/apps/v1/namespaces/{ns}/deployments");
                note("GET", &path);
                let api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
                api.list(&ListParams::default())
                    .await
                    .map(|l| l.items)
                    .map_err(|e| err("GET", &path, e))
            })
            .await
    }

    /// One Deployment from the shared namespace list.
    pub async fn deployment(&self, ns: &str, name: &str) -> Result<Option<Deployment>, Error> {
        let all = self.deployments(ns).await?;
        Ok(all
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(name))
            .cloned())
    }

    /// The Deployment that has `container`, from the shared list of `ns` (which must exist).
    pub async fn find_target(
        &self,
        ns: &str,
        name: &str,
        container: &str,
    ) -> Result<Deployment, TargetError> {
        match self.namespace_exists(ns).await {
            Ok(true) => {}
            Ok(false) => return Err(TargetError::NoNamespace(ns.into())),
            Err(e) => return Err(TargetError::Namespace(ns.into(), e)),
        }
        let d = match self.deployment(ns, name).await {
            Ok(Some(d)) => d,
            Ok(None) => return Err(TargetError::NoDeployment(format!("{ns}/{name}"))),
            Err(e) => return Err(TargetError::Deployment(format!("{ns}/{name}"), e)),
        };
        if find_container(&d, container).is_none() {
            return Err(TargetError::NoContainer {
                deployment: format!("{ns}/{name}"),
                container: container.into(),
                names: container_names(&d),
            });
        }
        Ok(d)
    }

    /// One Deployment read now (after writes).
    pub async fn deployment_fresh(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<Deployment>, Error> {
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
        note("GET", &path);
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
        api.get_opt(name).await.map_err(|e| err("GET", &path, e))
    }

    /// Server-side apply of one container's image with field manager `cicd`. Without `force`
    /// a field owned by another manager (`kubectl-set`, Helm, ...) is a 409 conflict.
    ///
    /// NOTE: an apply must carry every field its manager owns, or the API server removes the
    /// ones left out (server-side apply semantics). Several resources may set images of one
    /// Deployment (one per container), all as `cicd`: so the body also carries the other
    /// containers whose image `cicd` owns, at their current images, read under a
    /// per-Deployment lock so that parallel applies of this process do not race.
    pub async fn apply_image(
        &self,
        ns: &str,
        name: &str,
        container: &str,
        image: &str,
        force: bool,
    ) -> Result<ImageApplied, ApplyImageError> {
        let lock = {
            let mut m = self.apply_locks.lock().unwrap_or_else(|p| p.into_inner());
            m.entry(format!("{ns}/{name}")).or_default().clone()
        };
        let _guard = lock.lock().await;
        let deployment = format!("{ns}/{name}");
        let current = self
            .deployment_fresh(ns, name)
            .await
            .map_err(|e| ApplyImageError::api(deployment.clone(), container, e))?
            .ok_or_else(|| ApplyImageError::NoDeployment(deployment.clone()))?;
        let found = find_container(&current, container).ok_or_else(|| {
            ApplyImageError::NoContainer(TargetError::NoContainer {
                deployment: deployment.clone(),
                container: container.to_string(),
                names: container_names(&current),
            })
        })?;
        let init = found.init;
        let mut body = image_apply_body(ns, name, container, init, image);
        {
            let d = &current;
            for (other_init, other) in owned_images(d, FIELD_MANAGER) {
                if other == container && other_init == init {
                    continue;
                }
                let Some(found) = find_container(d, &other).filter(|f| f.init == other_init) else {
                    continue;
                };
                let list = if other_init {
                    "initContainers"
                } else {
                    "containers"
                };
                let spec = &mut body["spec"]["template"]["spec"];
                if spec.get(list).is_none() {
                    spec[list] = serde_json::json!([]);
                }
                if let Some(items) = spec[list].as_array_mut() {
                    items.push(serde_json::json!({"name": other, "image": found.image}));
                }
            }
        }
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
        note("PATCH", &path);
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
        let mut pp = PatchParams::apply(FIELD_MANAGER);
        pp.force = force;
        let r = api
            .patch(name, &pp, &Patch::Apply(&body))
            .await
            .map_err(|e| ApplyImageError::api(deployment, container, err("PATCH", &path, e)));
        self.deployments.invalidate(ns);
        Ok(ImageApplied {
            previous: found.image,
            deployment: r?,
        })
    }

    /// Wait until the rollout of `name` completes, watching it (a `metadata.name` field
    /// selector, as kubectl does) rather than polling.
    pub async fn wait_rollout(
        &self,
        ns: &str,
        name: &str,
        start: Deployment,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Deployment, RolloutError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
        let mut last = start;
        loop {
            match rollout_state(&last) {
                Rollout::Complete => return Ok(last),
                Rollout::Failed(reason) => {
                    return Err(RolloutError::Failed {
                        reason,
                        last: Box::new(last),
                    })
                }
                Rollout::Waiting(_) => {}
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                let waiting = match rollout_state(&last) {
                    Rollout::Waiting(w) => w,
                    _ => String::new(),
                };
                return Err(RolloutError::Timeout {
                    waiting,
                    last: Box::new(last),
                });
            }
            let rv = last.metadata.resource_version.clone().unwrap_or_default();
            let wp = WatchParams::default()
                .fields(&format!("metadata.name={name}"))
                .timeout(left.as_secs().clamp(1, 290) as u32);
            let path = format!(
                "/apis/apps/v1/namespaces/{ns}/deployments?watch=1&fieldSelector=metadata.name={name}"
            );
            note("GET", &path);
            let stream = match api.watch(&wp, &rv).await {
                Ok(s) => s,
                Err(e) => return Err(RolloutError::Api(err("GET", &path, e))),
            };
            let mut stream = stream.boxed();
            let mut relist = false;
            loop {
                let next = tokio::select! {
                    _ = cancel.cancelled() => return Err(RolloutError::Cancelled { last: Box::new(last) }),
                    _ = tokio::time::sleep_until(deadline) => None,
                    ev = stream.try_next() => match ev {
                        Ok(ev) => ev,
                        Err(e) => return Err(RolloutError::Api(err("GET", &path, e))),
                    },
                };
                let Some(ev) = next else { break };
                match ev {
                    WatchEvent::Added(d) | WatchEvent::Modified(d) => {
                        last = d;
                        if !matches!(rollout_state(&last), Rollout::Waiting(_)) {
                            break;
                        }
                    }
                    WatchEvent::Deleted(_) => return Err(RolloutError::Gone),
                    WatchEvent::Bookmark(b) => {
                        last.metadata.resource_version = Some(b.metadata.resource_version)
                    }
                    WatchEvent::Error(s) => {
                        // 410 Gone: the resource version is too old; read again and re-watch.
                        if s.code == 410 {
                            relist = true;
                            break;
                        }
                        return Err(RolloutError::Api(Error::Status {
                            system: SYSTEM,
                            method: "GET".into(),
                            path,
                            status: s.code,
                            message: s.message.clone(),
                        }));
                    }
                }
            }
            if relist {
                match self.deployment_fresh(ns, name).await {
                    Ok(Some(d)) => last = d,
                    Ok(None) => return Err(RolloutError::Gone),
                    Err(e) => return Err(RolloutError::Api(e)),
                }
            }
        }
    }

    /// The distinct (os, architecture) pairs of the cluster's nodes (status.nodeInfo, else the
    /// `kubernetes.io/os` / `kubernetes.io/arch` labels). Empty when nodes cannot be listed.
    pub async fn node_platforms(&self) -> Result<Vec<(String, String)>, Error> {
        let r = self
            .platforms
            .get_or_fetch("nodes", || async {
                let path = "/api/v1/nodes";
                note("GET", path);
                let api: Api<Node> = Api::all(self.client.clone());
                let nodes = match api.list(&ListParams::default()).await {
                    Ok(l) => l.items,
                    Err(e) => {
                        let e = err("GET", path, e);
                        if e.is_forbidden() {
                            return Ok(vec![]);
                        }
                        return Err(e);
                    }
                };
                let mut out = BTreeSet::new();
                for n in nodes {
                    let labels = n.metadata.labels.clone().unwrap_or_default();
                    let info = n.status.and_then(|s| s.node_info);
                    let os = info
                        .as_ref()
                        .map(|i| i.operating_system.clone())
                        .filter(|s| !s.is_empty())
                        .or_else(|| labels.get("kubernetes.io/os").cloned());
                    let arch = info
                        .as_ref()
                        .map(|i| i.architecture.clone())
                        .filter(|s| !s.is_empty())
                        .or_else(|| labels.get("kubernetes.io/arch").cloned());
                    if let (Some(os), Some(arch)) = (os, arch) {
                        out.insert((os, arch));
                    }
                }
                Ok(out.into_iter().collect())
            })
            .await?;
        Ok((*r).clone())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn dns1123_labels() {
        for ok in ["a", "web", "apps-2", "x1"] {
            assert!(is_dns1123_label(ok), "{ok}");
        }
        for bad in ["", "Web", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn pull_secret_body_is_the_whole_secret() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let labels = BTreeMap::from([("team".to_string(), "a".to_string())]);
        let none = BTreeMap::new();
        let auths = BTreeMap::from([(
            "r.example:5000".to_string(),
            ("u".to_string(), "p:w".to_string()),
        )]);
        let config = dockerconfigjson(&auths);
        let s = PullSecret {
            name: "creds",
            labels: &labels,
            annotations: &none,
            config: config.clone(),
        };
        // What the body was as a hand-built JSON document.
        let want = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "ns1", "labels": {"team": "a"}, "annotations": {}},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {DOCKERCONFIG: b64.encode(&config)},
        });
        assert_eq!(serde_json::to_value(s.body("ns1")).unwrap(), want);
        let j: serde_json::Value = serde_json::from_str(&config).unwrap();
        let a = &j["auths"]["r.example:5000"];
        assert_eq!(
            (&a["username"], &a["password"]),
            (&"u".into(), &"p:w".into())
        );
        assert_eq!(a["auth"], b64.encode("u:p:w"));
        let users = pull_secret_users(&s.body("ns1"));
        assert_eq!(users["r.example:5000"].as_deref(), Some("u"));
    }

    fn dep(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rollout_rules_follow_kubectl() {
        let base = |gen: i64, status: serde_json::Value| {
            dep(serde_json::json!({
                "metadata": {"name": "web", "generation": gen},
                "spec": {"replicas": 2, "selector": {}, "template": {}},
                "status": status,
            }))
        };
        let cases = [
            (
                base(3, serde_json::json!({"observedGeneration": 2})),
                "observed",
            ),
            (
                base(
                    3,
                    serde_json::json!({"observedGeneration": 3, "updatedReplicas": 1, "replicas": 2}),
                ),
                "1 out of 2",
            ),
            (
                base(
                    3,
                    serde_json::json!({"observedGeneration": 3, "updatedReplicas": 2, "replicas": 3}),
                ),
                "pending termination",
            ),
            (
                base(
                    3,
                    serde_json::json!({"observedGeneration": 3, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 1}),
                ),
                "available",
            ),
        ];
        for (d, want) in cases {
            match rollout_state(&d) {
                Rollout::Waiting(w) => assert!(w.contains(want), "{w}"),
                other => panic!("{other:?}"),
            }
        }
        let done = base(
            3,
            serde_json::json!({"observedGeneration": 3, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}),
        );
        assert_eq!(rollout_state(&done), Rollout::Complete);
        let failed = base(
            3,
            serde_json::json!({"observedGeneration": 3, "conditions": [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                 "message": "ReplicaSet \"web-1\" has timed out progressing."}]}),
        );
        assert!(
            matches!(rollout_state(&failed), Rollout::Failed(m) if m.contains("ProgressDeadlineExceeded"))
        );
    }

    #[test]
    fn finds_init_containers_too() {
        let d = dep(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {}, "template": {"spec": {
                "initContainers": [{"name": "migrate", "image": "r/m:1"}],
                "containers": [{"name": "app", "image": "r/a:2"}]}}},
        }));
        assert_eq!(
            find_container(&d, "migrate"),
            Some(FoundContainer {
                init: true,
                image: Some("r/m:1".into())
            })
        );
        assert!(!find_container(&d, "app").unwrap().init);
        assert!(find_container(&d, "nope").is_none());
        assert_eq!(container_names(&d), ["migrate", "app"]);
        let body = image_apply_body("ns", "web", "migrate", true, "r/m:2");
        assert_eq!(
            body["spec"]["template"]["spec"]["initContainers"][0]["image"],
            "r/m:2"
        );
        assert!(body["spec"].get("selector").is_none());
    }

    #[test]
    fn owned_images_from_managed_fields() {
        let d = dep(serde_json::json!({
            "metadata": {"name": "web", "managedFields": [
                {"manager": "cicd", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:spec": {"f:template": {"f:spec": {
                        "f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}},
                        "f:initContainers": {"k:{\"name\":\"migrate\"}": {"f:image": {}, "f:name": {}}}}}}}},
                {"manager": "kubectl-set", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:spec": {"f:template": {"f:spec": {
                        "f:containers": {"k:{\"name\":\"side\"}": {"f:image": {}}}}}}}}]},
            "spec": {"selector": {}, "template": {}},
        }));
        assert_eq!(
            owned_images(&d, "cicd"),
            [(false, "app".to_string()), (true, "migrate".to_string())]
        );
    }
}
