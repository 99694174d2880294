//! Random operation sequences (insert, upsert, remove, search, snapshot round
//! trip) for every metric × quantization, with `check_invariants()` after
//! every step and a model (`BTreeMap`) that the index must agree with.
//!
//! Small `m` (so lists overflow and pruning runs) and few distinct keys (so
//! removes and upserts hit existing keys often).

mod common;
use proptest::prelude::*;
use std::collections::BTreeMap;
use vecshard_core::{Config, ErrorKind, Index, Metric, Quantization};

const DIM: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    Insert(u8, Vec<f32>),
    Upsert(u8, Vec<f32>),
    Remove(u8),
    Search(Vec<f32>, usize),
    Snapshot,
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    // Coarse values so exact ties (and duplicate vectors) happen too.
    prop::collection::vec((-4i8..=4).prop_map(|x| x as f32 * 0.5), DIM)
        .prop_filter("non-zero", |v| v.iter().any(|x| *x != 0.0))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..48, vector()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => (0u8..48, vector()).prop_map(|(k, v)| Op::Upsert(k, v)),
        3 => (0u8..48).prop_map(Op::Remove),
        2 => (vector(), 1usize..8).prop_map(|(v, k)| Op::Search(v, k)),
        1 => Just(Op::Snapshot),
    ]
}

fn run(metric: Metric, quant: Quantization, ops: &[Op]) -> Result<(), TestCaseError> {
    let cfg = Config::new(DIM, metric).m(3).ef_construction(8).quantization(quant).seed(11);
    let mut index = Index::new(cfg).unwrap();
    let mut model: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Insert(k, v) => {
                let key = format!("k{k}");
                let r = index.insert(&key, v);
                match model.entry(key) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        let dup = matches!(r.unwrap_err().kind(), ErrorKind::DuplicateKey { .. });
                        prop_assert!(dup, "insert of an existing key must fail with DuplicateKey");
                    }
                    std::collections::btree_map::Entry::Vacant(e) => {
                        r.unwrap();
                        e.insert(v.clone());
                    }
                }
            }
            Op::Upsert(k, v) => {
                let key = format!("k{k}");
                let new = index.upsert(&key, v).unwrap();
                prop_assert_eq!(new, model.insert(key, v.clone()).is_none(), "upsert new flag");
            }
            Op::Remove(k) => {
                let key = format!("k{k}");
                let r = index.remove(&key);
                prop_assert_eq!(r.is_ok(), model.remove(&key).is_some(), "remove result");
            }
            Op::Search(q, k) => {
                // With ef >= len every reachable node is visited, so HNSW
                // search must equal exact search (same distances, same order).
                let got = index.search(q, *k, Some(64), None).unwrap();
                let want = index.exact_search(q, *k, None).unwrap();
                prop_assert_eq!(got.len(), (*k).min(model.len()), "result count");
                prop_assert_eq!(&got, &want, "search with ef >= len must equal exact search");
                for w in got.windows(2) {
                    prop_assert!((w[0].distance, w[0].key) <= (w[1].distance, w[1].key));
                }
            }
            Op::Snapshot => {
                let bytes = index.to_bytes();
                let loaded = Index::from_bytes(&bytes).unwrap();
                prop_assert_eq!(loaded.to_bytes(), bytes, "snapshot round trip");
                index = loaded;
            }
        }
        if let Err(e) = index.check_invariants() {
            return Err(TestCaseError::fail(format!("after {op:?}: {e}")));
        }
        prop_assert_eq!(index.len(), model.len(), "len");
        for (key, v) in &model {
            let got = index.get(key).unwrap();
            if quant == Quantization::F32 {
                for (a, b) in got.iter().zip(v) {
                    prop_assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                        "get({key}) = {got:?}, want {v:?}"
                    );
                }
            }
        }
    }
    Ok(())
}

macro_rules! prop_for {
    ($name:ident, $metric:expr, $quant:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
            #[test]
            fn $name(ops in prop::collection::vec(op(), 1..120)) {
                run($metric, $quant, &ops)?;
            }
        }
    };
}

prop_for!(cosine_f32, Metric::Cosine, Quantization::F32);
prop_for!(cosine_i8, Metric::Cosine, Quantization::I8);
prop_for!(cosine_binary, Metric::Cosine, Quantization::Binary);
prop_for!(l2_f32, Metric::L2, Quantization::F32);
prop_for!(l2_i8, Metric::L2, Quantization::I8);
prop_for!(l2_binary, Metric::L2, Quantization::Binary);
prop_for!(ip_f32, Metric::InnerProduct, Quantization::F32);
prop_for!(ip_i8, Metric::InnerProduct, Quantization::I8);
prop_for!(ip_binary, Metric::InnerProduct, Quantization::Binary);

#[test]
fn same_seed_same_operations_same_bytes() {
    let mut rng = common::Rng(99);
    let build = |rng: &mut common::Rng| {
        let mut idx = Index::new(Config::new(16, Metric::L2).m(4).seed(5)).unwrap();
        for i in 0..300 {
            idx.insert(&format!("{i}"), &rng.vec(16)).unwrap();
        }
        for i in (0..300).step_by(3) {
            idx.remove(&format!("{i}")).unwrap();
        }
        idx.to_bytes()
    };
    let a = build(&mut rng);
    let b = build(&mut common::Rng(99));
    assert_eq!(a, b);
}
