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
use super::retry::{self, Verdict};
use super::Error;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Secret as KubeSecret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tfplugin::secret::Secret;

pub const SYSTEM: &str = "Kubernetes";
/// The field manager of every write this provider makes.
pub const FIELD_MANAGER: &str = "cicd";
/// The field manager of a rollout restart (see [`KubeClient::restart_rollout`]).
pub const RESTART_MANAGER: &str = "cicd-rollout-restart";
/// The pod template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

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

/// The apply body for `container` of Deployment `d` as read: the image, the other containers
/// whose image `cicd` owns at their images as read (an apply must carry every field its manager
/// owns), and the read `metadata.resourceVersion`, so that the apply fails with 409 if another
/// writer changed the Deployment since.
pub fn image_apply_body_from(
    d: &Deployment,
    namespace: &str,
    name: &str,
    container: &str,
    init: bool,
    image: &str,
) -> serde_json::Value {
    let mut body = image_apply_body(namespace, name, container, init, image);
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
    if let Some(rv) = &d.metadata.resource_version {
        body["metadata"]["resourceVersion"] = rv.clone().into();
    }
    body
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
    /// Something the same apply may still create (a namespace, a Deployment, a container).
    pub fn may_appear(&self) -> bool {
        matches!(
            self,
            TargetError::NoNamespace(_)
                | TargetError::NoDeployment(_)
                | TargetError::NoContainer { .. }
        )
    }

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
    /// Each namespace's Deployments; `None` when this identity may not list them (a
    /// namespaced Role with `resourceNames`): then each Deployment is read with a GET.
    deployments: ListCache<Option<Vec<Deployment>>>,
    /// `None` when this identity may not read the (cluster-scoped) namespace.
    namespaces: ListCache<Option<bool>>,
    platforms: ListCache<Vec<(String, String)>>,
    /// The newest copy of each Deployment (`ns/name`) this process wrote or read one by one:
    /// newer than the shared list, which is not re-read after every write.
    latest: std::sync::Mutex<HashMap<String, Deployment>>,
    apply_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// One rollout watch per namespace, shared by every rollout wait (see [`super::kube_watch`]).
    pub(super) watches: super::kube_watch::Watches,
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

/// Longest wait for the answer to one request (watches excepted, which the server ends).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How many times an image apply is read again and retried after another writer changed the
/// Deployment between the read and the apply.
const STALE_RETRIES: u32 = 5;

/// A failed attempt: worth another on a connection error, a timeout, 429 or 502-504.
fn transient(e: &Error) -> Verdict {
    match e {
        Error::Transport { .. } => Verdict::Retry(None),
        Error::Status { status, .. } if retry::transient_status(*status) => Verdict::Retry(None),
        _ => Verdict::Fail,
    }
}

/// One request with a timeout, counted and logged; `None` for the answer's lateness.
async fn once<T, Fut>(method: &str, path: &str, fut: Fut) -> Result<T, Error>
where
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    note(method, path);
    match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
        Ok(r) => r.map_err(|e| err(method, path, e)),
        Err(_) => Err(Error::Transport {
            system: SYSTEM,
            method: method.to_string(),
            path: path.to_string(),
            message: format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()),
        }),
    }
}

/// A read or an idempotent write (server-side apply, DELETE): [`once`], retried with backoff
/// on transient failures (`clients::retry`).
async fn idempotent<T, F, Fut>(method: &str, path: &str, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let what = format!("{method} {path}");
    retry::retry(
        retry::Policy::DEFAULT,
        &what,
        || once(method, path, op()),
        transient,
    )
    .await
}

/// A 409 from an apply that carried `metadata.resourceVersion`: another writer changed the
/// object since it was read (not a field manager conflict).
pub fn is_stale(e: &Error) -> bool {
    matches!(e, Error::Status { status: 409, message, .. } if message.contains("the object has been modified"))
}

