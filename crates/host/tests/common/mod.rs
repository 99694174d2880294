//! Helpers shared by the host's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use vecshard_coordinator::ShardTransport;
use vecshard_host::{Backend, FsyncPolicy, HostConfig, ShardHandle};
use vecshard_shard::{Item, Request, Response, Settings, WireMetric};

/// siftsmall from the shared data folder (never copied into the repo).
pub fn siftsmall() -> vecshard_bench::Dataset {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/siftsmall");
    vecshard_bench::Dataset::load(&dir).unwrap_or_else(|e| {
        panic!("{e}: the tests read ../shared/data/siftsmall (see scripts/test-all.sh setup)")
    })
}

/// A config for tests: module cache under the target dir, fsync off (the
/// tests reopen in-process; durability against power loss is not what
/// they check).
pub fn cfg(backend: Backend) -> HostConfig {
    HostConfig {
        backend,
        fsync: FsyncPolicy::No,
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vecshard-module-cache")),
        request_timeout: Some(Duration::from_secs(300)),
        ..HostConfig::default()
    }
}

pub fn settings(dim: u32) -> Settings {
    Settings::new(dim, WireMetric::L2)
}

pub fn item(key: impl Into<String>, vector: Vec<f32>) -> Item {
    Item { key: key.into(), vector, attributes: None }
}

pub fn call(h: &ShardHandle, req: Request) -> Response {
    futures::executor::block_on(h.call(req)).expect("shard answers")
}

pub fn get(h: &ShardHandle, key: &str) -> Option<Vec<f32>> {
    match call(h, Request::Get { key: key.into() }) {
        Response::Item { item } => item.map(|i| i.vector),
        other => panic!("unexpected {other:?}"),
    }
}

pub fn upsert(h: &ShardHandle, items: Vec<Item>) {
    match call(h, Request::Upsert { items }) {
        Response::Upserted { .. } => {}
        other => panic!("unexpected {other:?}"),
    }
}

/// `n` small deterministic 4-d vectors with keys `{prefix}{i}`.
pub fn small_items(prefix: &str, n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let f = i as f32;
            item(format!("{prefix}{i}"), vec![f, (f * 0.37).sin(), (f * 0.11).cos(), 1.0])
        })
        .collect()
}
