//! `vecshard push`: upload a data dir built offline to an edge deployment
//! (`edge/cloudflare/`: a coordinator Worker in front of one Durable Object
//! per shard), one shard snapshot at a time, chunk by chunk.
//!
//! Why through the coordinator and not to the objects: Durable Objects have
//! no address of their own; the Worker owns the names (`<name>/<i>`) and
//! the token. Why chunks: a Worker request body and a Durable Object's
//! SQLite row are bounded (a row is at most 2 MB), and a shard's snapshot
//! can be a hundred MB; each 1 MiB chunk becomes one row of a staging
//! generation, and the commit makes the object load the staged snapshot
//! (streaming, one row at a time), check its settings against the
//! deployment's, and switch to it in one transaction. A push cut short
//! leaves the old data serving.
//!
//! The routes (edge/cloudflare/src/coordinator.mjs): `POST
//! /v1/shards/{i}/snapshot` `{"length"}` → `{"upload"}`; `PUT
//! /v1/shards/{i}/snapshot/{upload}/{seq}` (raw bytes); `POST
//! /v1/shards/{i}/snapshot/{upload}/commit` `{"chunks"}`.
//!
//! Refused before any byte is sent: a data dir whose shard count, dimension,
//! metric or quantization differ from the deployment's (`GET /v1/info`),
//! and a shard whose write-ahead log holds writes the snapshot does not
//! (they would be lost: run `vecshard checkpoint --data DIR` first).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// Bytes per uploaded chunk (at most): one row in the object's storage.
const CHUNK: usize = 1 << 20;
/// A WAL of this size or less holds no record (its header only).
const WAL_HEADER: u64 = 28;

/// Upload a data dir's shard snapshots to an edge deployment.
///
/// Streams each shard's snapshot.bin to its Durable Object through the
/// coordinator Worker, 1 MiB at a time; each object switches to the new
/// snapshot only once all of it arrived and loaded. The data dir's shard
/// count must equal the deployment's.
#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  vecshard build --input base.fvecs --shards 4 --metric l2 --out data\n  vecshard push --url https://vecshard.example.workers.dev --data data --token $TOKEN"
)]
pub struct PushArgs {
    /// The coordinator Worker, e.g. `https://vecshard.example.workers.dev`.
    #[arg(long)]
    pub url: String,
    /// The data dir (built by `vecshard build`).
    #[arg(long)]
    pub data: PathBuf,
    /// The deployment's bearer token (its VECSHARD_TOKEN secret).
    #[arg(long, env = "VECSHARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Bytes per chunk, at most 1 MiB (one row in the object's storage);
    /// smaller only to test the reassembly.
    #[arg(long, default_value_t = CHUNK, hide = true)]
    pub chunk_size: usize,
}

struct Remote {
    base: String,
    token: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Remote {
    async fn send(&self, method: &str, path: &str, body: Bytes, json_body: bool) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut b = hyper::Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            b = b.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        b = b.header(
            CONTENT_TYPE,
            if json_body { "application/json" } else { "application/octet-stream" },
        );
        let req = b.body(Full::new(body)).with_context(|| format!("bad URL {url}"))?;
        let resp = tokio::time::timeout(Duration::from_secs(300), self.client.request(req))
            .await
            .map_err(|_| anyhow!("{url}: no answer within 300 s"))?
            .with_context(|| format!("cannot reach {url}"))?;
        crate::http::json_reply(&url, resp).await
    }

    async fn json(&self, method: &str, path: &str, body: &Value) -> Result<Value> {
        self.send(method, path, Bytes::from(serde_json::to_vec(body)?), true).await
    }
}

