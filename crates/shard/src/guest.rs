//! The wasm guest: this crate built as a `wasm32-unknown-unknown` cdylib,
//! with a raw ABI and no wasm-bindgen.
//!
//! The host (crates/host, or any other embedder) drives one shard per
//! instance through three exports and the exported `memory`:
//!
//! | export | signature | meaning |
//! |---|---|---|
//! | `vs_alloc` | `(len: i32) -> i32` | allocate `len` bytes in guest memory, return the pointer (0 when `len` is 0) |
//! | `vs_free` | `(ptr: i32, len: i32)` | free a buffer from `vs_alloc` or from `vs_call`'s reply |
//! | `vs_call` | `(ptr: i32, len: i32) -> i64` | handle the request in `[ptr, ptr+len)` (version byte + postcard), free it, and return the reply as `(ptr << 32) \| len` |
//! | `vs_abi_version` | `() -> i32` | [`ABI_VERSION`] |
//!
//! Version 2 adds snapshots in chunks, so that neither side ever holds a
//! whole snapshot (the version 1 exports stay, unchanged):
//!
//! | export | signature | meaning |
//! |---|---|---|
//! | `vs_snapshot_begin` | `() -> i64` | start writing the shard's snapshot; its total length, or -1 when there is no index yet |
//! | `vs_snapshot_read` | `(ptr: i32, len: i32) -> i32` | fill `[ptr, ptr+len)` (a `vs_alloc` buffer the host keeps) with the next bytes; how many (fewer than `len` only at the end, 0 once done), or -1 (no snapshot begun, or the shard changed) |
//! | `vs_restore_begin` | `(len: i64)` | start loading a snapshot of `len` bytes (-1: unknown) |
//! | `vs_restore_push` | `(ptr: i32, len: i32) -> i32` | feed the next bytes from a `vs_alloc` buffer (the host keeps it); 0, or 1 once the load has failed (`vs_restore_finish` says why), or -1 (no load begun) |
//! | `vs_restore_finish` | `() -> i64` | end the load: on success the new shard replaces the old one; returns the reply as `vs_call` does (`Restored` or an `Error` response) |
//!
//! A snapshot in chunks: `n = vs_snapshot_begin()`, `b = vs_alloc(c)`, then
//! `vs_snapshot_read(b, c)` until it returns 0, copying out each time;
//! `vs_free(b, c)`. A restore: `vs_restore_begin(n)`, `b = vs_alloc(c)`,
//! per chunk copy in and `vs_restore_push(b, k)`, `vs_free(b, c)`,
//! `vs_restore_finish()`. The old shard serves until the finish, and
//! stays as it was if the load fails. A `vs_call` in between ends both
//! (the snapshot stream would no longer describe the shard, and a load
//! half done should not hold memory).
//!
//! One call:
//! 1. `p = vs_alloc(n)`, copy the request into `memory[p..p+n]`;
//! 2. `r = vs_call(p, n)`; the guest owns and frees the request buffer;
//! 3. read `memory[r >> 32 .. (r >> 32) + (r & 0xffff_ffff)]`, then
//!    `vs_free(r >> 32, r & 0xffff_ffff)`.
//!
//! Malformed request bytes get an error *response*. A trap happens only
//! when the guest runs out of memory (the allocator aborts) or the host
//! interrupts it; the host then throws the instance away and restarts the
//! shard from its data.

use alloc::boxed::Box;
use core::alloc::Layout;
use core::cell::RefCell;

use crate::protocol::{encode_response, Response};
use crate::{Shard, ShardLoader, SnapshotStream};

/// Version of the raw ABI above (2: version 1 plus the chunked snapshot
/// exports).
pub const ABI_VERSION: i32 = 2;

struct Global(RefCell<Option<Shard>>);
// SAFETY: wasm32-unknown-unknown without the atomics feature has exactly
// one thread, so the RefCell is never shared across threads.
unsafe impl Sync for Global {}

static SHARD: Global = Global(RefCell::new(None));

/// A snapshot being written and a snapshot being loaded, between calls.
#[derive(Default)]
struct Streams {
    snapshot: Option<SnapshotStream>,
    restore: Option<ShardLoader>,
}

struct GlobalStreams(RefCell<Option<Streams>>);
// SAFETY: as for `Global`: one thread.
unsafe impl Sync for GlobalStreams {}

static STREAMS: GlobalStreams = GlobalStreams(RefCell::new(None));

fn streams() -> core::cell::RefMut<'static, Streams> {
    core::cell::RefMut::map(STREAMS.0.borrow_mut(), |s| s.get_or_insert_with(Streams::default))
}

/// `[ptr, ptr+len)` as a slice, or empty.
///
/// # Safety
/// `ptr`/`len` must describe memory the host owns and does not touch
/// during the call (a `vs_alloc` buffer).
unsafe fn host_bytes<'a>(ptr: i32, len: i32) -> &'a mut [u8] {
    if ptr == 0 || len <= 0 {
        return &mut [];
    }
    // SAFETY: see the function contract.
    unsafe { core::slice::from_raw_parts_mut(ptr as *mut u8, len as usize) }
}

/// A reply buffer handed to the host, packed as `(ptr << 32) | len`.
fn pack(reply: alloc::vec::Vec<u8>) -> i64 {
    let reply: Box<[u8]> = reply.into_boxed_slice();
    let l = reply.len() as u32;
    let p = if l == 0 { 0 } else { Box::into_raw(reply) as *mut u8 as u32 };
    ((p as i64) << 32) | l as i64
}

fn layout(len: usize) -> Layout {
    // Byte buffers: alignment 1, and `len` fits in a wasm32 address space.
    Layout::from_size_align(len, 1).expect("byte layout")
}

