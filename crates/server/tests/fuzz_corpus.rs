//! Replays the committed fuzz corpus of the HTTP JSON bodies
//! (`fuzz/corpus/http_json`, plus any crash reproducers in
//! `fuzz/regressions/http_json`) through the same check the `http_json`
//! fuzz target runs. The target calls the router in process; this sends
//! each body over a real socket to the same router, so hyper's framing is
//! covered too. See README § Fuzzing.

#[allow(dead_code)]
#[path = "../../../fuzz/checks/fixture.rs"]
mod fixture;
#[path = "../../../fuzz/checks/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../../../fuzz/checks/known.rs"]
mod known;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

#[path = "../../../fuzz/checks/corpus.rs"]
mod corpus;
use corpus::inputs;

/// One `POST` with `Connection: close`: the status and the body.
fn post(addr: SocketAddr, route: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {route} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    assert!(!head.contains("transfer-encoding: chunked"), "unexpected chunked reply: {head}");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    (status, buf[end + 4..].to_vec())
}

#[test]
fn http_json_corpus_replays() {
    let inputs = inputs("http_json");
    assert!(inputs.len() >= 5, "the corpus is missing ({} files)", inputs.len());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let h = http::Harness::new();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let router = vecshard_server::router(h.app.clone());
    rt.spawn(vecshard_server::serve(listener, router, std::future::pending()));
    for (name, data) in &inputs {
        let Some((route, body)) = http::split(data) else { continue };
        eprintln!("{name}");
        h.reset();
        let before = h.state();
        let (status, reply) = post(addr, route, body);
        let after = h.state();
        http::check_reply(&h, route, body, status, &reply, &before, &after);
    }
}
