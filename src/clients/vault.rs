//! Vault / OpenBao client over the shared reqwest plumbing (no second HTTP/TLS stack).
//!
//! - Token auth: the configured token, looked up once (`auth/token/lookup-self`) to learn its TTL.
//! - Kubernetes auth: `POST auth/<mount>/login {role, jwt}`; the JWT is read from `jwt_path` at
//!   EVERY login, so a rotated service-account token is picked up.
//! - Renewal: before a request, a token whose lease is near its end is renewed with
//!   `auth/token/renew-self` (long applies); a Kubernetes login that cannot be renewed logs in again.
//! - KV v2: `GET <mount>/data/<path>` gives `data.data` and `data.metadata.version`. Every value
//!   read is registered with `secret::register_secret` so that no log line can contain it.
//!
//! - Retries: every request goes through [`http::Http`], which retries reads on connection
//!   errors, cut answers, 429 (after `Retry-After`), 502, 503 and 504; the login and renewal
//!   POSTs are replayed too (a second login only issues a second token). The provider never
//!   writes to Vault.
//!
//! One login per provider process: the client is held by `ProviderData::shared`.

use super::cache::ListCache;
use super::{http, Error};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tfplugin::secret::{register_secret, Secret};

pub const SYSTEM: &str = "Vault";

/// The KV v2 mount a Vault reference uses when it names none (Vault's own default).
pub const DEFAULT_MOUNT: &str = "secret";

/// Renew when less than this share of the lease is left (or less than a minute).
const RENEW_FRACTION: f64 = 0.25;
const RENEW_MIN: Duration = Duration::from_secs(60);

/// One KV v2 secret version.
#[derive(Clone, Debug)]
pub struct KvSecret {
    pub mount: String,
    pub path: String,
    pub version: i64,
    data: BTreeMap<String, Secret>,
}

impl KvSecret {
    /// The key names, sorted (never the values).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.data.keys().map(String::as_str)
    }

    /// Every key with its value (for a result that hands the whole secret on, never for logs).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.data.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The value of `key`, or an error naming the path and the keys that exist.
    pub fn get(&self, key: &str) -> Result<&Secret, Error> {
        self.data.get(key).ok_or_else(|| {
            let keys: Vec<&str> = self.data.keys().map(String::as_str).collect();
            Error::Other(format!(
                "the Vault secret {}/{} (version {}) has no key {key:?} (keys: {})",
                self.mount,
                self.path,
                self.version,
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            ))
        })
    }
}

/// A KV v2 secret by mount and path, as a `*_from_vault` attribute names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvRef {
    pub mount: String,
    pub path: String,
}

impl KvRef {
    pub fn new(mount: impl Into<String>, path: impl Into<String>) -> Self {
        KvRef {
            mount: mount.into(),
            path: path.into(),
        }
    }

    /// `mount/path` without slashes at either end: how state records the version read.
    pub fn id(&self) -> String {
        format!("{}/{}", trim_path(&self.mount), trim_path(&self.path))
    }
}

/// Why [`VaultClient::read_value`] gave no value: the message is a summary, the source says
/// more.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// `mount/path`.
    #[error("Could not read Vault secret {0}")]
    Read(String, #[source] Error),
    /// `mount/path`, key.
    #[error("Key {1:?} not found in Vault secret {0}")]
    NoKey(String, String, #[source] Error),
}

impl ValueError {
    /// The part of the reference at fault: `path` (the secret) or `key`.
    pub fn part(&self) -> &'static str {
        match self {
            ValueError::Read(..) => "path",
            ValueError::NoKey(..) => "key",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            ValueError::Read(_, e) | ValueError::NoKey(_, _, e) => e.to_string(),
        }
    }
}

struct Token {
    value: Secret,
    renewable: bool,
    /// None: the token does not expire (e.g. a root token).
    expires: Option<(Instant, Duration)>,
}

