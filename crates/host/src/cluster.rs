//! [`Cluster`]: a data dir opened with one worker per shard.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vecshard_coordinator::Coordinator;
use vecshard_shard::{Settings, Shard};

use crate::config::{Backend, HostConfig};
use crate::datadir::{self, Expected, Manifest, MANIFEST_FILE};
use crate::engine::WasmRuntime;
use crate::error::{Error, Result};
use crate::worker::{self, ShardHandle, ShardSpec, ShardStats};

/// A data dir with every shard running on its own worker thread.
///
/// Dropping it (or [`Cluster::shutdown`]) checkpoints every shard that has
/// writes not yet in its snapshot and stops the workers, even if clones of
/// the [`ShardHandle`]s live on elsewhere (they then answer `Unavailable`).
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    manifest: Manifest,
    shards: Vec<ShardHandle>,
}

fn runtime(cfg: &HostConfig) -> Result<Option<Arc<WasmRuntime>>> {
    match cfg.backend {
        Backend::Native => Ok(None),
        Backend::Wasm => {
            let cache = cfg.resolved_cache_dir();
            WasmRuntime::shared(cache.as_deref(), cfg.epoch_tick).map(Some)
        }
    }
}

fn spec(
    dir: &Path,
    m: &Manifest,
    i: u32,
    cfg: &HostConfig,
    rt: &Option<Arc<WasmRuntime>>,
) -> Result<ShardSpec> {
    let sdir = datadir::shard_dir(dir, i);
    if !sdir.is_dir() {
        return Err(Error::shard(
            i,
            format!(
                "its folder {} is missing although {MANIFEST_FILE} lists {} shards; restore it \
                 from a backup (an empty shard would silently lose its data)",
                sdir.display(),
                m.shards
            ),
        ));
    }
    Ok(ShardSpec {
        id: i,
        dir: sdir,
        settings: m.shard_settings(i),
        cfg: cfg.clone(),
        runtime: rt.clone(),
    })
}

