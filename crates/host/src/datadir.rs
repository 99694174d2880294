//! The data dir: `cluster.json` and one folder per shard.
//!
//! ```text
//! DIR/cluster.json            the manifest (below); written once, by create
//! DIR/shard-000/snapshot.bin  the last checkpoint: a shard snapshot container
//!                             (vecshard_shard::snapshot); absent = empty shard
//! DIR/shard-000/wal.log       writes since that checkpoint (crate::wal)
//! DIR/shard-000/lock          held (flock) by the process serving the shard
//! DIR/shard-001/...
//! ```
//!
//! `cluster.json` records everything a reader needs to interpret the rest:
//! the shard count and routing hash (so any client can route), the index
//! settings, and every format version involved. It is written to a temp
//! file and renamed, after the shard folders exist, so a directory with a
//! `cluster.json` is always complete.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vecshard_shard::{Settings, WireMetric, WireQuantization, PROTOCOL_VERSION};

use crate::error::{Error, Result};
use crate::{failpoint, wal};

/// Version of the `cluster.json` layout and of the data dir layout.
pub const CLUSTER_VERSION: u32 = 1;
/// File name of the manifest.
pub const MANIFEST_FILE: &str = "cluster.json";
/// File name of a shard's snapshot.
pub const SNAPSHOT_FILE: &str = "snapshot.bin";
/// File name of a shard's write-ahead log.
pub const WAL_FILE: &str = "wal.log";
/// File name of a shard's lock file.
pub const LOCK_FILE: &str = "lock";

/// Format versions recorded in `cluster.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatVersions {
    /// Data dir layout and manifest ([`CLUSTER_VERSION`]).
    pub cluster: u32,
    /// Shard snapshot container (`vecshard_shard::snapshot::VERSION`).
    pub snapshot: u32,
    /// Core index snapshot inside it (`vecshard_core::FORMAT_VERSION`).
    pub core_snapshot: u32,
    /// Write-ahead log ([`wal::VERSION`]).
    pub wal: u32,
    /// Request encoding in the log (`vecshard_shard::PROTOCOL_VERSION`).
    pub protocol: u8,
}

impl FormatVersions {
    /// The versions this build writes.
    pub fn current() -> FormatVersions {
        FormatVersions {
            cluster: CLUSTER_VERSION,
            snapshot: vecshard_shard::snapshot::VERSION,
            core_snapshot: vecshard_core::FORMAT_VERSION,
            wal: wal::VERSION,
            protocol: PROTOCOL_VERSION,
        }
    }
}

/// The contents of `cluster.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format versions of everything in the dir.
    pub format: FormatVersions,
    /// Number of shards N.
    pub shards: u32,
    /// The routing function ([`vecshard_coordinator::HASH_NAME`]).
    pub hash: String,
    /// Index settings; shard `i` uses `seed + i`.
    pub settings: Settings,
}

impl Manifest {
    /// A manifest for a new cluster.
    pub fn new(shards: u32, settings: Settings) -> Manifest {
        Manifest {
            format: FormatVersions::current(),
            shards,
            hash: vecshard_coordinator::HASH_NAME.to_string(),
            settings,
        }
    }

    /// The settings of shard `i` (the cluster seed plus `i`, as
    /// `vecshard_coordinator::InProcessShard::cluster` does).
    pub fn shard_settings(&self, i: u32) -> Settings {
        let mut s = self.settings.clone();
        s.seed = s.seed.wrapping_add(u64::from(i));
        s
    }

