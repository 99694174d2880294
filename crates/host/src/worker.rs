//! One shard = one worker thread that owns the shard's engine (a wasm
//! Store, or a native `Shard`), its write-ahead log and its folder, and
//! serves requests from a channel. [`ShardHandle`] is the sending side.
//!
//! # The life of a write
//!
//! 1. The request arrives over the channel with a oneshot for the reply.
//! 2. The worker encodes it and hands the bytes to the engine. **Apply
//!    first**: if the shard rejects it (bad input) or traps, nothing is
//!    logged, because nothing changed (or the change is thrown away with
//!    the trapped instance).
//! 3. Only a write the shard accepted is appended to the WAL (one `write`
//!    call), and with `fsync = always` synced, **before** the reply is
//!    sent: an acknowledged write is always in the log.
//! 4. If the append fails (disk full), the in-memory shard now holds a
//!    write the log does not; the log is cut back to where it was, the
//!    request fails and the shard restarts from its folder, so memory and
//!    disk agree again.
//!
//! # When a file operation fails
//!
//! The rule (DESIGN.md): a write reported as failed is never visible after
//! a restart; a write acknowledged is never lost, whatever file operation
//! fails; a shard that cannot keep both promises stops serving writes and
//! says why.
//!
//! - **fsync of the log fails: fail-stop for writes.** After a failed
//!   `fdatasync` the OS may have dropped the pages it could not write and
//!   marked them clean (PostgreSQL's "fsyncgate"), so neither the file nor
//!   a retry can be trusted. With `always`, the record that failed is cut
//!   off again (and the cut fsynced) so the write, answered "not applied",
//!   never replays; then the shard restarts from its folder to drop it
//!   from memory. With `everysec`, the background fsync failing means
//!   acknowledged writes may not be on stable storage. Either way the
//!   shard **stops accepting writes** (and checkpoints) until the process
//!   is restarted; reads go on; [`ShardStats::writes_stopped`] and the
//!   error of every refused write say why. If the cut itself fails, the
//!   write's outcome is unknown and the error says so.
//! - **A checkpoint fails before its snapshot is renamed into place:**
//!   nothing changed; the temp file is removed and the old snapshot and
//!   log go on.
//! - **A checkpoint fails after the rename** (directory fsync, or creating
//!   the new log): the snapshot on disk holds every write, the old log is
//!   stale (recovery discards it), and there is no log to append to. The
//!   shard keeps serving reads from memory and **creates the log before
//!   its next write**; a write that cannot get a log fails without being
//!   applied.
//! - **Automatic checkpoints back off** exponentially (1 s, 2 s, ... 5 min)
//!   after a failure, instead of retrying (and possibly trapping and
//!   reloading the shard) every second.
//! - Leftover `*.tmp` files are removed after a failure and at startup.
//!
//! # Checkpoint requests are coalesced
//!
//! At most one checkpoint per shard runs, and at most one more waits
//! behind it: a caller who finds one waiting (not started) joins it, since
//! it will include everything the caller wrote; a caller who finds one
//! running queues the next. A shard with nothing pending answers at once.
//! A checkpoint whose callers have all gone away (an HTTP timeout dropped
//! the future) is skipped, so abandoned requests do not pile up work.
//!
//! # Traps
//!
//! A trap (out of memory, deadline, bug) fails that one request with
//! `Trapped` or `Timeout`, bumps the restart counter, and the worker
//! rebuilds the shard from its folder (snapshot + WAL replay) before it
//! takes the next request. Other shards have their own threads and Stores
//! and never notice. If the rebuild itself fails, the shard answers
//! `Unavailable` (with the reason) and retries the rebuild on each request.
//!
//! # Background duties, between requests
//!
//! The worker waits on the channel with a timeout of at most a second, and
//! after every wake-up: picks up a failure of the `everysec` fsync thread,
//! refreshes the memory statistic, and checkpoints when the WAL is over its
//! size or age limit (and no failure asked it to back off).
//!
//! Under `everysec` the `fdatasync` itself runs on a thread of its own
//! ([`wal::Syncer`], on a duplicate of the log's descriptor), so a request
//! never waits behind it on the worker; only if that thread cannot start
//! does the worker sync between requests.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::future::{self, BoxFuture, FutureExt};
use vecshard_coordinator::{ShardTransport, TransportError, TransportErrorKind};
use vecshard_shard::{
    decode_response, encode_request, ErrorCode, Request, Response, Settings, WireError,
};

use crate::config::{Backend, FsyncPolicy, HostConfig};
use crate::datadir::{self, SNAPSHOT_FILE, WAL_FILE};
use crate::engine::{NativeShard, ShardEngine, StreamFail, Trap, WasmRuntime};
use crate::error::{Error, Result};
use crate::wal::{self, Wal};

/// What a worker is told to do.
enum Msg {
    Call {
        req: Request,
        reply: Reply<Result<Response, TransportError>>,
    },
    /// Checkpoint generation `gen` (see [`CkptQueue`]); the callers wait
    /// in the queue, not in the message.
    Checkpoint {
        gen: u64,
    },
    /// Stop; with `checkpoint`, after a final checkpoint of pending writes
    /// (without, the files are left exactly as they are).
    Shutdown {
        reply: Reply<Result<()>>,
        checkpoint: bool,
    },
}

/// Where a reply goes: a future (for async callers) or a plain channel
/// (for blocking callers, which must not nest a futures executor inside
/// whatever executor they may be running on).
enum Reply<T> {
    Future(oneshot::Sender<T>),
    Blocking(mpsc::SyncSender<T>),
}

impl<T> Reply<T> {
    fn send(self, v: T) {
        // The caller may have gone away; then nobody wants the answer.
        match self {
            Reply::Future(s) => {
                let _ = s.send(v);
            }
            Reply::Blocking(s) => {
                let _ = s.send(v);
            }
        }
    }

    fn is_canceled(&self) -> bool {
        match self {
            Reply::Future(s) => s.is_canceled(),
            Reply::Blocking(_) => false,
        }
    }
}

