//! Golden files for attribute interop between native Rust and the npm
//! package (`wasm-tests/node/attrs.test.mjs` reads them):
//!
//! * `golden/attrs_shard.bin`: a shard snapshot (the container the CLI
//!   writes as `shard-NNN/snapshot.bin`) of 300 elements with attributes,
//!   built natively through `Shard::handle(UpsertJson)`;
//! * `golden/attrs_expected.json`: the items (so the npm side can rebuild
//!   the same index and compare its `toBytes()` with the native bytes), and
//!   the native answers: attributes of some keys and the keys of filtered
//!   searches.
//!
//! The test rebuilds both and compares them with the committed files; run
//! it with `VECSHARD_BLESS=1` to rewrite them after an intended format
//! change.

use std::fmt::Write as _;
use std::path::PathBuf;

use vecshard_shard::{Item, Request, Response, Settings, Shard, WireMetric};

const N: usize = 300;
const DIM: usize = 8;
const FILTERS: [&str; 6] = [
    ".color == \"red\"",
    ".price > 50 and .color != \"blue\"",
    "\"t1\" in .tags",
    ".n % 7 == 0",
    ".price < 5",
    ".missing == 1 or .n < 0",
];
const COLORS: [&str; 3] = ["red", "green", "blue"];

/// 64-bit LCG; floats from the top 24 bits, exact in f32 and in JS.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u32 << 24) as f32 - 0.5
    }
}

fn attributes(i: usize) -> Option<String> {
    // Every tenth element has none: filters never match it.
    (i % 10 != 9).then(|| {
        format!(
            "{{\"n\":{i},\"color\":\"{}\",\"price\":{},\"tags\":[\"t{}\",\"all\"]}}",
            COLORS[i % 3],
            (i * 37 % 1000) as f64 / 10.0,
            i % 5
        )
    })
}

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn native_attribute_snapshot_and_answers_match_the_golden_files() {
    let mut rng = Lcg(42);
    let mut settings = Settings::new(DIM as u32, WireMetric::L2);
    settings.m = 8;
    settings.ef_construction = 64;
    settings.seed = 7;
    let mut shard = Shard::with_settings(&settings).unwrap();
    let items: Vec<Item> = (0..N)
        .map(|i| Item {
            key: format!("k{i}"),
            vector: (0..DIM).map(|_| rng.next()).collect(),
            attributes: attributes(i).map(String::into_bytes),
        })
        .collect();
    let resp = shard.handle(Request::UpsertJson { items: items.clone() });
    assert_eq!(resp, Response::Upserted { inserted: N as u32, updated: 0 });
    let bytes = shard.snapshot().unwrap();

    let queries: Vec<Vec<f32>> = (0..3).map(|_| (0..DIM).map(|_| rng.next()).collect()).collect();
    let mut json = String::from("{\n");
    let _ = writeln!(
        json,
        "  \"settings\": {{ \"dim\": {DIM}, \"metric\": \"l2\", \"m\": 8, \"efConstruction\": 64, \"seed\": 7 }},"
    );
    json.push_str("  \"items\": [\n");
    for (i, it) in items.iter().enumerate() {
        let v: Vec<String> = it.vector.iter().map(|x| format!("{x}")).collect();
        let a =
            it.attributes.as_ref().map_or("null".into(), |a| String::from_utf8(a.clone()).unwrap());
        let sep = if i + 1 < N { "," } else { "" };
        let _ = writeln!(
            json,
            "    {{ \"key\": \"{}\", \"vector\": [{}], \"attributes\": {a} }}{sep}",
            it.key,
            v.join(",")
        );
    }
    json.push_str("  ],\n  \"searches\": [\n");
    let mut lines = Vec::new();
    for (qi, q) in queries.iter().enumerate() {
        for f in FILTERS {
            let resp = shard.handle(Request::FilteredSearch {
                vector: q.clone(),
                k: 10,
                ef: None,
                key_filter: None,
                filter: Some(f.into()),
                filter_ef: None,
                with_attributes: true,
            });
            let Response::SearchHits { hits, .. } = resp else { panic!("{resp:?}") };
            let keys: Vec<String> = hits.iter().map(|h| format!("\"{}\"", h.key)).collect();
            let v: Vec<String> = q.iter().map(|x| format!("{x}")).collect();
            lines.push(format!(
                "    {{ \"query\": {qi}, \"vector\": [{}], \"filter\": {:?}, \"keys\": [{}] }}",
                v.join(","),
                f,
                keys.join(",")
            ));
        }
    }
    json.push_str(&lines.join(",\n"));
    json.push_str("\n  ]\n}\n");

    let (bin_path, json_path) =
        (golden().join("attrs_shard.bin"), golden().join("attrs_expected.json"));
    if std::env::var_os("VECSHARD_BLESS").is_some() {
        std::fs::write(&bin_path, &bytes).unwrap();
        std::fs::write(&json_path, &json).unwrap();
    }
    let want_bin =
        std::fs::read(&bin_path).expect("golden file; run with VECSHARD_BLESS=1 to create it");
    assert!(want_bin == bytes, "{} differs from today's native snapshot", bin_path.display());
    let want_json = std::fs::read_to_string(&json_path).unwrap();
    assert_eq!(want_json, json, "{} differs from today's native answers", json_path.display());

    // The golden snapshot restores natively with its attributes.
    let back = Shard::from_snapshot(&want_bin).unwrap();
    assert_eq!(back.attributes("k0"), Some(attributes(0).unwrap().as_bytes()));
    assert_eq!(back.attributes("k9"), None);
}
