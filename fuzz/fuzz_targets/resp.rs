//! Arbitrary bytes through RESP framing, command parsing and execution
//! against the in-memory backend; the contract is in `checks/resp.rs`.
#![no_main]

#[path = "../checks/resp.rs"]
mod resp;

libfuzzer_sys::fuzz_target!(|data: &[u8]| resp::check(data));
