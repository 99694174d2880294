//! Writing a snapshot in pieces.
//!
//! The writer is a cursor over the sections of the format: which section,
//! and how far into it. Each refill encodes the next run of that section
//! (up to [`STAGE`] bytes, or one whole element where an element is larger:
//! a key, an upper-layer list) into a staging buffer, feeds it to the
//! running xxh3, and hands it out. So a snapshot of any size is written
//! with a 64 KiB buffer, and the caller decides how large its chunks are.
//!
//! The cursor is kept apart from the index ([`SnapshotEncoder`]) so that a
//! caller that hands chunks out over several calls (the wasm guest, a JS
//! binding) can hold it without borrowing the index; it re-checks on every
//! call that the index it is given still has the shape it began with.
//! [`SnapshotWriter`] pairs the two for everyone else.

use super::{Header, FORMAT_VERSION, MAGIC, PREFIX};
use crate::error::{Error, Result};
use crate::index::Index;
use crate::store::Codes;
use alloc::vec::Vec;
use xxhash_rust::xxh3::Xxh3Default;

/// Bytes encoded per refill (one element more when an element is larger).
pub(crate) const STAGE: usize = 64 * 1024;

/// The sections, in file order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sec {
    Prefix,
    Levels,
    KeyLens,
    Keys,
    Free,
    /// f32 values, i8 codes or binary words.
    Codes,
    /// i8 scales or binary magnitudes (nothing for f32).
    Scales,
    Norms,
    Layer0,
    Upper,
    Sum,
    Done,
}

impl Sec {
    fn next(self) -> Sec {
        match self {
            Sec::Prefix => Sec::Levels,
            Sec::Levels => Sec::KeyLens,
            Sec::KeyLens => Sec::Keys,
            Sec::Keys => Sec::Free,
            Sec::Free => Sec::Codes,
            Sec::Codes => Sec::Scales,
            Sec::Scales => Sec::Norms,
            Sec::Norms => Sec::Layer0,
            Sec::Layer0 => Sec::Upper,
            Sec::Upper => Sec::Sum,
            Sec::Sum | Sec::Done => Sec::Done,
        }
    }
}

/// What the encoder checks on each call, to notice an index that changed
/// under it (which would give a snapshot that is not any state of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    slots: usize,
    len: usize,
    free: usize,
    entry: Option<u32>,
    rng: u64,
}

impl Shape {
    fn of(idx: &Index) -> Shape {
        Shape {
            slots: idx.graph.slots(),
            len: idx.len,
            free: idx.free.len(),
            entry: idx.entry,
            rng: idx.rng.state,
        }
    }
}

/// A snapshot being written, as a cursor that does not borrow the index:
/// each [`SnapshotEncoder::read`] is given the index again. Made by
/// [`Index::snapshot_encoder`]. Most callers want [`SnapshotWriter`].
///
/// The index must not change between calls. The encoder notices a change
/// of its counts, entry point or RNG state (every insert moves the RNG;
/// every remove changes the counts) and then fails with `InvalidSnapshot`
/// rather than write bytes that belong to no state of the index; callers
/// that can also replace a vector in place (an update) must invalidate the
/// encoder themselves (the shard keeps a write generation for that).
#[derive(Clone)]
pub struct SnapshotEncoder {
    sec: Sec,
    /// Element position within the section.
    cursor: usize,
    stage: Vec<u8>,
    /// Bytes of `stage` already handed out.
    at: usize,
    hasher: Xxh3Default,
    prefix: Vec<u8>,
    total: u64,
    written: u64,
    shape: Shape,
}

