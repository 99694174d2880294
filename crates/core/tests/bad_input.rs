//! Bad input gets a typed error (or the documented behaviour) and leaves the
//! index byte-for-byte unchanged.

use vecshard_core::{Config, ErrorKind, Index, Metric, MAX_KEY_LEN};

fn index(metric: Metric) -> Index {
    let mut idx = Index::new(Config::new(3, metric).seed(1)).unwrap();
    for i in 0..50 {
        let x = i as f32;
        idx.insert(&format!("k{i}"), &[x.sin() + 1.5, x.cos(), 0.5]).unwrap();
    }
    idx
}

/// Runs `f`, checks its error kind, and checks the index did not change.
fn rejects(
    idx: &mut Index,
    want: fn(&ErrorKind) -> bool,
    f: impl FnOnce(&mut Index) -> Result<(), vecshard_core::Error>,
) {
    let before = idx.to_bytes();
    let err = f(idx).expect_err("call should fail");
    assert!(want(err.kind()), "unexpected error kind: {:?}", err.kind());
    assert!(!err.to_string().is_empty());
    assert_eq!(idx.to_bytes(), before, "a failed call changed the index");
    idx.check_invariants().unwrap();
}

#[test]
fn wrong_dimension() {
    let mut idx = index(Metric::L2);
    let dim = |k: &ErrorKind| matches!(k, ErrorKind::DimensionMismatch { expected: 3, got: 2 });
    rejects(&mut idx, dim, |i| i.insert("x", &[1.0, 2.0]));
    rejects(&mut idx, dim, |i| i.upsert("k1", &[1.0, 2.0]).map(|_| ()));
    rejects(&mut idx, dim, |i| i.search(&[1.0, 2.0], 3, None, None).map(|_| ()));
}

#[test]
fn nan_and_infinite_values() {
    let mut idx = index(Metric::L2);
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::NonFiniteValue { index: 1 }),
        |i| i.insert("x", &[1.0, f32::NAN, 0.0]),
    );
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::NonFiniteValue { index: 2 }),
        |i| i.upsert("k3", &[1.0, 0.0, f32::INFINITY]).map(|_| ()),
    );
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::NonFiniteValue { .. }),
        |i| i.search(&[f32::NEG_INFINITY, 0.0, 0.0], 1, None, None).map(|_| ()),
    );
}

#[test]
fn zero_vector_under_cosine() {
    let mut idx = index(Metric::Cosine);
    rejects(&mut idx, |k| matches!(k, ErrorKind::ZeroVector), |i| i.insert("zero", &[0.0; 3]));
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::ZeroVector),
        |i| i.search(&[0.0; 3], 1, None, None).map(|_| ()),
    );
    // Under L2 the zero vector is an ordinary point.
    let mut l2 = index(Metric::L2);
    l2.insert("zero", &[0.0; 3]).unwrap();
}

#[test]
fn empty_and_oversized_keys() {
    let mut idx = index(Metric::L2);
    rejects(&mut idx, |k| matches!(k, ErrorKind::EmptyKey), |i| i.insert("", &[1.0, 0.0, 0.0]));
    let long = "x".repeat(MAX_KEY_LEN + 1);
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::KeyTooLong { len: 1025 }),
        |i| i.insert(&long, &[1.0, 0.0, 0.0]),
    );
    // Exactly the limit is fine.
    idx.insert(&"y".repeat(MAX_KEY_LEN), &[1.0, 0.0, 0.0]).unwrap();
}

#[test]
fn k_zero_is_an_error_and_small_ef_is_clamped() {
    let mut idx = index(Metric::L2);
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::InvalidK),
        |i| i.search(&[1.0, 0.0, 0.0], 0, None, None).map(|_| ()),
    );
    // ef < k is raised to k: asking for 10 with ef 1 still returns 10.
    let hits = idx.search(&[1.0, 0.0, 0.0], 10, Some(1), None).unwrap();
    assert_eq!(hits.len(), 10);
}

#[test]
fn unknown_and_duplicate_keys() {
    let mut idx = index(Metric::L2);
    rejects(&mut idx, |k| matches!(k, ErrorKind::KeyNotFound { .. }), |i| i.remove("nope"));
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::DuplicateKey { .. }),
        |i| i.insert("k1", &[1.0, 0.0, 0.0]),
    );
    assert_eq!(idx.get("nope"), None);
    assert_eq!(idx.remove_batch(&["nope", "also-nope"]), 0);
}

#[test]
fn a_bad_item_in_a_batch_changes_nothing() {
    let mut idx = index(Metric::L2);
    let good = [1.0, 2.0, 3.0];
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::DimensionMismatch { .. }),
        |i| i.insert_batch(&[("new1", &good[..]), ("new2", &good[..2])]),
    );
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::DuplicateKey { .. }),
        |i| i.insert_batch(&[("new1", &good[..]), ("new1", &good[..])]),
    );
    rejects(
        &mut idx,
        |k| matches!(k, ErrorKind::NonFiniteValue { .. }),
        |i| {
            i.upsert_batch(&[("k1", vec![1.0, 1.0, 1.0]), ("k2", vec![f32::NAN, 1.0, 1.0])])
                .map(|_| ())
        },
    );
}

#[test]
fn invalid_configs_are_explained() {
    for cfg in [
        Config::new(0, Metric::L2),
        Config::new(65_537, Metric::L2),
        Config::new(8, Metric::L2).m(1),
        Config::new(8, Metric::L2).m(129),
        Config::new(8, Metric::L2).ef_construction(0),
    ] {
        let e = Index::new(cfg).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidConfig { .. }));
        assert!(e.to_string().contains("must be in"), "{e}");
    }
}

#[test]
fn filter_restricts_results_and_update_relinks() {
    let mut idx = index(Metric::L2);
    let even = |k: &str| k[1..].parse::<u32>().unwrap().is_multiple_of(2);
    let hits = idx.search(&[1.0, 0.0, 0.5], 5, None, Some(&even)).unwrap();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| even(h.key)));
    // Upsert moves k7 right onto the query.
    assert!(!idx.upsert("k7", &[9.0, 9.0, 9.0]).unwrap());
    assert_eq!(idx.search(&[9.0, 9.0, 9.0], 1, None, None).unwrap()[0].key, "k7");
    assert_eq!(idx.get("k7").unwrap(), vec![9.0, 9.0, 9.0]);
    idx.check_invariants().unwrap();
}
