//! What runs a shard's code: the [`ShardEngine`] trait, the wasmtime
//! engine ([`WasmRuntime`], [`WasmShard`]) and the native one
//! ([`NativeShard`]).
//!
//! Both engines take encoded request bytes and return encoded response
//! bytes, so the worker, the write-ahead log and recovery are the same code
//! whichever one runs the shard, and comparing them measures exactly what
//! wasm costs (the copy into guest memory, the bounds-checked loads,
//! simd128 instead of AVX2) and nothing else.
//!
//! # The wasmtime embedding, step by step
//!
//! Per process (one [`WasmRuntime`], shared by every shard):
//! 1. **Engine.** A `Config` with epoch interruption on: cranelift inserts
//!    a cheap check of a global counter at every loop header and function
//!    entry, so a guest stuck in a loop can be stopped without signals or
//!    fuel metering (fuel would cost ~10% on every instruction).
//! 2. **Module.** Compiling the 200 KB guest takes about a second of
//!    cranelift time, so the compiled artifact is cached on disk
//!    ([`WasmRuntime::new`]): the key is the xxh3 of the module bytes, the
//!    wasmtime version and the engine's compatibility hash. A cache entry
//!    is written to a temporary file and renamed into place, because
//!    `Module::deserialize_file` maps the file and it must never change
//!    under a live module.
//! 3. **Linker + `instantiate_pre`.** The guest imports nothing, so the
//!    linker is empty; `instantiate_pre` type-checks the imports once, and
//!    every later instantiation (one per shard, one per restart) skips that.
//! 4. **Epoch ticker.** One thread calls `Engine::increment_epoch` every
//!    `epoch_tick` (10 ms). A deadline is "this many ticks from now".
//!
//! Per shard ([`WasmShard`], owned by that shard's worker thread):
//! 5. **Store.** Its own `Store`, whose data is the [`Limits`] the
//!    `ResourceLimiter` reads: `memory.grow` beyond the limit fails (the
//!    guest's allocator then aborts, which is a trap).
//! 6. **Instance.** From the `InstancePre`; we look up the typed exports
//!    (`vs_alloc`, `vs_free`, `vs_call`, `vs_abi_version`, `memory`) once
//!    and check the ABI version.
//! 7. **A call** ([`WasmShard::call`]): set the epoch deadline, `vs_alloc`
//!    the request, copy it in, `vs_call`, copy the reply out, `vs_free` it.
//!    Snapshots do not go through `vs_call` (a `Snapshot` reply or a
//!    `Restore` request would be a whole snapshot in guest memory, two or
//!    three times with the encoding, and linear memory never shrinks): a
//!    checkpoint ([`ShardEngine::snapshot_to`]) `vs_alloc`s one 1 MiB
//!    buffer and calls `vs_snapshot_read` into it until the guest has no
//!    more, writing each chunk to the file; a restore
//!    ([`ShardEngine::restore_from`]) reads the file into the same kind of
//!    buffer and calls `vs_restore_push` per chunk. The guest builds the
//!    index as the chunks come, so a load peaks at the index plus one chunk.
//!    Any trap (out of memory, deadline, a bug) leaves the guest in an
//!    unknown state, so the caller drops this `WasmShard` and builds a new
//!    one from the data dir; nothing from the failed call is kept.

use std::any::Any;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use vecshard_coordinator::TransportErrorKind;
use vecshard_shard::{decode_response, ErrorCode, Response, Shard, ShardLoader, WireError};
use wasmtime::{
    Config, Engine, InstancePre, Linker, Memory, Module, ResourceLimiter, Store, TypedFunc,
};

use crate::config::Backend;
use crate::error::{Error, Result};

/// The guest module embedded at build time (see `build.rs`): crates/shard
/// built for `wasm32-unknown-unknown` with `--features guest`, simd128 and
/// relaxed SIMD.
pub static GUEST_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vecshard_shard.wasm"));

/// The guest ABI version this host speaks (`vs_abi_version`): 2, the
/// version 1 exports plus chunked snapshots.
pub const GUEST_ABI_VERSION: i32 = 2;

/// Bytes per chunk when a snapshot crosses the guest boundary.
pub const SNAPSHOT_CHUNK: usize = vecshard_core::DEFAULT_CHUNK;