/// Allocates `len` bytes for the host to write a request into. Running out
/// of memory traps (the host restarts the shard).
#[no_mangle]
pub extern "C" fn vs_alloc(len: i32) -> i32 {
    if len <= 0 {
        return 0;
    }
    let l = layout(len as usize);
    // SAFETY: `l` has a non-zero size.
    let p = unsafe { alloc::alloc::alloc(l) };
    if p.is_null() {
        alloc::alloc::handle_alloc_error(l);
    }
    p as i32
}

/// Frees a buffer of `len` bytes from [`vs_alloc`] or from a [`vs_call`] reply.
///
/// # Safety
/// `ptr`/`len` must come from `vs_alloc(len)` or a reply of `vs_call`, and be
/// freed once.
#[no_mangle]
pub unsafe extern "C" fn vs_free(ptr: i32, len: i32) {
    if ptr == 0 || len <= 0 {
        return;
    }
    // SAFETY: both kinds of buffer were allocated with `layout(len)` (a
    // boxed byte slice of length `len` has exactly that layout).
    unsafe { alloc::alloc::dealloc(ptr as *mut u8, layout(len as usize)) }
}

/// Handles the request in `[ptr, ptr+len)` and returns the reply as
/// `(ptr << 32) | len`. Frees the request buffer.
///
/// # Safety
/// `ptr`/`len` must come from `vs_alloc(len)` with `len` bytes written.
#[no_mangle]
pub unsafe extern "C" fn vs_call(ptr: i32, len: i32) -> i64 {
    let reply = {
        let req: &[u8] = if ptr == 0 || len <= 0 {
            &[]
        } else {
            // SAFETY: see the function contract; the host wrote `len` bytes.
            unsafe { core::slice::from_raw_parts(ptr as *const u8, len as usize) }
        };
        // A request ends any snapshot stream or load in progress.
        *STREAMS.0.borrow_mut() = None;
        let mut slot = SHARD.0.borrow_mut();
        slot.get_or_insert_with(Shard::new).handle_bytes(req)
    };
    // SAFETY: the request buffer came from `vs_alloc(len)` and is no longer used.
    unsafe { vs_free(ptr, len) };
    pack(reply)
}

/// Starts writing the shard's snapshot; returns its length, or -1 when
/// the shard has no index.
#[no_mangle]
pub extern "C" fn vs_snapshot_begin() -> i64 {
    let stream = SHARD.0.borrow().as_ref().and_then(Shard::snapshot_stream);
    let n = stream.as_ref().map_or(-1, |s| i64::try_from(s.len()).unwrap_or(-1));
    streams().snapshot = stream;
    n
}

/// Fills `[ptr, ptr+len)` with the next snapshot bytes; returns how many,
/// or -1 (no snapshot begun, or the shard changed since).
///
/// # Safety
/// `ptr`/`len` must be a buffer from `vs_alloc(len)` (or larger).
#[no_mangle]
pub unsafe extern "C" fn vs_snapshot_read(ptr: i32, len: i32) -> i32 {
    // SAFETY: see the function contract.
    let out = unsafe { host_bytes(ptr, len) };
    let mut st = streams();
    let Some(stream) = st.snapshot.as_mut() else { return -1 };
    let shard = SHARD.0.borrow();
    let Some(shard) = shard.as_ref() else { return -1 };
    match shard.snapshot_read(stream, out) {
        Ok(n) => n as i32,
        Err(_) => {
            st.snapshot = None;
            -1
        }
    }
}

/// Starts loading a snapshot of `len` bytes (-1: length unknown).
#[no_mangle]
pub extern "C" fn vs_restore_begin(len: i64) {
    let mut l = ShardLoader::new();
    if let Ok(n) = u64::try_from(len) {
        l = l.expect_len(n);
    }
    let mut st = streams();
    st.snapshot = None;
    st.restore = Some(l);
}

/// Feeds `[ptr, ptr+len)` to the load; 0, 1 once the load has failed, or
/// -1 when no load was begun.
///
/// # Safety
/// `ptr`/`len` must be a buffer from `vs_alloc(len)` (or larger) with
/// `len` bytes written.
#[no_mangle]
pub unsafe extern "C" fn vs_restore_push(ptr: i32, len: i32) -> i32 {
    // SAFETY: see the function contract.
    let data = unsafe { host_bytes(ptr, len) };
    let mut st = streams();
    let Some(l) = st.restore.as_mut() else { return -1 };
    match l.push(data) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Ends the load: installs the new shard if every byte checked out
/// (keeping the planner settings) and returns the reply (`Restored` or an
/// `Error` response) as `vs_call` does.
#[no_mangle]
pub extern "C" fn vs_restore_finish() -> i64 {
    let loader = streams().restore.take();
    let resp = match loader.map(ShardLoader::finish) {
        None => Response::Error(crate::WireError::new(
            crate::ErrorCode::InvalidSnapshot,
            "no snapshot load was begun (vs_restore_begin)",
        )),
        Some(Err(e)) => Response::Error(e),
        Some(Ok(mut fresh)) => {
            let mut slot = SHARD.0.borrow_mut();
            if let Some(old) = slot.as_ref() {
                fresh.set_planner(old.planner());
            }
            let len = fresh.len() as u64;
            // Drop the old shard before the new one takes its place.
            *slot = None;
            *slot = Some(fresh);
            Response::Restored { len }
        }
    };
    pack(encode_response(&resp))
}

/// The ABI version, so a host can refuse a module it does not understand.
#[no_mangle]
pub extern "C" fn vs_abi_version() -> i32 {
    ABI_VERSION
}
