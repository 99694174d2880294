//! wasm `simd128` kernels, compiled only when the module is built with
//! `-C target-feature=+simd128` (wasm cannot detect features at run time).
//! Baseline simd128 has no fused multiply-add, so products and sums are
//! separate instructions.

use super::Kernels;
use core::arch::wasm32::*;

pub(crate) fn kernels() -> Kernels {
    Kernels { name: "simd128", dot, l2sq, dot_i8, l2sq_i8, hamming, masked_sum }
}

#[inline]
fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v)
        + f32x4_extract_lane::<1>(v)
        + f32x4_extract_lane::<2>(v)
        + f32x4_extract_lane::<3>(v)
}

#[inline]
fn load_f32x4(s: &[f32], i: usize) -> v128 {
    let c = &s[i..i + 4];
    // SAFETY: `c` is 4 in-bounds f32 = 16 bytes; v128_load allows unaligned.
    unsafe { v128_load(c.as_ptr() as *const v128) }
}

/// Widens 16 signed bytes at `i` into four f32x4.
#[inline]
fn load_i8x16(s: &[i8], i: usize) -> [v128; 4] {
    let c = &s[i..i + 16];
    // SAFETY: `c` is 16 in-bounds bytes.
    let b = unsafe { v128_load(c.as_ptr() as *const v128) };
    let lo = i16x8_extend_low_i8x16(b);
    let hi = i16x8_extend_high_i8x16(b);
    [
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(lo)),
        f32x4_convert_i32x4(i32x4_extend_high_i16x8(lo)),
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(hi)),
        f32x4_convert_i32x4(i32x4_extend_high_i16x8(hi)),
    ]
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (mut acc0, mut acc1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    let mut i = 0;
    while i + 8 <= n {
        acc0 = f32x4_add(acc0, f32x4_mul(load_f32x4(a, i), load_f32x4(b, i)));
        acc1 = f32x4_add(acc1, f32x4_mul(load_f32x4(a, i + 4), load_f32x4(b, i + 4)));
        i += 8;
    }
    if i + 4 <= n {
        acc0 = f32x4_add(acc0, f32x4_mul(load_f32x4(a, i), load_f32x4(b, i)));
        i += 4;
    }
    let mut s = hsum(f32x4_add(acc0, acc1));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (mut acc0, mut acc1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    let mut i = 0;
    while i + 8 <= n {
        let d0 = f32x4_sub(load_f32x4(a, i), load_f32x4(b, i));
        let d1 = f32x4_sub(load_f32x4(a, i + 4), load_f32x4(b, i + 4));
        acc0 = f32x4_add(acc0, f32x4_mul(d0, d0));
        acc1 = f32x4_add(acc1, f32x4_mul(d1, d1));
        i += 8;
    }
    if i + 4 <= n {
        let d0 = f32x4_sub(load_f32x4(a, i), load_f32x4(b, i));
        acc0 = f32x4_add(acc0, f32x4_mul(d0, d0));
        i += 4;
    }
    let mut s = hsum(f32x4_add(acc0, acc1));
    while i < n {
        let d = a[i] - b[i];
        s += d * d;
        i += 1;
    }
    s
}

fn dot_i8(q: &[f32], c: &[i8]) -> f32 {
    let n = q.len().min(c.len());
    let mut acc = [f32x4_splat(0.0); 4];
    let mut i = 0;
    while i + 16 <= n {
        let w = load_i8x16(c, i);
        for j in 0..4 {
            acc[j] = f32x4_add(acc[j], f32x4_mul(load_f32x4(q, i + 4 * j), w[j]));
        }
        i += 16;
    }
    let mut s = hsum(f32x4_add(f32x4_add(acc[0], acc[1]), f32x4_add(acc[2], acc[3])));
    while i < n {
        s += q[i] * c[i] as f32;
        i += 1;
    }
    s
}

fn l2sq_i8(q: &[f32], c: &[i8], scale: f32) -> f32 {
    let n = q.len().min(c.len());
    let vs = f32x4_splat(scale);
    let mut acc = [f32x4_splat(0.0); 4];
    let mut i = 0;
    while i + 16 <= n {
        let w = load_i8x16(c, i);
        for j in 0..4 {
            let d = f32x4_sub(load_f32x4(q, i + 4 * j), f32x4_mul(vs, w[j]));
            acc[j] = f32x4_add(acc[j], f32x4_mul(d, d));
        }
        i += 16;
    }
    let mut s = hsum(f32x4_add(f32x4_add(acc[0], acc[1]), f32x4_add(acc[2], acc[3])));
    while i < n {
        let d = q[i] - scale * c[i] as f32;
        s += d * d;
        i += 1;
    }
    s
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
        acc = f32x4_add(acc, v128_and(m, load_f32x4(q, i)));
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
