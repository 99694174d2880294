//! Criterion benches for `vecshard-core`.
//!
//! What is measured:
//!
//! * `kernels`: every distance kernel set this CPU supports
//!   ([`Kernels::available`]: `scalar`, and `avx2+fma` where detected) on
//!   dims 100, 128, 384, 768 and 1536: f32 `dot`/`l2sq`, asymmetric i8
//!   `dot_i8`/`l2sq_i8`, and binary `hamming` (on `ceil(dim / 64)` words) and
//!   `masked_sum`. Ids are `<kernel set>/<op>/<dim>`; throughput is in
//!   vector components.
//! * `search`: top-10 `search_with` (reused [`Scratch`]) on a 10k-vector index,
//!   cycling through the query set, per quantization (`f32`, `i8`, `binary`)
//!   and `ef` in {20, 64}. Ids are `<quantization>/ef<ef>`.
//! * `insert`: building an index of 2,000 vectors from scratch per
//!   quantization (`build2k/<quantization>`, throughput in vectors), plus
//!   `upsert` of an existing key and a `remove` + `insert` pair on a prebuilt
//!   10k f32 index.
//!
//! * `filtered`: top-10 at ef 64 on the 10k f32 index with a random slot
//!   predicate (a bitmap) matching about 1%, 10% and 50% of the elements:
//!   `search_filtered_with` (two-hop walk, default effort bound), the one-hop
//!   walk for comparison, `exact_search_slots` over the matching slots (the
//!   planner's other option), and the same queries unfiltered. Recall@10
//!   against filtered exact search is printed once per band. Ids are
//!   `<method>/<percent>pct` and `unfiltered/ef64`.
//!
//! Data comes from `../shared/data/glove100-10k` (relative to the workspace
//! root). If that folder is missing, 10k random 100-d cosine vectors are used
//! instead and a note is printed. Indexes are built lazily, so filtered runs
//! only build what they measure.
//!
//! Run all of it (a few minutes) or one group:
//!
//! ```text
//! cargo bench --bench core
//! cargo bench --bench core -- kernels
//! cargo bench --bench core -- search/f32
//! ```

use std::hint::black_box;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use vecshard_bench::{recall_at, Dataset, Matrix};
use vecshard_core::distance::Kernels;
use vecshard_core::{Config, Index, Metric, Quantization, Scratch};

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/glove100-10k");
const KERNEL_DIMS: [usize; 5] = [100, 128, 384, 768, 1536];
const QUANTIZATIONS: [Quantization; 3] =
    [Quantization::F32, Quantization::I8, Quantization::Binary];
const SEARCH_EFS: [usize; 2] = [20, 64];
const K: usize = 10;
const BUILD_N: usize = 2_000;
const SEED: u64 = 42;

/// xorshift64*: enough randomness for benchmark inputs, no dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[-1, 1)`.
    fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn f32s(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }

    /// Uniform in `[-127, 127]`, the range the i8 quantizer produces.
    fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| ((self.next_u64() >> 32) % 255) as i32 - 127).map(|x| x as i8).collect()
    }

    /// `ceil(dim / 64)` words with the bits past `dim` cleared.
    fn bits(&mut self, dim: usize) -> Vec<u64> {
        let mut w: Vec<u64> = (0..dim.div_ceil(64)).map(|_| self.next_u64()).collect();
        if dim % 64 != 0 {
            if let Some(last) = w.last_mut() {
                *last &= (1u64 << (dim % 64)) - 1;
            }
        }
        w
    }
}

