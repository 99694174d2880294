//! Named collections in one data dir: layout, lazy opening, create and
//! delete that survive a crash between their steps, and the legacy
//! single-index layout opening as `default`.
//!
//! Failpoints are process-wide, so every test that sets one runs under
//! `SERIAL` (this file is its own test binary).

mod common;

use std::path::Path;
use std::sync::Mutex;

use common::{cfg, item, settings, small_items};
use vecshard_coordinator::{Mode, Query};
use vecshard_host::collections::{
    check_name, decode_name, encode_name, COLLECTIONS_DIR, DEFAULT_COLLECTION, MAX_NAME_BYTES,
};
use vecshard_host::{failpoint, Backend, Cluster, Collections, ErrorKind};
use vecshard_shard::{Settings, WireMetric};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn open(dir: &Path) -> Collections {
    Collections::open(dir, cfg(Backend::Native)).expect("open collections")
}

fn names(c: &Collections) -> Vec<String> {
    c.list().into_iter().map(|s| s.name).collect()
}

fn count(c: &Collections, name: &str) -> usize {
    let cl = c.get(name).unwrap();
    futures::executor::block_on(cl.coordinator().info())
        .into_iter()
        .map(|r| r.unwrap().len as usize)
        .sum()
}

/// Entries of `collections/` other than `.trash`, and of `.trash`.
fn leftovers(dir: &Path) -> (Vec<String>, Vec<String>) {
    let ls = |p: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let c = dir.join(COLLECTIONS_DIR);
    (ls(&c).into_iter().filter(|n| n != ".trash").collect(), ls(&c.join(".trash")))
}

#[test]
fn collections_are_independent_and_survive_a_restart() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let weird = "a/b ünïcødé 🦀";
    {
        let c = open(tmp.path());
        assert!(c.list().is_empty());
        assert!(c.create("small", 1, settings(4)).unwrap());
        let mut s8 = Settings::new(8, WireMetric::Cosine);
        s8.m = 8;
        assert!(c.create(weird, 3, s8.clone()).unwrap());
        // Same settings again: fine, nothing changes.
        assert!(!c.create(weird, 3, s8.clone()).unwrap());
        // Other settings: a typed error naming the difference.
        let e = c.create(weird, 2, s8).unwrap_err();
        match e.kind() {
            ErrorKind::CollectionExists { name, differences } => {
                assert_eq!(name, weird);
                assert!(differences.iter().any(|d| d.starts_with("shards")), "{differences:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(names(&c), vec!["a/b ünïcødé 🦀".to_string(), "small".to_string()]);
        // Nothing runs until it is used.
        assert!(c.list().iter().all(|s| !s.open));
        let small = c.get("small").unwrap();
        assert_eq!(c.list().iter().filter(|s| s.open).count(), 1);
        futures::executor::block_on(small.coordinator().upsert(small_items("k", 20))).unwrap();
        let w = c.get(weird).unwrap();
        futures::executor::block_on(
            w.coordinator().upsert(vec![item("x", vec![1.0; 8]), item("y", vec![-1.0; 8])]),
        )
        .unwrap();
        assert_eq!(w.manifest().shards, 3);
        assert_eq!(w.manifest().settings.m, 8);
        c.shutdown().unwrap();
    }
    let c = open(tmp.path());
    assert_eq!(names(&c).len(), 2);
    assert_eq!(count(&c, "small"), 20);
    assert_eq!(count(&c, weird), 2);
    // The folder is the hex of the name.
    assert!(tmp
        .path()
        .join(COLLECTIONS_DIR)
        .join(encode_name(weird))
        .join("cluster.json")
        .is_file());
}

#[test]
fn bad_names_and_settings_are_typed_errors_that_change_nothing() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let c = open(tmp.path());
    for bad in ["".to_string(), "x".repeat(121)] {
        let e = c.create(&bad, 1, settings(4)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidName { .. }), "{e}");
    }
    let e = c.create("z", 0, settings(4)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidArgument { .. }), "{e}");
    let e = c.create("z", 1, settings(0)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidArgument { .. }), "{e}");
    let e = c.get("nope").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::CollectionNotFound { .. }), "{e}");
    assert!(!c.delete("nope").unwrap());
    assert!(c.list().is_empty());
    assert_eq!(leftovers(tmp.path()), (vec![], vec![]));
}

