//! AVX-512 kernels for x86_64: F, BW and VL for the f32 and mixed kernels,
//! VNNI (`vpdpbusd`) for the i8·i8 ones, VPOPCNTDQ (`vpopcntq`) for Hamming.
//!
//! Safety model: every `unsafe fn` here requires AVX-512 F, BW, VL, VNNI
//! and VPOPCNTDQ. The only way to reach them is [`kernels`], which is
//! `pub(crate)` and called only by `Kernels::available()` after
//! `is_x86_feature_detected!` said yes to each of them. The safe wrappers
//! rely on that.
//!
//! Tails. Instead of a scalar loop, the last partial block is read with a
//! *masked* load (`vmovups`/`vmovdqu8` with a `k` mask): lanes whose mask
//! bit is clear are not read (no fault even past the end of the slice) and
//! come back as zero, and a zero lane adds nothing to any of these sums.
//!
//! Sign handling in `vpdpbusd`. The instruction multiplies *unsigned* bytes
//! of its first operand by *signed* bytes of its second, adds each group of
//! four products into an i32 lane, and does not saturate (`vpdpbusds` is the
//! saturating one). Both our operands are signed, so the first one, `b`, is
//! biased into unsigned range: `b ^ 0x80` is `b + 128` read as u8. Then
//! `Σ (b_i + 128) a_i = a·b + 128 Σ a_i`, and the correction `128 Σ a_i` is
//! one more `vpdpbusd` of the constant byte `0x80` (128 as u8) against `a`,
//! into a second accumulator, subtracted at the end. It is computed per
//! call rather than once per query so the kernel keeps the exact
//! `fn(&[i8], &[i8]) -> i32` contract of the other sets (results are
//! bit-identical across sets); it is an independent chain, one extra µop per
//! 64 bytes next to the loads. No overflow: a lane adds four products of at
//! most `255 · 128`, `dim / 16` times, far below 2³¹ for `dim ≤ 65536`.
//!
//! Status: written and compiled on a machine without AVX-512, so never
//! executed there; see [`super::AVX512_BY_DEFAULT`].

use super::Kernels;
use core::arch::x86_64::*;

pub(crate) fn kernels() -> Kernels {
    Kernels {
        name: "avx512+vnni",
        dot: |a, b| unsafe { dot(a, b) },
        l2sq: |a, b| unsafe { l2sq(a, b) },
        dot_i8: |q, c| unsafe { dot_i8(q, c) },
        l2sq_i8: |q, c, s| unsafe { l2sq_i8(q, c, s) },
        dot_i8i8: |a, b| unsafe { dot_i8i8(a, b) },
        dot_sq_i8i8: |q, c| unsafe { dot_sq_i8i8(q, c) },
        hamming: |a, b| unsafe { hamming(a, b) },
        masked_sum: |q, b| unsafe { masked_sum(q, b) },
    }
}

/// Mask of the low `r` lanes, `r < 16`.
#[inline(always)]
fn low16(r: usize) -> __mmask16 {
    ((1u32 << r) - 1) as __mmask16
}

/// Mask of the low `r` lanes, `r < 64`.
#[inline(always)]
fn low64(r: usize) -> __mmask64 {
    (1u64 << r) - 1
}