/// Whether `a` is a newer copy of an object than `b` (resource versions compared as the
/// integers the API server uses; an unreadable one counts as newer).
pub fn newer(a: &Deployment, b: &Deployment) -> bool {
    let rv = |d: &Deployment| {
        d.metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
    };
    match (rv(a), rv(b)) {
        (Some(x), Some(y)) => x > y,
        _ => true,
    }
}

/// What [`KubeClient::find_target`] found, and what it could not check (for warnings).
pub struct Found {
    pub deployment: Deployment,
    /// Checks skipped for lack of permission, as sentences.
    pub unchecked: Vec<String>,
}

impl KubeClient {
    pub async fn connect(s: &KubeConfig) -> Result<KubeClient, Error> {
        let mut cfg = config_for(s).await?;
        cfg.connect_timeout = Some(Duration::from_secs(15));
        tfplugin::tls::install_default();
        let client = kube::Client::try_from(cfg)
            .map_err(|e| Error::Other(format!("could not build the Kubernetes client: {e}")))?;
        let ttl = Duration::from_secs(60);
        Ok(KubeClient {
            client,
            deployments: ListCache::new(ttl),
            namespaces: ListCache::new(ttl),
            platforms: ListCache::new(Duration::from_secs(300)),
            latest: Default::default(),
            apply_locks: Default::default(),
            watches: Default::default(),
        })
    }

    pub(super) fn kube(&self) -> kube::Client {
        self.client.clone()
    }

