//! Retries of [`Http`] against a counting origin behind the fault-injecting proxy (the faults a
//! real server will not produce on demand).

use super::*;
use fault_proxy::{Fault, Mode, Origin, Proxy, Rule};
use std::time::Instant;

fn fast() -> retry::Policy {
    retry::Policy {
        attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
    }
}

async fn setup(rules: Vec<Rule>) -> (Origin, Proxy, Http) {
    let origin = Origin::start().await.unwrap();
    let proxy = Proxy::start(origin.addr(), Mode::Http, 7).await.unwrap();
    proxy.set_rules(rules);
    (origin, proxy, Http::new("Test").with_policy(fast()))
}

fn status(code: u16, retry_after: Option<u64>) -> Fault {
    Fault::Status {
        status: code,
        retry_after,
    }
}

#[derive(serde::Deserialize)]
struct N {
    n: u64,
}

#[tokio::test]
async fn get_after_503_then_200_succeeds() {
    let (origin, proxy, http) = setup(vec![Rule::always(status(503, None)).count(1)]).await;
    let before = retry::retry_count();
    let n: N = http
        .send_json(http.get(&format!("{}/x", proxy.url())))
        .await
        .unwrap();
    assert_eq!(n.n, 1);
    assert_eq!(proxy.stats().received, 2);
    assert_eq!(origin.count("GET"), 1);
    assert!(retry::retry_count() > before, "the retry is counted");
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let (origin, proxy, http) = setup(vec![Rule::always(status(429, Some(1))).count(1)]).await;
    let t = Instant::now();
    http.send(http.get(&format!("{}/x", proxy.url())))
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(origin.count("GET"), 1);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_not_waited_for() {
    let (_origin, proxy, http) = setup(vec![Rule::always(status(429, Some(3600)))]).await;
    let t = Instant::now();
    let e = http
        .send(http.get(&format!("{}/x", proxy.url())))
        .await
        .err()
        .unwrap();
    assert_eq!(e.status(), Some(429), "{e}");
    assert_eq!(proxy.stats().received, 1);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn reset_and_cut_answers_are_retried_for_reads_and_deletes() {
    let rules = vec![
        Rule::always(Fault::Reset).count(1),
        Rule::always(Fault::Cut).count(1),
        Rule::always(Fault::ResetAfter).count(1),
    ];
    let (origin, proxy, http) = setup(rules).await;
    http.send(http.get(&format!("{}/x", proxy.url())))
        .await
        .unwrap();
    assert_eq!(proxy.stats().received, 4, "{:?}", proxy.stats());
    proxy.set_rules(vec![Rule::always(Fault::Cut).count(1)]);
    http.send(http.request(reqwest::Method::DELETE, &format!("{}/x", proxy.url())))
        .await
        .unwrap();
    assert_eq!(origin.count("DELETE"), 2, "a DELETE is idempotent");
}

#[tokio::test]
async fn attempts_are_bounded() {
    let (origin, proxy, http) = setup(vec![Rule::always(status(503, None))]).await;
    let e = http
        .send(http.get(&format!("{}/x", proxy.url())))
        .await
        .err()
        .unwrap();
    assert_eq!(e.status(), Some(503));
    assert_eq!(proxy.stats().received, u64::from(fast().attempts));
    assert_eq!(origin.count("GET"), 0);
}

#[tokio::test]
async fn a_post_is_never_resent_after_a_lost_answer_or_a_5xx() {
    let (origin, proxy, http) = setup(vec![Rule::always(Fault::ResetAfter).count(1)]).await;
    let post = || {
        http.request(reqwest::Method::POST, &format!("{}/things", proxy.url()))
            .json(&serde_json::json!({"name": "a"}))
    };
    let e = http.send(post()).await.err().unwrap();
    assert!(e.is_transient(), "{e}");
    assert_eq!(origin.count("POST"), 1, "the POST reached the server once");
    assert_eq!(proxy.stats().received, 1, "and was not sent again");

    for (fault, what) in [
        (status(503, None), "503"),
        (status(502, None), "502"),
        (Fault::Cut, "cut"),
        (Fault::Reset, "reset"),
    ] {
        proxy.set_rules(vec![Rule::always(fault).count(1)]);
        proxy.reset_stats();
        let e = http.send(post()).await.err().unwrap();
        assert!(e.is_transient(), "{what}: {e}");
        assert_eq!(proxy.stats().received, 1, "{what}: not sent again");
    }
}

#[tokio::test]
async fn a_post_refused_with_429_or_marked_idempotent_is_sent_again() {
    let (origin, proxy, http) = setup(vec![Rule::always(status(429, Some(0))).count(1)]).await;
    let post = || http.request(reqwest::Method::POST, &format!("{}/login", proxy.url()));
    http.send(post()).await.unwrap();
    assert_eq!(origin.count("POST"), 1);
    assert_eq!(proxy.stats().received, 2);

    proxy.set_rules(vec![Rule::always(Fault::ResetAfter).count(1)]);
    http.send_as(post(), Replay::Idempotent).await.unwrap();
    assert_eq!(
        origin.count("POST"),
        3,
        "replayed once after the lost answer"
    );
}

#[tokio::test]
async fn a_connection_refused_is_retried_even_for_a_post() {
    // A port with nothing listening: nothing was sent, so even a POST may be tried again.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let http = Http::new("Test").with_policy(fast());
    let before = retry::retry_count();
    let e = http
        .send(http.request(reqwest::Method::POST, &format!("http://{addr}/x")))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Transport { .. }), "{e}");
    assert!(
        retry::retry_count() >= before + u64::from(fast().attempts - 1),
        "every attempt was made"
    );
}
