//! wasm `simd128` kernels, compiled only when the module is built with
//! `-C target-feature=+simd128` (wasm cannot detect features at run time).
//!
//! What makes them fast in a wasm engine (measured in wasmtime; V8 is alike):
//! - **No slice indexing in the loops.** `&a[i..i + 4]` costs two compares
//!   and branches per load that LLVM does not hoist; Cranelift then spills
//!   the accumulators around them. The loops read through raw pointers
//!   after one up-front length check (wasm loads are memory-safe anyway).
//! - **32 lanes per iteration, four accumulators**: four independent add
//!   chains hide the add latency. The body is long on purpose: wasmtime's
//!   epoch check at every loop header has a (cold) call that clobbers the
//!   vector registers, so Cranelift keeps the accumulators in stack slots
//!   and pays a store and a reload per accumulator per iteration; 32 lanes
//!   per iteration halve that against 16 (measured ~10% of a search; 128
//!   lanes was slower again, from register pressure).
//! - **Fused multiply-add with `relaxed-simd`.** Baseline simd128 has no
//!   FMA, so without it products and sums are separate instructions. A
//!   module built with `-C target-feature=+simd128,+relaxed-simd` uses
//!   `f32x4.relaxed_madd`, which wasmtime lowers to one `vfmadd` on an x86
//!   CPU with FMA (the CPUs whose native kernels are AVX2+FMA) and to a
//!   multiply and an add elsewhere; so results may differ in the last bits
//!   between hosts, as fused and unfused sums do natively. Node 20 needs a
//!   flag for relaxed SIMD (and its baseline compiler, Liftoff, gets
//!   `i32x4.relaxed_dot_i8x16_i7x16_add_s` wrong), so the npm package is
//!   built without it; the wasmtime guest (crates/host/build.rs) is built
//!   with it.
//! - **The relaxed i8 dot** (`relaxed_dot_i8x16_i7x16`, module
//!   `relaxed`) for the i8 walk's `dot_i8i8`/`dot_sq_i8i8`: exact for
//!   codes, by moving the sign of one operand onto the other.

use super::Kernels;
use core::arch::wasm32::*;

pub(crate) fn kernels() -> Kernels {
    Kernels {
        name: KERNELS_NAME,
        dot,
        l2sq,
        dot_i8,
        l2sq_i8,
        dot_i8i8,
        dot_sq_i8i8,
        hamming,
        masked_sum,
    }
}

#[cfg(target_feature = "relaxed-simd")]
const KERNELS_NAME: &str = "simd128+relaxed";
#[cfg(not(target_feature = "relaxed-simd"))]
const KERNELS_NAME: &str = "simd128";

/// `a·b + c` per lane: fused with `relaxed-simd` (on hosts with FMA).
#[inline(always)]
fn madd(a: v128, b: v128, c: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, c)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(f32x4_mul(a, b), c)
    }
}

/// `c − a·b` per lane: fused with `relaxed-simd` (on hosts with FMA).
#[inline(always)]
fn nmadd(a: v128, b: v128, c: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_nmadd(a, b, c)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_sub(c, f32x4_mul(a, b))
    }
}

#[inline(always)]
fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v)
        + f32x4_extract_lane::<1>(v)
        + f32x4_extract_lane::<2>(v)
        + f32x4_extract_lane::<3>(v)
}

#[inline(always)]
fn hsum4(a: [v128; 4]) -> f32 {
    hsum(f32x4_add(f32x4_add(a[0], a[1]), f32x4_add(a[2], a[3])))
}

/// Loads 4 f32 at `p` (unaligned).
///
/// # Safety
/// 16 readable bytes at `p`.
#[inline(always)]
unsafe fn ld(p: *const f32) -> v128 {
    // SAFETY: by the caller; v128_load allows unaligned addresses.
    unsafe { v128_load(p as *const v128) }
}

