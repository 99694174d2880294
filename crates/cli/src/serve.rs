//! `vecshard serve` and `vecshard shard-serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use futures::future::BoxFuture;
use vecshard_coordinator::ShardTransport;
use vecshard_host::collections::DEFAULT_COLLECTION;
use vecshard_host::{Cluster, Collections, Expected, FsyncPolicy};
use vecshard_server::metrics::ShardGauges;
use vecshard_server::{App, Hooks, HttpShard, ServerConfig};

use crate::catalog::{LocalCatalog, UnloadPolicy};
use crate::resp_backend::RespBackend;
use vecshard_shard::{Request, Response, Settings, WireMetric};

use crate::build::parse_metric;
use crate::{parse_duration, parse_fsync, parse_size, HostArgs};

/// Limits of the HTTP server.
#[derive(Args, Clone, Debug)]
pub struct HttpArgs {
    /// Address to listen on. The default only accepts local connections;
    /// use 0.0.0.0:7700 (with --token) to serve other machines.
    #[arg(long, default_value = "127.0.0.1:7700")]
    pub listen: SocketAddr,
    /// Require `Authorization: Bearer TOKEN` on every route. Also read from
    /// the VECSHARD_TOKEN environment variable.
    #[arg(long, env = "VECSHARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Largest request body.
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    pub max_body: u64,
    /// Most vectors in one upsert.
    #[arg(long, default_value_t = 10_000)]
    pub max_batch: usize,
    /// Deadline of one HTTP request.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Most client connections open at once; further clients wait in the
    /// listen backlog until one closes.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Time a client has to send a request's headers, from connecting or
    /// from its previous response; slow or idle connections are closed.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// On shutdown, how long requests in flight may take before every
    /// connection is closed and the final snapshots are written.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Threads that run the HTTP side: parsing, routing, merging shard
    /// answers. Searches run on the shard threads, so one is enough unless
    /// the CPUs outnumber the shards by far and requests are large; each
    /// extra thread adds wake-ups to every request.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub http_threads: u16,
}

impl HttpArgs {
    fn config(&self, strict: bool) -> ServerConfig {
        ServerConfig {
            token: self.token.clone(),
            max_body_bytes: self.max_body as usize,
            max_batch: self.max_batch,
            request_timeout: self.timeout,
            strict,
        }
    }

    fn serve_options(&self) -> vecshard_server::ServeOptions {
        vecshard_server::ServeOptions {
            max_connections: self.max_connections,
            header_read_timeout: self.header_timeout,
            drain_timeout: self.drain_timeout,
        }
    }
}

