//! The contract of the filter language (`vecshard_filter`), checked by the
//! `filter` fuzz target and replayed over the committed corpus by
//! `crates/filter/tests/fuzz_corpus.rs` (the same file, through `#[path]`).
//!
//! An input is a filter source and attribute JSON, split at the first NUL
//! byte (no NUL: the attributes are `{}`). Whatever the bytes:
//! - `Filter::compile` never panics; a rejection is `invalid_filter` with a
//!   position inside the source (or at `MAX_LEN` for a source too long),
//!   and a source over 4 KiB is always rejected;
//! - an accepted filter's program has at most one instruction per source
//!   byte (compiling is linear), evaluating never panics, an element
//!   without attributes never matches, and evaluating twice agrees;
//! - the index plan is a superset: whatever the filter accepts, the plan
//!   accepts (the planner relies on this to scan only the plan's slots);
//! - `Attributes::parse` never panics; a rejection is `invalid_attributes`
//!   with a position inside the bytes.

use vecshard_filter::{Attributes, Filter};

/// Checks the contract on one input; panics on a violation.
pub fn check(data: &[u8]) {
    let (src, json) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let attrs = match Attributes::parse(json) {
        Ok(a) => a,
        Err(e) => {
            assert_eq!(e.code(), "invalid_attributes");
            if let Some(p) = e.position() {
                assert!(p <= json.len(), "attribute error position {p} past {} bytes", json.len());
            }
            assert!(!e.to_string().is_empty());
            Attributes::new()
        }
    };
    let Ok(src) = core::str::from_utf8(src) else { return };
    let filter = match Filter::compile(src) {
        Ok(f) => f,
        Err(e) => {
            assert_eq!(e.code(), "invalid_filter");
            assert!(
                e.position() <= src.len().max(Filter::MAX_LEN),
                "error position {} past the source ({} bytes): {e}",
                e.position(),
                src.len()
            );
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(src.len() <= Filter::MAX_LEN, "a {}-byte source compiled", src.len());
    assert!(
        filter.program_len() <= src.len(),
        "{} instructions from {} bytes",
        filter.program_len(),
        src.len()
    );
    assert_eq!(filter.source(), src);
    let hit = filter.eval(&attrs);
    assert_eq!(hit, filter.eval(&attrs), "evaluation is not deterministic");
    assert!(!filter.eval_element(None), "an element without attributes matched {src:?}");
    if hit {
        assert!(filter.plan().accepts(&attrs), "the plan rejects what {src:?} accepts");
    }
    // The empty object: every selector is missing.
    let empty = Attributes::new();
    if filter.eval(&empty) {
        assert!(filter.plan().accepts(&empty), "the plan rejects {{}} accepted by {src:?}");
    }
}
