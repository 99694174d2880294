//! End-to-end tests of the real `vecshard` binary: build, serve over HTTP on
//! 127.0.0.1, error answers that change nothing, kill -9 durability, remote
//! shards going away, and input errors that name the record.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn http_errors_are_json_4xx_and_change_nothing() {
    let dir = tmpdir("errors");
    let data = build(&dir, 300, 8, 3);
    let token = "s3cret";
    let srv = Server::start(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--token",
        token,
        "--max-body",
        "4KiB",
        "--max-batch",
        "5",
    ]);
    let a = srv.addr.as_str();
    let t = Some(token);
    let q = row(7, 8);
    let before = search(a, &q, t);
    assert_eq!(before["results"][0]["key"], "7");
    assert_eq!(before["partial"], false);

    let cases: Vec<Case<'_>> = vec![
        ("POST", "/v1/vectors", b"{not json".to_vec(), t, 400, "bad_json"),
        ("POST", "/v1/search", b"{\"vector\": [1, 2]}".to_vec(), t, 400, "dimension_mismatch"),
        (
            "POST",
            "/v1/vectors",
            serde_json::to_vec(&json!({"vectors": [{"key": "new", "vector": [1.0, 2.0]}]})).unwrap(),
            t,
            400,
            "dimension_mismatch",
        ),
        ("POST", "/v1/vectors", vec![b' '; 8192], t, 413, "body_too_large"),
        (
            "POST",
            "/v1/vectors",
            serde_json::to_vec(&json!({"vectors": (0..6).map(|i| json!({"key": format!("b{i}"), "vector": row(i, 8)})).collect::<Vec<_>>()})).unwrap(),
            t,
            413,
            "batch_too_large",
        ),
        ("GET", "/v1/info", vec![], None, 401, "unauthorized"),
        ("GET", "/v1/info", vec![], Some("wrong"), 401, "unauthorized"),
        ("GET", "/v1/vectors/nope", vec![], t, 404, "key_not_found"),
        ("DELETE", "/v1/vectors/nope", vec![], t, 404, "key_not_found"),
        ("POST", "/v1/search", b"{\"vector\": [1,2,3,4,5,6,7,8], \"k\": 0}".to_vec(), t, 400, "invalid_k"),
    ];
    for (m, p, body, tok, want_status, want_code) in cases {
        let (st, b) = http(a, m, p, &body, tok);
        let v: Value = serde_json::from_slice(&b)
            .unwrap_or_else(|_| panic!("{m} {p}: not JSON: {}", String::from_utf8_lossy(&b)));
        assert_eq!(
            (st, v["error"]["code"].as_str().unwrap_or("?")),
            (want_status, want_code),
            "{m} {p}: {v}"
        );
        assert!(v["error"]["message"].as_str().is_some_and(|s| !s.is_empty()));
    }
    // Nothing changed.
    let (_, info) = json_call(a, "GET", "/v1/info", None, t);
    assert_eq!(info["vectors"], 300);
    assert_eq!(search_eq(a, &q, t), Json::without_took(before.clone()));

    // And the happy paths.
    let (st, r) = json_call(
        a,
        "POST",
        "/v1/vectors",
        Some(
            json!({"vectors": [{"key": "doc:1", "vector": row(1000, 8), "attributes": {"lang": "en"}}]}),
        ),
        t,
    );
    assert_eq!((st, r["inserted"].as_u64()), (200, Some(1)), "{r}");
    let (st, r) = json_call(a, "GET", "/v1/vectors/doc:1", None, t);
    assert_eq!((st, &r["attributes"]["lang"]), (200, &json!("en")), "{r}");
    let (st, _) = json_call(a, "DELETE", "/v1/vectors/doc:1", None, t);
    assert_eq!(st, 200);
    let (st, m) = http(a, "GET", "/metrics", &[], t);
    let m = String::from_utf8(m).unwrap();
    assert_eq!(st, 200);
    assert!(m.contains("vecshard_http_requests_total{route=\"search\",status=\"200\"}"), "{m}");
    assert!(m.contains("vecshard_shard_vectors{shard=\"2\"}"));
    assert!(m.contains("vecshard_shard_memory_bytes{shard=\"0\"}"));
    srv.stop();
}

/// Search results minus the timing field, for comparisons.
struct Json;
impl Json {
    fn without_took(mut v: Value) -> Value {
        v.as_object_mut().unwrap().remove("took_us");
        v
    }
}

fn search_eq(a: &str, q: &[f32], t: Option<&str>) -> Value {
    Json::without_took(search(a, q, t))
}