    /// Whether namespace `ns` exists; `None` when this identity may not read namespaces (a
    /// namespaced Role): the caller goes on without knowing.
    pub async fn namespace_exists(&self, ns: &str) -> Result<Option<bool>, Error> {
        let r = self
            .namespaces
            .get_or_fetch(ns, || async {
                let path = format!("/api/v1/namespaces/{ns}");
                let api: Api<Namespace> = Api::all(self.client.clone());
                match idempotent("GET", &path, || api.get_opt(ns)).await {
                    Ok(n) => Ok(Some(n.is_some())),
                    Err(e) if e.is_forbidden() => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(*r)
    }

    pub async fn get_secret(&self, ns: &str, name: &str) -> Result<Option<KubeSecret>, Error> {
        let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
        let api: Api<KubeSecret> = Api::namespaced(self.client.clone(), ns);
        idempotent("GET", &path, || api.get_opt(name)).await
    }

    /// Server-side apply of a pull secret in `ns` (`force`: the provider is the Secret's only
    /// rightful writer, so a hand edit's field ownership is taken back). Idempotent, so
    /// retried on transient failures.
    pub async fn apply_pull_secret(
        &self,
        ns: &str,
        secret: &PullSecret<'_>,
    ) -> Result<KubeSecret, Error> {
        let name = secret.name;
        let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
        let api: Api<KubeSecret> = Api::namespaced(self.client.clone(), ns);
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        let body = Patch::Apply(secret.body(ns));
        idempotent("PATCH", &path, || api.patch(name, &pp, &body)).await
    }

    /// Delete a Secret; one that is already gone is fine (so a retried DELETE is too).
    pub async fn delete_secret(&self, ns: &str, name: &str) -> Result<(), Error> {
        let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
        let api: Api<KubeSecret> = Api::namespaced(self.client.clone(), ns);
        let dp = DeleteParams::default();
        match idempotent("DELETE", &path, || api.delete(name, &dp)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every Deployment of `ns`, listed once and shared by all readers for a minute; `None`
    /// when this identity may not list them.
    pub async fn deployments(&self, ns: &str) -> Result<Arc<Option<Vec<Deployment>>>, Error> {
        self.deployments
            .get_or_fetch(ns, || async {
                let path = format!("/apis/apps/v1/namespaces/{ns}/deployments");
                let api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
                let lp = ListParams::default();
                match idempotent("GET", &path, || api.list(&lp)).await {
                    Ok(l) => Ok(Some(l.items)),
                    Err(e) if e.is_forbidden() => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// One Deployment: the newest of the shared namespace list, this process's own reads and
    /// writes, and what a running rollout watch of the namespace has seen (so that an apply
    /// during other rollouts starts from a fresh copy, not a 409); a GET of that one
    /// Deployment when the list is forbidden.
    pub async fn deployment(&self, ns: &str, name: &str) -> Result<Option<Deployment>, Error> {
        let all = self.deployments(ns).await?;
        let Some(all) = all.as_ref() else {
            return self.deployment_fresh(ns, name).await;
        };
        let listed = all
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(name));
        let Some(listed) = listed else {
            return Ok(None);
        };
        let key = format!("{ns}/{name}");
        let own = self.lock_latest().get(&key).cloned();
        let watched = self.watches.latest(ns, name);
        let mut best = listed.clone();
        for d in own.into_iter().chain(watched) {
            if newer(&d, &best) {
                best = d;
            }
        }
        Ok(Some(best))
    }

    fn lock_latest(&self) -> std::sync::MutexGuard<'_, HashMap<String, Deployment>> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remember(&self, ns: &str, d: &Deployment) {
        let name = d.metadata.name.clone().unwrap_or_default();
        self.lock_latest().insert(format!("{ns}/{name}"), d.clone());
    }

    /// The Deployment that has `container`: the namespace must exist (when this identity may
    /// read it), then the Deployment and its container.
    pub async fn find_target(
        &self,
        ns: &str,
        name: &str,
        container: &str,
    ) -> Result<Found, TargetError> {
        let mut unchecked = Vec::new();
        match self.namespace_exists(ns).await {
            Ok(Some(true)) => {}
            Ok(Some(false)) => return Err(TargetError::NoNamespace(ns.into())),
            Ok(None) => unchecked.push(format!("Reading namespace {ns:?} is forbidden for these credentials, so its existence was not checked; the Deployment was looked up directly.")),
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
        Ok(Found {
            deployment: d,
            unchecked,
        })
    }

    /// One Deployment read now (after writes, or when listing is forbidden).
    pub async fn deployment_fresh(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<Deployment>, Error> {
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
        let d = idempotent("GET", &path, || api.get_opt(name)).await?;
        if let Some(d) = &d {
            self.remember(ns, d);
        }
        Ok(d)
    }

    /// Server-side apply of one container's image with field manager `cicd`. Without `force`
    /// a field owned by another manager (`kubectl-set`, Helm, ...) is a 409 conflict.
    ///
    /// NOTE: an apply must carry every field its manager owns, or the API server removes the
    /// ones left out (server-side apply semantics). Several resources may set images of one
    /// Deployment (one per container), all as `cicd`: so the body also carries the other
    /// containers whose image `cicd` owns, at their images as read. Parallel applies of this
    /// process take a per-Deployment lock; other processes (another stack, another provider
    /// alias) are caught by the read `metadata.resourceVersion` in the body: a Deployment
    /// changed since the read answers 409, and it is read again and applied again.
    ///
    /// The read is the shared namespace list (one request for every Deployment of the
    /// namespace), so an apply costs one PATCH unless another writer got in between.
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
        let api_err = |e| ApplyImageError::api(deployment.clone(), container, e);
        let mut current = self.deployment(ns, name).await.map_err(api_err)?;
        if current
            .as_ref()
            .and_then(|d| find_container(d, container))
            .is_none()
        {
            // Not in the shared list: it may have been created since the list was read.
            current = self.deployment_fresh(ns, name).await.map_err(api_err)?;
        }
        let mut attempt = 0;
        loop {
            let d = current.ok_or_else(|| ApplyImageError::NoDeployment(deployment.clone()))?;
            let found = find_container(&d, container).ok_or_else(|| {
                ApplyImageError::NoContainer(TargetError::NoContainer {
                    deployment: deployment.clone(),
                    container: container.to_string(),
                    names: container_names(&d),
                })
            })?;
            let body = image_apply_body_from(&d, ns, name, container, found.init, image);
            match self.patch_image(ns, name, &body, force).await {
                Ok(applied) => {
                    self.remember(ns, &applied);
                    return Ok(ImageApplied {
                        previous: found.image,
                        deployment: applied,
                    });
                }
                Err(e) if is_stale(&e) && attempt < STALE_RETRIES => {
                    attempt += 1;
                    tracing::debug!(deployment = %deployment, attempt, "deployment changed since it was read; reading it again");
                    current = self.deployment_fresh(ns, name).await.map_err(api_err)?;
                }
                Err(e) => return Err(api_err(e)),
            }
        }
    }

    /// The apply itself. Retried on transient failures: with the resource version in the body,
    /// a retry of an apply that did go through answers 409 (stale) and is read again.
    async fn patch_image(
        &self,
        ns: &str,
        name: &str,
        body: &serde_json::Value,
        force: bool,
    ) -> Result<Deployment, Error> {
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
        let mut pp = PatchParams::apply(FIELD_MANAGER);
        pp.force = force;
        let body = Patch::Apply(body);
        idempotent("PATCH", &path, || api.patch(name, &pp, &body)).await
    }

    /// Start a new rollout of the same pod template, as `kubectl rollout restart` does: the
    /// template annotation `kubectl.kubernetes.io/restartedAt` set to now (a merge patch under
    /// its own field manager, so the image applies of `cicd` neither own nor remove it). Not
    /// retried blindly: each one starts a rollout.
    pub async fn restart_rollout(&self, ns: &str, name: &str) -> Result<Deployment, Error> {
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
        let now = k8s_openapi::jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let body = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
            RESTARTED_AT: now,
        }}}}});
        let pp = PatchParams {
            field_manager: Some(RESTART_MANAGER.into()),
            ..Default::default()
        };
        let d = once("PATCH", &path, api.patch(name, &pp, &Patch::Merge(&body))).await?;
        self.remember(ns, &d);
        Ok(d)
    }

    /// The distinct (os, architecture) pairs of the cluster's nodes (status.nodeInfo, else the
    /// `kubernetes.io/os` / `kubernetes.io/arch` labels). Empty when nodes cannot be listed.
    pub async fn node_platforms(&self) -> Result<Vec<(String, String)>, Error> {
        let r = self
            .platforms
            .get_or_fetch("nodes", || async {
                let path = "/api/v1/nodes";
                let api: Api<Node> = Api::all(self.client.clone());
                let lp = ListParams::default();
                let nodes = match idempotent("GET", path, || api.list(&lp)).await {
                    Ok(l) => l.items,
                    Err(e) if e.is_forbidden() => return Ok(vec![]),
                    Err(e) => return Err(e),
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
    fn what_is_retried_and_what_is_stale() {
        let status = |status: u16, message: &str| Error::Status {
            system: SYSTEM,
            method: "PATCH".into(),
            path: "/apis/apps/v1/namespaces/ns/deployments/web".into(),
            status,
            message: message.into(),
        };
        for s in [429, 502, 503, 504] {
            assert!(
                matches!(transient(&status(s, "")), Verdict::Retry(_)),
                "{s}"
            );
        }
        for s in [400, 403, 404, 409, 422, 500] {
            assert!(matches!(transient(&status(s, "")), Verdict::Fail), "{s}");
        }
        let reset = Error::Transport {
            system: SYSTEM,
            method: "GET".into(),
            path: "/".into(),
            message: "connection reset".into(),
        };
        assert!(matches!(transient(&reset), Verdict::Retry(_)));
        let stale = status(409, "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again");
        assert!(is_stale(&stale));
        let owned = status(409, "Apply failed with 1 conflict: conflict with \"kubectl-set\" using apps/v1: .spec.template.spec.containers[name=\"app\"].image");
        assert!(!is_stale(&owned), "a field manager conflict is not stale");
        let d = |rv: &str| {
            dep(
                serde_json::json!({"metadata": {"name": "web", "resourceVersion": rv}, "spec": {"selector": {}, "template": {}}}),
            )
        };
        assert!(newer(&d("10"), &d("9")), "numeric, not lexical");
        assert!(!newer(&d("9"), &d("10")));
        let body = image_apply_body_from(&d("42"), "ns", "web", "app", false, "r/a:1");
        assert_eq!(body["metadata"]["resourceVersion"], "42");
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
