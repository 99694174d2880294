//! # vecshard-shard: one shard, and the only way to talk to it
//!
//! A shard is a [`vecshard_core::Index`] plus optional per-key attributes
//! (opaque bytes; the HTTP API stores JSON there), driven by one pair of
//! serde enums, [`Request`] and [`Response`], postcard-encoded behind a
//! version byte ([`protocol`]). The same bytes go through the wasm guest
//! ABI, the remote-shard HTTP endpoint, the write-ahead log and Web Worker
//! messages, so every transport runs exactly this code.
//!
//! What it **is**: the request handler ([`Shard::handle`] /
//! [`Shard::handle_bytes`]), the protocol types, the shard snapshot
//! container ([`snapshot`]) and, with the `guest` feature on
//! `wasm32-unknown-unknown`, the raw-ABI wasm guest module (`guest`).
//!
//! What it is **not**: it owns no threads, files or clocks. Routing and
//! merging are in `vecshard-coordinator`; the wasmtime worker pool and the
//! data dir (WAL, checkpoints) are in `vecshard-host`.
//!
//! ## Example
//!
//! ```
//! use vecshard_shard::{decode_response, encode_request, Item, Request, Response, Settings, Shard, WireMetric};
//!
//! let mut shard = Shard::with_settings(&Settings::new(2, WireMetric::L2)).unwrap();
//! let items = vec![
//!     Item { key: "a".into(), vector: vec![0.0, 0.0], attributes: None },
//!     Item { key: "b".into(), vector: vec![1.0, 1.0], attributes: Some(br#"{"color":"red"}"#.to_vec()) },
//! ];
//! assert_eq!(shard.handle(Request::Upsert { items }), Response::Upserted { inserted: 2, updated: 0 });
//!
//! // The same request as bytes, the way every transport sends it.
//! let req = encode_request(&Request::Search { vector: vec![0.9, 0.9], k: 1, ef: None, filter: None });
//! match decode_response(&shard.handle_bytes(&req)).unwrap() {
//!     Response::Hits { hits } => assert_eq!(hits[0].key, "b"),
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! // Garbage gets an error response, never a panic.
//! assert!(matches!(decode_response(&shard.handle_bytes(b"\x01\xff\xff")).unwrap(), Response::Error(_)));
//! ```
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod attrs;
pub mod limits;
pub mod protocol;
mod shard;
pub mod snapshot;

#[cfg(all(target_arch = "wasm32", feature = "guest"))]
mod guest;

pub use limits::check_limits;
pub use protocol::{
    decode_request, decode_response, encode_request, encode_response, ErrorCode, Filter, Hit, Item,
    ItemOut, KeyBound, PlanKind, Request, Response, SearchHit, Settings, ShardInfo, WireError,
    WireMetric, WireQuantization, MAX_KEYS_PAGE, MAX_KEYS_PAGE_BYTES, PROTOCOL_VERSION,
};
pub use shard::{
    exact_threshold, sample_matches, PlannerConfig, Shard, ShardLoader, ShardSnapshotWriter,
    SnapshotStream, SAMPLE_HITS,
};