/// Widens 16 signed bytes at `p` into four f32x4.
///
/// # Safety
/// 16 readable bytes at `p`.
#[inline(always)]
unsafe fn ld_i8x16(p: *const i8) -> [v128; 4] {
    // SAFETY: by the caller.
    let b = unsafe { v128_load(p as *const v128) };
    let lo = i16x8_extend_low_i8x16(b);
    let hi = i16x8_extend_high_i8x16(b);
    [
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(lo)),
        f32x4_convert_i32x4(i32x4_extend_high_i16x8(lo)),
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(hi)),
        f32x4_convert_i32x4(i32x4_extend_high_i16x8(hi)),
    ]
}

const ZERO4: [v128; 4] = [f32x4(0.0, 0.0, 0.0, 0.0); 4];

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = ZERO4;
    let mut i = 0;
    // SAFETY (all loads below): each reads lanes below i + w, where w
    // (32, 16 or 4) is the step its loop just checked against n, and n is
    // at most either slice's length.
    unsafe {
        while i + 32 <= n {
            for j in 0..8 {
                let k = j % 4;
                acc[k] = madd(ld(pa.add(i + 4 * j)), ld(pb.add(i + 4 * j)), acc[k]);
            }
            i += 32;
        }
        if i + 16 <= n {
            for (j, acc) in acc.iter_mut().enumerate() {
                *acc = madd(ld(pa.add(i + 4 * j)), ld(pb.add(i + 4 * j)), *acc);
            }
            i += 16;
        }
        while i + 4 <= n {
            acc[0] = madd(ld(pa.add(i)), ld(pb.add(i)), acc[0]);
            i += 4;
        }
    }
    let mut s = hsum4(acc);
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = ZERO4;
    let mut i = 0;
    // SAFETY: as in `dot`.
    unsafe {
        while i + 32 <= n {
            for j in 0..8 {
                let k = j % 4;
                let d = f32x4_sub(ld(pa.add(i + 4 * j)), ld(pb.add(i + 4 * j)));
                acc[k] = madd(d, d, acc[k]);
            }
            i += 32;
        }
        if i + 16 <= n {
            for (j, acc) in acc.iter_mut().enumerate() {
                let d = f32x4_sub(ld(pa.add(i + 4 * j)), ld(pb.add(i + 4 * j)));
                *acc = madd(d, d, *acc);
            }
            i += 16;
        }
        while i + 4 <= n {
            let d = f32x4_sub(ld(pa.add(i)), ld(pb.add(i)));
            acc[0] = madd(d, d, acc[0]);
            i += 4;
        }
    }
    let mut s = hsum4(acc);
    while i < n {
        let d = a[i] - b[i];
        s += d * d;
        i += 1;
    }
    s
}

fn dot_i8(q: &[f32], c: &[i8]) -> f32 {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let mut acc = ZERO4;
    let mut i = 0;
    // SAFETY: as in `dot` (codes and floats below i + w, i + w <= n).
    unsafe {
        while i + 32 <= n {
            for h in [0, 16] {
                let w = ld_i8x16(pc.add(i + h));
                for (j, acc) in acc.iter_mut().enumerate() {
                    *acc = madd(ld(pq.add(i + h + 4 * j)), w[j], *acc);
                }
            }
            i += 32;
        }
        if i + 16 <= n {
            let w = ld_i8x16(pc.add(i));
            for (j, acc) in acc.iter_mut().enumerate() {
                *acc = madd(ld(pq.add(i + 4 * j)), w[j], *acc);
            }
            i += 16;
        }
    }
    let mut s = hsum4(acc);
    while i < n {
        s += q[i] * c[i] as f32;
        i += 1;
    }
    s
}