/// Serve a data dir (or remote shards) over HTTP.
///
/// With --data, opens the data dir and runs each shard in its own wasmtime
/// worker; writes go to the shard's write-ahead log before they are
/// acknowledged, and a clean shutdown (Ctrl-C, SIGTERM) writes snapshots.
/// With --remote, coordinates shard servers started with `vecshard
/// shard-serve`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  vecshard serve --data data/glove\n  vecshard serve --data data/new --shards 4 --dim 384 --metric cosine   # creates an empty cluster\n  vecshard serve --remote http://10.0.0.2:7701,http://10.0.0.3:7701 --token $T\n  vecshard serve --data data/many --resp 127.0.0.1:6379   # and: redis-cli -p 6379 VADD s VALUES 2 1 0 a\n\nRoutes: POST /v1/vectors, GET|DELETE /v1/vectors/{key}, POST /v1/search, GET /v1/info,\n        POST /v1/checkpoint, GET /healthz, GET /metrics; GET /v1/collections,\n        PUT|GET|DELETE /v1/collections/{name}, /v1/collections/{name}/<any route above>"
)]
pub struct ServeArgs {
    /// Data dir to serve (created empty if missing and --shards/--dim are given).
    #[arg(long, conflicts_with = "remote", required_unless_present = "remote")]
    pub data: Option<PathBuf>,
    /// Comma-separated shard server URLs (shard i = the i-th URL).
    #[arg(long, value_delimiter = ',')]
    pub remote: Vec<String>,
    /// Number of shards, to create an empty data dir (checked against an existing one).
    #[arg(long)]
    pub shards: Option<u32>,
    /// Vector dimension, to create an empty data dir (checked against an existing one).
    #[arg(long)]
    pub dim: Option<u32>,
    /// Distance for a new data dir: cosine, l2 or ip (checked against an existing one).
    #[arg(long, value_parser = parse_metric)]
    pub metric: Option<WireMetric>,
    /// When to fsync the write-ahead log: always (every acknowledged write
    /// survives a crash), everysec (at most ~1 s lost) or no (the OS decides).
    #[arg(long, default_value = "everysec", value_parser = parse_fsync)]
    pub fsync: FsyncPolicy,
    /// Fail searches when a shard is missing instead of answering partially.
    #[arg(long)]
    pub strict: bool,
    /// Also serve the Redis vector-sets protocol (RESP2 and RESP3: VADD,
    /// VSIM, ...) on this address, e.g. 127.0.0.1:6379, over the same
    /// collections (one Redis key = one collection). Off by default.
    /// --token is then required through AUTH or HELLO ... AUTH.
    #[arg(long, value_name = "ADDR")]
    pub resp: Option<SocketAddr>,
    /// Most RESP connections open at once; further clients wait in the
    /// listen backlog.
    #[arg(long, default_value_t = 1024)]
    pub resp_max_connections: usize,
    /// Close a RESP connection that sends nothing for this long.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub resp_idle_timeout: Duration,
    /// Unload a collection (checkpoint, stop its shard threads, free its
    /// wasm memory) after it has had no request for this long; the next
    /// request reopens it from disk. `off` (or 0) keeps collections open.
    /// The `default` collection (what `/v1/*` serves) is never unloaded.
    #[arg(long, default_value = "300s", value_parser = parse_idle)]
    pub collection_idle: Duration,
    /// Most collections open at once (each costs two threads and a wasm
    /// instance per shard while open); opening one more unloads the least
    /// recently used idle ones.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_open_collections: u64,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub host: HostArgs,
}

/// Serve one shard of a data dir to a remote coordinator.
#[derive(Args, Debug)]
#[command(
    after_help = "Example (two machines, then a coordinator):\n  vecshard shard-serve --data data/glove --shard 0 --listen 0.0.0.0:7701 --token $T\n  vecshard shard-serve --data data/glove --shard 1 --listen 0.0.0.0:7701 --token $T\n  vecshard serve --remote http://a:7701,http://b:7701 --token $T"
)]
pub struct ShardServeArgs {
    /// Data dir holding the shard.
    #[arg(long)]
    pub data: PathBuf,
    /// Which shard to serve.
    #[arg(long)]
    pub shard: u32,
    /// WAL fsync policy: always, everysec or no.
    #[arg(long, default_value = "everysec", value_parser = parse_fsync)]
    pub fsync: FsyncPolicy,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub host: HostArgs,
}

/// `off` (zero), or a duration.
fn parse_idle(s: &str) -> Result<Duration, String> {
    if s == "off" {
        return Ok(Duration::ZERO);
    }
    parse_duration(s)
}

/// Runs the catalog's unload policy every quarter of the idle time (at
/// least every 50 ms, at most every 5 s), off the runtime's threads.
async fn reap_loop(catalog: LocalCatalog) {
    let p = catalog.policy();
    let tick = p.idle.map_or(Duration::from_secs(5), |d| {
        (d / 4).clamp(Duration::from_millis(50), Duration::from_secs(5))
    });
    loop {
        tokio::time::sleep(tick).await;
        let c = catalog.clone();
        let _ = tokio::task::spawn_blocking(move || c.reap()).await;
    }
}

/// Local shards: gauges and checkpoints from the host cluster.
pub(crate) struct LocalHooks(pub(crate) Arc<Cluster>);

impl Hooks for LocalHooks {
    fn gauges(&self) -> Vec<ShardGauges> {
        self.0
            .stats()
            .into_iter()
            .map(|s| ShardGauges {
                shard: s.shard,
                vectors: Some(s.len),
                memory_bytes: Some(s.memory_bytes),
                restarts: Some(s.restarts),
            })
            .collect()
    }

    fn checkpoint(&self) -> BoxFuture<'static, Result<(), String>> {
        // Coalesced and cancellable: when the server's deadline drops this
        // future, the shards skip the checkpoint if nobody else waits.
        let f = self.0.checkpoint_all_async();
        Box::pin(async move { f.await.map_err(|e| e.to_string()) })
    }
}

