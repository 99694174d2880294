//! The data dir: recovery, checkpoints, cluster.json checks, locking.
//! Most run on the native backend (the durability code is the same for
//! both, and it is faster); one round trip runs on wasm.

mod common;

use std::fs;
use std::path::Path;

use common::{call, cfg, get, settings, small_items, upsert};
use vecshard_host::wal::HEADER_LEN;
use vecshard_host::{Backend, Cluster, ErrorKind, Expected, FsyncPolicy};
use vecshard_shard::{Request, Response, WireMetric};

fn wal_path(dir: &Path, shard: u32) -> std::path::PathBuf {
    dir.join(format!("shard-{shard:03}/wal.log"))
}

fn snap_path(dir: &Path, shard: u32) -> std::path::PathBuf {
    dir.join(format!("shard-{shard:03}/snapshot.bin"))
}

/// All files of a data dir with their bytes (lock files aside).
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "lock" {
                out.push((p.display().to_string(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn acknowledged_writes_survive_a_crash_and_the_layout_is_as_documented() {
    for backend in [Backend::Native, Backend::Wasm] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(backend);
        c.fsync = FsyncPolicy::Always;
        let cluster = Cluster::create(dir.path(), 2, settings(4), c.clone()).unwrap();
        let h = cluster.shards().remove(1);
        let items = small_items("x", 40);
        upsert(&h, items[..30].to_vec());
        upsert(&h, items[30..].to_vec());
        match call(&h, Request::Remove { keys: vec!["x3".into(), "nope".into()] }) {
            Response::Removed { removed: 1, not_found: 1 } => {}
            other => panic!("unexpected {other:?}"),
        }
        // A rejected write is not logged.
        let bad = common::item("bad", vec![1.0]);
        assert!(matches!(call(&h, Request::Upsert { items: vec![bad] }), Response::Error(_)));
        let wal_len = fs::metadata(wal_path(dir.path(), 1)).unwrap().len();
        assert_eq!(h.stats().wal_bytes, wal_len);
        cluster.abort(); // no checkpoint: everything must come from the WAL

        assert!(!snap_path(dir.path(), 1).exists());
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("cluster.json")).unwrap()).unwrap();
        assert_eq!(manifest["shards"], 2);
        assert_eq!(manifest["hash"], vecshard_coordinator::HASH_NAME);
        assert_eq!(manifest["settings"]["dim"], 4);
        assert_eq!(manifest["format"]["wal"], 2);

        let cluster = Cluster::open(dir.path(), c).unwrap();
        let h = cluster.shards().remove(1);
        assert_eq!(h.stats().len, 39);
        for it in &items {
            let want = (it.key != "x3").then(|| it.vector.clone());
            assert_eq!(get(&h, &it.key), want, "{backend}: {}", it.key);
        }
        assert_eq!(get(&h, "bad"), None);
    }
}

#[test]
fn torn_wal_tail_is_dropped_and_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 1, settings(4), cfg(Backend::Native)).unwrap();
    let h = cluster.shards().remove(0);
    let items = small_items("t", 10);
    upsert(&h, items[..5].to_vec());
    upsert(&h, items[5..].to_vec());
    cluster.abort();

    let wal = wal_path(dir.path(), 0);
    let good = fs::read(&wal).unwrap();
    // Half of a third record: a write that was never acknowledged.
    let mut torn = good.clone();
    let third = vecshard_host::wal::record(&vecshard_shard::encode_request(&Request::Upsert {
        items: small_items("torn", 3),
    }));
    torn.extend_from_slice(&third[..third.len() / 2]);
    fs::write(&wal, &torn).unwrap();

    let cluster = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap();
    let h = cluster.shards().remove(0);
    assert_eq!(h.stats().len, 10);
    assert_eq!(get(&h, "torn0"), None);
    assert_eq!(fs::read(&wal).unwrap(), good, "the torn tail is cut off");
    // And the log keeps working after the cut.
    upsert(&h, small_items("more", 2));
    cluster.abort();
    let cluster = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap();
    assert_eq!(cluster.stats()[0].len, 12);
}

