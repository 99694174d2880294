//! Replays the committed fuzz corpus of WAL recovery
//! (`fuzz/corpus/wal_recovery`, plus any crash reproducers in
//! `fuzz/regressions/wal_recovery`) through the same check the
//! `wal_recovery` fuzz target runs: `wal::scan` of the file, the torn-tail
//! property, and replay of every record into a native shard. See README
//! § Fuzzing.

#[allow(dead_code)]
#[path = "../../../fuzz/checks/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../../../fuzz/checks/known.rs"]
mod known;
#[path = "../../../fuzz/checks/wal.rs"]
mod wal_check;

// What the shared check reaches as `crate::wal` and `crate::WalErrorKind`
// (the fuzz target compiles `src/wal.rs` itself, without wasmtime).
use vecshard_host::wal;
use vecshard_host::ErrorKind as WalErrorKind;

#[path = "../../../fuzz/checks/corpus.rs"]
mod corpus;
use corpus::inputs;

#[test]
fn wal_recovery_corpus_replays() {
    let inputs = inputs("wal_recovery");
    assert!(inputs.len() >= 5, "the corpus is missing ({} files)", inputs.len());
    for (name, data) in &inputs {
        eprintln!("{name}");
        wal_check::check(data);
    }
}
