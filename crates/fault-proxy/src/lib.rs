//! A loopback proxy that injects faults by rule, for tests only (never shipped).
//!
//! It sits between the provider and one real server of the local stack, in one of two modes:
//!
//! - [`Mode::Http`], for plain-HTTP servers (OpenBao, Gitea, the Woodpecker double): each request
//!   is read whole, matched against the rules by method and path, and then forwarded on a fresh
//!   upstream connection (`Connection: close` on both sides, so a fault never leaks into a
//!   pooled connection) or answered with a fault.
//! - [`Mode::Tcp`], for servers behind TLS (kube-apiserver): bytes are piped unread; faults apply
//!   per connection (latency before the first byte, a reset at accept, a connection cut after
//!   the first part of the server's answer).
//!
//! A [`Rule`] picks requests (method, a substring of path and query), lets `skip` of them
//! through first, then injects its [`Fault`] with `probability` at most `count` times. Rules
//! are tried in order; latency adds up and does not stop the search, any other fault does.
//! [`Stats`] counts what passed and what was injected, so a test can print requests retried
//! and time added. The randomness is a seeded xorshift: a run can be repeated with its seed.
//! [`Proxy::set_streak_limit`] bounds the faults in a row for one method and path, so that a
//! test of transient faults does not fail on an unlucky run of five.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest request head read (a longer one is answered 431 by nobody: the connection closes).
const MAX_HEAD: usize = 64 * 1024;
/// How long one upstream exchange may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(150);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Http,
    Tcp,
}

/// What to do to a matched request (or, in [`Mode::Tcp`], connection).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Wait this long, then go on (other rules may still fault the request).
    Latency { ms: u64 },
    /// Answer this status without forwarding (HTTP only), with `Retry-After: <seconds>` if set.
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Reset the connection before forwarding: the server never sees the request.
    Reset,
    /// Forward, then reset instead of answering: the server did it, the answer is lost.
    ResetAfter,
    /// Forward, then send the first half of the answer and close.
    Cut,
}

impl Fault {
    fn kind(&self) -> String {
        match self {
            Fault::Latency { .. } => "latency".into(),
            Fault::Status { status, .. } => format!("status_{status}"),
            Fault::Reset => "reset".into(),
            Fault::ResetAfter => "reset_after".into(),
            Fault::Cut => "cut".into(),
        }
    }
}

fn one() -> f64 {
    1.0
}

/// Which requests get which fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Only this method (any case); any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths (with query) containing this; any when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// Chance of the fault for each eligible request.
    #[serde(default = "one")]
    pub probability: f64,
    /// Matching requests let through before the rule starts.
    #[serde(default)]
    pub skip: u64,
    /// Faults injected at most (unbounded when absent).
    #[serde(default)]
    pub count: Option<u64>,
    pub fault: Fault,
}

impl Rule {
    /// A rule for every request with `fault`, always.
    pub fn always(fault: Fault) -> Rule {
        Rule {
            method: None,
            path: None,
            probability: 1.0,
            skip: 0,
            count: None,
            fault,
        }
    }

    pub fn method(mut self, m: &str) -> Rule {
        self.method = Some(m.to_string());
        self
    }

    pub fn path(mut self, p: &str) -> Rule {
        self.path = Some(p.to_string());
        self
    }

    pub fn probability(mut self, p: f64) -> Rule {
        self.probability = p;
        self
    }

    pub fn skip(mut self, n: u64) -> Rule {
        self.skip = n;
        self
    }

    pub fn count(mut self, n: u64) -> Rule {
        self.count = Some(n);
        self
    }

