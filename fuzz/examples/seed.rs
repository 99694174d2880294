//! Writes the seed corpora into `fuzz/corpus/<target>/` from real inputs:
//! the core's golden and bad snapshots, snapshots of the fixture shard in
//! every metric and quantization, encoded requests of every kind, WAL
//! files framed by `crates/host/src/wal.rs` itself (the bytes
//! `Wal::append` writes), and HTTP bodies in both accepted shapes.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seed` (from the
//! repository root; existing files with the same names are overwritten).

#[allow(dead_code)]
#[path = "../checks/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../checks/known.rs"]
mod known;
#[allow(dead_code)]
#[path = "../checks/shard_request.rs"]
mod shard_request;
#[allow(dead_code)]
#[path = "../checks/shard_snapshot.rs"]
mod shard_snapshot;

#[allow(dead_code, missing_docs)]
#[path = "../../crates/host/src/error.rs"]
mod error;
#[allow(dead_code, missing_docs)]
#[path = "../../crates/host/src/failpoint.rs"]
mod failpoint;
#[allow(dead_code, missing_docs)]
#[path = "../../crates/host/src/wal.rs"]
mod wal;

use std::path::{Path, PathBuf};

use vecshard_core::{Config, Index, Metric, Quantization};
use vecshard_shard::{
    encode_request, Filter, Item, Request, Settings, Shard, WireMetric, WireQuantization,
};