    /// Reads and checks `DIR/cluster.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::not_a_data_dir(dir))
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::manifest(&path, format!("not a valid cluster manifest: {e}")))?;
        m.check(&path)?;
        Ok(m)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let cur = FormatVersions::current();
        let newer = |what: &str, have: u64, ours: u64| {
            Error::manifest(
                path,
                format!(
                    "written with {what} format version {have}, but this build reads up to \
                     {ours}; use a newer vecshard"
                ),
            )
        };
        let f = &self.format;
        for (what, have, ours) in [
            ("data dir", u64::from(f.cluster), u64::from(cur.cluster)),
            ("shard snapshot", u64::from(f.snapshot), u64::from(cur.snapshot)),
            ("core snapshot", u64::from(f.core_snapshot), u64::from(cur.core_snapshot)),
            ("write-ahead log", u64::from(f.wal), u64::from(cur.wal)),
            ("protocol", u64::from(f.protocol), u64::from(cur.protocol)),
        ] {
            if have > ours {
                return Err(newer(what, have, ours));
            }
        }
        if self.hash != vecshard_coordinator::HASH_NAME {
            return Err(Error::manifest(
                path,
                format!(
                    "routes keys with {:?}, but this build routes with {:?}; the data cannot be \
                     served by this version",
                    self.hash,
                    vecshard_coordinator::HASH_NAME
                ),
            ));
        }
        if self.shards == 0 {
            return Err(Error::manifest(path, "says the cluster has 0 shards"));
        }
        if let Err(e) = vecshard_shard::Shard::with_settings(&self.settings) {
            return Err(Error::manifest(path, format!("holds invalid settings: {e}")));
        }
        Ok(())
    }

    /// Writes `DIR/cluster.json` atomically (temp file, fsync, rename,
    /// directory fsync).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join("cluster.json.tmp");
        let mut text = serde_json::to_string_pretty(self).expect("manifest serializes");
        text.push('\n');
        write_durably(&tmp, &path, text.as_bytes())
    }

    /// The differences between this manifest and what a caller expects, one
    /// line each; empty when they agree.
    pub fn differences(&self, expected: &Expected) -> Vec<String> {
        let mut d = Vec::new();
        let s = &self.settings;
        let mut cmp = |name: &str, have: String, want: Option<String>| {
            if let Some(w) = want {
                if w != have {
                    d.push(format!("{name}: on disk {have}, asked {w}"));
                }
            }
        };
        cmp("shards", self.shards.to_string(), expected.shards.map(|v| v.to_string()));
        cmp("dim", s.dim.to_string(), expected.dim.map(|v| v.to_string()));
        cmp("metric", format!("{:?}", s.metric), expected.metric.map(|v| format!("{v:?}")));
        cmp("m", s.m.to_string(), expected.m.map(|v| v.to_string()));
        cmp(
            "ef_construction",
            s.ef_construction.to_string(),
            expected.ef_construction.map(|v| v.to_string()),
        );
        cmp("ef_search", s.ef_search.to_string(), expected.ef_search.map(|v| v.to_string()));
        cmp(
            "quantization",
            format!("{:?}", s.quantization),
            expected.quantization.map(|v| format!("{v:?}")),
        );
        cmp("seed", s.seed.to_string(), expected.seed.map(|v| v.to_string()));
        d
    }
}

/// What a caller expects an existing data dir to hold; `None` fields are
/// not checked. Built from command-line flags: only the flags the user
/// passed are compared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// Number of shards.
    pub shards: Option<u32>,
    /// Vector dimension.
    pub dim: Option<u32>,
    /// Distance function.
    pub metric: Option<WireMetric>,
    /// HNSW `m`.
    pub m: Option<u32>,
    /// HNSW `ef_construction`.
    pub ef_construction: Option<u32>,
    /// Default search `ef`.
    pub ef_search: Option<u32>,
    /// Vector storage.
    pub quantization: Option<WireQuantization>,
    /// Level generator seed (of the cluster, before `+ i`).
    pub seed: Option<u64>,
}

impl Expected {
    /// Expects exactly these shards and settings.
    pub fn exactly(shards: u32, s: &Settings) -> Expected {
        Expected {
            shards: Some(shards),
            dim: Some(s.dim),
            metric: Some(s.metric),
            m: Some(s.m),
            ef_construction: Some(s.ef_construction),
            ef_search: Some(s.ef_search),
            quantization: Some(s.quantization),
            seed: Some(s.seed),
        }
    }
}

/// The folder of shard `i`: `shard-000`, `shard-001`, ...
pub fn shard_dir(dir: &Path, i: u32) -> PathBuf {
    dir.join(format!("shard-{i:03}"))
}

/// Writes `bytes` to `tmp`, fsyncs, renames it to `dest`, fsyncs the dir
/// (failpoints `manifest.*`). On failure the temp file is removed.
pub fn write_durably(tmp: &Path, dest: &Path, bytes: &[u8]) -> Result<()> {
    write_durably_named(&MANIFEST_OPS, tmp, dest, bytes).map_err(|e| e.error)
}

/// The failpoint names of one kind of durably written file.
pub(crate) struct FileOps {
    pub create: &'static str,
    pub write: &'static str,
    pub fsync: &'static str,
    pub rename: &'static str,
    pub dirsync: &'static str,
}

