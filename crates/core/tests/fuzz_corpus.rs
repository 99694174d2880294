//! Replays the committed fuzz corpus of `Index::from_bytes`
//! (`fuzz/corpus/core_snapshot`, plus any crash reproducers in
//! `fuzz/regressions/core_snapshot`) through the same check the
//! `core_snapshot` fuzz target runs, so CI keeps what the fuzzer learned
//! without a fuzzer. See README § Fuzzing.

#[path = "../../../fuzz/checks/core_snapshot.rs"]
mod core_snapshot;
#[allow(dead_code)]
#[path = "../../../fuzz/checks/known.rs"]
mod known;

#[path = "../../../fuzz/checks/corpus.rs"]
mod corpus;
use corpus::inputs;

#[test]
fn core_snapshot_corpus_replays() {
    let inputs = inputs("core_snapshot");
    assert!(inputs.len() >= 10, "the corpus is missing ({} files)", inputs.len());
    for (name, data) in &inputs {
        eprintln!("{name}");
        core_snapshot::check(data);
    }
}
