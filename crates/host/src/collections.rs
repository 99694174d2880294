//! [`Collections`]: many named indexes in one data dir, each a [`Cluster`]
//! in its own folder, opened on first use.
//!
//! ## Layout
//!
//! ```text
//! DIR/cluster.json, DIR/shard-*/   the collection "default" as `vecshard build`
//!                                  writes it (the single-index layout, read
//!                                  unchanged: it is the "legacy default")
//! DIR/collections/<hex>/           one collection: its own cluster.json (with
//!                                  its format versions) and shard folders
//! DIR/collections/.tmp-<nonce>/    a create in progress (removed at startup)
//! DIR/collections/.trash/<nonce>/  a delete in progress (removed at startup)
//! ```
//!
//! `<hex>` is the lowercase hex of the name's UTF-8 bytes. Hex rather than
//! percent-encoding: it is the same on case-insensitive file systems (`A`
//! and `a` would collide there), never starts with a dot (so it cannot be
//! taken for `.tmp-`/`.trash`), and doubles the length at worst, which is
//! what bounds names to [`MAX_NAME_BYTES`] (240 hex characters fit the
//! usual 255-byte file name limit). Names are any non-empty UTF-8 up to
//! that bound.
//!
//! ## Why create and delete are crash-safe
//!
//! **Create** builds the whole collection (shard folders, then
//! `cluster.json`, fsynced with its folder) in a `.tmp-` folder, renames it
//! to its final name and fsyncs `collections/`. The rename is the commit:
//! before it the collection does not exist, after it it is complete. A
//! crash before the rename leaves a `.tmp-` folder that startup removes.
//!
//! **Delete** renames the collection into `.trash/` and fsyncs both
//! folders; that rename is the commit, after which the collection is gone
//! even if the process dies before the files are removed. Startup empties
//! `.trash/`. The legacy default lives at the data dir's root, which cannot
//! be renamed into itself: its `cluster.json` is moved into a `.trash/`
//! entry marked `from-root` first (the commit), then its shard folders;
//! startup finishes moving the shard folders of a marked entry when the
//! root has no `cluster.json` any more, then removes the entry. So no
//! half-deleted collection is ever visible after a restart.
//!
//! ## Opening lazily: what 1,000 collections cost
//!
//! A collection is **known** (its manifest read, a few hundred bytes) from
//! startup, and **open** (a worker thread, an `everysec` fsync thread and,
//! with wasm, a Store per shard) only from its first request. Listing,
//! `spec` and create touch no worker. [`Collections::unload`] closes an
//! open collection again (checkpoint, stop the workers) when nobody holds
//! it; the next [`Collections::get`] reopens it from its folder. When to
//! unload is the front end's policy (the CLI's server unloads collections
//! idle for `--collection-idle` and keeps at most `--max-open-collections`
//! open, least recently used first), since only it sees every request.
//! README § Collections has what 1,000 collections cost, open and
//! unloaded.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use vecshard_shard::{Settings, Shard};

use crate::config::HostConfig;
use crate::datadir::{self, Expected, Manifest, MANIFEST_FILE};
use crate::error::{Error, Result};
use crate::{failpoint, Cluster};

/// Longest collection name, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 120;
/// Most shards of one collection created through [`Collections::create`]
/// (each is a thread once open; the bound keeps one request's work finite).
pub const MAX_SHARDS: u32 = 256;
/// The collection the single-index `/v1/*` routes address.
pub const DEFAULT_COLLECTION: &str = "default";
/// The folder of named collections inside a data dir.
pub const COLLECTIONS_DIR: &str = "collections";
const TRASH_DIR: &str = ".trash";
const TMP_PREFIX: &str = ".tmp-";
const ROOT_MARKER: &str = "from-root";
/// File name of a collection's front-end metadata (see
/// [`Collections::create_with_meta`]).
pub const META_FILE: &str = "meta.json";

/// Checks a collection name: non-empty, at most [`MAX_NAME_BYTES`].
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid_name("it is empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::invalid_name(format!(
            "it is {} bytes long; the limit is {MAX_NAME_BYTES} bytes of UTF-8",
            name.len()
        )));
    }
    Ok(())
}

