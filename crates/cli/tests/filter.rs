//! Filtered search end to end with the real `vecshard` binary: `build`
//! from `.jsonl` keeps attributes, `serve` answers `POST /v1/search` with
//! a filter expression (and the old key filters), `with_attributes`,
//! `PUT|GET /v1/vectors/{key}/attributes`, and every bad filter is a 400
//! `invalid_filter` that changes nothing; `query --filter` on a data dir.

mod common;

use std::path::Path;

use common::{http, tmpdir, vecshard, Server};
use serde_json::{json, Value};

const DIM: usize = 4;

fn row(i: usize) -> Vec<f32> {
    (0..DIM).map(|j| (((i * 31 + j * 17) % 97) as f32 / 97.0) - 0.5).collect()
}

/// Attributes of row `i`: a number, a string, a boolean, an array.
fn attrs(i: usize) -> Value {
    let color = ["red", "green", "blue"][i % 3];
    json!({"n": i, "color": color, "even": i % 2 == 0, "tags": [format!("t{}", i % 5)]})
}

fn write_jsonl(path: &Path, n: usize) {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(
            &json!({"key": format!("k{i}"), "vector": row(i), "attributes": attrs(i)}).to_string(),
        );
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

/// One request with raw body bytes; returns (status, JSON body or null).
fn call(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let (st, b) = http(addr, method, path, body, None);
    (st, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn search(addr: &str, body: Value) -> (u16, Value) {
    call(addr, "POST", "/v1/search", &serde_json::to_vec(&body).unwrap())
}

fn keys(r: &Value) -> Vec<String> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["key"].as_str().unwrap().to_string())
        .collect()
}

/// The brute-force answer: keys of the `k` nearest rows among `accept`.
fn brute(q: &[f32], n: usize, k: usize, accept: impl Fn(usize) -> bool) -> Vec<String> {
    let mut d: Vec<(f32, String)> = (0..n)
        .filter(|&i| accept(i))
        .map(|i| {
            let r = row(i);
            (r.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(), format!("k{i}"))
        })
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    d.into_iter().take(k).map(|x| x.1).collect()
}

#[test]
fn filtered_search_over_http_and_the_cli() {
    let n = 600;
    let dir = tmpdir("http");
    let input = dir.join("items.jsonl");
    write_jsonl(&input, n);
    let data = dir.join("data");
    let o = vecshard(&[
        "build",
        "--input",
        input.to_str().unwrap(),
        "--shards",
        "3",
        "--metric",
        "l2",
        "--out",
        data.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "build failed: {}", String::from_utf8_lossy(&o.stderr));

    // The CLI on the data dir: --filter and --with-attributes.
    let q = row(5);
    let qs: Vec<String> = q.iter().map(|x| x.to_string()).collect();
    let o = vecshard(&[
        "query",
        "--data",
        data.to_str().unwrap(),
        "--vector",
        &qs.join(","),
        "--k",
        "5",
        "--ef",
        "600",
        "--filter",
        ".color == \"blue\" and .n < 300",
        "--with-attributes",
        "--json",
    ]);
    assert!(o.status.success(), "query failed: {}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(keys(&r), brute(&q, n, 5, |i| i % 3 == 2 && i < 300));
    for h in r["results"].as_array().unwrap() {
        assert_eq!(h["attributes"]["color"], "blue", "{h}");
    }
    let o = vecshard(&[
        "query",
        "--data",
        data.to_str().unwrap(),
        "--vector",
        &qs.join(","),
        "--filter",
        ".n >",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid_filter"));

    let srv = Server::start(&["serve", "--data", data.to_str().unwrap()]);
    let a = srv.addr.as_str();

    // Filters of every selectivity equal brute force and return min(k, matches).
    type Accept = Box<dyn Fn(usize) -> bool>;
    let cases: Vec<(&str, Accept)> = vec![
        (".n == 17", Box::new(|i| i == 17)),
        (".n >= 100 and .n < 103", Box::new(|i| (100..103).contains(&i))),
        (".even and .color != \"red\"", Box::new(|i| i % 2 == 0 && i % 3 != 0)),
        ("\"t3\" in .tags or .n < 2", Box::new(|i| i % 5 == 3 || i < 2)),
        (".n > 100000", Box::new(|_| false)),
        (".missing == 1", Box::new(|_| false)),
    ];
    for (f, accept) in &cases {
        let (st, r) = search(a, json!({"vector": q, "k": 10, "ef": 600, "filter": f}));
        assert_eq!(st, 200, "{f}: {r}");
        assert_eq!(keys(&r), brute(&q, n, 10, accept), "{f}");
        assert!(r["results"][0].get("attributes").is_none(), "attributes only when asked");
    }
    // with_attributes returns each hit's JSON.
    let (st, r) = search(
        a,
        json!({"vector": q, "k": 3, "filter": ".n < 50", "with_attributes": true, "filter_ef": 50}),
    );
    assert_eq!(st, 200, "{r}");
    for h in r["results"].as_array().unwrap() {
        let i: usize = h["key"].as_str().unwrap()[1..].parse().unwrap();
        assert_eq!(h["attributes"], attrs(i));
    }
    // The old object forms keep working.
    let (st, r) = search(a, json!({"vector": q, "k": 100, "filter": {"key_prefix": "k59"}}));
    assert_eq!(st, 200, "{r}");
    let mut got = keys(&r);
    got.sort();
    assert_eq!(
        got,
        ["k59", "k590", "k591", "k592", "k593", "k594", "k595", "k596", "k597", "k598", "k599"]
    );
    let (st, r) = search(a, json!({"vector": q, "k": 5, "filter": {"keys": ["k1", "k2", "nope"]}}));
    assert_eq!((st, r["results"].as_array().unwrap().len()), (200, 2), "{r}");

    // Bad filters: 400 invalid_filter with the position; nothing changes.
    let before = search(a, json!({"vector": q, "k": 10, "filter": ".even"})).1["results"].clone();
    let long = format!(".n == 1 or {}", ".n == 2 or ".repeat(500)) + ".n == 3";
    let bad: Vec<(Value, &str)> = vec![
        (json!(".n >"), "byte"),
        (json!(".n === 1"), "byte"),
        (json!(".n <> 3"), "byte"),
        (json!(long), "4096"),
        (json!(42), "expression string"),
        (json!([".n"]), "expression string"),
        (json!(true), "expression string"),
    ];
    for (f, needle) in bad {
        let (st, r) = search(a, json!({"vector": q, "k": 10, "filter": f}));
        assert_eq!((st, r["error"]["code"].as_str()), (400, Some("invalid_filter")), "{f}: {r}");
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{f}: {msg}");
    }
    let (st, r) = search(a, json!({"vector": q, "k": 10, "filter": ".n > 1", "filter_ef": 0}));
    assert_eq!((st, r["error"]["code"].as_str()), (400, Some("invalid_filter")), "{r}");

    // PUT/GET attributes: set, filter sees it, clear, errors.
    let put = |key: &str, body: &str| {
        call(a, "PUT", &format!("/v1/vectors/{key}/attributes"), body.as_bytes())
    };
    let (st, r) = put("k5", r#"{"n": 5, "color": "purple"}"#);
    assert_eq!(st, 200, "{r}");
    let (st, r) = search(a, json!({"vector": q, "k": 10, "filter": ".color == \"purple\""}));
    assert_eq!((st, keys(&r)), (200, vec!["k5".to_string()]));
    let (st, r) = call(a, "GET", "/v1/vectors/k5/attributes", b"");
    assert_eq!((st, &r["attributes"]["color"]), (200, &json!("purple")), "{r}");
    for (body, code) in
        [("[1]", "invalid_attributes"), ("7", "invalid_attributes"), ("{", "bad_json")]
    {
        let (st, r) = put("k5", body);
        assert_eq!((st, r["error"]["code"].as_str()), (400, Some(code)), "{body}: {r}");
    }
    let (st, r) = put("nope", "{}");
    assert_eq!((st, r["error"]["code"].as_str()), (404, Some("key_not_found")), "{r}");
    let (st, r) = call(a, "GET", "/v1/vectors/nope/attributes", b"");
    assert_eq!(st, 404, "{r}");
    let (st, _) = put("k5", "null");
    assert_eq!(st, 200);
    let (st, r) = call(a, "GET", "/v1/vectors/k5/attributes", b"");
    assert_eq!((st, &r["attributes"]), (200, &Value::Null), "{r}");
    let (_, r) = search(a, json!({"vector": q, "k": 10, "filter": ".color == \"purple\""}));
    assert!(keys(&r).is_empty(), "{r}");
    // An upsert with non-object attributes is refused.
    let body = json!({"vectors": [{"key": "x", "vector": row(1), "attributes": [1, 2]}]});
    let (st, r) = call(a, "POST", "/v1/vectors", &serde_json::to_vec(&body).unwrap());
    assert_eq!((st, r["error"]["code"].as_str()), (400, Some("invalid_attributes")), "{r}");
    // k5 is odd, so clearing its attributes left `.even` answers as they were.
    let after = search(a, json!({"vector": q, "k": 10, "filter": ".even"})).1["results"].clone();
    assert_eq!(before, after);
}