/// The wasmtime version, read from Cargo.lock at build time.
pub const WASMTIME_VERSION: &str = env!("VECSHARD_WASMTIME_VERSION");

/// Why a call failed without an answer. The shard's state is unknown
/// afterwards: the worker drops the engine and restarts the shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// What kind of failure.
    pub kind: TrapKind,
    /// For people.
    pub message: String,
}

/// Kinds of [`Trap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapKind {
    /// The guest trapped (or the native shard panicked).
    Trapped,
    /// The guest needed more memory than its limit allows.
    OutOfMemory,
    /// The request ran past its deadline.
    Timeout,
}

impl TrapKind {
    /// The transport error kind a caller sees.
    pub fn transport_kind(self) -> TransportErrorKind {
        match self {
            TrapKind::Trapped | TrapKind::OutOfMemory => TransportErrorKind::Trapped,
            TrapKind::Timeout => TransportErrorKind::Timeout,
        }
    }
}

impl Trap {
    fn new(kind: TrapKind, message: impl Into<String>) -> Trap {
        Trap { kind, message: message.into() }
    }
}

/// Why a streamed restore or snapshot stopped without an answer.
#[derive(Debug)]
pub enum StreamFail {
    /// The engine failed (as a call can); it must be replaced.
    Trap(Trap),
    /// Reading the source or writing the destination failed.
    Io(std::io::Error),
}

impl From<Trap> for StreamFail {
    fn from(t: Trap) -> StreamFail {
        StreamFail::Trap(t)
    }
}

