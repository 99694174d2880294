//! `vecshard bench`: recall, QPS and latency of a sharded setup.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use vecshard_coordinator::{Mode, Query, ShardTransport};
use vecshard_host::{Backend, Cluster, FsyncPolicy};
use vecshard_shard::{Request, Response, WireMetric, WireQuantization};

use crate::build::{parse_metric, parse_quantization, BuildArgs};
use crate::input::{read_ivecs, VectorReader};
use crate::HostArgs;

/// Measure recall@k, QPS and latency through the coordinator.
///
/// Either benchmark an existing data dir (--data), or build one data dir
/// per --shards value from --input first (reporting build time and
/// snapshot-load time against it). Queries run one at a time, as a client
/// would send them; each fans out to every shard in parallel. For one
/// shard, the same queries are also sent straight to the shard (no
/// coordinator) to measure the coordinator's overhead. Ground-truth ids are
/// row numbers, which is how `build` keys .fvecs and .npy rows.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  D=../shared/data/glove100-100k\n  vecshard bench --input $D/base.fvecs --metric cosine --shards 1,2,4 --queries $D/query.fvecs --ground-truth $D/groundtruth.ivecs --backends wasm,native\n  vecshard bench --data data/glove --queries $D/query.fvecs --ground-truth $D/groundtruth.ivecs --ef 20,40,80\n  vecshard bench --data data/all --collection glove --queries $D/query.fvecs --ground-truth $D/groundtruth.ivecs"
)]
pub struct BenchArgs {
    /// An existing data dir to benchmark.
    #[arg(long, conflicts_with = "input", required_unless_present = "input")]
    pub data: Option<PathBuf>,
    /// With --data: benchmark this named collection of the data dir
    /// (default: its single index, the collection "default").
    #[arg(long, requires = "data")]
    pub collection: Option<String>,
    /// Build from this vector file first (once per --shards value).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Query vectors (.fvecs, .npy or .jsonl).
    #[arg(long)]
    pub queries: PathBuf,
    /// Ground truth (.ivecs: per query, the ids of the true nearest rows).
    #[arg(long)]
    pub ground_truth: PathBuf,
    /// Shard counts to build and compare (with --input).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub shards: Vec<u32>,
    /// Backends to compare: wasm, native or both (wasm,native). Builds use
    /// the first.
    #[arg(long, value_delimiter = ',', default_value = "wasm", value_parser = |s: &str| s.parse::<Backend>())]
    pub backends: Vec<Backend>,
    /// ef values to measure.
    #[arg(long, value_delimiter = ',', default_value = "20,40,80")]
    pub ef: Vec<u32>,
    /// Results per query (recall@k).
    #[arg(long, default_value_t = 10)]
    pub k: u32,
    /// Only the first N queries.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Distance for --input builds.
    #[arg(long, default_value = "cosine", value_parser = parse_metric)]
    pub metric: WireMetric,
    /// Storage for --input builds.
    #[arg(long, default_value = "f32", value_parser = parse_quantization)]
    pub quantization: WireQuantization,
    /// Where --input builds go (default: a temporary directory, removed after).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// JSON rows instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub host: HostArgs,
}

/// One row of the table.
#[derive(Debug, Serialize)]
pub struct Row {
    /// Number of shards.
    pub shards: u32,
    /// wasm or native.
    pub backend: String,
    /// `coordinator` or `direct` (one shard, no coordinator).
    pub path: &'static str,
    /// Build time in seconds (with --input).
    pub build_s: Option<f64>,
    /// Time to open the data dir (load snapshots, start shards).
    pub load_s: f64,
    /// ef.
    pub ef: u32,
    /// recall@k against the ground truth.
    pub recall: f64,
    /// Queries per second, one at a time.
    pub qps: f64,
    /// Median latency in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn recall(got: &[String], truth: &[u32], k: usize) -> f64 {
    let want: HashSet<u32> = truth.iter().take(k).copied().collect();
    let hit =
        got.iter().filter_map(|key| key.parse::<u32>().ok()).filter(|id| want.contains(id)).count();
    hit as f64 / k.min(want.len()).max(1) as f64
}

