//! Criterion benches for the distance kernels alone, per kernel set.
//!
//! Every set this CPU supports ([`Kernels::available`]: `scalar`,
//! `avx2+fma`, and `avx512+vnni` where the CPU has AVX-512 F/BW/VL/VNNI/
//! VPOPCNTDQ, whether or not it is the default) on dims 100 (GloVe), 128
//! (SIFT) and 768 (sentence embeddings):
//!
//! * f32 `dot`, `l2sq` (the f32 walk);
//! * asymmetric `dot_i8`, `l2sq_i8` (i8 rescoring; before the integer walk,
//!   also the i8 walk);
//! * integer `dot_i8i8` and `dot_sq_i8i8` (the i8 walk for cosine/IP and L2);
//! * `hamming` on `ceil(dim / 64)` words and `masked_sum` (binary).
//!
//! Ids are `<kernel set>/<op>/<dim>`; throughput is in vector components.
//! The operands are one pair of vectors, so this is the in-cache cost: the
//! walk also waits for memory, which `ann --kernels` measures end to end.
//!
//! ```text
//! nice cargo bench -p vecshard-bench --bench kernels -- --warm-up-time 1 --measurement-time 3
//! nice cargo bench -p vecshard-bench --bench kernels -- 'avx2\+fma/dot_i8'
//! ```

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use vecshard_core::distance::Kernels;

const DIMS: [usize; 3] = [100, 128, 768];

/// xorshift64*: enough randomness for benchmark inputs, no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn i8(&mut self) -> i8 {
        // Stored codes are in -127..=127.
        ((self.next() % 255) as i32 - 127) as i8
    }
}

fn kernels(c: &mut Criterion) {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut group = c.benchmark_group("kernels");
    for k in Kernels::available() {
        for dim in DIMS {
            let a: Vec<f32> = (0..dim).map(|_| rng.f32()).collect();
            let b: Vec<f32> = (0..dim).map(|_| rng.f32()).collect();
            let ca: Vec<i8> = (0..dim).map(|_| rng.i8()).collect();
            let cb: Vec<i8> = (0..dim).map(|_| rng.i8()).collect();
            let words = dim.div_ceil(64);
            let wa: Vec<u64> = (0..words).map(|_| rng.next()).collect();
            let wb: Vec<u64> = (0..words).map(|_| rng.next()).collect();
            group.throughput(Throughput::Elements(dim as u64));
            let id = |op: &str| BenchmarkId::new(format!("{}/{op}", k.name), dim);
            group.bench_function(id("dot"), |bn| bn.iter(|| (k.dot)(black_box(&a), black_box(&b))));
            group.bench_function(id("l2sq"), |bn| {
                bn.iter(|| (k.l2sq)(black_box(&a), black_box(&b)))
            });
            group.bench_function(id("dot_i8"), |bn| {
                bn.iter(|| (k.dot_i8)(black_box(&a), black_box(&cb)))
            });
            group.bench_function(id("l2sq_i8"), |bn| {
                bn.iter(|| (k.l2sq_i8)(black_box(&a), black_box(&cb), black_box(0.01)))
            });
            group.bench_function(id("dot_i8i8"), |bn| {
                bn.iter(|| (k.dot_i8i8)(black_box(&ca), black_box(&cb)))
            });
            group.bench_function(id("dot_sq_i8i8"), |bn| {
                bn.iter(|| (k.dot_sq_i8i8)(black_box(&ca), black_box(&cb)))
            });
            group.bench_function(id("hamming"), |bn| {
                bn.iter(|| (k.hamming)(black_box(&wa), black_box(&wb)))
            });
            group.bench_function(id("masked_sum"), |bn| {
                bn.iter(|| (k.masked_sum)(black_box(&a), black_box(&wa)))
            });
        }
    }
    group.finish();
}

// A hand-written `main`, as in core.rs: `criterion_group!` generates an
// undocumented `pub fn` (the workspace denies `missing_docs`). Command-line
// arguments (filters, times) apply as usual.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    kernels(&mut c);
    c.final_summary();
}
