//! AVX2 + FMA kernels for x86_64.
//!
//! Safety model: every `unsafe fn` here requires AVX2, FMA and POPCNT. The
//! only way to reach them is [`kernels`], which is `pub(crate)` and called only
//! by `Kernels::available()` after `is_x86_feature_detected!` said yes. The
//! safe wrappers rely on that.

use super::Kernels;
use core::arch::x86_64::*;

pub(crate) fn kernels() -> Kernels {
    Kernels {
        name: "avx2+fma",
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

#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps::<1>(v);
    let s = _mm_add_ps(lo, hi);
    let shuf = _mm_movehdup_ps(s);
    let s = _mm_add_ps(s, shuf);
    let hi64 = _mm_movehl_ps(shuf, s);
    _mm_cvtss_f32(_mm_add_ss(s, hi64))
}

/// Loads 8 signed bytes and widens them to 8 f32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load_i8x8(p: *const i8) -> __m256 {
    // SAFETY: caller guarantees 8 readable bytes at `p`.
    let b = unsafe { _mm_loadl_epi64(p as *const __m128i) };
    _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b))
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut i = 0;
    // SAFETY: every load reads lanes i..i+8 (or i+16) with i+8 <= n (i+16 <= n).
    unsafe {
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
                acc1,
            );
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            i += 8;
        }
    }
    let mut s = hsum(_mm256_add_ps(acc0, acc1));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2,fma")]
unsafe fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut i = 0;
    // SAFETY: as in `dot`.
    unsafe {
        while i + 16 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)));
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            acc1 = _mm256_fmadd_ps(d1, d1, acc1);
            i += 16;
        }
        if i + 8 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            i += 8;
        }
    }
    let mut s = hsum(_mm256_add_ps(acc0, acc1));
    while i < n {
        let d = a[i] - b[i];
        s += d * d;
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot_i8(q: &[f32], c: &[i8]) -> f32 {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut i = 0;
    // SAFETY: loads stay below n as in `dot`.
    unsafe {
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i)), load_i8x8(pc.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i + 8)), load_i8x8(pc.add(i + 8)), acc1);
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i)), load_i8x8(pc.add(i)), acc0);
            i += 8;
        }
    }
    let mut s = hsum(_mm256_add_ps(acc0, acc1));
    while i < n {
        s += q[i] * c[i] as f32;
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2,fma")]
unsafe fn l2sq_i8(q: &[f32], c: &[i8], scale: f32) -> f32 {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let vs = _mm256_set1_ps(scale);
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut i = 0;
    // SAFETY: loads stay below n as in `dot`.
    unsafe {
        while i + 16 <= n {
            let d0 = _mm256_fnmadd_ps(vs, load_i8x8(pc.add(i)), _mm256_loadu_ps(pq.add(i)));
            let d1 = _mm256_fnmadd_ps(vs, load_i8x8(pc.add(i + 8)), _mm256_loadu_ps(pq.add(i + 8)));
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            acc1 = _mm256_fmadd_ps(d1, d1, acc1);
            i += 16;
        }
        if i + 8 <= n {
            let d0 = _mm256_fnmadd_ps(vs, load_i8x8(pc.add(i)), _mm256_loadu_ps(pq.add(i)));
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            i += 8;
        }
    }
    let mut s = hsum(_mm256_add_ps(acc0, acc1));
    while i < n {
        let d = q[i] - scale * c[i] as f32;
        s += d * d;
        i += 1;
    }
    s
}

#[inline]
#[target_feature(enable = "avx2")]
fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// Loads 16 signed bytes and widens them to 16 i16 lanes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_i8x16(p: *const i8) -> __m256i {
    // SAFETY: caller guarantees 16 readable bytes at `p`.
    _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(p as *const __m128i) })
}