/// Reads into `buf` until it is full or the source ends.
fn read_full(src: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Something that runs one shard: encoded [`vecshard_shard::Request`] in,
/// encoded [`vecshard_shard::Response`] out.
pub trait ShardEngine: Send {
    /// Handles one encoded request. `Err` means the engine is unusable now
    /// and must be replaced.
    fn call(&mut self, request: &[u8]) -> Result<Vec<u8>, Trap>;

    /// Memory the shard holds: the wasm linear memory size, or for the
    /// native engine the index and attribute bytes.
    fn memory_bytes(&mut self) -> u64;

    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Sets the deadline of each later call (`None`: none). Recovery and
    /// checkpoints run without one: they are the host's own work, and
    /// interrupting them would only make the shard unable to start.
    /// The native engine cannot be interrupted and ignores this.
    fn set_timeout(&mut self, _timeout: Option<Duration>) {}

    /// Replaces the shard with the snapshot read from `src` (`len` bytes,
    /// if known), in chunks of [`SNAPSHOT_CHUNK`]: the same as a `Restore`
    /// request, without the whole snapshot in memory. Answers `Restored`
    /// or an `Error` response (the shard is then unchanged).
    fn restore_from(
        &mut self,
        src: &mut dyn Read,
        len: Option<u64>,
    ) -> Result<Response, StreamFail>;

    /// Writes the shard's snapshot to `dst` in chunks of [`SNAPSHOT_CHUNK`]
    /// and returns its length, or the shard's error (no index yet).
    fn snapshot_to(&mut self, dst: &mut dyn Write) -> Result<Result<u64, WireError>, StreamFail>;
}

// ---------------------------------------------------------------------------
// Native
// ---------------------------------------------------------------------------

/// A [`Shard`] called directly on the worker thread. It decodes and encodes
/// the same bytes the wasm guest does, so the two differ only in where the
/// code runs.
#[derive(Debug, Default)]
pub struct NativeShard {
    shard: Shard,
}

impl NativeShard {
    /// An empty shard (no index until `Create` or `Restore`).
    pub fn new() -> NativeShard {
        NativeShard::default()
    }
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

impl ShardEngine for NativeShard {
    fn call(&mut self, request: &[u8]) -> Result<Vec<u8>, Trap> {
        // The shard never panics on input by contract; if it does anyway,
        // that is this engine's "trap": the state may be half-changed, so
        // the worker throws it away exactly as it does a trapped instance.
        catch_unwind(AssertUnwindSafe(|| self.shard.handle_bytes(request))).map_err(|p| {
            Trap::new(TrapKind::Trapped, format!("native shard panicked: {}", panic_message(&*p)))
        })
    }

    fn memory_bytes(&mut self) -> u64 {
        let info = self.shard.info();
        info.index_bytes + info.attribute_bytes
    }

    fn backend(&self) -> Backend {
        Backend::Native
    }

    fn restore_from(
        &mut self,
        src: &mut dyn Read,
        len: Option<u64>,
    ) -> Result<Response, StreamFail> {
        let mut loader = ShardLoader::new();
        if let Some(n) = len {
            loader = loader.expect_len(n);
        }
        let mut buf = vec![0u8; SNAPSHOT_CHUNK];
        let mut failed = None;
        loop {
            let n = read_full(src, &mut buf).map_err(StreamFail::Io)?;
            if n == 0 {
                break;
            }
            let r = catch_unwind(AssertUnwindSafe(|| loader.push(&buf[..n])))
                .map_err(|p| native_panic(&*p))?;
            if let Err(e) = r {
                failed = Some(e);
                break;
            }
        }
        if let Some(e) = failed {
            return Ok(Response::Error(e));
        }
        let fresh =
            catch_unwind(AssertUnwindSafe(|| loader.finish())).map_err(|p| native_panic(&*p))?;
        Ok(match fresh {
            Err(e) => Response::Error(e),
            Ok(mut fresh) => {
                fresh.set_planner(self.shard.planner());
                let len = fresh.len() as u64;
                self.shard = fresh;
                Response::Restored { len }
            }
        })
    }

    fn snapshot_to(&mut self, dst: &mut dyn Write) -> Result<Result<u64, WireError>, StreamFail> {
        let Some(mut w) = self.shard.snapshot_writer() else {
            return Ok(Err(not_initialized()));
        };
        let mut buf = vec![0u8; SNAPSHOT_CHUNK];
        let mut total = 0u64;
        loop {
            let n = match catch_unwind(AssertUnwindSafe(|| w.read(&mut buf))) {
                Err(p) => return Err(native_panic(&*p)),
                Ok(Err(e)) => return Ok(Err(e)),
                Ok(Ok(0)) => return Ok(Ok(total)),
                Ok(Ok(n)) => n,
            };
            dst.write_all(&buf[..n]).map_err(StreamFail::Io)?;
            total += n as u64;
        }
    }
}

fn native_panic(p: &(dyn Any + Send)) -> StreamFail {
    StreamFail::Trap(Trap::new(
        TrapKind::Trapped,
        format!("native shard panicked: {}", panic_message(p)),
    ))
}

fn not_initialized() -> WireError {
    WireError::new(ErrorCode::NotInitialized, "the shard holds no index yet")
}

// ---------------------------------------------------------------------------
// Wasm: the per-process part
// ---------------------------------------------------------------------------

/// The per-process half of the embedding: Engine, compiled Module,
/// `InstancePre` and the epoch ticker. Cheap to share (`Arc`); the ticker
/// stops when the last reference is dropped.
pub struct WasmRuntime {
    engine: Engine,
    pre: InstancePre<Limits>,
    epoch_tick: Duration,
    stop_ticker: Arc<AtomicBool>,
    cache_file: Option<PathBuf>,
}

impl std::fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmRuntime")
            .field("epoch_tick", &self.epoch_tick)
            .field("cache_file", &self.cache_file)
            .finish_non_exhaustive()
    }
}

impl Drop for WasmRuntime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

static SHARED: Mutex<Weak<WasmRuntime>> = Mutex::new(Weak::new());