/// Counters the worker publishes and handles read without a round trip.
#[derive(Debug, Default)]
struct Shared {
    len: AtomicU64,
    memory: AtomicU64,
    restarts: AtomicU64,
    wal_bytes: AtomicU64,
    checkpoints: AtomicU64,
    requests: AtomicU64,
    down: Mutex<Option<String>>,
    writes_stopped: Mutex<Option<String>>,
    ckpt: Mutex<CkptQueue>,
}

/// Coalesced checkpoint requests of one shard. Generation `sent` is the
/// newest checkpoint message sent to the worker, `started` the newest it
/// began. When `sent > started`, a checkpoint is queued and not begun:
/// joining it is enough (it will include every write acknowledged before).
#[derive(Default)]
struct CkptQueue {
    sent: u64,
    started: u64,
    waiters: Vec<(u64, Reply<Result<()>>)>,
    /// The worker has stopped: nobody will answer.
    closed: bool,
}

impl std::fmt::Debug for CkptQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CkptQueue")
            .field("sent", &self.sent)
            .field("started", &self.started)
            .field("waiters", &self.waiters.len())
            .finish()
    }
}

/// A snapshot of one shard's counters (for `/metrics` and `vecshard info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardStats {
    /// Shard id.
    pub shard: u32,
    /// Wasm or native.
    pub backend: Backend,
    /// Live elements.
    pub len: u64,
    /// Memory the shard holds: the wasm linear memory in bytes, or for the
    /// native backend the index and attribute bytes. Refreshed at most once
    /// a second.
    pub memory_bytes: u64,
    /// Times the shard was restarted after a trap or timeout.
    pub restarts: u64,
    /// Size of the write-ahead log, header included.
    pub wal_bytes: u64,
    /// Checkpoints written since the shard was opened.
    pub checkpoints: u64,
    /// Requests handled (answered or failed) since the shard was opened.
    pub requests: u64,
    /// Why the shard is not serving, if it is not.
    pub down: Option<String>,
    /// Why the shard stopped accepting writes (an fsync of its log
    /// failed), if it did; it still serves reads. Cleared by a restart of
    /// the process.
    pub writes_stopped: Option<String>,
}

/// What a worker needs to know to (re)build its shard.
#[derive(Clone)]
pub(crate) struct ShardSpec {
    pub id: u32,
    pub dir: PathBuf,
    /// This shard's settings (the cluster seed plus `id`).
    pub settings: Settings,
    pub cfg: HostConfig,
    pub runtime: Option<Arc<WasmRuntime>>,
}

impl ShardSpec {
    fn new_engine(&self) -> Result<Box<dyn ShardEngine>> {
        match &self.runtime {
            None => Ok(Box::new(NativeShard::new())),
            // No deadline while loading; `recover` sets it at the end.
            Some(rt) => Ok(Box::new(rt.instantiate(self.cfg.memory_limit, None)?)),
        }
    }

    fn snapshot_path(&self) -> PathBuf {
        self.dir.join(SNAPSHOT_FILE)
    }

    fn wal_path(&self) -> PathBuf {
        self.dir.join(WAL_FILE)
    }
}

/// One request through an engine, decoded.
fn call(engine: &mut dyn ShardEngine, req: &Request) -> Result<Response, Trap> {
    let bytes = engine.call(&encode_request(req))?;
    decode_response(&bytes).map_err(|e| Trap {
        kind: crate::engine::TrapKind::Trapped,
        message: format!("the shard answered bytes that do not decode: {e}"),
    })
}

/// The checksum a WAL header names as its base: the last 8 bytes of the
/// snapshot container (its xxh3 checksum), read from the file of `len`
/// bytes without moving its cursor (0 for a file under 8 bytes, which
/// cannot load anyway).
fn snapshot_id(file: &File, len: u64) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let Some(at) = len.checked_sub(8) else { return Ok(0) };
    let mut sum = [0u8; 8];
    file.read_exact_at(&mut sum, at)?;
    Ok(u64::from_le_bytes(sum))
}

/// Passes bytes through and keeps the last 8 (the checksum of a snapshot
/// being written, which the new WAL names as its base).
struct Tail<'a> {
    w: &'a mut dyn Write,
    last: [u8; 8],
}