/// i8·i8 without VNNI: widen both sides to i16 and let `vpmaddwd` add pairs
/// of products into i32 lanes. Exact (no saturation, unlike `vpmaddubsw`,
/// whose i16 pair sums overflow for |c| > 63 against unsigned bytes).
#[target_feature(enable = "avx2")]
unsafe fn dot_i8i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc0 = _mm256_setzero_si256();
    let mut acc1 = _mm256_setzero_si256();
    let mut i = 0;
    // SAFETY: every load reads bytes i..i+16 (i+32) with i+16 <= n (i+32 <= n).
    unsafe {
        while i + 32 <= n {
            acc0 = _mm256_add_epi32(
                acc0,
                _mm256_madd_epi16(load_i8x16(pa.add(i)), load_i8x16(pb.add(i))),
            );
            acc1 = _mm256_add_epi32(
                acc1,
                _mm256_madd_epi16(load_i8x16(pa.add(i + 16)), load_i8x16(pb.add(i + 16))),
            );
            i += 32;
        }
        if i + 16 <= n {
            acc0 = _mm256_add_epi32(
                acc0,
                _mm256_madd_epi16(load_i8x16(pa.add(i)), load_i8x16(pb.add(i))),
            );
            i += 16;
        }
    }
    let mut s = hsum_epi32(_mm256_add_epi32(acc0, acc1));
    while i < n {
        s += a[i] as i32 * b[i] as i32;
        i += 1;
    }
    s
}

/// `(q·c, c·c)`: one more `vpmaddwd` per 16 bytes on the already widened `c`.
#[target_feature(enable = "avx2")]
unsafe fn dot_sq_i8i8(q: &[i8], c: &[i8]) -> (i32, i32) {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    let mut dot = _mm256_setzero_si256();
    let mut sq = _mm256_setzero_si256();
    let mut i = 0;
    // SAFETY: every load reads bytes i..i+16 with i+16 <= n.
    unsafe {
        while i + 16 <= n {
            let (vq, vc) = (load_i8x16(pq.add(i)), load_i8x16(pc.add(i)));
            dot = _mm256_add_epi32(dot, _mm256_madd_epi16(vq, vc));
            sq = _mm256_add_epi32(sq, _mm256_madd_epi16(vc, vc));
            i += 16;
        }
    }
    let (mut d, mut s) = (hsum_epi32(dot), hsum_epi32(sq));
    while i < n {
        d += q[i] as i32 * c[i] as i32;
        s += c[i] as i32 * c[i] as i32;
        i += 1;
    }
    (d, s)
}

/// AVX2 has no vector popcount; the scalar `popcnt` instruction on 64-bit
/// words (four independent chains) is as fast as the nibble-table trick up to
/// 1536 bits and much simpler.
#[target_feature(enable = "popcnt")]
unsafe fn hamming(a: &[u64], b: &[u64]) -> u32 {
    let n = a.len().min(b.len());
    let mut acc = [0u32; 4];
    let mut i = 0;
    while i + 4 <= n {
        for j in 0..4 {
            acc[j] += (a[i + j] ^ b[i + j]).count_ones();
        }
        i += 4;
    }
    while i < n {
        acc[0] += (a[i] ^ b[i]).count_ones();
        i += 1;
    }
    acc.iter().sum()
}

/// For each byte of the bit mask, broadcast it, test one bit per lane, and
/// add the selected query lanes.
#[target_feature(enable = "avx2,fma")]
unsafe fn masked_sum(q: &[f32], bits: &[u64]) -> f32 {
    let n = q.len().min(bits.len() * 64);
    let pq = q.as_ptr();
    let sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        let byte = ((bits[i / 64] >> (i % 64)) & 0xff) as i32;
        let m = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(byte), sel), sel);
        // SAFETY: i + 8 <= n <= q.len().
        let v = unsafe { _mm256_loadu_ps(pq.add(i)) };
        acc = _mm256_add_ps(acc, _mm256_and_ps(_mm256_castsi256_ps(m), v));
        i += 8;
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
