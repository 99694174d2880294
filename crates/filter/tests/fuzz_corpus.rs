//! Replays the committed fuzz corpus of the filter language
//! (`fuzz/corpus/filter`, plus any crash reproducers in
//! `fuzz/regressions/filter`) through the same check the `filter` fuzz
//! target runs, so CI keeps what the fuzzer learned without a fuzzer. See
//! README § Fuzzing.

#[path = "../../../fuzz/checks/filter.rs"]
mod filter;

#[path = "../../../fuzz/checks/corpus.rs"]
mod corpus;
use corpus::inputs;

#[test]
fn filter_corpus_replays() {
    let inputs = inputs("filter");
    assert!(inputs.len() >= 10, "the corpus is missing ({} files)", inputs.len());
    for (name, data) in &inputs {
        eprintln!("{name}");
        filter::check(data);
    }
}
