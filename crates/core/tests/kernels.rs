//! Every SIMD kernel set available on this machine agrees with the scalar one.

mod common;
use common::Rng;
use vecshard_core::distance::Kernels;

#[test]
fn simd_kernels_match_scalar() {
    let scalar = Kernels::scalar();
    let sets = Kernels::available();
    println!("kernel sets: {:?}", sets.iter().map(|k| k.name).collect::<Vec<_>>());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let dims: Vec<usize> = (1..=70).chain([100, 127, 128, 129, 384, 768, 1536]).collect();
    for k in &sets {
        for &dim in &dims {
            // Operands start 0..3 elements into a larger buffer, so the
            // SIMD loads see every misalignment, not just the allocator's.
            for off in 0..4 {
                check_one(k, &scalar, &mut rng, dim, off);
            }
        }
    }
}

fn check_one(k: &Kernels, scalar: &Kernels, rng: &mut Rng, dim: usize, off: usize) {
    let a_buf = rng.vec(dim + off);
    let b_buf = rng.vec(dim + off);
    // Codes as `quantize_i8` makes them: −127..=127, where every set is
    // exact. Any i8 (−128 included) is checked further down.
    let code = |rng: &mut Rng| ((rng.next() % 255) as i32 - 127) as i8;
    let c_buf: Vec<i8> = (0..dim + off).map(|_| code(rng)).collect();
    let d_buf: Vec<i8> = (0..dim + off).map(|_| code(rng)).collect();
    let any_buf: Vec<i8> = (0..dim + off).map(|_| rng.next() as u8 as i8).collect();
    let (a, b, c, d) = (&a_buf[off..], &b_buf[off..], &c_buf[off..], &d_buf[off..]);
    let any = &any_buf[off..];
    let words = dim.div_ceil(64);
    let bits_buf: Vec<u64> = (0..words + off).map(|_| rng.next()).collect();
    let other_buf: Vec<u64> = (0..words + off).map(|_| rng.next()).collect();
    let mut bits = bits_buf[off..].to_vec();
    let other = &other_buf[off..];
    if !dim.is_multiple_of(64) {
        bits[words - 1] &= (1u64 << (dim % 64)) - 1;
    }
    let tol = |x: f32| 1e-4 * (1.0 + x.abs()) * (dim as f32).sqrt();
    let close = |name: &str, x: f32, y: f32| {
        assert!(
            (x - y).abs() <= tol(y),
            "{} {name} dim {dim} offset {off}: {x} vs scalar {y}",
            k.name
        );
    };
    close("dot", (k.dot)(a, b), (scalar.dot)(a, b));
    close("l2sq", (k.l2sq)(a, b), (scalar.l2sq)(a, b));
    close("dot_i8", (k.dot_i8)(a, c), (scalar.dot_i8)(a, c));
    close("l2sq_i8", (k.l2sq_i8)(a, c, 0.013), (scalar.l2sq_i8)(a, c, 0.013));
    close("masked_sum", (k.masked_sum)(a, &bits), (scalar.masked_sum)(a, &bits));
    // Integer kernels are exact on codes: every set returns the same number.
    let exact = |x: &[i8], y: &[i8]| -> (i32, i32) {
        let xy = x.iter().zip(y).map(|(&p, &q)| p as i32 * q as i32).sum();
        (xy, y.iter().map(|&q| q as i32 * q as i32).sum())
    };
    let (want, want_sq) = exact(c, d);
    assert_eq!((scalar.dot_i8i8)(c, d), want, "scalar dot_i8i8 dim {dim}");
    assert_eq!((k.dot_i8i8)(c, d), want, "{} dot_i8i8 dim {dim} offset {off}", k.name);
    assert_eq!(
        (k.dot_sq_i8i8)(c, d),
        (want, want_sq),
        "{} dot_sq_i8i8 dim {dim} offset {off}",
        k.name
    );
    // Extremes of the code range: ±127 everywhere.
    let lo = vec![-127i8; dim];
    let hi = vec![127i8; dim];
    let n = dim as i32;
    assert_eq!((k.dot_i8i8)(&lo, &lo), 16129 * n, "{} dot_i8i8 -127 dim {dim}", k.name);
    assert_eq!((k.dot_i8i8)(&lo, &hi), -16129 * n, "{} dot_i8i8 mixed dim {dim}", k.name);
    assert_eq!((k.dot_i8i8)(&hi, &lo), -16129 * n, "{} dot_i8i8 mixed dim {dim}", k.name);
    assert_eq!(
        (k.dot_sq_i8i8)(&hi, &lo),
        (-16129 * n, 16129 * n),
        "{} dot_sq_i8i8 dim {dim}",
        k.name
    );
    // Any i8, −128 included (no stored code holds it, but a crafted
    // snapshot could): exact everywhere except the relaxed-SIMD wasm set,
    // which is deterministic there and off by at most 32640 per lane that
    // holds a −128 on either side (255 for `c·c`; `wasm.rs`, `relaxed`).
    let mut full = vec![-128i8; dim];
    full[..dim / 2].copy_from_slice(&any[..dim / 2]);
    for (x, y) in [(any, d), (c, any), (any, &full[..]), (&full[..], any), (&full[..], &full[..])] {
        let (want, want_sq) = exact(x, y);
        let got = ((k.dot_i8i8)(x, y), (k.dot_sq_i8i8)(x, y));
        if k.name.ends_with("+relaxed") {
            let m128 = |v: &[i8]| v.iter().filter(|&&q| q == -128).count() as i64;
            let lanes = x.iter().zip(y).filter(|(&p, &q)| p == -128 || q == -128).count() as i64;
            let bound = 32640 * lanes;
            let err = |g: i32, w: i32| (g as i64 - w as i64).abs();
            assert!(err(got.0, want) <= bound, "{} dot_i8i8 -128 dim {dim}: {got:?}", k.name);
            assert!(err(got.1 .0, want) <= bound, "{} dot_sq_i8i8 dim {dim}: {got:?}", k.name);
            assert!(err(got.1 .1, want_sq) <= 255 * m128(y), "{} c·c dim {dim}: {got:?}", k.name);
        } else {
            assert_eq!(got, (want, (want, want_sq)), "{} any i8 dim {dim} offset {off}", k.name);
        }
    }
    assert_eq!(
        (k.hamming)(&bits, other),
        (scalar.hamming)(&bits, other),
        "{} hamming dim {dim}",
        k.name
    );
}