impl Write for Tail<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.w.write(buf)?;
        let wrote = &buf[..n];
        if wrote.len() >= 8 {
            self.last.copy_from_slice(&wrote[wrote.len() - 8..]);
        } else {
            self.last.rotate_left(wrote.len());
            self.last[8 - wrote.len()..].copy_from_slice(wrote);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// A shard rebuilt from its folder.
struct Recovered {
    engine: Box<dyn ShardEngine>,
    wal: Option<Wal>,
    len: u64,
    /// Records in the WAL (writes not yet in the snapshot).
    pending: u64,
    /// The snapshot checksum the log follows (0: no snapshot).
    base: u64,
}

/// Builds the shard from its folder: snapshot (or an empty index), then
/// the WAL replayed in order. See the `wal` module for torn tails and
/// stale logs.
fn recover(spec: &ShardSpec) -> Result<Recovered> {
    let id = spec.id;
    let mut engine = spec.new_engine()?;
    let trapped = |what: &str, t: Trap| {
        Error::shard(
            id,
            format!(
                "cannot load its data: the shard trapped while {what} ({}). If it ran out of \
                 memory, raise the memory limit (it is {} MiB)",
                t.message,
                spec.cfg.memory_limit >> 20
            ),
        )
    };

    // 0. Temp files a failed or interrupted checkpoint left: nothing reads
    //    them, and a full disk should not stay full because of them.
    wal::remove_tmp(&spec.dir.join(SNAPSHOT_TMP));
    wal::remove_tmp(&spec.dir.join(WAL_TMP));

    // 1. The snapshot, or an empty index. The file is streamed into the
    //    shard in chunks (never read whole), so the load peaks at the index
    //    plus one chunk; its last 8 bytes, the container checksum, name it
    //    for the WAL.
    let snap_path = spec.snapshot_path();
    let base = match File::open(&snap_path) {
        Ok(mut file) => {
            let io = |e| Error::io("read", &snap_path, e);
            let len = file.metadata().map_err(io)?.len();
            let id_ = snapshot_id(&file, len).map_err(io)?;
            match engine.restore_from(&mut file, Some(len)) {
                Err(StreamFail::Trap(t)) => return Err(trapped("loading snapshot.bin", t)),
                Err(StreamFail::Io(e)) => return Err(io(e)),
                Ok(Response::Restored { .. }) => {}
                Ok(Response::Error(e)) => {
                    return Err(Error::corrupt_snapshot(&snap_path, e.message))
                }
                Ok(other) => return Err(unexpected(id, &other)),
            }
            check_settings(&mut *engine, spec).map_err(|e| match e {
                Ok(t) => trapped("reading its settings", t),
                Err(reason) => Error::corrupt_snapshot(&snap_path, reason),
            })?;
            id_
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match call(&mut *engine, &Request::Create { settings: spec.settings.clone() })
                .map_err(|t| trapped("creating an empty index", t))?
            {
                Response::Created => {}
                Response::Error(e) => {
                    return Err(Error::shard(id, format!("cannot create its index: {e}")))
                }
                other => return Err(unexpected(id, &other)),
            }
            0
        }
        Err(e) => return Err(Error::io("read", &snap_path, e)),
    };

    // 2. The WAL.
    let wal_path = spec.wal_path();
    let mut pending = 0;
    let wal = if spec.cfg.bulk_load {
        // Bulk load writes no log; an existing one must not be silently
        // overwritten by the checkpoint at the end, so replay it anyway.
        replay(spec, &mut *engine, &wal_path, base, &mut pending, &trapped)?;
        None
    } else {
        Some(replay(spec, &mut *engine, &wal_path, base, &mut pending, &trapped)?)
    };

    let len = match call(&mut *engine, &Request::Info).map_err(|t| trapped("reporting", t))? {
        Response::Info { info } => info.len,
        other => return Err(unexpected(id, &other)),
    };
    engine.set_timeout(spec.cfg.request_timeout);
    Ok(Recovered { engine, wal, len, pending, base })
}

/// Refuses a snapshot that holds another index than cluster.json says:
/// `Err(Ok(trap))` if the shard trapped, `Err(Err(reason))` if it differs.
fn check_settings(
    engine: &mut dyn ShardEngine,
    spec: &ShardSpec,
) -> Result<(), std::result::Result<Trap, String>> {
    let info = match call(engine, &Request::Info).map_err(Ok)? {
        Response::Info { info } => info,
        other => return Err(Err(unexpected(spec.id, &other).to_string())),
    };
    let Some(have) = info.settings else { return Err(Err("it holds no index".into())) };
    let want = &spec.settings;
    if (have.dim, have.metric, have.quantization) != (want.dim, want.metric, want.quantization) {
        return Err(Err(format!(
            "it holds another kind of index (dim {}, {:?}, {:?}) than cluster.json describes \
             (dim {}, {:?}, {:?})",
            have.dim, have.metric, have.quantization, want.dim, want.metric, want.quantization
        )));
    }
    Ok(())
}

fn unexpected(id: u32, got: &Response) -> Error {
    let mut s = format!("{got:?}");
    s.truncate(120);
    Error::shard(id, format!("answered with an unexpected response: {s}"))
}

/// Replays the log at `path` into `engine` (creating the log if missing)
/// and returns it opened for appending.
fn replay(
    spec: &ShardSpec,
    engine: &mut dyn ShardEngine,
    path: &Path,
    base: u64,
    pending: &mut u64,
    trapped: &dyn Fn(&str, Trap) -> Error,
) -> Result<Wal> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return wal::create(path, base),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let scanned = wal::scan(path, &bytes)?;
    match scanned.base {
        None => {
            if let Some(t) = &scanned.torn {
                log::warn!("{}: dropping {t} (a log creation was interrupted)", path.display());
            }
            return wal::create(path, base);
        }
        Some(b) if b != 0 && base == 0 => {
            // The log follows a snapshot, and there is none: the snapshot
            // was lost (deleted, or a backup restored without it).
            // Replaying the log on an empty index, or discarding it, would
            // both silently lose writes.
            return Err(Error::missing_snapshot(&spec.snapshot_path(), path));
        }
        Some(b) if b != base => {
            // A checkpoint renamed its snapshot into place and was cut off
            // before it replaced the log: these records are in the snapshot.
            if !scanned.records.is_empty() {
                log::warn!(
                    "{}: the log follows an older snapshot (an interrupted checkpoint); its {} \
                     records are already in {SNAPSHOT_FILE}, discarding them",
                    path.display(),
                    scanned.records.len()
                );
            }
            return wal::create(path, base);
        }
        Some(_) => {}
    }
    for (n, r) in scanned.records.iter().enumerate() {
        let offset = (r.start as u64).saturating_sub(wal::RECORD_HEADER_LEN);
        let resp = engine
            .call(&bytes[r.clone()])
            .map_err(|t| trapped(&format!("replaying {} record {n}", path.display()), t))?;
        match decode_response(&resp) {
            Ok(Response::Error(e)) => {
                return Err(Error::corrupt_wal(
                    path,
                    offset,
                    format!("record {n} does not replay: {e}"),
                ))
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Error::shard(spec.id, format!("answered undecodable bytes: {e}")))
            }
        }
    }
    *pending = scanned.records.len() as u64;
    if let Some(t) = &scanned.torn {
        log::warn!(
            "{}: dropping a torn last record ({t}); it was never acknowledged. Truncating the \
             log to {} bytes",
            path.display(),
            scanned.valid_len
        );
    }
    wal::open_append_v(path, scanned.valid_len, scanned.version)
}