/// How to reach and log in to Vault (what the provider's `vault` block resolves to).
#[derive(Clone, Debug)]
pub struct VaultConfig {
    pub address: String,
    pub auth: VaultAuth,
    /// CA certificates (PEM) to trust for Vault's TLS besides the platform's (VAULT_CACERT).
    pub ca_pem: Option<Vec<u8>>,
    /// Vault Enterprise / OpenBao namespace for every request (VAULT_NAMESPACE).
    pub namespace: Option<String>,
}

#[derive(Clone, Debug)]
pub enum VaultAuth {
    Token(Secret),
    Kubernetes {
        role: String,
        mount: String,
        jwt_path: String,
    },
}

pub struct VaultClient {
    http: http::Http,
    namespace: Option<String>,
    address: String,
    auth: VaultAuth,
    token: tokio::sync::Mutex<Option<Token>>,
    reads: ListCache<KvSecret>,
}

#[derive(Deserialize)]
struct AuthAnswer {
    auth: AuthInfo,
}

#[derive(Deserialize)]
struct AuthInfo {
    client_token: String,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize)]
struct LookupAnswer {
    data: LookupData,
}

#[derive(Deserialize)]
struct LookupData {
    #[serde(default)]
    ttl: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize)]
struct KvAnswer {
    data: Option<KvData>,
}

#[derive(Deserialize)]
struct KvData {
    data: Option<BTreeMap<String, serde_json::Value>>,
    metadata: KvMeta,
}

#[derive(Deserialize)]
struct KvMeta {
    version: i64,
    #[serde(default)]
    deletion_time: String,
    #[serde(default)]
    destroyed: bool,
}

fn expiry(ttl: u64) -> Option<(Instant, Duration)> {
    (ttl > 0).then(|| {
        let d = Duration::from_secs(ttl);
        (Instant::now() + d, d)
    })
}

fn near_expiry(expires: Option<(Instant, Duration)>) -> bool {
    match expires {
        None => false,
        Some((at, ttl)) => {
            let left = at.saturating_duration_since(Instant::now());
            left < RENEW_MIN.max(ttl.mul_f64(RENEW_FRACTION))
        }
    }
}

fn trim_path(p: &str) -> &str {
    p.trim_matches('/')
}