    /// The transient mix the acceptance tests use: 503, 502, 429 (with `Retry-After: 1`),
    /// resets before forwarding and cut answers, `p` in all, for reads and idempotent writes;
    /// for other methods (POST), the kinds a client can tell apart from a lost answer: 503
    /// before forwarding, reset before forwarding, and the lost answer itself.
    pub fn transient_mix(p: f64) -> Vec<Rule> {
        let share = p / 5.0;
        let mut out = Vec::new();
        for m in ["GET", "HEAD", "PUT", "DELETE", "PATCH"] {
            out.extend([
                Rule::always(Fault::Status {
                    status: 503,
                    retry_after: None,
                })
                .method(m)
                .probability(share),
                Rule::always(Fault::Status {
                    status: 502,
                    retry_after: None,
                })
                .method(m)
                .probability(share / (1.0 - share)),
                Rule::always(Fault::Status {
                    status: 429,
                    retry_after: Some(1),
                })
                .method(m)
                .probability(share / (1.0 - 2.0 * share)),
                Rule::always(Fault::Reset)
                    .method(m)
                    .probability(share / (1.0 - 3.0 * share)),
                Rule::always(Fault::Cut)
                    .method(m)
                    .probability(share / (1.0 - 4.0 * share)),
            ]);
        }
        let share = p / 3.0;
        out.extend([
            Rule::always(Fault::Status {
                status: 503,
                retry_after: None,
            })
            .method("POST")
            .probability(share),
            Rule::always(Fault::Reset)
                .method("POST")
                .probability(share / (1.0 - share)),
            Rule::always(Fault::ResetAfter)
                .method("POST")
                .probability(share / (1.0 - 2.0 * share)),
        ]);
        out
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|p| path.contains(p))
    }
}

/// What the proxy saw and did (a snapshot).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests (HTTP) or connections (TCP) received.
    pub received: u64,
    /// Of these, passed on to the server.
    pub forwarded: u64,
    /// Faults injected, by kind (`status_503`, `reset`, `cut`, `latency`, ...).
    pub faults: BTreeMap<String, u64>,
    /// Latency added in all, in milliseconds.
    pub latency_ms: u64,
    /// Received requests by method and path without query (HTTP only).
    pub requests: BTreeMap<String, u64>,
}

impl Stats {
    /// Faults injected in all, latency excluded.
    pub fn failures(&self) -> u64 {
        self.faults
            .iter()
            .filter(|(k, _)| *k != "latency")
            .map(|(_, n)| n)
            .sum()
    }
}

struct RuleState {
    rule: Rule,
    matched: u64,
    injected: u64,
}

struct Shared {
    upstream: SocketAddr,
    mode: Mode,
    rules: Mutex<Vec<RuleState>>,
    rng: Mutex<u64>,
    stats: Mutex<Stats>,
    received: AtomicU64,
    /// At most this many faults in a row for one method and path (None: no limit).
    streak_limit: Mutex<Option<u32>>,
    streaks: Mutex<BTreeMap<String, u32>>,
}

impl Shared {
    /// The faults for one request: latencies first, then at most one other fault.
    fn decide(&self, method: &str, path: &str) -> (Duration, Option<Fault>) {
        let key = format!("{method} {path}");
        let limit = *self.streak_limit.lock().unwrap_or_else(|p| p.into_inner());
        let streak = self
            .streaks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .copied()
            .unwrap_or(0);
        let may_fail = limit.is_none_or(|l| streak < l);
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let mut latency = Duration::ZERO;
        let mut hit = None;
        let mut kinds = Vec::new();
        for r in rules.iter_mut() {
            if !r.rule.matches(method, path) {
                continue;
            }
            r.matched += 1;
            if r.matched <= r.rule.skip || r.rule.count.is_some_and(|c| r.injected >= c) {
                continue;
            }
            let is_latency = matches!(r.rule.fault, Fault::Latency { .. });
            if self.roll() >= r.rule.probability || (!is_latency && !may_fail) {
                continue;
            }
            r.injected += 1;
            kinds.push(r.rule.fault.kind());
            match &r.rule.fault {
                Fault::Latency { ms } => latency += Duration::from_millis(*ms),
                f => {
                    hit = Some(f.clone());
                    break;
                }
            }
        }
        drop(rules);
        {
            let mut st = self.streaks.lock().unwrap_or_else(|p| p.into_inner());
            if hit.is_some() {
                *st.entry(key).or_default() += 1;
            } else {
                st.remove(&key);
            }
        }
        let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        for k in kinds {
            *s.faults.entry(k).or_default() += 1;
        }
        s.latency_ms += latency.as_millis() as u64;
        (latency, hit)
    }