#[test]
fn delete_is_immediate_and_a_new_collection_of_that_name_starts_empty() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let c = open(tmp.path());
    c.create("a", 2, settings(4)).unwrap();
    let cl = c.get("a").unwrap();
    futures::executor::block_on(cl.coordinator().upsert(small_items("k", 10))).unwrap();
    assert!(c.delete("a").unwrap());
    // Requests still holding the old shards fail instead of writing.
    assert!(futures::executor::block_on(cl.coordinator().upsert(small_items("j", 1))).is_err());
    drop(cl);
    assert!(c.get("a").is_err());
    assert_eq!(leftovers(tmp.path()), (vec![], vec![]));
    c.create("a", 1, settings(4)).unwrap();
    assert_eq!(count(&c, "a"), 0);
}

#[test]
fn a_crash_during_create_leaves_no_collection() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    {
        let c = open(tmp.path());
        // The rename fails and the cleanup is skipped, as if the process
        // died between building the folder and renaming it.
        failpoint::set("collections.create.rename=error;collections.tmp.remove=error").unwrap();
        let r = c.create("half", 2, settings(4));
        failpoint::clear();
        assert!(r.is_err());
        assert!(names(&c).is_empty());
        let (left, _) = leftovers(tmp.path());
        assert_eq!(left.len(), 1, "the temp folder is there: {left:?}");
        assert!(left[0].starts_with(".tmp-"));
        std::mem::forget(c); // a crash: no shutdown
    }
    let c = open(tmp.path());
    assert!(names(&c).is_empty());
    assert_eq!(leftovers(tmp.path()), (vec![], vec![]), "startup swept it");
    assert!(c.create("half", 2, settings(4)).unwrap());
}

#[test]
fn a_crash_during_delete_finishes_it_at_startup() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    {
        let c = open(tmp.path());
        c.create("gone", 2, settings(4)).unwrap();
        c.create("kept", 1, settings(4)).unwrap();
        let g = c.get("gone").unwrap();
        futures::executor::block_on(g.coordinator().upsert(small_items("k", 10))).unwrap();
        drop(g);
        // A failed rename (before the commit) changes nothing.
        failpoint::set("collections.delete.rename=error").unwrap();
        let r = c.delete("gone");
        failpoint::clear();
        assert!(r.is_err());
        assert_eq!(names(&c), vec!["gone", "kept"]);
        assert_eq!(count(&c, "gone"), 10, "still served after the failed delete");
        // Committed, then the removal "crashes".
        failpoint::set("collections.delete.remove=error").unwrap();
        assert!(c.delete("gone").unwrap());
        failpoint::clear();
        assert_eq!(names(&c), vec!["kept"]);
        let (_, trash) = leftovers(tmp.path());
        assert_eq!(trash.len(), 1, "the files wait in the trash");
        std::mem::forget(c);
    }
    let c = open(tmp.path());
    assert_eq!(names(&c), vec!["kept"]);
    assert_eq!(leftovers(tmp.path()), (vec![encode_name("kept")], vec![]));
}

#[test]
fn the_single_index_layout_opens_as_default_and_deletes_crash_safely() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    {
        let cl = Cluster::create(tmp.path(), 2, settings(4), cfg(Backend::Native)).unwrap();
        futures::executor::block_on(cl.coordinator().upsert(small_items("k", 10))).unwrap();
        cl.shutdown().unwrap();
    }
    {
        let c = open(tmp.path());
        assert_eq!(names(&c), vec![DEFAULT_COLLECTION]);
        let d = c.get(DEFAULT_COLLECTION).unwrap();
        assert_eq!(d.dir(), tmp.path());
        let r = futures::executor::block_on(
            d.coordinator()
                .search(Query::new(small_items("k", 10)[3].vector.clone(), 1), Mode::Strict),
        )
        .unwrap();
        assert_eq!(r.hits[0].key, "k3");
        drop(d);
        // A name other than default cannot collide with the root.
        assert!(!c.create(DEFAULT_COLLECTION, 2, settings(4)).unwrap());
        // Delete commits (cluster.json moved), then "crashes" before the
        // shard folders leave the root.
        failpoint::set("collections.delete.remove=error").unwrap();
        assert!(c.delete(DEFAULT_COLLECTION).unwrap());
        failpoint::clear();
        assert!(!tmp.path().join("cluster.json").exists());
        std::mem::forget(c);
    }
    // The old binary's layout is gone, and startup clears the rest.
    let c = open(tmp.path());
    assert!(names(&c).is_empty());
    assert!(!tmp.path().join("shard-000").exists());
    assert!(!tmp.path().join("shard-001").exists());
    assert_eq!(leftovers(tmp.path()), (vec![], vec![]));
    // A new default goes to collections/ like any other.
    assert!(c.create(DEFAULT_COLLECTION, 1, settings(4)).unwrap());
    assert_eq!(count(&c, DEFAULT_COLLECTION), 0);
}

