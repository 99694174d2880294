//! Collections through the real `vecshard serve`: a data dir written
//! before collections existed opens as `default` and answers as it did
//! (golden), and `/v1/collections/...` creates, serves, lists and deletes
//! named collections with typed errors that change nothing.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/legacy-datadir")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn query_vector() -> Vec<f32> {
    std::fs::read_to_string(golden().join("query.txt"))
        .unwrap()
        .trim()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect()
}

/// `(key, distance)` of each hit.
fn hits(v: &Value) -> Vec<(String, f64)> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {v}"))
        .iter()
        .map(|h| (h["key"].as_str().unwrap().to_string(), h["distance"].as_f64().unwrap()))
        .collect()
}

fn same_hits(got: &Value, want: &Value) {
    let (g, w) = (hits(got), hits(want));
    assert_eq!(g.len(), w.len(), "{got} vs {want}");
    for ((gk, gd), (wk, wd)) in g.iter().zip(&w) {
        assert_eq!(gk, wk, "{got} vs {want}");
        assert!((gd - wd).abs() < 1e-6, "{got} vs {want}");
    }
}

fn call(a: &str, m: &str, p: &str, body: Option<Value>) -> (u16, Value) {
    json_call(a, m, p, body, None)
}

fn expect_error(a: &str, m: &str, p: &str, body: Option<Value>, status: u16, code: &str) {
    let (st, v) = call(a, m, p, body);
    assert_eq!((st, v["error"]["code"].as_str()), (status, Some(code)), "{m} {p}: {v}");
}

#[test]
fn a_data_dir_from_before_collections_opens_as_default_and_answers_the_same() {
    let dir = tmpdir("golden-legacy");
    let data = dir.join("data");
    copy_dir(&golden().join("data"), &data);
    let srv = Server::start(&["serve", "--data", data.to_str().unwrap()]);
    let a = srv.addr.as_str();
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(golden().join("expected.json")).unwrap())
            .unwrap();
    let want_f: Value = serde_json::from_str(
        &std::fs::read_to_string(golden().join("expected_filter.json")).unwrap(),
    )
    .unwrap();
    let q = query_vector();
    for path in ["/v1/search", "/v1/collections/default/search"] {
        let (st, got) = call(a, "POST", path, Some(json!({"vector": q, "k": 5, "ef": 500})));
        assert_eq!(st, 200, "{got}");
        same_hits(&got, &want);
        let (st, got) =
            call(a, "POST", path, Some(json!({"vector": q, "k": 5, "ef": 500, "filter": ".even"})));
        assert_eq!(st, 200, "{got}");
        same_hits(&got, &want_f);
    }
    let (st, list) = call(a, "GET", "/v1/collections", None);
    assert_eq!(st, 200);
    assert_eq!(list["collections"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["collections"][0]["name"], "default");
    assert_eq!(list["collections"][0]["shards"], 2);
    assert_eq!(list["collections"][0]["settings"]["dim"], 8);
    let (st, info) = call(a, "GET", "/v1/collections/default/info", None);
    assert_eq!((st, &info["vectors"]), (200, &json!(300)), "{info}");
    let (st, v) = call(a, "GET", "/v1/vectors/k7", None);
    assert_eq!((st, &v["attributes"]["i"]), (200, &json!(7)), "{v}");
    srv.stop();
    // The old layout is left as it was: still a single-index data dir.
    assert!(data.join("cluster.json").is_file());
    assert!(data.join("shard-000/snapshot.bin").is_file());
}

