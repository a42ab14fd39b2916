//! The HTTP plumbing every REST client shares: an [`Http`] per system (its own reqwest client,
//! rustls), whose `send*` methods log method and path at debug (never headers, so never
//! tokens), keep the server's error text with the method and path, and count requests per
//! system in one place ([`request_count`], read by the benchmarks; the Kubernetes client, which
//! talks through kube-rs, counts through [`note_request`]).
//!
//! Retries (see [`Replay`]): each attempt reads the whole answer, so a connection reset or an
//! answer cut short fails inside the attempt. Reads and idempotent writes are sent again after
//! a connection error, a cut answer, 429 (after `Retry-After`, if within the policy's limit),
//! 502, 503 or 504, under [`retry::Policy::DEFAULT`]; other methods only when nothing reached
//! the server. Every retry is counted ([`retry::retry_count`]) and logged at debug. Timeouts:
//! 15 s to connect, 30 s without a byte, 120 s per attempt.

use super::{retry, Error};
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
    policy: retry::Policy,
}

/// Whether a request may be sent again after a transient failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Decided by the method: GET, HEAD, OPTIONS, PUT and DELETE are idempotent (RFC 9110) and
    /// are sent again after a connection error, a cut answer, 429, 502, 503 or 504; any other
    /// method only when the request provably never reached the server (the connection could
    /// not be opened) or the server refused it unprocessed (429).
    ByMethod,
    /// The caller proved this request idempotent (e.g. a PATCH that sets fields to given
    /// values, or a Vault login): replayed like a GET.
    Idempotent,
}

/// An answer, read to its end, with the method and path it answers (for error messages).
pub struct Resp {
    pub method: String,
    pub path: String,
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: bytes::Bytes,
}

impl Resp {
    pub fn status(&self) -> reqwest::StatusCode {
        self.status
    }

    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }

    /// The `Error::Status` for this (non-success) answer, with the server's text.
    pub async fn into_error(self, system: &'static str) -> Error {
        error_from(system, self)
    }

    /// The body as bytes (the answer was read to its end when it arrived).
    pub async fn bytes(self, _system: &'static str) -> Result<bytes::Bytes, Error> {
        Ok(self.body)
    }
}

/// How one attempt failed.
enum Failure {
    /// Nothing reached the server (the connection could not be opened).
    NotSent(Error),
    /// The request may have reached the server: reset, timeout, cut answer.
    Unknown(Error),
}

impl Http {
    pub fn new(system: &'static str) -> Self {
        Http {
            system,
            client: client(),
            policy: retry::Policy::DEFAULT,
        }
    }

    /// The same client with another retry policy (tests use short delays).
    pub fn with_policy(mut self, policy: retry::Policy) -> Self {
        self.policy = policy;
        self
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
        Ok(Http {
            system,
            client,
            policy: retry::Policy::DEFAULT,
        })
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
    /// Transient failures are retried as [`Replay::ByMethod`] allows.
    pub async fn send_any(&self, req: reqwest::RequestBuilder) -> Result<Resp, Error> {
        self.send_any_as(req, Replay::ByMethod).await
    }

    /// [`Self::send_any`] with an explicit replay rule.
    pub async fn send_any_as(
        &self,
        req: reqwest::RequestBuilder,
        replay: Replay,
    ) -> Result<Resp, Error> {
        let system = self.system;
        let req = req
            .build()
            .map_err(|e| Error::Other(format!("could not build a request to {system}: {e}")))?;
        let method = req.method().to_string();
        let path = path_of(req.url());
        let idempotent = replay == Replay::Idempotent || idempotent_method(req.method());
        // A streaming body cannot be cloned: such a request is sent once.
        let mut original = Some(req);
        let mut attempt = 1;
        loop {
            let this = match original.as_ref().and_then(reqwest::Request::try_clone) {
                Some(r) => r,
                None => match original.take() {
                    Some(r) => r,
                    None => break Err(Error::Other(format!("{system}: request consumed"))),
                },
            };
            let last = original.is_none() || attempt >= self.policy.attempts;
            let (err, after) = match self.attempt(this, &method, &path).await {
                Ok(resp) => {
                    let transient = retry::transient_status(resp.status.as_u16());
                    let replayable = idempotent || resp.status.as_u16() == 429;
                    if !transient || !replayable || last {
                        break Ok(resp);
                    }
                    let after = retry::retry_after(&resp.headers);
                    if after.is_some_and(|a| a > self.policy.max_retry_after) {
                        break Ok(resp);
                    }
                    (error_from(system, resp), after)
                }
                Err(Failure::NotSent(e)) if !last => (e, None),
                Err(Failure::Unknown(e)) if idempotent && !last => (e, None),
                Err(Failure::NotSent(e) | Failure::Unknown(e)) => break Err(e),
            };
            let delay = retry::next_delay(&self.policy, system, attempt, after, &err);
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One attempt: send, then read the whole answer (a cut answer fails here, not later).
    async fn attempt(
        &self,
        req: reqwest::Request,
        method: &str,
        path: &str,
    ) -> Result<Resp, Failure> {
        let system = self.system;
        let transport = |e: &reqwest::Error| Error::Transport {
            system,
            method: method.to_string(),
            path: path.to_string(),
            message: transport_message(e),
        };
        let n = note_request(system, method, path);
        let resp = self.client.execute(req).await.map_err(|e| {
            if e.is_connect() {
                Failure::NotSent(transport(&e))
            } else {
                Failure::Unknown(transport(&e))
            }
        })?;
        let status = resp.status();
        tracing::debug!(system, method = %method, path = %path, request_no = n, status = status.as_u16(), "http response");
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Failure::Unknown(transport(&e)))?;
        Ok(Resp {
            method: method.to_string(),
            path: path.to_string(),
            status,
            headers,
            body,
        })
    }

    /// Send a request; a non-2xx status becomes `Error::Status` with the server's text.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Resp, Error> {
        self.send_as(req, Replay::ByMethod).await
    }

    /// [`Self::send`] with an explicit replay rule.
    pub async fn send_as(
        &self,
        req: reqwest::RequestBuilder,
        replay: Replay,
    ) -> Result<Resp, Error> {
        let resp = self.send_any_as(req, replay).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(error_from(self.system, resp))
    }

    /// Send and decode a JSON answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        self.send_json_as(req, Replay::ByMethod).await
    }

    /// [`Self::send_json`] with an explicit replay rule.
    pub async fn send_json_as<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        replay: Replay,
    ) -> Result<T, Error> {
        let resp = self.send_as(req, replay).await?;
        serde_json::from_slice(&resp.body).map_err(|e| Error::Decode {
            system: self.system,
            method: resp.method,
            path: resp.path,
            message: e.to_string(),
        })
    }
}

/// Methods RFC 9110 calls idempotent.
fn idempotent_method(m: &reqwest::Method) -> bool {
    use reqwest::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(m)
}

fn client() -> reqwest::Client {
    builder().build().unwrap_or_default()
}

fn builder() -> reqwest::ClientBuilder {
    tfplugin::tls::install_default();
    reqwest::Client::builder()
        .user_agent(concat!(
            "terraform-provider-cicd/",
            env!("CARGO_PKG_VERSION")
        ))
        .connect_timeout(Duration::from_secs(15))
        // A stalled connection fails (and is retried) well before the whole-request limit.
        .read_timeout(Duration::from_secs(30))
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
fn error_from(system: &'static str, resp: Resp) -> Error {
    let mut text = String::from_utf8_lossy(&resp.body).into_owned();
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
        status: resp.status.as_u16(),
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

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
