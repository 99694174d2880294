//! `vecshard build`: vector file -> sharded data dir.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use vecshard_coordinator::{Coordinator, ErrorKind};
use vecshard_host::{Cluster, Collections, FsyncPolicy, HostConfig};
use vecshard_shard::{Item, Request, Response, Settings, WireMetric, WireQuantization};

use crate::input::VectorReader;
use crate::HostArgs;

/// Build a sharded index from a vector file.
///
/// Reads .fvecs, .npy (float32/float64, shape (n, dim)) or .jsonl
/// ({"key": "...", "vector": [...], "attributes": {...}} per line; fvecs and
/// npy rows are keyed by row number), sends each vector to shard
/// xxh3(key) mod N and builds all shards in parallel, each on its own
/// worker thread. The result is a data dir for `vecshard serve`.
///
/// With --collection NAME the vectors go into the named collection of the
/// data dir --out (which may exist and hold other collections): the
/// collection is created with this command's settings, or filled if it
/// exists with the same settings (other settings are an error and change
/// nothing). Each collection has its own shard count, metric, m,
/// ef_construction and quantization.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  vecshard build --input ../shared/data/glove100-100k/base.fvecs --shards 2 --metric cosine --out data/glove\n  vecshard build --input docs.jsonl --shards 4 --metric ip --quantization i8 --out data/docs\n  # two named collections in one data dir, each with its own settings:\n  vecshard build --input films.jsonl --collection films --metric cosine --out data/all\n  vecshard build --input ../shared/data/siftsmall/base.fvecs --collection sift --shards 2 --metric l2 --out data/all\n  vecshard query --data data/all --collection films --vector \"0.1,0.2,0.3\" --k 5"
)]
pub struct BuildArgs {
    /// Vector file: .fvecs, .npy or .jsonl.
    #[arg(long)]
    pub input: PathBuf,
    /// Number of shards.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub shards: u32,
    /// Data dir to create (must not exist, or be empty). With --collection,
    /// the data dir to add the collection to (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Build into this named collection of --out instead of the data dir's
    /// single index (the collection "default"). Created if missing; filled
    /// if it exists with equal settings.
    #[arg(long)]
    pub collection: Option<String>,
    /// Distance: cosine, l2 (squared Euclidean) or ip (negative inner product).
    #[arg(long, default_value = "cosine", value_parser = parse_metric)]
    pub metric: WireMetric,
    /// HNSW links per node (layer 0 keeps 2m).
    #[arg(long, default_value_t = 16)]
    pub m: u32,
    /// HNSW candidate list size while building.
    #[arg(long, default_value_t = 200)]
    pub ef_construction: u32,
    /// Default ef for searches that pass none.
    #[arg(long, default_value_t = 64)]
    pub ef_search: u32,
    /// Vector storage: f32, i8 (4x smaller) or binary (32x smaller, rescored).
    #[arg(long, default_value = "f32", value_parser = parse_quantization)]
    pub quantization: WireQuantization,
    /// Seed of the level generator (shard i uses seed + i).
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    /// Only the first N records of the input.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Vectors per batch sent to the shards.
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub host: HostArgs,
}

/// Parses a metric name.
pub fn parse_metric(s: &str) -> Result<WireMetric, String> {
    vecshard_core::Metric::parse(s)
        .map(WireMetric::from)
        .ok_or_else(|| format!("unknown metric {s:?}; use cosine, l2 or ip"))
}

/// Parses a quantization name.
pub fn parse_quantization(s: &str) -> Result<WireQuantization, String> {
    vecshard_core::Quantization::parse(s)
        .map(WireQuantization::from)
        .ok_or_else(|| format!("unknown quantization {s:?}; use f32, i8 or binary"))
}

/// What a build did.
#[derive(Debug, serde::Serialize)]
pub struct BuildReport {
    /// Vectors written.
    pub vectors: u64,
    /// Shards.
    pub shards: u32,
    /// Seconds from first read to durable snapshots.
    pub build_s: f64,
    /// Vectors per shard.
    pub per_shard: Vec<u64>,
    /// Bytes of all snapshots.
    pub snapshot_bytes: u64,
    /// Per shard, what the shard holds when the build ends (after its
    /// checkpoint): the wasm linear memory (or, native, the index and
    /// attribute bytes) ...
    pub memory_bytes: Vec<u64>,
    /// ... and the index and attribute bytes it reports (`Info`), so that
    /// `memory_bytes / held_bytes` is the shard's memory overhead.
    pub held_bytes: Vec<u64>,
}