fn l2sq_i8(q: &[f32], c: &[i8], scale: f32) -> f32 {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let vs = f32x4_splat(scale);
    let mut acc = ZERO4;
    let mut i = 0;
    // SAFETY: as in `dot_i8`.
    unsafe {
        while i + 32 <= n {
            for h in [0, 16] {
                let w = ld_i8x16(pc.add(i + h));
                for (j, acc) in acc.iter_mut().enumerate() {
                    let d = nmadd(vs, w[j], ld(pq.add(i + h + 4 * j)));
                    *acc = madd(d, d, *acc);
                }
            }
            i += 32;
        }
        if i + 16 <= n {
            let w = ld_i8x16(pc.add(i));
            for (j, acc) in acc.iter_mut().enumerate() {
                let d = nmadd(vs, w[j], ld(pq.add(i + 4 * j)));
                *acc = madd(d, d, *acc);
            }
            i += 16;
        }
    }
    let mut s = hsum4(acc);
    while i < n {
        let d = q[i] - scale * c[i] as f32;
        s += d * d;
        i += 1;
    }
    s
}

/// Loads 16 signed bytes at `p` widened to two i16x8.
///
/// # Safety
/// 16 readable bytes at `p`.
#[cfg(not(target_feature = "relaxed-simd"))]
#[inline(always)]
unsafe fn ld_i16x16(p: *const i8) -> (v128, v128) {
    // SAFETY: by the caller.
    let b = unsafe { v128_load(p as *const v128) };
    (i16x8_extend_low_i8x16(b), i16x8_extend_high_i8x16(b))
}

/// i8·i8, exact: widen to i16 and `i32x4.dot_i16x8_s` (products of pairs
/// added into i32 lanes, no saturation). With `relaxed-simd` the module
/// uses `relaxed::dot_i8i8` instead.
#[cfg(not(target_feature = "relaxed-simd"))]
fn dot_i8i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = i32x4_splat(0);
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n, the length of both slices.
        let ((a0, a1), (b0, b1)) = unsafe { (ld_i16x16(pa.add(i)), ld_i16x16(pb.add(i))) };
        acc = i32x4_add(acc, i32x4_add(i32x4_dot_i16x8(a0, b0), i32x4_dot_i16x8(a1, b1)));
        i += 16;
    }
    let mut s = lanes_i32(acc);
    while i < n {
        s += a[i] as i32 * b[i] as i32;
        i += 1;
    }
    s
}

/// `(q·c, c·c)`, exact, as `dot_i8i8`.
#[cfg(not(target_feature = "relaxed-simd"))]
fn dot_sq_i8i8(q: &[i8], c: &[i8]) -> (i32, i32) {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let mut dot = i32x4_splat(0);
    let mut sq = i32x4_splat(0);
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n, the length of both slices.
        let ((q0, q1), (c0, c1)) = unsafe { (ld_i16x16(pq.add(i)), ld_i16x16(pc.add(i))) };
        dot = i32x4_add(dot, i32x4_add(i32x4_dot_i16x8(q0, c0), i32x4_dot_i16x8(q1, c1)));
        sq = i32x4_add(sq, i32x4_add(i32x4_dot_i16x8(c0, c0), i32x4_dot_i16x8(c1, c1)));
        i += 16;
    }
    let (mut d, mut s) = (lanes_i32(dot), lanes_i32(sq));
    while i < n {
        d += q[i] as i32 * c[i] as i32;
        s += c[i] as i32 * c[i] as i32;
        i += 1;
    }
    (d, s)
}

#[cfg(target_feature = "relaxed-simd")]
use relaxed::{dot_i8i8, dot_sq_i8i8};

