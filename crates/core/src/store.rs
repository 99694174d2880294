//! Vector storage: the bytes that hold each slot's vector, and every distance
//! between a query and a slot or between two slots.
//!
//! What is stored per slot:
//! - `f32`: the vector (normalized under cosine), `4·dim` bytes;
//! - `i8`: `dim` signed codes `c_i = round(x_i · 127 / max|x|)` and one f32
//!   scale `s`, so the stored vector is `s·c` (symmetric, per vector, no
//!   training). `s = max|x| / 127`, except under cosine, where `s = 1/‖c‖`
//!   makes the reconstruction exactly unit length;
//! - `binary`: `ceil(dim/64)` words of sign bits and one f32 magnitude `α`,
//!   so the stored vector is `α·(2b − 1)`; `α = mean|x_i|` (the least-squares
//!   choice), or `1/√dim` under cosine (unit length).
//!
//! Under cosine the original norm is also kept (4 bytes) so `get` returns the
//! inserted vector (up to quantization).
//!
//! Distances. Queries stay f32; what the walk compares depends on storage:
//! - `f32`: the exact distance, which is also the returned one.
//! - `i8`: the **i8 walk**. The query is quantized once per search exactly
//!   as a stored vector is (`qs·qc`, see `quantize_i8`), and the walk
//!   distance is the distance between that quantized query and the stored
//!   `s·c`, from one exact integer dot product `qc·c` (cosine, inner
//!   product) or `(qc·c, c·c)` (L2: `‖qs·qc‖² − 2 qs s qc·c + s² c·c`). Those
//!   kernels read a quarter of the bytes of f32 ones and do integer
//!   multiply-adds (`vpmaddwd`, `vpdpbusd`). The final `ef` candidates are
//!   then *rescored* with the exact asymmetric distance between the f32
//!   query and `s·c`, and re-sorted, so the returned distance does not
//!   depend on the query's quantization. While building, an inserted vector
//!   quantizes to its own stored codes, so the insert walk and the neighbour
//!   heuristic (`dist_nodes`, same formulas) measure alike.
//! - `binary`: Hamming distance between the query's sign bits and the stored
//!   bits (cheap but coarse), then the same rescoring with the exact
//!   asymmetric distance to `α·(2b − 1)`.
//!
//! Either way, the distance a shard returns is a deterministic function of
//! the query and the stored vector, so lists from different shards merge
//! correctly.

use crate::config::{Metric, Quantization};
use crate::distance::Kernels;
use crate::math;
use alloc::vec::Vec;

/// Storage format with its per-slot arrays.
#[derive(Clone, Debug)]
pub(crate) enum Codes {
    F32(Vec<f32>),
    I8 { codes: Vec<i8>, scales: Vec<f32> },
    Binary { bits: Vec<u64>, alphas: Vec<f32> },
}

#[derive(Clone, Debug)]
pub(crate) struct Vectors {
    pub dim: usize,
    pub words: usize,
    pub metric: Metric,
    pub codes: Codes,
    /// Original norms (cosine only; empty otherwise).
    pub norms: Vec<f32>,
    pub k: Kernels,
}

/// A query (or a stored vector) prepared for distance computations.
#[derive(Clone, Debug, Default)]
pub(crate) struct Prepared {
    /// The f32 vector (normalized under cosine).
    pub v: Vec<f32>,
    /// Sign bits (binary storage only).
    pub bits: Vec<u64>,
    /// `Σ v_i²` and `Σ v_i` (binary rescoring).
    pub sq_norm: f32,
    pub sum: f32,
    /// i8 storage only: the query quantized exactly as a stored vector
    /// would be, `v ≈ code_scale · codes` (the i8 walk's operand), and
    /// `code_sq = ‖code_scale · codes‖²` (the i8 walk's L2).
    pub codes: Vec<i8>,
    pub code_scale: f32,
    pub code_sq: f32,
}