/// The HTTP side's runtime: `threads` tokio workers (default one).
///
/// Not tokio's default of one worker per CPU: the CPU-heavy work of a
/// request runs on the shard threads, and the HTTP side spends most of a
/// request waiting for them. With an idle worker per CPU, every wake-up
/// (a readable socket, each shard's reply) also woke an idle sibling to
/// steal work that was not there: 8.9 HTTP-thread wake-ups per search
/// with 2 workers against 2.8 with one (perf sched, 2 shards, one client;
/// ARCHITECTURE.md § cli), each a chance to wait for a CPU.
fn runtime(threads: u16) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(threads.max(1)))
        .enable_all()
        .build()
        .context("starting tokio")
}

pub fn run(a: ServeArgs) -> Result<()> {
    if a.resp.is_some() && a.data.is_none() {
        bail!("--resp serves the collections of a data dir: it needs --data (not --remote)");
    }
    let rt = runtime(a.http.http_threads)?;
    let cfg = a.http.config(a.strict);
    if let Some(dir) = &a.data {
        let host = a.host.config(a.fsync);
        let legacy = dir.join("cluster.json").exists();
        let named = dir.join(vecshard_host::collections::COLLECTIONS_DIR).is_dir();
        if !legacy && !named && !vecshard_host::datadir::is_missing_or_empty(dir)? {
            bail!(
                "{} is not a vecshard data dir (no cluster.json, no collections/) and not empty; \
                 build one with `vecshard build`, or point --data at a new directory",
                dir.display()
            );
        }
        let colls = Arc::new(
            Collections::open(dir, host)
                .with_context(|| format!("cannot open {}", dir.display()))?,
        );
        if let (Some(n), Some(dim), None) = (a.shards, a.dim, colls.manifest(DEFAULT_COLLECTION)) {
            let s = Settings::new(dim, a.metric.unwrap_or(WireMetric::Cosine));
            eprintln!(
                "creating an empty collection {DEFAULT_COLLECTION:?} of {n} shard(s), dim {dim}, \
                 at {}",
                dir.display()
            );
            colls.create(DEFAULT_COLLECTION, n, s)?;
        }
        if colls.manifest(DEFAULT_COLLECTION).is_some() {
            // Open the default now, as before collections: a mismatch with
            // the flags, or a damaged shard, stops the server at start.
            let expected =
                Expected { shards: a.shards, dim: a.dim, metric: a.metric, ..Expected::default() };
            colls
                .get_expecting(DEFAULT_COLLECTION, &expected)
                .with_context(|| format!("cannot open {}", dir.display()))?;
        }
        let policy = UnloadPolicy {
            idle: Some(a.collection_idle).filter(|d| !d.is_zero()),
            max_open: usize::try_from(a.max_open_collections).unwrap_or(usize::MAX),
        };
        let catalog = LocalCatalog::new(colls.clone(), cfg.clone(), a.shards.unwrap_or(1), policy);
        let router = vecshard_server::collections_router(Arc::new(catalog.clone()), &cfg);
        let count = colls.list().len();
        let backend =
            Arc::new(RespBackend::new(colls.clone(), catalog.clone(), a.shards.unwrap_or(1)));
        rt.block_on(async {
            let reaper = tokio::spawn(reap_loop(catalog.clone()));
            let http = listen(&a.http, router, || {
                format!(
                    "serving {} ({count} collection(s), {} shards, opened on first use)",
                    dir.display(),
                    a.host.backend
                )
            });
            let r = match a.resp {
                None => http.await,
                Some(addr) => {
                    let opts = vecshard_server::RespOptions {
                        token: a.http.token.clone(),
                        limits: vecshard_resp::Limits::default(),
                        max_connections: a.resp_max_connections,
                        idle_timeout: a.resp_idle_timeout,
                    };
                    let (h, r) = tokio::join!(http, listen_resp(addr, backend.clone(), opts));
                    h.and(r)
                }
            };
            reaper.abort();
            r
        })?;
        drop(rt);
        eprintln!("writing snapshots...");
        drop(backend);
        drop(catalog);
        match Arc::try_unwrap(colls) {
            Ok(c) => c.shutdown().context("checkpoint on shutdown")?,
            Err(c) => c.checkpoint_all().context("checkpoint on shutdown")?,
        }
        eprintln!("stopped cleanly");
        Ok(())
    } else {
        let shards: Vec<HttpShard> = a
            .remote
            .iter()
            .map(|u| HttpShard::new(u, a.http.token.clone(), a.http.timeout))
            .collect();
        let settings = rt.block_on(remote_settings(&shards))?;
        let shards: Vec<Arc<dyn ShardTransport>> =
            shards.into_iter().map(|s| Arc::new(s) as Arc<dyn ShardTransport>).collect();
        let n = shards.len();
        let app = App::new(settings, shards, Arc::new(vecshard_server::NoHooks), cfg)?;
        rt.block_on(listen(&a.http, vecshard_server::router(app), || {
            format!("coordinating {n} remote shard(s)")
        }))
    }
}

