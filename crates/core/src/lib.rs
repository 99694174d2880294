//! # vecshard-core: give me a vector, I'll give you its neighbours
//!
//! A `no_std` (+ `alloc`) HNSW index — *Hierarchical Navigable Small World*
//! graphs (Malkov & Yashunin, 2016) — with string keys, real deletion,
//! optional i8 or binary quantization, and a snapshot format that is the
//! same bytes on every platform. It is the engine under every vecshard shard:
//! native, in wasmtime, in a browser Web Worker or in an edge isolate.
//!
//! What it **is**: one in-memory index, deterministic (same seed and same
//! operations give the same graph), with searches that take `&self` and a
//! caller-owned [`Scratch`] so many readers can share it.
//!
//! What it is **not**: it owns no threads, no files, no clock and no OS
//! randomness. Sharding, routing, durability (WAL, checkpoints) and any
//! transport live in other crates that build on this one.
//!
//! ## Example
//!
//! ```
//! use vecshard_core::{Config, Index, Metric};
//!
//! let mut index = Index::new(Config::new(3, Metric::Cosine).seed(42))?;
//! index.insert("apple", &[1.0, 0.1, 0.0])?;
//! index.insert("pear", &[0.9, 0.2, 0.1])?;
//! index.insert("car", &[0.0, 0.1, 1.0])?;
//!
//! let hits = index.search(&[1.0, 0.0, 0.0], 2, None, None)?;
//! assert_eq!(hits[0].key, "apple");
//! assert_eq!(hits[1].key, "pear");
//!
//! // Deletion is real: the node is unlinked and its neighbours repaired.
//! index.remove("apple")?;
//! assert!(!index.contains("apple"));
//! index.check_invariants().expect("graph is consistent");
//!
//! // Snapshots are plain bytes and load anywhere (native or wasm).
//! let bytes = index.to_bytes();
//! let copy = Index::from_bytes(&bytes)?;
//! assert_eq!(copy.search(&[1.0, 0.0, 0.0], 1, None, None)?[0].key, "pear");
//! # Ok::<(), vecshard_core::Error>(())
//! ```
//!
//! ## Map of the crate
//!
//! - `config`: [`Config`], [`Metric`], [`Quantization`] and their limits.
//! - `index`: insert / upsert / remove / search: the HNSW algorithms, each
//!   with a comment on why it works the way it does.
//! - `graph`: link storage and the invariants it keeps.
//! - `store`: vector storage, quantization and every distance.
//! - [`distance`]: scalar, AVX2+FMA and simd128 kernels.
//! - `snapshot`: [`Index::to_bytes`] / [`Index::from_bytes`], and the
//!   streaming [`SnapshotWriter`] / [`SnapshotLoader`] they wrap.
//! - `diag`: [`Index::check_invariants`] and [`Index::stats`].
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

mod config;
mod diag;
pub mod distance;
mod error;
mod graph;
mod index;
mod keys;
mod math;
mod rng;
mod search;
mod snapshot;
mod store;

pub use config::{Config, Metric, Quantization, MAX_DIM, MAX_EF_CONSTRUCTION, MAX_M};
pub use diag::Stats;
pub use error::{Error, ErrorKind, Quoted, Result};
pub use index::{Filter, FilteredHits, Hit, Index};
pub use search::Scratch;
pub use snapshot::{
    Chunks, SnapshotEncoder, SnapshotLoader, SnapshotWriter, DEFAULT_CHUNK, FORMAT_VERSION, MAGIC,
};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// Largest magnitude a vector component may have (`1e15`, just under
/// 2^50). With `dim ≤ 65536 = 2^16`, a squared L2 distance is then at most
/// `2^16 · (2 · 2^50)^2 = 2^118` and a dot product at most `2^116`, both far
/// below `f32::MAX ≈ 2^128`, so no distance can overflow to infinity (and
/// then to NaN in a difference). Larger finite values are rejected with
/// [`ErrorKind::ValueOutOfRange`] rather than answered with `inf`/`NaN`
/// distances that sort and serialize badly.
pub const MAX_ABS_VALUE: f32 = 1.0e15;
