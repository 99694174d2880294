//! The loader and writer this crate had before snapshots streamed, kept
//! verbatim (test builds only) as the reference the streaming code is
//! checked against: the same bytes out, and the same inputs accepted.

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
use alloc::format;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::{FORMAT_VERSION, MAGIC};

#[derive(Serialize, Deserialize, Debug)]
pub(super) struct Header {
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

impl Index {
    /// Serializes the index (see the format above). Deterministic: equal
    /// indexes give equal bytes.
    pub(crate) fn legacy_to_bytes(&self) -> Vec<u8> {
        let g = &self.graph;
        let slots = g.slots();
        let upper_words: usize = (0..slots as u32)
            .filter(|&s| g.is_live(s))
            .map(|s| g.levels[s as usize] as usize * (g.m + 1))
            .sum();
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
            key_bytes: self.keys.total_len() as u64,
            upper_words: upper_words as u64,
        };
        // Serializing a plain struct into a Vec cannot fail.
        let head = postcard::to_allocvec(&header).unwrap_or_default();
        let mut out = Vec::with_capacity(64 + slots * (self.cfg.dim * 4 + (g.m0 + 1) * 4 + 16));
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&g.levels);
        for s in 0..slots as u32 {
            let l = if g.is_live(s) { self.keys.get(s).len() as u16 } else { 0 };
            out.extend_from_slice(&l.to_le_bytes());
        }
        for s in 0..slots as u32 {
            if g.is_live(s) {
                out.extend_from_slice(self.keys.get(s).as_bytes());
            }
        }
        put_u32s(&mut out, &self.free);
        match &self.vectors.codes {
            Codes::F32(d) => put_f32s(&mut out, d),
            Codes::I8 { codes, scales } => {
                out.extend(codes.iter().map(|&c| c as u8));
                put_f32s(&mut out, scales);
            }
            Codes::Binary { bits, alphas } => {
                for w in bits {
                    out.extend_from_slice(&w.to_le_bytes());
                }
                put_f32s(&mut out, alphas);
            }
        }
        put_f32s(&mut out, &self.vectors.norms);
        put_u32s(&mut out, &g.layer0);
        for s in 0..slots as u32 {
            if g.is_live(s) && g.levels[s as usize] > 0 {
                if let Some(b) = g.upper.get(&s) {
                    put_u32s(&mut out, b);
                }
            }
        }
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Loads a snapshot written by [`Index::to_bytes`] (any supported format
    /// version). Every byte is validated; corruption gives an
    /// `InvalidSnapshot` error, never a panic.
    pub(crate) fn legacy_from_bytes(bytes: &[u8]) -> Result<Index> {
        Index::legacy_from_bytes_with_kernels(bytes, Kernels::best())
    }

    /// [`Index::from_bytes`] with an explicit kernel set.
    pub(crate) fn legacy_from_bytes_with_kernels(bytes: &[u8], kernels: Kernels) -> Result<Index> {
        if bytes.len() < 8 + 4 + 4 + 8 {
            return Err(Error::snapshot(format!(
                "{} bytes is too short to be a snapshot",
                bytes.len()
            )));
        }
        if bytes[..8] != MAGIC {
            return Err(Error::snapshot("bad magic (expected \"VECSHARD\")"));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != 1 {
            return Err(Error::snapshot(format!(
                "format version {version} is not supported (this build reads version 1)"
            )));
        }
        let (data, tail) = bytes.split_at(bytes.len() - 8);
        let mut sum = [0u8; 8];
        sum.copy_from_slice(tail);
        if xxh3_64(data) != u64::from_le_bytes(sum) {
            return Err(Error::snapshot("checksum mismatch"));
        }
        let mut r = Reader { b: data, pos: 12 };
        let hlen = r.u32()? as usize;
        let hbytes = r.take(hlen)?;
        let (h, rest): (Header, &[u8]) = postcard::take_from_bytes(hbytes)
            .map_err(|e| Error::snapshot(format!("header: {e}")))?;
        if !rest.is_empty() {
            return Err(Error::snapshot("header has trailing bytes"));
        }
        decode_v1(h, r, kernels)
    }
}

fn put_u32s(out: &mut Vec<u8>, v: &[u32]) {
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

fn put_f32s(out: &mut Vec<u8>, v: &[f32]) {
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// A bounds-checked cursor: every read says how much it needs first.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(Error::snapshot(format!(
                "truncated: needs {n} more bytes at offset {}, has {}",
                self.pos,
                self.b.len() - self.pos
            )));
        };
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        let s = self.take(n.checked_mul(4).ok_or_else(too_big)?)?;
        Ok(s.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
    fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>> {
        let s = self.take(n.checked_mul(4).ok_or_else(too_big)?)?;
        let v: Vec<f32> =
            s.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::snapshot(format!("{what}[{i}] is not finite")));
        }
        Ok(v)
    }
}