/// Recall, throughput and latency of one way of answering the queries.
struct Measured {
    recall: f64,
    qps: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Runs every query through `search` one at a time (it returns the keys).
fn measure(
    queries: &[vecshard_shard::Item],
    gt: &[Vec<u32>],
    k: u32,
    mut search: impl FnMut(&[f32]) -> Result<Vec<String>>,
) -> Result<Measured> {
    let mut lat = Vec::with_capacity(queries.len());
    let mut rec = 0.0;
    let all = Instant::now();
    for (qi, q) in queries.iter().enumerate() {
        let t = Instant::now();
        let keys = search(&q.vector).with_context(|| format!("query {qi}"))?;
        lat.push(t.elapsed());
        rec += recall(&keys, &gt[qi], k as usize);
    }
    let total = all.elapsed();
    lat.sort();
    Ok(Measured {
        recall: rec / queries.len() as f64,
        qps: queries.len() as f64 / total.as_secs_f64(),
        p50_us: percentile(&lat, 0.5),
        p99_us: percentile(&lat, 0.99),
    })
}

pub fn run(a: BenchArgs) -> Result<()> {
    let mut queries = VectorReader::open(&a.queries)?.read_all()?;
    if let Some(l) = a.limit {
        queries.truncate(l);
    }
    let gt = read_ivecs(&a.ground_truth)?;
    if gt.len() < queries.len() {
        bail!(
            "{} has {} rows but there are {} queries",
            a.ground_truth.display(),
            gt.len(),
            queries.len()
        );
    }
    if gt.first().is_some_and(|g| g.len() < a.k as usize) {
        bail!("{} holds fewer than k = {} neighbours per query", a.ground_truth.display(), a.k);
    }
    let mut rows = Vec::new();
    let tmp;
    let work = match (&a.work_dir, &a.input) {
        (Some(w), _) => Some(w.clone()),
        (None, Some(_)) => {
            tmp = std::env::temp_dir().join(format!("vecshard-bench-{}", std::process::id()));
            Some(tmp.clone())
        }
        _ => None,
    };
    let setups: Vec<(u32, PathBuf, Option<f64>)> = match (&a.data, &a.input) {
        (Some(d), _) => {
            let d = crate::query::collection_dir(d, a.collection.as_deref());
            let m = vecshard_host::Manifest::read(&d)?;
            vec![(m.shards, d, None)]
        }
        (None, Some(input)) => {
            let work = work.clone().expect("work dir");
            std::fs::create_dir_all(&work)?;
            let mut v = Vec::new();
            for &n in &a.shards {
                let out = work.join(format!("shards-{n}"));
                if out.exists() {
                    std::fs::remove_dir_all(&out)?;
                }
                let b = BuildArgs {
                    input: input.clone(),
                    shards: n,
                    out: out.clone(),
                    collection: None,
                    metric: a.metric,
                    m: 16,
                    ef_construction: 200,
                    ef_search: 64,
                    quantization: a.quantization,
                    seed: 0x5eed,
                    limit: None,
                    batch: 512,
                    json: false,
                    host: HostArgs { backend: a.backends[0], ..a.host.clone() },
                };
                eprintln!(
                    "building {n} shard(s) from {} ({} backend)...",
                    input.display(),
                    a.backends[0]
                );
                let r = crate::build::build(&b, !a.json)?;
                eprintln!("  {:.2} s", r.build_s);
                v.push((n, out, Some(r.build_s)));
            }
            v
        }
        (None, None) => bail!("pass --data DIR or --input FILE"),
    };
    for (n, dir, build_s) in &setups {
        for &backend in &a.backends {
            let mut cfg = a.host.config(FsyncPolicy::No);
            cfg.backend = backend;
            let t = Instant::now();
            let cluster =
                Cluster::open(dir, cfg).with_context(|| format!("opening {}", dir.display()))?;
            let load_s = t.elapsed().as_secs_f64();
            let coord = cluster.coordinator();
            for &ef in &a.ef {
                // Warm-up: touch the caches once.
                for q in queries.iter().take(20) {
                    let _ = futures::executor::block_on(
                        coord.search(Query::new(q.vector.clone(), a.k).ef(ef), Mode::Strict),
                    );
                }
                let row = |path, m: Measured| Row {
                    shards: *n,
                    backend: backend.to_string(),
                    path,
                    build_s: *build_s,
                    load_s,
                    ef,
                    recall: m.recall,
                    qps: m.qps,
                    p50_us: m.p50_us,
                    p99_us: m.p99_us,
                };
                let m = measure(&queries, &gt, a.k, |q| {
                    let query = Query::new(q.to_vec(), a.k).ef(ef);
                    let r = futures::executor::block_on(coord.search(query, Mode::Strict))?;
                    Ok(r.hits.into_iter().map(|h| h.key).collect())
                })?;
                rows.push(row("coordinator", m));
                if *n == 1 {
                    // The same queries straight to the shard: no coordinator.
                    let shard = cluster.shard(0).expect("shard 0").clone();
                    let m = measure(&queries, &gt, a.k, |q| {
                        let req = Request::Search {
                            vector: q.to_vec(),
                            k: a.k,
                            ef: Some(ef),
                            filter: None,
                        };
                        match futures::executor::block_on(shard.call(req)) {
                            Ok(Response::Hits { hits }) => {
                                Ok(hits.into_iter().map(|h| h.key).collect())
                            }
                            other => bail!("sent directly: {other:?}"),
                        }
                    })?;
                    rows.push(row("direct", m));
                }
            }
            drop(coord);
            cluster.shutdown()?;
        }
    }
    if a.work_dir.is_none() {
        if let Some(w) = &work {
            let _ = std::fs::remove_dir_all(w);
        }
    }
    if a.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        println!(
            "| shards | backend | path | build s | load s | ef | recall@{} | QPS | p50 µs | p99 µs |",
            a.k
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {:.3} | {} | {:.4} | {:.0} | {:.0} | {:.0} |",
                r.shards,
                r.backend,
                r.path,
                r.build_s.map_or("-".into(), |b| format!("{b:.2}")),
                r.load_s,
                r.ef,
                r.recall,
                r.qps,
                r.p50_us,
                r.p99_us
            );
        }
    }
    Ok(())
}
