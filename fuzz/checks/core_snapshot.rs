//! The contract of `Index::from_bytes`, checked by the `core_snapshot`
//! fuzz target and replayed over the committed corpus by
//! `crates/core/tests/fuzz_corpus.rs` (the same file, through `#[path]`).
//!
//! Every input is tried twice: as given, and with its trailing xxh3
//! recomputed. Without the second try nearly every mutation would stop at
//! the checksum and the validator behind it would never be fuzzed.

use vecshard_core::{ErrorKind, Index};

use crate::known;
use xxhash_rust::xxh3::xxh3_64;

/// `data` with its last 8 bytes replaced by the xxh3 of the rest, if that
/// changes anything.
pub fn with_fixed_checksum(data: &[u8]) -> Option<Vec<u8>> {
    let n = data.len().checked_sub(8)?;
    let mut v = data.to_vec();
    v[n..].copy_from_slice(&xxh3_64(&data[..n]).to_le_bytes());
    (v != data).then_some(v)
}

/// Runs the decoder on `data` (and its checksum-fixed twin) and checks
/// the contract: an `InvalidSnapshot` error, or an index that keeps every
/// invariant, re-encodes stably, answers searches and takes writes.
pub fn check(data: &[u8]) {
    check_one(data);
    if let Some(fixed) = with_fixed_checksum(data) {
        check_one(&fixed);
    }
}

fn check_one(bytes: &[u8]) {
    match Index::from_bytes(bytes) {
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::InvalidSnapshot { .. }),
            "a bad snapshot must be InvalidSnapshot, got {e:?}"
        ),
        Ok(idx) => check_loaded(idx),
    }
}

/// What an accepted snapshot must give: a usable, consistent index.
pub fn check_loaded(mut idx: Index) {
    known::invariants(&idx, "an accepted snapshot");
    let bytes = idx.to_bytes();
    let back = Index::from_bytes(&bytes).expect("a re-encoded snapshot loads");
    assert_eq!(back.to_bytes(), bytes, "re-encoding is not stable");
    assert_eq!(back.len(), idx.len());
    assert_eq!(back.keys().count(), idx.len(), "key count disagrees with len");

    // Never zero (cosine rejects zero queries): component 0 is -0.5.
    let q: Vec<f32> = (0..idx.dim()).map(|i| (i % 7) as f32 * 0.25 - 0.5).collect();
    let k = 5;
    let hits = idx.search(&q, k, None, None).expect("a valid query on a loaded index");
    // ARCHITECTURE core § Deletion: an unfiltered search never returns
    // fewer than min(k, len) hits (the loader repairs reachability).
    assert_eq!(idx.unreachable_count(), 0, "a loaded index has unreachable nodes");
    assert_eq!(hits.len(), k.min(idx.len()), "short result on an unfiltered search");
    let overflow = hits.iter().any(|h| idx.get(h.key).is_some_and(|v| known::huge(&v)));
    let pairs: Vec<(f32, &str)> = hits.iter().map(|h| (h.distance, h.key)).collect();
    known::sorted(&pairs, overflow);

    // Writes on a loaded index keep the invariants.
    let first = idx.keys().next().map(str::to_owned);
    if let Some(first) = first {
        idx.remove(&first).expect("removing a present key");
        assert!(!idx.contains(&first));
    }
    idx.upsert("fuzz-new", &q).expect("upserting a valid vector");
    known::invariants(&idx, "writes on a loaded snapshot");
}