/// 16 signed bytes at `p` (only the lanes in `m`) widened to 16 f32 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn load_i8x16_ps(m: __mmask16, p: *const i8) -> __m512 {
    // SAFETY: caller guarantees the lanes selected by `m` are readable.
    let b = unsafe { _mm_maskz_loadu_epi8(m, p) };
    _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc0 = _mm512_setzero_ps();
    let mut acc1 = _mm512_setzero_ps();
    let mut i = 0;
    // SAFETY: full loads read lanes i..i+16 (i+32) with i+16 <= n (i+32 <=
    // n); the masked tail reads only lanes below n.
    unsafe {
        while i + 32 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
                acc1,
            );
            i += 32;
        }
        if i + 16 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            i += 16;
        }
        if i < n {
            let m = low16(n - i);
            acc1 = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(m, pa.add(i)),
                _mm512_maskz_loadu_ps(m, pb.add(i)),
                acc1,
            );
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc0 = _mm512_setzero_ps();
    let mut acc1 = _mm512_setzero_ps();
    let mut i = 0;
    // SAFETY: as in `dot`.
    unsafe {
        while i + 32 <= n {
            let d0 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
            let d1 =
                _mm512_sub_ps(_mm512_loadu_ps(pa.add(i + 16)), _mm512_loadu_ps(pb.add(i + 16)));
            acc0 = _mm512_fmadd_ps(d0, d0, acc0);
            acc1 = _mm512_fmadd_ps(d1, d1, acc1);
            i += 32;
        }
        if i + 16 <= n {
            let d0 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
            acc0 = _mm512_fmadd_ps(d0, d0, acc0);
            i += 16;
        }
        if i < n {
            let m = low16(n - i);
            let d = _mm512_sub_ps(
                _mm512_maskz_loadu_ps(m, pa.add(i)),
                _mm512_maskz_loadu_ps(m, pb.add(i)),
            );
            acc1 = _mm512_fmadd_ps(d, d, acc1);
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn dot_i8(q: &[f32], c: &[i8]) -> f32 {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let mut acc0 = _mm512_setzero_ps();
    let mut acc1 = _mm512_setzero_ps();
    let mut i = 0;
    // SAFETY: as in `dot` (16 bytes of `c` per 16 lanes of `q`).
    unsafe {
        while i + 32 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i)), load_i8x16_ps(!0, pc.add(i)), acc0);
            acc1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pq.add(i + 16)),
                load_i8x16_ps(!0, pc.add(i + 16)),
                acc1,
            );
            i += 32;
        }
        if i + 16 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pq.add(i)), load_i8x16_ps(!0, pc.add(i)), acc0);
            i += 16;
        }
        if i < n {
            let m = low16(n - i);
            acc1 = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(m, pq.add(i)),
                load_i8x16_ps(m, pc.add(i)),
                acc1,
            );
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn l2sq_i8(q: &[f32], c: &[i8], scale: f32) -> f32 {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let vs = _mm512_set1_ps(scale);
    let mut acc0 = _mm512_setzero_ps();
    let mut acc1 = _mm512_setzero_ps();
    let mut i = 0;
    // SAFETY: as in `dot_i8`. Masked-off lanes are 0 - s·0 = 0.
    unsafe {
        while i + 32 <= n {
            let d0 = _mm512_fnmadd_ps(vs, load_i8x16_ps(!0, pc.add(i)), _mm512_loadu_ps(pq.add(i)));
            let d1 = _mm512_fnmadd_ps(
                vs,
                load_i8x16_ps(!0, pc.add(i + 16)),
                _mm512_loadu_ps(pq.add(i + 16)),
            );
            acc0 = _mm512_fmadd_ps(d0, d0, acc0);
            acc1 = _mm512_fmadd_ps(d1, d1, acc1);
            i += 32;
        }
        if i + 16 <= n {
            let d0 = _mm512_fnmadd_ps(vs, load_i8x16_ps(!0, pc.add(i)), _mm512_loadu_ps(pq.add(i)));
            acc0 = _mm512_fmadd_ps(d0, d0, acc0);
            i += 16;
        }
        if i < n {
            let m = low16(n - i);
            let d = _mm512_fnmadd_ps(
                vs,
                load_i8x16_ps(m, pc.add(i)),
                _mm512_maskz_loadu_ps(m, pq.add(i)),
            );
            acc1 = _mm512_fmadd_ps(d, d, acc1);
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
}

/// Loads the lanes of 64 bytes at `p` selected by `m` (the others are zero).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn load_u8x64(m: __mmask64, p: *const i8) -> __m512i {
    // SAFETY: caller guarantees the selected lanes are readable.
    unsafe { _mm512_maskz_loadu_epi8(m, p) }
}

/// `a·b` with `vpdpbusd`; see the module notes for the bias.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dot_i8i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let bias = _mm512_set1_epi8(-128); // 0x80: +128 as unsigned
    let mut acc = _mm512_setzero_si512();
    let mut cor = _mm512_setzero_si512();
    let mut i = 0;
    while i < n {
        let m = if n - i >= 64 { !0 } else { low64(n - i) };
        // SAFETY: the mask selects bytes i..min(i+64, n), all readable. A
        // masked-off lane is a = 0, so it adds (0 + 128)·0 = 0 to `acc` and
        // 128·0 to `cor`.
        let (va, vb) = unsafe { (load_u8x64(m, pa.add(i)), load_u8x64(m, pb.add(i))) };
        acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(vb, bias), va);
        cor = _mm512_dpbusd_epi32(cor, bias, va);
        i += 64;
    }
    _mm512_reduce_add_epi32(_mm512_sub_epi32(acc, cor))
}

