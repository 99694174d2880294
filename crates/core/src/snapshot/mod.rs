//! The snapshot format (version 1), written and read in chunks.
//!
//! A snapshot is a byte string, identical on every platform:
//!
//! ```text
//! offset  size        field
//! 0       8           magic "VECSHARD"
//! 8       4           format version, u32 LE (1)
//! 12      4           header length H, u32 LE
//! 16      H           header: postcard-encoded `Header` (config, counts, rng state)
//! 16+H    …           body: raw little-endian arrays, in this order
//!                       levels      u8  × slots          (255 = free slot)
//!                       key_len     u16 × slots          (0 for free slots)
//!                       key bytes   u8  × key_bytes      (live keys, slot order)
//!                       free list   u32 × free           (reuse order)
//!                       vectors     f32 × slots·dim              (f32)
//!                                 | i8 × slots·dim, f32 × slots  (i8: codes, scales)
//!                                 | u64 × slots·⌈dim/64⌉, f32 × slots (binary: bits, α)
//!                       norms       f32 × slots          (cosine only)
//!                       layer 0     u32 × slots·(m0+1)   ([count, links…] per slot)
//!                       upper       u32 × upper_words    (per live slot with level ≥ 1,
//!                                                         in slot order: level·(m+1))
//! end−8   8           checksum: xxh3_64 of every preceding byte, u64 LE
//! ```
//!
//! # Streaming
//!
//! Snapshots are written and read in chunks, so that saving or loading an
//! index needs the index plus about one chunk of memory, not the index plus
//! one or two whole copies of its bytes. In a wasm shard this is the
//! difference between fitting and not: linear memory never shrinks, so
//! the peak of a load *is* the shard's size from then on.
//!
//! - [`SnapshotWriter`] (from [`Index::snapshot_writer`]) yields the bytes
//!   in order, into any buffer the caller hands it ([`SnapshotWriter::read`],
//!   `std::io::Read` with the `std` feature) or as chunks
//!   ([`SnapshotWriter::chunks`]). It stages at most 64 KiB at a time and
//!   hashes as it goes; the checksum is the last 8 bytes. Its total length
//!   is known before the first byte ([`SnapshotWriter::len`]), which the
//!   shard container needs for its length field. [`SnapshotEncoder`] is the
//!   same cursor without the borrow, for callers that hand out chunks across
//!   calls (the wasm guest ABI).
//! - [`SnapshotLoader`] takes chunks of any size, split anywhere (inside a
//!   header field, a key, a link list), and builds the index as they come:
//!   every array is reserved exactly from the header's counts and filled in
//!   place, so nothing is copied and no growth slack is left.
//!
//! The bytes did not change: [`Index::to_bytes`] and [`Index::from_bytes`]
//! are thin wrappers over the two, and the golden files of format 1 load.
//!
//! # Trust
//!
//! Loading trusts nothing. With the stream, the checksum can only be
//! checked at the end, so everything else is checked on the way: the header
//! (config, and the exact body size computed with overflow-checked
//! arithmetic), then every value as it arrives (levels, key lengths and
//! UTF-8, uniqueness of keys, the free list, finiteness of vectors, link
//! targets, caps, duplicates), then the checksum, then the entry point and
//! layer-0 reachability (islands are attached, see
//! `Index::repair_reachability`). The inputs accepted are exactly those the
//! one-shot loader of format 1 accepted (a test runs both on mutated
//! snapshots). Any failure is an `InvalidSnapshot` error; no input makes it
//! panic.
//!
//! Allocation follows the header before the checksum can vouch for it, so
//! the loader reserves with `try_reserve_exact` (a header that asks for
//! more than can be had is an error, not an abort), and a caller that knows
//! the stream's length ([`SnapshotLoader::expect_len`]: a file size, a
//! slice) has the header's size checked against it before any allocation,
//! as the one-shot loader always did.
//!
//! Compatibility: a change to this layout bumps [`FORMAT_VERSION`]; older
//! versions keep loading (golden files under `tests/golden/`).

use crate::distance::Kernels;
use crate::error::Result;
use crate::index::Index;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

mod encode;
#[cfg(test)]
mod legacy;
mod load;
#[cfg(test)]
mod tests;

pub use encode::{Chunks, SnapshotEncoder, SnapshotWriter};
pub use load::SnapshotLoader;

/// First 8 bytes of every snapshot.
pub const MAGIC: [u8; 8] = *b"VECSHARD";
/// The snapshot format version this build writes.
pub const FORMAT_VERSION: u32 = 1;
/// The default chunk size of [`SnapshotWriter::chunks`] users (1 MiB).
pub const DEFAULT_CHUNK: usize = 1 << 20;

/// Bytes before the header: magic, version, header length.
const PREFIX: usize = 16;
/// The longest header a valid snapshot has. Its fields are 15 varints of at
/// most 10 bytes and two bytes; anything longer fails to parse exactly (a
/// header must be consumed to its last byte), so refusing it early accepts
/// exactly the same snapshots and bounds the buffer.
const MAX_HEADER: usize = 256;

#[derive(Serialize, Deserialize, Debug, Clone)]
struct Header {
    dim: u32,
    metric: u8,
    quantization: u8,
    m: u32,
    ef_construction: u32,
    ef_search: u32,
    seed: u64,
    rng_state: u64,
    slots: u32,
    live: u32,
    free: u32,
    entry: Option<u32>,
    max_level: u8,
    key_bytes: u64,
    upper_words: u64,
}

