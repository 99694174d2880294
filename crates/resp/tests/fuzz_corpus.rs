//! Replays the committed corpus of the `resp` fuzz target (`fuzz/corpus/
//! resp`, plus any crash reproducers in `fuzz/regressions/resp`) through the
//! same checks the fuzz target runs, so CI keeps what the fuzzer learned
//! without a fuzzer. See README § Fuzzing.

#[path = "../../../fuzz/checks/resp.rs"]
mod resp;

#[path = "../../../fuzz/checks/corpus.rs"]
mod corpus;

#[test]
fn resp_corpus_replays() {
    let inputs = corpus::inputs("resp");
    assert!(inputs.len() >= 10, "the corpus is missing ({} files)", inputs.len());
    for (name, data) in &inputs {
        eprintln!("{name}");
        resp::check(data);
    }
}
