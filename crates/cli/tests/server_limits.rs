//! Bounded work per request and per connection, against the real binary:
//! values that would overflow distances, key-list filters, the remote-shard
//! endpoint's `k`, slow and half-open clients, the connection cap, and a
//! shutdown that no client can hold up.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn info_vectors(addr: &str) -> u64 {
    let (st, info) = json_call(addr, "GET", "/v1/info", None, None);
    assert_eq!(st, 200, "{info}");
    info["vectors"].as_u64().unwrap()
}

#[test]
fn huge_finite_values_are_rejected_up_front_and_change_nothing() {
    let dir = tmpdir("huge");
    let data = build(&dir, 40, 8, 2);
    let srv = Server::start(&["serve", "--data", data.to_str().unwrap()]);
    let before = search(&srv.addr, &row(3, 8), None);
    // 1e30 is finite, but its square overflows f32: before the fix the
    // distance came back as `null` (l2) or the vector was called a zero
    // vector (cosine).
    let mut big = row(1, 8);
    big[5] = 1e30;
    let (st, r) = json_call(
        &srv.addr,
        "POST",
        "/v1/vectors",
        Some(json!({"vectors": [{"key": "big", "vector": big}]})),
        None,
    );
    assert_eq!((st, r["error"]["code"].as_str()), (400, Some("value_out_of_range")), "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("component 5"), "{r}");
    let (st, r) = json_call(&srv.addr, "POST", "/v1/search", Some(json!({"vector": big})), None);
    assert_eq!((st, r["error"]["code"].as_str()), (400, Some("value_out_of_range")), "{r}");
    // The largest allowed magnitude still works and gives finite distances.
    let mut edge = row(2, 8);
    edge[0] = 1e15;
    let (st, r) = json_call(&srv.addr, "POST", "/v1/search", Some(json!({"vector": edge})), None);
    assert_eq!(st, 200, "{r}");
    assert!(r["results"].as_array().unwrap().iter().all(|h| h["distance"].is_f64()), "{r}");
    assert_eq!(info_vectors(&srv.addr), 40);
    assert_eq!(search(&srv.addr, &row(3, 8), None)["results"], before["results"]);
}

#[test]
fn key_list_filters_are_bounded() {
    let dir = tmpdir("keysfilter");
    let data = build(&dir, 40, 8, 2);
    let srv = Server::start(&["serve", "--data", data.to_str().unwrap()]);
    let keys: Vec<String> = (0..100_001).map(|i| format!("k{i}")).collect();
    let (st, r) = json_call(
        &srv.addr,
        "POST",
        "/v1/search",
        Some(json!({"vector": row(1, 8), "filter": {"keys": keys}})),
        None,
    );
    assert_eq!((st, r["error"]["code"].as_str()), (413, Some("request_too_large")), "{r}");
    // A list within the bound still filters.
    let (st, r) = json_call(
        &srv.addr,
        "POST",
        "/v1/search",
        Some(json!({"vector": row(1, 8), "k": 5, "filter": {"keys": ["3", "7", "nope"]}})),
        None,
    );
    assert_eq!(st, 200, "{r}");
    let got: Vec<&str> =
        r["results"].as_array().unwrap().iter().map(|h| h["key"].as_str().unwrap()).collect();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, ["3", "7"], "{r}");
}