impl VaultClient {
    pub fn new(s: &VaultConfig) -> VaultClient {
        VaultClient {
            http: match &s.ca_pem {
                Some(pem) => http::Http::with_ca_pem(SYSTEM, pem).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "VAULT_CACERT not usable; trusting the platform's roots only");
                    http::Http::new(SYSTEM)
                }),
                None => http::Http::new(SYSTEM),
            },
            namespace: s.namespace.clone(),
            address: s.address.trim_end_matches('/').to_string(),
            auth: s.auth.clone(),
            token: tokio::sync::Mutex::new(None),
            reads: ListCache::new(Duration::from_secs(30)),
        }
    }

    /// A request to Vault, in the configured namespace if there is one (`X-Vault-Namespace`).
    fn req(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, url);
        match &self.namespace {
            Some(ns) => r.header("X-Vault-Namespace", ns),
            None => r,
        }
    }

    fn url(&self, api_path: &str) -> String {
        format!("{}/v1/{}", self.address, api_path.trim_start_matches('/'))
    }

    async fn login(&self) -> Result<Token, Error> {
        match &self.auth {
            VaultAuth::Token(t) => {
                let req = self
                    .req(reqwest::Method::GET, &self.url("auth/token/lookup-self"))
                    .header("X-Vault-Token", t.expose());
                // A token without the lookup capability still works: assume it does not expire.
                let (ttl, renewable) = match self.http.send_json::<LookupAnswer>(req).await {
                    Ok(a) => (a.data.ttl, a.data.renewable),
                    Err(e) if e.is_forbidden() => (0, false),
                    Err(e) => return Err(e),
                };
                Ok(Token {
                    value: t.clone(),
                    renewable,
                    expires: expiry(ttl),
                })
            }
            VaultAuth::Kubernetes {
                role,
                mount,
                jwt_path,
            } => {
                // NOTE: read at every login, never cached: kubelet rotates projected tokens.
                let jwt = std::fs::read_to_string(jwt_path).map_err(|e| {
                    Error::Other(format!(
                        "could not read the service account token for Vault's Kubernetes login from {jwt_path}: {e}"
                    ))
                })?;
                let jwt = Secret::new(jwt.trim());
                let body = serde_json::json!({"role": role, "jwt": jwt.expose()});
                let req = self
                    .req(
                        reqwest::Method::POST,
                        &self.url(&format!("auth/{}/login", trim_path(mount))),
                    )
                    .json(&body);
                // A login only issues a token: sending it again after a lost answer costs one
                // unused token lease, never a wrong state.
                let a: AuthAnswer = self
                    .http
                    .send_json_as(req, http::Replay::Idempotent)
                    .await
                    .map_err(|e| {
                        Error::Other(format!(
                            "Vault Kubernetes login (mount {mount}, role {role}) failed: {e}"
                        ))
                    })?;
                tracing::debug!(mount = %mount, role = %role, ttl = a.auth.lease_duration, "vault kubernetes login");
                Ok(Token {
                    value: Secret::new(a.auth.client_token),
                    renewable: a.auth.renewable,
                    expires: expiry(a.auth.lease_duration),
                })
            }
        }
    }

    async fn renew(&self, t: &Token) -> Result<Token, Error> {
        let req = self
            .req(reqwest::Method::POST, &self.url("auth/token/renew-self"))
            .header("X-Vault-Token", t.value.expose())
            .json(&serde_json::json!({}));
        // Renewing twice extends the same lease: safe to send again.
        let a: AuthAnswer = self
            .http
            .send_json_as(req, http::Replay::Idempotent)
            .await?;
        Ok(Token {
            value: Secret::new(a.auth.client_token),
            renewable: a.auth.renewable,
            expires: expiry(a.auth.lease_duration),
        })
    }

    /// A valid token: logs in once per process, renews near the end of the lease.
    async fn token(&self, force_login: bool) -> Result<Secret, Error> {
        let mut g = self.token.lock().await;
        if force_login {
            *g = None;
        }
        if let Some(t) = g.as_ref() {
            if !near_expiry(t.expires) {
                return Ok(t.value.clone());
            }
            if t.renewable {
                match self.renew(t).await {
                    Ok(n) => {
                        let v = n.value.clone();
                        *g = Some(n);
                        return Ok(v);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "vault token renewal failed; logging in again")
                    }
                }
            }
        }
        let t = self.login().await?;
        let v = t.value.clone();
        *g = Some(t);
        Ok(v)
    }

    async fn read_kv_uncached(
        &self,
        mount: &str,
        path: &str,
        version: Option<i64>,
    ) -> Result<KvSecret, Error> {
        let (mount, path) = (trim_path(mount), trim_path(path));
        let mut url = self.url(&format!("{mount}/data/{path}"));
        if let Some(v) = version {
            url.push_str(&format!("?version={v}"));
        }
        let mut attempt = 0;
        let answer = loop {
            let token = self.token(attempt > 0).await?;
            let req = self
                .req(reqwest::Method::GET, &url)
                .header("X-Vault-Token", token.expose());
            match self.http.send_json::<KvAnswer>(req).await {
                Ok(a) => break a,
                // An expired or revoked token: log in again once (Kubernetes auth can).
                Err(e)
                    if e.is_forbidden()
                        && attempt == 0
                        && matches!(self.auth, VaultAuth::Kubernetes { .. }) =>
                {
                    attempt += 1;
                }
                Err(e) if e.is_not_found() => {
                    return Err(Error::Other(format!(
                        "there is no secret at {mount}/{path} in Vault (KV v2 mount {mount:?}, path {path:?}): {e}"
                    )))
                }
                Err(e) => {
                    return Err(Error::Other(format!(
                        "could not read the Vault secret {mount}/{path}: {e}"
                    )))
                }
            }
        };
        let Some(d) = answer.data else {
            return Err(Error::Other(format!(
                "there is no secret at {mount}/{path} in Vault"
            )));
        };
        if d.metadata.destroyed || !d.metadata.deletion_time.is_empty() || d.data.is_none() {
            return Err(Error::Other(format!(
                "the current version ({}) of the Vault secret {mount}/{path} is deleted",
                d.metadata.version
            )));
        }
        let mut data = BTreeMap::new();
        for (k, v) in d.data.unwrap_or_default() {
            let s = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            register_secret(&s);
            data.insert(k, Secret::new(s));
        }
        Ok(KvSecret {
            mount: mount.to_string(),
            path: path.to_string(),
            version: d.metadata.version,
            data,
        })
    }

    /// The current version of a KV v2 secret (values and version number). Reads of one path
    /// are shared for a short while, so many resources naming it cost one request.
    pub async fn read_kv(&self, mount: &str, path: &str) -> Result<KvSecret, Error> {
        let key = format!("{}/{}", trim_path(mount), trim_path(path));
        let r = self
            .reads
            .get_or_fetch(&key, || self.read_kv_uncached(mount, path, None))
            .await?;
        Ok((*r).clone())
    }

    /// The secret `r` at `version`, else its current version (see [`Self::read_kv`]).
    pub async fn read_ref(&self, r: &KvRef, version: Option<i64>) -> Result<KvSecret, Error> {
        match version {
            Some(n) => self.read_kv_version(&r.mount, &r.path, n).await,
            None => self.read_kv(&r.mount, &r.path).await,
        }
    }

    /// The value of `key` in the secret `r` (at `version`, else the current one) and the
    /// version it was read from.
    pub async fn read_value(
        &self,
        r: &KvRef,
        key: &str,
        version: Option<i64>,
    ) -> Result<(Secret, i64), ValueError> {
        let s = match self.read_ref(r, version).await {
            Ok(s) => s,
            Err(e) => return Err(ValueError::Read(r.id(), e)),
        };
        match s.get(key) {
            Ok(v) => Ok((v.clone(), s.version)),
            Err(e) => Err(ValueError::NoKey(r.id(), key.to_string(), e)),
        }
    }

    /// One given version of a KV v2 secret (what a plan saw), so an apply writes exactly it.
    pub async fn read_kv_version(
        &self,
        mount: &str,
        path: &str,
        version: i64,
    ) -> Result<KvSecret, Error> {
        let key = format!("{}/{}@{version}", trim_path(mount), trim_path(path));
        let r = self
            .reads
            .get_or_fetch(&key, || self.read_kv_uncached(mount, path, Some(version)))
            .await?;
        Ok((*r).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_the_namespace() {
        let cfg = |namespace: Option<&str>| VaultConfig {
            address: "http://v".into(),
            auth: VaultAuth::Token(Secret::new("t")),
            ca_pem: None,
            namespace: namespace.map(str::to_string),
        };
        let header = |c: &VaultClient| {
            let r = c
                .req(reqwest::Method::GET, &c.url("secret/data/x"))
                .build()
                .unwrap();
            r.headers()
                .get("X-Vault-Namespace")
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            header(&VaultClient::new(&cfg(Some("team-a")))).as_deref(),
            Some("team-a")
        );
        assert_eq!(header(&VaultClient::new(&cfg(None))), None);
    }

    #[test]
    fn renewal_window() {
        assert!(!near_expiry(None));
        assert!(!near_expiry(expiry(3600)));
        // 30 s left of a 1 h lease: renew.
        let e = Some((
            Instant::now() + Duration::from_secs(30),
            Duration::from_secs(3600),
        ));
        assert!(near_expiry(e));
        // 20 min left of 1 h: fine.
        let e = Some((
            Instant::now() + Duration::from_secs(1200),
            Duration::from_secs(3600),
        ));
        assert!(!near_expiry(e));
    }

    #[test]
    fn missing_key_names_path_and_keys() {
        let mut data = BTreeMap::new();
        data.insert("password".to_string(), Secret::new("pw-123456"));
        let s = KvSecret {
            mount: "secret".into(),
            path: "ci/registry".into(),
            version: 3,
            data,
        };
        assert_eq!(s.get("password").unwrap().expose(), "pw-123456");
        let e = s.get("pasword").unwrap_err().to_string();
        assert!(
            e.contains("secret/ci/registry") && e.contains("password"),
            "{e}"
        );
    }
}
