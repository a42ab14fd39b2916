//! OCI distribution (`/v2`) client: manifests (HEAD and GET), tags and the catalog, with the
//! registry token dance every registry uses. Image references: [`super::image_ref`].
//!
//! Authentication, per registry host:
//! - a request goes out anonymously (or with a cached token); a 401 carries
//!   `WWW-Authenticate: Bearer realm=..,service=..,scope=..`: a token is fetched from the realm
//!   (with Basic credentials when [`RegistryClient::set_basic`] gave some, anonymously
//!   otherwise, which is how public images on public registries are pulled) and the request is
//!   sent again with it. Tokens are cached per (host, scope) until they expire; the realm is
//!   remembered per host so later scopes skip the anonymous round trip.
//! - a registry that only offers `Basic` gets the credentials directly.
//!
//! Scheme: what [`RegistryClient::set_scheme`] set for the host (the forge's own registry takes
//! the scheme of the forge's URL), else `http://` for `localhost` and `127.0.0.1` (with any
//! port) and `https://` otherwise.
//!
//! Credentials given by [`RegistryClient::set_basic`] go to the token realm only when it is
//! https, on the registry's own host, or on a loopback address: never in clear text to
//! another host a registry names.
//! Deleting is left to the forge's packages API on purpose (a registry `DELETE` by digest
//! removes every tag holding that digest).

use super::http;
use super::Error;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tfplugin::secret::Secret;

pub const SYSTEM: &str = "registry";

/// Registry requests a walk keeps in flight at once.
pub const CONCURRENCY: usize = 8;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Page size for tags and catalog (the forge caps `n` at 100).
const PAGE: usize = 100;
/// Token lifetime assumed when the token endpoint gives none (the distribution spec's default).
const DEFAULT_TOKEN_SECS: u64 = 60;

/// `http://` for loopback hosts, `https://` otherwise (for hosts no scheme was set for).
pub fn base_url(host: &str) -> String {
    let bare = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    if matches!(bare, "localhost" | "127.0.0.1" | "[::1]") {
        format!("http://{host}")
    } else {
        format!("https://{host}")
    }
}

/// Whether Basic credentials meant for the registry at `registry` (a base URL) may go to the
/// token `realm`: an https realm, a realm on the registry's own host (and scheme), or a
/// loopback realm. Never to another host over http.
pub fn may_send_credentials(registry: &str, realm: &str) -> bool {
    let (Ok(reg), Ok(realm)) = (url::Url::parse(registry), url::Url::parse(realm)) else {
        return false;
    };
    let loopback = match realm.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let same_host = realm.host_str().is_some()
        && realm.host_str() == reg.host_str()
        && realm.scheme() == reg.scheme();
    realm.scheme() == "https" || same_host || loopback
}

/// What a HEAD tells about a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestHead {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    /// An image manifest (Docker v2 schema 2 or OCI).
    Image,
    /// A manifest list or OCI index.
    Index,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A child of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Child {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub platform: Option<Platform>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    pub kind: ManifestKind,
    /// Index children; empty for an image.
    pub children: Vec<Child>,
    pub size: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<RawChild>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawChild {
    digest: String,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    platform: Option<RawPlatform>,
}

#[derive(Deserialize)]
struct RawPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// Parse a manifest body. `content_type` is the answer's Content-Type (preferred over the
/// body's `mediaType`); `digest` the `Docker-Content-Digest` header, else computed.
pub fn parse_manifest(
    body: &[u8],
    content_type: Option<&str>,
    digest: Option<&str>,
) -> Result<Manifest, String> {
    let raw: RawManifest =
        serde_json::from_slice(body).map_err(|e| format!("not a manifest: {e}"))?;
    let ct = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
        .filter(|c| c.starts_with("application/vnd."));
    let media_type = ct.or(raw.media_type).unwrap_or_default();
    let is_index = media_type == OCI_INDEX || media_type == DOCKER_LIST || raw.manifests.is_some();
    let children = raw
        .manifests
        .unwrap_or_default()
        .into_iter()
        .map(|c| Child {
            digest: c.digest.to_ascii_lowercase(),
            media_type: c.media_type.unwrap_or_default(),
            size: c.size.unwrap_or(0),
            platform: c.platform.map(|p| Platform {
                os: p.os,
                architecture: p.architecture,
                variant: p.variant.filter(|v| !v.is_empty()),
            }),
        })
        .collect();
    let digest = match digest {
        Some(d) if d.starts_with("sha256:") => d.to_ascii_lowercase(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(body))),
    };
    Ok(Manifest {
        digest,
        media_type,
        kind: if is_index {
            ManifestKind::Index
        } else {
            ManifestKind::Image
        },
        children,
        size: body.len() as u64,
    })
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Basic,
    /// `GET /v2/` answered without asking for credentials.
    Open,
}