pub(crate) const MANIFEST_OPS: FileOps = FileOps {
    create: "manifest.create",
    write: "manifest.write",
    fsync: "manifest.fsync",
    rename: "manifest.rename",
    dirsync: "manifest.dirsync",
};

pub(crate) const SNAPSHOT_OPS: FileOps = FileOps {
    create: "snapshot.create",
    write: "snapshot.write",
    fsync: "snapshot.fsync",
    rename: "snapshot.rename",
    dirsync: "snapshot.dirsync",
};

/// Why [`write_durably_named`] failed, and whether `dest` had already been
/// replaced (the rename is the point of no return).
#[derive(Debug)]
pub(crate) struct DurableError {
    pub error: Error,
    pub renamed: bool,
}

pub(crate) fn write_durably_named(
    ops: &FileOps,
    tmp: &Path,
    dest: &Path,
    bytes: &[u8],
) -> Result<(), DurableError> {
    let before = |error: Error| {
        wal::remove_tmp(tmp);
        DurableError { error, renamed: false }
    };
    {
        let mut f = failpoint::check(ops.create)
            .and_then(|()| File::create(tmp))
            .map_err(|e| before(Error::io("create", tmp, e)))?;
        failpoint::write_all(ops.write, &mut f, bytes)
            .map_err(|e| before(Error::io("write", tmp, e)))?;
        failpoint::check(ops.fsync)
            .and_then(|()| f.sync_all())
            .map_err(|e| before(Error::io("fsync", tmp, e)))?;
    }
    failpoint::check(ops.rename)
        .and_then(|()| std::fs::rename(tmp, dest))
        .map_err(|e| before(Error::io("rename", tmp, e)))?;
    wal::sync_dir_named(ops.dirsync, dest).map_err(|error| DurableError { error, renamed: true })
}

/// Why [`write_durably_from`] failed: the file operations, or the source.
pub(crate) enum FillFail<E> {
    Durable(DurableError),
    Source(E),
}

/// The file behind failpoint `ops.write`, which fires on the first write
/// only (as it does for the one `write_all` of [`write_durably_named`]:
/// `partial` writes half of the first chunk, then fails).
struct FailpointFile<'a> {
    name: &'static str,
    first: bool,
    f: &'a mut File,
}

impl Write for FailpointFile<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::mem::take(&mut self.first) {
            failpoint::write_all(self.name, self.f, buf)?;
            return Ok(buf.len());
        }
        self.f.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.f.flush()
    }
}

/// [`write_durably_named`] for a file written in pieces: `fill` writes it
/// (a snapshot streamed out of a shard), then fsync, rename, dir fsync. If
/// `fill` fails the temp file is removed and its error returned.
pub(crate) fn write_durably_from<E>(
    ops: &FileOps,
    tmp: &Path,
    dest: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::result::Result<(), E>,
) -> std::result::Result<(), FillFail<E>> {
    let before = |error: Error| {
        wal::remove_tmp(tmp);
        FillFail::Durable(DurableError { error, renamed: false })
    };
    {
        let mut f = failpoint::check(ops.create)
            .and_then(|()| File::create(tmp))
            .map_err(|e| before(Error::io("create", tmp, e)))?;
        let mut w = FailpointFile { name: ops.write, first: true, f: &mut f };
        if let Err(e) = fill(&mut w) {
            wal::remove_tmp(tmp);
            return Err(FillFail::Source(e));
        }
        failpoint::check(ops.fsync)
            .and_then(|()| f.sync_all())
            .map_err(|e| before(Error::io("fsync", tmp, e)))?;
    }
    failpoint::check(ops.rename)
        .and_then(|()| std::fs::rename(tmp, dest))
        .map_err(|e| before(Error::io("rename", tmp, e)))?;
    wal::sync_dir_named(ops.dirsync, dest)
        .map_err(|error| FillFail::Durable(DurableError { error, renamed: true }))
}

/// Takes the exclusive lock of a shard folder, held until the file closes.
pub fn lock_shard(shard_dir: &Path) -> Result<File> {
    let path = shard_dir.join(LOCK_FILE);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::locked(&path)),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

/// Whether `dir` is missing or an empty directory.
pub fn is_missing_or_empty(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::io("read", dir, e)),
    }
}
