//! What does running a shard in wasmtime cost? Builds the same shard in
//! both engines from one snapshot and times the same searches through
//! each, on the calling thread (no channels, no coordinator), so the only
//! difference is where the shard code runs.
//!
//! ```text
//! cargo run --release -p vecshard-host --example wasm_vs_native -- ../shared/data/siftsmall [k] [ef]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use vecshard_host::{HostConfig, NativeShard, ShardEngine, WasmRuntime};
use vecshard_shard::{decode_response, encode_request, Request, Response, Settings, Shard};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data/siftsmall".into()));
    let k: u32 = args.next().map_or(10, |s| s.parse().expect("k"));
    let ef: u32 = args.next().map_or(64, |s| s.parse().expect("ef"));
    let ds = vecshard_bench::Dataset::load(&dir).unwrap_or_else(|e| panic!("{e}"));

    // Build once natively; both engines load the same snapshot.
    let settings = Settings::new(ds.base.dim as u32, ds.metric.into());
    let t = Instant::now();
    let mut shard = Shard::with_settings(&settings).expect("settings");
    let items = (0..ds.base.rows())
        .map(|i| vecshard_shard::Item {
            key: i.to_string(),
            vector: ds.base.row(i).to_vec(),
            attributes: None,
        })
        .collect();
    assert!(matches!(shard.handle(Request::Upsert { items }), Response::Upserted { .. }));
    let snapshot = shard.snapshot().expect("index");
    println!("built {} vectors natively in {:.2?}", ds.base.rows(), t.elapsed());

    let cfg = HostConfig::default();
    let rt = WasmRuntime::shared(cfg.resolved_cache_dir().as_deref(), cfg.epoch_tick)
        .expect("wasm runtime");
    let mut engines: Vec<(&str, Box<dyn ShardEngine>)> = vec![
        ("native", Box::new(NativeShard::new())),
        ("wasm", Box::new(rt.instantiate(cfg.memory_limit, None).expect("instance"))),
    ];
    let queries: Vec<Vec<u8>> = (0..ds.queries.rows())
        .map(|i| {
            encode_request(&Request::Search {
                vector: ds.queries.row(i).to_vec(),
                k,
                ef: Some(ef),
                filter: None,
            })
        })
        .collect();
    let mut answers: Vec<Vec<Vec<u8>>> = Vec::new();
    for (name, e) in &mut engines {
        let t = Instant::now();
        let r = e.call(&encode_request(&Request::Restore { bytes: snapshot.clone() })).unwrap();
        assert!(matches!(decode_response(&r), Ok(Response::Restored { .. })));
        println!(
            "{name}: snapshot load {:.2?}, memory {} MiB",
            t.elapsed(),
            e.memory_bytes() >> 20
        );
        // Warm up, then time a few rounds over all queries.
        for q in &queries {
            e.call(q).unwrap();
        }
        let rounds = 20;
        let t = Instant::now();
        let mut out = Vec::new();
        for _ in 0..rounds {
            out.clear();
            for q in &queries {
                out.push(e.call(q).unwrap());
            }
        }
        let per = t.elapsed() / (rounds * queries.len()) as u32;
        println!(
            "{name}: {per:.2?} per search (k {k}, ef {ef}), {:.0} QPS",
            1.0 / per.as_secs_f64()
        );
        answers.push(out);
    }
    assert_eq!(answers[0], answers[1], "the engines answered differently");
    println!("both engines returned identical answers");
}
