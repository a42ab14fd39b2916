//! One retry policy for every client: bounded exponential backoff with full jitter, honouring a
//! server's `Retry-After`. Callers decide what is transient (see [`transient_status`]); only reads
//! and idempotent writes go through [`retry`]; a non-idempotent write is re-read, never resent.
//!
//! Cancellation needs no token here: the server drops the operation's future when Terraform
//! asks the provider to stop, and a pending sleep goes with it.

use std::future::Future;
use std::time::Duration;

/// How often and how long to try.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Attempts in all, the first included (1 = no retry).
    pub attempts: u32,
    /// Backoff ceiling before the first retry; doubles per retry up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is returned.
    pub max_retry_after: Duration,
}

impl Policy {
    /// The default for API calls: 5 attempts, 200 ms doubling to at most 5 s (about 10 s of
    /// waiting in the worst case).
    pub const DEFAULT: Policy = Policy {
        attempts: 5,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(30),
    };

    /// The ceiling of the jittered delay before retry number `retry` (1-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// What a failed attempt means for the next one.
pub enum Verdict {
    /// Not transient: return the error.
    Fail,
    /// Transient: try again after the backoff, or after the server's `Retry-After` if given.
    Retry(Option<Duration>),
}

/// Statuses worth another attempt: 429 and the gateway/unavailable family.
pub fn transient_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// A `Retry-After` header in seconds (the HTTP-date form is treated as absent).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Run `op` until it succeeds, `classify` calls its error final, or the attempts run out.
/// `what` names the operation in the debug log of each retry.
pub async fn retry<T, E, F, Fut>(
    policy: Policy,
    what: &str,
    mut op: F,
    classify: impl Fn(&E) -> Verdict,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut attempt = 1;
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let after = match classify(&err) {
            Verdict::Fail => return Err(err),
            Verdict::Retry(_) if attempt >= policy.attempts => return Err(err),
            Verdict::Retry(Some(after)) if after > policy.max_retry_after => return Err(err),
            Verdict::Retry(after) => after,
        };
        let delay = next_delay(&policy, what, attempt, after, &err);
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// Count one retry, log it at debug (`transient failure, retrying`, with the error, which
/// names method and path but never credentials) and return how long to sleep before attempt
/// `attempt + 1`: the server's `Retry-After` when given, else the jittered backoff.
pub fn next_delay(
    policy: &Policy,
    what: &str,
    attempt: u32,
    after: Option<Duration>,
    err: &dyn std::fmt::Display,
) -> Duration {
    let delay = after.unwrap_or_else(|| jitter(policy.ceiling(attempt)));
    note_retry();
    tracing::debug!(what, attempt, delay_ms = delay.as_millis() as u64, error = %err, "transient failure, retrying");
    delay
}

/// Retries made by this process so far (read by tests and benchmarks).
pub fn retry_count() -> u64 {
    RETRIES.load(std::sync::atomic::Ordering::Relaxed)
}

static RETRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn note_retry() {
    RETRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Full jitter: a uniformly random delay in `[0, ceiling]`.
fn jitter(ceiling: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let r = h.finish();
    let nanos = ceiling.as_nanos() as u64;
    Duration::from_nanos(if nanos == 0 { 0 } else { r % (nanos + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn ceiling_doubles_up_to_the_maximum() {
        let p = Policy::DEFAULT;
        assert_eq!(p.ceiling(1), Duration::from_millis(200));
        assert_eq!(p.ceiling(2), Duration::from_millis(400));
        assert_eq!(p.ceiling(5), Duration::from_millis(3200));
        assert_eq!(p.ceiling(6), Duration::from_secs(5));
        assert_eq!(p.ceiling(60), Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_under_the_ceiling() {
        for _ in 0..1000 {
            assert!(jitter(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    fn fast() -> Policy {
        Policy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            max_retry_after: Duration::from_millis(50),
        }
    }

    #[tokio::test]
    async fn retries_transient_errors_until_success_and_stops_at_the_limit() {
        let calls = AtomicU32::new(0);
        let ok: Result<u32, String> = retry(
            fast(),
            "t",
            || async {
                let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
                if n < 3 {
                    Err(format!("503 #{n}"))
                } else {
                    Ok(n)
                }
            },
            |_| Verdict::Retry(None),
        )
        .await;
        assert_eq!(ok, Ok(3));

        calls.store(0, Ordering::Relaxed);
        let err: Result<u32, String> = retry(
            fast(),
            "t",
            || async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err("503".to_string())
            },
            |_| Verdict::Retry(None),
        )
        .await;
        assert_eq!(err, Err("503".into()));
        assert_eq!(calls.load(Ordering::Relaxed), 3, "attempts are bounded");
    }

    #[tokio::test]
    async fn final_errors_and_long_retry_after_are_not_retried() {
        let calls = AtomicU32::new(0);
        let op = || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err::<(), _>("x".to_string())
        };
        let _ = retry(fast(), "t", op, |_| Verdict::Fail).await;
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        let _ = retry(fast(), "t", op, |_| {
            Verdict::Retry(Some(Duration::from_secs(3600)))
        })
        .await;
        assert_eq!(
            calls.load(Ordering::Relaxed),
            2,
            "an hour's Retry-After is not waited for"
        );
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
