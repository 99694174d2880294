//! `vecshard query`, `vecshard info` and `vecshard checkpoint`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};
use vecshard_coordinator::{Mode, Query, SearchOptions};
use vecshard_host::{
    collections, datadir, Cluster, Collections, FsyncPolicy, HostConfig, Manifest,
};

use crate::http::{api_path, Api};
use crate::input::{parse_vector, VectorReader};
use crate::{HostArgs, Target};

/// Search a data dir or a running server.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  vecshard query --url http://127.0.0.1:7700 --vector \"0.1,0.2,0.3\" --k 5\n  vecshard query --data data/movies --vector \"0.1,0.2,0.3\" --filter '.year > 1950 and .genre == \"drama\"' --with-attributes\n  vecshard query --data data/glove --query-file ../shared/data/glove100-10k/query.fvecs --limit 3 --labels ../shared/data/glove100-10k/base_words.txt\n  vecshard query --url http://127.0.0.1:7700 --collection films --vector \"0.1,0.2,0.3\" --k 5   # a named collection"
)]
pub struct QueryArgs {
    #[command(flatten)]
    pub target: Target,
    /// A named collection (default: the collection "default", the data
    /// dir's single index; `/v1/...` on a server).
    #[arg(long)]
    pub collection: Option<String>,
    /// One query vector, comma-separated.
    #[arg(
        long,
        conflicts_with = "query_file",
        required_unless_present = "query_file",
        allow_hyphen_values = true
    )]
    pub vector: Option<String>,
    /// A file of query vectors (.fvecs, .npy or .jsonl).
    #[arg(long)]
    pub query_file: Option<PathBuf>,
    /// Only the first N queries of the file.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Results per query.
    #[arg(long, default_value_t = 10)]
    pub k: u32,
    /// Candidate list size per shard (default: the index's ef_search).
    #[arg(long)]
    pub ef: Option<u32>,
    /// Only elements whose attributes pass this filter expression (Redis
    /// vector-sets FILTER syntax, e.g. '.year > 1950 and .genre == "drama"';
    /// see docs/filters.md). Always returns min(k, matches) results.
    #[arg(long)]
    pub filter: Option<String>,
    /// Bound on the filtered graph walk's expansions per shard (Redis
    /// FILTER-EF); the answer stays complete (an exact scan finishes it).
    #[arg(long)]
    pub filter_ef: Option<u32>,
    /// Print each result's attributes.
    #[arg(long)]
    pub with_attributes: bool,
    /// A text file with one label per row (e.g. base_words.txt): shown
    /// next to numeric keys, which are row numbers of .fvecs/.npy builds.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Labels of the query file's rows (e.g. query_words.txt).
    #[arg(long)]
    pub query_labels: Option<PathBuf>,
    /// Bearer token for --url (or VECSHARD_TOKEN).
    #[arg(long, env = "VECSHARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// One JSON object per query on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub host: HostArgs,
}

/// Show a cluster's shards, settings and sizes.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  vecshard info --data data/glove        # works while `serve` runs: reads files only\n  vecshard info --url http://127.0.0.1:7700 --json\n  vecshard info --data data/all --collection films   # a named collection (built with `build --collection`)"
)]
pub struct InfoArgs {
    #[command(flatten)]
    pub target: Target,
    /// A named collection (default: the collection "default", the data
    /// dir's single index; `/v1/...` on a server).
    #[arg(long)]
    pub collection: Option<String>,
    /// Bearer token for --url (or VECSHARD_TOKEN).
    #[arg(long, env = "VECSHARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

/// Write a snapshot of every shard and truncate the write-ahead logs.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  vecshard checkpoint --url http://127.0.0.1:7700   # a running server\n  vecshard checkpoint --data data/glove             # a stopped one (replays its logs first)\n  vecshard checkpoint --data data/all --collection films"
)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub target: Target,
    /// A named collection (default: the collection "default", the data
    /// dir's single index; `/v1/...` on a server).
    #[arg(long)]
    pub collection: Option<String>,
    /// Bearer token for --url (or VECSHARD_TOKEN).
    #[arg(long, env = "VECSHARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub host: HostArgs,
}

fn rt() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")
}