/// The integer kernels on `i32x4.relaxed_dot_i8x16_i7x16_add_s`.
///
/// **What the instruction does.** Each i32 lane gets the sum of four
/// products `a_j·b_j` plus the accumulator, where `a` is signed i8 and `b`
/// is meant to be 7-bit (0..=127). For a `b` lane with its top bit set the
/// result is implementation-defined: an engine may read it as signed or
/// as unsigned (wasmtime on x86 lowers the instruction to `pmaddubsw`,
/// which reads `b` as unsigned, then `pmaddwd` by ones and `paddd`; with
/// `relaxed_simd_deterministic` or on other CPUs it reads both as signed).
/// Within 0..=127 every reading agrees, and `pmaddubsw`'s i16 pair sums
/// cannot saturate (`2 · 128 · 127 < 2¹⁵`), so the result is exact.
///
/// **Making one side 7-bit.** Our codes are signed on both sides
/// (−127..=127: `quantize_i8` clamps, the query included). An offset (the
/// query plus 127, with a `127 Σ c` correction) does not fit 7 bits, and a
/// 7-bit query would halve the walk's resolution. Instead the sign moves
/// across: `a_j b_j = (sgn(b_j)·a_j) · |b_j|`, so `b' = |b|` is 7-bit and
/// `a' = sgn(b)·a` stays in −127..=127. `a'` is `(a ⊕ m) − m` with
/// `m = (b < 0)` as an all-ones byte mask (two's-complement negation where
/// `b` is negative), `|b|` one `i8x16.abs`. So for codes in −127..=127 the
/// kernel is **exact**, the same integers as every other set, and the i8
/// walk's recall is unchanged (the walk sees identical distances).
///
/// **−128** (never produced by `quantize_i8`, but the snapshot loader does
/// not reject it) does not fit: `|−128|` wraps to `0x80` and `−(−128)` to
/// −128. The kernel clamps `|b|` to 127 (`u8x16.min`, one instruction), so
/// the engine always sees a 7-bit `b` and the result is the same on every
/// engine and CPU, deterministic, but no longer exact: a lane where `b` is
/// −128 reads it as −127 (error `|a| ≤ 128`), and a lane where `a` is −128
/// and `b < 0` reads `a'` as −128 instead of 128 (error `256 |b| ≤ 32512`).
/// The bound is **`|error| ≤ 32640` per lane holding a −128** on either
/// side (`c·c` in `dot_sq_i8i8`: 255 per such lane), and zero otherwise;
/// the kernel test checks exactness on −127..=127 and this bound with
/// −128.
///
/// **Cost.** Per 16 bytes: `abs`, `min`, `lt`, `xor`, `sub` and the dot
/// (`pmaddubsw`, `pmaddwd`, `paddd` in wasmtime), against four widenings
/// (six x86 instructions), two `pmaddwd` and two `paddd` for the exact
/// simd128 kernel; `dot_sq_i8i8` shares `|c|` and the mask between its two
/// dots.
#[cfg(target_feature = "relaxed-simd")]
mod relaxed {
    use super::lanes_i32;
    use core::arch::wasm32::*;

    /// 16 lanes of `(sgn(b)·a, min(|b|, 127))`.
    #[inline(always)]
    fn sign_to_a(a: v128, b: v128) -> (v128, v128) {
        let m = i8x16_lt(b, i8x16_splat(0));
        let a = i8x16_sub(v128_xor(a, m), m);
        (a, u8x16_min(i8x16_abs(b), i8x16_splat(127)))
    }

    /// Loads 16 bytes at `p`.
    ///
    /// # Safety
    /// 16 readable bytes at `p`.
    #[inline(always)]
    unsafe fn ld(p: *const i8) -> v128 {
        // SAFETY: by the caller; v128_load allows unaligned addresses.
        unsafe { v128_load(p as *const v128) }
    }

    /// `Σ a_i b_i`; exact for lanes in −127..=127 (see the module docs).
    pub(super) fn dot_i8i8(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [i32x4_splat(0); 2];
        let mut i = 0;
        // SAFETY (all loads): each reads 16 bytes below i + w, where w (32
        // or 16) is the step its loop just checked against n, and n is at
        // most either slice's length.
        unsafe {
            while i + 32 <= n {
                for (h, acc) in acc.iter_mut().enumerate() {
                    let (x, y) = sign_to_a(ld(pa.add(i + 16 * h)), ld(pb.add(i + 16 * h)));
                    *acc = i32x4_relaxed_dot_i8x16_i7x16_add(x, y, *acc);
                }
                i += 32;
            }
            if i + 16 <= n {
                let (x, y) = sign_to_a(ld(pa.add(i)), ld(pb.add(i)));
                acc[0] = i32x4_relaxed_dot_i8x16_i7x16_add(x, y, acc[0]);
                i += 16;
            }
        }
        let mut s = lanes_i32(i32x4_add(acc[0], acc[1]));
        while i < n {
            s += a[i] as i32 * b[i] as i32;
            i += 1;
        }
        s
    }