/// Temp file of a snapshot being written.
const SNAPSHOT_TMP: &str = "snapshot.bin.tmp";
/// Temp file of a log being created.
const WAL_TMP: &str = "wal.log.tmp";

/// How a checkpoint failed.
enum CkptFail {
    /// The shard trapped while writing its snapshot.
    Trap(Trap),
    /// Nothing changed on disk (temp file removed).
    Before(Error),
    /// `snapshot.bin` was replaced, with base `base`, but the log was not
    /// (or its directory entry is not known durable): the old log is stale.
    After { error: Error, base: u64 },
}

/// Writes the shard's snapshot and starts a fresh log after it. Returns
/// the new log (none in bulk mode) and the new snapshot's checksum.
fn checkpoint_to_disk(
    spec: &ShardSpec,
    engine: &mut dyn ShardEngine,
) -> Result<(Option<Wal>, u64), CkptFail> {
    // The snapshot streams from the shard straight into the temp file, a
    // chunk at a time: neither the guest nor the host holds it whole.
    let snap = spec.snapshot_path();
    let tmp = spec.dir.join(SNAPSHOT_TMP);
    let mut base = 0;
    engine.set_timeout(None);
    let written = datadir::write_durably_from(&datadir::SNAPSHOT_OPS, &tmp, &snap, |w| {
        let mut t = Tail { w, last: [0; 8] };
        match engine.snapshot_to(&mut t) {
            Ok(Ok(_)) => {
                base = u64::from_le_bytes(t.last);
                Ok(())
            }
            Ok(Err(e)) => Err(CkptFail::Before(Error::shard(
                spec.id,
                format!("cannot write its snapshot: {e}"),
            ))),
            Err(StreamFail::Trap(t)) => Err(CkptFail::Trap(t)),
            Err(StreamFail::Io(e)) => Err(CkptFail::Before(Error::io("write", &tmp, e))),
        }
    });
    engine.set_timeout(spec.cfg.request_timeout);
    written.map_err(|e| match e {
        datadir::FillFail::Source(f) => f,
        datadir::FillFail::Durable(e) if e.renamed => CkptFail::After { error: e.error, base },
        datadir::FillFail::Durable(e) => CkptFail::Before(e.error),
    })?;
    if spec.cfg.bulk_load {
        // Keep no log, but never leave a stale one behind either.
        let after = |error| CkptFail::After { error, base };
        match std::fs::remove_file(spec.wal_path()) {
            Ok(()) => wal::sync_dir_named("wal.dirsync", &snap).map_err(after)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(after(Error::io("remove", spec.wal_path(), e))),
        }
        return Ok((None, base));
    }
    match wal::create_at(&spec.wal_path(), base) {
        Ok(w) => Ok((Some(w), base)),
        Err(e) => Err(CkptFail::After { error: e.error, base }),
    }
}

/// First wait of the automatic checkpoint after a failure; doubled after
/// each further failure, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

struct Worker {
    spec: ShardSpec,
    shared: Arc<Shared>,
    engine: Option<Box<dyn ShardEngine>>,
    wal: Option<Wal>,
    /// Writes not in snapshot.bin (in the WAL, or in bulk mode only in memory).
    pending: u64,
    /// When the oldest pending write was made.
    pending_since: Option<Instant>,
    last_sync: Instant,
    memory_stale: bool,
    /// Bulk load: a trap lost writes that exist nowhere else.
    poisoned: Option<String>,
    /// Checksum of snapshot.bin as this worker last wrote or read it.
    base: u64,
    /// A checkpoint replaced snapshot.bin but not the log: create one
    /// before the next write.
    need_log: bool,
    /// An fsync of the log failed: no more writes (see the module docs).
    writes_stopped: Option<String>,
    /// The automatic checkpoint waits until then (after a failure).
    auto_ckpt_after: Option<Instant>,
    auto_ckpt_backoff: Duration,
    /// The `everysec` fsync thread (none for the other policies).
    syncer: Option<wal::Syncer>,
    _lock: File,
}

impl Worker {
    fn install(&mut self, r: Recovered) {
        self.engine = Some(r.engine);
        self.shared.wal_bytes.store(r.wal.as_ref().map_or(0, Wal::len), Ordering::Relaxed);
        self.wal = r.wal;
        self.shared.len.store(r.len, Ordering::Relaxed);
        self.pending = r.pending;
        self.pending_since = (r.pending > 0).then(Instant::now);
        self.base = r.base;
        self.need_log = false;
        self.follow_log();
        self.memory_stale = true;
        self.refresh_memory();
        *self.shared.down.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Points the `everysec` fsync thread at the current log.
    fn follow_log(&self) {
        if let (Some(s), Some(w)) = (&self.syncer, &self.wal) {
            if let Err(e) = s.follow(w) {
                // Without it nothing would sync the log: stop writes rather.
                log::error!("shard {}: {e}", self.spec.id);
                *self.shared.writes_stopped.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("cannot sync its log: {e}"));
            }
        }
    }

    /// Picks up a failure of the `everysec` fsync thread.
    fn check_syncer(&mut self) {
        if self.writes_stopped.is_none() {
            if let Some(e) = self.syncer.as_ref().and_then(wal::Syncer::error) {
                self.stop_writes(format!("the background {e}"));
            }
        }
        if self.writes_stopped.is_none() {
            let shared = self.shared.writes_stopped.lock().unwrap_or_else(|p| p.into_inner());
            self.writes_stopped.clone_from(&shared);
        }
    }

    /// Fail-stop for writes: from now on every write and checkpoint is
    /// refused with `why` (reads go on).
    fn stop_writes(&mut self, why: String) {
        log::error!("shard {}: stops accepting writes: {why}", self.spec.id);
        *self.shared.writes_stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
        self.writes_stopped.get_or_insert(why);
    }

