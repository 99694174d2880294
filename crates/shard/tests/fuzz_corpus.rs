//! Replays the committed fuzz corpora of the shard (`fuzz/corpus/
//! shard_request` and `fuzz/corpus/shard_snapshot`, plus any crash
//! reproducers in `fuzz/regressions/`) through the same checks the fuzz
//! targets run, so CI keeps what the fuzzer learned without a fuzzer. See
//! README § Fuzzing.

// The check files are shared with the fuzz targets; not every helper is
// used by every includer.
#[allow(dead_code)]
#[path = "../../../fuzz/checks/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../../../fuzz/checks/known.rs"]
mod known;
#[allow(dead_code)]
#[path = "../../../fuzz/checks/shard_request.rs"]
mod shard_request;
#[allow(dead_code)]
#[path = "../../../fuzz/checks/shard_snapshot.rs"]
mod shard_snapshot;

use std::path::Path;

#[path = "../../../fuzz/checks/corpus.rs"]
mod corpus;
use corpus::inputs;

#[test]
fn shard_request_corpus_replays() {
    let inputs = inputs("shard_request");
    assert!(inputs.len() >= 10, "the corpus is missing ({} files)", inputs.len());
    for (name, data) in &inputs {
        eprintln!("{name}");
        shard_request::check(data);
    }
}

#[test]
fn shard_snapshot_corpus_replays() {
    let inputs = inputs("shard_snapshot");
    assert!(inputs.len() >= 5, "the corpus is missing ({} files)", inputs.len());
    for (name, data) in &inputs {
        eprintln!("{name}");
        shard_snapshot::check(data);
    }
}

/// Fuzz finding 1 (fixed; `fuzz/checks/known.rs`): `fuzz/regressions/
/// shard_request/unreachable-after-restore` restores a snapshot (valid
/// checksums, every value in range) whose layer-0 graph leaves 5 of its 6
/// live nodes unreachable from the entry point. The shard used to accept it
/// as it was, and searches then missed those nodes; the core's loader now
/// attaches every island.
#[test]
fn a_restored_snapshot_leaves_no_node_unreachable() {
    use vecshard_shard::{decode_request, Request, Shard};
    let input = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/regressions/shard_request/unreachable-after-restore"),
    )
    .unwrap();
    let mut restored = 0;
    for raw in shard_request::split(&input) {
        let Ok(Request::Restore { bytes }) = decode_request(raw) else { continue };
        let bytes = shard_snapshot::with_fixed_checksums(&bytes).unwrap_or(bytes);
        if let Ok(shard) = Shard::from_snapshot(&bytes) {
            restored += 1;
            let index = shard.index().unwrap();
            assert_eq!(
                index.unreachable_count(),
                0,
                "accepted with unreachable nodes: {:?}",
                index.check_invariants()
            );
        }
    }
    assert!(restored > 0, "the reproducer no longer restores anything");
}