/// Pick the challenge to answer from all `WWW-Authenticate` headers: Bearer when offered.
fn parse_challenges<'a>(headers: impl Iterator<Item = &'a str>) -> Option<Challenge> {
    let mut basic = false;
    for h in headers {
        let h = h.trim();
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            basic = true;
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let params = parse_params(rest);
            if let Some(realm) = params.get("realm") {
                return Some(Challenge::Bearer {
                    realm: realm.clone(),
                    service: params.get("service").cloned(),
                    scope: params.get("scope").cloned(),
                });
            }
        }
    }
    basic.then_some(Challenge::Basic)
}

/// `k="v",k2=v2` (quoted values may contain commas).
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else {
            break;
        };
        let key = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (val, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(i) => (q[..i].to_string(), &q[i + 1..]),
                None => (q.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(i) => (after[..i].trim().to_string(), &after[i..]),
                None => (after.trim().to_string(), ""),
            }
        };
        out.insert(key, val);
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[derive(Clone)]
struct Token {
    value: Secret,
    expires: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Catalog {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

/// One client per process; safe to share between concurrent tasks.
pub struct RegistryClient {
    http: http::Http,
    creds: Mutex<HashMap<String, (String, Secret)>>,
    /// Per host: the scheme to use (see [`Self::set_scheme`]).
    schemes: Mutex<HashMap<String, String>>,
    /// Per host: the challenge last seen (so new scopes go straight to the token endpoint).
    challenges: Mutex<HashMap<String, Challenge>>,
    tokens: Mutex<HashMap<(String, String), Token>>,
    /// Serialises token fetches so concurrent first requests share one token.
    token_fetch: tokio::sync::Mutex<()>,
    /// Serialises the first `GET /v2/` per host, so that a burst of concurrent first requests
    /// costs one probe instead of one 401 each.
    discover: tokio::sync::Mutex<()>,
}

impl Default for RegistryClient {
    fn default() -> Self {
        Self::new()
    }
}

enum Auth {
    None,
    Bearer(Secret),
    Basic(String, Secret),
}

impl RegistryClient {
    pub fn new() -> Self {
        RegistryClient {
            http: http::Http::new(SYSTEM),
            creds: Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
            challenges: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            token_fetch: tokio::sync::Mutex::new(()),
            discover: tokio::sync::Mutex::new(()),
        }
    }

    /// Credentials for `host` (Basic to the token realm, or directly when asked for Basic).
    pub fn set_basic(&self, host: &str, user: &str, password: Secret) {
        let mut m = self.creds.lock().unwrap_or_else(|p| p.into_inner());
        let same = m
            .get(host)
            .is_some_and(|(u, p)| u == user && p.expose() == password.expose());
        if same {
            return;
        }
        m.insert(host.to_string(), (user.to_string(), password));
        // Tokens fetched with other credentials must not be reused.
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(h, _), _| h != host);
    }

    /// Use `scheme` (`http` or `https`) for `host`, e.g. the scheme of the forge's URL for
    /// the forge's own registry, instead of guessing it from the host.
    pub fn set_scheme(&self, host: &str, scheme: &str) {
        self.schemes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_string(), scheme.to_ascii_lowercase());
    }

    /// `scheme://host` for `host` (see [`Self::set_scheme`] and [`base_url`]).
    pub fn base(&self, host: &str) -> String {
        let set = self
            .schemes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .cloned();
        match set {
            Some(scheme) => format!("{scheme}://{host}"),
            None => base_url(host),
        }
    }

    fn cred(&self, host: &str) -> Option<(String, Secret)> {
        self.creds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .cloned()
    }