impl Cluster {
    /// Creates a new data dir at `dir` (which must be missing or empty)
    /// with `shards` empty shards of `settings`, and starts them.
    pub fn create(
        dir: impl AsRef<Path>,
        shards: u32,
        settings: Settings,
        cfg: HostConfig,
    ) -> Result<Cluster> {
        let dir = dir.as_ref();
        crate::failpoint::init_from_env().map_err(Error::invalid_argument)?;
        if shards == 0 {
            return Err(Error::invalid_argument("a cluster needs at least one shard"));
        }
        if let Err(e) = Shard::with_settings(&settings) {
            return Err(Error::invalid_argument(format!("invalid index settings: {e}")));
        }
        if !datadir::is_missing_or_empty(dir)? {
            return Err(Error::not_empty(dir));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        for i in 0..shards {
            let s = datadir::shard_dir(dir, i);
            std::fs::create_dir(&s).map_err(|e| Error::io("create", &s, e))?;
        }
        // The manifest last: a dir with cluster.json is complete.
        let manifest = Manifest::new(shards, settings);
        manifest.write(dir)?;
        Cluster::start(dir, manifest, cfg)
    }

    /// Opens an existing data dir with whatever it holds.
    pub fn open(dir: impl AsRef<Path>, cfg: HostConfig) -> Result<Cluster> {
        let dir = dir.as_ref();
        let manifest = Manifest::read(dir)?;
        Cluster::start(dir, manifest, cfg)
    }

    /// Opens an existing data dir, first checking that it holds what the
    /// caller expects; on a mismatch nothing is started or changed.
    pub fn open_expecting(
        dir: impl AsRef<Path>,
        expected: &Expected,
        cfg: HostConfig,
    ) -> Result<Cluster> {
        let dir = dir.as_ref();
        let manifest = Manifest::read(dir)?;
        let d = manifest.differences(expected);
        if !d.is_empty() {
            return Err(Error::mismatch(&dir.join(MANIFEST_FILE), d));
        }
        Cluster::start(dir, manifest, cfg)
    }

    /// Opens `dir` if it holds a cluster (which must match `shards` and
    /// `settings` exactly), otherwise creates it.
    pub fn open_or_create(
        dir: impl AsRef<Path>,
        shards: u32,
        settings: Settings,
        cfg: HostConfig,
    ) -> Result<Cluster> {
        let dir = dir.as_ref();
        if dir.join(MANIFEST_FILE).exists() {
            Cluster::open_expecting(dir, &Expected::exactly(shards, &settings), cfg)
        } else {
            Cluster::create(dir, shards, settings, cfg)
        }
    }

    /// Opens only shard `i` of the data dir at `dir` (for `vecshard
    /// shard-serve`). The shard stops when the last clone of the handle is
    /// dropped, or on [`ShardHandle::shutdown`].
    pub fn open_shard(dir: impl AsRef<Path>, i: u32, cfg: HostConfig) -> Result<ShardHandle> {
        let dir = dir.as_ref();
        let manifest = Manifest::read(dir)?;
        if i >= manifest.shards {
            return Err(Error::invalid_argument(format!(
                "shard {i} does not exist: {} holds shards 0..{}",
                dir.display(),
                manifest.shards
            )));
        }
        crate::failpoint::init_from_env().map_err(Error::invalid_argument)?;
        let rt = runtime(&cfg)?;
        worker::start(spec(dir, &manifest, i, &cfg, &rt)?)
    }

    fn start(dir: &Path, manifest: Manifest, cfg: HostConfig) -> Result<Cluster> {
        crate::failpoint::init_from_env().map_err(Error::invalid_argument)?;
        let rt = runtime(&cfg)?;
        let specs = (0..manifest.shards)
            .map(|i| spec(dir, &manifest, i, &cfg, &rt))
            .collect::<Result<Vec<_>>>()?;
        // Load the shards in parallel: each worker loads its own data.
        let started: Vec<Result<ShardHandle>> = std::thread::scope(|s| {
            let joins: Vec<_> =
                specs.into_iter().map(|sp| s.spawn(move || worker::start(sp))).collect();
            joins
                .into_iter()
                .map(|j| j.join().unwrap_or_else(|_| Err(Error::wasm("a shard loader panicked"))))
                .collect()
        });
        let mut shards = Vec::with_capacity(started.len());
        let mut first_err = None;
        for r in started {
            match r {
                Ok(h) => shards.push(h),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            // Stop the shards that did load without a checkpoint: a failed
            // open changes nothing on disk.
            for h in &shards {
                h.abort();
            }
            return Err(e);
        }
        Ok(Cluster { dir: dir.to_path_buf(), manifest, shards })
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The contents of `cluster.json`.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Handles to every shard, shard `i` at index `i`.
    pub fn shards(&self) -> Vec<ShardHandle> {
        self.shards.clone()
    }

    /// Shard `i`.
    pub fn shard(&self, i: u32) -> Option<&ShardHandle> {
        self.shards.get(i as usize)
    }

    /// A coordinator over these shards.
    pub fn coordinator(&self) -> Coordinator {
        Coordinator::new(self.manifest.settings.clone(), self.shards())
            .expect("a cluster has at least one shard")
    }

    /// Every shard's counters.
    pub fn stats(&self) -> Vec<ShardStats> {
        self.shards.iter().map(ShardHandle::stats).collect()
    }

    /// Checkpoints every shard that has writes not yet in its snapshot (in
    /// parallel), blocking until done; the first error, if any. Concurrent
    /// calls share the work (see [`ShardHandle::checkpoint_async`]).
    pub fn checkpoint_all(&self) -> Result<()> {
        ShardHandle::checkpoint_many(&self.shards)
    }

    /// [`Cluster::checkpoint_all`] as a future, for servers: wrap it in a
    /// deadline; dropping it withdraws the request, and a checkpoint nobody
    /// waits for any more is skipped, so abandoned requests leave at most
    /// one running and one queued checkpoint per shard.
    pub fn checkpoint_all_async(&self) -> futures::future::BoxFuture<'static, Result<()>> {
        ShardHandle::checkpoint_many_async(&self.shards)
    }

    /// Checkpoints what is pending and stops every shard; the first error,
    /// if any. Dropping the cluster does the same, logging errors.
    pub fn shutdown(self) -> Result<()> {
        self.stop()
    }

    /// Stops every shard **without** a checkpoint, leaving the files as a
    /// crash after the last acknowledged write would (short of losing what
    /// was still in the OS page cache). For recovery tests.
    pub fn abort(self) {
        for h in &self.shards {
            h.abort();
        }
    }

    fn stop(&self) -> Result<()> {
        let mut first = Ok(());
        // Ask all first, so the final checkpoints run in parallel.
        let stops: Vec<_> = std::thread::scope(|s| {
            let js: Vec<_> = self.shards.iter().map(|h| s.spawn(move || h.shutdown())).collect();
            js.into_iter().map(|j| j.join().unwrap_or(Ok(()))).collect()
        });
        for r in stops {
            if let (Err(e), Ok(())) = (r, &first) {
                first = Err(e);
            }
        }
        first
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            log::error!("shutting down {}: {e}", self.dir.display());
        }
    }
}
