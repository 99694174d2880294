//! `Shard::handle_bytes` on sequences of arbitrary requests against a
//! small pre-built shard; the contract is in `checks/shard_request.rs`.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../checks/known.rs"]
mod known;
#[allow(dead_code)]
#[path = "../checks/shard_request.rs"]
mod shard_request;
#[allow(dead_code)]
#[path = "../checks/shard_snapshot.rs"]
mod shard_snapshot;

libfuzzer_sys::fuzz_target!(|data: &[u8]| shard_request::check(data));
