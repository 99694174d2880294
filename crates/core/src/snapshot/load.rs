//! Loading a snapshot from chunks.
//!
//! The loader is a state machine over the sections of the format. Bytes
//! arrive in chunks split anywhere; each section takes what it can as whole
//! elements (a level, a key length, a float, a link word), and the few
//! bytes of an element cut by a chunk boundary wait in `carry` (at most 7
//! bytes, or one key, or the 16-byte prefix, or the header). Every element
//! is validated as it arrives and written straight into its final place,
//! so the only memory a load needs besides the index is the caller's chunk.
//!
//! Section by section, the checks are those of the one-shot loader of
//! format 1, in the same order (the old loader ran them after the
//! checksum; here the checksum comes last, since it is the last 8 bytes):
//! see the module docs of `snapshot`.

use super::{Header, FORMAT_VERSION, MAGIC, MAX_HEADER, PREFIX};
use crate::config::{Config, Metric, Quantization};
use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::graph::{Graph, FREE, MAX_LEVEL};
use crate::index::Index;
use crate::keys::Keys;
use crate::rng::SplitMix64;
use crate::search::Scratch;
use crate::store::{Codes, Prepared, Vectors};
use crate::MAX_KEY_LEN;
use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;
use xxhash_rust::xxh3::Xxh3Default;