    fn cached_token(&self, host: &str, scope: &str) -> Option<Secret> {
        let m = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&(host.to_string(), scope.to_string()))
            .filter(|t| t.expires > Instant::now())
            .map(|t| t.value.clone())
    }

    fn known_challenge(&self, host: &str) -> Option<Challenge> {
        self.challenges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .cloned()
    }

    /// Learn how `host` wants to be authenticated with one `GET /v2/` (the distribution
    /// spec's version check), unless already known.
    async fn discover(&self, host: &str) -> Result<Option<Challenge>, Error> {
        let _guard = self.discover.lock().await;
        if let Some(c) = self.known_challenge(host) {
            return Ok(Some(c));
        }
        let url = format!("{}/v2/", self.base(host));
        let resp = self.http.send_any(self.http.get(&url)).await?;
        let found = if resp.status().is_success() {
            Some(Challenge::Open)
        } else if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            parse_challenges(
                resp.headers()
                    .get_all(reqwest::header::WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
        } else {
            None
        };
        if let Some(c) = &found {
            self.challenges
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(host.to_string(), c.clone());
        }
        Ok(found)
    }

    /// Credentials to send before any challenge, from what this client already knows.
    async fn preauth(&self, host: &str, scope: &str) -> Result<Auth, Error> {
        if let Some(t) = self.cached_token(host, scope) {
            return Ok(Auth::Bearer(t));
        }
        let known = match self.known_challenge(host) {
            Some(c) => Some(c),
            None => self.discover(host).await?,
        };
        match known {
            Some(Challenge::Basic) => Ok(self
                .cred(host)
                .map(|(u, p)| Auth::Basic(u, p))
                .unwrap_or(Auth::None)),
            Some(c @ Challenge::Bearer { .. }) => {
                Ok(Auth::Bearer(self.token(host, scope, &c).await?))
            }
            Some(Challenge::Open) | None => Ok(Auth::None),
        }
    }

    /// Fetch (or reuse) a token for `scope` from the challenge's realm.
    async fn token(&self, host: &str, scope: &str, c: &Challenge) -> Result<Secret, Error> {
        let Challenge::Bearer {
            realm,
            service,
            scope: offered,
        } = c
        else {
            return Err(Error::Other("no bearer challenge".into()));
        };
        let _guard = self.token_fetch.lock().await;
        if let Some(t) = self.cached_token(host, scope) {
            return Ok(t);
        }
        let mut q: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = service {
            q.push(("service", s));
        }
        // The challenge's own scope is what this server asked for; ours otherwise.
        let want = match offered {
            Some(o) if !o.is_empty() && o != "*" => o.as_str(),
            _ => scope,
        };
        if !want.is_empty() {
            q.push(("scope", want));
        }
        let mut req = self.http.get(realm).query(&q);
        if let Some((u, p)) = self.cred(host) {
            if may_send_credentials(&self.base(host), realm) {
                req = req.basic_auth(u, Some(p.expose()));
            } else {
                tracing::warn!(
                    registry = host,
                    realm = realm.as_str(),
                    "the registry names a token realm on another host over http: asking it for a token without credentials"
                );
            }
        }
        let ans: TokenAnswer = self.http.send_json(req).await?;
        let value = ans.token.or(ans.access_token).ok_or_else(|| {
            Error::Other(format!(
                "the token endpoint of registry {host} answered without a token"
            ))
        })?;
        let secs = ans.expires_in.unwrap_or(DEFAULT_TOKEN_SECS).max(10);
        let tok = Token {
            value: Secret::new(value),
            // Renew a little before the server's expiry.
            expires: Instant::now() + Duration::from_secs(secs - secs / 10),
        };
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((host.to_string(), scope.to_string()), tok.clone());
        Ok(tok.value)
    }

    /// Send a request built by `build` with the right credentials, answering one challenge.
    /// Returns the answer whatever its status (the caller decides what a 404 means).
    async fn request(
        &self,
        host: &str,
        scope: &str,
        build: impl Fn(&http::Http) -> reqwest::RequestBuilder,
    ) -> Result<http::Resp, Error> {
        let first = self.preauth(host, scope).await?;
        let had_auth = !matches!(first, Auth::None);
        let resp = self
            .http
            .send_any(with_auth(build(&self.http), &first))
            .await?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenge = parse_challenges(
            resp.headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let Some(challenge) = challenge else {
            return Ok(resp);
        };
        if had_auth {
            // The cached token expired early or lacks the scope: fetch a new one once.
            self.tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(host.to_string(), scope.to_string()));
        }
        self.challenges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_string(), challenge.clone());
        let auth = match &challenge {
            Challenge::Open => return Ok(resp),
            Challenge::Basic => match self.cred(host) {
                Some((u, p)) => Auth::Basic(u, p),
                None => return Ok(resp),
            },
            Challenge::Bearer { .. } => Auth::Bearer(self.token(host, scope, &challenge).await?),
        };
        self.http
            .send_any(with_auth(build(&self.http), &auth))
            .await
    }

    /// HEAD a manifest; `None` when the registry answers 404 (the manifest or its blob is gone).
    pub async fn head_manifest(
        &self,
        host: &str,
        repo: &str,
        reference: &str,
    ) -> Result<Option<ManifestHead>, Error> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base(host));
        let resp = self
            .request(host, &pull_scope(repo), |c| {
                c.request(reqwest::Method::HEAD, &url)
                    .header(reqwest::header::ACCEPT, ACCEPT)
            })
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(resp.into_error(SYSTEM).await);
        }
        let h = resp.headers();
        let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        let digest = get("docker-content-digest")
            .or_else(|| {
                reference
                    .starts_with("sha256:")
                    .then(|| reference.to_string())
            })
            .unwrap_or_default()
            .to_ascii_lowercase();
        Ok(Some(ManifestHead {
            digest,
            media_type: get("content-type")
                .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
                .unwrap_or_default(),
            size: get("content-length")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
        }))
    }

    /// GET and parse a manifest; `None` on 404.
    pub async fn get_manifest(
        &self,
        host: &str,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, Error> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base(host));
        let resp = self
            .request(host, &pull_scope(repo), |c| {
                c.get(&url).header(reqwest::header::ACCEPT, ACCEPT)
            })
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(resp.into_error(SYSTEM).await);
        }
        let h = resp.headers();
        let ct = h
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let header_digest = h
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                reference
                    .starts_with("sha256:")
                    .then(|| reference.to_string())
            });
        let (method, path) = (resp.method.clone(), resp.path.clone());
        let body = resp.bytes(SYSTEM).await?;
        parse_manifest(&body, ct.as_deref(), header_digest.as_deref())
            .map(Some)
            .map_err(|message| Error::Decode {
                system: SYSTEM,
                method,
                path,
                message,
            })
    }

    /// Every tag of `repo` (paged with `n`/`last` until an empty page).
    pub async fn tags(&self, host: &str, repo: &str) -> Result<Vec<String>, Error> {
        let url = format!("{}/v2/{repo}/tags/list", self.base(host));
        let scope = pull_scope(repo);
        self.paged(host, &scope, &url, |b: &[u8]| {
            serde_json::from_slice::<TagList>(b).map(|t| t.tags.unwrap_or_default())
        })
        .await
    }

    /// Every repository the credentials can see (paged, `n` <= 100).
    pub async fn catalog(&self, host: &str) -> Result<Vec<String>, Error> {
        let url = format!("{}/v2/_catalog", self.base(host));
        self.paged(host, "registry:catalog:*", &url, |b: &[u8]| {
            serde_json::from_slice::<Catalog>(b).map(|c| c.repositories.unwrap_or_default())
        })
        .await
    }

    async fn paged(
        &self,
        host: &str,
        scope: &str,
        url: &str,
        parse: impl Fn(&[u8]) -> Result<Vec<String>, serde_json::Error>,
    ) -> Result<Vec<String>, Error> {
        let mut out: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let n = PAGE.to_string();
            let resp = self
                .request(host, scope, |c| {
                    let mut q = vec![("n", n.as_str())];
                    if let Some(l) = &last {
                        q.push(("last", l.as_str()));
                    }
                    c.get(url).query(&q)
                })
                .await?;
            if !resp.status().is_success() {
                return Err(resp.into_error(SYSTEM).await);
            }
            // The standard end signal is a page without `Link`; the forge sends `Link` on the
            // last non-empty page too, so an empty page also ends the walk.
            let has_link = resp.headers().contains_key(reqwest::header::LINK);
            let (method, path) = (resp.method.clone(), resp.path.clone());
            let body = resp.bytes(SYSTEM).await?;
            let page = parse(&body).map_err(|e| Error::Decode {
                system: SYSTEM,
                method,
                path,
                message: e.to_string(),
            })?;
            let Some(tail) = page.last().cloned() else {
                break;
            };
            if last.as_deref() == Some(tail.as_str()) {
                break; // a server ignoring `last` would loop forever
            }
            out.extend(page);
            if !has_link {
                break;
            }
            last = Some(tail);
        }
        Ok(out)
    }
}

fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

fn with_auth(req: reqwest::RequestBuilder, auth: &Auth) -> reqwest::RequestBuilder {
    match auth {
        Auth::None => req,
        Auth::Bearer(t) => req.bearer_auth(t.expose()),
        Auth::Basic(u, p) => req.basic_auth(u, Some(p.expose())),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn scheme_is_http_only_for_loopback() {
        assert_eq!(base_url("127.0.0.1:23000"), "http://127.0.0.1:23000");
        assert_eq!(base_url("localhost"), "http://localhost");
        assert_eq!(base_url("forge.example"), "https://forge.example");
        assert_eq!(base_url("forge.example:8443"), "https://forge.example:8443");
    }

    #[test]
    fn credentials_go_only_to_safe_realms() {
        let yes = [
            ("https://forge.example", "https://forge.example/v2/token"),
            ("https://forge.example", "https://auth.example/token"),
            ("http://forge.svc:3000", "http://forge.svc:3000/v2/token"),
            ("http://forge.svc:3000", "http://127.0.0.1:3000/v2/token"),
            ("http://forge.svc:3000", "http://localhost/v2/token"),
            ("http://forge.svc:3000", "http://[::1]:3000/v2/token"),
        ];
        for (reg, realm) in yes {
            assert!(may_send_credentials(reg, realm), "{reg} -> {realm}");
        }
        let no = [
            ("https://forge.example", "http://evil.example/token"),
            ("http://forge.svc:3000", "http://evil.example/token"),
            ("https://forge.example", "http://forge.example/v2/token"),
            ("https://forge.example", "not a url"),
            ("https://forge.example", "file:///etc/passwd"),
        ];
        for (reg, realm) in no {
            assert!(!may_send_credentials(reg, realm), "{reg} -> {realm}");
        }
    }

    #[tokio::test]
    async fn credentials_never_follow_an_http_realm_on_another_host() {
        let seen = Arc::new(Mutex::new(Vec::<Option<String>>::new()));
        let s = seen.clone();
        let evil = fake_on(
            &non_loopback_ip().to_string(),
            Arc::new(move |r: &Req| {
                s.lock().unwrap().push(r.auth.clone());
                (200, vec![], r#"{"token":"tok-evil"}"#.into())
            }),
        )
        .await;
        let host = fake(Arc::new(move |r: &Req| {
            if r.auth.as_deref() != Some("Bearer tok-evil") {
                let ch = format!("Bearer realm=\"http://{evil}/token\",service=\"x\"");
                return (401, vec![("WWW-Authenticate".into(), ch)], "{}".into());
            }
            let headers = vec![
                ("Content-Type".into(), OCI_MANIFEST.to_string()),
                ("Docker-Content-Digest".into(), "sha256:abc".into()),
            ];
            (200, headers, image_body())
        }))
        .await;
        let c = RegistryClient::new();
        // The registry is on loopback, but it is the realm that would receive the password.
        c.set_basic(&host, "u", Secret::new("p4ssw0rd"));
        c.head_manifest(&host, "o/app", "latest")
            .await
            .unwrap()
            .unwrap();
        let seen = seen.lock().unwrap();
        assert!(!seen.is_empty(), "the realm was not asked");
        assert!(
            seen.iter().all(Option::is_none),
            "credentials sent: {seen:?}"
        );
    }

    #[test]
    fn challenges_prefer_bearer_and_keep_quoted_commas() {
        let c = parse_challenges(
            [
                "Basic realm=\"Forge Registry\"",
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"",
            ]
            .into_iter(),
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenges(["Basic realm=\"x\""].into_iter()),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenges(std::iter::empty()), None);
    }

    #[test]
    fn manifests_of_all_four_media_types_parse() {
        let idx = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
          "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:AA","size":7,
            "platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
           {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":9,
            "platform":{"os":"linux","architecture":"amd64"}}]}"#;
        let m = parse_manifest(idx, Some(OCI_INDEX), Some("sha256:ff")).unwrap();
        assert_eq!(m.kind, ManifestKind::Index);
        assert_eq!(m.digest, "sha256:ff");
        assert_eq!(m.children.len(), 2);
        assert_eq!(m.children[0].digest, "sha256:aa");
        assert_eq!(
            m.children[0].platform.as_ref().unwrap().to_string(),
            "linux/arm64/v8"
        );
        // Docker list, media type from the body only, digest computed.
        let list = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        let m = parse_manifest(list, Some("application/json"), None).unwrap();
        assert_eq!(m.kind, ManifestKind::Index);
        assert_eq!(m.media_type, DOCKER_LIST);
        assert_eq!(
            m.digest,
            format!("sha256:{}", hex::encode(Sha256::digest(list)))
        );
        for mt in [OCI_MANIFEST, DOCKER_MANIFEST] {
            let body = format!(
                r#"{{"schemaVersion":2,"mediaType":"{mt}","config":{{"digest":"sha256:c","size":1}},"layers":[]}}"#
            );
            let m = parse_manifest(body.as_bytes(), Some(mt), None).unwrap();
            assert_eq!(m.kind, ManifestKind::Image);
            assert_eq!(m.media_type, mt);
            assert!(m.children.is_empty());
        }
        assert!(parse_manifest(b"not json", None, None).is_err());
    }

    // -----------------------------------------------------------------------------------------
    // A fake registry over plain HTTP/1.1 on 127.0.0.1, to test the auth dance and paging.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub(crate) struct Req {
        pub method: String,
        pub path: String,
        pub auth: Option<String>,
    }

    pub(crate) type Handler =
        Arc<dyn Fn(&Req) -> (u16, Vec<(String, String)>, String) + Send + Sync>;

    pub(crate) async fn fake(handler: Handler) -> String {
        fake_on("127.0.0.1", handler).await
    }

    /// A non-loopback address of this machine (the source address of a route out).
    fn non_loopback_ip() -> std::net::IpAddr {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        s.connect("198.51.100.1:9")
            .expect("this test needs a non-loopback network interface with a route");
        let ip = s.local_addr().unwrap().ip();
        assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
        ip
    }

    async fn fake_on(ip: &str, handler: Handler) -> String {
        let l = tokio::net::TcpListener::bind(format!("{ip}:0"))
            .await
            .unwrap();
        let host = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = l.accept().await else {
                    return;
                };
                let h = handler.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let mut chunk = [0u8; 4096];
                        let n = match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&chunk[..n]);
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_string();
                            buf.drain(..end + 4);
                            let mut lines = head.lines();
                            let first: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
                            let auth = lines
                                .filter_map(|l| l.split_once(':'))
                                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                                .map(|(_, v)| v.trim().to_string());
                            let req = Req {
                                method: first[0].to_string(),
                                path: first.get(1).unwrap_or(&"").to_string(),
                                auth,
                            };
                            let (status, headers, body) = h(&req);
                            let mut out = format!("HTTP/1.1 {status} X\r\n");
                            for (k, v) in headers {
                                out.push_str(&format!("{k}: {v}\r\n"));
                            }
                            out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                            if req.method != "HEAD" {
                                out.push_str(&body);
                            }
                            if sock.write_all(out.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        host
    }

    fn image_body() -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"digest":"sha256:c","size":1}},"layers":[]}}"#
        )
    }

    #[tokio::test]
    async fn bearer_challenge_anonymous_and_with_credentials_tokens_cached() {
        let token_calls = Arc::new(AtomicUsize::new(0));
        let seen_basic = Arc::new(Mutex::new(Vec::<Option<String>>::new()));
        let host_cell = Arc::new(std::sync::OnceLock::<String>::new());
        let (tc, sb, hc) = (token_calls.clone(), seen_basic.clone(), host_cell.clone());
        let host = fake(Arc::new(move |r: &Req| {
            let realm = format!("http://{}/token", hc.get().unwrap());
            if r.path.starts_with("/token") {
                tc.fetch_add(1, Ordering::SeqCst);
                sb.lock().unwrap().push(r.auth.clone());
                assert!(r.path.contains("scope=repository%3Alibrary%2Fnginx%3Apull"), "{}", r.path);
                assert!(r.path.contains("service=fake"), "{}", r.path);
                return (200, vec![], r#"{"access_token":"tok-1","expires_in":300}"#.into());
            }
            if r.auth.as_deref() != Some("Bearer tok-1") {
                let ch = format!(
                    "Bearer realm=\"{realm}\",service=\"fake\",scope=\"repository:library/nginx:pull\""
                );
                return (401, vec![("WWW-Authenticate".into(), ch)], "{}".into());
            }
            if r.path.contains("/manifests/missing") {
                return (404, vec![], r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.into());
            }
            let headers = vec![
                ("Content-Type".into(), OCI_MANIFEST.to_string()),
                ("Docker-Content-Digest".into(), "sha256:abc".into()),
            ];
            (200, headers, image_body())
        }))
        .await;
        host_cell.set(host.clone()).unwrap();

        // Anonymous: the token is fetched without credentials (public images).
        let c = RegistryClient::new();
        let h = c
            .head_manifest(&host, "library/nginx", "latest")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(h.digest, "sha256:abc");
        assert_eq!(h.media_type, OCI_MANIFEST);
        let m = c
            .get_manifest(&host, "library/nginx", "latest")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.kind, ManifestKind::Image);
        assert!(c
            .head_manifest(&host, "library/nginx", "missing")
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            token_calls.load(Ordering::SeqCst),
            1,
            "token cached per (host, scope)"
        );
        assert_eq!(seen_basic.lock().unwrap()[0], None);

        // With credentials: Basic goes to the token endpoint.
        let c = RegistryClient::new();
        c.set_basic(&host, "u", Secret::new("p4ssw0rd"));
        c.head_manifest(&host, "library/nginx", "latest")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(token_calls.load(Ordering::SeqCst), 2);
        let sent = seen_basic.lock().unwrap()[1].clone().unwrap();
        assert_eq!(
            sent,
            format!(
                "Basic {}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "u:p4ssw0rd")
            )
        );
    }

    #[tokio::test]
    async fn basic_only_registry_and_tag_paging_until_an_empty_page() {
        let expected = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "u:pw-123")
        );
        let pages = Arc::new(AtomicUsize::new(0));
        let p2 = pages.clone();
        let host = fake(Arc::new(move |r: &Req| {
            if r.auth.as_deref() != Some(expected.as_str()) {
                return (
                    401,
                    vec![("WWW-Authenticate".into(), "Basic realm=\"reg\"".into())],
                    "{}".into(),
                );
            }
            if r.path.starts_with("/v2/o/app/tags/list") {
                p2.fetch_add(1, Ordering::SeqCst);
                // Like the forge: `Link` on every non-empty page, the last one included.
                let link = vec![(
                    "Link".into(),
                    "</v2/o/app/tags/list?n=100&last=x>; rel=\"next\"".into(),
                )];
                return if r.path.contains("last=t099") {
                    (200, link, r#"{"name":"o/app","tags":["t100"]}"#.into())
                } else if r.path.contains("last=t100") {
                    (200, vec![], r#"{"name":"o/app","tags":[]}"#.into())
                } else {
                    let tags: Vec<String> = (0..100).map(|i| format!("\"t{i:03}\"")).collect();
                    (
                        200,
                        link,
                        format!(r#"{{"name":"o/app","tags":[{}]}}"#, tags.join(",")),
                    )
                };
            }
            (404, vec![], String::new())
        }))
        .await;
        let c = RegistryClient::new();
        c.set_basic(&host, "u", Secret::new("pw-123"));
        let tags = c.tags(&host, "o/app").await.unwrap();
        assert_eq!(tags.len(), 101);
        assert_eq!(tags.last().map(String::as_str), Some("t100"));
        assert_eq!(pages.load(Ordering::SeqCst), 3);
        // Without credentials the 401 is an error with the status kept.
        let anon = RegistryClient::new();
        let e = anon.tags(&host, "o/app").await.unwrap_err();
        assert_eq!(e.status(), Some(401));
    }
}