    /// A uniform number in [0, 1).
    fn roll(&self) -> f64 {
        let mut x = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        (*x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn note(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// A running proxy. Dropping it stops accepting connections.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Proxy {
    /// Start on a free loopback port, on the current tokio runtime.
    pub async fn start(upstream: SocketAddr, mode: Mode, seed: u64) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            mode,
            rules: Mutex::new(Vec::new()),
            rng: Mutex::new(seed.max(1)),
            stats: Mutex::new(Stats::default()),
            received: AtomicU64::new(0),
            streak_limit: Mutex::new(None),
            streaks: Mutex::new(BTreeMap::new()),
        });
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let s = shared.clone();
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = &mut stopped => return,
                    c = listener.accept() => c,
                };
                let Ok((stream, _)) = conn else { continue };
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = match s.mode {
                        Mode::Http => serve_http(&s, stream).await,
                        Mode::Tcp => serve_tcp(&s, stream).await,
                    };
                });
            }
        });
        Ok(Proxy {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// Start on a runtime of its own (a background thread), for synchronous tests.
    pub fn spawn(upstream: SocketAddr, mode: Mode, seed: u64) -> std::io::Result<Proxy> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let p = Proxy::start(upstream, mode, seed).await;
                let done = match &p {
                    Ok(p) => Some(p.closed()),
                    Err(_) => None,
                };
                let _ = tx.send(p);
                if let Some(done) = done {
                    done.await;
                }
            });
        });
        rx.recv()
            .map_err(|_| std::io::Error::other("the proxy thread ended"))?
    }

    fn closed(&self) -> impl std::future::Future<Output = ()> {
        let s = Arc::downgrade(&self.shared);
        async move {
            while s.strong_count() > 1 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replace the rules (counters of the old ones are dropped).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        *self.shared.rules.lock().unwrap_or_else(|p| p.into_inner()) = rules
            .into_iter()
            .map(|rule| RuleState {
                rule,
                matched: 0,
                injected: 0,
            })
            .collect();
    }

    /// Inject at most `n` faults in a row for one method and path (a transient fault passes
    /// on a later attempt); `None`: no limit (a permanent fault).
    pub fn set_streak_limit(&self, n: Option<u32>) {
        *self
            .shared
            .streak_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = n;
    }

    pub fn stats(&self) -> Stats {
        let mut s = self
            .shared
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        s.received = self.shared.received.load(Ordering::Relaxed);
        s
    }

    /// Zero the counters.
    pub fn reset_stats(&self) {
        *self.shared.stats.lock().unwrap_or_else(|p| p.into_inner()) = Stats::default();
        self.shared.received.store(0, Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The address a URL like `http://127.0.0.1:8200/x` names.
pub fn addr_of(url: &str) -> Option<SocketAddr> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostport = rest.split('/').next()?;
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else if url.starts_with("https") {
        format!("{hostport}:443")
    } else {
        format!("{hostport}:80")
    };
    use std::net::ToSocketAddrs;
    hostport.to_socket_addrs().ok()?.next()
}

/// One request head and body, as read from the client.
struct Request {
    method: String,
    path: String,
    head: Vec<String>,
    body: Vec<u8>,
}

async fn read_request(c: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = c.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head_text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head_text.split("\r\n").map(str::to_string);
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut head = vec![first.clone()];
    let mut length = 0usize;
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        head.push(l);
    }
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = c.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Request {
        method,
        path,
        head,
        body,
    }))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Send the request upstream on a fresh connection and read the whole answer (to EOF).
async fn exchange(upstream: SocketAddr, r: &Request) -> std::io::Result<Vec<u8>> {
    let mut u = TcpStream::connect(upstream).await?;
    let mut out = r.head.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(&r.body);
    u.write_all(&out).await?;
    let mut answer = Vec::new();
    u.read_to_end(&mut answer).await?;
    Ok(answer)
}

/// The answer with `Connection: close` in place of any connection header.
fn close_answer(answer: &[u8]) -> Vec<u8> {
    let Some(end) = find(answer, b"\r\n\r\n") else {
        return answer.to_vec();
    };
    let head = String::from_utf8_lossy(&answer[..end]);
    let mut out = String::new();
    for l in head.split("\r\n") {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&answer[end + 4..]);
    bytes
}

