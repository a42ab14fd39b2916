//! Forgejo / Gitea REST client for the packages API (api/v1).
//!
//! Endpoints: `GET /api/v1/packages/{owner}?type=&page=&limit=` (one entry per version, newest
//! first, `limit` <= 50), `DELETE /api/v1/packages/{owner}/{type}/{name}/{version}`,
//! `GET /api/v1/users/{owner}` and `GET /api/v1/orgs/{owner}` (owner exists),
//! `GET /api/v1/user` (who the token belongs to). Auth: `Authorization: token <PAT>`.

use super::http;
use super::Error;
use serde::Deserialize;
use tfplugin::secret::Secret;

pub const SYSTEM: &str = "forgejo";

/// Package types the packages API knows (Forgejo and Gitea).
pub const PACKAGE_TYPES: &[&str] = &[
    "alpine",
    "arch",
    "cargo",
    "chef",
    "composer",
    "conan",
    "conda",
    "container",
    "cran",
    "debian",
    "generic",
    "go",
    "helm",
    "maven",
    "npm",
    "nuget",
    "pub",
    "pypi",
    "rpm",
    "rubygems",
    "swift",
    "vagrant",
];

/// Largest page the packages API serves.
const PAGE: usize = 50;

/// One package version as the packages API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageVersion {
    /// The version's id.
    pub id: i64,
    pub package_type: String,
    pub name: String,
    pub version: String,
    /// Creation (push) time, unix seconds.
    pub created_at: i64,
}

#[derive(Deserialize)]
struct RawPackage {
    id: i64,
    #[serde(rename = "type", default)]
    package_type: String,
    name: String,
    version: String,
    #[serde(default)]
    created_at: String,
}

impl RawPackage {
    /// The version, or why its `created_at` is unusable: an age that cannot be known must not
    /// count as old (the retention rules would then delete it).
    fn into_version(self) -> Result<PackageVersion, String> {
        let Some(created_at) = parse_rfc3339(&self.created_at) else {
            return Err(format!(
                "{}:{} has a created_at that is not an RFC 3339 time: {:?}",
                self.name, self.version, self.created_at
            ));
        };
        Ok(PackageVersion {
            id: self.id,
            created_at,
            package_type: self.package_type,
            name: self.name,
            version: self.version,
        })
    }
}

#[derive(Deserialize)]
struct RawUser {
    #[serde(default)]
    login: String,
    #[serde(default)]
    username: String,
}

/// The forge and the token to use (what the provider's `forgejo` block resolves to).
#[derive(Clone, Debug)]
pub struct ForgejoConfig {
    pub url: String,
    pub token: Secret,
    /// The token's user; looked up from the token when unset.
    pub username: Option<String>,
}

pub struct ForgejoClient {
    base: String,
    token: Secret,
    http: http::Http,
}

impl ForgejoClient {
    pub fn new(base_url: &str, token: Secret) -> Self {
        ForgejoClient {
            base: base_url.trim_end_matches('/').to_string(),
            token,
            http: http::Http::new(SYSTEM),
        }
    }

    /// Host (and port) of the forge: its OCI registry lives there under `/v2`.
    pub fn registry_host(&self) -> String {
        url::Url::parse(&self.base)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_default()
    }

    /// Scheme of the forge's URL (`http` or `https`): its registry is served the same way.
    pub fn registry_scheme(&self) -> String {
        url::Url::parse(&self.base)
            .map(|u| u.scheme().to_string())
            .unwrap_or_else(|_| "https".into())
    }

    pub fn token(&self) -> &Secret {
        &self.token
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(&format!("{}{path}", self.base))
            .header("Authorization", format!("token {}", self.token.expose()))
    }

