//! Shard snapshots: the core snapshot plus the attributes, in one checked
//! container.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "VSSHARD\0"
//! 8       4     container version, u32 LE (currently 1)
//! 12      8     core snapshot length C, u64 LE
//! 20      C     core snapshot (vecshard-core format, validated by the core)
//! 20+C    8     attributes length A, u64 LE
//! 28+C    A     postcard Vec<(String, Vec<u8>)>, sorted by key, keys unique
//!               and present in the index
//! 28+C+A  8     xxh3_64 (seed 0) of every byte before it, u64 LE
//! ```
//!
//! The attribute bytes are the only attribute data stored: their typed form
//! and the attribute indexes are derived and rebuilt at load (see the
//! `attrs` module), so typed attributes did not change this format.
//!
//! # Streaming
//!
//! Like the core snapshot inside it, the container is written and read in
//! chunks: [`Encoder`] is a cursor that fills any buffer with the next
//! bytes (its total length is known first, because the core's is and the
//! attribute bytes are counted without encoding them), and [`Loader`] takes
//! chunks split anywhere, hands the core bytes to the core's
//! `SnapshotLoader` as they come, and parses the attribute pairs one at a
//! time, so no whole-snapshot buffer exists on either side. [`encode`] and
//! [`decode`] wrap them and give the bytes they always gave. The checksum
//! is checked at the end; every other check runs as the bytes arrive, and
//! the inputs accepted are exactly those the one-shot decoder accepted
//! (tested against it; that includes bytes after the attribute list inside
//! its declared length, which postcard's `from_bytes` ignored).
//!
//! [`decode`] also accepts a bare core snapshot (magic `VECSHARD`), so a
//! snapshot written by `Index::toBytes()` in the npm package or by the core
//! crate restores into a shard with no attributes.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use vecshard_core::{Index, Quoted, SnapshotEncoder, SnapshotLoader};
use xxhash_rust::xxh3::Xxh3Default;

use crate::protocol::{ErrorCode, WireError, MAX_ATTRIBUTES_LEN};

#[cfg(test)]
mod legacy;
#[cfg(test)]
mod tests;

/// Magic bytes of a shard snapshot.
pub const MAGIC: &[u8; 8] = b"VSSHARD\0";
/// Container version written by [`encode`].
pub const VERSION: u32 = 1;
const CORE_MAGIC: &[u8; 8] = b"VECSHARD";
/// Bytes the encoder stages at a time outside the core snapshot.
const STAGE: usize = 64 * 1024;

fn invalid(reason: impl Into<String>) -> WireError {
    WireError::new(
        ErrorCode::InvalidSnapshot,
        format!("invalid shard snapshot: {}; nothing was loaded", reason.into()),
    )
}

/// `(key, attribute bytes)` pairs, sorted by key.
pub type AttributePairs = Vec<(String, Vec<u8>)>;

/// Encodes an index and its attributes (`(key, bytes)` pairs sorted by key,
/// keys unique and present in the index) into one buffer: an [`Encoder`]
/// drained.
pub fn encode(index: &Index, pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let src = SlicePairs(pairs);
    let mut enc = Encoder::new(index, &src);
    let mut out = alloc::vec![0u8; usize::try_from(enc.len()).unwrap_or(usize::MAX)];
    let n = enc.read(index, &src, &mut out).unwrap_or(0);
    out.truncate(n);
    out
}

/// Decodes and validates a shard snapshot (or a bare core snapshot): the
/// index and its attribute pairs. A [`Loader`] fed the whole slice.
pub fn decode(bytes: &[u8]) -> Result<(Index, AttributePairs), WireError> {
    let mut l = Loader::new().expect_len(bytes.len() as u64);
    l.push(bytes)?;
    l.finish()
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Where the encoder gets the attribute pairs from, in key order. The
/// shard implements it over its attribute store; the npm `Index` over its
/// per-slot attributes (a streaming `saveChunks`).
pub trait PairSource {
    /// Number of pairs.
    fn pair_count(&self) -> usize;
    /// Pair `i` (keys sorted, unique, present in the index), or `None` if
    /// it is gone (the encoder then fails: the attributes changed).
    fn pair(&self, i: usize) -> Option<(&str, &[u8])>;
}

struct SlicePairs<'a>(&'a [(&'a str, &'a [u8])]);

impl PairSource for SlicePairs<'_> {
    fn pair_count(&self) -> usize {
        self.0.len()
    }
    fn pair(&self, i: usize) -> Option<(&str, &[u8])> {
        self.0.get(i).copied()
    }
}