/// The body size (bytes between the header and the checksum) a header
/// implies, with overflow-checked arithmetic; `None` if it overflows or
/// names an unknown metric or quantization.
pub(super) fn body_len(h: &Header) -> Option<u64> {
    let metric = Metric::from_code(h.metric)?;
    let quant = Quantization::from_code(h.quantization)?;
    let dim = h.dim as u64;
    let words = dim.div_ceil(64);
    let vec_bytes = match quant {
        Quantization::F32 => 4 * dim,
        Quantization::I8 => dim + 4,
        Quantization::Binary => 8 * words + 4,
    };
    let norm_bytes = if metric == Metric::Cosine { 4 } else { 0 };
    let m0 = 2 * h.m as u64;
    let per_slot = 1 + 2 + vec_bytes + norm_bytes + 4 * (m0 + 1);
    (h.slots as u64)
        .checked_mul(per_slot)?
        .checked_add(h.key_bytes)?
        .checked_add(4 * h.free as u64)?
        .checked_add(h.upper_words.checked_mul(4)?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sec {
    Prefix,
    Header,
    Levels,
    KeyLens,
    Keys,
    Free,
    Codes,
    Scales,
    Norms,
    Layer0,
    Upper,
    Sum,
    Done,
}

impl Sec {
    fn name(self) -> &'static str {
        match self {
            Sec::Prefix => "the prefix",
            Sec::Header => "the header",
            Sec::Levels => "the levels",
            Sec::KeyLens => "the key lengths",
            Sec::Keys => "the keys",
            Sec::Free => "the free list",
            Sec::Codes => "the vectors",
            Sec::Scales => "the vector scales",
            Sec::Norms => "the norms",
            Sec::Layer0 => "the layer-0 links",
            Sec::Upper => "the upper-layer links",
            Sec::Sum => "the checksum",
            Sec::Done => "the end",
        }
    }
}

/// Builds an [`Index`] from snapshot bytes that arrive in chunks of any
/// size, split anywhere. Peak memory is the index plus the caller's chunk:
/// every array is reserved exactly from the header and filled in place.
///
/// ```
/// use vecshard_core::{Config, Index, Metric, SnapshotLoader};
///
/// let mut index = Index::new(Config::new(2, Metric::Cosine).seed(1))?;
/// index.insert("a", &[1.0, 0.5])?;
/// let bytes = index.to_bytes();
/// let mut loader = SnapshotLoader::new().expect_len(bytes.len() as u64);
/// for piece in bytes.chunks(3) {
///     loader.push(piece)?;
/// }
/// assert_eq!(loader.finish()?.to_bytes(), bytes);
/// # Ok::<(), vecshard_core::Error>(())
/// ```
///
/// After an error every later [`push`](SnapshotLoader::push) and
/// [`finish`](SnapshotLoader::finish) returns it again, and the partial
/// index is dropped at once.
pub struct SnapshotLoader {
    kernels: Kernels,
    expect: Option<u64>,
    failed: Option<Error>,
    sec: Sec,
    /// Bytes of an element cut by a chunk boundary (or of the prefix,
    /// header, a key or the checksum, which are gathered whole).
    carry: Vec<u8>,
    hasher: Xxh3Default,
    received: u64,
    /// Length of the header, from the prefix.
    header_len: usize,
    st: Option<Box<State>>,
}

impl core::fmt::Debug for SnapshotLoader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SnapshotLoader")
            .field("section", &self.sec)
            .field("received", &self.received)
            .field("expect", &self.expect)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// The index under construction, once the header is known.
struct State {
    h: Header,
    cfg: Config,
    slots: usize,
    m: usize,
    stride0: usize,
    graph: Graph,
    keys: Keys,
    free: Vec<u32>,
    vectors: Vectors,
    /// Elements (bytes for the keys section) done in the current section.
    cursor: usize,
    live: usize,
    top: u8,
    key_total: u64,
    /// Next slot whose key (keys section) or upper lists (upper section)
    /// come next.
    slot: usize,
    upper_nodes: usize,
    upper_words: u64,
    upper_buf: Vec<u32>,
}

fn too_big() -> Error {
    Error::snapshot("a length in the header overflows")
}

fn reserve<T>(v: &mut Vec<T>, n: usize) -> Result<()> {
    v.try_reserve_exact(n).map_err(|_| {
        Error::snapshot(format!(
            "the header asks for {n} elements of {} bytes, more memory than can be had",
            core::mem::size_of::<T>()
        ))
    })
}

/// Takes whole `N`-byte elements from `carry` + `data`, at most `want`
/// (> 0) of them, and calls `f` on each; returns the bytes of `data` used.
/// A partial element at the end of `data` moves into `carry`.
fn elems<const N: usize>(
    carry: &mut Vec<u8>,
    data: &[u8],
    want: usize,
    mut f: impl FnMut([u8; N]) -> Result<()>,
) -> Result<usize> {
    let mut used = 0;
    let mut done = 0;
    if !carry.is_empty() {
        let take = (N - carry.len()).min(data.len());
        carry.extend_from_slice(&data[..take]);
        used = take;
        if carry.len() < N {
            return Ok(used);
        }
        let mut e = [0u8; N];
        e.copy_from_slice(&carry[..N]);
        carry.clear();
        f(e)?;
        done = 1;
    }
    let n = ((data.len() - used) / N).min(want - done);
    for c in data[used..used + n * N].chunks_exact(N) {
        let mut e = [0u8; N];
        e.copy_from_slice(c);
        f(e)?;
    }
    used += n * N;
    done += n;
    if done < want && used < data.len() {
        carry.extend_from_slice(&data[used..]);
        used = data.len();
    }
    Ok(used)
}

impl Default for SnapshotLoader {
    fn default() -> SnapshotLoader {
        SnapshotLoader::new()
    }
}

impl SnapshotLoader {
    /// A loader with the best kernels for this CPU.
    pub fn new() -> SnapshotLoader {
        SnapshotLoader::with_kernels(Kernels::best())
    }

    /// A loader whose index will use `kernels`.
    pub fn with_kernels(kernels: Kernels) -> SnapshotLoader {
        SnapshotLoader {
            kernels,
            expect: None,
            failed: None,
            sec: Sec::Prefix,
            carry: Vec::new(),
            hasher: Xxh3Default::new(),
            received: 0,
            header_len: 0,
            st: None,
        }
    }

    /// Declares the stream's total length (a file size, a slice length):
    /// the header's implied size is then checked against it before
    /// anything is allocated.
    pub fn expect_len(mut self, len: u64) -> SnapshotLoader {
        self.expect = Some(len);
        self
    }

    /// Bytes taken so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Takes the next chunk (any length, split anywhere). An error is final.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.feed(chunk);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
            // Give the partial index back now, not when the loader drops.
            self.st = None;
            self.carry = Vec::new();
        }
        r
    }

    /// The loaded index, once every byte arrived and checked out.
    pub fn finish(mut self) -> Result<Index> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.sec != Sec::Done {
            return Err(Error::snapshot(format!(
                "truncated: the stream ended in {} after {} bytes",
                self.sec.name(),
                self.received
            )));
        }
        let Some(st) = self.st.take() else {
            return Err(Error::snapshot("truncated: no header"));
        };
        st.build(self.kernels)
    }

    fn feed(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let sec = self.sec;
            let used = match sec {
                Sec::Prefix => self.gather(data, PREFIX),
                Sec::Header => {
                    let n = self.header_len;
                    self.gather(data, n)
                }
                Sec::Sum => self.gather(data, 8),
                Sec::Done => {
                    return Err(Error::snapshot(format!(
                        "{} trailing bytes after the checksum",
                        data.len()
                    )))
                }
                _ => self.body(data)?,
            };
            if sec != Sec::Sum {
                self.hasher.update(&data[..used]);
            }
            self.received += used as u64;
            data = &data[used..];
            // Whole prefix, header or checksum gathered: act on it.
            match sec {
                Sec::Prefix if self.carry.len() == PREFIX => self.prefix()?,
                Sec::Header if self.carry.len() == self.header_len => self.header()?,
                Sec::Sum if self.carry.len() == 8 => {
                    let mut sum = [0u8; 8];
                    sum.copy_from_slice(&self.carry);
                    self.carry.clear();
                    if self.hasher.digest() != u64::from_le_bytes(sum) {
                        return Err(Error::snapshot("checksum mismatch"));
                    }
                    self.sec = Sec::Done;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Moves up to `want - carry.len()` bytes into `carry`.
    fn gather(&mut self, data: &[u8], want: usize) -> usize {
        let take = want.saturating_sub(self.carry.len()).min(data.len());
        self.carry.extend_from_slice(&data[..take]);
        take
    }

    fn prefix(&mut self) -> Result<()> {
        let p = core::mem::take(&mut self.carry);
        if p[..8] != MAGIC {
            return Err(Error::snapshot("bad magic (expected \"VECSHARD\")"));
        }
        let version = u32::from_le_bytes([p[8], p[9], p[10], p[11]]);
        if version != FORMAT_VERSION {
            return Err(Error::snapshot(format!(
                "format version {version} is not supported (this build reads version 1)"
            )));
        }
        let hlen = u32::from_le_bytes([p[12], p[13], p[14], p[15]]) as usize;
        if hlen > MAX_HEADER {
            return Err(Error::snapshot(format!("a header of {hlen} bytes cannot be valid")));
        }
        self.header_len = hlen;
        self.sec = Sec::Header;
        if hlen == 0 {
            self.header()?;
        }
        Ok(())
    }

    fn header(&mut self) -> Result<()> {
        let hbytes = core::mem::take(&mut self.carry);
        let h = Header::decode(&hbytes).map_err(Error::snapshot)?;
        let st = State::new(h, self.expect, PREFIX + hbytes.len())?;
        self.st = Some(Box::new(st));
        self.sec = Sec::Header;
        self.advance()
    }

    /// Leaves the current section (its closing checks) and enters the next
    /// one with data, skipping empty ones.
    fn advance(&mut self) -> Result<()> {
        loop {
            let st = self.st.as_mut().ok_or_else(|| Error::snapshot("no header"))?;
            st.leave(self.sec)?;
            self.sec = match self.sec {
                Sec::Header => Sec::Levels,
                Sec::Levels => Sec::KeyLens,
                Sec::KeyLens => Sec::Keys,
                Sec::Keys => Sec::Free,
                Sec::Free => Sec::Codes,
                Sec::Codes => Sec::Scales,
                Sec::Scales => Sec::Norms,
                Sec::Norms => Sec::Layer0,
                Sec::Layer0 => Sec::Upper,
                _ => Sec::Sum,
            };
            st.cursor = 0;
            st.slot = 0;
            if self.sec == Sec::Sum || st.section_len(self.sec) > 0 {
                return Ok(());
            }
        }
    }

    /// One step of a body section; returns the bytes of `data` it used.
    fn body(&mut self, data: &[u8]) -> Result<usize> {
        let sec = self.sec;
        let st = self.st.as_mut().ok_or_else(|| Error::snapshot("no header"))?;
        let want = st.section_len(sec) - st.cursor;
        let carry = &mut self.carry;
        let used = match sec {
            Sec::Levels => elems::<1>(carry, data, want, |e| st.level(e[0]))?,
            Sec::KeyLens => elems::<2>(carry, data, want, |e| st.key_len(u16::from_le_bytes(e)))?,
            Sec::Keys => st.keys_from(carry, data)?,
            Sec::Free => elems::<4>(carry, data, want, |e| st.free_entry(u32::from_le_bytes(e)))?,
            Sec::Codes => match st.h.quantization {
                q if q == Quantization::I8.code() => {
                    elems::<1>(carry, data, want, |e| st.code_i8(e[0] as i8))?
                }
                q if q == Quantization::Binary.code() => {
                    elems::<8>(carry, data, want, |e| st.code_bits(u64::from_le_bytes(e)))?
                }
                _ => elems::<4>(carry, data, want, |e| st.code_f32(f32::from_le_bytes(e)))?,
            },
            Sec::Scales => elems::<4>(carry, data, want, |e| st.scale(f32::from_le_bytes(e)))?,
            Sec::Norms => elems::<4>(carry, data, want, |e| st.norm(f32::from_le_bytes(e)))?,
            Sec::Layer0 => elems::<4>(carry, data, want, |e| st.link0(u32::from_le_bytes(e)))?,
            Sec::Upper => elems::<4>(carry, data, want, |e| st.upper(u32::from_le_bytes(e)))?,
            _ => 0,
        };
        if st.cursor >= st.section_len(sec) {
            self.advance()?;
        }
        Ok(used)
    }
}

impl State {
    /// Checks the header, then reserves every array exactly.
    fn new(h: Header, expect: Option<u64>, head_len: usize) -> Result<State> {
        let metric =
            Metric::from_code(h.metric).ok_or_else(|| Error::snapshot("unknown metric code"))?;
        let quant = Quantization::from_code(h.quantization)
            .ok_or_else(|| Error::snapshot("unknown quantization code"))?;
        let cfg = Config {
            dim: h.dim as usize,
            metric,
            m: h.m as usize,
            ef_construction: h.ef_construction as usize,
            ef_search: h.ef_search as usize,
            quantization: quant,
            seed: h.seed,
        };
        cfg.validate().map_err(|e| Error::snapshot(format!("header config: {e}")))?;
        let slots = h.slots as usize;
        if slots >= u32::MAX as usize - 1 {
            return Err(Error::snapshot("slot count too large"));
        }
        let body = body_len(&h).ok_or_else(too_big)?;
        if let Some(total) = expect {
            let want = (head_len as u64).checked_add(body).and_then(|x| x.checked_add(8));
            let have = total.checked_sub(head_len as u64 + 8);
            if want != Some(total) {
                return Err(Error::snapshot(match have {
                    Some(have) => format!("body is {have} bytes but the header implies {body}"),
                    None => format!("{total} bytes is too short for a header of {head_len}"),
                }));
            }
        }
        let (dim, m) = (cfg.dim, cfg.m);
        let n = |a: usize, b: usize| a.checked_mul(b).ok_or_else(too_big);
        let stride0 = 2 * m + 1;
        let mut graph = Graph::new(m);
        reserve(&mut graph.levels, slots)?;
        reserve(&mut graph.layer0, n(slots, stride0)?)?;
        // In-degrees start at zero; the free-list check borrows them as
        // marks, and they are counted for real at the end.
        reserve(&mut graph.indeg, slots)?;
        graph.indeg.resize(slots, 0);
        let mut keys = Keys::default();
        keys.try_reserve_for_load(slots, h.key_bytes, h.live as usize)
            .map_err(|_| Error::snapshot("the header asks for more key memory than can be had"))?;
        let mut free = Vec::new();
        reserve(&mut free, h.free as usize)?;
        // Kernels are chosen in `build`; storage only needs the layout now.
        let mut vectors = Vectors::new(dim, metric, quant, Kernels::scalar());
        match &mut vectors.codes {
            Codes::F32(d) => reserve(d, n(slots, dim)?)?,
            Codes::I8 { codes, scales } => {
                reserve(codes, n(slots, dim)?)?;
                reserve(scales, slots)?;
            }
            Codes::Binary { bits, alphas } => {
                reserve(bits, n(slots, dim.div_ceil(64))?)?;
                reserve(alphas, slots)?;
            }
        }
        if metric == Metric::Cosine {
            reserve(&mut vectors.norms, slots)?;
        }
        Ok(State {
            h,
            cfg,
            slots,
            m,
            stride0,
            graph,
            keys,
            free,
            vectors,
            cursor: 0,
            live: 0,
            top: 0,
            key_total: 0,
            slot: 0,
            upper_nodes: 0,
            upper_words: 0,
            upper_buf: Vec::new(),
        })
    }

    /// Elements in a section (bytes for the keys).
    fn section_len(&self, sec: Sec) -> usize {
        let slots = self.slots;
        let dim = self.cfg.dim;
        match sec {
            Sec::Levels | Sec::KeyLens => slots,
            Sec::Keys => self.h.key_bytes as usize,
            Sec::Free => self.h.free as usize,
            Sec::Codes => match self.cfg.quantization {
                Quantization::Binary => slots * dim.div_ceil(64),
                _ => slots * dim,
            },
            Sec::Scales => match self.cfg.quantization {
                Quantization::F32 => 0,
                _ => slots,
            },
            Sec::Norms if self.cfg.metric == Metric::Cosine => slots,
            Sec::Layer0 => slots * self.stride0,
            Sec::Upper => self.h.upper_words as usize,
            _ => 0,
        }
    }

    /// Closing checks of a section.
    fn leave(&mut self, sec: Sec) -> Result<()> {
        match sec {
            Sec::Levels => {
                if self.live != self.h.live as usize
                    || self.slots - self.live != self.h.free as usize
                {
                    return Err(Error::snapshot("live/free counts disagree with the levels"));
                }
                if self.upper_words != self.h.upper_words {
                    return Err(Error::snapshot("upper-layer link words disagree with the header"));
                }
                self.graph.upper.try_reserve(self.upper_nodes).map_err(|_| {
                    Error::snapshot("the header asks for more link memory than can be had")
                })?;
            }
            Sec::KeyLens if self.key_total != self.h.key_bytes => {
                return Err(Error::snapshot("key lengths do not add up to the key bytes"));
            }
            _ => {}
        }
        Ok(())
    }

    fn level(&mut self, l: u8) -> Result<()> {
        let s = self.cursor;
        self.cursor += 1;
        if l != FREE {
            if l > MAX_LEVEL {
                return Err(Error::snapshot(format!("slot {s} has level {l} > {MAX_LEVEL}")));
            }
            self.live += 1;
            self.top = self.top.max(l);
            if l > 0 {
                self.upper_nodes += 1;
                self.upper_words += l as u64 * (self.m as u64 + 1);
            }
        }
        self.graph.levels.push(l);
        Ok(())
    }

    fn key_len(&mut self, l: u16) -> Result<()> {
        let s = self.cursor;
        self.cursor += 1;
        let is_live = self.graph.levels[s] != FREE;
        if is_live && (l == 0 || l as usize > MAX_KEY_LEN) || !is_live && l != 0 {
            return Err(Error::snapshot(format!("slot {s} has an invalid key length {l}")));
        }
        self.key_total += l as u64;
        self.keys.push_len(l);
        Ok(())
    }

    /// The keys section: each live slot's key, in slot order, split only
    /// where a chunk ends (a cut key waits in `carry`).
    fn keys_from(&mut self, carry: &mut Vec<u8>, data: &[u8]) -> Result<usize> {
        let mut used = 0;
        while used < data.len() && self.cursor < self.h.key_bytes as usize {
            while self.slot < self.slots && self.keys.len_of(self.slot as u32) == 0 {
                self.slot += 1;
            }
            let s = self.slot;
            let l = self.keys.len_of(s as u32) as usize;
            let rest = &data[used..];
            let key: &[u8] = if carry.is_empty() && rest.len() >= l {
                used += l;
                &rest[..l]
            } else {
                let take = (l - carry.len()).min(rest.len());
                carry.extend_from_slice(&rest[..take]);
                used += take;
                if carry.len() < l {
                    break;
                }
                carry
            };
            let k = core::str::from_utf8(key)
                .map_err(|_| Error::snapshot(format!("key of slot {s} is not UTF-8")))?;
            if self.keys.find(k).is_some() {
                return Err(Error::snapshot(format!("key {} appears twice", crate::Quoted(k))));
            }
            self.keys.insert(s as u32, k);
            carry.clear();
            self.cursor += l;
            self.slot += 1;
        }
        Ok(used)
    }

    fn free_entry(&mut self, f: u32) -> Result<()> {
        self.cursor += 1;
        let fu = f as usize;
        if fu >= self.slots || self.graph.levels[fu] != FREE || self.graph.indeg[fu] != 0 {
            return Err(Error::snapshot(format!("free list entry {f} is invalid")));
        }
        self.graph.indeg[fu] = 1;
        self.free.push(f);
        Ok(())
    }

    fn code_f32(&mut self, x: f32) -> Result<()> {
        let i = self.cursor;
        self.cursor += 1;
        if !x.is_finite() {
            return Err(Error::snapshot(format!("vectors[{i}] is not finite")));
        }
        if let Codes::F32(d) = &mut self.vectors.codes {
            d.push(x);
        }
        Ok(())
    }

    fn code_i8(&mut self, x: i8) -> Result<()> {
        self.cursor += 1;
        if let Codes::I8 { codes, .. } = &mut self.vectors.codes {
            codes.push(x);
        }
        Ok(())
    }

    fn code_bits(&mut self, x: u64) -> Result<()> {
        self.cursor += 1;
        if let Codes::Binary { bits, .. } = &mut self.vectors.codes {
            bits.push(x);
        }
        Ok(())
    }

    fn scale(&mut self, x: f32) -> Result<()> {
        let i = self.cursor;
        self.cursor += 1;
        match &mut self.vectors.codes {
            Codes::I8 { scales, .. } => {
                if !x.is_finite() {
                    return Err(Error::snapshot(format!("scales[{i}] is not finite")));
                }
                if x < 0.0 {
                    return Err(Error::snapshot("negative i8 scale"));
                }
                scales.push(x);
            }
            Codes::Binary { alphas, .. } => {
                if !x.is_finite() {
                    return Err(Error::snapshot(format!("alphas[{i}] is not finite")));
                }
                if x < 0.0 {
                    return Err(Error::snapshot("negative binary magnitude"));
                }
                alphas.push(x);
            }
            Codes::F32(_) => {}
        }
        Ok(())
    }

    fn norm(&mut self, x: f32) -> Result<()> {
        let s = self.cursor;
        self.cursor += 1;
        if !x.is_finite() {
            return Err(Error::snapshot(format!("norms[{s}] is not finite")));
        }
        if self.graph.levels[s] != FREE && x <= 0.0 {
            return Err(Error::snapshot(format!("slot {s} has a non-positive norm under cosine")));
        }
        self.vectors.norms.push(x);
        Ok(())
    }

    fn link0(&mut self, w: u32) -> Result<()> {
        self.cursor += 1;
        self.graph.layer0.push(w);
        let n = self.graph.layer0.len();
        if !n.is_multiple_of(self.stride0) {
            return Ok(());
        }
        let s = n / self.stride0 - 1;
        let list = &self.graph.layer0[n - self.stride0..];
        if self.graph.levels[s] == FREE {
            if list[0] != 0 {
                return Err(Error::snapshot(format!("free slot {s} has links")));
            }
            return Ok(());
        }
        check_list(&self.graph, self.slots, s, 0, list)
    }

    fn upper(&mut self, w: u32) -> Result<()> {
        self.cursor += 1;
        if self.upper_buf.capacity() == 0 {
            // The next live slot with upper layers. The levels section
            // counted exactly `upper_words` for them, so one exists.
            while self.slot < self.slots
                && !matches!(self.graph.levels[self.slot], l if l != FREE && l > 0)
            {
                self.slot += 1;
            }
            let l = self.graph.levels.get(self.slot).copied().unwrap_or(0) as usize;
            if l == 0 || l == FREE as usize {
                return Err(Error::snapshot("upper-layer link words disagree with the header"));
            }
            reserve(&mut self.upper_buf, l * (self.m + 1))?;
        }
        self.upper_buf.push(w);
        let s = self.slot;
        let l = self.graph.levels[s] as usize;
        if self.upper_buf.len() < l * (self.m + 1) {
            return Ok(());
        }
        let b = core::mem::take(&mut self.upper_buf);
        for layer in 1..=l {
            let list = &b[(layer - 1) * (self.m + 1)..layer * (self.m + 1)];
            check_list(&self.graph, self.slots, s, layer, list)?;
        }
        self.graph.upper.insert(s as u32, b.into_boxed_slice());
        self.slot += 1;
        Ok(())
    }

    /// Every byte checked out: the entry point, in-degrees, kernels, and
    /// layer-0 reachability.
    fn build(self, kernels: Kernels) -> Result<Index> {
        let State { h, cfg, slots, mut graph, keys, free, mut vectors, live, top, .. } = self;
        match h.entry {
            None if live == 0 && h.max_level == 0 => {}
            Some(e)
                if (e as usize) < slots
                    && graph.levels[e as usize] == h.max_level
                    && h.max_level == top => {}
            _ => {
                return Err(Error::snapshot(
                    "entry point is missing, free, or not on the top layer",
                ))
            }
        }
        graph.recount_indeg();
        vectors.k = kernels;
        let mut idx = Index {
            cfg,
            graph,
            vectors,
            keys,
            free,
            len: live,
            entry: h.entry,
            max_level: h.max_level,
            rng: SplitMix64 { state: h.rng_state },
            ws: Scratch::new(),
            tmp: Prepared::default(),
            suspect: false,
        };
        // Every value is valid now, but a valid graph can still leave live
        // nodes unreachable from the entry point on layer 0 (a crafted or
        // damaged snapshot with good checksums: fuzz finding 1; or an
        // island a large index never re-checked, see
        // `ALWAYS_REPAIR_BELOW`). Searches would silently miss them, so
        // attach every island now: one walk of layer 0 (tens of ms for a
        // million nodes), a no-op on the usual snapshot.
        idx.repair_reachability();
        Ok(idx)
    }
}

/// One link list `[count, links…]` of slot `s` on `layer`: count within the
/// cap, targets live, other than `s`, reaching `layer`, no duplicates.
fn check_list(g: &Graph, slots: usize, s: usize, l: usize, list: &[u32]) -> Result<()> {
    let cap = g.cap(l);
    let n = list.first().copied().unwrap_or(0) as usize;
    if n > cap {
        return Err(Error::snapshot(format!("slot {s} layer {l}: {n} links exceed cap {cap}")));
    }
    for (i, &t) in list[1..=n].iter().enumerate() {
        let tu = t as usize;
        if tu >= slots || tu == s || g.levels[tu] == FREE || (g.levels[tu] as usize) < l {
            return Err(Error::snapshot(format!("slot {s} layer {l}: bad link target {t}")));
        }
        if list[1..1 + i].contains(&t) {
            return Err(Error::snapshot(format!("slot {s} layer {l}: duplicate link {t}")));
        }
    }
    Ok(())
}
