//! Data safety when file operations fail, in process, with the failpoints
//! of `vecshard_host::failpoint` (and, for the checkpoint bug as reported,
//! a directory where a temp file should go). The rule checked everywhere
//! (DESIGN.md § Durability): a write reported as failed is never visible
//! after a restart; an acknowledged write is never lost.
//!
//! Failpoints are global to the process, so these tests take a lock and
//! run one at a time (each test file is its own process).

mod common;

use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{call, cfg, get, settings, small_items};
use vecshard_coordinator::ShardTransport;
use vecshard_host::{failpoint, Backend, Cluster, ErrorKind, FsyncPolicy, HostConfig, ShardHandle};
use vecshard_shard::{Item, Request, Response};

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the lock and starts with every failpoint off.
fn serial() -> MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    failpoint::clear();
    g
}

fn always() -> HostConfig {
    HostConfig { fsync: FsyncPolicy::Always, ..cfg(Backend::Native) }
}

fn shard_dir(dir: &Path) -> std::path::PathBuf {
    dir.join("shard-000")
}

/// Upserts one item; `Ok` if acknowledged, `Err(message)` if reported failed.
fn try_upsert(h: &ShardHandle, it: &Item) -> Result<(), String> {
    match futures::executor::block_on(h.call(Request::Upsert { items: vec![it.clone()] })) {
        Ok(Response::Upserted { .. }) => Ok(()),
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(e.message),
    }
}

/// Reopens `dir` (failpoints off) and checks every acknowledged item is
/// there with its vector and every failed one is absent.
fn check_after_restart(dir: &Path, c: &HostConfig, acked: &[Item], failed: &[Item]) -> Cluster {
    failpoint::clear();
    let cluster = Cluster::open(dir, c.clone()).unwrap();
    let h = cluster.shards().remove(0);
    for it in acked {
        assert_eq!(get(&h, &it.key), Some(it.vector.clone()), "acknowledged {} lost", it.key);
    }
    for it in failed {
        assert_eq!(get(&h, &it.key), None, "failed {} came back", it.key);
    }
    cluster
}

/// The bug as reported: a directory at `wal.log.tmp`, so the checkpoint
/// fails after renaming its snapshot. Writes after that must not go to
/// the stale log (recovery discards it) nor be acknowledged without a log.
#[test]
fn failed_checkpoint_after_the_snapshot_rename_loses_no_acknowledged_write() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let c = always();
    let cluster = Cluster::create(dir.path(), 1, settings(4), c.clone()).unwrap();
    let h = cluster.shards().remove(0);
    let items = small_items("k", 6);
    for it in &items[..3] {
        try_upsert(&h, it).unwrap();
    }
    fs::create_dir(shard_dir(dir.path()).join("wal.log.tmp")).unwrap();
    let e = h.checkpoint().unwrap_err();
    assert!(e.to_string().contains("could not start a new log"), "{e}");
    assert!(shard_dir(dir.path()).join("snapshot.bin").exists());
    // Reads go on; a write cannot get a log, so it fails without applying.
    assert_eq!(get(&h, "k0"), Some(items[0].vector.clone()));
    let failed = try_upsert(&h, &items[3]).unwrap_err();
    assert!(failed.contains("did not apply"), "{failed}");
    assert_eq!(get(&h, "k3"), None);
    // Once the obstacle is gone, the next write creates the log and lands.
    fs::remove_dir(shard_dir(dir.path()).join("wal.log.tmp")).unwrap();
    try_upsert(&h, &items[4]).unwrap();
    cluster.abort(); // kill -9

    let acked = [&items[..3], &items[4..5]].concat();
    let cluster = check_after_restart(dir.path(), &c, &acked, &items[3..4]);
    assert_eq!(cluster.stats()[0].len, 4);
}