fn put(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn small_index(metric: Metric, quant: Quantization, n: u64) -> Index {
    let mut idx = Index::new(
        Config::new(fixture::DIM, metric).m(4).ef_construction(32).quantization(quant).seed(3),
    )
    .unwrap();
    for i in 0..n {
        idx.insert(&format!("k{i}"), &fixture::vector(i + 100)).unwrap();
    }
    for i in (0..n).step_by(5) {
        idx.remove(&format!("k{i}")).unwrap();
    }
    idx
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    let repo = root.parent().unwrap();

    // core_snapshot: goldens, crafted bad inputs, every metric x quantization.
    let dir = corpus.join("core_snapshot");
    for sub in ["crates/core/tests/golden", "crates/core/tests/bad_snapshots"] {
        for e in std::fs::read_dir(repo.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "bin") {
                put(
                    &dir,
                    &format!("seed-{}", p.file_name().unwrap().to_str().unwrap()),
                    &std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut snaps = Vec::new();
    for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
        for quant in [Quantization::F32, Quantization::I8, Quantization::Binary] {
            let idx = small_index(metric, quant, 12);
            let name = format!("seed-{}-{}", metric.name(), quant.name());
            put(&dir, &name, &idx.to_bytes());
            snaps.push((name, idx));
        }
    }
    put(&dir, "seed-empty-index", &Index::new(Config::new(3, Metric::L2)).unwrap().to_bytes());

    // shard_snapshot: the fixture shard, a cosine one with attributes,
    // bare core snapshots (Restore accepts them).
    let dir = corpus.join("shard_snapshot");
    put(&dir, "seed-fixture", fixture::snapshot());
    let mut cos = Settings::new(fixture::DIM as u32, WireMetric::Cosine);
    cos.m = 4;
    cos.quantization = WireQuantization::I8;
    let mut s = Shard::with_settings(&cos).unwrap();
    s.handle(Request::Upsert {
        items: (0..6)
            .map(|i| Item {
                key: format!("c{i}"),
                vector: fixture::vector(i + 7),
                attributes: Some(format!("{{\"tag\":\"t{i}\"}}").into_bytes()),
            })
            .collect(),
    });
    let cos_snap = s.snapshot().unwrap();
    put(&dir, "seed-cosine-i8-attrs", &cos_snap);
    put(
        &dir,
        "seed-empty-shard",
        &Shard::with_settings(&fixture::settings()).unwrap().snapshot().unwrap(),
    );
    for (name, idx) in snaps.iter().take(3) {
        put(&dir, &format!("{name}-bare"), &idx.to_bytes());
    }

    // shard_request: one request of each kind, then a few sequences.
    let dir = corpus.join("shard_request");
    let q = fixture::vector(5);
    let item = |k: &str, i: u64, attrs: bool| Item {
        key: k.into(),
        vector: fixture::vector(i),
        attributes: attrs.then(|| b"{\"x\":1}".to_vec()),
    };
    let reqs: Vec<(&str, Request)> = vec![
        ("search", Request::Search { vector: q.clone(), k: 5, ef: None, filter: None }),
        ("search-ef", Request::Search { vector: q.clone(), k: 3, ef: Some(50), filter: None }),
        (
            "search-prefix",
            Request::Search {
                vector: q.clone(),
                k: 4,
                ef: None,
                filter: Some(Filter::KeyPrefix("k1".into())),
            },
        ),
        (
            "search-keys",
            Request::Search {
                vector: q.clone(),
                k: 4,
                ef: None,
                filter: Some(Filter::Keys(vec!["k3".into(), "k20".into(), "nope".into()])),
            },
        ),
        ("upsert", Request::Upsert { items: vec![item("new", 77, true), item("k3", 78, false)] }),
        (
            "upsert-bad-dim",
            Request::Upsert {
                items: vec![Item { key: "x".into(), vector: vec![1.0], attributes: None }],
            },
        ),
        ("remove", Request::Remove { keys: vec!["k1".into(), "k2".into(), "missing".into()] }),
        ("get", Request::Get { key: "k4".into() }),
        ("contains", Request::Contains { key: "k10".into() }),
        ("info", Request::Info),
        ("snapshot", Request::Snapshot),
        ("create", Request::Create { settings: fixture::settings() }),
        ("restore-fixture", Request::Restore { bytes: fixture::snapshot().to_vec() }),
        ("restore-cosine", Request::Restore { bytes: cos_snap.clone() }),
        ("restore-bare", Request::Restore { bytes: snaps[1].1.to_bytes() }),
    ];
    for (name, r) in &reqs {
        put(&dir, &format!("seed-{name}"), &shard_request::join(&[encode_request(r)]));
    }
    let seq = |rs: &[&Request]| {
        shard_request::join(&rs.iter().map(|r| encode_request(r)).collect::<Vec<_>>())
    };
    put(
        &dir,
        "seed-seq-restore-search-upsert",
        &seq(&[&reqs[13].1, &reqs[0].1, &reqs[4].1, &reqs[6].1]),
    );
    put(
        &dir,
        "seed-seq-write-read",
        &seq(&[&reqs[4].1, &reqs[7].1, &reqs[6].1, &reqs[3].1, &reqs[9].1]),
    );
    put(
        &dir,
        "seed-garbage",
        &shard_request::join(&[b"\x01\xff\xff\xff".to_vec(), b"\x02\x00".to_vec()]),
    );

    // wal_recovery: logs of real encoded writes, as Wal::append frames them.
    let dir = corpus.join("wal_recovery");
    let base = u64::from_le_bytes(
        fixture::snapshot()[fixture::snapshot().len() - 8..].try_into().unwrap(),
    );
    let writes: Vec<Vec<u8>> = vec![
        encode_request(&Request::Upsert { items: vec![item("w1", 200, true)] }),
        encode_request(&Request::Upsert {
            items: (0..3).map(|i| item(&format!("w{i}"), 300 + i, i == 1)).collect(),
        }),
        encode_request(&Request::Remove { keys: vec!["k5".into(), "w1".into()] }),
        encode_request(&Request::Upsert { items: vec![item("k7", 400, false)] }),
    ];
    let log = |recs: &[Vec<u8>]| {
        let mut b = wal::header(base).to_vec();
        for r in recs {
            b.extend(wal::record(r));
        }
        b
    };
    put(&dir, "seed-empty", &wal::header(base));
    put(&dir, "seed-no-snapshot", &wal::header(0));
    put(&dir, "seed-one", &log(&writes[..1]));
    put(&dir, "seed-four", &log(&writes));
    let full = log(&writes);
    put(&dir, "seed-torn", &full[..full.len() - 7]);
    let mut zeros = log(&writes[..2]);
    zeros.extend([0u8; 40]);
    put(&dir, "seed-zero-tail", &zeros);
    put(&dir, "seed-partial-header", &wal::header(base)[..11]);

    // http_json: byte 0 picks the route (0 vectors, 1 search).
    let dir = corpus.join("http_json");
    let bodies: &[(&str, u8, &str)] = &[
        (
            "upsert",
            0,
            r#"{"vectors": [{"key": "a", "vector": [0.1, 0.2, 0.3, 0.4], "attributes": {"color": "red", "n": [1, 2]}}, {"key": "k3", "vector": [1, 0, 0, 1]}]}"#,
        ),
        ("upsert-array", 0, r#"[{"key": "b", "vector": [0.5, -0.5, 0.25, 0]}]"#),
        ("upsert-bad", 0, r#"{"vectors": [{"key": "", "vector": [1, 2]}]}"#),
        (
            "upsert-null-attrs",
            0,
            r#"{"vectors": [{"key": "\u00e9t\u00e9", "vector": [1e-3, 2, 3, 4], "attributes": null}]}"#,
        ),
        ("search", 1, r#"{"vector": [0.1, 0.2, 0.3, 0.4]}"#),
        ("search-full", 1, r#"{"vector": [0.1, 0.2, 0.3, 0.4], "k": 3, "ef": 20, "strict": true}"#),
        ("search-prefix", 1, r#"{"vector": [0, 0, 0, 1], "k": 5, "filter": {"key_prefix": "k2"}}"#),
        ("search-keys", 1, r#"{"vector": [0, 0, 1, 0], "filter": {"keys": ["k1", "k30", "zz"]}}"#),
        ("search-bad-k", 1, r#"{"vector": [0, 0, 1, 0], "k": 0}"#),
    ];
    for (name, sel, body) in bodies {
        let mut b = vec![*sel];
        b.extend_from_slice(body.as_bytes());
        put(&dir, &format!("seed-{name}"), &b);
    }
    eprintln!("seeds written under {}", corpus.display());

    // filter: one expression per operator and coercion of docs/filters.md,
    // each with attributes that exercise it (source NUL JSON).
    let dir = corpus.join("filter");
    let attrs = r#"{"year":1984,"rating":4.5,"genre":"drama","tags":["a","b",3],"ok":true,"none":null,"nested":{"x":1},"s":"12"}"#;
    for (i, src) in [
        ".year > 1980",
        ".year >= 1984 and .rating < 5",
        ".genre == \"drama\" || .genre == 'comedy'",
        "!(.ok)",
        "not .ok",
        ".year ** 2 > 3000000",
        ".year * 2 / 4 % 7 + 1 - 3 != 0",
        ".genre in [\"drama\", \"comedy\"]",
        "\"dra\" in .genre",
        "3 in .tags",
        ".tags in [1, 2]",
        ".none == null",
        ".nested.x == 1",
        ".missing > 0",
        ".s == 12",
        ".s + 1 == 13",
        "(.year > 1900 && (.rating >= 4.5 || .ok)) and !(.genre == \"x\")",
        "1",
        "0",
        "-.year < -1000",
        ".year > 1e3",
        ".year = 1984",
        ".year & 1",
        "((((.year))))",
        ".year >",
        "'unterminated",
        "[1, 2",
        "",
    ]
    .iter()
    .enumerate()
    {
        put(&dir, &format!("seed-{i:02}"), format!("{src}\0{attrs}").as_bytes());
    }
    put(&dir, "seed-bad-json", b".a == 1\0{\"a\": [1,}");
    put(&dir, "seed-not-object", b".a == 1\0[1, 2]");
    put(&dir, "seed-deep", format!("{}1{}", "(".repeat(200), ")".repeat(200)).as_bytes());
    put(&dir, "seed-long", format!(".a == \"{}\"", "x".repeat(5000)).as_bytes());
}
