//! The contract of `Index::from_bytes`, checked by the `core_snapshot`
//! fuzz target and replayed over the committed corpus by
//! `crates/core/tests/fuzz_corpus.rs` (the same file, through `#[path]`).
//!
//! Every input is tried twice: as given, and with its trailing xxh3
//! recomputed. Without the second try nearly every mutation would stop at
//! the checksum and the validator behind it would never be fuzzed.
//!
//! Each try also drives the streaming `SnapshotLoader` with chunk
//! boundaries taken from the input (its first byte picks a chunk length
//! and the second a first cut), which must give exactly the verdict and
//! the index `from_bytes` gives.

use vecshard_core::{ErrorKind, Index, SnapshotLoader};

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

/// Loads `bytes` through the streaming loader in chunks: a first cut at
/// `first` bytes, then chunks of `step` bytes (both from the input, so the
/// fuzzer explores boundaries inside every field). The length is declared
/// when `hint` (as a caller with a file would).
pub fn load_chunked(
    bytes: &[u8],
    first: usize,
    step: usize,
    hint: bool,
) -> Result<Index, vecshard_core::Error> {
    let mut l = SnapshotLoader::new();
    if hint {
        l = l.expect_len(bytes.len() as u64);
    }
    let (head, mut rest) = bytes.split_at(first.min(bytes.len()));
    l.push(head)?;
    while !rest.is_empty() {
        let (c, r) = rest.split_at(step.max(1).min(rest.len()));
        l.push(c)?;
        rest = r;
    }
    l.finish()
}

fn check_one(bytes: &[u8]) {
    let first = bytes.get(20).copied().unwrap_or(0) as usize * 7 % (bytes.len() + 1);
    let step = 1 + bytes.get(21).copied().unwrap_or(0) as usize % 97;
    let one = Index::from_bytes(bytes);
    // Without a declared length the loader reserves what the header claims
    // before the stream can contradict it (fallibly, but a fuzzer's malloc
    // limit would report a huge request as a crash), so the length is
    // declared for every input the one-shot loader refused, and for half of
    // the others.
    let chunked = load_chunked(bytes, first, step, one.is_err() || step.is_multiple_of(2));
    match (&one, &chunked) {
        (Ok(a), Ok(b)) => assert_eq!(a.to_bytes(), b.to_bytes(), "chunked load differs"),
        (Err(_), Err(e)) => assert!(
            matches!(e.kind(), ErrorKind::InvalidSnapshot { .. }),
            "a bad snapshot must be InvalidSnapshot (chunked), got {e:?}"
        ),
        _ => panic!("one-shot {:?} but chunked {:?}", one.as_ref().err(), chunked.as_ref().err()),
    }
    match one {
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