/// Every failpoint of the checkpoint path, once each, with writes around
/// it; then a crash and a restart.
#[test]
fn every_checkpoint_failpoint_keeps_acknowledged_writes_and_drops_failed_ones() {
    let _g = serial();
    for fp in [
        "snapshot.create",
        "snapshot.write",
        "snapshot.fsync",
        "snapshot.rename",
        "snapshot.dirsync",
        "wal.create",
        "wal.create.write",
        "wal.create.fsync",
        "wal.rename",
        "wal.dirsync",
        "tmp.remove",
    ] {
        for action in ["error", "partial"] {
            failpoint::clear();
            let dir = tempfile::tempdir().unwrap();
            let c = always();
            let cluster = Cluster::create(dir.path(), 1, settings(4), c.clone()).unwrap();
            let h = cluster.shards().remove(0);
            let items = small_items("w", 12);
            let (mut acked, mut failed) = (Vec::new(), Vec::new());
            for (i, it) in items.iter().enumerate() {
                if i == 4 {
                    // tmp.remove only runs after another failure.
                    let extra = if fp == "tmp.remove" { ";snapshot.fsync=1*error" } else { "" };
                    failpoint::set(&format!("{fp}=1*{action}{extra}")).unwrap();
                    let r = h.checkpoint();
                    assert!(r.is_err(), "{fp}: the checkpoint should fail");
                    assert_eq!(failpoint::fired(fp), 1, "{fp} fired");
                }
                if i == 8 {
                    h.checkpoint().unwrap_or_else(|e| panic!("{fp}: second checkpoint: {e}"));
                }
                match try_upsert(&h, it) {
                    Ok(()) => acked.push(it.clone()),
                    Err(_) => failed.push(it.clone()),
                }
            }
            assert!(acked.len() >= 10, "{fp}: only {} of 12 writes acknowledged", acked.len());
            if fp != "tmp.remove" {
                assert!(!shard_dir(dir.path()).join("snapshot.bin.tmp").exists(), "{fp}");
            }
            cluster.abort();
            let cluster = check_after_restart(dir.path(), &c, &acked, &failed);
            assert_eq!(cluster.stats()[0].len, acked.len() as u64, "{fp}");
            // Leftover temp files are gone after the restart.
            assert!(!shard_dir(dir.path()).join("snapshot.bin.tmp").exists(), "{fp}");
        }
    }
}

/// `always`: the record whose fsync failed is cut off again, so the write
/// answered "not applied" never replays; the shard stops taking writes.
#[test]
fn fsync_failure_with_always_fails_the_write_and_it_never_replays() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let c = always();
    let cluster = Cluster::create(dir.path(), 1, settings(4), c.clone()).unwrap();
    let h = cluster.shards().remove(0);
    let items = small_items("f", 4);
    try_upsert(&h, &items[0]).unwrap();
    failpoint::set("wal.fsync=1*error").unwrap();
    let e = try_upsert(&h, &items[1]).unwrap_err();
    assert!(e.contains("did not apply"), "{e}");
    assert_eq!(get(&h, "f1"), None, "not visible now either");
    // Fail-stop for writes, reads go on, and the stats say why.
    let e = try_upsert(&h, &items[2]).unwrap_err();
    assert!(e.contains("stopped accepting writes"), "{e}");
    assert!(h.stats().writes_stopped.unwrap().contains("fsync"));
    assert_eq!(get(&h, "f0"), Some(items[0].vector.clone()));
    assert!(h.checkpoint().is_err(), "no checkpoint either");
    cluster.abort();

    let cluster = check_after_restart(dir.path(), &c, &items[..1], &items[1..3]);
    // A restart clears the stop.
    try_upsert(&cluster.shards()[0], &items[3]).unwrap();
}

/// `everysec`: the background fsync failing stops writes; what was
/// acknowledged stays (it is in the log).
#[test]
fn fsync_failure_with_everysec_stops_writes_and_keeps_acknowledged_ones() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let c = HostConfig { fsync: FsyncPolicy::EverySec, ..cfg(Backend::Native) };
    let cluster = Cluster::create(dir.path(), 1, settings(4), c.clone()).unwrap();
    let h = cluster.shards().remove(0);
    let items = small_items("e", 3);
    failpoint::set("wal.fsync=1*error").unwrap();
    try_upsert(&h, &items[0]).unwrap();
    // The worker syncs at most once a second, between requests.
    let start = Instant::now();
    while h.stats().writes_stopped.is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "the background fsync never ran");
        std::thread::sleep(Duration::from_millis(50));
        let _ = call(&h, Request::Info);
    }
    let e = try_upsert(&h, &items[1]).unwrap_err();
    assert!(e.contains("stopped accepting writes"), "{e}");
    assert!(cluster.checkpoint_all().is_err());
    cluster.abort();
    check_after_restart(dir.path(), &c, &items[..1], &items[1..2]);
}

/// A failed append (disk full) is cut back; the shard goes on taking
/// writes. With the cut failing too, the shard stops writes, and recovery
/// drops the piece of record left behind.
#[test]
fn failed_wal_append_leaves_no_record_behind() {
    let _g = serial();
    for spec in
        ["wal.append=1*partial", "wal.append=1*error", "wal.append=1*partial;wal.truncate=1*error"]
    {
        failpoint::clear();
        let dir = tempfile::tempdir().unwrap();
        let c = always();
        let cluster = Cluster::create(dir.path(), 1, settings(4), c.clone()).unwrap();
        let h = cluster.shards().remove(0);
        let items = small_items("a", 4);
        try_upsert(&h, &items[0]).unwrap();
        failpoint::set(spec).unwrap();
        assert!(try_upsert(&h, &items[1]).is_err(), "{spec}");
        assert_eq!(get(&h, "a1"), None, "{spec}");
        let stopped = spec.contains("truncate");
        assert_eq!(try_upsert(&h, &items[2]).is_err(), stopped, "{spec}");
        cluster.abort();
        let acked: Vec<_> =
            if stopped { vec![items[0].clone()] } else { vec![items[0].clone(), items[2].clone()] };
        check_after_restart(dir.path(), &c, &acked, &items[1..2]);
    }
}