/// Quantizes `v` into `out` (same length) the way i8 storage does, and
/// returns the scale `s` (so `v ≈ s·out`) and `Σ out_i²`.
///
/// `out_i = round(v_i · 127 / max|v|)`, `s = max|v| / 127`; under cosine
/// only the direction counts, so `s = 1/‖out‖` makes the reconstruction
/// exactly unit length and rounding error does not also bend the magnitude.
/// Stored vectors and i8-walk queries both go through here, so a stored
/// vector prepared as a query gets back its own codes and scale.
fn quantize_i8(v: &[f32], metric: Metric, out: &mut [i8]) -> (f32, i32) {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    let mut sq = 0i32;
    for (c, x) in out.iter_mut().zip(v) {
        *c = math::round(x * inv).clamp(-127.0, 127.0) as i8;
        // At most 127² · 65536 < 2³¹ (dim is at most 65536).
        sq += *c as i32 * *c as i32;
    }
    let s = if metric == Metric::Cosine && sq > 0 { 1.0 / math::sqrt(sq as f32) } else { scale };
    (s, sq)
}

impl Vectors {
    pub fn new(dim: usize, metric: Metric, q: Quantization, k: Kernels) -> Vectors {
        let codes = match q {
            Quantization::F32 => Codes::F32(Vec::new()),
            Quantization::I8 => Codes::I8 { codes: Vec::new(), scales: Vec::new() },
            Quantization::Binary => Codes::Binary { bits: Vec::new(), alphas: Vec::new() },
        };
        Vectors { dim, words: dim.div_ceil(64), metric, codes, norms: Vec::new(), k }
    }

    pub fn reserve(&mut self, slots: usize) {
        let (dim, words) = (self.dim, self.words);
        match &mut self.codes {
            Codes::F32(d) => d.reserve_exact((slots * dim).saturating_sub(d.len())),
            Codes::I8 { codes, scales } => {
                codes.reserve_exact((slots * dim).saturating_sub(codes.len()));
                scales.reserve_exact(slots.saturating_sub(scales.len()));
            }
            Codes::Binary { bits, alphas } => {
                bits.reserve_exact((slots * words).saturating_sub(bits.len()));
                alphas.reserve_exact(slots.saturating_sub(alphas.len()));
            }
        }
        if self.metric == Metric::Cosine {
            self.norms.reserve_exact(slots.saturating_sub(self.norms.len()));
        }
    }

    /// [`Vectors::reserve`], failing instead of aborting.
    pub fn try_reserve(&mut self, slots: usize) -> Result<(), alloc::collections::TryReserveError> {
        let (dim, words) = (self.dim, self.words);
        let more = |have: usize, per: usize| slots.saturating_mul(per).saturating_sub(have);
        match &mut self.codes {
            Codes::F32(d) => d.try_reserve_exact(more(d.len(), dim))?,
            Codes::I8 { codes, scales } => {
                codes.try_reserve_exact(more(codes.len(), dim))?;
                scales.try_reserve_exact(more(scales.len(), 1))?;
            }
            Codes::Binary { bits, alphas } => {
                bits.try_reserve_exact(more(bits.len(), words))?;
                alphas.try_reserve_exact(more(alphas.len(), 1))?;
            }
        }
        if self.metric == Metric::Cosine {
            self.norms.try_reserve_exact(more(self.norms.len(), 1))?;
        }
        Ok(())
    }

    pub fn shrink_to_fit(&mut self) {
        match &mut self.codes {
            Codes::F32(d) => d.shrink_to_fit(),
            Codes::I8 { codes, scales } => {
                codes.shrink_to_fit();
                scales.shrink_to_fit();
            }
            Codes::Binary { bits, alphas } => {
                bits.shrink_to_fit();
                alphas.shrink_to_fit();
            }
        }
        self.norms.shrink_to_fit();
    }

    /// Makes room for slot `slot` (slots are dense, so this grows by one).
    pub fn grow_to(&mut self, slots: usize) {
        let (dim, words) = (self.dim, self.words);
        match &mut self.codes {
            Codes::F32(d) => d.resize(slots * dim, 0.0),
            Codes::I8 { codes, scales } => {
                codes.resize(slots * dim, 0);
                scales.resize(slots, 0.0);
            }
            Codes::Binary { bits, alphas } => {
                bits.resize(slots * words, 0);
                alphas.resize(slots, 0.0);
            }
        }
        if self.metric == Metric::Cosine {
            self.norms.resize(slots, 0.0);
        }
    }

