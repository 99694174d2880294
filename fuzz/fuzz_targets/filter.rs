//! `Filter::compile`, `Filter::eval` and `Attributes::parse` on arbitrary
//! bytes (filter source, NUL, attribute JSON); the contract is in
//! `checks/filter.rs`.
#![no_main]

#[path = "../checks/filter.rs"]
mod filter;

libfuzzer_sys::fuzz_target!(|data: &[u8]| filter::check(data));