#[test]
fn collections_are_created_served_listed_and_deleted_over_http() {
    let dir = tmpdir("coll-http");
    let data = dir.join("data");
    let d = data.to_str().unwrap();
    let mut srv = Server::start(&["serve", "--data", d, "--shards", "2"]);
    let a = srv.addr.clone();
    let a = a.as_str();
    // No default yet: its routes say so; health is fine.
    expect_error(
        a,
        "POST",
        "/v1/search",
        Some(json!({"vector": [1.0]})),
        404,
        "collection_not_found",
    );
    let (st, _) = http(a, "GET", "/healthz", b"", None);
    assert_eq!(st, 200);

    // "a/b ü🦀", percent-encoded in the path.
    let weird = "a/b ü🦀";
    let weird_path = "/v1/collections/a%2Fb%20%C3%BC%F0%9F%A6%80";
    let (st, v) = call(a, "PUT", weird_path, Some(json!({"dim": 3, "metric": "l2", "m": 8})));
    assert_eq!(st, 201, "{v}");
    assert_eq!((&v["created"], &v["name"], &v["shards"]), (&json!(true), &json!(weird), &json!(2)));
    let (st, v) = call(a, "PUT", weird_path, Some(json!({"dim": 3, "metric": "l2", "m": 8})));
    assert_eq!((st, &v["created"]), (200, &json!(false)), "same settings: {v}");
    let (st, v) = call(
        a,
        "PUT",
        "/v1/collections/small",
        Some(json!({"dim": 2, "shards": 1, "metric": "l2"})),
    );
    assert_eq!(st, 201, "{v}");

    // Typed errors, none of which changes anything.
    expect_error(
        a,
        "PUT",
        weird_path,
        Some(json!({"dim": 4, "metric": "l2"})),
        409,
        "collection_exists",
    );
    let long = format!("/v1/collections/{}", "x".repeat(121));
    expect_error(a, "PUT", &long, Some(json!({"dim": 2})), 400, "invalid_collection_name");
    expect_error(a, "PUT", "/v1/collections/z", Some(json!({"dim": 0})), 400, "invalid_settings");
    expect_error(
        a,
        "PUT",
        "/v1/collections/z",
        Some(json!({"dim": 2, "shards": 0})),
        400,
        "invalid_settings",
    );
    expect_error(
        a,
        "PUT",
        "/v1/collections/z",
        Some(json!({"dim": 2, "colour": 1})),
        400,
        "bad_json",
    );
    expect_error(a, "PUT", "/v1/collections/z", None, 400, "bad_json");
    expect_error(a, "GET", "/v1/collections/z", None, 404, "collection_not_found");
    expect_error(a, "GET", "/v1/collections/z/info", None, 404, "collection_not_found");
    expect_error(a, "DELETE", "/v1/collections/z", None, 404, "collection_not_found");

    // Each collection is its own index, with the same routes as /v1.
    let up = |path: &str, items: Value| {
        let (st, v) = call(a, "POST", path, Some(items));
        assert_eq!(st, 200, "{v}");
        v
    };
    let r = up(
        &format!("{weird_path}/vectors"),
        json!({"vectors": [
            {"key": "x/1", "vector": [1.0, 0.0, 0.0], "attributes": {"n": 1}},
            {"key": "y", "vector": [0.0, 1.0, 0.0], "attributes": {"n": 2}},
            {"key": "z", "vector": [0.0, 0.0, 1.0]}]}),
    );
    assert_eq!(r["inserted"], 3);
    up("/v1/collections/small/vectors", json!([{"key": "y", "vector": [5.0, 5.0]}]));
    let (st, v) = call(
        a,
        "POST",
        &format!("{weird_path}/search"),
        Some(json!({"vector": [0.9, 0.1, 0.0], "k": 2})),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["results"][0]["key"], "x/1");
    let (_, v) = call(
        a,
        "POST",
        &format!("{weird_path}/search"),
        Some(json!({"vector": [0.9, 0.1, 0.0], "k": 3, "filter": ".n > 1"})),
    );
    assert_eq!(hits(&v).len(), 1, "{v}");
    assert_eq!(v["results"][0]["key"], "y");
    // A key with a slash, percent-encoded, reaches the collection intact.
    let (st, v) = call(a, "GET", &format!("{weird_path}/vectors/x%2F1"), None);
    assert_eq!((st, &v["key"]), (200, &json!("x/1")), "{v}");
    let (st, v) = call(a, "GET", "/v1/collections/small/vectors/y", None);
    assert_eq!((st, &v["vector"]), (200, &json!([5.0, 5.0])), "{v}");
    expect_error(a, "GET", "/v1/collections/small/vectors/z", None, 404, "key_not_found");
    expect_error(
        a,
        "POST",
        "/v1/collections/small/search",
        Some(json!({"vector": [1.0, 2.0, 3.0]})),
        400,
        "dimension_mismatch",
    );
    let (st, v) = call(a, "GET", "/v1/collections/small/info", None);
    assert_eq!((st, &v["vectors"], &v["shards"]), (200, &json!(1), &json!(1)), "{v}");
    // The collection's own metrics and health, as `/metrics` and
    // `/healthz` are the default collection's.
    let (st, m) = http(a, "GET", "/v1/collections/small/metrics", b"", None);
    let m = String::from_utf8_lossy(&m);
    assert_eq!(st, 200, "{m}");
    assert!(m.contains("vecshard_shard_vectors{shard=\"0\"} 1"), "{m}");
    let (st, h) = http(a, "GET", "/v1/collections/small/healthz", b"", None);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&h));
    let (st, v) = call(a, "GET", "/v1/collections", None);
    assert_eq!(st, 200);
    let names: Vec<&str> =
        v["collections"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec![weird, "small"]);
    let (st, v) = call(a, "GET", "/v1/collections/small", None);
    assert_eq!((st, &v["settings"]["dim"], &v["open"]), (200, &json!(2), &json!(true)), "{v}");

    // Delete: gone at once, and 404 the second time.
    let (st, v) = call(a, "DELETE", "/v1/collections/small", None);
    assert_eq!((st, &v["deleted"]), (200, &json!(true)), "{v}");
    expect_error(a, "DELETE", "/v1/collections/small", None, 404, "collection_not_found");
    expect_error(a, "GET", "/v1/collections/small/vectors/y", None, 404, "collection_not_found");
    // Re-created under the same name, it starts empty.
    let (st, _) = call(a, "PUT", "/v1/collections/small", Some(json!({"dim": 2})));
    assert_eq!(st, 201);
    expect_error(a, "GET", "/v1/collections/small/vectors/y", None, 404, "key_not_found");
    call(a, "DELETE", "/v1/collections/small", None);

    // Everything survives a kill -9 (the WAL) and a restart.
    srv.kill9();
    let srv = Server::start(&["serve", "--data", d]);
    let a = srv.addr.as_str();
    let (_, v) = call(a, "GET", "/v1/collections", None);
    let names: Vec<&str> =
        v["collections"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec![weird], "{v}");
    let (st, v) = call(a, "GET", &format!("{weird_path}/vectors/y"), None);
    assert_eq!((st, &v["attributes"]["n"]), (200, &json!(2)), "{v}");
    srv.stop();
}