#[test]
fn corrupt_snapshot_is_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 2, settings(4), cfg(Backend::Native)).unwrap();
    futures::executor::block_on(cluster.coordinator().upsert(small_items("s", 50))).unwrap();
    cluster.checkpoint_all().unwrap();
    // Pending writes on shard 0, to check a failed open does not checkpoint them.
    upsert(&cluster.shards()[0], small_items("pending", 3));
    cluster.abort();

    let snap = snap_path(dir.path(), 1);
    let mut bytes = fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&snap, &bytes).unwrap();
    let before = contents(dir.path());

    for backend in [Backend::Native, Backend::Wasm] {
        let err = Cluster::open(dir.path(), cfg(backend)).unwrap_err();
        match err.kind() {
            ErrorKind::CorruptSnapshot { path, .. } => assert_eq!(path, &snap),
            _ => panic!("{backend}: unexpected error {err}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("shard-001/snapshot.bin") && msg.contains("corrupt"), "{msg}");
        assert_eq!(contents(dir.path()), before, "a failed open changes nothing");
    }
}

#[test]
fn corrupt_record_followed_by_valid_ones_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 1, settings(4), cfg(Backend::Native)).unwrap();
    let h = cluster.shards().remove(0);
    upsert(&h, small_items("a", 5));
    upsert(&h, small_items("b", 5));
    cluster.abort();

    let wal = wal_path(dir.path(), 0);
    let mut bytes = fs::read(&wal).unwrap();
    let first_payload = HEADER_LEN as usize + vecshard_host::wal::RECORD_HEADER_LEN as usize;
    bytes[first_payload + 5] ^= 0xff;
    fs::write(&wal, &bytes).unwrap();

    let err = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap_err();
    match err.kind() {
        ErrorKind::CorruptWal { path, offset, .. } => {
            assert_eq!(path, &wal);
            assert_eq!(*offset, HEADER_LEN);
        }
        _ => panic!("unexpected error {err}"),
    }
    assert!(err.to_string().contains("wal.log"), "{err}");
    assert_eq!(fs::read(&wal).unwrap(), bytes, "the damaged log is left alone");
}

#[test]
fn checkpoint_truncates_the_wal_and_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 2, settings(4), cfg(Backend::Wasm)).unwrap();
    let coord = cluster.coordinator();
    let items = small_items("c", 100);
    futures::executor::block_on(coord.upsert(items.clone())).unwrap();
    assert!(cluster.stats().iter().all(|s| s.wal_bytes > HEADER_LEN));

    cluster.checkpoint_all().unwrap();
    for i in 0..2 {
        assert_eq!(fs::metadata(wal_path(dir.path(), i)).unwrap().len(), HEADER_LEN);
        assert!(snap_path(dir.path(), i).exists());
        let s = &cluster.stats()[i as usize];
        assert_eq!((s.wal_bytes, s.checkpoints), (HEADER_LEN, 1));
    }
    // Writes after the checkpoint go to the fresh log.
    futures::executor::block_on(coord.remove(vec!["c0".into(), "c1".into()])).unwrap();
    drop(coord);
    cluster.abort();

    let cluster = Cluster::open(dir.path(), cfg(Backend::Wasm)).unwrap();
    let coord = cluster.coordinator();
    futures::executor::block_on(async {
        for it in &items {
            let got = coord.get(&it.key).await.unwrap().map(|i| i.vector);
            let want = (it.key != "c0" && it.key != "c1").then(|| it.vector.clone());
            assert_eq!(got, want, "{}", it.key);
        }
    });
    assert_eq!(cluster.stats().iter().map(|s| s.len).sum::<u64>(), 98);
    drop(coord);
    // Clean shutdown checkpoints the pending removes.
    cluster.shutdown().unwrap();
    for i in 0..2 {
        assert_eq!(fs::metadata(wal_path(dir.path(), i)).unwrap().len(), HEADER_LEN);
    }
    let cluster = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap();
    assert_eq!(cluster.stats().iter().map(|s| s.len).sum::<u64>(), 98);
}