/// Runs `vecshard push`.
pub fn run(a: PushArgs) -> Result<()> {
    let manifest_path = a.data.join("cluster.json");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .with_context(|| format!("{}: not a data dir", manifest_path.display()))?,
    )
    .with_context(|| format!("{}: not valid JSON", manifest_path.display()))?;
    let shards = manifest["shards"]
        .as_u64()
        .ok_or_else(|| anyhow!("{}: no shard count", manifest_path.display()))?;
    if a.chunk_size == 0 || a.chunk_size > CHUNK {
        bail!("--chunk-size must be in 1..={CHUNK}");
    }
    let files: Vec<PathBuf> =
        (0..shards).map(|i| a.data.join(format!("shard-{i:03}")).join("snapshot.bin")).collect();
    for (i, f) in files.iter().enumerate() {
        check_shard(i, f)?;
    }

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let c = Remote {
            base: a.url.trim_end_matches('/').to_string(),
            token: a.token.clone(),
            client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
        };
        let info = c.send("GET", "/v1/info", Bytes::new(), false).await?;
        let theirs = info["shards"].as_u64().unwrap_or(0);
        if theirs != shards {
            bail!(
                "the data dir {} has {shards} shards but the deployment at {} has {theirs}; \
                 routing is xxh3(key) mod N, so the counts must match: rebuild with --shards \
                 {theirs} or deploy with VECSHARD_SHARDS = {shards}. Nothing was sent.",
                a.data.display(),
                a.url
            );
        }
        for field in ["dim", "metric", "quantization"] {
            let (mine, dep) = (&manifest["settings"][field], &info["settings"][field]);
            if mine != dep {
                bail!(
                    "the data dir's {field} is {mine} but the deployment's is {dep}; \
                     nothing was sent"
                );
            }
        }
        for (i, f) in files.iter().enumerate() {
            push_shard(&c, i, f, a.chunk_size).await?;
        }
        let after = c.send("GET", "/v1/info", Bytes::new(), false).await?;
        println!(
            "pushed {shards} shards: {} vectors at {}",
            after["vectors"].as_u64().unwrap_or(0),
            a.url
        );
        Ok(())
    })
}

/// Refuses a shard whose log holds writes its snapshot does not.
fn check_shard(i: usize, snapshot: &Path) -> Result<()> {
    std::fs::metadata(snapshot).with_context(|| {
        format!(
            "shard {i}: {} is missing; build the data dir with `vecshard build`",
            snapshot.display()
        )
    })?;
    let wal = snapshot.with_file_name("wal.log");
    if let Ok(m) = std::fs::metadata(&wal) {
        if m.len() > WAL_HEADER {
            bail!(
                "shard {i}: {} holds writes that are not in the snapshot yet; run `vecshard \
                 checkpoint --data DIR` (with no server on the dir) first",
                wal.display()
            );
        }
    }
    Ok(())
}

async fn push_shard(c: &Remote, i: usize, path: &Path, chunk: usize) -> Result<()> {
    let t = Instant::now();
    let mut file = File::open(path).with_context(|| format!("{}", path.display()))?;
    let len = file.metadata()?.len();
    let begun =
        c.json("POST", &format!("/v1/shards/{i}/snapshot"), &json!({ "length": len })).await?;
    let upload = begun["upload"]
        .as_u64()
        .ok_or_else(|| anyhow!("shard {i}: the deployment did not start an upload: {begun}"))?;
    let mut buf = vec![0u8; chunk];
    let mut seq = 0u64;
    loop {
        let n = read_full(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        let body = Bytes::copy_from_slice(&buf[..n]);
        c.send("PUT", &format!("/v1/shards/{i}/snapshot/{upload}/{seq}"), body, false).await?;
        seq += 1;
    }
    let done = c
        .json(
            "POST",
            &format!("/v1/shards/{i}/snapshot/{upload}/commit"),
            &json!({ "chunks": seq }),
        )
        .await?;
    println!(
        "shard {i}: {len} bytes in {seq} chunks, {} vectors, {:.1} s",
        done["vectors"].as_u64().unwrap_or(0),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Reads until `buf` is full or the file ends.
fn read_full(f: &mut File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let got = f.read(&mut buf[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(n)
}
