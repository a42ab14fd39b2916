//! Running an operation that Terraform may stop (StopProvider).
//!
//! The operation itself usually watches the same cancellation token (a rollout wait, a retry
//! loop) and returns what it did so far. So the operation is always polled first, and once the
//! token fires it gets a short grace period to return its own (partial) result; only an
//! operation that does not return within [`GRACE`] is abandoned.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long an operation may take to return after cancellation before it is abandoned.
pub const GRACE: Duration = Duration::from_millis(800);

/// How an operation ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    /// It returned (before or after the cancellation, within the grace period).
    Returned(T),
    /// It was cancelled and did not return within the grace period.
    Abandoned,
}

/// Polls `f` first; after `cancel` fires, waits at most [`GRACE`] for it.
pub async fn run<T>(cancel: &CancellationToken, f: impl Future<Output = T>) -> Outcome<T> {
    let mut f = std::pin::pin!(f);
    tokio::select! {
        biased;
        v = &mut f => return Outcome::Returned(v),
        _ = cancel.cancelled() => {}
    }
    match tokio::time::timeout(GRACE, f).await {
        Ok(v) => Outcome::Returned(v),
        Err(_) => Outcome::Abandoned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn a_result_ready_with_the_cancellation_wins() {
        // Both are ready at the first poll: the operation's own result is kept, every time.
        for _ in 0..200 {
            let t = CancellationToken::new();
            t.cancel();
            assert_eq!(run(&t, async { 7 }).await, Outcome::Returned(7));
        }
    }

    #[tokio::test]
    async fn an_operation_watching_the_token_returns_its_partial_result() {
        let t = CancellationToken::new();
        let t2 = t.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            t2.cancel();
        });
        let op = async {
            t.cancelled().await;
            tokio::time::sleep(Duration::from_millis(50)).await; // tidying up
            "partial"
        };
        assert_eq!(run(&t, op).await, Outcome::Returned("partial"));
    }

    #[tokio::test]
    async fn an_operation_ignoring_the_token_is_abandoned_after_the_grace() {
        let t = CancellationToken::new();
        t.cancel();
        let t0 = Instant::now();
        let op = tokio::time::sleep(Duration::from_secs(60));
        assert_eq!(run(&t, op).await, Outcome::Abandoned);
        assert!(t0.elapsed() >= GRACE && t0.elapsed() < Duration::from_secs(1));
    }
}
