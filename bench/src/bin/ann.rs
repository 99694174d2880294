//! `ann`: build an index over a benchmark folder on one thread and print
//! recall@k, QPS and latency percentiles for a list of `ef` values.
//!
//! The interface is fixed (other tools drive it):
//! ```text
//! ann --data DIR [--m 16] [--ef-construction 200] [--ef 10,20,40,80,160,320]
//!     [--k 10] [--quantization f32|i8|binary] [--json]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use vecshard_bench::{percentile, recall_at, rss_bytes, Dataset};
use vecshard_core::{Config, Index, Quantization, Scratch};

const HELP: &str = "\
ann: build a vecshard index over a benchmark folder and measure recall and speed

USAGE:
    ann --data DIR [OPTIONS]

DIR holds base.fvecs, query.fvecs, groundtruth.ivecs and meta.json
({\"metric\": \"l2\"|\"cosine\"|\"ip\"}), like ../shared/data/siftsmall.

OPTIONS:
    --data DIR                 benchmark folder (required)
    --m N                      links per node, layer 0 keeps 2N   [default: 16]
    --ef-construction N        candidate list size while building [default: 200]
    --ef LIST                  comma-separated search ef values   [default: 10,20,40,80,160,320]
    --k N                      neighbours per query               [default: 10]
    --quantization Q           f32, i8 or binary                  [default: f32]
    --seed N                   level-generator seed               [default: 42]
    --json                     one JSON object per ef on stdout
    -h, --help                 this text

Build and search run on one thread; queries are timed one at a time.

EXAMPLE:
    cargo run --release -p vecshard-bench --bin ann -- --data ../shared/data/glove100-10k --ef 10,20,40
";

struct Args {
    data: PathBuf,
    m: usize,
    efc: usize,
    efs: Vec<usize>,
    k: usize,
    quant: Quantization,
    seed: u64,
    json: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        data: PathBuf::new(),
        m: 16,
        efc: 200,
        efs: vec![10, 20, 40, 80, 160, 320],
        k: 10,
        quant: Quantization::F32,
        seed: 42,
        json: false,
    };
    let mut have_data = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let num = |s: String, name: &str| {
            s.parse::<usize>().map_err(|_| format!("{name}: {s:?} is not a number"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            "--data" => {
                a.data = PathBuf::from(val("--data")?);
                have_data = true;
            }
            "--m" => a.m = num(val("--m")?, "--m")?,
            "--ef-construction" => a.efc = num(val("--ef-construction")?, "--ef-construction")?,
            "--k" => a.k = num(val("--k")?, "--k")?,
            "--seed" => a.seed = num(val("--seed")?, "--seed")? as u64,
            "--ef" => {
                a.efs = val("--ef")?
                    .split(',')
                    .map(|s| num(s.trim().to_string(), "--ef"))
                    .collect::<Result<_, _>>()?
            }
            "--quantization" => {
                let q = val("--quantization")?;
                a.quant = Quantization::parse(&q)
                    .ok_or(format!("--quantization: {q:?} is not f32, i8 or binary"))?;
            }
            "--json" => a.json = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !have_data {
        return Err("--data DIR is required".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let ds = Dataset::load(&a.data)?;
    let n = ds.base.rows();
    let cfg = Config::new(ds.base.dim, ds.metric)
        .m(a.m)
        .ef_construction(a.efc)
        .quantization(a.quant)
        .seed(a.seed);
    let keys: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let rss0 = rss_bytes();
    let t = Instant::now();
    let mut index = Index::new(cfg)?;
    index.reserve(n);
    for (i, key) in keys.iter().enumerate() {
        index.insert(key, ds.base.row(i))?;
    }
    let build_s = t.elapsed().as_secs_f64();
    index.shrink_to_fit();
    let rss_delta = rss_bytes().saturating_sub(rss0);
    let stats = index.stats();
    let bpv = stats.bytes_per_vector();
    let name = a.data.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if !a.json {
        println!(
            "{name}: n={n} dim={} metric={} m={} ef_construction={} quantization={} kernels={}",
            ds.base.dim,
            ds.metric.name(),
            a.m,
            a.efc,
            a.quant.name(),
            index.kernel_name()
        );
        println!(
            "build {build_s:.2} s, {bpv:.1} bytes/vector (vectors {:.1}, links {:.1}, keys {:.1}; RSS delta {:.1})",
            stats.vector_bytes as f64 / n as f64,
            stats.link_bytes as f64 / n as f64,
            stats.key_bytes as f64 / n as f64,
            rss_delta as f64 / n as f64
        );
        println!("{:>6} {:>8} {:>10} {:>9} {:>9}", "ef", "recall", "QPS", "p50 µs", "p99 µs");
    }
    let nq = ds.queries.rows();
    let mut scratch = Scratch::new();
    for &ef in &a.efs {
        // Warm-up pass (caches, scratch sizing), then the timed pass.
        for qi in 0..nq {
            index.search_with(&mut scratch, ds.queries.row(qi), a.k, Some(ef), None)?;
        }
        let mut lat = Vec::with_capacity(nq);
        let mut recall = 0.0;
        let total = Instant::now();
        for qi in 0..nq {
            let t = Instant::now();
            let hits = index.search_with(&mut scratch, ds.queries.row(qi), a.k, Some(ef), None)?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            let rows: Vec<usize> =
                hits.iter().map(|h| h.key.parse().unwrap_or(usize::MAX)).collect();
            recall += recall_at(&rows, ds.truth.row(qi), a.k);
        }
        let secs = total.elapsed().as_secs_f64();
        recall /= nq as f64;
        lat.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&lat, 50.0), percentile(&lat, 99.0));
        let qps = nq as f64 / secs;
        if a.json {
            println!(
                "{}",
                serde_json::json!({
                    "dataset": name, "n": n, "dim": ds.base.dim, "metric": ds.metric.name(),
                    "m": a.m, "ef_construction": a.efc, "quantization": a.quant.name(), "k": a.k,
                    "kernels": index.kernel_name(),
                    "build_s": build_s, "bytes_per_vector": bpv, "rss_bytes_per_vector": rss_delta as f64 / n as f64,
                    "ef": ef, "recall": recall, "qps": qps, "p50_us": p50, "p99_us": p99,
                })
            );
        } else {
            println!("{ef:>6} {recall:>8.4} {qps:>10.0} {p50:>9.1} {p99:>9.1}");
        }
    }
    Ok(())
}