pub fn run(a: BuildArgs) -> Result<()> {
    let report = build(&a, !a.json)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "built {} vectors into {} shard(s) at {} in {:.2} s ({:.0} vectors/s); per shard {:?}; snapshots {:.1} MiB",
            report.vectors,
            report.shards,
            a.out.display(),
            report.build_s,
            report.vectors as f64 / report.build_s.max(1e-9),
            report.per_shard,
            report.snapshot_bytes as f64 / (1 << 20) as f64
        );
        let mib = |v: &[u64]| {
            v.iter().map(|b| format!("{:.1}", *b as f64 / (1 << 20) as f64)).collect::<Vec<_>>()
        };
        println!(
            "shard memory {:?} MiB for {:?} MiB of index and attributes",
            mib(&report.memory_bytes),
            mib(&report.held_bytes)
        );
        match &a.collection {
            None => println!("serve it with: vecshard serve --data {}", a.out.display()),
            Some(c) => println!(
                "collection {c:?}; serve it with: vecshard serve --data {} (HTTP: \
                 /v1/collections/{}/search)",
                a.out.display(),
                crate::http::path_segment(c)
            ),
        }
    }
    Ok(())
}

/// Builds the data dir; removes it again if the build fails, so a failed
/// build leaves nothing behind.
pub fn build(a: &BuildArgs, progress: bool) -> Result<BuildReport> {
    let existed = a.out.exists();
    let mut created = None;
    let r = build_inner(a, progress, &mut created);
    if r.is_err() {
        if !existed {
            let _ = std::fs::remove_dir_all(&a.out);
        } else if let Some(name) = created {
            // A collection this build created goes again; one it was
            // filling keeps what was written before the error.
            if let Ok(c) = Collections::open(&a.out, HostConfig::default()) {
                let _ = c.delete(&name);
            }
        }
    }
    r
}

/// Where a build writes: a new data dir's single index, or a named
/// collection of a data dir (kept open through its `Collections`).
enum Dest {
    Root(Cluster),
    Named(Collections, Arc<Cluster>),
}

impl Dest {
    fn cluster(&self) -> &Cluster {
        match self {
            Dest::Root(c) => c,
            Dest::Named(_, c) => c,
        }
    }

    fn shutdown(self) -> Result<()> {
        match self {
            Dest::Root(c) => c.shutdown()?,
            Dest::Named(colls, c) => {
                drop(c);
                colls.shutdown()?;
            }
        }
        Ok(())
    }
}

fn build_inner(a: &BuildArgs, progress: bool, created: &mut Option<String>) -> Result<BuildReport> {
    let started = Instant::now();
    let mut reader = VectorReader::open(&a.input)?;
    // jsonl learns the dimension from its first record.
    let first = reader.next_item()?;
    let Some(dim) = reader.dim() else {
        bail!("{}: the file holds no vectors", a.input.display());
    };
    let settings = Settings {
        dim: dim as u32,
        metric: a.metric,
        m: a.m,
        ef_construction: a.ef_construction,
        ef_search: a.ef_search,
        quantization: a.quantization,
        seed: a.seed,
    };
    settings.to_config().validate().map_err(|e| anyhow::anyhow!("invalid index settings: {e}"))?;
    let mut cfg = a.host.config(FsyncPolicy::No);
    cfg.bulk_load = true;
    let dest = match &a.collection {
        None => Dest::Root(
            Cluster::create(&a.out, a.shards, settings, cfg)
                .with_context(|| format!("cannot create the data dir {}", a.out.display()))?,
        ),
        Some(name) => {
            let colls = Collections::open(&a.out, cfg)
                .with_context(|| format!("cannot open the data dir {}", a.out.display()))?;
            if colls.create(name, a.shards, settings).with_context(|| {
                format!("cannot create the collection {name:?} in {}", a.out.display())
            })? {
                *created = Some(name.clone());
            }
            let c = colls.get(name).with_context(|| format!("cannot open collection {name:?}"))?;
            Dest::Named(colls, c)
        }
    };
    let cluster = dest.cluster();
    let dir = cluster.dir().to_path_buf();
    let coord = cluster.coordinator();

    let total = reader.total().map(|t| a.limit.map_or(t, |l| l.min(t)));
    if let Some(t) = total {
        reserve(cluster, t)?;
    }
    let bar = if progress { make_bar(total, &a.input) } else { ProgressBar::hidden() };
    let limit = a.limit.unwrap_or(u64::MAX);
    let mut pending: Vec<Item> = first.into_iter().collect();
    let mut read = pending.len() as u64;
    let mut written = 0u64;
    let mut eof = false;
    // Keep 2 batches per shard in flight so every worker stays busy.
    let in_flight = 2 * a.shards as usize;
    loop {
        let mut round: Vec<(u64, Vec<Item>)> = Vec::with_capacity(in_flight);
        while round.len() < in_flight && !(eof && pending.is_empty()) {
            while !eof && pending.len() < a.batch && read < limit {
                match reader.next_item()? {
                    Some(it) => {
                        pending.push(it);
                        read += 1;
                    }
                    None => eof = true,
                }
            }
            if read >= limit {
                eof = true;
            }
            if pending.is_empty() {
                break;
            }
            let start = read - pending.len() as u64;
            round.push((start, std::mem::take(&mut pending)));
        }
        if round.is_empty() {
            break;
        }
        let n: u64 = round.iter().map(|(_, b)| b.len() as u64).sum();
        send_round(&coord, round, &a.input)?;
        written += n;
        bar.set_position(written);
    }
    bar.set_message("writing snapshots");
    cluster.checkpoint_all().context("writing the shard snapshots")?;
    let mut held_bytes = Vec::new();
    for h in cluster.shards() {
        // Info also makes the worker refresh its memory figure.
        held_bytes.push(match h.call_blocking(Request::Info) {
            Ok(Response::Info { info }) => info.index_bytes + info.attribute_bytes,
            _ => 0,
        });
    }
    let stats = cluster.stats();
    let per_shard: Vec<u64> = stats.iter().map(|s| s.len).collect();
    let memory_bytes: Vec<u64> = stats.iter().map(|s| s.memory_bytes).collect();
    let shards = cluster.shards().len() as u32;
    drop(coord);
    dest.shutdown().context("closing the shards")?;
    bar.finish_and_clear();
    let snapshot_bytes = (0..shards).map(|i| snapshot_len(&dir, i)).sum();
    Ok(BuildReport {
        vectors: written,
        shards,
        build_s: started.elapsed().as_secs_f64(),
        per_shard,
        snapshot_bytes,
        memory_bytes,
        held_bytes,
    })
}