    /// Makes sure there is a log to append to before a write is applied:
    /// after a checkpoint that failed past its rename, creates it.
    fn ensure_log(&mut self) -> Result<()> {
        if !self.need_log || self.spec.cfg.bulk_load {
            return Ok(());
        }
        let w = wal::create(&self.spec.wal_path(), self.base)?;
        log::info!("shard {}: created its write-ahead log again", self.spec.id);
        self.shared.wal_bytes.store(w.len(), Ordering::Relaxed);
        self.wal = Some(w);
        self.need_log = false;
        self.follow_log();
        Ok(())
    }

    fn set_down(&self, why: Option<String>) {
        *self.shared.down.lock().unwrap_or_else(|p| p.into_inner()) = why;
    }

    /// Throws the engine away and rebuilds the shard from its folder.
    fn restart(&mut self) {
        self.engine = None;
        self.wal = None;
        match recover(&self.spec) {
            Ok(r) => {
                log::info!("shard {} restarted from {}", self.spec.id, self.spec.dir.display());
                self.install(r);
            }
            Err(e) => {
                log::error!("shard {} cannot restart: {e}", self.spec.id);
                self.set_down(Some(format!("cannot restart: {e}")));
            }
        }
    }

    fn on_trap(&mut self, t: &Trap) {
        self.shared.restarts.fetch_add(1, Ordering::Relaxed);
        log::warn!("shard {} failed a request: {}", self.spec.id, t.message);
        self.engine = None;
        if self.spec.cfg.bulk_load && self.pending > 0 {
            let why = format!(
                "it trapped during a bulk load ({}), losing the writes since its last \
                 checkpoint; rerun the build (with smaller batches or a higher memory limit)",
                t.message
            );
            self.set_down(Some(why.clone()));
            self.poisoned = Some(why);
        }
    }

    fn unavailable(&self, why: &str) -> TransportError {
        TransportError::new(
            TransportErrorKind::Unavailable,
            format!("shard {} is unavailable: {why}", self.spec.id),
        )
    }