/// Settings of a remote cluster, from the shards' `Info` (they must agree).
async fn remote_settings(shards: &[HttpShard]) -> Result<Settings> {
    let mut found: Option<(usize, Settings)> = None;
    let mut errors = Vec::new();
    for (i, s) in shards.iter().enumerate() {
        match s.call(Request::Info).await {
            Ok(Response::Info { info }) => match (info.settings, &found) {
                (Some(mut st), Some((j, f))) => {
                    st.seed = f.seed;
                    if st.dim != f.dim || st.metric != f.metric || st.quantization != f.quantization
                    {
                        bail!("shard {i} ({}) has settings {st:?}, but shard {j} has {f:?}; all shards of a cluster must agree", s.describe());
                    }
                }
                (Some(st), None) => found = Some((i, st)),
                (None, _) => bail!("shard {i} ({}) holds no index", s.describe()),
            },
            Ok(other) => errors.push(format!("shard {i}: unexpected answer {other:?}")),
            Err(e) => errors.push(format!("shard {i} ({}): {e}", s.describe())),
        }
    }
    for e in &errors {
        eprintln!("warning: {e}");
    }
    match found {
        Some((_, s)) => Ok(s),
        None => bail!(
            "no remote shard answered, so the cluster settings are unknown: {}",
            errors.join("; ")
        ),
    }
}

async fn listen(
    http: &HttpArgs,
    router: vecshard_server::Router,
    what: impl FnOnce() -> String,
) -> Result<()> {
    let addr = http.listen;
    if http.token.is_none() && !addr.ip().is_loopback() {
        eprintln!(
            "WARNING: serving {addr} without --token: anyone who can reach this address can \
             read, change, snapshot and replace the data. Pass --token (or VECSHARD_TOKEN), or \
             listen on 127.0.0.1."
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (is another server running there?)"))?;
    let local = listener.local_addr()?;
    eprintln!("{} on http://{local}  (Ctrl-C to stop)", what());
    vecshard_server::serve_with(
        listener,
        router,
        vecshard_server::shutdown_signal(),
        http.serve_options(),
    )
    .await?;
    Ok(())
}

async fn listen_resp(
    addr: SocketAddr,
    backend: Arc<RespBackend>,
    opts: vecshard_server::RespOptions,
) -> Result<()> {
    if opts.token.is_none() && !addr.ip().is_loopback() {
        eprintln!(
            "WARNING: serving the Redis protocol on {addr} without --token: anyone who can reach \
             this address can read and change every collection. Pass --token, or use 127.0.0.1."
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for --resp"))?;
    eprintln!("Redis protocol (RESP2/3) on redis://{}", listener.local_addr()?);
    vecshard_server::serve_resp(listener, backend, vecshard_server::shutdown_signal(), opts)
        .await?;
    Ok(())
}

pub fn run_shard(a: ShardServeArgs) -> Result<()> {
    let rt = runtime(a.http.http_threads)?;
    let handle = vecshard_host::Cluster::open_shard(&a.data, a.shard, a.host.config(a.fsync))
        .with_context(|| format!("cannot open shard {} of {}", a.shard, a.data.display()))?;
    let router = vecshard_server::shard_router(
        Arc::new(handle.clone()) as Arc<dyn ShardTransport>,
        a.shard,
        a.http.config(false),
    );
    rt.block_on(listen(&a.http, router, || {
        format!("serving shard {} of {}", a.shard, a.data.display())
    }))?;
    drop(rt);
    handle.shutdown().context("checkpoint on shutdown")?;
    Ok(())
}
