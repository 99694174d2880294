//! `Index::from_bytes` on arbitrary bytes; the contract is in
//! `checks/core_snapshot.rs`.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/core_snapshot.rs"]
mod core_snapshot;
#[allow(dead_code)]
#[path = "../checks/known.rs"]
mod known;

libfuzzer_sys::fuzz_target!(|data: &[u8]| core_snapshot::check(data));
