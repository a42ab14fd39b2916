//! The proxy's own rules, in both modes, against its trivial origin.

use fault_proxy::{Fault, Mode, Origin, Proxy, Rule};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One raw HTTP/1.1 exchange: the whole answer, or the I/O error that ended it.
async fn get(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn complete(answer: &str) -> bool {
    answer.starts_with("HTTP/1.1 200") && answer.ends_with('}')
}

fn status(code: u16, retry_after: Option<u64>) -> Fault {
    Fault::Status {
        status: code,
        retry_after,
    }
}

#[tokio::test]
async fn http_rules_match_method_and_path_skip_and_count() {
    let origin = Origin::start().await.unwrap();
    let p = Proxy::start(origin.addr(), Mode::Http, 3).await.unwrap();
    p.set_rules(vec![Rule::always(status(503, Some(2)))
        .method("POST")
        .path("/secrets")
        .skip(1)
        .count(2)]);
    assert!(complete(&get(p.addr(), "GET", "/secrets").await.unwrap()));
    assert!(
        complete(&get(p.addr(), "POST", "/secrets").await.unwrap()),
        "skipped"
    );
    let a = get(p.addr(), "POST", "/secrets?x=1").await.unwrap();
    assert!(
        a.starts_with("HTTP/1.1 503") && a.contains("Retry-After: 2"),
        "{a}"
    );
    assert!(get(p.addr(), "POST", "/secrets")
        .await
        .unwrap()
        .starts_with("HTTP/1.1 503"));
    assert!(
        complete(&get(p.addr(), "POST", "/secrets").await.unwrap()),
        "count reached"
    );
    let st = p.stats();
    assert_eq!((st.received, st.forwarded), (5, 3));
    assert_eq!(st.faults.get("status_503"), Some(&2));
    assert_eq!(origin.count("POST"), 2);
}

#[tokio::test]
async fn http_reset_cut_lost_answer_and_latency() {
    let origin = Origin::start().await.unwrap();
    let p = Proxy::start(origin.addr(), Mode::Http, 3).await.unwrap();
    p.set_rules(vec![Rule::always(Fault::Reset).count(1)]);
    assert!(get(p.addr(), "GET", "/").await.is_err(), "reset");
    assert_eq!(
        origin.count("GET"),
        0,
        "a reset request never reaches the server"
    );

    p.set_rules(vec![Rule::always(Fault::ResetAfter).count(1)]);
    assert!(get(p.addr(), "GET", "/").await.is_err(), "reset after");
    assert_eq!(
        origin.count("GET"),
        1,
        "a lost answer's request reached the server"
    );

    p.set_rules(vec![Rule::always(Fault::Cut).count(1)]);
    let a = get(p.addr(), "GET", "/").await.unwrap();
    assert!(a.starts_with("HTTP/1.1 200") && !complete(&a), "cut: {a:?}");

    p.set_rules(vec![Rule::always(Fault::Latency { ms: 300 })]);
    let t = Instant::now();
    assert!(complete(&get(p.addr(), "GET", "/").await.unwrap()));
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(p.stats().latency_ms, 300);
}

#[tokio::test]
async fn streak_limit_lets_the_third_attempt_through() {
    let origin = Origin::start().await.unwrap();
    let p = Proxy::start(origin.addr(), Mode::Http, 3).await.unwrap();
    p.set_rules(vec![Rule::always(status(502, None))]);
    p.set_streak_limit(Some(2));
    for _ in 0..3 {
        assert!(get(p.addr(), "GET", "/a")
            .await
            .unwrap()
            .starts_with("HTTP/1.1 502"));
        assert!(get(p.addr(), "GET", "/a")
            .await
            .unwrap()
            .starts_with("HTTP/1.1 502"));
        assert!(complete(&get(p.addr(), "GET", "/a").await.unwrap()));
    }
}

#[tokio::test]
async fn probability_is_roughly_kept() {
    let origin = Origin::start().await.unwrap();
    let p = Proxy::start(origin.addr(), Mode::Http, 12345)
        .await
        .unwrap();
    p.set_rules(Rule::transient_mix(0.2));
    for _ in 0..400 {
        let _ = get(p.addr(), "GET", "/").await;
    }
    let f = p.stats().failures();
    assert!((40..=120).contains(&f), "{f} faults in 400 requests at 20%");
}

#[tokio::test]
async fn tcp_mode_pipes_resets_cuts_and_delays_connections() {
    let origin = Origin::start().await.unwrap();
    let p = Proxy::start(origin.addr(), Mode::Tcp, 3).await.unwrap();
    assert!(complete(&get(p.addr(), "GET", "/").await.unwrap()));

    p.set_rules(vec![Rule::always(Fault::Reset).count(1)]);
    let r = get(p.addr(), "GET", "/").await;
    assert!(r.as_ref().map_or(true, |a| a.is_empty()), "reset: {r:?}");

    p.set_rules(vec![Rule::always(Fault::Cut).count(1)]);
    let r = get(p.addr(), "GET", "/").await;
    assert!(r.as_ref().map_or(true, |a| !complete(a)), "cut: {r:?}");

    p.set_rules(vec![Rule::always(Fault::Latency { ms: 200 }).count(1)]);
    let t = Instant::now();
    assert!(complete(&get(p.addr(), "GET", "/").await.unwrap()));
    assert!(t.elapsed() >= Duration::from_millis(200));
    let st = p.stats();
    assert_eq!(st.received, 4);
    assert_eq!(
        origin.count("GET"),
        3,
        "the reset connection never reached the server"
    );
}
