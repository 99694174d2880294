//! `Index::try_reserve`: a bulk load of known size allocates its arrays
//! once (no doubling), and an impossible request is an error that changes
//! nothing.

mod common;
use common::Rng;
use vecshard_core::{Config, ErrorKind, Index, Metric, Quantization};

#[test]
fn reserved_inserts_do_not_grow_the_arrays() {
    for quant in [Quantization::F32, Quantization::I8, Quantization::Binary] {
        let mut rng = Rng(common::seed("reserved_inserts_do_not_grow_the_arrays", 4));
        let mut idx =
            Index::new(Config::new(16, Metric::Cosine).quantization(quant).seed(2)).unwrap();
        idx.try_reserve(3000).unwrap();
        let reserved = idx.stats();
        for i in 0..3000 {
            idx.insert(&format!("k{i}"), &rng.vec(16)).unwrap();
        }
        let after = idx.stats();
        // Vectors and layer-0 links were allocated once, exactly.
        assert_eq!(after.vector_bytes, reserved.vector_bytes, "{quant:?}");
        let grown = after.link_bytes - reserved.link_bytes;
        // Only the upper-layer lists (about 1/m of the nodes) come later.
        assert!(grown < reserved.link_bytes / 4, "{quant:?}: links grew by {grown}");
        // Without the reservation the same inserts leave doubling slack.
        let mut plain =
            Index::new(Config::new(16, Metric::Cosine).quantization(quant).seed(2)).unwrap();
        let mut rng = Rng(4);
        for i in 0..3000 {
            plain.insert(&format!("k{i}"), &rng.vec(16)).unwrap();
        }
        assert!(plain.stats().vector_bytes > after.vector_bytes, "{quant:?}");
    }
}

#[test]
fn an_impossible_reservation_is_an_error_and_changes_nothing() {
    let mut idx = Index::new(Config::new(4, Metric::L2).seed(1)).unwrap();
    idx.insert("a", &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let before = idx.to_bytes();
    // `1 << 40` only where usize has 64 bits (these tests also run on wasm32).
    let huge = usize::try_from(1u64 << 40).unwrap_or(usize::MAX);
    for n in [usize::MAX, u32::MAX as usize, huge] {
        let e = idx.try_reserve(n).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::CapacityExceeded), "{e:?}");
    }
    assert_eq!(idx.to_bytes(), before);
    idx.check_invariants().unwrap();
}