impl core::fmt::Debug for SnapshotEncoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SnapshotEncoder")
            .field("section", &self.sec)
            .field("total", &self.total)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Starts writing this index's snapshot; see [`SnapshotEncoder`].
    pub fn snapshot_encoder(&self) -> SnapshotEncoder {
        let g = &self.graph;
        let slots = g.slots();
        let upper_words: usize = (0..slots as u32)
            .filter(|&s| g.is_live(s))
            .map(|s| g.levels[s as usize] as usize * (g.m + 1))
            .sum();
        let key_bytes = self.keys.total_len();
        let header = Header {
            dim: self.cfg.dim as u32,
            metric: self.cfg.metric.code(),
            quantization: self.cfg.quantization.code(),
            m: self.cfg.m as u32,
            ef_construction: self.cfg.ef_construction as u32,
            ef_search: self.cfg.ef_search as u32,
            seed: self.cfg.seed,
            rng_state: self.rng.state,
            slots: slots as u32,
            live: self.len as u32,
            free: self.free.len() as u32,
            entry: self.entry,
            max_level: self.max_level,
            key_bytes: key_bytes as u64,
            upper_words: upper_words as u64,
        };
        let head = header.encode();
        let mut prefix = Vec::with_capacity(PREFIX + head.len());
        prefix.extend_from_slice(&MAGIC);
        prefix.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        prefix.extend_from_slice(&(head.len() as u32).to_le_bytes());
        prefix.extend_from_slice(&head);
        let body = super::load::body_len(&header).unwrap_or(0);
        let total = prefix.len() as u64 + body + 8;
        SnapshotEncoder {
            sec: Sec::Prefix,
            cursor: 0,
            stage: Vec::new(),
            at: 0,
            hasher: Xxh3Default::new(),
            prefix,
            total,
            written: 0,
            shape: Shape::of(self),
        }
    }

    /// Starts writing this index's snapshot; see [`SnapshotWriter`].
    pub fn snapshot_writer(&self) -> SnapshotWriter<'_> {
        SnapshotWriter { index: self, enc: self.snapshot_encoder() }
    }
}

fn put<T: Copy, const N: usize>(
    stage: &mut Vec<u8>,
    src: &[T],
    cursor: &mut usize,
    le: impl Fn(T) -> [u8; N],
) -> bool {
    let room = (STAGE.saturating_sub(stage.len()) / N).max(1);
    let end = cursor.saturating_add(room).min(src.len());
    if let Some(run) = src.get(*cursor..end) {
        for &x in run {
            stage.extend_from_slice(&le(x));
        }
    }
    *cursor = end;
    end >= src.len()
}

impl SnapshotEncoder {
    /// Total bytes of the snapshot, known before the first one is written.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether the snapshot is empty (never: it always has a header).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Bytes handed out so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Whether every byte has been handed out.
    pub fn is_done(&self) -> bool {
        self.sec == Sec::Done && self.at >= self.stage.len()
    }

    /// Fills `out` with the next bytes of the snapshot of `index` (the
    /// index this encoder was made from, unchanged) and returns how many it
    /// wrote: `out.len()`, fewer only at the end, 0 once done.
    pub fn read(&mut self, index: &Index, out: &mut [u8]) -> Result<usize> {
        if Shape::of(index) != self.shape {
            return Err(Error::snapshot(
                "the index changed while its snapshot was being written; start again",
            ));
        }
        let mut n = 0;
        while n < out.len() {
            if self.at >= self.stage.len() {
                if self.sec == Sec::Done {
                    break;
                }
                self.refill(index);
                continue;
            }
            let take = (self.stage.len() - self.at).min(out.len() - n);
            out[n..n + take].copy_from_slice(&self.stage[self.at..self.at + take]);
            self.at += take;
            n += take;
        }
        self.written += n as u64;
        Ok(n)
    }