// ---------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernels");
    // Nanosecond-scale and very stable: shorter runs keep 60 benches quick.
    g.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_millis(1500));
    for k in Kernels::available() {
        for dim in KERNEL_DIMS {
            let mut rng = XorShift::new(SEED ^ dim as u64);
            let (a, b) = (rng.f32s(dim), rng.f32s(dim));
            let codes = rng.i8s(dim);
            let (bits_a, bits_b) = (rng.bits(dim), rng.bits(dim));
            let scale = 1.0 / 127.0;
            g.throughput(Throughput::Elements(dim as u64));
            let id = |op: &str| BenchmarkId::new(format!("{}/{}", k.name, op), dim);

            g.bench_with_input(id("dot"), &dim, |bn, _| {
                bn.iter(|| (k.dot)(black_box(&a), black_box(&b)))
            });
            g.bench_with_input(id("l2sq"), &dim, |bn, _| {
                bn.iter(|| (k.l2sq)(black_box(&a), black_box(&b)))
            });
            g.bench_with_input(id("dot_i8"), &dim, |bn, _| {
                bn.iter(|| (k.dot_i8)(black_box(&a), black_box(&codes)))
            });
            g.bench_with_input(id("l2sq_i8"), &dim, |bn, _| {
                bn.iter(|| (k.l2sq_i8)(black_box(&a), black_box(&codes), black_box(scale)))
            });
            g.bench_with_input(id("hamming"), &dim, |bn, _| {
                bn.iter(|| (k.hamming)(black_box(&bits_a), black_box(&bits_b)))
            });
            g.bench_with_input(id("masked_sum"), &dim, |bn, _| {
                bn.iter(|| (k.masked_sum)(black_box(&a), black_box(&bits_a)))
            });
        }
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Data and index building
// ---------------------------------------------------------------------------

/// Base vectors and queries, from the glove folder or the random fallback.
struct Data {
    base: Matrix<f32>,
    queries: Matrix<f32>,
    /// Ground truth (row numbers); `None` for the random fallback.
    truth: Option<Matrix<i32>>,
    metric: Metric,
    /// Row numbers as strings: the keys.
    keys: Vec<String>,
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let (base, queries, truth, metric) = match Dataset::load(Path::new(DATA_DIR)) {
            Ok(d) => (d.base, d.queries, Some(d.truth), d.metric),
            Err(e) => {
                eprintln!(
                    "note: cannot load {DATA_DIR} ({e}); using 10000 random 100-d cosine vectors"
                );
                let mut rng = XorShift::new(SEED);
                let random =
                    |rng: &mut XorShift, n: usize| Matrix { dim: 100, data: rng.f32s(n * 100) };
                (random(&mut rng, 10_000), random(&mut rng, 100), None, Metric::Cosine)
            }
        };
        let keys = (0..base.rows()).map(|i| i.to_string()).collect();
        Data { base, queries, truth, metric, keys }
    })
}

fn config(d: &Data, q: Quantization) -> Config {
    Config::new(d.base.dim, d.metric).seed(SEED).quantization(q)
}

/// An index over the first `n` base vectors.
fn build(d: &Data, q: Quantization, n: usize) -> Index {
    let mut index = Index::new(config(d, q)).expect("valid config");
    index.reserve(n);
    for (i, key) in d.keys.iter().enumerate().take(n) {
        index.insert(key, d.base.row(i)).expect("insert");
    }
    index
}

/// [`build`] over the whole base set, reporting build time and recall@10.
fn build_full(d: &Data, q: Quantization) -> Index {
    let t = Instant::now();
    let index = build(d, q, d.base.rows());
    let secs = t.elapsed().as_secs_f64();
    let recall = d.truth.as_ref().map(|truth| {
        let mut scratch = Scratch::new();
        let total: f64 = (0..d.queries.rows())
            .map(|i| {
                let hits =
                    index.search_with(&mut scratch, d.queries.row(i), K, Some(64), None).unwrap();
                let found: Vec<usize> = hits.iter().map(|h| h.key.parse().unwrap()).collect();
                recall_at(&found, truth.row(i), K)
            })
            .sum();
        total / d.queries.rows() as f64
    });
    let recall = recall.map_or_else(|| "n/a".to_string(), |r| format!("{r:.3}"));
    eprintln!(
        "built {} index of {} vectors in {secs:.2} s (kernels {}); recall@{K} at ef=64: {recall}",
        q.name(),
        index.len(),
        index.kernel_name(),
    );
    index
}

// ---------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------