    /// Handles one request. The bool says "restart before the next one".
    fn handle(&mut self, req: Request) -> (Result<Response, TransportError>, bool) {
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(why) = &self.poisoned {
            return (Err(self.unavailable(why)), false);
        }
        if self.engine.is_none() {
            self.restart();
        }
        if self.engine.is_none() {
            let why = self.shared.down.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return (Err(self.unavailable(why.as_deref().unwrap_or("not started"))), false);
        }
        if req.is_write() {
            self.check_syncer();
            if let Some(why) = &self.writes_stopped {
                let why = format!(
                    "it stopped accepting writes ({why}); the write did not apply. Reads still \
                     work. Check the disk, then restart vecshard"
                );
                return (Err(self.unavailable(&why)), false);
            }
            if let Err(e) = self.ensure_log() {
                let why = format!(
                    "it has no write-ahead log to append to ({e}); the write did not apply. Its \
                     last checkpoint is safe on disk; free disk space or fix the shard folder, \
                     then retry"
                );
                return (Err(self.unavailable(&why)), false);
            }
        }
        let engine = self.engine.as_mut().expect("engine checked above");

        let bytes = encode_request(&req);
        let resp = match engine.call(&bytes) {
            Ok(b) => b,
            Err(t) => {
                self.on_trap(&t);
                let restart = self.poisoned.is_none();
                return (Err(TransportError::new(t.kind.transport_kind(), t.message)), restart);
            }
        };
        let resp = match decode_response(&resp) {
            Ok(r) => r,
            Err(e) => {
                let t = Trap {
                    kind: crate::engine::TrapKind::Trapped,
                    message: format!("the shard answered bytes that do not decode: {e}"),
                };
                self.on_trap(&t);
                let restart = self.poisoned.is_none();
                return (
                    Err(TransportError::new(TransportErrorKind::Protocol, t.message)),
                    restart,
                );
            }
        };
        if !req.is_write() || matches!(resp, Response::Error(_)) {
            return (Ok(resp), false);
        }
        if matches!(req, Request::Restore { .. }) {
            // A restored snapshot must hold this cluster's kind of index,
            // or the shard could never be opened again (recovery refuses a
            // snapshot that disagrees with cluster.json). The restore is
            // not logged yet: undo it by restarting from disk.
            let engine = self.engine.as_mut().expect("engine checked above");
            if let Err(e) = check_settings(&mut **engine, &self.spec) {
                let message = match e {
                    Ok(t) => t.message,
                    Err(reason) => format!(
                        "cannot restore this snapshot: {reason}; nothing changed. Restore a \
                         snapshot of this cluster's index instead"
                    ),
                };
                let err = WireError::new(ErrorCode::SettingsMismatch, message);
                return (Ok(Response::Error(err)), true);
            }
        }

        // An accepted write: log it (unless bulk loading), then reply.
        if let Some(wal) = self.wal.as_mut() {
            let logged = match self.spec.cfg.fsync {
                FsyncPolicy::Always => wal.append_synced(&bytes),
                _ => wal.append(&bytes),
            };
            self.shared.wal_bytes.store(wal.len(), Ordering::Relaxed);
            if let Err(wal::AppendError { error: e, undone }) = logged {
                log::error!("shard {}: {e}", self.spec.id);
                let fsync_failed = matches!(e.kind(), crate::ErrorKind::Io { op: "fsync", .. });
                if fsync_failed || !undone {
                    self.stop_writes(format!("writing its log failed: {e}"));
                }
                let id = self.spec.id;
                let message = if undone {
                    format!(
                        "shard {id} could not make the write durable ({e}); it did not apply \
                         and the shard is reloading from its data{}",
                        if fsync_failed {
                            "; it accepts no more writes until vecshard is restarted"
                        } else {
                            ". Free disk space and retry"
                        }
                    )
                } else {
                    format!(
                        "shard {id} could not make the write durable ({e}) nor take it back out \
                         of its log: the write may or may not be there after a restart (its \
                         outcome is unknown). The shard accepts no more writes until vecshard \
                         is restarted"
                    )
                };
                return (Err(TransportError::new(TransportErrorKind::Unavailable, message)), true);
            }
        }
        if let Some(s) = &self.syncer {
            s.mark();
        }
        self.pending += 1;
        self.pending_since.get_or_insert_with(Instant::now);
        self.memory_stale = true;
        let len = &self.shared.len;
        match &resp {
            Response::Upserted { inserted, .. } => {
                len.fetch_add(u64::from(*inserted), Ordering::Relaxed);
            }
            Response::Removed { removed, .. } => {
                let _ = len.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| {
                    Some(l.saturating_sub(u64::from(*removed)))
                });
            }
            Response::Restored { len: n } => len.store(*n, Ordering::Relaxed),
            _ => {}
        }
        (Ok(resp), false)
    }

    /// Writes a checkpoint now (if the shard is up and anything is not
    /// yet in its snapshot; with `force`, even if nothing is).
    fn checkpoint(&mut self, force: bool) -> Result<()> {
        if let Some(why) = &self.poisoned {
            return Err(Error::shard(self.spec.id, why.clone()));
        }
        if let Some(why) = &self.writes_stopped {
            return Err(Error::shard(
                self.spec.id,
                format!("it stopped accepting writes ({why}), and checkpoints with them"),
            ));
        }
        if self.pending == 0 && !self.need_log && !force {
            return Ok(());
        }
        if self.engine.is_none() {
            self.restart();
        }
        let Some(engine) = self.engine.as_mut() else {
            let why = self.shared.down.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return Err(Error::shard(self.spec.id, why.unwrap_or_else(|| "not started".into())));
        };
        // Writing the snapshot can grow the shard's memory (a guest buffer).
        self.memory_stale = true;
        match checkpoint_to_disk(&self.spec, &mut **engine) {
            Ok((wal, base)) => {
                self.shared.wal_bytes.store(wal.as_ref().map_or(0, Wal::len), Ordering::Relaxed);
                if wal.is_some() {
                    self.wal = wal;
                    self.follow_log();
                }
                self.base = base;
                self.need_log = false;
                self.pending = 0;
                self.pending_since = None;
                self.shared.checkpoints.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(CkptFail::Before(e)) => Err(e),
            Err(CkptFail::After { error, base }) => {
                // The new snapshot holds everything in memory; the old log
                // is stale and must not be appended to (recovery would
                // discard what is appended). Serve reads, and create the
                // log before the next write.
                self.base = base;
                self.wal = None;
                self.need_log = !self.spec.cfg.bulk_load;
                self.pending = 0;
                self.pending_since = None;
                self.shared.wal_bytes.store(0, Ordering::Relaxed);
                Err(Error::shard(
                    self.spec.id,
                    format!(
                        "the checkpoint saved {SNAPSHOT_FILE} but could not start a new log \
                         ({error}); every write is safe on disk, and the log will be created \
                         before the next write"
                    ),
                ))
            }
            Err(CkptFail::Trap(t)) => {
                self.on_trap(&t);
                let msg = format!("the checkpoint failed: {}", t.message);
                if self.poisoned.is_none() {
                    self.restart();
                }
                Err(Error::shard(self.spec.id, msg))
            }
        }
    }

    /// Runs checkpoint generation `gen` for whoever waits on it.
    fn requested_checkpoint(&mut self, gen: u64) {
        let anyone = {
            let mut q = self.shared.ckpt.lock().unwrap_or_else(|p| p.into_inner());
            q.started = gen;
            q.waiters.retain(|(_, r)| !r.is_canceled());
            q.waiters.iter().any(|(g, _)| *g <= gen)
        };
        // Nobody waits any more (their deadline passed): skip the work.
        let r = if anyone { self.checkpoint(false) } else { Ok(()) };
        let done: Vec<_> = {
            let mut q = self.shared.ckpt.lock().unwrap_or_else(|p| p.into_inner());
            let (done, keep): (Vec<_>, Vec<_>) =
                std::mem::take(&mut q.waiters).into_iter().partition(|(g, _)| *g <= gen);
            q.waiters = keep;
            done
        };
        for (_, reply) in done {
            reply.send(match &r {
                Ok(()) => Ok(()),
                Err(e) => Err(e.duplicate()),
            });
        }
    }

    fn refresh_memory(&mut self) {
        if self.memory_stale {
            if let Some(e) = self.engine.as_mut() {
                self.shared.memory.store(e.memory_bytes(), Ordering::Relaxed);
                self.memory_stale = false;
            }
        }
    }

    /// The background duties; returns how long to wait for the next message.
    fn periodic(&mut self) -> Duration {
        let now = Instant::now();
        self.check_syncer();
        if let Some(wal) = self.wal.as_mut().filter(|_| self.syncer.is_none()) {
            if self.spec.cfg.fsync == FsyncPolicy::EverySec
                && wal.has_unsynced()
                && now.duration_since(self.last_sync) >= Duration::from_secs(1)
            {
                let r = wal.sync();
                self.last_sync = now;
                if let Err(e) = r {
                    // Acknowledged writes may not be on stable storage, and
                    // a retry cannot be trusted: fail-stop for writes.
                    self.stop_writes(format!("the background fsync of its log failed: {e}"));
                }
            }
        }
        self.refresh_memory();
        let too_big = self.wal.as_ref().is_some_and(|w| w.len() > self.spec.cfg.wal_max_bytes);
        let too_old = self.pending_since.is_some_and(|t| t.elapsed() >= self.spec.cfg.wal_max_age);
        let backing_off = self.auto_ckpt_after.is_some_and(|t| now < t);
        if self.pending > 0
            && !self.spec.cfg.bulk_load
            && self.writes_stopped.is_none()
            && !backing_off
            && (too_big || too_old)
        {
            match self.checkpoint(false) {
                Ok(()) => {
                    self.auto_ckpt_after = None;
                    self.auto_ckpt_backoff = FIRST_BACKOFF;
                }
                Err(e) => {
                    let wait = self.auto_ckpt_backoff;
                    log::error!(
                        "shard {}: automatic checkpoint failed: {e}; next try in {wait:?}",
                        self.spec.id
                    );
                    self.auto_ckpt_after = Some(Instant::now() + wait);
                    self.auto_ckpt_backoff = (wait * 2).min(MAX_BACKOFF);
                }
            }
        }
        Duration::from_secs(1)
    }

    /// Final checkpoint (when something is pending) and sync.
    fn finish(&mut self) -> Result<()> {
        if self.writes_stopped.is_some() {
            // Leave the files as they are: the log holds every
            // acknowledged write, and a restart re-reads it.
            return Err(Error::shard(
                self.spec.id,
                format!(
                    "no final checkpoint: it stopped accepting writes ({})",
                    self.writes_stopped.as_deref().unwrap_or("")
                ),
            ));
        }
        let r = if self.pending > 0 || self.need_log || !self.spec.snapshot_path().exists() {
            self.checkpoint(true)
        } else {
            Ok(())
        };
        if let Some(wal) = self.wal.as_mut() {
            wal.sync()?;
        }
        r
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        let mut wait = Duration::from_secs(1);
        loop {
            match rx.recv_timeout(wait) {
                Ok(Msg::Call { req, reply }) => {
                    // A read nobody waits for any more need not run.
                    if !req.is_write() && reply.is_canceled() {
                        continue;
                    }
                    let (r, restart) = self.handle(req);
                    reply.send(r);
                    if restart {
                        self.restart();
                    }
                }
                Ok(Msg::Checkpoint { gen }) => self.requested_checkpoint(gen),
                Ok(Msg::Shutdown { reply, checkpoint }) => {
                    let r = if checkpoint { self.finish() } else { Ok(()) };
                    reply.send(r);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    if let Err(e) = self.finish() {
                        log::error!("shard {}: final checkpoint failed: {e}", self.spec.id);
                    }
                    return;
                }
            }
            wait = self.periodic();
        }
    }
}

