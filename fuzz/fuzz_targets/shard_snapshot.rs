//! The shard snapshot container decoder on arbitrary bytes; the contract
//! is in `checks/shard_snapshot.rs`.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/known.rs"]
mod known;
#[allow(dead_code)]
#[path = "../checks/shard_snapshot.rs"]
mod shard_snapshot;

libfuzzer_sys::fuzz_target!(|data: &[u8]| shard_snapshot::check(data));
