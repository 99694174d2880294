//! The wasm shard and the native shard compute the same thing, and N
//! shards behind the coordinator with an `ef` that covers every vector
//! return exactly the single index's brute-force top k.
//!
//! SIFT vectors are small integers, so every squared-L2 distance is an
//! integer below 2^24 (at most 128 · 255² ≈ 8.3M) and every partial sum and
//! product is too: exact in f32 whatever the summation order, and whether a
//! multiply-add is fused or not. So the AVX2+FMA kernels (native) and the
//! simd128 kernels with relaxed (fused) multiply-add (wasm) agree bit for
//! bit, and so do all the decisions that depend on distances. That is what
//! lets these tests demand identical results rather than "close".

mod common;

use common::{call, cfg, item, settings, siftsmall};
use vecshard_coordinator::{Mode, Query};
use vecshard_host::{Backend, Cluster, ShardHandle};
use vecshard_shard::{Hit, Item, Request, Response};

const N: usize = 3000;

fn items(ds: &vecshard_bench::Dataset, n: usize) -> Vec<Item> {
    (0..n).map(|i| item(i.to_string(), ds.base.row(i).to_vec())).collect()
}

fn search(h: &ShardHandle, q: &[f32], k: u32, ef: u32) -> Vec<Hit> {
    match call(h, Request::Search { vector: q.to_vec(), k, ef: Some(ef), filter: None }) {
        Response::Hits { hits } => hits,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn wasm_and_native_shards_give_identical_results() {
    let ds = siftsmall();
    let all = items(&ds, N);
    let mut shards = Vec::new();
    let mut dirs = Vec::new();
    for backend in [Backend::Wasm, Backend::Native] {
        let dir = tempfile::tempdir().unwrap();
        let c = Cluster::create(dir.path(), 1, settings(128), cfg(backend)).unwrap();
        let h = c.shards().remove(0);
        assert_eq!(h.backend(), backend);
        // The same batches in the same order.
        for chunk in all.chunks(500) {
            match call(&h, Request::Upsert { items: chunk.to_vec() }) {
                Response::Upserted { inserted, updated: 0 } => {
                    assert_eq!(inserted as usize, chunk.len())
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // Some churn, so deletion repair is compared too.
        let gone: Vec<String> = (0..N).step_by(7).map(|i| i.to_string()).collect();
        match call(&h, Request::Remove { keys: gone.clone() }) {
            Response::Removed { removed, not_found: 0 } => assert_eq!(removed as usize, gone.len()),
            other => panic!("unexpected {other:?}"),
        }
        shards.push((c, h));
        dirs.push(dir);
    }
    let (wasm, native) = (&shards[0].1, &shards[1].1);
    assert_eq!(wasm.stats().len, native.stats().len);

    for qi in 0..ds.queries.rows() {
        let q = ds.queries.row(qi);
        for (k, ef) in [(10, 10), (10, 64), (50, 200)] {
            let a = search(wasm, q, k, ef);
            let b = search(native, q, k, ef);
            assert_eq!(a.len(), k as usize);
            assert_eq!(a, b, "query {qi}, k {k}, ef {ef}: wasm and native differ");
        }
    }

    // Same operations, same data: the snapshots are the same bytes.
    let snap = |h: &ShardHandle| match call(h, Request::Snapshot) {
        Response::Snapshot { bytes } => bytes,
        other => panic!("unexpected {other:?}"),
    };
    assert!(snap(wasm) == snap(native), "wasm and native built different graphs");

    // The kernels really are different code.
    let kernel = |h: &ShardHandle| match call(h, Request::Info) {
        Response::Info { info } => info.kernel,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(kernel(wasm), "simd128+relaxed");
    println!("native kernels: {}", kernel(native));
}

#[test]
fn sharded_search_with_full_ef_is_the_exact_top_k() {
    let ds = siftsmall();
    let all = items(&ds, N);

    // The oracle: one index holding everything, searched by brute force.
    let mut single = vecshard_core::Index::new(settings(128).to_config()).unwrap();
    let pairs: Vec<(&str, &[f32])> =
        all.iter().map(|it| (it.key.as_str(), it.vector.as_slice())).collect();
    single.upsert_batch(&pairs).unwrap();

    for backend in [Backend::Wasm, Backend::Native] {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::create(dir.path(), 3, settings(128), cfg(backend)).unwrap();
        let coord = cluster.coordinator();
        futures::executor::block_on(async {
            for chunk in all.chunks(1000) {
                coord.upsert(chunk.to_vec()).await.unwrap();
            }
            let lens: Vec<u64> = cluster.stats().iter().map(|s| s.len).collect();
            assert_eq!(lens.iter().sum::<u64>(), N as u64);
            assert!(lens.iter().all(|&l| l > 0), "every shard holds data: {lens:?}");

            for qi in 0..ds.queries.rows() {
                let q = ds.queries.row(qi);
                let want = single.exact_search(q, 10, None).unwrap();
                let got = coord
                    .search(Query::new(q.to_vec(), 10).ef(N as u32), Mode::Strict)
                    .await
                    .unwrap();
                assert!(!got.partial);
                let want: Vec<(String, f32)> =
                    want.iter().map(|h| (h.key.to_string(), h.distance)).collect();
                let got: Vec<(String, f32)> =
                    got.hits.iter().map(|h| (h.key.clone(), h.distance)).collect();
                assert_eq!(got, want, "{backend} query {qi}");
            }
        });
        cluster.shutdown().unwrap();
    }
}
