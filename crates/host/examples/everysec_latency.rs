//! Does the `everysec` fsync hold up requests? One client sends
//! small upserts back to back to a native 1-shard cluster with
//! `fsync = everysec` for a few seconds and prints the latency
//! percentiles. When the fsync runs on the shard's worker, once a second
//! a request waits for it; on a thread of its own, none should.
//!
//! ```text
//! cargo run --release -p vecshard-host --example everysec_latency -- [DIR] [seconds]
//! ```
//!
//! DIR must be on a real disk (an fsync on tmpfs costs nothing); by
//! default a temp dir under the current directory. Run it again with
//! `VECSHARD_EVERYSEC_ON_WORKER=1` to sync on the worker, as before.

use std::time::{Duration, Instant};

use vecshard_coordinator::ShardTransport;
use vecshard_host::{Backend, Cluster, FsyncPolicy, HostConfig};
use vecshard_shard::{Item, Request, Settings, WireMetric};

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| ".".into());
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = std::path::Path::new(&base).join(format!("everysec-{}", std::process::id()));
    let cfg = HostConfig {
        backend: Backend::Native,
        fsync: FsyncPolicy::EverySec,
        ..HostConfig::default()
    };
    let cluster = Cluster::create(&dir, 1, Settings::new(16, WireMetric::L2), cfg).unwrap();
    let h = cluster.shards().remove(0);
    let mut lat = Vec::new();
    let start = Instant::now();
    let mut i = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        // ~2 KiB per record, so each second's fsync has real work to do.
        let items: Vec<Item> = (0..8)
            .map(|j| Item {
                key: format!("k{i}-{j}"),
                vector: (0..16).map(|d| ((i * 31 + j * 7 + d) % 101) as f32).collect(),
                attributes: None,
            })
            .collect();
        let t = Instant::now();
        futures::executor::block_on(h.call(Request::Upsert { items })).unwrap();
        lat.push(t.elapsed());
        i += 1;
    }
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "{} upserts in {secs} s: p50 {:?} p99 {:?} p99.9 {:?} max {:?}",
        lat.len(),
        p(0.5),
        p(0.99),
        p(0.999),
        lat[lat.len() - 1]
    );
    drop(h);
    cluster.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