    /// Encodes the next run into the stage.
    fn refill(&mut self, idx: &Index) {
        self.stage.clear();
        self.at = 0;
        let g = &idx.graph;
        let slots = g.slots();
        while self.stage.len() < STAGE && self.sec != Sec::Done {
            let st = &mut self.stage;
            let c = &mut self.cursor;
            let done = match self.sec {
                Sec::Prefix => {
                    st.extend_from_slice(&self.prefix);
                    true
                }
                Sec::Levels => put(st, &g.levels, c, |x: u8| [x]),
                Sec::KeyLens => {
                    let end = c.saturating_add(STAGE / 2).min(slots);
                    for s in *c..end {
                        let l = if g.is_live(s as u32) { idx.keys.get(s as u32).len() } else { 0 };
                        st.extend_from_slice(&(l as u16).to_le_bytes());
                    }
                    *c = end;
                    end >= slots
                }
                Sec::Keys => {
                    while *c < slots && st.len() < STAGE {
                        if g.is_live(*c as u32) {
                            st.extend_from_slice(idx.keys.get(*c as u32).as_bytes());
                        }
                        *c += 1;
                    }
                    *c >= slots
                }
                Sec::Free => put(st, &idx.free, c, u32::to_le_bytes),
                Sec::Codes => match &idx.vectors.codes {
                    Codes::F32(d) => put(st, d, c, f32::to_le_bytes),
                    Codes::I8 { codes, .. } => put(st, codes, c, |x: i8| [x as u8]),
                    Codes::Binary { bits, .. } => put(st, bits, c, u64::to_le_bytes),
                },
                Sec::Scales => match &idx.vectors.codes {
                    Codes::F32(_) => true,
                    Codes::I8 { scales: s, .. } | Codes::Binary { alphas: s, .. } => {
                        put(st, s, c, f32::to_le_bytes)
                    }
                },
                Sec::Norms => put(st, &idx.vectors.norms, c, f32::to_le_bytes),
                Sec::Layer0 => put(st, &g.layer0, c, u32::to_le_bytes),
                Sec::Upper => {
                    while *c < slots && st.len() < STAGE {
                        let s = *c as u32;
                        if g.is_live(s) && g.levels[*c] > 0 {
                            if let Some(b) = g.upper.get(&s) {
                                for w in b.iter() {
                                    st.extend_from_slice(&w.to_le_bytes());
                                }
                            }
                        }
                        *c += 1;
                    }
                    *c >= slots
                }
                Sec::Sum => {
                    self.hasher.update(st);
                    let sum = self.hasher.digest();
                    st.extend_from_slice(&sum.to_le_bytes());
                    self.sec = Sec::Done;
                    return;
                }
                Sec::Done => true,
            };
            if done {
                self.sec = self.sec.next();
                self.cursor = 0;
            }
        }
        self.hasher.update(&self.stage);
    }
}

/// Writes a snapshot of a borrowed index in pieces: [`SnapshotWriter::read`]
/// into any buffer, or [`SnapshotWriter::chunks`]. With the `std` feature it
/// is a `std::io::Read`, so `std::io::copy(&mut writer, &mut file)` saves an
/// index with a 64 KiB buffer.
///
/// ```
/// use vecshard_core::{Config, Index, Metric, SnapshotLoader};
///
/// let mut index = Index::new(Config::new(2, Metric::L2).seed(1))?;
/// index.insert("a", &[0.0, 1.0])?;
/// let mut loader = SnapshotLoader::new();
/// for chunk in index.snapshot_writer().chunks(7) {
///     assert!(chunk.len() <= 7);
///     loader.push(&chunk)?;
/// }
/// let copy = loader.finish()?;
/// assert_eq!(copy.to_bytes(), index.to_bytes());
/// # Ok::<(), vecshard_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SnapshotWriter<'a> {
    index: &'a Index,
    enc: SnapshotEncoder,
}

impl<'a> SnapshotWriter<'a> {
    /// Total bytes of the snapshot.
    pub fn len(&self) -> u64 {
        self.enc.len()
    }

    /// Whether the snapshot is empty (never).
    pub fn is_empty(&self) -> bool {
        self.enc.is_empty()
    }

    /// Fills `out` with the next bytes; returns how many (0 once done).
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        // The borrow keeps the index unchanged, so the shape check passes.
        self.enc.read(self.index, out).unwrap_or(0)
    }

    /// The rest of the snapshot as chunks of `max` bytes (the last one
    /// shorter; `max` 0 is taken as 1).
    pub fn chunks(self, max: usize) -> Chunks<'a> {
        Chunks { w: self, max: max.max(1) }
    }
}

#[cfg(feature = "std")]
impl std::io::Read for SnapshotWriter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Ok(SnapshotWriter::read(self, buf))
    }
}

/// Iterator of snapshot chunks, from [`SnapshotWriter::chunks`].
#[derive(Clone, Debug)]
pub struct Chunks<'a> {
    w: SnapshotWriter<'a>,
    max: usize,
}

impl Iterator for Chunks<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let left = self.w.len().saturating_sub(self.w.enc.written());
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(self.max);
        if n == 0 {
            return None;
        }
        let mut v = alloc::vec![0u8; n];
        let got = self.w.read(&mut v);
        v.truncate(got);
        (got > 0).then_some(v)
    }
}