/// The header's bytes, exactly as postcard lays out `Header` (fields in
/// order; `u8` as one byte; `u32`/`u64` as LEB128 varints; `Option` as a
/// 0/1 tag), written and read by hand.
///
/// Why not postcard here: its serde visitors for this one struct were the
/// biggest function of the npm `Index` module's snapshot code (about 6 KB
/// of wasm); these are a few hundred bytes. The bytes are the same (the
/// tests compare both ways with postcard), and [`Header::decode`] accepts
/// exactly what `postcard::take_from_bytes` accepted, with its messages.
impl Header {
    fn encode(&self) -> Vec<u8> {
        fn var(out: &mut Vec<u8>, mut x: u64) {
            while x >= 0x80 {
                out.push(x as u8 | 0x80);
                x >>= 7;
            }
            out.push(x as u8);
        }
        let mut o = Vec::with_capacity(64);
        var(&mut o, self.dim.into());
        o.push(self.metric);
        o.push(self.quantization);
        for x in [self.m, self.ef_construction, self.ef_search] {
            var(&mut o, x.into());
        }
        var(&mut o, self.seed);
        var(&mut o, self.rng_state);
        for x in [self.slots, self.live, self.free] {
            var(&mut o, x.into());
        }
        match self.entry {
            None => o.push(0),
            Some(e) => {
                o.push(1);
                var(&mut o, e.into());
            }
        }
        o.push(self.max_level);
        var(&mut o, self.key_bytes);
        var(&mut o, self.upper_words);
        o
    }

    /// Reads a header that must fill `b` exactly; the error is the message
    /// postcard gave for the same bytes (or the trailing-bytes one).
    fn decode(b: &[u8]) -> core::result::Result<Header, &'static str> {
        struct R<'a>(&'a [u8], usize);
        impl R<'_> {
            fn byte(&mut self) -> core::result::Result<u8, &'static str> {
                let v = *self
                    .0
                    .get(self.1)
                    .ok_or("header: Hit the end of buffer, expected more data")?;
                self.1 += 1;
                Ok(v)
            }
            // postcard's varint: at most ceil(bits/7) bytes, and the last
            // one may not carry bits beyond the type's width.
            fn var(&mut self, bits: u32) -> core::result::Result<u64, &'static str> {
                let max = bits.div_ceil(7);
                let mut out = 0u64;
                for n in 0..max {
                    let v = self.byte()?;
                    out |= u64::from(v & 0x7f) << (7 * n);
                    if v & 0x80 == 0 {
                        if n == max - 1 && u32::from(v) >= 1 << (bits % 7) {
                            break;
                        }
                        return Ok(out);
                    }
                }
                Err("header: Found a varint that didn't terminate. Is the usize too big for this platform?")
            }
        }
        let mut r = R(b, 0);
        let r = &mut r;
        let dim = r.var(32)? as u32;
        let metric = r.byte()?;
        let quantization = r.byte()?;
        let m = r.var(32)? as u32;
        let ef_construction = r.var(32)? as u32;
        let ef_search = r.var(32)? as u32;
        let seed = r.var(64)?;
        let rng_state = r.var(64)?;
        let slots = r.var(32)? as u32;
        let live = r.var(32)? as u32;
        let free = r.var(32)? as u32;
        let entry = match r.byte()? {
            0 => None,
            1 => Some(r.var(32)? as u32),
            _ => return Err("header: Found an Option discriminant that wasn't 0 or 1"),
        };
        let max_level = r.byte()?;
        let key_bytes = r.var(64)?;
        let upper_words = r.var(64)?;
        if r.1 != b.len() {
            return Err("header has trailing bytes");
        }
        Ok(Header {
            dim,
            metric,
            quantization,
            m,
            ef_construction,
            ef_search,
            seed,
            rng_state,
            slots,
            live,
            free,
            entry,
            max_level,
            key_bytes,
            upper_words,
        })
    }
}

impl Index {
    /// Serializes the index (see the format above) into one buffer: the
    /// [`SnapshotWriter`] drained. Deterministic: equal indexes give equal
    /// bytes. To save without holding the whole snapshot, use
    /// [`Index::snapshot_writer`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.snapshot_writer();
        let mut out = alloc::vec![0u8; usize::try_from(w.len()).unwrap_or(usize::MAX)];
        let n = w.read(&mut out);
        debug_assert_eq!(n, out.len());
        out.truncate(n);
        out
    }

    /// Loads a snapshot written by [`Index::to_bytes`] or a
    /// [`SnapshotWriter`] (any supported format version): a
    /// [`SnapshotLoader`] fed the whole slice. Every byte is validated;
    /// corruption gives an `InvalidSnapshot` error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Index> {
        Index::from_bytes_with_kernels(bytes, Kernels::best())
    }

    /// [`Index::from_bytes`] with an explicit kernel set.
    pub fn from_bytes_with_kernels(bytes: &[u8], kernels: Kernels) -> Result<Index> {
        let mut l = SnapshotLoader::with_kernels(kernels).expect_len(bytes.len() as u64);
        l.push(bytes)?;
        l.finish()
    }
}