#[test]
fn wal_size_limit_triggers_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Backend::Native);
    c.wal_max_bytes = 200;
    let cluster = Cluster::create(dir.path(), 1, settings(4), c).unwrap();
    let h = cluster.shards().remove(0);
    upsert(&h, small_items("a", 2)); // small: stays in the log
    assert_eq!(h.stats().checkpoints, 0);
    upsert(&h, small_items("b", 20)); // past 200 bytes
                                      // The checkpoint runs right after that write, before the next request.
    assert!(matches!(call(&h, Request::Info), Response::Info { .. }));
    assert_eq!(h.stats().checkpoints, 1);
    assert_eq!(h.stats().wal_bytes, HEADER_LEN);
    cluster.abort();
    let cluster = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap();
    assert_eq!(cluster.stats()[0].len, 22);
}

#[test]
fn interrupted_checkpoint_does_not_replay_the_old_log_twice() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 1, settings(4), cfg(Backend::Native)).unwrap();
    let h = cluster.shards().remove(0);
    upsert(&h, small_items("a", 10));
    match call(&h, Request::Remove { keys: vec!["a1".into()] }) {
        Response::Removed { removed: 1, .. } => {}
        other => panic!("unexpected {other:?}"),
    }
    let old_log = fs::read(wal_path(dir.path(), 0)).unwrap();
    h.checkpoint().unwrap();
    let snapshot = fs::read(snap_path(dir.path(), 0)).unwrap();
    cluster.abort();
    // As if the crash came after the snapshot rename, before the new log.
    fs::write(wal_path(dir.path(), 0), &old_log).unwrap();

    let cluster = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap();
    let h = cluster.shards().remove(0);
    assert_eq!(h.stats().len, 9);
    assert_eq!(get(&h, "a1"), None);
    // The stale log was replaced, not replayed: the state is the snapshot's.
    assert_eq!(fs::metadata(wal_path(dir.path(), 0)).unwrap().len(), HEADER_LEN);
    match call(&h, Request::Snapshot) {
        Response::Snapshot { bytes } => assert!(bytes == snapshot),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn cluster_json_mismatch_is_an_error_and_nothing_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 2, settings(4), cfg(Backend::Native)).unwrap();
    futures::executor::block_on(cluster.coordinator().upsert(small_items("m", 20))).unwrap();
    cluster.shutdown().unwrap();
    let before = contents(dir.path());

    let asks = [
        Expected { shards: Some(3), ..Expected::default() },
        Expected { dim: Some(8), metric: Some(WireMetric::Cosine), ..Expected::default() },
        Expected::exactly(2, &vecshard_shard::Settings { m: 32, ..settings(4) }),
    ];
    for ask in &asks {
        let err = Cluster::open_expecting(dir.path(), ask, cfg(Backend::Native)).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Mismatch { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("cluster.json") && msg.contains("Nothing was changed"), "{msg}");
        assert_eq!(contents(dir.path()), before);
    }
    let err =
        Cluster::open_or_create(dir.path(), 4, settings(4), cfg(Backend::Native)).unwrap_err();
    assert!(err.to_string().contains("shards: on disk 2, asked 4"), "{err}");
    // create refuses an existing dir.
    let err = Cluster::create(dir.path(), 2, settings(4), cfg(Backend::Native)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotEmpty { .. }), "{err}");
    assert_eq!(contents(dir.path()), before);

    // What matches opens.
    let ok = Expected { shards: Some(2), dim: Some(4), ..Expected::default() };
    let cluster = Cluster::open_expecting(dir.path(), &ok, cfg(Backend::Native)).unwrap();
    assert_eq!(cluster.manifest().shards, 2);
    assert_eq!(cluster.stats().iter().map(|s| s.len).sum::<u64>(), 20);
}

