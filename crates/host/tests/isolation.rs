//! A shard that runs out of memory or past its deadline fails that one
//! request, restarts from its data with every acknowledged write, and the
//! other shards never notice.

mod common;

use std::time::Duration;

use common::{call, cfg, get, item, settings, siftsmall, small_items};
use vecshard_coordinator::{route, Mode, Query, ShardTransport, TransportErrorKind};
use vecshard_host::{Backend, Cluster};
use vecshard_shard::{Request, Response};

#[test]
fn out_of_memory_fails_one_request_and_restarts_only_that_shard() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Backend::Wasm);
    c.memory_limit = 16 << 20;
    let cluster = Cluster::create(dir.path(), 3, settings(4), c).unwrap();
    let coord = cluster.coordinator();
    let shards = cluster.shards();

    // Acknowledged writes on every shard.
    let acked = small_items("k", 300);
    futures::executor::block_on(coord.upsert(acked.clone())).unwrap();
    for s in cluster.stats() {
        assert!(s.len > 0);
        assert!(s.memory_bytes > 0 && s.memory_bytes <= 16 << 20, "{s:?}");
    }

    // A valid upsert far too big for 16 MiB, sent straight to shard 1.
    let huge: Vec<_> =
        (0..1_000_000).map(|i| item(format!("huge{i}"), vec![i as f32, 0.0, 0.0, 1.0])).collect();
    let err = futures::executor::block_on(shards[1].call(Request::Upsert { items: huge }))
        .expect_err("the huge upsert must fail");
    assert_eq!(err.kind, TransportErrorKind::Trapped, "{err}");
    assert!(err.message.contains("memory limit of 16 MiB"), "{err}");

    // Shard 1 restarted; the others did not.
    let restarts: Vec<u64> = cluster.stats().iter().map(|s| s.restarts).collect();
    assert_eq!(restarts, vec![0, 1, 0]);

    // Every shard answers, and every acknowledged write is still there.
    futures::executor::block_on(async {
        let res =
            coord.search(Query::new(vec![5.0, 0.0, 0.0, 1.0], 3), Mode::Strict).await.unwrap();
        assert!(!res.partial);
        assert_eq!(res.hits[0].key, "k5");
        for it in &acked {
            let got = coord.get(&it.key).await.unwrap().expect("acknowledged write survives");
            assert_eq!(got.vector, it.vector);
        }
    });
    // Nothing of the failed request applied.
    assert_eq!(get(&shards[1], "huge0"), None);
    assert_eq!(cluster.stats().iter().map(|s| s.len).sum::<u64>(), 300);
    assert!(cluster.stats().iter().all(|s| s.down.is_none()));

    // The restarted shard takes writes again, and they are durable.
    let owned_by_1 = small_items("after", 50)
        .into_iter()
        .filter(|it| route(&it.key, 3) == 1)
        .collect::<Vec<_>>();
    assert!(!owned_by_1.is_empty());
    futures::executor::block_on(coord.upsert(owned_by_1.clone())).unwrap();
    drop(coord);
    cluster.shutdown().unwrap();

    let cluster = Cluster::open(dir.path(), cfg(Backend::Wasm)).unwrap();
    for it in acked.iter().chain(&owned_by_1) {
        let owner = &cluster.shards()[route(&it.key, 3) as usize];
        assert_eq!(get(owner, &it.key).as_deref(), Some(it.vector.as_slice()), "{}", it.key);
    }
}

#[test]
fn deadline_fails_the_request_with_timeout_and_restarts_the_shard() {
    let ds = siftsmall();
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Backend::Wasm);
    c.request_timeout = Some(Duration::from_millis(100));
    c.epoch_tick = Duration::from_millis(5);
    let cluster = Cluster::create(dir.path(), 2, settings(128), c).unwrap();
    let shards = cluster.shards();

    let first: Vec<_> = (0..20).map(|i| item(format!("a{i}"), ds.base.row(i).to_vec())).collect();
    match call(&shards[0], Request::Upsert { items: first.clone() }) {
        Response::Upserted { inserted: 20, .. } => {}
        other => panic!("unexpected {other:?}"),
    }

    // Thousands of 128-d inserts at ef_construction 200 take seconds, far
    // past a 100 ms deadline.
    let big: Vec<_> =
        (20..6020).map(|i| item(format!("b{i}"), ds.base.row(i % 10_000).to_vec())).collect();
    let err = futures::executor::block_on(shards[0].call(Request::Upsert { items: big }))
        .expect_err("the slow request must be stopped");
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.message.contains("deadline"), "{err}");

    let st = shards[0].stats();
    assert_eq!(st.restarts, 1);
    assert_eq!(st.len, 20, "the interrupted batch did not apply");
    assert_eq!(shards[1].stats().restarts, 0);
    for it in &first {
        assert_eq!(get(&shards[0], &it.key).as_deref(), Some(it.vector.as_slice()));
    }
    assert_eq!(get(&shards[0], "b20"), None);
    // The other shard was never involved and still answers.
    assert!(matches!(call(&shards[1], Request::Info), Response::Info { .. }));
}