fn reason(status: u16) -> &'static str {
    match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        403 => "Forbidden",
        _ => "Injected",
    }
}

fn reset(c: TcpStream) {
    let _ = c.set_zero_linger();
    drop(c);
}

async fn serve_http(s: &Shared, mut c: TcpStream) -> std::io::Result<()> {
    let Some(req) = read_request(&mut c).await? else {
        return Ok(());
    };
    s.received.fetch_add(1, Ordering::Relaxed);
    let plain = req.path.split('?').next().unwrap_or_default();
    let key = format!("{} {}", req.method, plain);
    s.note(|st| *st.requests.entry(key).or_default() += 1);
    let (latency, fault) = s.decide(&req.method, &req.path);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let body = format!("fault-proxy: injected {status}\n");
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            if let Some(a) = retry_after {
                head.push_str(&format!("Retry-After: {a}\r\n"));
            }
            head.push_str("\r\n");
            c.write_all(head.as_bytes()).await?;
            c.write_all(body.as_bytes()).await?;
            c.shutdown().await
        }
        Some(Fault::Reset) => {
            reset(c);
            Ok(())
        }
        other => {
            s.note(|st| st.forwarded += 1);
            let answer = match tokio::time::timeout(UPSTREAM_TIMEOUT, exchange(s.upstream, &req))
                .await
            {
                Ok(Ok(a)) => a,
                _ => {
                    let msg = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    c.write_all(msg).await?;
                    return c.shutdown().await;
                }
            };
            let answer = close_answer(&answer);
            match other {
                Some(Fault::ResetAfter) => {
                    reset(c);
                    Ok(())
                }
                Some(Fault::Cut) => {
                    c.write_all(&answer[..answer.len() / 2]).await?;
                    c.shutdown().await
                }
                _ => {
                    c.write_all(&answer).await?;
                    c.shutdown().await
                }
            }
        }
    }
}

async fn serve_tcp(s: &Shared, mut c: TcpStream) -> std::io::Result<()> {
    s.received.fetch_add(1, Ordering::Relaxed);
    let (latency, fault) = s.decide("", "");
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Some(Fault::Reset) | Some(Fault::Status { .. }) => {
            reset(c);
            Ok(())
        }
        Some(Fault::Cut) | Some(Fault::ResetAfter) => {
            // Pass the client's first bytes on and the server's first answer back halfway,
            // then reset both sides.
            s.note(|st| st.forwarded += 1);
            let mut u = TcpStream::connect(s.upstream).await?;
            let (mut cr, mut cw) = c.split();
            let (mut ur, mut uw) = u.split();
            let up = tokio::io::copy(&mut cr, &mut uw);
            let down = async {
                let mut buf = vec![0u8; 64 * 1024];
                let n = ur.read(&mut buf).await?;
                cw.write_all(&buf[..n / 2]).await?;
                Ok::<_, std::io::Error>(())
            };
            tokio::select! {
                _ = up => {}
                _ = down => {}
            }
            reset(c);
            Ok(())
        }
        _ => {
            s.note(|st| st.forwarded += 1);
            let mut u = TcpStream::connect(s.upstream).await?;
            tokio::io::copy_bidirectional(&mut c, &mut u)
                .await
                .map(drop)
        }
    }
}

/// A trivial origin server for the proxy's and the clients' own tests: every request is
/// answered `200 {"n": N}` (N counts requests by method, see [`Origin::count`]).
pub struct Origin {
    addr: SocketAddr,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Origin {
    pub async fn start() -> std::io::Result<Origin> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
        let c = counts.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let c = c.clone();
                tokio::spawn(async move {
                    let Ok(Some(req)) = read_request(&mut stream).await else {
                        return;
                    };
                    let n = {
                        let mut m = c.lock().unwrap_or_else(|p| p.into_inner());
                        let e = m.entry(req.method.clone()).or_default();
                        *e += 1;
                        *e
                    };
                    let body = format!("{{\"n\":{n}}}");
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Ok(Origin { addr, counts })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests with `method` that reached the origin.
    pub fn count(&self, method: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(method)
            .copied()
            .unwrap_or(0)
    }
}