#[test]
fn kernel_sets_can_be_chosen_by_name() {
    for k in Kernels::available() {
        let prefix = k.name.split('+').next().unwrap();
        assert_eq!(Kernels::by_name(prefix).map(|f| f.name), Some(k.name), "{prefix}");
        assert_eq!(Kernels::by_name(k.name).map(|f| f.name), Some(k.name));
    }
    assert!(Kernels::by_name("").is_none());
    assert!(Kernels::by_name("no-such-set").is_none());
    // `best` is one of the available sets.
    let best = Kernels::best().name;
    assert!(Kernels::available().iter().any(|k| k.name == best), "{best}");
}

#[test]
fn scalar_kernels_are_correct() {
    let s = Kernels::scalar();
    assert_eq!((s.dot)(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
    assert_eq!((s.l2sq)(&[1.0, 2.0], &[4.0, 6.0]), 25.0);
    assert_eq!((s.dot_i8)(&[1.0, -2.0], &[3, 4]), -5.0);
    assert_eq!((s.l2sq_i8)(&[1.0, 1.0], &[2, 0], 0.5), 1.0);
    assert_eq!((s.dot_i8i8)(&[1, -2, 127], &[3, 4, -128]), 3 - 8 - 16256);
    assert_eq!((s.dot_sq_i8i8)(&[1, -2], &[3, -4]), (11, 25));
    assert_eq!((s.hamming)(&[0b1011], &[0b0001]), 2);
    assert_eq!((s.masked_sum)(&[1.0, 2.0, 4.0], &[0b101]), 5.0);
}