#[test]
fn missing_snapshot_with_a_based_wal_refuses_to_open_and_names_the_file() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(Backend::Native);
    let cluster = Cluster::create(dir.path(), 1, settings(4), c.clone()).unwrap();
    let h = cluster.shards().remove(0);
    common::upsert(&h, small_items("m", 5));
    h.checkpoint().unwrap();
    common::upsert(&h, small_items("n", 2));
    cluster.abort();
    let snap = shard_dir(dir.path()).join("snapshot.bin");
    fs::remove_file(&snap).unwrap();
    let wal = fs::read(shard_dir(dir.path()).join("wal.log")).unwrap();
    let err = Cluster::open(dir.path(), c).unwrap_err();
    match err.kind() {
        ErrorKind::MissingSnapshot { path, .. } => assert_eq!(path, &snap),
        _ => panic!("unexpected error {err}"),
    }
    assert!(err.to_string().contains("shard-000/snapshot.bin is missing"), "{err}");
    assert_eq!(fs::read(shard_dir(dir.path()).join("wal.log")).unwrap(), wal, "log untouched");
}

/// While the WAL is over its size limit and checkpoints keep failing, the
/// automatic checkpoint backs off instead of retrying after every request,
/// and leaves no temp file.
#[test]
fn automatic_checkpoint_backs_off_and_removes_its_temp_file() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let c = HostConfig { wal_max_bytes: 100, ..cfg(Backend::Native) };
    let cluster = Cluster::create(dir.path(), 1, settings(4), c).unwrap();
    let h = cluster.shards().remove(0);
    failpoint::set("snapshot.fsync=error").unwrap();
    common::upsert(&h, small_items("b", 20));
    let start = Instant::now();
    for _ in 0..200 {
        let _ = call(&h, Request::Info);
    }
    let secs = start.elapsed().as_secs();
    let tries = failpoint::fired("snapshot.fsync");
    // Backoff 1 s, 2 s, 4 s...: at most one try per elapsed second plus
    // the first (without backoff: one after each of the 200 requests).
    assert!(tries >= 1 && tries <= 1 + secs, "{tries} tries in {secs} s");
    assert!(!shard_dir(dir.path()).join("snapshot.bin.tmp").exists());
    assert_eq!(h.stats().checkpoints, 0);
    failpoint::clear();
}

/// A shard with nothing pending is skipped; concurrent callers share a
/// checkpoint; abandoned requests do not pile up work.
#[test]
fn checkpoint_requests_are_coalesced_and_skip_idle_shards() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 2, settings(4), cfg(Backend::Native)).unwrap();
    let shards = cluster.shards();
    common::upsert(&shards[0], small_items("c", 30));
    cluster.checkpoint_all().unwrap();
    let counts = || cluster.stats().iter().map(|s| s.checkpoints).collect::<Vec<_>>();
    assert_eq!(counts(), [1, 0], "shard 1 had nothing pending");
    cluster.checkpoint_all().unwrap();
    assert_eq!(counts(), [1, 0], "nothing pending: no new snapshot");

    // 16 concurrent callers after one more write: at most 2 checkpoints
    // (one running, one queued), and each caller's write is in one.
    common::upsert(&shards[0], small_items("d", 5));
    std::thread::scope(|s| {
        for _ in 0..16 {
            let h = shards[0].clone();
            s.spawn(move || h.checkpoint().unwrap());
        }
    });
    let n = counts()[0];
    assert!((2..=3).contains(&n), "{n} checkpoints for 16 callers");

    // Abandoned requests: futures dropped before the worker gets to them.
    common::upsert(&shards[0], small_items("e", 5));
    for _ in 0..100 {
        let f = cluster.checkpoint_all_async();
        drop(f);
    }
    cluster.checkpoint_all().unwrap();
    let m = counts()[0];
    assert!(m - n <= 2, "{} checkpoints for 100 abandoned requests and 1 real", m - n);
    assert_eq!(shards[0].stats().wal_bytes, vecshard_host::wal::HEADER_LEN);
}

/// Leftover temp files from a crash are removed when the shard opens.
#[test]
fn leftover_temp_files_are_removed_at_startup() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(Backend::Native);
    let cluster = Cluster::create(dir.path(), 1, settings(4), c.clone()).unwrap();
    cluster.abort();
    fs::write(shard_dir(dir.path()).join("snapshot.bin.tmp"), vec![7u8; 4096]).unwrap();
    fs::write(shard_dir(dir.path()).join("wal.log.tmp"), b"VSWAL").unwrap();
    let _cluster = Cluster::open(dir.path(), c).unwrap();
    assert!(!shard_dir(dir.path()).join("snapshot.bin.tmp").exists());
    assert!(!shard_dir(dir.path()).join("wal.log.tmp").exists());
}
