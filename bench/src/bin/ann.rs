//! `ann`: build an index over a benchmark folder on one thread and print
//! recall@k, QPS and latency percentiles for a list of `ef` values.
//!
//! The interface is fixed (other tools drive it):
//! ```text
//! ann --data DIR [--m 16] [--ef-construction 200] [--ef 10,20,40,80,160,320]
//!     [--k 10] [--quantization f32|i8|binary] [--json]
//!     [--kernels LIST] [--rounds N] [--interleave query|pass]
//!                                            (Q may be a list: f32,i8)
//! ```
//! Lists in `--quantization`, and `--kernels` / `--rounds` / `--interleave`, are optional
//! additions: without them the output is exactly as before.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use vecshard_bench::{percentile, recall_at, rss_bytes, thread_cpu_s, Dataset};
use vecshard_core::distance::Kernels;
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
    --quantization Q           f32, i8 or binary; a comma-separated list
                               compares them in one run           [default: f32]
    --seed N                   level-generator seed               [default: 42]
    --json                     one JSON object per ef on stdout
    --kernels LIST             comma-separated kernel sets to compare (scalar, avx2,
                               avx512; a prefix of the set's name). Each index is
                               built with the first and copied (snapshot) for the
                               others                             [default: the best set]
    --rounds N                 timed passes over the queries per ef [default: 1]
    --interleave query|pass    take turns between configurations after each query
                               (all equally cold) or after each pass over all
                               queries (each in a warm cache)    [default: query]

With several quantizations or kernel sets, each query runs on every
configuration in turn (same process, same moment), and each line also gives
its QPS and p50 ratios to the first configuration.
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
    quants: Vec<Quantization>,
    seed: u64,
    json: bool,
    kernels: Vec<String>,
    rounds: usize,
    by_pass: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        data: PathBuf::new(),
        m: 16,
        efc: 200,
        efs: vec![10, 20, 40, 80, 160, 320],
        k: 10,
        quants: vec![Quantization::F32],
        seed: 42,
        json: false,
        kernels: Vec::new(),
        rounds: 1,
        by_pass: false,
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
                a.quants = val("--quantization")?
                    .split(',')
                    .map(|q| {
                        Quantization::parse(q.trim())
                            .ok_or(format!("--quantization: {q:?} is not f32, i8 or binary"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--json" => a.json = true,
            "--kernels" => {
                a.kernels = val("--kernels")?.split(',').map(|s| s.trim().to_string()).collect()
            }
            "--rounds" => a.rounds = num(val("--rounds")?, "--rounds")?.max(1),
            "--interleave" => {
                a.by_pass = match val("--interleave")?.as_str() {
                    "query" => false,
                    "pass" => true,
                    other => return Err(format!("--interleave: {other:?} is not query or pass")),
                }
            }
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
    let name = a.data.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut sets = Vec::new();
    for name in &a.kernels {
        sets.push(Kernels::by_name(name).ok_or_else(|| {
            let have: Vec<&str> = Kernels::available().iter().map(|k| k.name).collect();
            format!("--kernels: no set {name:?} on this CPU (available: {})", have.join(", "))
        })?);
    }
    let compare = a.quants.len() > 1 || a.kernels.len() > 1 || a.rounds > 1;
    // One entry per (quantization, kernel set). Each quantization is built
    // once with the first set; with several sets each gets a snapshot copy,
    // so they walk identical graphs.
    let mut entries: Vec<Entry> = Vec::new();
    for &quant in &a.quants {
        let cfg = Config::new(ds.base.dim, ds.metric)
            .m(a.m)
            .ef_construction(a.efc)
            .quantization(quant)
            .seed(a.seed);
        let keys: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let rss0 = rss_bytes();
        let cpu0 = thread_cpu_s();
        let t = Instant::now();
        let mut index =
            Index::with_kernels(cfg, sets.first().copied().unwrap_or_else(Kernels::best))?;
        index.reserve(n);
        for (i, key) in keys.iter().enumerate() {
            index.insert(key, ds.base.row(i))?;
        }
        let build_s = t.elapsed().as_secs_f64();
        let build_cpu_s = thread_cpu_s() - cpu0;
        index.shrink_to_fit();
        let rss_delta = rss_bytes().saturating_sub(rss0);
        let stats = index.stats();
        let bpv = stats.bytes_per_vector();
        if !a.json {
            println!(
                "{name}: n={n} dim={} metric={} m={} ef_construction={} quantization={} kernels={}",
                ds.base.dim,
                ds.metric.name(),
                a.m,
                a.efc,
                quant.name(),
                index.kernel_name()
            );
            println!(
                "build {build_s:.2} s ({build_cpu_s:.2} s on CPU), {bpv:.1} bytes/vector (vectors {:.1}, links {:.1}, keys {:.1}; RSS delta {:.1})",
                stats.vector_bytes as f64 / n as f64,
                stats.link_bytes as f64 / n as f64,
                stats.key_bytes as f64 / n as f64,
                rss_delta as f64 / n as f64
            );
        }
        let rss = rss_delta as f64 / n as f64;
        if sets.len() > 1 {
            // Every set, the first included, gets a fresh snapshot copy, so
            // none of them walks the build's (differently laid out) heap.
            let bytes = index.to_bytes();
            drop(index);
            for k in &sets {
                let index = Index::from_bytes_with_kernels(&bytes, *k)?;
                entries.push(Entry { index, quant, build_s, build_cpu_s, bpv, rss });
            }
        } else {
            entries.push(Entry { index, quant, build_s, build_cpu_s, bpv, rss });
        }
    }
    if !a.json {
        if compare {
            println!(
                "({} interleaved across the {} configurations, {} rounds; ratios to the first: \
                 QPS, and p50 latency inverted so > 1 is faster)",
                if a.by_pass { "passes" } else { "queries" },
                entries.len(),
                a.rounds
            );
            println!(
                "{:>6} {:>6} {:>12} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
                "ef", "quant", "kernels", "recall", "QPS", "p50 µs", "p99 µs", "QPS ×", "p50 ×"
            );
        } else {
            println!("{:>6} {:>8} {:>10} {:>9} {:>9}", "ef", "recall", "QPS", "p50 µs", "p99 µs");
        }
    }
    let mut scratch = Scratch::new();
    for &ef in &a.efs {
        let passes = measure(&entries, &mut scratch, &ds, a.k, ef, a.rounds, a.by_pass)?;
        for (e, p) in entries.iter().zip(&passes) {
            let kernels = e.index.kernel_name();
            let qps_x = p.qps / passes[0].qps;
            let p50_x = passes[0].p50 / p.p50;
            let (recall, qps, p50, p99) = (p.recall, p.qps, p.p50, p.p99);
            if a.json {
                let mut o = serde_json::json!({
                    "dataset": name, "n": n, "dim": ds.base.dim, "metric": ds.metric.name(),
                    "m": a.m, "ef_construction": a.efc, "quantization": e.quant.name(), "k": a.k,
                    "kernels": kernels,
                    "build_s": e.build_s, "build_cpu_s": e.build_cpu_s, "bytes_per_vector": e.bpv, "rss_bytes_per_vector": e.rss,
                    "ef": ef, "recall": recall, "qps": qps, "p50_us": p50, "p99_us": p99,
                });
                if compare {
                    o["rounds"] = a.rounds.into();
                    o["qps_ratio_to_first"] = qps_x.into();
                    o["p50_speedup_to_first"] = p50_x.into();
                }
                println!("{o}");
            } else if compare {
                println!(
                    "{ef:>6} {:>6} {kernels:>12} {recall:>8.4} {qps:>10.0} {p50:>9.1} {p99:>9.1} {qps_x:>9.3} {p50_x:>9.3}",
                    e.quant.name()
                );
            } else {
                println!("{ef:>6} {recall:>8.4} {qps:>10.0} {p50:>9.1} {p99:>9.1}");
            }
        }
    }
    Ok(())
}

/// One index under test and how it was built.
struct Entry {
    index: Index,
    quant: Quantization,
    build_s: f64,
    /// Build time on a CPU (excludes waiting for a core on a shared machine).
    build_cpu_s: f64,
    bpv: f64,
    rss: f64,
}

/// Recall and speed of one entry at one `ef`.
struct Pass {
    recall: f64,
    qps: f64,
    p50: f64,
    p99: f64,
}

/// A warm-up pass, then `rounds` timed passes over every query. With more
/// than one entry, each query runs on every entry in turn before the next
/// query (`by_pass` false), so a noisy neighbour on a shared machine slows
/// all of them alike, but each entry's data is partly evicted by the others;
/// or each entry runs a whole pass in turn (`by_pass` true: warm caches,
/// noise shared only per pass).
fn measure(
    entries: &[Entry],
    scratch: &mut Scratch,
    ds: &Dataset,
    k: usize,
    ef: usize,
    rounds: usize,
    by_pass: bool,
) -> Result<Vec<Pass>, Box<dyn std::error::Error>> {
    let nq = ds.queries.rows();
    for e in entries {
        for qi in 0..nq {
            e.index.search_with(scratch, ds.queries.row(qi), k, Some(ef), None)?;
        }
    }
    let mut lat = vec![Vec::with_capacity(nq * rounds); entries.len()];
    let mut recall = vec![0.0; entries.len()];
    // (round, query, entry) in the order they run.
    let order: Vec<(usize, usize, usize)> = if by_pass {
        (0..rounds)
            .flat_map(|r| (0..entries.len()).flat_map(move |i| (0..nq).map(move |q| (r, q, i))))
            .collect()
    } else {
        (0..rounds)
            .flat_map(|r| (0..nq).flat_map(move |q| (0..entries.len()).map(move |i| (r, q, i))))
            .collect()
    };
    for (r, qi, i) in order {
        let e = &entries[i];
        let t = Instant::now();
        let hits = e.index.search_with(scratch, ds.queries.row(qi), k, Some(ef), None)?;
        lat[i].push(t.elapsed().as_secs_f64() * 1e6);
        if r == 0 {
            let rows: Vec<usize> =
                hits.iter().map(|h| h.key.parse().unwrap_or(usize::MAX)).collect();
            recall[i] += recall_at(&rows, ds.truth.row(qi), k);
        }
    }
    Ok(lat
        .into_iter()
        .zip(recall)
        .map(|(mut l, rec)| {
            let total_s: f64 = l.iter().sum::<f64>() / 1e6;
            l.sort_by(f64::total_cmp);
            Pass {
                recall: rec / nq as f64,
                qps: l.len() as f64 / total_s,
                p50: percentile(&l, 50.0),
                p99: percentile(&l, 99.0),
            }
        })
        .collect())
}
