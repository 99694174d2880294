//! # vecshard-coordinator: N shards that look like one index
//!
//! The coordinator sends each write to the shard that owns its key
//! ([`route`]: `xxh3_64(key bytes, seed 0) mod N`), sends each query to
//! every shard at once, and merges their scored top-k lists into one
//! ([`merge`], ordered by `(distance, key)` so ties are deterministic).
//!
//! What it **is**: routing, input validation before anything is sent,
//! parallel fan-out over a [`ShardTransport`], the merge, and partial
//! results (a shard that fails yields an answer that names it, or an error
//! in [`Mode::Strict`]). It uses only `futures` — no tokio, no threads, no
//! clock — so the same code runs natively under any executor and compiles
//! to `wasm32-unknown-unknown` for the npm package.
//!
//! What it is **not**: a transport. Shards are reached through
//! [`ShardTransport`] implementations that live elsewhere: wasmtime workers
//! and the in-process shard in `vecshard-host`, `HttpShard` in
//! `vecshard-server`, Web Workers in the npm package. Deadlines belong to
//! the transports (wasmtime epochs, HTTP timeouts), because enforcing them
//! here would need a timer.
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use vecshard_coordinator::{Coordinator, InProcessShard, Mode, Query};
//! use vecshard_shard::{Item, Settings, WireMetric};
//!
//! let settings = Settings::new(2, WireMetric::L2);
//! let coord = Coordinator::new(settings.clone(), InProcessShard::cluster(&settings, 3).unwrap()).unwrap();
//! futures::executor::block_on(async {
//!     let items = (0..100)
//!         .map(|i| Item { key: format!("k{i}"), vector: vec![i as f32, 0.0], attributes: None })
//!         .collect();
//!     coord.upsert(items).await.unwrap();
//!     let res = coord.search(Query::new(vec![41.2, 0.0], 2), Mode::Partial).await.unwrap();
//!     assert_eq!(res.hits[0].key, "k41");
//!     assert_eq!(res.hits[1].key, "k42");
//!     assert!(!res.partial);
//! });
//! ```
#![forbid(unsafe_code)]

mod coordinator;
mod error;
mod inprocess;
mod merge;

pub use coordinator::{
    Coordinator, Mode, Query, RemoveSummary, SearchOptions, SearchResult, WriteSummary,
};
pub use error::{Error, ErrorKind, TransportError, TransportErrorKind};
pub use inprocess::InProcessShard;
pub use merge::merge;

use futures::future::BoxFuture;
use vecshard_shard::{Request, Response};

/// Name of the routing function, as recorded in `cluster.json` and in the
/// Cluster manifest of the npm package.
pub const HASH_NAME: &str = "xxh3_64(key, seed 0) mod N";

/// The shard that owns `key` in a cluster of `n` shards:
/// `xxh3_64(key bytes, seed 0) mod n`. Part of the on-disk and on-wire
/// contract: any client in any language can route the same way.
///
/// # Panics
/// If `n` is 0.
///
/// ```
/// assert_eq!(vecshard_coordinator::route("hello", 1), 0);
/// assert!(vecshard_coordinator::route("hello", 4) < 4);
/// ```
pub fn route(key: &str, n: u32) -> u32 {
    assert!(n > 0, "a cluster has at least one shard");
    (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % u64::from(n)) as u32
}

/// A way to reach one shard. Implementations decide how the request
/// travels (in-process call, wasmtime worker thread, HTTP, Web Worker) and
/// enforce their own deadline; the coordinator only awaits the reply.
///
/// A [`Response::Error`] is the shard's answer (bad input, for example) and
/// is returned as `Ok`; `Err` means the shard could not be reached or did
/// not answer (it trapped, restarted, timed out, or the connection failed).
pub trait ShardTransport: Send + Sync {
    /// Sends one request and resolves to the shard's response.
    fn call(&self, req: Request) -> BoxFuture<'static, Result<Response, TransportError>>;

    /// A short description for errors and logs (`"wasm shard 2"`,
    /// `"http://10.0.0.2:7700"`).
    fn describe(&self) -> String;
}

impl<T: ShardTransport + ?Sized> ShardTransport for std::sync::Arc<T> {
    fn call(&self, req: Request) -> BoxFuture<'static, Result<Response, TransportError>> {
        (**self).call(req)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<T: ShardTransport + ?Sized> ShardTransport for Box<T> {
    fn call(&self, req: Request) -> BoxFuture<'static, Result<Response, TransportError>> {
        (**self).call(req)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}