pub fn run_query(a: QueryArgs) -> Result<()> {
    let queries: Vec<(String, Vec<f32>)> = match (&a.vector, &a.query_file) {
        (Some(v), _) => vec![("cli".into(), parse_vector(v)?)],
        (None, Some(f)) => {
            let mut r = VectorReader::open(f)?;
            let mut out = Vec::new();
            while let Some(it) = r.next_item()? {
                out.push((it.key, it.vector));
                if a.limit.is_some_and(|l| out.len() >= l) {
                    break;
                }
            }
            out
        }
        (None, None) => bail!("pass --vector or --query-file"),
    };
    let read_labels = |p: &Option<PathBuf>| -> Result<Vec<String>> {
        match p {
            None => Ok(Vec::new()),
            Some(p) => Ok(std::fs::read_to_string(p)
                .with_context(|| format!("cannot read labels {}", p.display()))?
                .lines()
                .map(str::to_string)
                .collect()),
        }
    };
    let labels = read_labels(&a.labels)?;
    let qlabels = read_labels(&a.query_labels)?;
    let label = |labels: &[String], key: &str| -> Option<String> {
        key.parse::<usize>().ok().and_then(|i| labels.get(i).cloned())
    };
    let rt = rt()?;
    let mut stdout = std::io::stdout().lock();
    let mut print = |qid: &str, res: Value| -> Result<()> {
        if a.json {
            let mut line = res;
            line["query"] = json!(qid);
            if !labels.is_empty() {
                for h in line["results"].as_array_mut().into_iter().flatten() {
                    if let Some(l) = h["key"].as_str().and_then(|k| label(&labels, k)) {
                        h["label"] = json!(l);
                    }
                }
            }
            writeln!(stdout, "{line}")?;
        } else {
            match label(&qlabels, qid) {
                Some(l) => writeln!(stdout, "query {qid} ({l}):")?,
                None => writeln!(stdout, "query {qid}:")?,
            }
            if res["partial"].as_bool() == Some(true) {
                writeln!(stdout, "  (partial: shards {} did not answer)", res["missing_shards"])?;
            }
            for (i, h) in res["results"].as_array().into_iter().flatten().enumerate() {
                let key = h["key"].as_str().unwrap_or("?");
                let shown = match label(&labels, key) {
                    Some(l) => format!("{key} ({l})"),
                    None => key.to_string(),
                };
                write!(
                    stdout,
                    "  {:>3}  {:<32} {:.6}",
                    i + 1,
                    shown,
                    h["distance"].as_f64().unwrap_or(f64::NAN)
                )?;
                match h.get("attributes") {
                    Some(attrs) => writeln!(stdout, "  {attrs}")?,
                    None => writeln!(stdout)?,
                }
            }
        }
        Ok(())
    };
    match (&a.target.data, &a.target.url) {
        (_, Some(url)) => {
            let api = Api::new(url, a.token.clone());
            for (qid, v) in queries {
                let mut body = json!({ "vector": v, "k": a.k });
                if let Some(ef) = a.ef {
                    body["ef"] = json!(ef);
                }
                if let Some(f) = &a.filter {
                    body["filter"] = json!(f);
                }
                if let Some(fe) = a.filter_ef {
                    body["filter_ef"] = json!(fe);
                }
                if a.with_attributes {
                    body["with_attributes"] = json!(true);
                }
                let path = api_path(a.collection.as_deref(), "/search");
                let res = rt.block_on(api.call("POST", &path, Some(&body)))?;
                print(&qid, res)?;
            }
        }
        (Some(dir), None) => {
            let local =
                Local::open(dir, a.collection.as_deref(), a.host.config(FsyncPolicy::EverySec))?;
            let coord = local.cluster().coordinator();
            let opts = SearchOptions {
                filter: a.filter.clone(),
                filter_ef: a.filter_ef,
                with_attributes: a.with_attributes,
            };
            for (qid, v) in queries {
                let q = Query { vector: v, k: a.k, ef: a.ef, filter: None };
                let r = futures::executor::block_on(coord.search_with(q, &opts, Mode::Partial))
                    .map_err(|e| anyhow::anyhow!("query {qid}: {e}"))?;
                let mut attrs = r.attributes.iter();
                let hit = |h: &vecshard_shard::Hit| {
                    let mut o = json!({"key": h.key, "distance": h.distance});
                    if a.with_attributes {
                        o["attributes"] = attrs
                            .next()
                            .and_then(|x| x.as_deref())
                            .map(|b| {
                                serde_json::from_slice(b).unwrap_or_else(|_| {
                                    Value::String(String::from_utf8_lossy(b).into_owned())
                                })
                            })
                            .unwrap_or(Value::Null);
                    }
                    o
                };
                let res = json!({
                    "results": r.hits.iter().map(hit).collect::<Vec<_>>(),
                    "partial": r.partial,
                    "missing_shards": r.missing_shards,
                });
                print(&qid, res)?;
            }
            drop(coord);
            local.shutdown()?;
        }
        (None, None) => bail!("pass --data DIR or --url URL"),
    }
    Ok(())
}

/// A data dir opened for one command: its single index, or one named
/// collection (through `Collections`, which finds it and starts only it).
pub enum Local {
    /// The data dir's single index.
    Root(Cluster),
    /// A named collection and the data dir's collections.
    Named(Collections, Arc<Cluster>),
}

impl Local {
    /// Opens `dir`'s collection `name` (`None`: the single index).
    pub fn open(dir: &Path, name: Option<&str>, cfg: HostConfig) -> Result<Local> {
        Ok(match name {
            None => Local::Root(
                Cluster::open(dir, cfg)
                    .with_context(|| format!("cannot open {}", dir.display()))?,
            ),
            Some(n) => {
                if !dir.is_dir() {
                    bail!("{}: no such data dir", dir.display());
                }
                let colls = Collections::open(dir, cfg)
                    .with_context(|| format!("cannot open {}", dir.display()))?;
                let c = colls
                    .get(n)
                    .with_context(|| format!("{}: cannot open collection {n:?}", dir.display()))?;
                Local::Named(colls, c)
            }
        })
    }

