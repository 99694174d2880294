//! What does running a shard in wasmtime cost? Builds the same shard in
//! both engines from one snapshot and times the same searches through
//! each, on the calling thread (no channels, no coordinator), so the only
//! difference is where the shard code runs.
//!
//! ```text
//! cargo run --release -p vecshard-host --example wasm_vs_native -- ../shared/data/siftsmall [k] [ef] [rounds] [f32|i8|binary]
//! ```
//!
//! The last argument is the shard's storage (default `f32`); with `i8` the
//! search walks the graph on i8 codes and rescores the final candidates.
//!
//! The engines take turns: each round runs every query once through each
//! engine, so a burst of load from other processes hits all of them alike.
//! It prints each engine's median time per search over the rounds and the
//! median of the per-round ratios to native (the figure to quote on a
//! shared machine). `VECSHARD_BENCH_GUESTS=a.wasm,b.wasm` adds engines
//! running other builds of the guest module (to compare kernels or flags).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vecshard_host::{HostConfig, NativeShard, ShardEngine, WasmRuntime};
use vecshard_shard::{decode_response, encode_request, Request, Response, Settings, Shard};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data/siftsmall".into()));
    let k: u32 = args.next().map_or(10, |s| s.parse().expect("k"));
    let ef: u32 = args.next().map_or(64, |s| s.parse().expect("ef"));
    let rounds: usize = args.next().map_or(21, |s| s.parse().expect("rounds"));
    let quantization = match args.next().as_deref() {
        None | Some("f32") => vecshard_shard::WireQuantization::F32,
        Some("i8") => vecshard_shard::WireQuantization::I8,
        Some("binary") => vecshard_shard::WireQuantization::Binary,
        Some(q) => panic!("quantization {q}: expected f32, i8 or binary"),
    };
    let ds = vecshard_bench::Dataset::load(&dir).unwrap_or_else(|e| panic!("{e}"));

    // Build once natively; every engine loads the same snapshot.
    let mut settings = Settings::new(ds.base.dim as u32, ds.metric.into());
    settings.quantization = quantization;
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
    println!("built {} vectors ({quantization:?}) natively in {:.2?}", ds.base.rows(), t.elapsed());

    let cfg = HostConfig::default();
    let rt = WasmRuntime::shared(cfg.resolved_cache_dir().as_deref(), cfg.epoch_tick)
        .expect("wasm runtime");
    let mut engines: Vec<(String, Box<dyn ShardEngine>)> = vec![
        ("native".into(), Box::new(NativeShard::new())),
        ("wasm".into(), Box::new(rt.instantiate(cfg.memory_limit, None).expect("instance"))),
    ];
    for path in std::env::var("VECSHARD_BENCH_GUESTS").unwrap_or_default().split(',') {
        if path.is_empty() {
            continue;
        }
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let rt = std::sync::Arc::new(
            WasmRuntime::new(&bytes, cfg.resolved_cache_dir().as_deref(), cfg.epoch_tick)
                .expect("wasm runtime"),
        );
        engines.push((path.into(), Box::new(rt.instantiate(cfg.memory_limit, None).expect("i"))));
    }
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
    for (name, e) in &mut engines {
        let t = Instant::now();
        let r = e.call(&encode_request(&Request::Restore { bytes: snapshot.clone() })).unwrap();
        assert!(matches!(decode_response(&r), Ok(Response::Restored { .. })));
        println!(
            "{name}: snapshot load {:.2?}, memory {} MiB",
            t.elapsed(),
            e.memory_bytes() >> 20
        );
        // Warm up.
        for q in &queries {
            e.call(q).unwrap();
        }
    }

    // per[engine][round] = µs per search in that round.
    let mut per = vec![Vec::new(); engines.len()];
    let mut answers: Vec<Vec<Vec<u8>>> = vec![Vec::new(); engines.len()];
    for _ in 0..rounds {
        for (j, (_, e)) in engines.iter_mut().enumerate() {
            let t = Instant::now();
            let out: Vec<Vec<u8>> = queries.iter().map(|q| e.call(q).unwrap()).collect();
            per[j].push(t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64);
            answers[j] = out;
        }
    }
    for (j, (name, _)) in engines.iter().enumerate() {
        let mut ratios: Vec<f64> = per[j].iter().zip(&per[0]).map(|(w, n)| w / n).collect();
        let med = median(&mut per[j].clone());
        println!(
            "{name}: median {:.2?} per search (k {k}, ef {ef}, {rounds} rounds), {:.0} QPS, \
             {:.2}x native (median of same-round ratios)",
            Duration::from_secs_f64(med / 1e6),
            1e6 / med,
            median(&mut ratios)
        );
    }
    // The f32 kernels of each set (AVX2, simd128, fused or not) add in
    // their own order, so the last bits of a distance may differ between
    // engines (siftsmall's integer-valued vectors usually agree exactly,
    // glove's do not), and ties may swap: the hits must agree to a
    // relative 1e-5. The i8 walk itself is exact integer arithmetic.
    let hits = |b: &[u8]| match decode_response(b) {
        Ok(Response::Hits { hits }) => hits,
        other => panic!("not hits: {other:?}"),
    };
    for (j, a) in answers.iter().enumerate().skip(1) {
        if a == &answers[0] {
            println!("{}: identical answers to native", engines[j].0);
            continue;
        }
        let (mut keys, mut worst) = (0, 0.0f64);
        for (x, y) in answers[0].iter().zip(a) {
            let (x, y) = (hits(x), hits(y));
            assert_eq!(x.len(), y.len());
            for (p, q) in x.iter().zip(&y) {
                keys += usize::from(p.key != q.key);
                let rel = (p.distance as f64 - q.distance as f64).abs()
                    / (p.distance.abs() as f64).max(1e-6);
                worst = worst.max(rel);
            }
        }
        println!(
            "{}: {keys} hits with another key than native's (ties), distances within {worst:.1e} (relative)",
            engines[j].0
        );
        assert!(worst < 1e-5, "{} distances differ from native's", engines[j].0);
    }
}