    /// Every version of every package of `package_type` owned by `owner`: pages until one is
    /// empty or the `x-total-count` the forge announces is reached (a forge configured with a
    /// smaller page cap serves pages shorter than asked for). A version whose `created_at`
    /// cannot be read fails the listing.
    pub async fn list_versions(
        &self,
        owner: &str,
        package_type: &str,
    ) -> Result<Vec<PackageVersion>, Error> {
        let mut out = Vec::new();
        for page in 1.. {
            let resp = self
                .http
                .send(
                    self.get(&format!("/api/v1/packages/{}", http::path_segment(owner)))
                        .query(&[
                            ("type", package_type.to_string()),
                            ("page", page.to_string()),
                            ("limit", PAGE.to_string()),
                        ]),
                )
                .await?;
            let total: Option<usize> = resp
                .headers()
                .get("x-total-count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let (method, path) = (resp.method.clone(), resp.path.clone());
            let body = resp.bytes(SYSTEM).await?;
            let decode = |message: String| Error::Decode {
                system: SYSTEM,
                method: method.clone(),
                path: path.clone(),
                message,
            };
            let items: Vec<RawPackage> =
                serde_json::from_slice(&body).map_err(|e| decode(e.to_string()))?;
            if items.is_empty() {
                break;
            }
            for item in items {
                out.push(item.into_version().map_err(decode)?);
            }
            if total.is_some_and(|t| out.len() >= t) {
                break;
            }
        }
        Ok(out)
    }

    /// Delete one version (204). `Ok(false)` when it was already gone.
    pub async fn delete_version(
        &self,
        owner: &str,
        package_type: &str,
        name: &str,
        version: &str,
    ) -> Result<bool, Error> {
        let path = version_path(owner, package_type, name, version);
        let req = self
            .http
            .request(reqwest::Method::DELETE, &format!("{}{path}", self.base))
            .header("Authorization", format!("token {}", self.token.expose()));
        match self.http.send(req).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether a user or organization named `owner` exists.
    pub async fn owner_exists(&self, owner: &str) -> Result<bool, Error> {
        for kind in ["users", "orgs"] {
            let path = format!("/api/v1/{kind}/{}", http::path_segment(owner));
            match self.http.send(self.get(&path)).await {
                Ok(_) => return Ok(true),
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// [`Self::owner_exists`] as a check, for callers that report a missing owner as an error.
    pub async fn require_owner(&self, owner: &str) -> Result<(), OwnerError> {
        match self.owner_exists(owner).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(OwnerError::Missing(owner.to_string())),
            Err(e) => Err(OwnerError::Lookup(owner.to_string(), e)),
        }
    }

    /// Login of the user the token belongs to.
    pub async fn current_user(&self) -> Result<String, Error> {
        let u: RawUser = self.http.send_json(self.get("/api/v1/user")).await?;
        Ok(if u.login.is_empty() {
            u.username
        } else {
            u.login
        })
    }
}

/// Why [`ForgejoClient::require_owner`] failed: the message is a summary, [`Self::detail`]
/// says more.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error("Owner {0} does not exist")]
    Missing(String),
    #[error("Could not look up owner {0}")]
    Lookup(String, #[source] Error),
}

impl OwnerError {
    pub fn detail(&self) -> String {
        match self {
            OwnerError::Missing(o) => {
                format!("The forge has no user or organization named {o:?}.")
            }
            OwnerError::Lookup(_, e) => e.to_string(),
        }
    }
}

fn version_path(owner: &str, package_type: &str, name: &str, version: &str) -> String {
    format!(
        "/api/v1/packages/{}/{}/{}/{}",
        http::path_segment(owner),
        http::path_segment(package_type),
        http::path_segment(name),
        http::path_segment(version)
    )
}

/// `2026-11-27T09:24:49Z`, `2026-11-27T09:24:49.123+02:00` -> unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(|b| b.is_ascii_digit()).count();
        rest = &r[digits..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_parse() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-11-27T09:24:49Z"), Some(1_795_771_489));
        assert_eq!(
            parse_rfc3339("2026-11-27T11:24:49.5+02:00"),
            Some(1_795_771_489)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn the_registry_is_served_like_the_forge() {
        let c = ForgejoClient::new("http://forgejo.svc:3000/", Secret::new("t"));
        assert_eq!(c.registry_host(), "forgejo.svc:3000");
        assert_eq!(c.registry_scheme(), "http");
        let reg = crate::clients::registry::RegistryClient::new();
        reg.set_scheme(&c.registry_host(), &c.registry_scheme());
        assert_eq!(reg.base("forgejo.svc:3000"), "http://forgejo.svc:3000");
        // Other hosts keep the default.
        assert_eq!(reg.base("forge.example"), "https://forge.example");
        let c = ForgejoClient::new("https://git.example", Secret::new("t"));
        assert_eq!(
            (c.registry_host().as_str(), c.registry_scheme().as_str()),
            ("git.example", "https")
        );
    }

    use crate::clients::registry::tests::{fake, Req};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A forge serving `total` versions in pages of at most `cap` (a forge whose
    /// MAX_RESPONSE_ITEMS is below 50), with or without `x-total-count`; `bad_date` makes the
    /// last version's `created_at` unreadable. Returns the client and the request counter.
    async fn forge(
        total: usize,
        cap: usize,
        count_header: bool,
        bad_date: bool,
    ) -> (ForgejoClient, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let host = fake(Arc::new(move |r: &Req| {
            c.fetch_add(1, Ordering::SeqCst);
            let page: usize = r
                .path
                .split(['?', '&'])
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap();
            let items: Vec<serde_json::Value> = ((page - 1) * cap..(page * cap).min(total))
                .map(|i| {
                    let date = if bad_date && i == total - 1 { "yesterday" } else { "2026-11-27T09:24:49Z" };
                    serde_json::json!({"id": i, "type": "container", "name": "app", "version": format!("t{i}"), "created_at": date})
                })
                .collect();
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            if count_header {
                headers.push(("X-Total-Count".into(), total.to_string()));
            }
            (200, headers, serde_json::to_string(&items).unwrap())
        }))
        .await;
        (
            ForgejoClient::new(&format!("http://{host}"), Secret::new("t")),
            calls,
        )
    }

    #[tokio::test]
    async fn listing_pages_past_short_pages() {
        // x-total-count: stop once it is reached.
        let (c, calls) = forge(45, 20, true, false).await;
        let vs = c.list_versions("o", "container").await.unwrap();
        assert_eq!(vs.len(), 45);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // No count: until an empty page.
        let (c, calls) = forge(45, 20, false, false).await;
        assert_eq!(c.list_versions("o", "container").await.unwrap().len(), 45);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        let (c, _) = forge(0, 20, false, false).await;
        assert!(c.list_versions("o", "container").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unreadable_created_at_fails_the_listing() {
        let (c, _) = forge(3, 50, true, true).await;
        let e = c.list_versions("o", "container").await.unwrap_err();
        assert!(e.to_string().contains("app:t2"), "{e}");
        assert!(e.to_string().contains("yesterday"), "{e}");
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(http::path_segment("sha256:ab"), "sha256:ab");
        assert_eq!(http::path_segment("a/b c"), "a%2Fb%20c");
    }
}