impl WasmRuntime {
    /// The process-wide runtime for the embedded guest, created on first
    /// use and kept while any shard uses it. A later caller with another
    /// `cache_dir` or `epoch_tick` gets the live one (those settings do not
    /// change what a shard computes).
    pub fn shared(cache_dir: Option<&Path>, epoch_tick: Duration) -> Result<Arc<WasmRuntime>> {
        let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rt) = slot.upgrade() {
            return Ok(rt);
        }
        let rt = Arc::new(WasmRuntime::new(GUEST_WASM, cache_dir, epoch_tick)?);
        *slot = Arc::downgrade(&rt);
        Ok(rt)
    }

    /// A runtime for `wasm` (a guest module with the vecshard raw ABI),
    /// caching the compiled module under `cache_dir` if given.
    pub fn new(wasm: &[u8], cache_dir: Option<&Path>, epoch_tick: Duration) -> Result<WasmRuntime> {
        // Step 1: the Engine. Epoch interruption is what makes per-request
        // deadlines possible. The rest spells out defaults that search speed
        // depends on, so a change of wasmtime defaults cannot quietly undo them:
        // - Cranelift at `Speed`;
        // - relaxed SIMD on and not deterministic, so the guest's
        //   `f32x4.relaxed_madd` is one `vfmadd` on CPUs with FMA (a
        //   deterministic mode would make it a libcall on CPUs without);
        // - memory: on 64-bit hosts wasmtime reserves 4 GiB of address
        //   space per linear memory plus guard pages and lets signals catch
        //   out-of-bounds accesses, so compiled loads carry no bounds
        //   checks. The `ResourceLimiter` (step 5) only refuses
        //   `memory.grow`; it does not change that.
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        config.wasm_simd(true);
        config.wasm_relaxed_simd(true);
        config.relaxed_simd_deterministic(false);
        let engine = Engine::new(&config)
            .map_err(|e| Error::wasm(format!("cannot create the engine: {e:#}")))?;

        // Step 2: the Module, from the on-disk cache or compiled now.
        let (module, cache_file) = load_module(&engine, wasm, cache_dir)?;

        // Step 3: an empty Linker (the guest imports nothing) and
        // `instantiate_pre`, which resolves and type-checks imports once.
        let linker: Linker<Limits> = Linker::new(&engine);
        let pre = linker.instantiate_pre(&module).map_err(|e| {
            Error::wasm(format!("the guest module needs imports this host does not give: {e:#}"))
        })?;

        // Step 4: the epoch ticker. It holds its own Engine handle and a
        // stop flag that `Drop` sets; it never needs joining.
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let tick = epoch_tick.max(Duration::from_millis(1));
        {
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            std::thread::Builder::new()
                .name("vecshard-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| Error::wasm(format!("cannot start the epoch thread: {e}")))?;
        }
        Ok(WasmRuntime { engine, pre, epoch_tick: tick, stop_ticker, cache_file })
    }

    /// The compiled-module cache file in use, if any.
    pub fn cache_file(&self) -> Option<&Path> {
        self.cache_file.as_deref()
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A fresh instance (steps 5 and 6): its own Store with `memory_limit`
    /// bytes of linear memory at most, and `timeout` per call (`None`: no
    /// deadline).
    pub fn instantiate(
        self: &Arc<Self>,
        memory_limit: u64,
        timeout: Option<Duration>,
    ) -> Result<WasmShard> {
        // Step 5: the Store and its limiter.
        let limit = usize::try_from(memory_limit).unwrap_or(usize::MAX);
        let mut store = Store::new(&self.engine, Limits { memory_limit: limit, denied: false });
        store.limiter(|l| l);
        // A deadline is set before every call; until then, none.
        store.set_epoch_deadline(NO_DEADLINE);

        // Step 6: the instance and its exports.
        let instance = self.pre.instantiate(&mut store).map_err(|e| {
            Error::wasm(format!(
                "cannot instantiate the guest (is the memory limit of {} MiB below its \
                 initial memory?): {e:#}",
                memory_limit >> 20
            ))
        })?;
        let missing = |what: &str, e: wasmtime::Error| {
            Error::wasm(format!("the guest module has no usable export {what}: {e:#}"))
        };
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| Error::wasm("the guest module exports no memory"))?;
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "vs_alloc")
            .map_err(|e| missing("vs_alloc(i32) -> i32", e))?;
        let free = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "vs_free")
            .map_err(|e| missing("vs_free(i32, i32)", e))?;
        let call = instance
            .get_typed_func::<(i32, i32), i64>(&mut store, "vs_call")
            .map_err(|e| missing("vs_call(i32, i32) -> i64", e))?;
        let abi = instance
            .get_typed_func::<(), i32>(&mut store, "vs_abi_version")
            .map_err(|e| missing("vs_abi_version() -> i32", e))?;
        // Checked before the version-2 exports, so an old guest gets the
        // version message rather than a missing export.
        let v = abi
            .call(&mut store, ())
            .map_err(|e| Error::wasm(format!("vs_abi_version trapped: {e:#}")))?;
        if v != GUEST_ABI_VERSION {
            return Err(Error::wasm(format!(
                "the guest module speaks ABI version {v}, this host speaks {GUEST_ABI_VERSION}; \
                 rebuild them together"
            )));
        }
        let stream = StreamFuncs {
            snapshot_begin: instance
                .get_typed_func::<(), i64>(&mut store, "vs_snapshot_begin")
                .map_err(|e| missing("vs_snapshot_begin() -> i64", e))?,
            snapshot_read: instance
                .get_typed_func::<(i32, i32), i32>(&mut store, "vs_snapshot_read")
                .map_err(|e| missing("vs_snapshot_read(i32, i32) -> i32", e))?,
            restore_begin: instance
                .get_typed_func::<i64, ()>(&mut store, "vs_restore_begin")
                .map_err(|e| missing("vs_restore_begin(i64)", e))?,
            restore_push: instance
                .get_typed_func::<(i32, i32), i32>(&mut store, "vs_restore_push")
                .map_err(|e| missing("vs_restore_push(i32, i32) -> i32", e))?,
            restore_finish: instance
                .get_typed_func::<(), i64>(&mut store, "vs_restore_finish")
                .map_err(|e| missing("vs_restore_finish() -> i64", e))?,
        };
        let mut shard = WasmShard {
            store,
            memory,
            alloc,
            free,
            call,
            stream,
            deadline_ticks: None,
            timeout: None,
            runtime: self.clone(),
        };
        shard.set_timeout(timeout);
        Ok(shard)
    }
}