    /// Stores `v` (already normalized under cosine) at `slot`.
    pub fn set(&mut self, slot: u32, v: &[f32], norm: f32) {
        let s = slot as usize;
        let (dim, words) = (self.dim, self.words);
        match &mut self.codes {
            Codes::F32(d) => d[s * dim..(s + 1) * dim].copy_from_slice(v),
            Codes::I8 { codes, scales } => {
                scales[s] = quantize_i8(v, self.metric, &mut codes[s * dim..(s + 1) * dim]).0;
            }
            Codes::Binary { bits, alphas } => {
                let out = &mut bits[s * words..(s + 1) * words];
                out.iter_mut().for_each(|w| *w = 0);
                let mut abs = 0.0f32;
                for (i, x) in v.iter().enumerate() {
                    if *x > 0.0 {
                        out[i / 64] |= 1 << (i % 64);
                    }
                    abs += x.abs();
                }
                // α = mean |x_i| minimizes ‖x − α(2b−1)‖; under cosine use the
                // α that makes the reconstruction unit length instead.
                alphas[s] = if self.metric == Metric::Cosine {
                    1.0 / math::sqrt(dim as f32)
                } else {
                    abs / dim as f32
                };
            }
        }
        if self.metric == Metric::Cosine {
            self.norms[s] = norm;
        }
    }

    /// Zeroes a freed slot (so snapshots hold no deleted data).
    pub fn clear(&mut self, slot: u32) {
        let s = slot as usize;
        let (dim, words) = (self.dim, self.words);
        match &mut self.codes {
            Codes::F32(d) => d[s * dim..(s + 1) * dim].iter_mut().for_each(|x| *x = 0.0),
            Codes::I8 { codes, scales } => {
                codes[s * dim..(s + 1) * dim].iter_mut().for_each(|x| *x = 0);
                scales[s] = 0.0;
            }
            Codes::Binary { bits, alphas } => {
                bits[s * words..(s + 1) * words].iter_mut().for_each(|x| *x = 0);
                alphas[s] = 0.0;
            }
        }
        if let Some(n) = self.norms.get_mut(s) {
            *n = 0.0;
        }
    }

    /// Fills `out` from a query vector (normalized under cosine).
    pub fn prepare(&self, v: &[f32], out: &mut Prepared) {
        out.v.clear();
        out.v.extend_from_slice(v);
        self.finish_prepare(out);
    }

    /// Fills `out` with the stored vector of `slot` (normalized space).
    pub fn prepare_slot(&self, slot: u32, out: &mut Prepared) {
        out.v.clear();
        self.decode_into(slot, &mut out.v);
        self.finish_prepare(out);
    }

    fn finish_prepare(&self, out: &mut Prepared) {
        if let Codes::I8 { .. } = self.codes {
            out.codes.clear();
            out.codes.resize(out.v.len(), 0);
            let (s, sq) = quantize_i8(&out.v, self.metric, &mut out.codes);
            out.code_scale = s;
            out.code_sq = s * s * sq as f32;
        }
        if let Codes::Binary { .. } = self.codes {
            out.bits.clear();
            out.bits.resize(self.words, 0);
            for (i, x) in out.v.iter().enumerate() {
                if *x > 0.0 {
                    out.bits[i / 64] |= 1 << (i % 64);
                }
            }
            out.sq_norm = out.v.iter().map(|x| x * x).sum();
            out.sum = out.v.iter().sum();
        }
    }

    /// The stored vector of `slot` in the normalized space, appended to `out`.
    pub fn decode_into(&self, slot: u32, out: &mut Vec<f32>) {
        let s = slot as usize;
        let dim = self.dim;
        match &self.codes {
            Codes::F32(d) => out.extend_from_slice(&d[s * dim..(s + 1) * dim]),
            Codes::I8 { codes, scales } => {
                let sc = scales[s];
                out.extend(codes[s * dim..(s + 1) * dim].iter().map(|&c| sc * c as f32));
            }
            Codes::Binary { bits, alphas } => {
                let a = alphas[s];
                let b = &bits[s * self.words..(s + 1) * self.words];
                out.extend((0..dim).map(|i| if (b[i / 64] >> (i % 64)) & 1 == 1 { a } else { -a }));
            }
        }
    }

    /// The vector as the user inserted it (times the kept norm under cosine).
    pub fn reconstruct(&self, slot: u32) -> Vec<f32> {
        let mut v = Vec::with_capacity(self.dim);
        self.decode_into(slot, &mut v);
        if self.metric == Metric::Cosine {
            let n = self.norms[slot as usize];
            v.iter_mut().for_each(|x| *x *= n);
        }
        v
    }