impl Drop for Worker {
    /// Whoever still waits for a checkpoint gets an answer: there will be
    /// none.
    fn drop(&mut self) {
        let waiters = {
            let mut q = self.shared.ckpt.lock().unwrap_or_else(|p| p.into_inner());
            q.closed = true;
            std::mem::take(&mut q.waiters)
        };
        for (_, reply) in waiters {
            reply.send(Err(Error::shard(self.spec.id, "it stopped before checkpointing")));
        }
    }
}

/// Starts the worker thread for a shard and waits until it has loaded its
/// data (so load errors are returned here, not on the first request).
pub(crate) fn start(spec: ShardSpec) -> Result<ShardHandle> {
    let lock = datadir::lock_shard(&spec.dir)?;
    let shared = Arc::new(Shared::default());
    let (tx, rx) = mpsc::channel::<Msg>();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
    let id = spec.id;
    let backend = spec.cfg.backend;
    let describe = format!("{backend} shard {id} ({})", spec.dir.display());
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name(format!("vecshard-shard-{id}"))
            .spawn(move || {
                // VECSHARD_EVERYSEC_ON_WORKER=1 syncs on the worker as before
                // (for measuring the difference only: examples/everysec_latency.rs).
                let on_worker = std::env::var_os("VECSHARD_EVERYSEC_ON_WORKER").is_some();
                let syncer =
                    (spec.cfg.fsync == FsyncPolicy::EverySec && !spec.cfg.bulk_load && !on_worker)
                        .then(|| wal::Syncer::start(format!("vecshard-sync-{id}")))
                        .and_then(|r| {
                            r.map_err(|e| log::warn!("shard {id}: {e}; syncing on the worker")).ok()
                        });
                let r = recover(&spec);
                let mut w = Worker {
                    spec,
                    shared,
                    engine: None,
                    wal: None,
                    pending: 0,
                    pending_since: None,
                    last_sync: Instant::now(),
                    memory_stale: false,
                    poisoned: None,
                    base: 0,
                    need_log: false,
                    writes_stopped: None,
                    auto_ckpt_after: None,
                    auto_ckpt_backoff: FIRST_BACKOFF,
                    syncer,
                    _lock: lock,
                };
                match r {
                    Ok(r) => {
                        w.install(r);
                        let _ = ready_tx.send(Ok(()));
                        w.run(rx);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| Error::shard(id, format!("cannot start its thread: {e}")))?
    };
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let _ = thread.join();
            return Err(e);
        }
        Err(_) => {
            let _ = thread.join();
            return Err(Error::shard(id, "its thread died while loading its data"));
        }
    }
    Ok(ShardHandle {
        inner: Arc::new(Inner {
            id,
            backend,
            describe,
            tx,
            shared,
            thread: Mutex::new(Some(thread)),
        }),
    })
}

struct Inner {
    id: u32,
    backend: Backend,
    describe: String,
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    fn stop(&self, checkpoint: bool) -> Result<()> {
        let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        let (reply, rx) = mpsc::sync_channel(1);
        let r = match self.tx.send(Msg::Shutdown { reply: Reply::Blocking(reply), checkpoint }) {
            Ok(()) => rx.recv().unwrap_or_else(|_| {
                Err(Error::shard(self.id, "its thread died before shutting down cleanly"))
            }),
            Err(_) => Ok(()),
        };
        let _ = thread.join();
        r
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(e) = self.stop(true) {
            log::error!("shard {}: {e}", self.id);
        }
    }
}

/// A running shard: a cheap, cloneable handle to its worker thread. Use it
/// as a [`ShardTransport`] for the coordinator (or the remote-shard
/// endpoint), read its [`ShardStats`], or ask for a checkpoint.
///
/// The worker stops (after a final checkpoint) when [`ShardHandle::shutdown`]
/// is called or the last clone is dropped; after that, calls fail with
/// `Unavailable`.
#[derive(Clone)]
pub struct ShardHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ShardHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardHandle").field("shard", &self.inner.describe).finish()
    }
}

impl ShardHandle {
    /// The shard id.
    pub fn id(&self) -> u32 {
        self.inner.id
    }

