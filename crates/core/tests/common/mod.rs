//! Shared test helpers: dataset loading and recall.
#![allow(dead_code)]

use std::path::PathBuf;
use vecshard_core::{Hit, Index};

/// `../shared/data`, or `$VECSHARD_DATA`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("VECSHARD_DATA").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
    })
}

/// The seed for randomized tests: `$VECSHARD_SEED` or `default`. Printed so
/// a failure can be replayed.
pub fn seed(test: &str, default: u64) -> u64 {
    let s = std::env::var("VECSHARD_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    println!("{test}: seed {s} (replay with VECSHARD_SEED={s})");
    s
}

/// Reads up to `max_rows` records of an `.fvecs` file.
pub fn read_fvecs(name: &str, file: &str, max_rows: usize) -> (usize, Vec<Vec<f32>>) {
    let path = data_dir().join(name).join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dim = i32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    let rec = 4 + 4 * dim;
    let rows = (bytes.len() / rec).min(max_rows);
    let v = (0..rows)
        .map(|r| {
            bytes[r * rec + 4..(r + 1) * rec]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        })
        .collect();
    (dim, v)
}

/// The metric named in a dataset's meta.json.
pub fn metric(name: &str) -> vecshard_core::Metric {
    let meta = std::fs::read_to_string(data_dir().join(name).join("meta.json")).unwrap();
    let m = if meta.contains("\"cosine\"") {
        "cosine"
    } else if meta.contains("\"ip\"") {
        "ip"
    } else {
        "l2"
    };
    vecshard_core::Metric::parse(m).unwrap()
}

/// Mean recall@k of HNSW search (at `ef`) against exact search.
pub fn recall(index: &Index, queries: &[Vec<f32>], k: usize, ef: Option<usize>) -> f64 {
    let mut total = 0.0;
    for q in queries {
        let got = index.search(q, k, ef, None).unwrap();
        let want = index.exact_search(q, k, None).unwrap();
        total += overlap(&got, &want) as f64 / want.len().max(1) as f64;
    }
    total / queries.len() as f64
}

pub fn overlap(a: &[Hit<'_>], b: &[Hit<'_>]) -> usize {
    a.iter().filter(|h| b.iter().any(|w| w.key == h.key)).count()
}

/// A tiny deterministic PRNG for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    pub fn vec(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.f32()).collect()
    }
}