#[test]
fn collection_routes_require_the_token() {
    let dir = tmpdir("coll-token");
    let data = dir.join("data");
    let srv = Server::start(&["serve", "--data", data.to_str().unwrap(), "--token", "t0k"]);
    let a = srv.addr.as_str();
    for (m, p) in [
        ("GET", "/v1/collections"),
        ("PUT", "/v1/collections/x"),
        ("DELETE", "/v1/collections/x"),
        ("GET", "/v1/collections/x/info"),
    ] {
        let (st, v) = json_call(a, m, p, Some(json!({"dim": 2})), None);
        assert_eq!((st, v["error"]["code"].as_str()), (401, Some("unauthorized")), "{m} {p}");
    }
    let (st, v) = json_call(a, "GET", "/v1/collections", None, Some("t0k"));
    assert_eq!((st, &v["collections"]), (200, &json!([])), "{v}");
    let (st, _) = json_call(a, "PUT", "/v1/collections/x", Some(json!({"dim": 2})), Some("t0k"));
    assert_eq!(st, 201);
    let (st, v) = json_call(a, "GET", "/v1/collections/x/info", None, Some("t0k"));
    assert_eq!(st, 200, "{v}");
}

#[test]
fn serve_refuses_a_directory_that_is_not_a_data_dir() {
    let dir = tmpdir("coll-notdata");
    std::fs::write(dir.join("something.txt"), "hello").unwrap();
    let o = vecshard(&["serve", "--data", dir.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a vecshard data dir"), "{err}");
    assert!(!dir.join("collections").exists(), "nothing was created");
}

fn run_ok(args: &[&str]) -> String {
    let o = vecshard(args);
    assert!(o.status.success(), "vecshard {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn run_json(args: &[&str]) -> Value {
    serde_json::from_str(&run_ok(args)).unwrap()
}

fn run_err(args: &[&str]) -> String {
    let o = vecshard(args);
    assert!(!o.status.success(), "vecshard {args:?} should have failed");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The CLI on named collections: `build --collection` creates and fills
/// collections with their own settings in one data dir; `info`, `query`,
/// `checkpoint` and `bench` address them by name on the data dir and over
/// `--url`.
#[test]
fn the_cli_builds_queries_and_describes_named_collections() {
    let dir = tmpdir("cli-collections");
    let (fa, fb) = (dir.join("a.fvecs"), dir.join("b.fvecs"));
    write_fvecs(&fa, 300, 8);
    write_fvecs(&fb, 200, 4);
    let data = dir.join("data");
    let d = data.to_str().unwrap();
    let (fa, fb) = (fa.to_str().unwrap(), fb.to_str().unwrap());
    let weird = "b/ü ?";
    let r = run_json(&[
        "build",
        "--input",
        fa,
        "--collection",
        "alpha",
        "--shards",
        "2",
        "--metric",
        "l2",
        "--out",
        d,
        "--json",
    ]);
    assert_eq!((&r["vectors"], &r["shards"]), (&json!(300), &json!(2)), "{r}");
    let r = run_json(&[
        "build",
        "--input",
        fb,
        "--collection",
        weird,
        "--metric",
        "cosine",
        "--quantization",
        "i8",
        "--m",
        "8",
        "--out",
        d,
        "--json",
    ]);
    assert_eq!((&r["vectors"], &r["shards"]), (&json!(200), &json!(1)), "{r}");
    assert!(r["snapshot_bytes"].as_u64().unwrap() > 0, "{r}");
    // Filling an existing collection with equal settings; other settings
    // are refused and change nothing.
    let r = run_json(&[
        "build",
        "--input",
        fa,
        "--collection",
        "alpha",
        "--shards",
        "2",
        "--metric",
        "l2",
        "--limit",
        "10",
        "--out",
        d,
        "--json",
    ]);
    assert_eq!(r["vectors"], 10);
    let e = run_err(&[
        "build",
        "--input",
        fa,
        "--collection",
        "alpha",
        "--shards",
        "3",
        "--metric",
        "l2",
        "--out",
        d,
    ]);
    assert!(e.contains("alpha") && e.contains("exists"), "{e}");
    // The data dir has no single index: `--collection` is how to reach them.
    assert!(!data.join("cluster.json").exists());

    // info on the files.
    let i = run_json(&["info", "--data", d, "--collection", "alpha", "--json"]);
    assert_eq!(
        (&i["manifest"]["shards"], &i["manifest"]["settings"]["dim"]),
        (&json!(2), &json!(8))
    );
    let i = run_json(&["info", "--data", d, "--collection", weird, "--json"]);
    assert_eq!(i["manifest"]["settings"]["quantization"], "i8", "{i}");
    assert_eq!(i["manifest"]["settings"]["m"], 8, "{i}");
    let e = run_err(&["info", "--data", d, "--collection", "nope"]);
    assert!(e.contains("nope"), "{e}");
    // query on the data dir.
    let v5: Vec<String> = row(5, 8).iter().map(|x| x.to_string()).collect();
    let v5 = v5.join(",");
    let q = run_json(&[
        "query",
        "--data",
        d,
        "--collection",
        "alpha",
        "--vector",
        &v5,
        "--k",
        "2",
        "--json",
    ]);
    assert_eq!(q["results"][0]["key"], "5", "{q}");
    assert_eq!(q["results"][0]["distance"], 0.0, "{q}");
    let e =
        run_err(&["query", "--data", d, "--collection", "alpha", "--vector", "1,2", "--k", "2"]);
    assert!(e.contains("dimension"), "{e}");
    let e = run_err(&["query", "--data", d, "--collection", "nope", "--vector", "1,2"]);
    assert!(e.contains("nope"), "{e}");
    run_ok(&["checkpoint", "--data", d, "--collection", "alpha"]);
    let queries = dir.join("q.fvecs");
    write_fvecs(&queries, 5, 4);
    // Ground truth of any ids: bench needs one; its recall is not checked here.
    let gt = dir.join("gt.ivecs");
    let mut g = Vec::new();
    for _ in 0..5 {
        for x in [3i32, 0, 1, 2] {
            g.extend_from_slice(&x.to_le_bytes());
        }
    }
    std::fs::write(&gt, g).unwrap();
    let b = run_ok(&[
        "bench",
        "--data",
        d,
        "--collection",
        weird,
        "--queries",
        queries.to_str().unwrap(),
        "--ground-truth",
        gt.to_str().unwrap(),
        "--k",
        "3",
        "--ef",
        "50",
        "--json",
    ]);
    assert!(b.contains("qps"), "{b}");

    // The same over a server.
    let srv = Server::start(&["serve", "--data", d]);
    let url = format!("http://{}", srv.addr);
    let v3: Vec<String> = row(3, 4).iter().map(|x| x.to_string()).collect();
    let q = run_json(&[
        "query",
        "--url",
        &url,
        "--collection",
        weird,
        "--vector",
        &v3.join(","),
        "--k",
        "1",
        "--json",
    ]);
    assert_eq!(q["results"][0]["key"], "3", "{q}");
    let i = run_json(&["info", "--url", &url, "--collection", "alpha", "--json"]);
    assert_eq!(i["vectors"], 300, "{i}");
    run_ok(&["checkpoint", "--url", &url, "--collection", weird]);
    let e = run_err(&["info", "--url", &url, "--collection", "nope"]);
    assert!(e.contains("collection_not_found"), "{e}");
    let e = run_err(&["query", "--url", &url, "--vector", "1,2"]);
    assert!(e.contains("collection_not_found"), "no default collection here: {e}");

    let help = run_ok(&["build", "--help"]);
    assert!(
        help.contains("--collection")
            && help.contains("build --input films.jsonl --collection films"),
        "{help}"
    );
    for cmd in ["query", "info", "checkpoint", "bench"] {
        assert!(run_ok(&[cmd, "--help"]).contains("--collection"), "{cmd} --help");
    }
}

/// `serve --collection-idle`: idle collections are checkpointed and
/// unloaded, and reopen on the next request with their data;
/// `--max-open-collections` bounds how many are open at once.
#[test]
fn idle_collections_unload_and_reopen_with_their_data() {
    let dir = tmpdir("idle-unload");
    let data = dir.join("data");
    let srv = Server::start(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--collection-idle",
        "400ms",
        "--max-open-collections",
        "2",
    ]);
    let a = srv.addr.as_str();
    let open = || -> Vec<(String, bool)> {
        let (_, v) = call(a, "GET", "/v1/collections", None);
        v["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), c["open"].as_bool().unwrap()))
            .collect()
    };
    for name in ["c0", "c1", "c2"] {
        let (st, v) = call(
            a,
            "PUT",
            &format!("/v1/collections/{name}"),
            Some(json!({"dim": 2, "metric": "l2"})),
        );
        assert_eq!(st, 201, "{v}");
        let items: Vec<Value> = (0..20)
            .map(|i| json!({"key": format!("{name}-{i}"), "vector": [i as f32, 1.0]}))
            .collect();
        let (st, v) =
            call(a, "POST", &format!("/v1/collections/{name}/vectors"), Some(json!(items)));
        assert_eq!(st, 200, "{v}");
        // The cap: never more than 2 open (the one just used among them).
        let o = open();
        assert!(o.iter().filter(|(_, o)| *o).count() <= 2, "{o:?}");
        assert!(o.iter().any(|(n, o)| n == name && *o), "{o:?}");
    }
    // Idle past 400 ms: every one unloads (the reaper runs every 100 ms).
    let t = std::time::Instant::now();
    while open().iter().any(|(_, o)| *o) {
        assert!(t.elapsed().as_secs() < 20, "still open: {:?}", open());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for name in ["c0", "c1", "c2"] {
        let (st, v) = call(
            a,
            "POST",
            &format!("/v1/collections/{name}/search"),
            Some(json!({"vector": [7.0, 1.0], "k": 1})),
        );
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["results"][0]["key"], format!("{name}-7"), "reopened with its data: {v}");
        let (_, v) = call(a, "GET", &format!("/v1/collections/{name}/info"), None);
        assert_eq!(v["vectors"], 20, "{v}");
    }
}
