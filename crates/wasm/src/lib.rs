//! # vecshard-wasm: the core index, as the npm package `vecshard` sees it
//!
//! This crate is the WebAssembly face of [`vecshard_core`]: a thin
//! [`wasm-bindgen`](wasm_bindgen) adapter that the build script
//! (`scripts/build-npm.sh`) turns into the `.wasm` and the generated glue of
//! the npm package. The package's public API is the hand-written JS/TS
//! wrapper in `crates/wasm/js/`; the classes exported here are its raw
//! building blocks and not meant to be called directly.
//!
//! What it **is**: type conversion at the JS boundary (typed arrays in and
//! out, strings, options), a stable error `code` for every core error kind,
//! and nothing else. Every rule about vectors, keys, the graph and the
//! snapshot bytes lives in the core, so a snapshot written natively loads
//! here and answers the same queries with the same keys.
//!
//! What it is **not**: it has no index, routing or merge logic of its own
//! (those are `vecshard-core` and `vecshard-coordinator`), no threads (the
//! JS `Cluster` starts one worker per shard, each with its own instance of
//! this module), no I/O and no persistence: snapshots are bytes handed to JS.
//!
//! Map: [`index`] holds [`RawIndex`] (a shard: the core index plus typed,
//! indexed attributes and the filter planner); [`error`] maps core errors
//! to JS errors with a `code`; [`convert`] parses options and packs
//! results; [`stream`] the streaming save and load of an index
//! (`saveChunks`, `IndexLoader`); [`versions`] has `route` and the
//! manifest's format versions.
//! With the `cluster` feature: `shard` holds `RawShard`, the shard a worker
//! hosts; `cluster` holds `RawCluster`, the Rust coordinator (routing,
//! fan-out, merge, partial results) that drives the workers through
//! `transport` (those two on wasm32 only).
//!
//! **Two modules.** The package ships this crate twice: built without
//! `cluster` as `vecshard_bg.wasm` (what `Index` users download; its
//! budget is 100 KB gzipped, held by `wasm-tests/node/size.test.mjs`;
//! ARCHITECTURE.md § crates/wasm, "Size", says what keeps it there), and
//! with it as
//! `vecshard_cluster_bg.wasm`, which only `Cluster` loads (in the main
//! thread for the coordinator, and in every worker for its shard).
//!
//! Build for the package with `-C target-feature=+simd128`, which selects the
//! core's simd128 kernels at compile time.

// The coordinator side needs JS promises and a single thread: wasm32 only.
pub mod attrs;
#[cfg(all(feature = "cluster", target_arch = "wasm32"))]
pub mod cluster;
pub mod convert;
pub mod error;
pub mod index;
#[cfg(feature = "cluster")]
pub mod shard;
pub mod stream;
#[cfg(all(feature = "cluster", target_arch = "wasm32"))]
pub mod transport;
pub mod versions;

/// The allocator of the npm modules: talc instead of std's dlmalloc. It is
/// part of what every `Index` user downloads, and talc's code is smaller
/// (the whole module about 2.5 KB less gzipped) at the same speed in the
/// Node bench (inserts, snapshots, searches). A module instance has one
/// thread (the crate is built without `atomics`), which is what talc's
/// wasm allocator assumes.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(all(feature = "cluster", target_arch = "wasm32"))]
pub use cluster::RawCluster;
pub use index::RawIndex;
#[cfg(feature = "cluster")]
pub use shard::RawShard;
pub use stream::RawIndexLoader;