/// `(q·c, c·c)` with `vpdpbusd`: `u = c + 128` (unsigned) times `q` and
/// times `c`, minus `128 Σq` and `128 Σc`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dot_sq_i8i8(q: &[i8], c: &[i8]) -> (i32, i32) {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let bias = _mm512_set1_epi8(-128);
    let (mut dot, mut sq) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let (mut cq, mut cc) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let mut i = 0;
    while i < n {
        let m = if n - i >= 64 { !0 } else { low64(n - i) };
        // SAFETY: as in `dot_i8i8`.
        let (vq, vc) = unsafe { (load_u8x64(m, pq.add(i)), load_u8x64(m, pc.add(i))) };
        let u = _mm512_xor_si512(vc, bias);
        dot = _mm512_dpbusd_epi32(dot, u, vq);
        sq = _mm512_dpbusd_epi32(sq, u, vc);
        cq = _mm512_dpbusd_epi32(cq, bias, vq);
        cc = _mm512_dpbusd_epi32(cc, bias, vc);
        i += 64;
    }
    (
        _mm512_reduce_add_epi32(_mm512_sub_epi32(dot, cq)),
        _mm512_reduce_add_epi32(_mm512_sub_epi32(sq, cc)),
    )
}

/// `vpopcntq` on eight 64-bit words at a time.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn hamming(a: &[u64], b: &[u64]) -> u32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = _mm512_setzero_si512();
    let mut i = 0;
    while i < n {
        let m: __mmask8 = if n - i >= 8 { !0 } else { ((1u32 << (n - i)) - 1) as __mmask8 };
        // SAFETY: the mask selects words i..min(i+8, n); masked-off words
        // are 0 on both sides, so their XOR has no bits.
        let x = unsafe {
            _mm512_xor_si512(
                _mm512_maskz_loadu_epi64(m, pa.add(i) as *const i64),
                _mm512_maskz_loadu_epi64(m, pb.add(i) as *const i64),
            )
        };
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
        i += 8;
    }
    _mm512_reduce_add_epi64(acc) as u32
}

/// The bit mask *is* a load mask: 16 bits of `bits` select the query lanes
/// to load, the others load as zero, and the loads are summed.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn masked_sum(q: &[f32], bits: &[u64]) -> f32 {
    let n = q.len().min(bits.len() * 64);
    let pq = q.as_ptr();
    let mut acc = _mm512_setzero_ps();
    let mut i = 0;
    while i < n {
        // i is a multiple of 16, so the 16 bits never straddle two words.
        let mut m = ((bits[i / 64] >> (i % 64)) & 0xffff) as __mmask16;
        if n - i < 16 {
            m &= low16(n - i);
        }
        // SAFETY: `m` selects only lanes below n <= q.len().
        acc = _mm512_add_ps(acc, unsafe { _mm512_maskz_loadu_ps(m, pq.add(i)) });
        i += 16;
    }
    _mm512_reduce_add_ps(acc)
}