/// Ticks far enough in the future to mean "never" (wasmtime adds the
/// current epoch, so `u64::MAX` would overflow).
const NO_DEADLINE: u64 = u64::MAX / 2;

/// Step 2 in detail: the on-disk cache of the compiled module.
fn load_module(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> Result<(Module, Option<PathBuf>)> {
    let compile = || {
        Module::new(engine, wasm)
            .map_err(|e| Error::wasm(format!("cannot compile the guest module: {e:#}")))
    };
    let Some(dir) = cache_dir else { return Ok((compile()?, None)) };

    // The key: what was compiled (module hash), by what (wasmtime version),
    // for what (target, CPU features and tunables, via the engine's
    // compatibility hash). wasmtime also refuses an incompatible artifact
    // itself; the key just keeps different builds from fighting over a file.
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let file = dir.join(format!(
        "shard-{:016x}-wasmtime-{WASMTIME_VERSION}-{:016x}.cwasm",
        xxhash_rust::xxh3::xxh3_64(wasm),
        h.finish()
    ));

    if file.exists() {
        // SAFETY: `deserialize_file` trusts the file to be a module compiled
        // by this wasmtime and maps it. We only ever create these files
        // ourselves, via a temp file renamed into place (so a mapped file is
        // never rewritten), in a cache dir that belongs to this user; and
        // wasmtime checks the header (version, engine settings) itself.
        match unsafe { Module::deserialize_file(engine, &file) } {
            Ok(m) => return Ok((m, Some(file))),
            Err(e) => log::warn!(
                "ignoring the unusable compiled-module cache {}: {e:#}; recompiling",
                file.display()
            ),
        }
    }
    let module = compile()?;
    match write_cache(&module, dir, &file) {
        Ok(()) => Ok((module, Some(file))),
        Err(e) => {
            log::warn!("cannot cache the compiled module in {}: {e}", dir.display());
            Ok((module, None))
        }
    }
}

fn write_cache(module: &Module, dir: &Path, file: &Path) -> std::io::Result<()> {
    let bytes = module.serialize().map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::write(&tmp, &bytes)?;
    // Rename is atomic: a concurrent process maps either no file or a
    // complete one, never a half-written one.
    std::fs::rename(&tmp, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

// ---------------------------------------------------------------------------
// Wasm: the per-shard part
// ---------------------------------------------------------------------------

/// The Store data: what the `ResourceLimiter` needs.
#[derive(Debug)]
pub struct Limits {
    memory_limit: usize,
    /// Set when a `memory.grow` was refused, so a following trap can be
    /// reported as "out of memory" rather than "unreachable".
    denied: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Refusing (`Ok(false)`) makes `memory.grow` return -1, as the
        // spec allows; Rust's allocator in the guest then aborts, which is
        // a trap. (Returning `Err` would trap right here, but a guest that
        // can live with a failed allocation deserves the chance.)
        if desired > self.memory_limit {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The guest never grows its table; allow a little, never a lot.
        Ok(desired <= 10_000)
    }
}

/// The ABI version 2 exports: snapshots in chunks.
struct StreamFuncs {
    snapshot_begin: TypedFunc<(), i64>,
    snapshot_read: TypedFunc<(i32, i32), i32>,
    restore_begin: TypedFunc<i64, ()>,
    restore_push: TypedFunc<(i32, i32), i32>,
    restore_finish: TypedFunc<(), i64>,
}

/// A streamed call failed in the guest or in the file.
enum Inner {
    Wasm(wasmtime::Error),
    Io(std::io::Error),
}

impl From<wasmtime::Error> for Inner {
    fn from(e: wasmtime::Error) -> Inner {
        Inner::Wasm(e)
    }
}

impl From<wasmtime::MemoryAccessError> for Inner {
    fn from(e: wasmtime::MemoryAccessError) -> Inner {
        Inner::Wasm(e.into())
    }
}

/// One guest instance in its own Store: one shard. Owned by one worker
/// thread; after any [`Trap`] it must be dropped.
pub struct WasmShard {
    store: Store<Limits>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), ()>,
    call: TypedFunc<(i32, i32), i64>,
    stream: StreamFuncs,
    deadline_ticks: Option<u64>,
    timeout: Option<Duration>,
    runtime: Arc<WasmRuntime>,
}

impl std::fmt::Debug for WasmShard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmShard")
            .field("memory_limit", &self.store.data().memory_limit)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WasmShard {
    fn classify(&self, e: wasmtime::Error) -> Trap {
        let limit = self.store.data().memory_limit;
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => Trap::new(
                TrapKind::Timeout,
                format!(
                    "the shard did not finish the request within its deadline of {:?}; it was \
                     stopped and is restarting from its data (the request did not apply). Send \
                     smaller batches, or raise the request timeout",
                    self.timeout.unwrap_or_default()
                ),
            ),
            _ if self.store.data().denied => Trap::new(
                TrapKind::OutOfMemory,
                format!(
                    "the shard ran out of its memory limit of {} MiB and trapped; it is \
                     restarting from its data (the request did not apply). Send smaller \
                     batches, or raise the memory limit",
                    limit >> 20
                ),
            ),
            _ => Trap::new(
                TrapKind::Trapped,
                format!(
                    "the shard trapped ({e:#}); it is restarting from its data (the request \
                     did not apply)"
                ),
            ),
        }
    }

    fn call_inner(&mut self, request: &[u8]) -> wasmtime::Result<Vec<u8>> {
        let len = i32::try_from(request.len()).map_err(|_| {
            wasmtime::format_err!("a request of {} bytes is over 2 GiB", request.len())
        })?;
        // Copy in: the guest allocates, we write into its memory.
        let ptr = self.alloc.call(&mut self.store, len)?;
        self.memory.write(&mut self.store, ptr as u32 as usize, request)?;
        // The call; the guest frees the request buffer.
        let packed = self.call.call(&mut self.store, (ptr, len))?;
        let (rptr, rlen) = ((packed as u64 >> 32) as u32, packed as u64 as u32);
        // Copy out (bounds-checked by `read`), then let the guest free it.
        let mut reply = vec![0u8; rlen as usize];
        self.memory.read(&self.store, rptr as usize, &mut reply)?;
        self.free.call(&mut self.store, (rptr as i32, rlen as i32))?;
        Ok(reply)
    }

    /// Copies a packed `(ptr << 32) | len` reply out and frees it.
    fn take_reply(&mut self, packed: i64) -> wasmtime::Result<Vec<u8>> {
        let (rptr, rlen) = ((packed as u64 >> 32) as u32, packed as u64 as u32);
        let mut reply = vec![0u8; rlen as usize];
        self.memory.read(&self.store, rptr as usize, &mut reply)?;
        self.free.call(&mut self.store, (rptr as i32, rlen as i32))?;
        Ok(reply)
    }

    fn restore_inner(&mut self, src: &mut dyn Read, len: Option<u64>) -> Result<Vec<u8>, Inner> {
        let cap = len.map_or(SNAPSHOT_CHUNK, |n| (n as usize).clamp(1, SNAPSHOT_CHUNK));
        let declared = len.and_then(|n| i64::try_from(n).ok()).unwrap_or(-1);
        self.stream.restore_begin.call(&mut self.store, declared)?;
        // One guest buffer for every chunk, freed before the finish so
        // that the index can reuse its memory.
        let gbuf = self.alloc.call(&mut self.store, cap as i32)?;
        let mut hbuf = vec![0u8; cap];
        let fed = loop {
            let n = match read_full(src, &mut hbuf) {
                Ok(n) => n,
                Err(e) => break Err(Inner::Io(e)),
            };
            if n == 0 {
                break Ok(());
            }
            self.memory.write(&mut self.store, gbuf as u32 as usize, &hbuf[..n])?;
            if self.stream.restore_push.call(&mut self.store, (gbuf, n as i32))? != 0 {
                // The load failed; the finish says why.
                break Ok(());
            }
        };
        self.free.call(&mut self.store, (gbuf, cap as i32))?;
        fed?;
        let packed = self.stream.restore_finish.call(&mut self.store, ())?;
        Ok(self.take_reply(packed)?)
    }

    fn snapshot_inner(&mut self, dst: &mut dyn Write) -> Result<Result<u64, WireError>, Inner> {
        let total = self.stream.snapshot_begin.call(&mut self.store, ())?;
        let Ok(total) = u64::try_from(total) else { return Ok(Err(not_initialized())) };
        let cap = (total as usize).clamp(1, SNAPSHOT_CHUNK);
        let gbuf = self.alloc.call(&mut self.store, cap as i32)?;
        let mut hbuf = vec![0u8; cap];
        let mut written = 0u64;
        let done = loop {
            let n = self.stream.snapshot_read.call(&mut self.store, (gbuf, cap as i32))?;
            if n < 0 {
                break Ok(Err(WireError::new(
                    ErrorCode::InvalidSnapshot,
                    "the shard could not write its snapshot (it changed while writing)",
                )));
            }
            if n == 0 {
                break Ok(Ok(written));
            }
            let n = n as usize;
            self.memory.read(&self.store, gbuf as u32 as usize, &mut hbuf[..n])?;
            if let Err(e) = dst.write_all(&hbuf[..n]) {
                break Err(Inner::Io(e));
            }
            written += n as u64;
        };
        self.free.call(&mut self.store, (gbuf, cap as i32))?;
        done
    }

    /// Arms the deadline and clears the out-of-memory flag (step 7).
    fn arm(&mut self) {
        self.store.set_epoch_deadline(self.deadline_ticks.unwrap_or(NO_DEADLINE));
        self.store.data_mut().denied = false;
    }

    fn stream_fail(&self, e: Inner) -> StreamFail {
        match e {
            Inner::Wasm(e) => StreamFail::Trap(self.classify(e)),
            Inner::Io(e) => StreamFail::Io(e),
        }
    }
}

impl ShardEngine for WasmShard {
    fn call(&mut self, request: &[u8]) -> Result<Vec<u8>, Trap> {
        // Step 7: arm the deadline (counted from now, in epoch ticks) and
        // clear the out-of-memory flag, then run the call.
        self.arm();
        let r = self.call_inner(request);
        r.map_err(|e| self.classify(e))
    }

    fn restore_from(
        &mut self,
        src: &mut dyn Read,
        len: Option<u64>,
    ) -> Result<Response, StreamFail> {
        self.arm();
        let reply = self.restore_inner(src, len).map_err(|e| self.stream_fail(e))?;
        decode_response(&reply).map_err(|e| {
            StreamFail::Trap(Trap::new(
                TrapKind::Trapped,
                format!("the shard answered bytes that do not decode: {e}"),
            ))
        })
    }

    fn snapshot_to(&mut self, dst: &mut dyn Write) -> Result<Result<u64, WireError>, StreamFail> {
        self.arm();
        self.snapshot_inner(dst).map_err(|e| self.stream_fail(e))
    }

    fn memory_bytes(&mut self) -> u64 {
        self.memory.data_size(&self.store) as u64
    }

    fn backend(&self) -> Backend {
        Backend::Wasm
    }

    fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
        self.deadline_ticks = timeout.map(|t| {
            let t = t.as_nanos().div_ceil(self.runtime.epoch_tick.as_nanos()).max(1);
            // One extra tick: the current tick may be about to end.
            u64::try_from(t).unwrap_or(NO_DEADLINE).saturating_add(1).min(NO_DEADLINE)
        });
    }
}