#[test]
fn the_shard_endpoint_refuses_unbounded_k_and_ef() {
    use vecshard_shard::{decode_response, encode_request, ErrorCode, Request, Response};
    let dir = tmpdir("shardk");
    let data = build(&dir, 40, 8, 1);
    let srv = Server::start(&["shard-serve", "--data", data.to_str().unwrap(), "--shard", "0"]);
    for (k, ef) in [(u32::MAX, None), (10, Some(u32::MAX)), (10_001, None)] {
        let req = Request::Search { vector: row(1, 8), k, ef, filter: None };
        let (st, body) = http(&srv.addr, "POST", "/v1/shard", &encode_request(&req), None);
        assert_eq!(st, 200);
        match decode_response(&body).unwrap() {
            Response::Error(e) => assert_eq!(e.code, ErrorCode::RequestTooLarge, "{e}"),
            other => panic!("k {k} ef {ef:?}: expected an error, got {other:?}"),
        }
    }
    let req = Request::Search { vector: row(1, 8), k: 10_000, ef: None, filter: None };
    let (_, body) = http(&srv.addr, "POST", "/v1/shard", &encode_request(&req), None);
    match decode_response(&body).unwrap() {
        Response::Hits { hits } => assert_eq!(hits.len(), 40),
        other => panic!("expected hits, got {other:?}"),
    }
}

/// Reads until EOF or error; returns how long that took, or `None` when the
/// connection was still open after `limit`.
fn wait_closed(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(t.elapsed()),
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return None
            }
            Err(_) => return Some(t.elapsed()),
        }
    }
}

#[test]
fn a_slow_client_is_disconnected_after_the_header_timeout() {
    let dir = tmpdir("slowloris");
    let data = build(&dir, 20, 8, 1);
    let srv = Server::start(&["serve", "--data", data.to_str().unwrap(), "--header-timeout", "1s"]);
    let mut s = TcpStream::connect(&srv.addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    let closed = wait_closed(&mut s, Duration::from_secs(30));
    assert!(closed.is_some(), "a half-sent request held its connection for 30 s");
    // An idle keep-alive connection is closed the same way.
    let mut s = TcpStream::connect(&srv.addr).unwrap();
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", srv.addr).as_bytes()).unwrap();
    assert!(wait_closed(&mut s, Duration::from_secs(30)).is_some(), "idle connection kept");
    // The server still answers.
    assert_eq!(http(&srv.addr, "GET", "/healthz", b"", None).0, 200);
}

#[test]
fn a_half_open_client_does_not_block_shutdown() {
    let dir = tmpdir("halfopen");
    let data = build(&dir, 20, 8, 1);
    let mut srv = Server::start(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--header-timeout",
        "600s",
        "--drain-timeout",
        "1s",
    ]);
    // The reproduction from the issue: a request line, then silence.
    let mut s = TcpStream::connect(&srv.addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = srv.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let t = Instant::now();
    let status = loop {
        if let Some(st) = srv.child.try_wait().unwrap() {
            break Some(st);
        }
        if t.elapsed() > Duration::from_secs(60) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status =
        status.expect("SIGTERM did not stop the server within 60 s while a client was connected");
    assert!(status.success(), "{status:?}");
    // The server closed our connection rather than leaving it dangling.
    assert!(wait_closed(&mut s, Duration::from_secs(5)).is_some());
}

#[test]
fn connections_over_the_cap_wait_until_one_closes() {
    let dir = tmpdir("conncap");
    let data = build(&dir, 20, 8, 1);
    let srv = Server::start(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--max-connections",
        "2",
        "--header-timeout",
        "600s",
    ]);
    let a = TcpStream::connect(&srv.addr).unwrap();
    let b = TcpStream::connect(&srv.addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The third connection is accepted by the kernel (backlog) but not
    // served while two are open.
    let mut c = TcpStream::connect(&srv.addr).unwrap();
    c.write_all(
        format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", srv.addr)
            .as_bytes(),
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    let mut buf = [0u8; 256];
    let early = c.read(&mut buf);
    assert!(
        matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
            || e.kind() == std::io::ErrorKind::TimedOut),
        "a third connection was served while the cap was 2: {early:?}"
    );
    drop(a);
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut resp = Vec::new();
    let _ = c.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    drop(b);
    let (st, body) = json_call(&srv.addr, "GET", "/v1/info", None, None);
    assert_eq!(st, 200, "{body}");
    let _: &Value = &body;
}