#[test]
fn a_shard_is_served_by_one_owner_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 2, settings(4), cfg(Backend::Native)).unwrap();
    let err = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Locked { .. }), "{err}");
    let err = Cluster::open_shard(dir.path(), 1, cfg(Backend::Native)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Locked { .. }), "{err}");
    cluster.shutdown().unwrap();

    // One shard alone (shard-serve), with the cluster's settings and seed + i.
    let h = Cluster::open_shard(dir.path(), 1, cfg(Backend::Wasm)).unwrap();
    match call(&h, Request::Info) {
        Response::Info { info } => {
            let s = info.settings.unwrap();
            assert_eq!(s.seed, settings(4).seed + 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = Cluster::open_shard(dir.path(), 2, cfg(Backend::Native)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument { .. }), "{err}");
    h.shutdown().unwrap();
    let err =
        futures::executor::block_on(vecshard_coordinator::ShardTransport::call(&h, Request::Info))
            .unwrap_err();
    assert_eq!(err.kind, vecshard_coordinator::TransportErrorKind::Unavailable);
}

#[test]
fn bulk_load_writes_no_log_and_checkpoints_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(Backend::Wasm);
    c.bulk_load = true;
    let cluster = Cluster::create(dir.path(), 2, settings(4), c).unwrap();
    futures::executor::block_on(cluster.coordinator().upsert(small_items("b", 500))).unwrap();
    for i in 0..2 {
        assert!(
            !wal_path(dir.path(), i).exists() || {
                fs::metadata(wal_path(dir.path(), i)).unwrap().len() == HEADER_LEN
            }
        );
    }
    cluster.shutdown().unwrap();
    for i in 0..2 {
        assert!(snap_path(dir.path(), i).exists());
    }
    let cluster = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap();
    assert_eq!(cluster.stats().iter().map(|s| s.len).sum::<u64>(), 500);
}

#[test]
fn open_without_cluster_json_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let err = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotADataDir { .. }), "{err}");
    assert!(err.to_string().contains("vecshard build"), "{err}");
}

#[test]
fn blocking_calls_and_the_last_drop_work_inside_an_executor() {
    // Regression: these used `futures::executor::block_on` internally,
    // which panics when nested inside another futures executor.
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 2, settings(4), cfg(Backend::Native)).unwrap();
    let handles = cluster.shards();
    futures::executor::block_on(async move {
        let r = handles[0].call_blocking(Request::Upsert { items: small_items("e", 3) });
        assert!(matches!(r, Ok(Response::Upserted { inserted: 3, .. })), "{r:?}");
        handles[0].checkpoint().unwrap();
        cluster.checkpoint_all().unwrap();
        drop(cluster); // stops the workers from inside the executor
        drop(handles);
    });
    let cluster = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap();
    assert_eq!(cluster.stats()[0].len, 3);
}

#[test]
fn restore_of_another_kind_of_index_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::create(dir.path(), 1, settings(4), cfg(Backend::Native)).unwrap();
    let h = cluster.shards().remove(0);
    upsert(&h, small_items("r", 5));
    let foreign = vecshard_shard::Shard::with_settings(&settings(8)).unwrap().snapshot().unwrap();
    match call(&h, Request::Restore { bytes: foreign }) {
        Response::Error(e) => {
            assert_eq!(e.code, vecshard_shard::ErrorCode::SettingsMismatch);
            assert!(e.message.contains("dim 8"), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(get(&h, "r1").map(|v| v.len()), Some(4), "the old data is back");
    // A snapshot of the right kind restores, is logged, and survives a crash.
    let mut same = vecshard_shard::Shard::with_settings(&settings(4)).unwrap();
    same.handle(Request::Upsert { items: small_items("new", 2) });
    match call(&h, Request::Restore { bytes: same.snapshot().unwrap() }) {
        Response::Restored { len: 2 } => {}
        other => panic!("unexpected {other:?}"),
    }
    cluster.abort();
    let cluster = Cluster::open(dir.path(), cfg(Backend::Native)).unwrap();
    let h = cluster.shards().remove(0);
    assert_eq!(get(&h, "r1"), None);
    assert!(get(&h, "new1").is_some());
}