    /// Wasm or native.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The current counters (no round trip to the worker).
    pub fn stats(&self) -> ShardStats {
        let s = &self.inner.shared;
        ShardStats {
            shard: self.inner.id,
            backend: self.inner.backend,
            len: s.len.load(Ordering::Relaxed),
            memory_bytes: s.memory.load(Ordering::Relaxed),
            restarts: s.restarts.load(Ordering::Relaxed),
            wal_bytes: s.wal_bytes.load(Ordering::Relaxed),
            checkpoints: s.checkpoints.load(Ordering::Relaxed),
            requests: s.requests.load(Ordering::Relaxed),
            down: s.down.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            writes_stopped: s.writes_stopped.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// Joins (or queues) a checkpoint with `reply` as one of its callers.
    fn checkpoint_join(&self, reply: Reply<Result<()>>) -> Result<()> {
        let mut q = self.inner.shared.ckpt.lock().unwrap_or_else(|p| p.into_inner());
        if q.closed {
            return Err(Error::shard(self.inner.id, "it has been shut down"));
        }
        let gen = if q.sent > q.started {
            // One is queued and not begun: it will hold every write
            // acknowledged before now.
            q.sent
        } else {
            let gen = q.sent + 1;
            // Sent under the lock, so generations reach the worker in order.
            if self.inner.tx.send(Msg::Checkpoint { gen }).is_err() {
                return Err(Error::shard(self.inner.id, "it has been shut down"));
            }
            q.sent = gen;
            gen
        };
        q.waiters.push((gen, reply));
        Ok(())
    }

    /// Asks for a checkpoint (snapshot written, WAL emptied); resolves when
    /// it is on disk, with every write acknowledged before the call in it.
    /// Concurrent callers share one checkpoint; a shard with nothing
    /// pending answers at once. Dropping the future withdraws the request
    /// (a checkpoint nobody waits for is skipped), so a caller with a
    /// deadline can simply stop waiting.
    pub fn checkpoint_async(&self) -> BoxFuture<'static, Result<()>> {
        let (reply, rx) = oneshot::channel();
        let id = self.inner.id;
        if let Err(e) = self.checkpoint_join(Reply::Future(reply)) {
            return future::ready(Err(e)).boxed();
        }
        async move {
            rx.await.unwrap_or_else(|_| Err(Error::shard(id, "it stopped before checkpointing")))
        }
        .boxed()
    }

    /// [`ShardHandle::checkpoint_async`], blocking this thread until done.
    /// (From async code, use the async form or a blocking-task pool.)
    pub fn checkpoint(&self) -> Result<()> {
        self.checkpoint_start().and_then(|rx| self.checkpoint_wait(rx))
    }

    fn checkpoint_start(&self) -> Result<mpsc::Receiver<Result<()>>> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.checkpoint_join(Reply::Blocking(reply))?;
        Ok(rx)
    }

    fn checkpoint_wait(&self, rx: mpsc::Receiver<Result<()>>) -> Result<()> {
        rx.recv()
            .unwrap_or_else(|_| Err(Error::shard(self.inner.id, "it stopped before checkpointing")))
    }

    /// Checkpoints several shards at once (they work in parallel), blocking
    /// until all are done; the first error, if any.
    pub(crate) fn checkpoint_many(handles: &[ShardHandle]) -> Result<()> {
        let started: Vec<_> = handles.iter().map(|h| (h, h.checkpoint_start())).collect();
        let mut first = Ok(());
        for (h, rx) in started {
            let r = rx.and_then(|rx| h.checkpoint_wait(rx));
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// [`ShardHandle::checkpoint_many`] as a future (dropping it withdraws
    /// the requests).
    pub(crate) fn checkpoint_many_async(handles: &[ShardHandle]) -> BoxFuture<'static, Result<()>> {
        let all: Vec<_> = handles.iter().map(ShardHandle::checkpoint_async).collect();
        async move {
            let mut first = Ok(());
            for r in future::join_all(all).await {
                if first.is_ok() {
                    first = r;
                }
            }
            first
        }
        .boxed()
    }

    /// Sends one request and blocks this thread until the answer (for
    /// tools and benchmarks; servers use [`ShardTransport::call`]). Safe
    /// to call from inside any executor, though it blocks that thread.
    pub fn call_blocking(&self, req: Request) -> Result<Response, TransportError> {
        let (reply, rx) = mpsc::sync_channel(1);
        let id = self.inner.id;
        let gone = |what: &str| {
            TransportError::new(TransportErrorKind::Unavailable, format!("shard {id} {what}"))
        };
        if self.inner.tx.send(Msg::Call { req, reply: Reply::Blocking(reply) }).is_err() {
            return Err(gone("has been shut down"));
        }
        rx.recv().unwrap_or_else(|_| Err(gone("stopped before answering")))
    }

    /// Stops the worker after a final checkpoint (if anything is not yet
    /// in the snapshot) and waits for it. Other clones then get
    /// `Unavailable`. Idempotent.
    pub fn shutdown(&self) -> Result<()> {
        self.inner.stop(true)
    }

    /// Stops the worker without a checkpoint, leaving the files as they
    /// are (as a crash would). For recovery tests.
    pub fn abort(&self) {
        let _ = self.inner.stop(false);
    }
}

impl ShardTransport for ShardHandle {
    fn call(&self, req: Request) -> BoxFuture<'static, Result<Response, TransportError>> {
        let (reply, rx) = oneshot::channel();
        let id = self.inner.id;
        if self.inner.tx.send(Msg::Call { req, reply: Reply::Future(reply) }).is_err() {
            return future::ready(Err(TransportError::new(
                TransportErrorKind::Unavailable,
                format!("shard {id} has been shut down"),
            )))
            .boxed();
        }
        async move {
            rx.await.unwrap_or_else(|_| {
                Err(TransportError::new(
                    TransportErrorKind::Unavailable,
                    format!("shard {id} stopped before answering"),
                ))
            })
        }
        .boxed()
    }

    fn describe(&self) -> String {
        self.inner.describe.clone()
    }
}
