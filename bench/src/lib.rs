//! # vecshard-bench: how fast and how accurate is it?
//!
//! Loaders for the TEXMEX formats used by `../shared/data` (`.fvecs`,
//! `.ivecs`, `meta.json`), recall computation, and latency summaries. The
//! `ann` binary and the criterion benches in `benches/` build on these.
//!
//! This crate is not part of the product: it is how we measure it.

use std::fs;
use std::io;
use std::path::Path;

/// A dense row-major matrix of `rows × dim` values.
#[derive(Clone, Debug)]
pub struct Matrix<T> {
    /// Row length.
    pub dim: usize,
    /// `rows · dim` values.
    pub data: Vec<T>,
}

impl<T> Matrix<T> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

fn bad(path: &Path, msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{}: {msg}", path.display()))
}

/// Reads a TEXMEX file: records of a little-endian i32 `d` then `d` 4-byte values.
fn read_vecs<T>(path: &Path, conv: fn([u8; 4]) -> T) -> io::Result<Matrix<T>> {
    let bytes =
        fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let mut data = Vec::new();
    let mut dim = 0usize;
    let mut pos = 0usize;
    let mut row = 0usize;
    while pos < bytes.len() {
        let Some(h) = bytes.get(pos..pos + 4) else {
            return Err(bad(path, format!("record {row}: truncated dimension field")));
        };
        let d = i32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        if d <= 0 || (dim != 0 && d as usize != dim) {
            return Err(bad(path, format!("record {row}: dimension {d} (expected {dim})")));
        }
        dim = d as usize;
        pos += 4;
        let Some(body) = bytes.get(pos..pos + 4 * dim) else {
            return Err(bad(path, format!("record {row}: truncated ({dim} values expected)")));
        };
        data.extend(body.chunks_exact(4).map(|c| conv([c[0], c[1], c[2], c[3]])));
        pos += 4 * dim;
        row += 1;
    }
    Ok(Matrix { dim, data })
}

/// Reads an `.fvecs` file.
pub fn read_fvecs(path: &Path) -> io::Result<Matrix<f32>> {
    read_vecs(path, f32::from_le_bytes)
}

/// Reads an `.ivecs` file.
pub fn read_ivecs(path: &Path) -> io::Result<Matrix<i32>> {
    read_vecs(path, i32::from_le_bytes)
}

/// A benchmark folder: `base.fvecs`, `query.fvecs`, `groundtruth.ivecs`, `meta.json`.
pub struct Dataset {
    /// Vectors to index.
    pub base: Matrix<f32>,
    /// Query vectors.
    pub queries: Matrix<f32>,
    /// Exact neighbour ids (row numbers of `base`), nearest first.
    pub truth: Matrix<i32>,
    /// `l2`, `cosine` or `ip`.
    pub metric: vecshard_core::Metric,
}

impl Dataset {
    /// Loads a dataset folder.
    pub fn load(dir: &Path) -> io::Result<Dataset> {
        let meta_path = dir.join("meta.json");
        let meta: serde_json::Value = serde_json::from_slice(
            &fs::read(&meta_path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", meta_path.display())))?,
        )
        .map_err(|e| bad(&meta_path, e.to_string()))?;
        let name = meta.get("metric").and_then(|m| m.as_str()).unwrap_or("");
        let metric = vecshard_core::Metric::parse(name).ok_or_else(|| {
            bad(&meta_path, format!("unknown metric {name:?} (use l2, cosine or ip)"))
        })?;
        let base = read_fvecs(&dir.join("base.fvecs"))?;
        let queries = read_fvecs(&dir.join("query.fvecs"))?;
        let truth = read_ivecs(&dir.join("groundtruth.ivecs"))?;
        if queries.dim != base.dim {
            return Err(bad(dir, format!("query dim {} != base dim {}", queries.dim, base.dim)));
        }
        if truth.rows() != queries.rows() {
            return Err(bad(
                dir,
                format!("{} ground-truth rows for {} queries", truth.rows(), queries.rows()),
            ));
        }
        Ok(Dataset { base, queries, truth, metric })
    }
}

/// |found ∩ truth[..k]| / k for one query; `found` holds base row numbers.
pub fn recall_at(found: &[usize], truth: &[i32], k: usize) -> f64 {
    let t = &truth[..k.min(truth.len())];
    let hits = found.iter().take(k).filter(|&&f| t.contains(&(f as i32))).count();
    hits as f64 / k as f64
}

/// The `p`-th percentile (0–100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Resident set size of this process in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> usize {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<usize>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Seconds this thread has spent on a CPU (Linux `schedstat`; 0 elsewhere).
///
/// On a shared machine wall time also counts the time the thread waited
/// for a core, which depends on what everyone else runs; on-CPU time does
/// not (it still pays for caches the others evict), so build times are
/// reported both ways.
pub fn thread_cpu_s() -> f64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|ns| ns.parse::<f64>().ok()))
        .map_or(0.0, |ns| ns / 1e9)
}