/// Appends `x` as a LEB128 varint, as postcard encodes lengths.
fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn varint_len(x: u64) -> u64 {
    (64 - (x | 1).leading_zeros() as u64).div_ceil(7)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ESec {
    Head,
    Core,
    AttrHead,
    Attrs,
    Sum,
    Done,
}

/// A shard snapshot being written: a cursor over the container that does
/// not borrow the index or the attributes (each `read` gets
/// them again), so the wasm guest can hand out chunks across calls.
/// `Shard::snapshot_writer` is the borrowing form most callers want.
#[derive(Clone)]
pub struct Encoder {
    sec: ESec,
    core: SnapshotEncoder,
    core_len: u64,
    attr_len: u64,
    pairs: usize,
    /// Next pair to stage.
    pair: usize,
    stage: Vec<u8>,
    at: usize,
    hasher: Xxh3Default,
    total: u64,
    written: u64,
}

impl core::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Encoder")
            .field("section", &self.sec)
            .field("total", &self.total)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// A cursor over the container of `index` and the pairs of `src`
    /// (the same two must be handed to every [`Encoder::read`]).
    pub fn new(index: &Index, src: &dyn PairSource) -> Encoder {
        let core = index.snapshot_encoder();
        let core_len = core.len();
        let pairs = src.pair_count();
        let mut attr_len = varint_len(pairs as u64);
        for i in 0..pairs {
            let (k, v) = src.pair(i).unwrap_or(("", &[]));
            attr_len += varint_len(k.len() as u64)
                + k.len() as u64
                + varint_len(v.len() as u64)
                + v.len() as u64;
        }
        Encoder {
            sec: ESec::Head,
            core,
            core_len,
            attr_len,
            pairs,
            pair: 0,
            stage: Vec::new(),
            at: 0,
            hasher: Xxh3Default::new(),
            total: 20 + core_len + 8 + attr_len + 8,
            written: 0,
        }
    }

    /// Total bytes of the snapshot, known before the first one is written.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether the snapshot is empty (never).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Bytes handed out so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Fills `out` with the next bytes; returns how many (0 once done).
    /// Fails if the index changed since [`Encoder::new`].
    pub fn read(
        &mut self,
        index: &Index,
        src: &dyn PairSource,
        out: &mut [u8],
    ) -> Result<usize, WireError> {
        let mut n = 0;
        while n < out.len() {
            if self.at < self.stage.len() {
                let take = (self.stage.len() - self.at).min(out.len() - n);
                out[n..n + take].copy_from_slice(&self.stage[self.at..self.at + take]);
                self.at += take;
                n += take;
                continue;
            }
            self.stage.clear();
            self.at = 0;
            match self.sec {
                ESec::Head => {
                    self.stage.extend_from_slice(MAGIC);
                    self.stage.extend_from_slice(&VERSION.to_le_bytes());
                    self.stage.extend_from_slice(&self.core_len.to_le_bytes());
                    self.sec = ESec::Core;
                }
                ESec::Core => {
                    // Straight from the core encoder into `out`: no staging.
                    let got = self.core.read(index, &mut out[n..]).map_err(WireError::from)?;
                    self.hasher.update(&out[n..n + got]);
                    n += got;
                    if self.core.is_done() {
                        self.sec = ESec::AttrHead;
                    }
                    continue;
                }
                ESec::AttrHead => {
                    self.stage.extend_from_slice(&self.attr_len.to_le_bytes());
                    put_varint(&mut self.stage, self.pairs as u64);
                    self.sec = ESec::Attrs;
                }
                ESec::Attrs => {
                    while self.pair < self.pairs && self.stage.len() < STAGE {
                        let (k, v) = src.pair(self.pair).ok_or_else(|| {
                            invalid("the attributes changed while the snapshot was written")
                        })?;
                        put_varint(&mut self.stage, k.len() as u64);
                        self.stage.extend_from_slice(k.as_bytes());
                        put_varint(&mut self.stage, v.len() as u64);
                        self.stage.extend_from_slice(v);
                        self.pair += 1;
                    }
                    if self.pair >= self.pairs {
                        self.sec = ESec::Sum;
                    }
                }
                ESec::Sum => {
                    let sum = self.hasher.digest();
                    self.stage.extend_from_slice(&sum.to_le_bytes());
                    self.sec = ESec::Done;
                    // The checksum is not part of what it sums.
                    self.at = 0;
                    continue;
                }
                ESec::Done => break,
            }
            self.hasher.update(&self.stage);
        }
        self.written += n as u64;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LSec {
    Magic,
    /// A bare core snapshot: everything goes to the core loader.
    Bare,
    Version,
    CoreLen,
    Core,
    AttrLen,
    /// The pair count, then per pair: key length, key, value length, value.
    Count,
    KeyLen,
    Key,
    ValLen,
    Val,
    /// Bytes after the last pair, inside the attribute length (ignored, as
    /// the one-shot decoder ignored them).
    Tail,
    Sum,
    Done,
}

/// What a [`Loader`] does with each attribute pair: called with the loaded
/// index, the pair's slot and key, and its bytes (already checked: sorted
/// after the previous key, key present, at most `MAX_ATTRIBUTES_LEN`).
pub type PairSink<'a> = dyn FnMut(&Index, u32, &str, Vec<u8>) -> Result<(), WireError> + 'a;

/// Loads a shard snapshot (or a bare core snapshot) from chunks of any size,
/// split anywhere. Peak memory is the index, the attributes and one chunk.
///
/// ```
/// use vecshard_shard::snapshot::{encode, Loader};
/// use vecshard_core::{Config, Index, Metric};
///
/// let mut index = Index::new(Config::new(2, Metric::L2).seed(1)).unwrap();
/// index.insert("a", &[0.0, 1.0]).unwrap();
/// let bytes = encode(&index, &[("a", br#"{"x":1}"#)]);
/// let mut loader = Loader::new();
/// for piece in bytes.chunks(5) {
///     loader.push(piece).unwrap();
/// }
/// let (copy, attrs) = loader.finish().unwrap();
/// assert_eq!(copy.len(), 1);
/// assert_eq!(attrs[0].0, "a");
/// ```
pub struct Loader {
    sec: LSec,
    expect: Option<u64>,
    failed: Option<WireError>,
    carry: Vec<u8>,
    hasher: Xxh3Default,
    received: u64,
    core: Option<SnapshotLoader>,
    index: Option<Index>,
    /// Bytes left in the core snapshot, then in the attributes.
    left: u64,
    /// Pairs still to come.
    pairs_left: usize,
    /// Length of the key or value being read.
    want: usize,
    key: String,
    prev: Option<String>,
    val: Vec<u8>,
    collected: AttributePairs,
}

impl core::fmt::Debug for Loader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Loader")
            .field("section", &self.sec)
            .field("received", &self.received)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Default for Loader {
    fn default() -> Loader {
        Loader::new()
    }
}

/// Decodes a varint the way postcard does for `usize`: at most
/// `ceil(bits/7)` bytes, the last one without overflow bits.
fn varint(bytes: &[u8]) -> Option<usize> {
    let max = (usize::BITS as usize).div_ceil(7);
    let mut out = 0usize;
    for (i, &b) in bytes.iter().enumerate().take(max) {
        out |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            let last_max = (1u32 << (usize::BITS as usize - 7 * (max - 1))) - 1;
            if i == max - 1 && b as u32 > last_max {
                return None;
            }
            return Some(out);
        }
    }
    None
}

impl Loader {
    /// A loader for a snapshot of unknown length.
    pub fn new() -> Loader {
        Loader {
            sec: LSec::Magic,
            expect: None,
            failed: None,
            carry: Vec::new(),
            hasher: Xxh3Default::new(),
            received: 0,
            core: None,
            index: None,
            left: 0,
            pairs_left: 0,
            want: 0,
            key: String::new(),
            prev: None,
            val: Vec::new(),
            collected: Vec::new(),
        }
    }

    /// Declares the total length (a file size): the lengths inside are
    /// checked against it before anything is allocated for them.
    pub fn expect_len(mut self, len: u64) -> Loader {
        self.expect = Some(len);
        self
    }

    /// Bytes taken so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Takes the next chunk; attribute pairs are kept for [`Loader::finish`].
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), WireError> {
        let mut pairs = core::mem::take(&mut self.collected);
        let r = self.push_with(chunk, &mut |_, _, k, v| {
            pairs.push((String::from(k), v));
            Ok(())
        });
        self.collected = pairs;
        r
    }

    /// Takes the next chunk and gives each completed attribute pair to
    /// `sink` instead of keeping it. An error (from the bytes or from the
    /// sink) is final.
    pub fn push_with(&mut self, chunk: &[u8], sink: &mut PairSink<'_>) -> Result<(), WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.feed(chunk, sink);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
            self.core = None;
            self.index = None;
            self.collected = Vec::new();
        }
        r
    }

    /// The index and the attribute pairs [`Loader::push`] kept.
    pub fn finish(self) -> Result<(Index, AttributePairs), WireError> {
        let mut this = self;
        let pairs = core::mem::take(&mut this.collected);
        Ok((this.finish_index()?, pairs))
    }

    /// The index, once every byte arrived and checked out (the pairs went
    /// to the sinks of [`Loader::push_with`]).
    pub fn finish_index(mut self) -> Result<Index, WireError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        match self.sec {
            LSec::Bare => {
                let core = self.core.take().ok_or_else(|| invalid("no core snapshot"))?;
                core.finish().map_err(WireError::from)
            }
            LSec::Done => self.index.take().ok_or_else(|| invalid("no index")),
            _ => Err(invalid(format!("truncated after {} bytes", self.received))),
        }
    }

    /// Moves up to `want - carry.len()` bytes into `carry`.
    fn gather(&mut self, data: &[u8], want: usize) -> usize {
        let take = want.saturating_sub(self.carry.len()).min(data.len());
        self.carry.extend_from_slice(&data[..take]);
        take
    }

    /// Gathers a varint byte by byte; `Some` once it is complete.
    fn gather_varint(&mut self, data: &[u8], used: &mut usize) -> Result<Option<usize>, WireError> {
        let max = (usize::BITS as usize).div_ceil(7);
        while *used < data.len() {
            let b = data[*used];
            *used += 1;
            self.carry.push(b);
            if b & 0x80 == 0 || self.carry.len() == max {
                let v = varint(&self.carry).ok_or_else(|| invalid("attributes: bad varint"))?;
                self.carry.clear();
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    fn feed(&mut self, mut data: &[u8], sink: &mut PairSink<'_>) -> Result<(), WireError> {
        while !data.is_empty() {
            let sec = self.sec;
            // Bytes of the attribute list (or the core) this step may take.
            let avail = usize::try_from(self.left).unwrap_or(usize::MAX).min(data.len());
            let mut used = 0;
            match sec {
                LSec::Magic => {
                    used = self.gather(data, 8);
                    if self.carry.len() == 8 {
                        let magic = core::mem::take(&mut self.carry);
                        if magic == CORE_MAGIC {
                            let mut core = SnapshotLoader::new();
                            if let Some(n) = self.expect {
                                core = core.expect_len(n);
                            }
                            core.push(&magic).map_err(WireError::from)?;
                            self.core = Some(core);
                            self.sec = LSec::Bare;
                        } else if magic == MAGIC {
                            self.sec = LSec::Version;
                        } else {
                            return Err(invalid("bad magic (expected VSSHARD or VECSHARD)"));
                        }
                    }
                }
                LSec::Bare => {
                    let core = self.core.as_mut().ok_or_else(|| invalid("no core snapshot"))?;
                    core.push(data).map_err(WireError::from)?;
                    used = data.len();
                }
                LSec::Version => {
                    used = self.gather(data, 4);
                    if self.carry.len() == 4 {
                        let v = u32::from_le_bytes(self.take_carry());
                        if v != VERSION {
                            return Err(invalid(format!("container version {v} is not supported")));
                        }
                        self.sec = LSec::CoreLen;
                    }
                }
                LSec::CoreLen => {
                    used = self.gather(data, 8);
                    if self.carry.len() == 8 {
                        let clen = u64::from_le_bytes(self.take_carry());
                        if usize::try_from(clen).is_err() {
                            return Err(invalid("core length overflows"));
                        }
                        if let Some(total) = self.expect {
                            if clen.checked_add(20 + 8 + 8).is_none_or(|n| n > total) {
                                return Err(invalid("truncated in core snapshot"));
                            }
                        }
                        self.core = Some(SnapshotLoader::new().expect_len(clen));
                        self.left = clen;
                        self.sec = LSec::Core;
                    }
                }
                LSec::Core => {
                    let core = self.core.as_mut().ok_or_else(|| invalid("no core snapshot"))?;
                    core.push(&data[..avail]).map_err(WireError::from)?;
                    used = avail;
                    self.left -= avail as u64;
                }
                LSec::AttrLen => {
                    used = self.gather(data, 8);
                    if self.carry.len() == 8 {
                        let alen = u64::from_le_bytes(self.take_carry());
                        if usize::try_from(alen).is_err() {
                            return Err(invalid("attributes length overflows"));
                        }
                        if let Some(total) = self.expect {
                            let at = self.received + used as u64;
                            if at.checked_add(alen).and_then(|n| n.checked_add(8)) != Some(total) {
                                return Err(invalid(
                                    "the attributes length disagrees with the snapshot length",
                                ));
                            }
                        }
                        self.left = alen;
                        self.sec = LSec::Count;
                    }
                }
                LSec::Count | LSec::KeyLen | LSec::ValLen => {
                    let got = self.gather_varint(&data[..avail], &mut used)?;
                    self.left -= used as u64;
                    if let Some(v) = got {
                        self.varint_done(sec, v, sink)?;
                    }
                }
                LSec::Key | LSec::Val => {
                    let buf = if sec == LSec::Key { &mut self.carry } else { &mut self.val };
                    let take = (self.want - buf.len()).min(avail);
                    buf.extend_from_slice(&data[..take]);
                    let full = buf.len() == self.want;
                    used = take;
                    self.left -= take as u64;
                    if full {
                        self.field_done(sink)?;
                    }
                }
                LSec::Tail => {
                    used = avail;
                    self.left -= avail as u64;
                    if self.left == 0 {
                        self.sec = LSec::Sum;
                    }
                }
                LSec::Sum => {
                    used = self.gather(data, 8);
                    if self.carry.len() == 8 {
                        let sum = u64::from_le_bytes(self.take_carry());
                        if self.hasher.digest() != sum {
                            return Err(invalid(
                                "checksum mismatch (the file is corrupt or truncated)",
                            ));
                        }
                        self.sec = LSec::Done;
                    }
                }
                LSec::Done => return Err(invalid("trailing bytes")),
            }
            // The checksum covers everything before it; a bare core
            // snapshot's is checked by the core loader.
            if sec != LSec::Bare && sec != LSec::Sum {
                self.hasher.update(&data[..used]);
            }
            self.received += used as u64;
            data = &data[used..];
            self.after_step()?;
        }
        Ok(())
    }

    /// Section ends that do not wait for more bytes: the core snapshot
    /// complete, or the attribute bytes used up.
    fn after_step(&mut self) -> Result<(), WireError> {
        match self.sec {
            LSec::Core if self.left == 0 => {
                let core = self.core.take().ok_or_else(|| invalid("no core snapshot"))?;
                self.index = Some(core.finish().map_err(WireError::from)?);
                self.sec = LSec::AttrLen;
            }
            LSec::Count | LSec::KeyLen | LSec::Key | LSec::ValLen | LSec::Val if self.left == 0 => {
                return Err(invalid("attributes: the list ends early"));
            }
            _ => {}
        }
        Ok(())
    }

    fn take_carry<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.carry[..N]);
        self.carry.clear();
        a
    }

    /// A varint of the attribute list is complete.
    fn varint_done(
        &mut self,
        sec: LSec,
        v: usize,
        sink: &mut PairSink<'_>,
    ) -> Result<(), WireError> {
        match sec {
            LSec::Count => {
                self.pairs_left = v;
                self.next_pair();
                return Ok(());
            }
            LSec::KeyLen => {
                // No element has a longer key, so the pair would name an
                // unknown key (which the one-shot decoder refused too); this
                // bounds the key buffer.
                if v > vecshard_core::MAX_KEY_LEN {
                    return Err(invalid("attributes for a key longer than any key"));
                }
                self.sec = LSec::Key;
            }
            _ => {
                if v > MAX_ATTRIBUTES_LEN {
                    return Err(invalid(format!(
                        "attributes of {} exceed {MAX_ATTRIBUTES_LEN} bytes",
                        Quoted(&self.key)
                    )));
                }
                self.val = Vec::with_capacity(v);
                self.sec = LSec::Val;
            }
        }
        self.want = v;
        if v == 0 {
            self.field_done(sink)?;
        }
        Ok(())
    }

    /// A key or a value is complete.
    fn field_done(&mut self, sink: &mut PairSink<'_>) -> Result<(), WireError> {
        if self.sec == LSec::Key {
            let k = core::mem::take(&mut self.carry);
            self.key =
                String::from_utf8(k).map_err(|_| invalid("attributes: a key is not UTF-8"))?;
            self.sec = LSec::ValLen;
            Ok(())
        } else {
            self.pair_done(sink)
        }
    }

    fn next_pair(&mut self) {
        if self.pairs_left == 0 {
            self.sec = if self.left == 0 { LSec::Sum } else { LSec::Tail };
        } else {
            self.pairs_left -= 1;
            self.sec = LSec::KeyLen;
        }
    }

    fn pair_done(&mut self, sink: &mut PairSink<'_>) -> Result<(), WireError> {
        let index = self.index.as_ref().ok_or_else(|| invalid("no index"))?;
        let key = core::mem::take(&mut self.key);
        if self.prev.as_deref().is_some_and(|p| p >= key.as_str()) {
            return Err(invalid("attribute keys are not sorted and unique"));
        }
        let slot = index
            .slot_of(&key)
            .ok_or_else(|| invalid(format!("attributes for unknown key {}", Quoted(&key))))?;
        sink(index, slot, &key, core::mem::take(&mut self.val))?;
        self.prev = Some(key);
        self.next_pair();
        Ok(())
    }
}