    /// Traversal distance from a query prepared by [`Vectors::prepare`] or
    /// [`Vectors::prepare_slot`] to `slot` (for i8 and binary, an
    /// approximation that [`Vectors::rescore`] replaces before returning).
    #[inline(always)]
    pub fn dist(&self, q: &Prepared, slot: u32) -> f32 {
        let s = slot as usize;
        let dim = self.dim;
        match &self.codes {
            Codes::F32(d) => {
                let v = &d[s * dim..(s + 1) * dim];
                match self.metric {
                    Metric::Cosine => 1.0 - (self.k.dot)(&q.v, v),
                    Metric::L2 => (self.k.l2sq)(&q.v, v),
                    Metric::InnerProduct => -(self.k.dot)(&q.v, v),
                }
            }
            Codes::I8 { codes, scales } => {
                // The i8 walk: the distance between the *quantized* query
                // `qs·qc` and the stored `s·c`, from one integer dot product
                // (plus `c·c` for L2). Rescored before it is returned.
                let c = &codes[s * dim..(s + 1) * dim];
                let sc = scales[s];
                let w = q.code_scale * sc;
                match self.metric {
                    Metric::Cosine => 1.0 - w * (self.k.dot_i8i8)(&q.codes, c) as f32,
                    Metric::L2 => {
                        let (d, cc) = (self.k.dot_sq_i8i8)(&q.codes, c);
                        (q.code_sq - 2.0 * w * d as f32 + sc * sc * cc as f32).max(0.0)
                    }
                    Metric::InnerProduct => -w * (self.k.dot_i8i8)(&q.codes, c) as f32,
                }
            }
            Codes::Binary { bits, .. } => {
                (self.k.hamming)(&q.bits, &bits[s * self.words..(s + 1) * self.words]) as f32
            }
        }
    }

    /// Whether traversal distances must be rescored before they are returned.
    pub fn needs_rescore(&self) -> bool {
        matches!(self.codes, Codes::Binary { .. } | Codes::I8 { .. })
    }

    /// Exact asymmetric distance from the f32 query to the stored vector.
    pub fn rescore(&self, q: &Prepared, slot: u32) -> f32 {
        let s = slot as usize;
        match &self.codes {
            Codes::Binary { bits, alphas } => {
                let a = alphas[s];
                let b = &bits[s * self.words..(s + 1) * self.words];
                // q·x̂ = α (Σ_{b=1} q_i − Σ_{b=0} q_i) = α (2 Σ_{b=1} q_i − Σ q_i)
                let qx = a * (2.0 * (self.k.masked_sum)(&q.v, b) - q.sum);
                match self.metric {
                    Metric::Cosine => 1.0 - qx,
                    Metric::InnerProduct => -qx,
                    Metric::L2 => (q.sq_norm - 2.0 * qx + self.dim as f32 * a * a).max(0.0),
                }
            }
            Codes::I8 { codes, scales } => {
                let c = &codes[s * self.dim..(s + 1) * self.dim];
                let sc = scales[s];
                match self.metric {
                    Metric::Cosine => 1.0 - sc * (self.k.dot_i8)(&q.v, c),
                    Metric::L2 => (self.k.l2sq_i8)(&q.v, c, sc),
                    Metric::InnerProduct => -sc * (self.k.dot_i8)(&q.v, c),
                }
            }
            Codes::F32(_) => self.dist(q, slot),
        }
    }

    /// Distance between two stored vectors (the neighbour-selection heuristic).
    pub fn dist_nodes(&self, a: u32, b: u32) -> f32 {
        let (a, b) = (a as usize, b as usize);
        let dim = self.dim;
        match &self.codes {
            Codes::F32(d) => {
                let (x, y) = (&d[a * dim..(a + 1) * dim], &d[b * dim..(b + 1) * dim]);
                match self.metric {
                    Metric::Cosine => 1.0 - (self.k.dot)(x, y),
                    Metric::L2 => (self.k.l2sq)(x, y),
                    Metric::InnerProduct => -(self.k.dot)(x, y),
                }
            }
            Codes::I8 { codes, scales } => {
                let (x, y) = (&codes[a * dim..(a + 1) * dim], &codes[b * dim..(b + 1) * dim]);
                let (sa, sb) = (scales[a], scales[b]);
                // The same formulas as the i8 walk in `dist`, so the
                // heuristic compares like with like: a stored vector
                // prepared as a query gets its own codes and scale back.
                match self.metric {
                    Metric::Cosine => 1.0 - sa * sb * (self.k.dot_i8i8)(x, y) as f32,
                    Metric::L2 => {
                        let (xy, yy) = (self.k.dot_sq_i8i8)(x, y);
                        let xx = (self.k.dot_i8i8)(x, x);
                        (sa * sa * xx as f32 - 2.0 * sa * sb * xy as f32 + sb * sb * yy as f32)
                            .max(0.0)
                    }
                    Metric::InnerProduct => -sa * sb * (self.k.dot_i8i8)(x, y) as f32,
                }
            }
            Codes::Binary { bits, .. } => {
                let w = self.words;
                (self.k.hamming)(&bits[a * w..(a + 1) * w], &bits[b * w..(b + 1) * w]) as f32
            }
        }
    }