#[test]
fn acknowledged_writes_survive_kill_9_with_fsync_always() {
    let dir = tmpdir("kill9");
    let data = build(&dir, 100, 8, 2);
    let args = ["serve", "--data", data.to_str().unwrap(), "--fsync", "always"];
    let mut srv = Server::start(&args);
    for i in 0..20 {
        let (st, r) = json_call(
            &srv.addr,
            "POST",
            "/v1/vectors",
            Some(json!({"vectors": [{"key": format!("w{i}"), "vector": row(500 + i, 8)}]})),
            None,
        );
        assert_eq!(st, 200, "{r}");
    }
    let (st, _) = json_call(&srv.addr, "DELETE", "/v1/vectors/3", None, None);
    assert_eq!(st, 200);
    srv.kill9();
    let srv = Server::start(&args);
    for i in 0..20 {
        let (st, r) = json_call(&srv.addr, "GET", &format!("/v1/vectors/w{i}"), None, None);
        assert_eq!(st, 200, "acknowledged write w{i} lost after kill -9: {r}");
        assert_eq!(r["vector"].as_array().unwrap().len(), 8);
    }
    let (st, _) = json_call(&srv.addr, "GET", "/v1/vectors/3", None, None);
    assert_eq!(st, 404, "acknowledged delete lost after kill -9");
    let (_, info) = json_call(&srv.addr, "GET", "/v1/info", None, None);
    assert_eq!(info["vectors"], 119);
    srv.stop();
    // A clean stop checkpointed: the logs are empty again.
    let o = vecshard(&["info", "--data", data.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for s in v["per_shard"].as_array().unwrap() {
        assert!(s["wal_bytes"].as_u64().unwrap() <= 64, "WAL not truncated: {s}");
    }
}

#[test]
fn a_stopped_remote_shard_makes_search_partial() {
    let dir = tmpdir("remote");
    let data = build(&dir, 200, 8, 2);
    let d = data.to_str().unwrap();
    let s0 = Server::start(&["shard-serve", "--data", d, "--shard", "0", "--token", "t"]);
    let mut s1 = Server::start(&["shard-serve", "--data", d, "--shard", "1", "--token", "t"]);
    let remote = format!("http://{},http://{}", s0.addr, s1.addr);
    let coord = Server::start(&["serve", "--remote", &remote, "--token", "t", "--timeout", "5s"]);
    let t = Some("t");
    let q = row(11, 8);
    let full = search(&coord.addr, &q, t);
    assert_eq!(full["partial"], false);
    assert_eq!(full["results"][0]["key"], "11");
    s1.kill9();
    let part = search(&coord.addr, &q, t);
    assert_eq!(part["partial"], true, "{part}");
    assert_eq!(part["missing_shards"], json!([1]));
    assert!(!part["results"].as_array().unwrap().is_empty());
    let (st, r) = json_call(
        &coord.addr,
        "POST",
        "/v1/search",
        Some(json!({"vector": q, "k": 5, "strict": true})),
        t,
    );
    assert_eq!((st, r["error"]["code"].as_str()), (503, Some("shards_unavailable")), "{r}");
    drop(coord);
    drop(s0);
}

#[test]
fn bad_input_files_name_the_record_and_leave_nothing_behind() {
    let dir = tmpdir("badinput");
    let jl = dir.join("bad.jsonl");
    std::fs::write(&jl, "{\"key\":\"a\",\"vector\":[1,2]}\n{\"key\":\"b\",\"vector\":[1,2}\n")
        .unwrap();
    let out = dir.join("out");
    let o = vecshard(&["build", "--input", jl.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("bad.jsonl: line 2"), "{err}");
    assert!(!out.exists(), "a failed build leaves no data dir");

    let fv = dir.join("cut.fvecs");
    write_fvecs(&fv, 10, 4);
    let len = std::fs::metadata(&fv).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&fv).unwrap().set_len(len - 5).unwrap();
    let o = vecshard(&["build", "--input", fv.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cut.fvecs: record 9: truncated"), "{err}");

    let nan = dir.join("nan.jsonl");
    std::fs::write(&nan, "{\"key\":\"a\",\"vector\":[1,2]}\n{\"key\":\"b\",\"vector\":[0,0]}\n")
        .unwrap();
    let o = vecshard(&[
        "build",
        "--input",
        nan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--metric",
        "cosine",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nan.jsonl: record 1") && err.contains("zero"), "{err}");
    assert!(!out.exists());

    // A data dir disagreeing with the command line is refused, untouched.
    let data = build(&dir, 50, 4, 2);
    let before = std::fs::read(data.join("cluster.json")).unwrap();
    let o = vecshard(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--shards",
        "3",
        "--listen",
        "127.0.0.1:0",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("shards"), "{err}");
    assert_eq!(std::fs::read(data.join("cluster.json")).unwrap(), before);
}

#[test]
fn query_info_and_checkpoint_on_a_data_dir() {
    let dir = tmpdir("query");
    let data = build(&dir, 120, 6, 3);
    let d = data.to_str().unwrap();
    let v: Vec<String> = row(42, 6).iter().map(|x| x.to_string()).collect();
    let o = vecshard(&[
        "query",
        "--data",
        d,
        "--vector",
        &v.join(","),
        "--k",
        "3",
        "--ef",
        "200",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["results"][0]["key"], "42");
    assert_eq!(r["results"].as_array().unwrap().len(), 3);
    let o = vecshard(&["info", "--data", d]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("shards: 3") && text.contains("dim: 6"), "{text}");
    let o = vecshard(&["checkpoint", "--data", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for cmd in ["build", "serve", "shard-serve", "query", "info", "checkpoint", "bench"] {
        let o = vecshard(&[cmd, "--help"]);
        let h = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && h.contains("Example"), "`{cmd} --help` has an example: {h}");
    }
}

/// The HTTP side's thread count is a flag: with several threads the server
/// answers concurrent clients correctly, and 0 threads is refused before
/// anything starts.
#[test]
fn http_threads_flag_serves_concurrent_clients_and_refuses_zero() {
    let dir = tmpdir("http-threads");
    let data = build(&dir, 200, 8, 2);
    let d = data.to_str().unwrap();
    let out = vecshard(&["serve", "--data", d, "--http-threads", "0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--http-threads"), "{err}");

    let srv = Server::start(&["serve", "--data", d, "--http-threads", "3"]);
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let a = srv.addr.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| {
                        let r = search(&a, &row(t * 10 + i, 8), None);
                        (t * 10 + i, r["results"][0]["key"].clone())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for c in clients {
        for (want, got) in c.join().expect("client thread") {
            assert_eq!(got, json!(want.to_string()));
        }
    }
    srv.stop();
}
