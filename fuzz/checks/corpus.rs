//! The committed inputs of one fuzz target: `fuzz/corpus/<target>` and
//! `fuzz/regressions/<target>`, sorted by path. Included with `#[path]` by
//! each crate's `tests/fuzz_corpus.rs` (all at `crates/<name>/`), so CI
//! replays what the fuzzer learned without a fuzzer.

use std::path::Path;

/// `(path, bytes)` of every input of `target`.
pub fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
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