fn too_big() -> Error {
    Error::snapshot("a length in the header overflows")
}

fn decode_v1(h: Header, mut r: Reader<'_>, kernels: Kernels) -> Result<Index> {
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
    let (dim, m) = (cfg.dim, cfg.m);
    let m0 = 2 * m;
    let slots = h.slots as usize;
    if slots >= u32::MAX as usize - 1 {
        return Err(Error::snapshot("slot count too large"));
    }
    // Exact body size, computed before any allocation.
    let words = dim.div_ceil(64);
    let vec_bytes = match quant {
        Quantization::F32 => 4 * dim,
        Quantization::I8 => dim + 4,
        Quantization::Binary => 8 * words + 4,
    };
    let norm_bytes = if metric == Metric::Cosine { 4 } else { 0 };
    let per_slot = 1 + 2 + vec_bytes + norm_bytes + 4 * (m0 + 1);
    let expect = (slots as u64)
        .checked_mul(per_slot as u64)
        .and_then(|x| x.checked_add(h.key_bytes))
        .and_then(|x| x.checked_add(4 * h.free as u64))
        .and_then(|x| x.checked_add(h.upper_words.checked_mul(4)?))
        .ok_or_else(too_big)?;
    let remaining = (r.b.len() - r.pos) as u64;
    if expect != remaining {
        return Err(Error::snapshot(format!(
            "body is {remaining} bytes but the header implies {expect}"
        )));
    }

    // Levels and counts.
    let levels = r.take(slots)?.to_vec();
    let mut live = 0usize;
    let mut top = 0u8;
    for (s, &l) in levels.iter().enumerate() {
        if l == FREE {
            continue;
        }
        if l > MAX_LEVEL {
            return Err(Error::snapshot(format!("slot {s} has level {l} > {MAX_LEVEL}")));
        }
        live += 1;
        top = top.max(l);
    }
    if live != h.live as usize || slots - live != h.free as usize {
        return Err(Error::snapshot("live/free counts disagree with the levels"));
    }

    // Keys.
    let lens: Vec<u16> =
        r.take(slots * 2)?.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let mut total = 0u64;
    for (s, &l) in lens.iter().enumerate() {
        let is_live = levels[s] != FREE;
        if is_live && (l == 0 || l as usize > MAX_KEY_LEN) || !is_live && l != 0 {
            return Err(Error::snapshot(format!("slot {s} has an invalid key length {l}")));
        }
        total += l as u64;
    }
    if total != h.key_bytes {
        return Err(Error::snapshot("key lengths do not add up to the key bytes"));
    }
    let key_data = r.take(h.key_bytes as usize)?;
    let mut keys = Keys::default();
    keys.grow_to(slots);
    let mut pos = 0usize;
    for (s, &l) in lens.iter().enumerate() {
        if l == 0 {
            continue;
        }
        let k = core::str::from_utf8(&key_data[pos..pos + l as usize])
            .map_err(|_| Error::snapshot(format!("key of slot {s} is not UTF-8")))?;
        if keys.find(k).is_some() {
            return Err(Error::snapshot(format!("key {k:?} appears twice")));
        }
        keys.insert(s as u32, k);
        pos += l as usize;
    }

    // Free list: exactly the free slots, each once.
    let free = r.u32s(h.free as usize)?;
    let mut marked = alloc::vec![false; slots];
    for &f in &free {
        let fu = f as usize;
        if fu >= slots || levels[fu] != FREE || marked[fu] {
            return Err(Error::snapshot(format!("free list entry {f} is invalid")));
        }
        marked[fu] = true;
    }

    // Vectors.
    let codes = match quant {
        Quantization::F32 => Codes::F32(r.f32s(slots * dim, "vectors")?),
        Quantization::I8 => {
            let codes: Vec<i8> = r.take(slots * dim)?.iter().map(|&b| b as i8).collect();
            let scales = r.f32s(slots, "scales")?;
            if scales.iter().any(|&s| s < 0.0) {
                return Err(Error::snapshot("negative i8 scale"));
            }
            Codes::I8 { codes, scales }
        }
        Quantization::Binary => {
            let bits: Vec<u64> = r
                .take(slots * words * 8)?
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect();
            let alphas = r.f32s(slots, "alphas")?;
            if alphas.iter().any(|&a| a < 0.0) {
                return Err(Error::snapshot("negative binary magnitude"));
            }
            Codes::Binary { bits, alphas }
        }
    };
    let norms = if metric == Metric::Cosine { r.f32s(slots, "norms")? } else { Vec::new() };
    if metric == Metric::Cosine {
        if let Some(s) = (0..slots).find(|&s| levels[s] != FREE && norms[s] <= 0.0) {
            return Err(Error::snapshot(format!("slot {s} has a non-positive norm under cosine")));
        }
    }

    // Links.
    let mut graph = Graph::new(m);
    graph.levels = levels;
    graph.layer0 = r.u32s(slots * (m0 + 1))?;
    graph.indeg = alloc::vec![0; slots];
    let check_list = |g: &Graph, s: usize, l: usize, list: &[u32]| -> Result<()> {
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
    };
    for s in 0..slots {
        let list = &graph.layer0[s * (m0 + 1)..(s + 1) * (m0 + 1)];
        if graph.levels[s] == FREE {
            if list[0] != 0 {
                return Err(Error::snapshot(format!("free slot {s} has links")));
            }
            continue;
        }
        check_list(&graph, s, 0, list)?;
    }
    let mut upper_read = 0u64;
    for s in 0..slots {
        let l = graph.levels[s];
        if l == FREE || l == 0 {
            continue;
        }
        let words_here = l as usize * (m + 1);
        upper_read += words_here as u64;
        let b = r.u32s(words_here)?;
        for layer in 1..=l as usize {
            check_list(&graph, s, layer, &b[(layer - 1) * (m + 1)..layer * (m + 1)])?;
        }
        graph.upper.insert(s as u32, b.into_boxed_slice());
    }
    if upper_read != h.upper_words || r.pos != r.b.len() {
        return Err(Error::snapshot("upper-layer link words disagree with the header"));
    }
    graph.recount_indeg();

    // Entry point.
    match h.entry {
        None if live == 0 && h.max_level == 0 => {}
        Some(e)
            if (e as usize) < slots
                && graph.levels[e as usize] == h.max_level
                && h.max_level == top => {}
        _ => return Err(Error::snapshot("entry point is missing, free, or not on the top layer")),
    }

    let mut vectors = Vectors::new(dim, metric, quant, kernels);
    vectors.codes = codes;
    vectors.norms = norms;
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
    // Every value is valid now, but a valid graph can still leave live nodes
    // unreachable from the entry point on layer 0 (a crafted or damaged
    // snapshot with good checksums: fuzz finding 1; or an island a large
    // index never re-checked, see `ALWAYS_REPAIR_BELOW`). Searches would
    // silently miss them, so attach every island now: one walk of layer 0
    // (tens of ms for a million nodes), a no-op on the usual snapshot.
    idx.repair_reachability();
    Ok(idx)
}
