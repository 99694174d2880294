//! [`HostConfig`]: how shards run and how hard the data dir tries to keep
//! writes.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// What runs a shard's code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The guest module in wasmtime: memory limit, deadline, trap isolation.
    #[default]
    Wasm,
    /// The same [`vecshard_shard::Shard`] compiled into this binary and
    /// called directly. No memory limit and no deadline (native code cannot
    /// be interrupted safely); a panic counts as a trap. For tests, and to
    /// measure what wasm costs.
    Native,
}

impl Backend {
    /// `"wasm"` or `"native"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Wasm => "wasm",
            Backend::Native => "native",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Backend, String> {
        match s {
            "wasm" => Ok(Backend::Wasm),
            "native" => Ok(Backend::Native),
            _ => Err(format!("unknown backend {s:?}; use wasm or native")),
        }
    }
}

/// When the write-ahead log is flushed to stable storage, as Redis'
/// `appendfsync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `fdatasync` after every logged write, before it is acknowledged: an
    /// acknowledged write survives `kill -9` and power loss.
    Always,
    /// `fdatasync` at most once a second, in the background (the default):
    /// an acknowledged write survives `kill -9` (it is in the OS page
    /// cache); a power loss can lose about the last second.
    #[default]
    EverySec,
    /// Never call `fdatasync`; the OS writes back when it likes. Survives
    /// `kill -9`, not power loss.
    No,
}

impl FsyncPolicy {
    /// `"always"`, `"everysec"` or `"no"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FsyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<FsyncPolicy, String> {
        match s {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" => Ok(FsyncPolicy::EverySec),
            "no" => Ok(FsyncPolicy::No),
            _ => Err(format!("unknown fsync policy {s:?}; use always, everysec or no")),
        }
    }
}

/// How shards run. `HostConfig::default()` is what `vecshard serve` uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// Wasm (default) or native.
    pub backend: Backend,
    /// WAL fsync policy (default [`FsyncPolicy::EverySec`]).
    pub fsync: FsyncPolicy,
    /// Largest linear memory of one wasm shard, in bytes (default 1 GiB).
    /// A request that needs more traps, fails, and the shard restarts.
    pub memory_limit: u64,
    /// Longest a wasm shard may run one request (default 30 s); `None`
    /// means no deadline. Enforced with epoch interruption, so the
    /// resolution is [`HostConfig::epoch_tick`].
    pub request_timeout: Option<Duration>,
    /// Interval of the engine's epoch ticker (default 10 ms).
    pub epoch_tick: Duration,
    /// Checkpoint when a shard's WAL grows past this many bytes (default 64 MiB).
    pub wal_max_bytes: u64,
    /// Checkpoint when a shard's oldest un-checkpointed write is this old
    /// (default 5 minutes).
    pub wal_max_age: Duration,
    /// Where the compiled guest module is cached. `None`: `$XDG_CACHE_HOME/
    /// vecshard` or `~/.cache/vecshard`; if neither is known, no cache.
    pub cache_dir: Option<PathBuf>,
    /// Bulk load (`vecshard build`): writes are not logged, a checkpoint at
    /// the end (explicit or on shutdown) makes them durable. A shard that
    /// traps in this mode has lost its unsaved writes, so it refuses every
    /// later request instead of silently restarting empty.
    pub bulk_load: bool,
}

impl Default for HostConfig {
    fn default() -> HostConfig {
        HostConfig {
            backend: Backend::Wasm,
            fsync: FsyncPolicy::EverySec,
            memory_limit: 1 << 30,
            request_timeout: Some(Duration::from_secs(30)),
            epoch_tick: Duration::from_millis(10),
            wal_max_bytes: 64 << 20,
            wal_max_age: Duration::from_secs(300),
            cache_dir: None,
            bulk_load: false,
        }
    }
}

impl HostConfig {
    /// The module cache directory this config resolves to, if any.
    pub fn resolved_cache_dir(&self) -> Option<PathBuf> {
        if let Some(d) = &self.cache_dir {
            return Some(d.clone());
        }
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return Some(PathBuf::from(x).join("vecshard"));
        }
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".cache/vecshard"))
    }
}
