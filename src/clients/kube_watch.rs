//! Rollout waits fed by ONE watch per namespace: every `cicd_image_deployment` applied in a
//! namespace waits on the same stream of Deployment events, so an apply of N deployments costs
//! one watch request per namespace instead of N.
//!
//! The watch starts with the first wait of its namespace and ends a few seconds after the last
//! one. It starts from a fresh read (no resource version: the server sends every Deployment of
//! the namespace as it is now, then the changes), resumes from the last version it saw when the
//! server ends it, and starts again from a fresh read after an error or a dropped connection,
//! for as long as someone waits. Each wait only accepts copies at least as new as the one its
//! own apply returned, so a fresh read never shows it an older state.
//!
//! An identity that may not watch the whole namespace (a Role with `resourceNames`) gets a
//! watch of the one Deployment (`metadata.name` field selector, as kubectl does) instead.

use super::kubernetes::{
    newer, rollout_state, KubeClient, Rollout, RolloutError, REQUEST_TIMEOUT, SYSTEM,
};
use super::{retry, Error};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, WatchEvent, WatchParams};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long a watch outlives its last waiter (so that waits one after another share it).
const LINGER: Duration = Duration::from_secs(5);
/// The longest watch the server is asked for; it is resumed after.
const WATCH_SECONDS: u32 = 290;

/// What a watch has seen of one Deployment.
#[derive(Clone)]
enum Seen {
    Live(Box<Deployment>),
    /// Deleted, at this resource version.
    Deleted(Box<Deployment>),
}

/// One running watch: `namespace` or `namespace/name`.
struct Shared {
    seen: Mutex<HashMap<String, Seen>>,
    /// Bumped on every event, so that waiters wake up.
    tick: tokio::sync::watch::Sender<u64>,
    /// This identity may not watch this way.
    forbidden: std::sync::atomic::AtomicBool,
    /// The last failure of the watch (for a timeout's message).
    last_error: Mutex<Option<String>>,
    waiters: AtomicUsize,
    idle_since: Mutex<Option<Instant>>,
}

/// The running watches of one client, by key.
#[derive(Default)]
pub struct Watches(Arc<Mutex<HashMap<String, Arc<Shared>>>>);

/// A wait's hold on a watch: while any is held the watch runs.
struct Hold(Arc<Shared>);

impl Drop for Hold {
    fn drop(&mut self) {
        if self.0.waiters.fetch_sub(1, Ordering::SeqCst) == 1 {
            *self.0.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
    }
}

impl Watches {
    /// The newest copy of Deployment `name` that a running watch of `ns` has seen.
    pub fn latest(&self, ns: &str, name: &str) -> Option<Deployment> {
        let shared = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(ns)?
            .clone();
        let seen = shared.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get(name)? {
            Seen::Live(d) => Some((**d).clone()),
            Seen::Deleted(_) => None,
        }
    }

    /// A hold on the watch of `ns` (all Deployments) or, with `name`, of one Deployment;
    /// started if none runs.
    fn hold(&self, client: kube::Client, ns: &str, name: Option<&str>) -> Hold {
        let key = match name {
            Some(n) => format!("{ns}/{n}"),
            None => ns.to_string(),
        };
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = all.get(&key) {
            s.waiters.fetch_add(1, Ordering::SeqCst);
            return Hold(s.clone());
        }
        let shared = Arc::new(Shared {
            seen: Default::default(),
            tick: tokio::sync::watch::channel(0).0,
            forbidden: Default::default(),
            last_error: Default::default(),
            waiters: AtomicUsize::new(1),
            idle_since: Default::default(),
        });
        all.insert(key.clone(), shared.clone());
        let registry = self.0.clone();
        let (ns, name) = (ns.to_string(), name.map(str::to_string));
        tokio::spawn(run(client, ns, name, key, shared.clone(), registry));
        Hold(shared)
    }
}

/// The watch loop of one key, until it has had no waiter for [`LINGER`].
async fn run(
    client: kube::Client,
    ns: String,
    name: Option<String>,
    key: String,
    shared: Arc<Shared>,
    registry: Arc<Mutex<HashMap<String, Arc<Shared>>>>,
) {
    let api: Api<Deployment> = Api::namespaced(client, &ns);
    let mut path = format!("/apis/apps/v1/namespaces/{ns}/deployments?watch=1");
    let mut wp = WatchParams::default().timeout(WATCH_SECONDS);
    if let Some(n) = &name {
        wp = wp.fields(&format!("metadata.name={n}"));
        path.push_str(&format!("&fieldSelector=metadata.name={n}"));
    }
    // Empty: a fresh read (every object as it is now, then the changes).
    let mut rv = String::new();
    let mut failures = 0u32;
    loop {
        if finished(&shared, &registry, &key) {
            return;
        }
        super::http::note_request(SYSTEM, "GET", &path);
        let started = tokio::time::timeout(REQUEST_TIMEOUT, api.watch(&wp, &rv)).await;
        let stream = match started {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let forbidden = matches!(&e, kube::Error::Api(s) if s.code == 401 || s.code == 403);
                fail(&shared, format!("watch {path}: {e}"), forbidden);
                failures += 1;
                rv.clear();
                pause(&shared, &registry, &key, failures).await;
                continue;
            }
            Err(_) => {
                fail(&shared, format!("watch {path}: no answer"), false);
                failures += 1;
                rv.clear();
                continue;
            }
        };
        let mut stream = stream.boxed();
        loop {
            let ev = tokio::select! {
                ev = stream.try_next() => ev,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if finished(&shared, &registry, &key) {
                        return;
                    }
                    continue;
                }
            };
            match ev {
                // The server ended the watch: resume where it stopped.
                Ok(None) => break,
                Ok(Some(WatchEvent::Added(d) | WatchEvent::Modified(d))) => {
                    failures = 0;
                    rv = d.metadata.resource_version.clone().unwrap_or_default();
                    record(&shared, Seen::Live(Box::new(d)));
                }
                Ok(Some(WatchEvent::Deleted(d))) => {
                    rv = d.metadata.resource_version.clone().unwrap_or_default();
                    record(&shared, Seen::Deleted(Box::new(d)));
                }
                Ok(Some(WatchEvent::Bookmark(b))) => rv = b.metadata.resource_version,
                Ok(Some(WatchEvent::Error(s))) => {
                    // 410 Gone (too old a version) or anything else: a fresh read.
                    fail(
                        &shared,
                        format!("watch {path}: {} {}", s.code, s.message),
                        false,
                    );
                    rv.clear();
                    break;
                }
                Err(e) => {
                    // The connection dropped: a fresh read.
                    fail(&shared, format!("watch {path}: {e}"), false);
                    failures += 1;
                    rv.clear();
                    pause(&shared, &registry, &key, failures).await;
                    break;
                }
            }
        }
    }
}