fn search(c: &mut Criterion) {
    let mut g = c.benchmark_group("search");
    for q in QUANTIZATIONS {
        let mut index: Option<Index> = None;
        for ef in SEARCH_EFS {
            g.bench_function(format!("{}/ef{ef}", q.name()), |b| {
                let d = data();
                let index = index.get_or_insert_with(|| build_full(d, q));
                let mut scratch = Scratch::new();
                let mut i = 0;
                b.iter(|| {
                    let query = d.queries.row(i % d.queries.rows());
                    i += 1;
                    index.search_with(&mut scratch, black_box(query), K, Some(ef), None).unwrap()
                })
            });
        }
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Insert
// ---------------------------------------------------------------------------

fn insert(c: &mut Criterion) {
    let mut g = c.benchmark_group("insert");

    // Whole builds take a few hundred ms: ten flat samples (one build each) suffice.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(BUILD_N as u64));
    for q in QUANTIZATIONS {
        g.bench_function(format!("build2k/{}", q.name()), |b| {
            let d = data();
            let n = BUILD_N.min(d.base.rows());
            b.iter_with_large_drop(|| build(d, q, n))
        });
    }

    // Single writes into a full 10k f32 index, cycling through the keys.
    // Each re-inserts the key's own vector, so the index stays the same size.
    g.sample_size(20)
        .sampling_mode(SamplingMode::Auto)
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    let mut index: Option<Index> = None;
    g.bench_function("upsert/f32", |b| {
        let d = data();
        let index = index.get_or_insert_with(|| build_full(d, Quantization::F32));
        let mut i = 0;
        b.iter(|| {
            let row = i % d.base.rows();
            i += 1;
            index.upsert(black_box(&d.keys[row]), black_box(d.base.row(row))).unwrap()
        })
    });
    g.bench_function("remove_insert/f32", |b| {
        let d = data();
        let index = index.get_or_insert_with(|| build_full(d, Quantization::F32));
        // Start half-way so this does not retrace the upsert bench's keys.
        let mut i = d.base.rows() / 2;
        b.iter(|| {
            let row = i % d.base.rows();
            i += 1;
            let key = black_box(&d.keys[row]);
            index.remove(key).unwrap();
            index.insert(key, black_box(d.base.row(row))).unwrap();
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// Filtered search
// ---------------------------------------------------------------------------

fn filtered(c: &mut Criterion) {
    let mut g = c.benchmark_group("filtered");
    let mut index: Option<Index> = None;
    let ef = 64;
    g.bench_function("unfiltered/ef64", |b| {
        let d = data();
        let index = index.get_or_insert_with(|| build_full(d, Quantization::F32));
        let mut scratch = Scratch::new();
        let mut i = 0;
        b.iter(|| {
            let query = d.queries.row(i % d.queries.rows());
            i += 1;
            index.search_with(&mut scratch, black_box(query), K, Some(ef), None).unwrap()
        })
    });
    let mut rng = XorShift::new(SEED ^ 0xf11e);
    for percent in [1u64, 10, 50] {
        let d = data();
        let bits: Vec<bool> =
            (0..d.base.rows()).map(|_| rng.next_u64() % 1000 < percent * 10).collect();
        let mut reported = false;
        for method in ["two_hop", "one_hop", "exact_slots"] {
            g.bench_function(format!("{method}/{percent}pct"), |b| {
                let index = index.get_or_insert_with(|| build_full(d, Quantization::F32));
                let pred = |s: u32| bits.get(s as usize).copied().unwrap_or(false);
                let slots: Vec<u32> = (0..index.slot_bound()).filter(|&s| pred(s)).collect();
                if !reported {
                    reported = true;
                    report_filtered(d, index, &pred, &slots, percent, ef);
                }
                let mut scratch = Scratch::new();
                let mut i = 0;
                b.iter(|| {
                    let query = black_box(d.queries.row(i % d.queries.rows()));
                    i += 1;
                    match method {
                        "two_hop" => {
                            index.search_filtered_with(&mut scratch, query, K, ef, &pred, None)
                        }
                        "one_hop" => index.search_filtered_one_hop_with(
                            &mut scratch,
                            query,
                            K,
                            ef,
                            &pred,
                            None,
                        ),
                        _ => index.exact_search_slots(query, K, &mut slots.iter().copied()).map(
                            |hits| vecshard_core::FilteredHits {
                                hits,
                                complete: true,
                                expanded: 0,
                            },
                        ),
                    }
                    .unwrap()
                })
            });
        }
    }
    g.finish();
}

/// Prints recall@10 of both walks against filtered exact search, once per band.
fn report_filtered(
    d: &Data,
    index: &Index,
    pred: &dyn Fn(u32) -> bool,
    slots: &[u32],
    percent: u64,
    ef: usize,
) {
    let mut scratch = Scratch::new();
    let (mut two, mut one, mut short) = (0.0, 0.0, 0);
    for i in 0..d.queries.rows() {
        let q = d.queries.row(i);
        let want = index.exact_search_slots(q, K, &mut slots.iter().copied()).unwrap();
        let keys = |h: &[vecshard_core::Hit<'_>]| -> Vec<usize> {
            h.iter().map(|h| h.key.parse().unwrap()).collect()
        };
        let truth: Vec<i32> = keys(&want).iter().map(|&k| k as i32).collect();
        let got = index.search_filtered_with(&mut scratch, q, K, ef, pred, None).unwrap();
        short += usize::from(!got.complete);
        two += recall_at(&keys(&got.hits), &truth, K);
        let got = index.search_filtered_one_hop_with(&mut scratch, q, K, ef, pred, None).unwrap();
        one += recall_at(&keys(&got.hits), &truth, K);
    }
    let n = d.queries.rows() as f64;
    eprintln!(
        "filtered {percent}% ({} matches), ef {ef}: recall@{K} two-hop {:.3}, one-hop {:.3}; \
         {short} two-hop walks stopped at the bound",
        slots.len(),
        two / n,
        one / n,
    );
}

fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

// A hand-written `main` instead of `criterion_group!`/`criterion_main!`,
// which generate an undocumented `pub fn` (tripping the workspace's
// `missing_docs` lint). It does the same: CLI arguments (filters, `--list`,
// times) override the defaults above.
fn main() {
    let mut c = criterion().configure_from_args();
    kernels(&mut c);
    search(&mut c);
    insert(&mut c);
    filtered(&mut c);
    c.final_summary();
}
