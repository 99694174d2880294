//! Recall@10 against exact search on the shared benchmark data, at the
//! default `ef`, for every quantization.

mod common;
use common::*;
use vecshard_core::{Config, Index, Quantization};

fn check(name: &str, quant: Quantization, min_recall: f64) -> f64 {
    let seed = seed(&format!("recall {name} {}", quant.name()), 42);
    let (dim, base) = read_fvecs(name, "base.fvecs", usize::MAX);
    let (_, queries) = read_fvecs(name, "query.fvecs", 100);
    let mut index =
        Index::new(Config::new(dim, metric(name)).quantization(quant).seed(seed)).unwrap();
    index.reserve(base.len());
    for (i, v) in base.iter().enumerate() {
        index.insert(&i.to_string(), v).unwrap();
    }
    let r = recall(&index, &queries, 10, None);
    println!("{name} {}: recall@10 = {r:.4} at default ef ({} vectors)", quant.name(), base.len());
    assert!(
        r >= min_recall,
        "{name} {}: recall@10 {r:.4} < {min_recall} (seed {seed})",
        quant.name()
    );
    r
}

#[test]
fn siftsmall_f32_recall_at_default_ef() {
    check("siftsmall", Quantization::F32, 0.95);
}

#[test]
fn glove100_10k_f32_recall_at_default_ef() {
    check("glove100-10k", Quantization::F32, 0.95);
}

#[test]
fn glove100_10k_i8_recall_at_default_ef() {
    // Recall against exact search over the *stored* i8 vectors: graph quality.
    check("glove100-10k", Quantization::I8, 0.95);
}

#[test]
fn siftsmall_binary_recall_is_reported() {
    // Binary walks by Hamming distance and rescores the final candidates, so
    // it cannot match exact (rescored) search closely; we pin a floor so a
    // regression is still caught.
    check("siftsmall", Quantization::Binary, 0.30);
}
