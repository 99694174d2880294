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
//! What it is **not**: it has no index logic of its own, no threads (the
//! `Cluster` of Web Workers is built from one instance per worker), no I/O
//! and no persistence: snapshots are plain bytes handed to JS.
//!
//! Map: [`index`] holds [`RawIndex`]; [`error`] maps core errors to JS
//! errors with a `code`; [`convert`] parses options and packs results.
//!
//! Build for the package with `-C target-feature=+simd128`, which selects the
//! core's simd128 kernels at compile time.

pub mod convert;
pub mod error;
pub mod index;

pub use index::RawIndex;
