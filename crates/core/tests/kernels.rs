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
            let a = rng.vec(dim);
            let b = rng.vec(dim);
            let c: Vec<i8> = (0..dim).map(|_| (rng.next() % 255) as i8).collect();
            let words = dim.div_ceil(64);
            let mut bits: Vec<u64> = (0..words).map(|_| rng.next()).collect();
            let other: Vec<u64> = (0..words).map(|_| rng.next()).collect();
            if dim % 64 != 0 {
                bits[words - 1] &= (1u64 << (dim % 64)) - 1;
            }
            let tol = |x: f32| 1e-4 * (1.0 + x.abs()) * (dim as f32).sqrt();
            let close = |name: &str, x: f32, y: f32| {
                assert!((x - y).abs() <= tol(y), "{} {name} dim {dim}: {x} vs scalar {y}", k.name);
            };
            close("dot", (k.dot)(&a, &b), (scalar.dot)(&a, &b));
            close("l2sq", (k.l2sq)(&a, &b), (scalar.l2sq)(&a, &b));
            close("dot_i8", (k.dot_i8)(&a, &c), (scalar.dot_i8)(&a, &c));
            close("l2sq_i8", (k.l2sq_i8)(&a, &c, 0.013), (scalar.l2sq_i8)(&a, &c, 0.013));
            close("masked_sum", (k.masked_sum)(&a, &bits), (scalar.masked_sum)(&a, &bits));
            assert_eq!(
                (k.hamming)(&bits, &other),
                (scalar.hamming)(&bits, &other),
                "{} hamming",
                k.name
            );
        }
    }
}

#[test]
fn scalar_kernels_are_correct() {
    let s = Kernels::scalar();
    assert_eq!((s.dot)(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
    assert_eq!((s.l2sq)(&[1.0, 2.0], &[4.0, 6.0]), 25.0);
    assert_eq!((s.dot_i8)(&[1.0, -2.0], &[3, 4]), -5.0);
    assert_eq!((s.l2sq_i8)(&[1.0, 1.0], &[2, 0], 0.5), 1.0);
    assert_eq!((s.hamming)(&[0b1011], &[0b0001]), 2);
    assert_eq!((s.masked_sum)(&[1.0, 2.0, 4.0], &[0b101]), 5.0);
}