/// Backoff after a failed watch (bounded, with jitter as every retry).
async fn pause(
    shared: &Arc<Shared>,
    registry: &Arc<Mutex<HashMap<String, Arc<Shared>>>>,
    key: &str,
    failures: u32,
) {
    let ceiling = retry::Policy::DEFAULT.ceiling(failures.max(1));
    let delay = Duration::from_millis(fastrand_ms(ceiling.as_millis() as u64));
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if finished(shared, registry, key) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100).min(delay)).await;
    }
}

/// A pseudo-random number of milliseconds in `[0, max]` (jitter).
fn fastrand_ms(max: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(max);
    h.finish() % (max + 1)
}

fn fail(shared: &Shared, message: String, forbidden: bool) {
    tracing::debug!(error = %message, "rollout watch failed; it starts again from a fresh read");
    if forbidden {
        shared.forbidden.store(true, Ordering::SeqCst);
    }
    *shared.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
    shared.tick.send_modify(|t| *t += 1);
}

fn record(shared: &Shared, seen: Seen) {
    let d = match &seen {
        Seen::Live(d) | Seen::Deleted(d) => d,
    };
    let name = d.metadata.name.clone().unwrap_or_default();
    shared
        .seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(name, seen);
    shared.tick.send_modify(|t| *t += 1);
}

/// Whether the watch has had no waiter for [`LINGER`] (or is forbidden and unwaited): then it
/// is removed from the registry, under its lock so that no new waiter joins it meanwhile.
fn finished(
    shared: &Arc<Shared>,
    registry: &Arc<Mutex<HashMap<String, Arc<Shared>>>>,
    key: &str,
) -> bool {
    let mut all = registry.lock().unwrap_or_else(|p| p.into_inner());
    if shared.waiters.load(Ordering::SeqCst) > 0 {
        return false;
    }
    let idle = *shared.idle_since.lock().unwrap_or_else(|p| p.into_inner());
    let linger = if shared.forbidden.load(Ordering::SeqCst) {
        Duration::ZERO
    } else {
        LINGER
    };
    if idle.is_some_and(|t| t.elapsed() < linger) {
        return false;
    }
    if all.get(key).is_some_and(|s| Arc::ptr_eq(s, shared)) {
        all.remove(key);
    }
    true
}

impl KubeClient {
    /// Wait until the rollout of `name` completes with `kubectl rollout status`'s rules, from
    /// `start` (what the apply returned), on the namespace's shared watch. Ends at the
    /// deadline, or at once when `cancel` fires (Terraform's StopProvider).
    pub async fn wait_rollout(
        &self,
        ns: &str,
        name: &str,
        start: Deployment,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Deployment, RolloutError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let min_generation = start.metadata.generation.unwrap_or(0);
        let mut last = start;
        let mut hold = self.watches.hold(self.kube(), ns, None);
        let mut single = false;
        let mut tick = hold.0.tick.subscribe();
        loop {
            let seen = hold
                .0
                .seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(name)
                .cloned();
            match seen {
                Some(Seen::Live(d))
                    if d.metadata.generation.unwrap_or(0) >= min_generation && newer(&d, &last) =>
                {
                    last = *d
                }
                Some(Seen::Deleted(d)) if newer(&d, &last) => return Err(RolloutError::Gone),
                _ => {}
            }
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
            if tokio::time::Instant::now() >= deadline {
                let mut waiting = match rollout_state(&last) {
                    Rollout::Waiting(w) => w,
                    _ => String::new(),
                };
                let e = hold.0.last_error.lock().map(|e| e.clone()).ok().flatten();
                if let Some(e) = e {
                    waiting.push_str(&format!("; last watch error: {e}"));
                }
                return Err(RolloutError::Timeout {
                    waiting,
                    last: Box::new(last),
                });
            }
            if !single && hold.0.forbidden.load(Ordering::SeqCst) {
                // Not allowed to watch the namespace: watch this one Deployment.
                single = true;
                hold = self.watches.hold(self.kube(), ns, Some(name));
                tick = hold.0.tick.subscribe();
                continue;
            }
            if single && hold.0.forbidden.load(Ordering::SeqCst) {
                let e = hold.0.last_error.lock().map(|e| e.clone()).ok().flatten();
                return Err(RolloutError::Api(Error::Other(e.unwrap_or_default())));
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(RolloutError::Cancelled { last: Box::new(last) }),
                _ = tokio::time::sleep_until(deadline) => {}
                _ = tick.changed() => {}
            }
        }
    }
}
