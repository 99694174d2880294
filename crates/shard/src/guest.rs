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

use crate::Shard;

/// Version of the raw ABI above.
pub const ABI_VERSION: i32 = 1;

struct Global(RefCell<Option<Shard>>);
// SAFETY: wasm32-unknown-unknown without the atomics feature has exactly
// one thread, so the RefCell is never shared across threads.
unsafe impl Sync for Global {}

static SHARD: Global = Global(RefCell::new(None));

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
        let mut slot = SHARD.0.borrow_mut();
        slot.get_or_insert_with(Shard::new).handle_bytes(req)
    };
    // SAFETY: the request buffer came from `vs_alloc(len)` and is no longer used.
    unsafe { vs_free(ptr, len) };
    let reply: Box<[u8]> = reply.into_boxed_slice();
    let l = reply.len() as u32;
    let p = if l == 0 { 0 } else { Box::into_raw(reply) as *mut u8 as u32 };
    ((p as i64) << 32) | l as i64
}

/// The ABI version, so a host can refuse a module it does not understand.
#[no_mangle]
pub extern "C" fn vs_abi_version() -> i32 {
    ABI_VERSION
}