/// The folder name of a collection: the hex of its name's bytes.
pub fn encode_name(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The name a folder stands for, if it is one [`encode_name`] writes.
pub fn decode_name(folder: &str) -> Option<String> {
    if folder.is_empty() || !folder.len().is_multiple_of(2) || folder.len() > 2 * MAX_NAME_BYTES {
        return None;
    }
    let bytes = (0..folder.len())
        .step_by(2)
        .map(|i| {
            let s = folder.get(i..i + 2)?;
            if s.bytes().any(|c| c.is_ascii_uppercase()) {
                return None;
            }
            u8::from_str_radix(s, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// One collection as [`Collections::list`] reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionSummary {
    /// Its name.
    pub name: String,
    /// Its shard count.
    pub shards: u32,
    /// Its index settings.
    pub settings: Settings,
    /// Whether its workers are running.
    pub open: bool,
}

#[derive(Debug, Default)]
struct Slot {
    cluster: Option<Arc<Cluster>>,
    /// Set by `delete` before the folder moves, so a `get` that found the
    /// entry just before cannot open it from the trash.
    deleted: bool,
}

#[derive(Debug)]
struct Entry {
    dir: PathBuf,
    manifest: Manifest,
    /// The contents of `meta.json`, if any.
    meta: Option<Vec<u8>>,
    /// The default at the data dir's root.
    legacy: bool,
    slot: Mutex<Slot>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("fsync", dir, e))
}

/// The named collections of a data dir. See the module docs.
#[derive(Debug)]
pub struct Collections {
    dir: PathBuf,
    cfg: HostConfig,
    /// Serializes create and delete (not reads or opens).
    admin: Mutex<()>,
    known: Mutex<BTreeMap<String, Arc<Entry>>>,
    nonce: AtomicU64,
}

impl Collections {
    /// Opens the data dir `dir` (created if missing): finishes interrupted
    /// creates and deletes, then reads every collection's manifest. No
    /// shard is started.
    pub fn open(dir: impl AsRef<Path>, cfg: HostConfig) -> Result<Collections> {
        let dir = dir.as_ref().to_path_buf();
        failpoint::init_from_env().map_err(Error::invalid_argument)?;
        let cdir = dir.join(COLLECTIONS_DIR);
        let trash = cdir.join(TRASH_DIR);
        std::fs::create_dir_all(&trash).map_err(|e| Error::io("create", &trash, e))?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let c = Collections {
            dir,
            cfg,
            admin: Mutex::new(()),
            known: Mutex::new(BTreeMap::new()),
            nonce: AtomicU64::new(seed),
        };
        c.sweep()?;
        c.scan()?;
        Ok(c)
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn cdir(&self) -> PathBuf {
        self.dir.join(COLLECTIONS_DIR)
    }

    fn trash(&self) -> PathBuf {
        self.cdir().join(TRASH_DIR)
    }

    fn next_nonce(&self) -> String {
        format!("{:016x}", self.nonce.fetch_add(1, Ordering::Relaxed))
    }

    /// Removes what interrupted creates and deletes left behind.
    fn sweep(&self) -> Result<()> {
        let cdir = self.cdir();
        let trash = self.trash();
        for e in std::fs::read_dir(&cdir).map_err(|e| Error::io("read", &cdir, e))? {
            let e = e.map_err(|e| Error::io("read", &cdir, e))?;
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                log::warn!("removing {}: a create that did not finish", e.path().display());
                remove_all(&e.path())?;
            }
        }
        for e in std::fs::read_dir(&trash).map_err(|e| Error::io("read", &trash, e))? {
            let e = e.map_err(|e| Error::io("read", &trash, e))?;
            let p = e.path();
            if p.join(ROOT_MARKER).exists() && !self.dir.join(MANIFEST_FILE).exists() {
                self.move_root_shards(&p)?;
            }
            log::warn!("removing {}: a delete that did not finish", p.display());
            remove_all(&p)?;
        }
        sync_dir(&trash)?;
        sync_dir(&cdir)
    }

    /// Moves every `shard-NNN` folder of the root into `to`.
    fn move_root_shards(&self, to: &Path) -> Result<()> {
        for e in std::fs::read_dir(&self.dir).map_err(|e| Error::io("read", &self.dir, e))? {
            let e = e.map_err(|e| Error::io("read", &self.dir, e))?;
            let n = e.file_name();
            let n = n.to_string_lossy();
            let is_shard = n
                .strip_prefix("shard-")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            if is_shard && e.path().is_dir() {
                let dest = to.join(&*n);
                std::fs::rename(e.path(), &dest)
                    .map_err(|err| Error::io("rename", e.path(), err))?;
            }
        }
        sync_dir(&self.dir)
    }

    fn scan(&self) -> Result<()> {
        let mut known = BTreeMap::new();
        if self.dir.join(MANIFEST_FILE).exists() {
            let manifest = Manifest::read(&self.dir)?;
            known.insert(
                DEFAULT_COLLECTION.to_string(),
                Arc::new(Entry {
                    dir: self.dir.clone(),
                    manifest,
                    meta: None,
                    legacy: true,
                    slot: Mutex::default(),
                }),
            );
        }
        let cdir = self.cdir();
        for e in std::fs::read_dir(&cdir).map_err(|e| Error::io("read", &cdir, e))? {
            let e = e.map_err(|e| Error::io("read", &cdir, e))?;
            let folder = e.file_name();
            let folder = folder.to_string_lossy();
            if folder.starts_with('.') {
                continue;
            }
            let Some(name) = decode_name(&folder) else {
                log::warn!("ignoring {}: not a collection folder name", e.path().display());
                continue;
            };
            if known.contains_key(&name) {
                return Err(Error::manifest(
                    &e.path().join(MANIFEST_FILE),
                    format!(
                        "collection {name:?} is both at the data dir's root and in {}; move one \
                         of them away",
                        COLLECTIONS_DIR
                    ),
                ));
            }
            let manifest = Manifest::read(&e.path())?;
            let mp = e.path().join(META_FILE);
            let meta = match std::fs::read(&mp) {
                Ok(b) => Some(b),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                Err(err) => return Err(Error::io("read", &mp, err)),
            };
            known.insert(
                name,
                Arc::new(Entry {
                    dir: e.path(),
                    manifest,
                    meta,
                    legacy: false,
                    slot: Mutex::default(),
                }),
            );
        }
        *lock(&self.known) = known;
        Ok(())
    }

    /// Every collection, sorted by name.
    pub fn list(&self) -> Vec<CollectionSummary> {
        lock(&self.known)
            .iter()
            .map(|(name, e)| CollectionSummary {
                name: name.clone(),
                shards: e.manifest.shards,
                settings: e.manifest.settings.clone(),
                open: lock(&e.slot).cluster.is_some(),
            })
            .collect()
    }

    /// A collection's manifest (cheap: read at startup), `None` if it does
    /// not exist.
    pub fn manifest(&self, name: &str) -> Option<Manifest> {
        lock(&self.known).get(name).map(|e| e.manifest.clone())
    }

    /// A collection's `meta.json` (read at startup), `None` if it has none
    /// or does not exist.
    pub fn meta(&self, name: &str) -> Option<Vec<u8>> {
        lock(&self.known).get(name).and_then(|e| e.meta.clone())
    }

    /// The running collection `name`, starting its shards on first use.
    pub fn get(&self, name: &str) -> Result<Arc<Cluster>> {
        self.get_expecting(name, &Expected::default())
    }

    /// [`Collections::get`], first checking that the collection holds what
    /// the caller expects (on a mismatch nothing is started).
    pub fn get_expecting(&self, name: &str, expected: &Expected) -> Result<Arc<Cluster>> {
        let entry = lock(&self.known).get(name).cloned();
        let Some(e) = entry else {
            return Err(Error::collection_not_found(name));
        };
        let d = e.manifest.differences(expected);
        if !d.is_empty() {
            return Err(Error::mismatch(&e.dir.join(MANIFEST_FILE), d));
        }
        // Opening holds only this collection's lock: others stay usable.
        let mut slot = lock(&e.slot);
        if slot.deleted {
            return Err(Error::collection_not_found(name));
        }
        if let Some(c) = &slot.cluster {
            return Ok(c.clone());
        }
        let c = Arc::new(Cluster::open(&e.dir, self.cfg.clone())?);
        slot.cluster = Some(c.clone());
        Ok(c)
    }

    /// Creates an empty collection; `Ok(true)` when created, `Ok(false)`
    /// when it exists with exactly these settings, and
    /// [`ErrorKind::CollectionExists`](crate::ErrorKind::CollectionExists)
    /// when it exists with others. Nothing is started.
    pub fn create(&self, name: &str, shards: u32, settings: Settings) -> Result<bool> {
        self.create_with_meta(name, shards, settings, None)
    }

    /// [`Collections::create`] that also stores `meta` (opaque bytes a
    /// front end needs with the collection, such as the Redis protocol's
    /// `REDUCE` projection) as `meta.json`, in the same atomic step. An
    /// existing collection counts as equal only if its meta is equal too.
    pub fn create_with_meta(
        &self,
        name: &str,
        shards: u32,
        settings: Settings,
        meta: Option<&[u8]>,
    ) -> Result<bool> {
        check_name(name)?;
        if shards == 0 || shards > MAX_SHARDS {
            return Err(Error::invalid_argument(format!(
                "a collection has 1 to {MAX_SHARDS} shards, not {shards}"
            )));
        }
        if let Err(e) = Shard::with_settings(&settings) {
            return Err(Error::invalid_argument(format!("invalid index settings: {e}")));
        }
        let _admin = lock(&self.admin);
        if let Some(e) = lock(&self.known).get(name) {
            let mut d = e.manifest.differences(&Expected::exactly(shards, &settings));
            if e.meta.as_deref() != meta {
                d.push(format!("{META_FILE} differs"));
            }
            return if d.is_empty() { Ok(false) } else { Err(Error::collection_exists(name, d)) };
        }
        let cdir = self.cdir();
        let tmp = cdir.join(format!("{TMP_PREFIX}{}", self.next_nonce()));
        let dest = cdir.join(encode_name(name));
        let manifest = Manifest::new(shards, settings);
        let built = (|| {
            std::fs::create_dir(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
            for i in 0..shards {
                let s = datadir::shard_dir(&tmp, i);
                std::fs::create_dir(&s).map_err(|e| Error::io("create", &s, e))?;
            }
            if let Some(m) = meta {
                let p = tmp.join(META_FILE);
                std::fs::write(&p, m)
                    .and_then(|()| File::open(&p)?.sync_all())
                    .map_err(|e| Error::io("write", &p, e))?;
            }
            // Fsyncs the manifest and the temp folder (so the shard
            // folders' and meta.json's entries too).
            manifest.write(&tmp)?;
            failpoint::check("collections.create.rename")
                .and_then(|()| std::fs::rename(&tmp, &dest))
                .map_err(|e| Error::io("rename", &tmp, e))
        })();
        if let Err(e) = built {
            let _ = failpoint::check("collections.tmp.remove").map(|()| remove_all(&tmp));
            return Err(e);
        }
        sync_dir(&cdir)?;
        lock(&self.known).insert(
            name.to_string(),
            Arc::new(Entry {
                dir: dest,
                manifest,
                meta: meta.map(<[u8]>::to_vec),
                legacy: false,
                slot: Mutex::default(),
            }),
        );
        Ok(true)
    }

    /// Deletes a collection durably; `Ok(false)` if it did not exist. Its
    /// shards stop without a checkpoint (requests still holding them get
    /// `Unavailable`). On an error before the commit nothing changes.
    pub fn delete(&self, name: &str) -> Result<bool> {
        let _admin = lock(&self.admin);
        let Some(e) = lock(&self.known).get(name).cloned() else {
            return Ok(false);
        };
        let cluster = {
            let mut s = lock(&e.slot);
            s.deleted = true;
            s.cluster.take()
        };
        let undo = |err: Error| {
            let mut s = lock(&e.slot);
            s.deleted = false;
            s.cluster = cluster.clone();
            err
        };
        let entry = self.trash().join(self.next_nonce());
        if e.legacy {
            let committed = (|| {
                std::fs::create_dir(&entry).map_err(|err| Error::io("create", &entry, err))?;
                let marker = entry.join(ROOT_MARKER);
                File::create(&marker)
                    .and_then(|f| f.sync_all())
                    .map_err(|err| Error::io("create", &marker, err))?;
                sync_dir(&entry)?;
                sync_dir(&self.trash())?;
                let from = self.dir.join(MANIFEST_FILE);
                failpoint::check("collections.delete.rename")
                    .and_then(|()| std::fs::rename(&from, entry.join(MANIFEST_FILE)))
                    .map_err(|err| Error::io("rename", &from, err))?;
                sync_dir(&self.dir)
            })();
            if let Err(err) = committed {
                // The marker alone is harmless: the sweep moves nothing
                // while the root still has its cluster.json.
                let _ = std::fs::remove_dir_all(&entry);
                return Err(undo(err));
            }
        } else {
            let committed = failpoint::check("collections.delete.rename")
                .and_then(|()| std::fs::rename(&e.dir, &entry))
                .map_err(|err| Error::io("rename", &e.dir, err))
                .and_then(|()| sync_dir(&self.cdir()))
                .and_then(|()| sync_dir(&self.trash()));
            if let Err(err) = committed {
                if e.dir.exists() {
                    return Err(undo(err));
                }
                // Renamed but not fsynced: report, and treat it as gone.
                log::error!("deleting collection {name:?}: {err}");
            }
        }
        lock(&self.known).remove(name);
        // Past the commit: stop the shards, their data is gone.
        if let Some(c) = cluster {
            for h in c.shards() {
                h.abort();
            }
        }
        let removed = (|| {
            failpoint::check("collections.delete.remove")
                .map_err(|err| Error::io("remove", &entry, err))?;
            if e.legacy {
                self.move_root_shards(&entry)?;
            }
            remove_all(&entry)
        })();
        if let Err(err) = removed {
            // Deleted all the same; the next start finishes the removal.
            log::warn!("collection {name:?} is deleted, but its files stay in the trash: {err}");
        }
        Ok(true)
    }

    /// Checkpoints and stops collection `name`'s shards, if it is open and
    /// nobody holds its cluster: `Ok(true)` when it was unloaded, `Ok(false)`
    /// when it was not open, or busy (a request, or a front end's cached
    /// handle, still holds the `Arc<Cluster>`), or does not exist. The next
    /// [`Collections::get`] opens it again from its folder.
    ///
    /// No acknowledged write can be lost: a write holds the cluster while
    /// it runs (so its collection is busy and stays), and the shutdown,
    /// under the collection's own lock so that a `get` racing with it waits
    /// and then reopens from disk, checkpoints every shard; should the
    /// checkpoint fail, the write-ahead log still holds every acknowledged
    /// write and the reopen replays it. Other collections stay usable.
    pub fn unload(&self, name: &str) -> Result<bool> {
        let Some(e) = lock(&self.known).get(name).cloned() else { return Ok(false) };
        let mut slot = lock(&e.slot);
        if slot.deleted {
            return Ok(false);
        }
        let Some(c) = slot.cluster.take() else { return Ok(false) };
        match Arc::try_unwrap(c) {
            Err(c) => {
                slot.cluster = Some(c);
                Ok(false)
            }
            Ok(c) => {
                c.shutdown()?;
                Ok(true)
            }
        }
    }

    /// The running cluster of `name`, if it is open; never opens, and
    /// never waits for an open in progress (then `None`).
    pub fn running(&self, name: &str) -> Option<Arc<Cluster>> {
        let e = lock(&self.known).get(name).cloned()?;
        let slot = e.slot.try_lock().ok()?;
        if slot.deleted {
            return None;
        }
        slot.cluster.clone()
    }

    /// The collections whose shards are running.
    pub fn loaded(&self) -> Vec<(String, Arc<Cluster>)> {
        let entries: Vec<(String, Arc<Entry>)> =
            lock(&self.known).iter().map(|(n, e)| (n.clone(), e.clone())).collect();
        entries
            .into_iter()
            .filter_map(|(n, e)| lock(&e.slot).cluster.clone().map(|c| (n, c)))
            .collect()
    }

    /// Checkpoints every running collection; the first error, if any.
    pub fn checkpoint_all(&self) -> Result<()> {
        let mut first = Ok(());
        for (_, c) in self.loaded() {
            if let (Err(e), Ok(())) = (c.checkpoint_all(), &first) {
                first = Err(e);
            }
        }
        first
    }

    /// Checkpoints and stops every running collection; the first error.
    pub fn shutdown(self) -> Result<()> {
        let running: Vec<Arc<Cluster>> =
            lock(&self.known).values().filter_map(|e| lock(&e.slot).cluster.take()).collect();
        let mut first = Ok(());
        for c in running {
            let r = match Arc::try_unwrap(c) {
                Ok(c) => c.shutdown(),
                // Still in use by a request: checkpoint now; the last
                // holder's drop stops the workers.
                Err(c) => c.checkpoint_all(),
            };
            if let (Err(e), Ok(())) = (r, &first) {
                first = Err(e);
            }
        }
        first
    }
}

fn remove_all(p: &Path) -> Result<()> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", p, e)),
    }
}
