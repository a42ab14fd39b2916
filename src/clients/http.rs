//! The HTTP plumbing every REST client shares: an [`Http`] per system (its own reqwest client,
//! rustls), whose `send*` methods log method and path at debug (never headers, so never
//! tokens), keep the server's error text with the method and path, and count requests per
//! system in one place ([`request_count`], read by the benchmarks; the Kubernetes client, which
//! talks through kube-rs, counts through [`note_request`]).

use super::Error;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Longest server error text kept in a message.
const MAX_ERROR_TEXT: usize = 2048;

/// One system's HTTP client.
#[derive(Clone)]
pub struct Http {
    system: &'static str,
    client: reqwest::Client,
}

/// An answer with the method and path it answers (for error messages).
pub struct Resp {
    pub method: String,
    pub path: String,
    pub inner: reqwest::Response,
}

impl Resp {
    pub fn status(&self) -> reqwest::StatusCode {
        self.inner.status()
    }

    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        self.inner.headers()
    }

    /// The `Error::Status` for this (non-success) answer, with the server's text.
    pub async fn into_error(self, system: &'static str) -> Error {
        error_from(system, self).await
    }

    /// The body as bytes (a transport error names the request).
    pub async fn bytes(self, system: &'static str) -> Result<bytes::Bytes, Error> {
        let (method, path) = (self.method, self.path);
        self.inner.bytes().await.map_err(|e| Error::Transport {
            system,
            method,
            path,
            message: transport_message(&e),
        })
    }
}

impl Http {
    pub fn new(system: &'static str) -> Self {
        Http {
            system,
            client: client(),
        }
    }

    /// Like [`Http::new`], also trusting the CA certificates in `pem` (e.g. VAULT_CACERT).
    pub fn with_ca_pem(system: &'static str, pem: &[u8]) -> Result<Self, String> {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
        if certs.is_empty() {
            return Err("no PEM certificate found".into());
        }
        let b = certs
            .into_iter()
            .fold(builder(), |b, c| b.add_root_certificate(c));
        let client = b.build().map_err(|e| e.to_string())?;
        Ok(Http { system, client })
    }

    pub fn system(&self) -> &'static str {
        self.system
    }

    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.get(url)
    }

    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Send a request and return the answer whatever its status. For protocols that read
    /// headers of error answers, e.g. a registry's 401 `WWW-Authenticate` challenge.
    pub async fn send_any(&self, req: reqwest::RequestBuilder) -> Result<Resp, Error> {
        let system = self.system;
        let req = req
            .build()
            .map_err(|e| Error::Other(format!("could not build a request to {system}: {e}")))?;
        let method = req.method().to_string();
        let path = path_of(req.url());
        let n = note_request(system, &method, &path);
        let resp = self
            .client
            .execute(req)
            .await
            .map_err(|e| Error::Transport {
                system,
                method: method.clone(),
                path: path.clone(),
                message: transport_message(&e),
            })?;
        tracing::debug!(system, method = %method, path = %path, request_no = n, status = resp.status().as_u16(), "http response");
        Ok(Resp {
            method,
            path,
            inner: resp,
        })
    }

    /// Send a request; a non-2xx status becomes `Error::Status` with the server's text.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Resp, Error> {
        let resp = self.send_any(req).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(error_from(self.system, resp).await)
    }

    /// Send and decode a JSON answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let resp = self.send(req).await?;
        let (method, path) = (resp.method.clone(), resp.path.clone());
        let bytes = resp.bytes(self.system).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            system: self.system,
            method,
            path,
            message: e.to_string(),
        })
    }
}

fn client() -> reqwest::Client {
    builder().build().unwrap_or_default()
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!(
            "terraform-provider-cicd/",
            env!("CARGO_PKG_VERSION")
        ))
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(30))
}

fn counters() -> &'static Mutex<HashMap<&'static str, &'static AtomicU64>> {
    static C: OnceLock<Mutex<HashMap<&'static str, &'static AtomicU64>>> = OnceLock::new();
    C.get_or_init(Default::default)
}

fn counter(system: &'static str) -> &'static AtomicU64 {
    let mut m = counters().lock().unwrap_or_else(|p| p.into_inner());
    m.entry(system)
        .or_insert_with(|| Box::leak(Box::new(AtomicU64::new(0))))
}

/// Requests sent to `system` by this process so far.
pub fn request_count(system: &'static str) -> u64 {
    counter(system).load(Ordering::Relaxed)
}

fn path_of(url: &reqwest::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{}", url.path(), q),
        None => url.path().to_string(),
    }
}

/// Percent-encode one URL path segment (unreserved characters and `:` stay as they are).
pub fn path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Count one request to `system` and log it; returns its number. Every client goes through
/// here, so [`request_count`] is the whole truth for each system.
pub fn note_request(system: &'static str, method: &str, path: &str) -> u64 {
    let n = counter(system).fetch_add(1, Ordering::Relaxed) + 1;
    tracing::debug!(system, method = %method, path = %path, request_no = n, "http request");
    n
}

/// The `Error::Status` for a non-success answer, with the server's text (shortened).
async fn error_from(system: &'static str, resp: Resp) -> Error {
    let status = resp.status().as_u16();
    let mut text = resp.inner.text().await.unwrap_or_default();
    if text.len() > MAX_ERROR_TEXT {
        let mut cut = MAX_ERROR_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    Error::Status {
        system,
        method: resp.method,
        path: resp.path,
        status,
        message: text,
    }
}

fn transport_message(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}