    /// Its shards.
    pub fn cluster(&self) -> &Cluster {
        match self {
            Local::Root(c) => c,
            Local::Named(_, c) => c,
        }
    }

    /// Checkpoints (what is pending) and stops the shards.
    pub fn shutdown(self) -> Result<()> {
        match self {
            Local::Root(c) => c.shutdown()?,
            Local::Named(colls, c) => {
                drop(c);
                colls.shutdown()?;
            }
        }
        Ok(())
    }
}

/// The folder holding collection `name`'s `cluster.json`, found from the
/// file names alone (so `info --data` can read it while a server holds the
/// data dir): the root for `default` in the single-index layout, else
/// `collections/<hex of the name>`.
pub fn collection_dir(dir: &Path, name: Option<&str>) -> PathBuf {
    match name {
        None => dir.to_path_buf(),
        Some(n)
            if n == collections::DEFAULT_COLLECTION
                && dir.join(datadir::MANIFEST_FILE).exists() =>
        {
            dir.to_path_buf()
        }
        Some(n) => dir.join(collections::COLLECTIONS_DIR).join(collections::encode_name(n)),
    }
}

fn file_len(p: PathBuf) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

pub fn run_info(a: InfoArgs) -> Result<()> {
    let v = match (&a.target.data, &a.target.url) {
        (_, Some(url)) => {
            let path = api_path(a.collection.as_deref(), "/info");
            rt()?.block_on(Api::new(url, a.token.clone()).call("GET", &path, None))?
        }
        (Some(data), None) => {
            // Files only, so this works while a server holds the data dir.
            let dir = &collection_dir(data, a.collection.as_deref());
            if a.collection.is_some() && !dir.join(datadir::MANIFEST_FILE).exists() {
                bail!(
                    "{}: no collection {:?} (no {})",
                    data.display(),
                    a.collection.as_deref().unwrap_or_default(),
                    dir.join(datadir::MANIFEST_FILE).display()
                );
            }
            let m =
                Manifest::read(dir).with_context(|| format!("cannot read {}", dir.display()))?;
            let per_shard: Vec<Value> = (0..m.shards)
                .map(|i| {
                    let sd = datadir::shard_dir(dir, i);
                    json!({
                        "shard": i,
                        "snapshot_bytes": file_len(sd.join(datadir::SNAPSHOT_FILE)),
                        "wal_bytes": file_len(sd.join(datadir::WAL_FILE)),
                    })
                })
                .collect();
            json!({ "data_dir": dir, "manifest": serde_json::to_value(&m)?, "per_shard": per_shard })
        }
        (None, None) => bail!("pass --data DIR or --url URL"),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_info(&v);
    }
    Ok(())
}

fn print_info(v: &Value) {
    let settings =
        if v["manifest"].is_object() { &v["manifest"]["settings"] } else { &v["settings"] };
    let shards = if v["manifest"].is_object() { &v["manifest"]["shards"] } else { &v["shards"] };
    println!(
        "shards: {shards}   dim: {}   metric: {}   quantization: {}   m: {}   ef_construction: {}   ef_search: {}",
        settings["dim"],
        settings["metric"].as_str().unwrap_or("?"),
        settings["quantization"].as_str().unwrap_or("?"),
        settings["m"],
        settings["ef_construction"],
        settings["ef_search"]
    );
    if let Some(n) = v["vectors"].as_u64() {
        println!("vectors: {n}   shards up: {}", v["shards_up"]);
    }
    for s in v["per_shard"].as_array().into_iter().flatten() {
        let mut line = format!("  shard {:>3}", s["shard"]);
        for (k, label) in [
            ("status", "status"),
            ("vectors", "vectors"),
            ("memory_bytes", "memory"),
            ("restarts", "restarts"),
            ("snapshot_bytes", "snapshot"),
            ("wal_bytes", "wal"),
            ("error", "error"),
        ] {
            if !s[k].is_null() {
                let val = match s[k].as_u64() {
                    Some(b) if k.ends_with("bytes") => {
                        format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
                    }
                    _ => s[k].as_str().map(str::to_string).unwrap_or(s[k].to_string()),
                };
                line.push_str(&format!("   {label}: {val}"));
            }
        }
        println!("{line}");
    }
}

pub fn run_checkpoint(a: CheckpointArgs) -> Result<()> {
    match (&a.target.data, &a.target.url) {
        (_, Some(url)) => {
            let path = api_path(a.collection.as_deref(), "/checkpoint");
            rt()?.block_on(Api::new(url, a.token.clone()).call("POST", &path, None))?;
            println!("checkpointed every shard of {url}");
        }
        (Some(dir), None) => {
            let local =
                Local::open(dir, a.collection.as_deref(), a.host.config(FsyncPolicy::Always))?;
            local.cluster().checkpoint_all()?;
            local.shutdown()?;
            println!("checkpointed every shard of {}", dir.display());
        }
        (None, None) => bail!("pass --data DIR or --url URL"),
    }
    Ok(())
}
