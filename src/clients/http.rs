//! The HTTP plumbing every REST client shares: one reqwest client per system (rustls), a
//! request helper that logs method and path at debug (never headers, so never tokens), keeps
//! the server's error text, and counts requests per system for the benchmarks.

use super::Error;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Longest server error text kept in a message.
const MAX_ERROR_TEXT: usize = 2048;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!(
            "terraform-provider-cicd/",
            env!("CARGO_PKG_VERSION")
        ))
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
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

/// Send a request and return the answer whatever its status (counted and logged like `send`).
/// For protocols that read headers of error answers, e.g. a registry's 401
/// `WWW-Authenticate` challenge; turn the answer into an error with [`error_from`].
pub async fn send_any(
    system: &'static str,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Error> {
    execute(system, req).await.map(|(_, r)| r)
}

async fn execute(
    system: &'static str,
    req: reqwest::RequestBuilder,
) -> Result<(String, reqwest::Response), Error> {
    let req = req
        .build()
        .map_err(|e| Error::Other(format!("could not build a request to {system}: {e}")))?;
    let method = req.method().to_string();
    let path = path_of(req.url());
    let n = counter(system).fetch_add(1, Ordering::Relaxed) + 1;
    tracing::debug!(system, method = %method, path = %path, request_no = n, "http request");
    let resp = client_for_send()
        .execute(req)
        .await
        .map_err(|e| Error::Transport {
            system,
            method: method.clone(),
            path: path.clone(),
            message: transport_message(&e),
        })?;
    let status = resp.status();
    tracing::debug!(system, method = %method, path = %path, status = status.as_u16(), "http response");
    Ok((method, resp))
}

/// Send a request; a non-2xx status becomes `Error::Status` with the server's text.
pub async fn send(
    system: &'static str,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Error> {
    let (method, resp) = execute(system, req).await?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    Err(error_from(system, &method, resp).await)
}

/// The `Error::Status` for a non-success answer, with the server's text (shortened).
pub async fn error_from(system: &'static str, method: &str, resp: reqwest::Response) -> Error {
    let status = resp.status();
    let method = method.to_string();
    let path = path_of(resp.url());
    let mut text = resp.text().await.unwrap_or_default();
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
        method,
        path,
        status: status.as_u16(),
        message: text,
    }
}

/// Send and decode a JSON answer.
pub async fn send_json<T: DeserializeOwned>(
    system: &'static str,
    req: reqwest::RequestBuilder,
) -> Result<T, Error> {
    let resp = send(system, req).await?;
    let method = "";
    let path = path_of(resp.url());
    let bytes = resp.bytes().await.map_err(|e| Error::Transport {
        system,
        method: method.into(),
        path: path.clone(),
        message: e.to_string(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
        system,
        method: method.into(),
        path,
        message: e.to_string(),
    })
}

fn client_for_send() -> &'static reqwest::Client {
    static C: OnceLock<reqwest::Client> = OnceLock::new();
    C.get_or_init(client)
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