#[test]
fn names_round_trip_through_folder_names() {
    for n in ["default", "a", "A", "with space/and/slashes", "..", "é漢字🦀", "%2e"] {
        let f = encode_name(n);
        assert!(f.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(decode_name(&f).as_deref(), Some(n));
    }
    assert_ne!(encode_name("A"), encode_name("a"));
    assert_eq!(decode_name("ABCD"), None, "only lowercase is ours");
    assert_eq!(decode_name("abc"), None);
    assert_eq!(decode_name("zz"), None);
    assert_eq!(decode_name("ff"), None, "not UTF-8");
    assert_eq!(decode_name(""), None);
    assert!(check_name("").is_err());
    assert!(check_name(&"x".repeat(MAX_NAME_BYTES)).is_ok());
    assert!(check_name(&"x".repeat(MAX_NAME_BYTES + 1)).is_err());
    assert!(encode_name(&"é".repeat(MAX_NAME_BYTES / 2)).len() <= 255);
}

/// Idle unload: a write, an unload, a reopen and a read find it; a held
/// collection is busy and stays; the files after an unload open alone.
#[test]
fn unload_checkpoints_stops_and_reopens() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let c = open(tmp.path());
    assert!(c.create("u", 2, settings(4)).unwrap());
    assert!(!c.unload("u").unwrap(), "not open yet: nothing to unload");
    assert!(!c.unload("nope").unwrap());
    let cl = c.get("u").unwrap();
    futures::executor::block_on(cl.coordinator().upsert(small_items("k", 50))).unwrap();
    assert!(!c.unload("u").unwrap(), "a held cluster is busy");
    assert!(c.list()[0].open);
    drop(cl);
    assert!(c.unload("u").unwrap());
    assert!(!c.list()[0].open, "unloaded");
    assert!(c.loaded().is_empty());
    // Checkpointed: the snapshot holds the writes, the logs are empty.
    let cdir = tmp.path().join(COLLECTIONS_DIR).join(encode_name("u"));
    for i in 0..2 {
        let wal = cdir.join(format!("shard-{i:03}")).join("wal.log");
        assert!(std::fs::metadata(&wal).map_or(0, |m| m.len()) <= 28, "{wal:?} was checkpointed");
    }
    assert_eq!(count(&c, "u"), 50, "reopened on demand with every write");
    assert!(c.list()[0].open);
    // Unload racing writes: every acknowledged write survives.
    let c = std::sync::Arc::new(c);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let unloader = {
        let (c, stop) = (c.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += usize::from(c.unload("u").unwrap());
            }
            n
        })
    };
    let mut acked = Vec::new();
    for i in 0..200 {
        let it = item(format!("r{i}"), vec![i as f32, 1.0, 2.0, 3.0]);
        let cl = c.get("u").unwrap();
        if futures::executor::block_on(cl.coordinator().upsert(vec![it])).is_ok() {
            acked.push(format!("r{i}"));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let unloads = unloader.join().unwrap();
    println!("{} writes acknowledged, {unloads} unloads in between", acked.len());
    assert_eq!(acked.len(), 200, "a write never fails because of an unload");
    assert!(unloads > 0, "the race happened");
    let cl = c.get("u").unwrap();
    for k in &acked {
        assert!(futures::executor::block_on(cl.coordinator().contains(k)).unwrap(), "{k} kept");
    }
    drop(cl);
    assert_eq!(count(&c, "u"), 250);
    // A restart from the files agrees.
    let c = std::sync::Arc::try_unwrap(c).unwrap();
    c.shutdown().unwrap();
    let c = open(tmp.path());
    assert_eq!(count(&c, "u"), 250);
}