    /// Hints the CPU to fetch `slot`'s vector (x86_64: `prefetcht0`; wasm32:
    /// touching loads; a no-op elsewhere).
    #[inline(always)]
    pub fn prefetch(&self, slot: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let s = slot as usize;
            let (ptr, bytes) = match &self.codes {
                Codes::F32(d) => (d.as_ptr().wrapping_add(s * self.dim) as *const i8, self.dim * 4),
                Codes::I8 { codes, .. } => (codes.as_ptr().wrapping_add(s * self.dim), self.dim),
                Codes::Binary { bits, .. } => {
                    (bits.as_ptr().wrapping_add(s * self.words) as *const i8, self.words * 8)
                }
            };
            // Whole vector, up to 8 lines (512 bytes): the walk prefetches a
            // couple of neighbours ahead, so this stays within the CPU's
            // ~10–12 outstanding line fills.
            let mut off = 0;
            while off < bytes.min(512) {
                // SAFETY: prefetch never faults, even on an invalid address;
                // SSE is part of the x86_64 baseline.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.wrapping_add(off)) };
                off += 64;
            }
        }
        #[cfg(target_arch = "wasm32")]
        {
            // wasm has no prefetch instruction, and without one the walk
            // stalls on every neighbour's vector (in wasmtime half the kernel
            // time was one load waiting for memory). A load whose value is
            // never used does much of the job: the CPU starts the line fill
            // and executes on; unlike `prefetcht0` it holds up retirement
            // while it misses, so it hides only part of the stall (measured:
            // ~20% off a wasmtime search). `read_volatile` keeps LLVM and the
            // wasm engine from dropping it. One load per 64-byte line.
            let s = slot as usize;
            let bytes: &[u8] = match &self.codes {
                Codes::F32(d) => bytemuck_f32(d.get(s * self.dim..(s + 1) * self.dim)),
                Codes::I8 { codes, .. } => bytemuck_i8(codes.get(s * self.dim..(s + 1) * self.dim)),
                Codes::Binary { .. } => &[],
            };
            let mut off = 0;
            while off < bytes.len().min(512) {
                // SAFETY: `off` is inside `bytes`.
                unsafe { core::ptr::read_volatile(bytes.as_ptr().add(off)) };
                off += 64;
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "wasm32")))]
        let _ = slot;
    }

    /// Heap bytes held by vector data (codes, scales, norms).
    pub fn bytes(&self) -> usize {
        let data = match &self.codes {
            Codes::F32(d) => d.capacity() * 4,
            Codes::I8 { codes, scales } => codes.capacity() + scales.capacity() * 4,
            Codes::Binary { bits, alphas } => bits.capacity() * 8 + alphas.capacity() * 4,
        };
        data + self.norms.capacity() * 4
    }
}

/// The bytes of an f32 slice (empty for `None`), for [`Vectors::prefetch`].
#[cfg(target_arch = "wasm32")]
fn bytemuck_f32(v: Option<&[f32]>) -> &[u8] {
    let v = v.unwrap_or(&[]);
    // SAFETY: any initialized f32 is 4 initialized bytes, u8 has alignment 1.
    unsafe { core::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 4) }
}

/// The bytes of an i8 slice (empty for `None`), for [`Vectors::prefetch`].
#[cfg(target_arch = "wasm32")]
fn bytemuck_i8(v: Option<&[i8]>) -> &[u8] {
    let v = v.unwrap_or(&[]);
    // SAFETY: i8 and u8 have the same size and alignment.
    unsafe { core::slice::from_raw_parts(v.as_ptr() as *const u8, v.len()) }
}
