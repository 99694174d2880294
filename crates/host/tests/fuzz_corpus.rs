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

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for dir in [fuzz.join("corpus").join(target), fuzz.join("regressions").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn wal_recovery_corpus_replays() {
    let inputs = inputs("wal_recovery");
    assert!(inputs.len() >= 5, "the corpus is missing ({} files)", inputs.len());
    for (name, data) in &inputs {
        eprintln!("{name}");
        wal_check::check(data);
    }
}
