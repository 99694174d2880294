//! WAL recovery (scan, then replay into a shard) on an arbitrary log file;
//! the contract is in `checks/wal.rs`.
//!
//! `wal.rs` and `error.rs` of `crates/host` are compiled here directly:
//! depending on `vecshard-host` would build wasmtime and Cranelift with
//! coverage instrumentation (and the nested guest build) for two small
//! files that need neither (plus `failpoint.rs`, which `wal.rs` calls). If `wal.rs` starts using another host module,
//! add it here the same way.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../checks/known.rs"]
mod known;
#[allow(dead_code)]
#[path = "../checks/wal.rs"]
mod wal_check;

#[allow(dead_code, missing_docs)]
#[path = "../../crates/host/src/error.rs"]
mod error;
#[allow(dead_code, missing_docs)]
#[path = "../../crates/host/src/failpoint.rs"]
mod failpoint;
#[allow(dead_code, missing_docs)]
#[path = "../../crates/host/src/wal.rs"]
mod wal;

use error::ErrorKind as WalErrorKind;

libfuzzer_sys::fuzz_target!(|data: &[u8]| wal_check::check(data));
