//! The small shard every stateful target starts from (shared by the fuzz
//! targets and the corpus-replay tests through `#[path]`, so both run the
//! same checks on the same state).
//!
//! 40 elements of dimension 4 under L2 (`m` 4, so the graph has upper
//! layers and full lists), every other one with JSON attributes, then five
//! removed, so the free list is not empty. Small enough that a full
//! snapshot, restore and `check_invariants` cost microseconds per run.

use std::sync::OnceLock;

use vecshard_shard::{Item, Request, Response, Settings, Shard, WireMetric};

/// Dimension of the fixture's vectors (seeds and bodies use it).
pub const DIM: usize = 4;

/// The fixture's settings.
pub fn settings() -> Settings {
    let mut s = Settings::new(DIM as u32, WireMetric::L2);
    s.m = 4;
    s.ef_construction = 32;
    s.seed = 1;
    s
}

/// Deterministic vector `i` (a small LCG: no rand dependency).
pub fn vector(i: u64) -> Vec<f32> {
    let mut x = i.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..DIM)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// The fixture's items (before the removals).
pub fn items() -> Vec<Item> {
    (0..40u64)
        .map(|i| Item {
            key: format!("k{i}"),
            vector: vector(i),
            attributes: (i % 2 == 0).then(|| format!("{{\"n\":{i}}}").into_bytes()),
        })
        .collect()
}

/// The fixture shard's snapshot bytes (built once per process).
pub fn snapshot() -> &'static [u8] {
    static SNAP: OnceLock<Vec<u8>> = OnceLock::new();
    SNAP.get_or_init(|| {
        let mut s = Shard::with_settings(&settings()).expect("fixture settings are valid");
        let r = s.handle(Request::Upsert { items: items() });
        assert!(matches!(r, Response::Upserted { inserted: 40, .. }), "{r:?}");
        let keys = (10..15).map(|i| format!("k{i}")).collect();
        let r = s.handle(Request::Remove { keys });
        assert!(matches!(r, Response::Removed { .. }), "{r:?}");
        s.snapshot().expect("the index exists")
    })
}

/// A fresh copy of the fixture shard.
pub fn shard() -> Shard {
    Shard::from_snapshot(snapshot()).expect("the fixture snapshot loads")
}
