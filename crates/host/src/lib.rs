//! # vecshard-host: shards in wasmtime workers, with their data on disk
//!
//! This crate is what `vecshard serve`, `vecshard build` and `vecshard
//! shard-serve` run on one machine. It opens a **data dir** (a
//! `cluster.json` plus a folder per shard holding a snapshot and a
//! write-ahead log) and runs every shard on **its own worker thread**, in
//! its own wasmtime `Store`, fed by a channel. Each running shard is a
//! [`ShardHandle`], which implements
//! [`vecshard_coordinator::ShardTransport`], so the coordinator (or the
//! remote-shard HTTP endpoint) talks to it like to any other shard.
//!
//! What it **is**:
//! - the wasmtime embedding ([`engine`]): one Engine and compiled Module
//!   per process (the compiled code cached on disk), `instantiate_pre`
//!   once, a Store per shard with a memory limit, a deadline per request by
//!   epoch interruption, and a [`NativeShard`] engine that runs the same
//!   shard code without wasm ([`Backend::Native`]) for tests and for
//!   measuring what wasm costs;
//! - isolation: a shard that traps or runs out of memory fails only the
//!   request that did it, and is rebuilt from its folder before its next
//!   request; the other shards never notice;
//! - durability, as DESIGN.md describes it: apply, then log, then
//!   acknowledge; fsync `always`/`everysec`/`no`; recovery that drops a
//!   torn last record and refuses anything worse; checkpoints (temp file,
//!   fsync, rename, new log) by size, age, on request and at shutdown.
//!
//! What it is **not**: routing and merging (that is
//! `vecshard-coordinator`), HTTP (`vecshard-server`), or the shard logic
//! itself (`vecshard-shard`, which this crate embeds twice: compiled into
//! the guest module by `build.rs`, and linked natively). It runs no async
//! runtime: the workers are plain threads and replies are
//! `futures::channel::oneshot` futures, so any executor can await them.
//!
//! ## Example
//!
//! ```no_run
//! use vecshard_coordinator::{Mode, Query};
//! use vecshard_host::{Cluster, HostConfig};
//! use vecshard_shard::{Item, Settings, WireMetric};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = Cluster::create("/tmp/my-index", 2, Settings::new(2, WireMetric::L2), HostConfig::default())?;
//! let coord = cluster.coordinator();
//! futures::executor::block_on(async {
//!     coord.upsert(vec![Item { key: "a".into(), vector: vec![1.0, 0.0], attributes: None }]).await?;
//!     let res = coord.search(Query::new(vec![1.0, 0.1], 1), Mode::Partial).await?;
//!     assert_eq!(res.hits[0].key, "a");
//!     Ok::<_, vecshard_coordinator::Error>(())
//! })?;
//! cluster.shutdown()?; // checkpoint and stop
//! # Ok(())
//! # }
//! ```

mod cluster;
pub mod collections;
mod config;
pub mod datadir;
pub mod engine;
mod error;
pub mod failpoint;
pub mod wal;
mod worker;

pub use cluster::Cluster;
pub use collections::{CollectionSummary, Collections};
pub use config::{Backend, FsyncPolicy, HostConfig};
pub use datadir::{Expected, FormatVersions, Manifest};
pub use engine::{NativeShard, ShardEngine, StreamFail, Trap, TrapKind, WasmRuntime, WasmShard};
pub use error::{Error, ErrorKind, Result};
pub use worker::{ShardHandle, ShardStats};
