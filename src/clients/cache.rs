//! Batched reads: a short-lived per-process cache keyed by collection, so that a refresh of N
//! objects of one collection costs one list request, not N gets. Concurrent callers of the same
//! key wait for the one fetch in flight. Writes invalidate their collection.

use super::Error;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// One cached fetch: when it started, and the cell its result lands in.
type Slot<T> = (Instant, Arc<OnceCell<Arc<T>>>);

pub struct ListCache<T> {
    ttl: Duration,
    entries: Mutex<HashMap<String, Slot<T>>>,
}

impl<T> ListCache<T> {
    pub fn new(ttl: Duration) -> Self {
        ListCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached list for `key`, fetching it once when absent or older than the TTL.
    pub async fn get_or_fetch<F, Fut>(&self, key: &str, fetch: F) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let cell = {
            let mut m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = m
                .get(key)
                .filter(|(at, _)| at.elapsed() < self.ttl)
                .map(|(_, c)| c.clone());
            match fresh {
                Some(c) => c,
                None => {
                    let c = Arc::new(OnceCell::new());
                    m.insert(key.to_string(), (Instant::now(), c.clone()));
                    c
                }
            }
        };
        cell.get_or_try_init(|| async { fetch().await.map(Arc::new) })
            .await
            .cloned()
    }

    pub fn invalidate(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_readers_share_one_fetch_and_writes_invalidate() {
        let cache = Arc::new(ListCache::<Vec<u32>>::new(Duration::from_secs(60)));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch("secrets", || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(vec![1, 2, 3])
                    })
                    .await
                    .unwrap()
                    .len()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 3);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache.invalidate("secrets");
        cache
            .get_or_fetch("secrets", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(vec![])
            })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_fetch_is_retried() {
        let cache = ListCache::<u32>::new(Duration::from_secs(60));
        let r = cache
            .get_or_fetch("k", || async { Err(Error::Other("boom".into())) })
            .await;
        assert!(r.is_err());
        let r = cache.get_or_fetch("k", || async { Ok(7) }).await.unwrap();
        assert_eq!(*r, 7);
    }
}
