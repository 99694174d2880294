//! Times filtered search inside one shard, without HTTP or wasm: where does
//! a filtered query's time go? Loads a shard snapshot (for example the one
//! `bench/redis/filtered_bench.py` builds: `WORK/vs-1/shard-000/snapshot.bin`),
//! runs the benchmark's filters on the first `N` queries of a `.fvecs` file
//! and prints, per filter, the plan the shard chose and the median and p90
//! time per query.
//!
//! ```text
//! cargo run --release -p vecshard-shard --example filtered_profile -- \
//!     /tmp/fbench/w100k/vs-1/shard-000/snapshot.bin \
//!     ../shared/data/glove100-100k/query.fvecs 200
//! ```
//!
//! The filters are those of `tests/filtered_recall.rs` except the
//! anti-correlated one, whose cut depends on the data (pass it as a fourth
//! argument, e.g. `.pos >= 0.19295266`). `ONLY='<filter>'` in the
//! environment times just that filter, for a profiler; `EXACT_THRESHOLD=N`
//! overrides the planner's threshold (0: always walk; 1000000: always scan).

use std::time::Instant;

use vecshard_shard::{Request, Response, Shard};

fn read_fvecs(path: &str) -> Vec<Vec<f32>> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let d = i32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        at += 4;
        out.push(
            b[at..at + 4 * d]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        );
        at += 4 * d;
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: filtered_profile SNAPSHOT QUERIES.fvecs N [EXTRA_FILTER]");
        std::process::exit(2);
    }
    let t = Instant::now();
    let bytes = std::fs::read(&args[1]).expect("snapshot");
    let mut shard = Shard::from_snapshot(&bytes).expect("a shard snapshot");
    drop(bytes);
    println!("loaded {} elements in {:.2} s", shard.len(), t.elapsed().as_secs_f64());
    // `EXACT_THRESHOLD=N` overrides the planner's scan threshold (0 forces
    // the walk, a huge value the exact scan).
    if let Ok(t) = std::env::var("EXACT_THRESHOLD") {
        let mut p = shard.planner();
        p.exact_threshold = Some(t.parse().expect("EXACT_THRESHOLD is a number"));
        shard.set_planner(p);
    }
    // `DENSE_PERCENT=P` overrides when the walk steps through non-matching
    // nodes (0: always; 101: never).
    if let Ok(t) = std::env::var("DENSE_PERCENT") {
        let mut p = shard.planner();
        p.dense_percent = t.parse().expect("DENSE_PERCENT is a number");
        shard.set_planner(p);
    }
    let queries = read_fvecs(&args[2]);
    let n: usize = args[3].parse().expect("N");
    let queries = &queries[..n.min(queries.len())];
    let mut filters: Vec<Option<String>> = vec![
        None,
        Some(".u < 100".into()),
        Some(".cat == \"c7\"".into()),
        Some(".u < 1000".into()),
        Some(".u % 100 == 3".into()),
        Some(".u >= 50000 and .u < 60000".into()),
        Some(".flag".into()),
        Some(".u % 2 == 0".into()),
    ];
    if let Some(extra) = args.get(4) {
        filters.push(Some(extra.clone()));
    }
    // `ONLY='<filter>'` times just that filter (for a profiler).
    if let Ok(only) = std::env::var("ONLY") {
        filters = vec![Some(only)];
    }
    let index = shard.index().expect("an index").clone();
    let keys: Vec<String> =
        (0..index.slot_bound()).filter_map(|s| index.key_of(s).map(String::from)).collect();
    for f in filters {
        // The true answer of each query: brute force over the keys whose
        // attributes pass (parsed here, independently of the shard's
        // columns and indexes).
        let pass: std::collections::HashSet<&str> = match &f {
            None => keys.iter().map(String::as_str).collect(),
            Some(src) => {
                let expr = vecshard_filter::Filter::compile(src).expect("a valid filter");
                keys.iter()
                    .filter(|k| {
                        shard.attributes(k).is_some_and(|a| {
                            expr.eval(&vecshard_filter::Attributes::parse(a).unwrap_or_default())
                        })
                    })
                    .map(String::as_str)
                    .collect()
            }
        };
        let truth: Vec<Vec<String>> = queries
            .iter()
            .map(|q| {
                let hits = index.exact_search(q, 10, Some(&|k: &str| pass.contains(k))).unwrap();
                hits.iter().map(|h| h.key.to_string()).collect()
            })
            .collect();
        let mut found = 0usize;
        let mut times = Vec::with_capacity(queries.len());
        let mut plans = std::collections::BTreeMap::<String, usize>::new();
        for round in 0..2 {
            for q in queries {
                let t = Instant::now();
                let resp = shard.handle(Request::FilteredSearch {
                    vector: q.clone(),
                    k: 10,
                    ef: None,
                    key_filter: None,
                    filter: f.clone(),
                    filter_ef: None,
                    with_attributes: false,
                });
                let dt = t.elapsed();
                let Response::SearchHits { plan, hits } = resp else { panic!("{resp:?}") };
                assert!(!hits.is_empty());
                // The first round warms caches; only the second is timed.
                if round == 1 {
                    let want = &truth[times.len()];
                    found += hits.iter().filter(|h| want.contains(&h.key)).count();
                    times.push(dt.as_secs_f64() * 1e6);
                    *plans.entry(format!("{plan:?}")).or_default() += 1;
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let total: usize = truth.iter().map(Vec::len).sum();
        println!(
            "{:<30} recall@10 {:.4}  p50 {:>8.1} µs  p90 {:>8.1} µs  plans {:?}",
            f.as_deref().unwrap_or("(unfiltered)"),
            found as f64 / total.max(1) as f64,
            times[times.len() / 2],
            times[times.len() * 9 / 10],
            plans
        );
    }
}