/// Tells each shard how many vectors to expect, so it allocates its arrays
/// once instead of growing them by doubling (a wasm shard keeps the
/// doubling's slack and freed copies for good: linear memory never
/// shrinks). Routing is a hash, so a shard gets `t/n` give or take its
/// binomial spread; asking for 4 standard deviations more leaves the odds
/// of one late doubling below 1 in 30,000 at a cost of ~4/sqrt(t/n) of
/// spare room (2.5% at 25k per shard, none with one shard).
fn reserve(cluster: &Cluster, total: u64) -> Result<()> {
    let n = cluster.shards().len() as u64;
    let mean = total as f64 / n as f64;
    let spread = if n == 1 { 0.0 } else { 4.0 * (mean * (1.0 - 1.0 / n as f64)).sqrt() };
    let additional = (mean + spread).ceil() as u64 + if n == 1 { 0 } else { 16 };
    for h in cluster.shards() {
        match h.call_blocking(Request::Reserve { additional }) {
            Ok(Response::Reserved) => {}
            Ok(Response::Error(e)) => bail!("shard cannot make room for {additional} vectors: {e}"),
            Ok(other) => bail!("shard answered Reserve with {other:?}"),
            Err(e) => bail!("shard cannot make room for {additional} vectors: {e}"),
        }
    }
    Ok(())
}

fn snapshot_len(dir: &Path, i: u32) -> u64 {
    let p = vecshard_host::datadir::shard_dir(dir, i).join(vecshard_host::datadir::SNAPSHOT_FILE);
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn make_bar(total: Option<u64>, input: &Path) -> ProgressBar {
    let bar = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::new_spinner(),
    };
    let style = match total {
        Some(_) => ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} vectors ({per_sec}, eta {eta})",
        ),
        None => ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {spinner} {pos} vectors ({per_sec})",
        ),
    }
    .expect("valid template");
    bar.set_style(style);
    bar.set_message(format!(
        "building from {}",
        input.file_name().and_then(|n| n.to_str()).unwrap_or("input")
    ));
    bar
}

/// Sends batches concurrently; an error names the input record.
fn send_round(coord: &Coordinator, round: Vec<(u64, Vec<Item>)>, input: &Path) -> Result<()> {
    let results: Vec<(u64, Result<_, vecshard_coordinator::Error>)> = futures::executor::block_on(
        futures::stream::iter(
            round
                .into_iter()
                .map(|(start, items)| async move { (start, coord.upsert(items).await) }),
        )
        .buffer_unordered(usize::MAX)
        .collect(),
    );
    for (start, r) in results {
        if let Err(e) = r {
            if let ErrorKind::BadInput(w) = e.kind() {
                // "item 7 (key ...): ..." -> record start + 7.
                let msg = &w.message;
                let idx = msg
                    .strip_prefix("item ")
                    .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(i) = idx {
                    bail!("{}: record {}: {}", input.display(), start + i, msg);
                }
            }
            bail!("{}: records from {}: {e}", input.display(), start);
        }
    }
    Ok(())
}