    /// `(q·c, c·c)`; exact for lanes in −127..=127 (see the module docs).
    pub(super) fn dot_sq_i8i8(q: &[i8], c: &[i8]) -> (i32, i32) {
        let n = q.len().min(c.len());
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let (mut dot, mut sq) = ([i32x4_splat(0); 2], [i32x4_splat(0); 2]);
        let mut i = 0;
        // SAFETY: as in `dot_i8i8`.
        unsafe {
            while i + 32 <= n {
                for h in 0..2 {
                    let (x, y) = sign_to_a(ld(pq.add(i + 16 * h)), ld(pc.add(i + 16 * h)));
                    dot[h] = i32x4_relaxed_dot_i8x16_i7x16_add(x, y, dot[h]);
                    sq[h] = i32x4_relaxed_dot_i8x16_i7x16_add(y, y, sq[h]);
                }
                i += 32;
            }
            if i + 16 <= n {
                let (x, y) = sign_to_a(ld(pq.add(i)), ld(pc.add(i)));
                dot[0] = i32x4_relaxed_dot_i8x16_i7x16_add(x, y, dot[0]);
                sq[0] = i32x4_relaxed_dot_i8x16_i7x16_add(y, y, sq[0]);
                i += 16;
            }
        }
        let mut d = lanes_i32(i32x4_add(dot[0], dot[1]));
        let mut s = lanes_i32(i32x4_add(sq[0], sq[1]));
        while i < n {
            d += q[i] as i32 * c[i] as i32;
            s += c[i] as i32 * c[i] as i32;
            i += 1;
        }
        (d, s)
    }
}

#[inline(always)]
fn lanes_i32(v: v128) -> i32 {
    i32x4_extract_lane::<0>(v)
        + i32x4_extract_lane::<1>(v)
        + i32x4_extract_lane::<2>(v)
        + i32x4_extract_lane::<3>(v)
}

fn hamming(a: &[u64], b: &[u64]) -> u32 {
    let n = a.len().min(b.len());
    let mut acc = i32x4_splat(0);
    let mut i = 0;
    while i + 2 <= n {
        let x = u64x2(a[i] ^ b[i], a[i + 1] ^ b[i + 1]);
        let bytes = i8x16_popcnt(x);
        acc = i32x4_add(acc, i32x4_extadd_pairwise_u16x8(i16x8_extadd_pairwise_u8x16(bytes)));
        i += 2;
    }
    let mut s = (i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc)) as u32;
    while i < n {
        s += (a[i] ^ b[i]).count_ones();
        i += 1;
    }
    s
}

fn masked_sum(q: &[f32], bits: &[u64]) -> f32 {
    let n = q.len().min(bits.len() * 64);
    let sel = i32x4(1, 2, 4, 8);
    let mut acc = f32x4_splat(0.0);
    let mut i = 0;
    while i + 4 <= n {
        let nib = ((bits[i / 64] >> (i % 64)) & 0xf) as i32;
        let m = i32x4_eq(v128_and(i32x4_splat(nib), sel), sel);
        // SAFETY: i + 4 <= n <= q.len().
        acc = f32x4_add(acc, v128_and(m, unsafe { ld(q.as_ptr().add(i)) }));
        i += 4;
    }
    let mut s = hsum(acc);
    while i < n {
        if (bits[i / 64] >> (i % 64)) & 1 == 1 {
            s += q[i];
        }
        i += 1;
    }
    s
}
