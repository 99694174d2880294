//! The write-ahead log of one shard: every acknowledged write, in order,
//! since the last checkpoint.
//!
//! ```text
//! header (28 bytes)
//!   0   8  magic "VSWAL\0\0\0"
//!   8   4  version, u32 LE (2; version 1 is still read, see below)
//!   12  8  base: the checksum (last 8 bytes) of the snapshot.bin these
//!          records apply to, u64 LE; 0 when there is no snapshot
//!   20  8  xxh3_64 (seed 0) of bytes 0..20, u64 LE
//! records (version 2), back to back
//!   0   4  payload length L, u32 LE (1..=u32::MAX)
//!   4   8  xxh3_64 (seed 0) of the payload, u64 LE
//!   12  8  xxh3_64 (seed 0) of bytes 0..12 of this record header, u64 LE
//!   20  L  payload: one encoded Request (version byte + postcard), exactly
//!          the bytes the shard was given
//! ```
//!
//! **Why a base.** A checkpoint renames the new snapshot into place and
//! then replaces the log. A crash between the two leaves a log whose
//! records are already in the snapshot. Replaying them again would give
//! the same keys and vectors (upsert and remove are last-writer-wins) but
//! not the same graph, so instead the log names the snapshot it follows:
//! a log whose base is not the current snapshot's checksum is stale, and
//! is discarded with a warning. A log with a base but **no** snapshot at
//! all is not stale, it is orphaned (its snapshot was lost): recovery
//! refuses it, naming the missing file.
//!
//! **Torn tails, soundly and in one pass.** Each record is written with one
//! `write` call, but a crash can still leave a prefix of it (`kill -9` can
//! cut a large `write` short), or, after a power loss on some file systems,
//! a zero-filled tail. Recovery must tell that (drop it: it was never
//! acknowledged, because replies are sent only after the append) from
//! damage in the middle of the log (refuse, naming the file and offset,
//! rather than drop the valid records after it). Version 2 records carry a
//! checksum of their own header, so the length is trusted before it is
//! used, and the scan decides from structure alone, never by searching
//! the rest of the file for something that looks like a record (which key
//! bytes can imitate, and which costs a hash of the rest of the file at
//! every offset):
//!
//! - fewer than 20 bytes left: a cut-short header → torn;
//! - the header checksum fails: torn if everything from there to the end
//!   is zero (a zero-filled tail), otherwise corruption;
//! - the (trusted) length runs past the end of the file: the last record,
//!   cut short → torn;
//! - the payload checksum fails: torn if the record ends the file or only
//!   zeros follow it, otherwise corruption.
//!
//! Every byte is hashed at most once. Version 1 logs (records without the
//! header checksum, written before this) are still read with the old rule
//! (damage followed by anything that checks as a record is corruption);
//! records are appended to them in version 1 framing until the next
//! checkpoint replaces them with a version 2 log.

use std::fs::{File, OpenOptions};
use std::ops::Range;
use std::path::{Path, PathBuf};

use vecshard_shard::PROTOCOL_VERSION;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::failpoint;

/// Magic bytes at the start of a WAL file.
pub const MAGIC: &[u8; 8] = b"VSWAL\0\0\0";
/// WAL format version written by this build.
pub const VERSION: u32 = 2;
/// The oldest WAL format version this build reads (and appends to).
pub const OLDEST_VERSION: u32 = 1;
/// Bytes in the file header.
pub const HEADER_LEN: u64 = 28;
/// Bytes in front of each record's payload (version 2).
pub const RECORD_HEADER_LEN: u64 = 20;
/// Bytes in front of each record's payload in a version 1 log.
pub const RECORD_HEADER_LEN_V1: u64 = 12;

/// The header bytes for a log that follows the snapshot with checksum `base`.
pub fn header(base: u64) -> [u8; HEADER_LEN as usize] {
    header_v(VERSION, base)
}

/// [`header`] for a given format version (tools and tests that re-frame a
/// log of either version).
pub fn header_v(version: u32, base: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&version.to_le_bytes());
    h[12..20].copy_from_slice(&base.to_le_bytes());
    let sum = xxh3_64(&h[..20]);
    h[20..28].copy_from_slice(&sum.to_le_bytes());
    h
}

/// One record, framed (version 2).
pub fn record(payload: &[u8]) -> Vec<u8> {
    record_v(VERSION, payload)
}

/// [`record`] for a given format version.
pub fn record_v(version: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN as usize + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&xxh3_64(payload).to_le_bytes());
    if version >= 2 {
        let check = xxh3_64(&out[..12]);
        out.extend_from_slice(&check.to_le_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// What [`scan`] found in a log file.
#[derive(Debug)]
pub struct Scanned {
    /// The snapshot checksum the records follow (`None`: no header yet).
    pub base: Option<u64>,
    /// The log's format version (`VERSION` when there is no header yet).
    pub version: u32,
    /// Byte ranges of the payloads of the valid records, in order.
    pub records: Vec<Range<usize>>,
    /// Offset just past the last valid record (where the file should end).
    pub valid_len: u64,
    /// Why the tail after `valid_len` was dropped, if there is one.
    pub torn: Option<String>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
}

/// Parses a whole log file. `path` only names the file in errors.
pub fn scan(path: &Path, b: &[u8]) -> Result<Scanned> {
    if b.len() < HEADER_LEN as usize {
        // A log is created complete (temp file + rename), so a short one
        // can only be a crash inside that creation: treat as empty, if it
        // looks like the start of a header at all.
        let n = b.len().min(MAGIC.len());
        if b[..n] != MAGIC[..n] {
            return Err(Error::corrupt_wal(path, 0, "not a vecshard write-ahead log (bad magic)"));
        }
        return Ok(Scanned {
            base: None,
            version: VERSION,
            records: Vec::new(),
            valid_len: 0,
            torn: (!b.is_empty()).then(|| format!("a {}-byte partial header", b.len())),
        });
    }
    if &b[..8] != MAGIC {
        return Err(Error::corrupt_wal(path, 0, "not a vecshard write-ahead log (bad magic)"));
    }
    let version = u32_at(b, 8).expect("header length checked");
    if !(OLDEST_VERSION..=VERSION).contains(&version) {
        return Err(Error::corrupt_wal(
            path,
            8,
            format!(
                "log format version {version} is not supported (this build reads \
                 {OLDEST_VERSION}..={VERSION}); use the vecshard version that wrote it"
            ),
        ));
    }
    let base = u64_at(b, 12).expect("header length checked");
    if u64_at(b, 20) != Some(xxh3_64(&b[..20])) {
        return Err(Error::corrupt_wal(path, 0, "header checksum mismatch"));
    }
    let (records, valid_len, torn) =
        if version >= 2 { scan_v2(path, b)? } else { scan_v1(path, b)? };
    Ok(Scanned { base: Some(base), version, records, valid_len, torn })
}

type Body = (Vec<Range<usize>>, u64, Option<String>);

fn all_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// Version 2 records: the decision rules in the module docs.
fn scan_v2(path: &Path, b: &[u8]) -> Result<Body> {
    let hl = RECORD_HEADER_LEN as usize;
    let mut records = Vec::new();
    let mut at = HEADER_LEN as usize;
    let torn = |records: Vec<Range<usize>>, at: usize, why: &str| {
        Ok((records, at as u64, Some(format!("{} bytes at offset {at} ({why})", b.len() - at))))
    };
    while at < b.len() {
        if b.len() - at < hl {
            return torn(records, at, "a cut-short record header");
        }
        let len = u32_at(b, at).expect("length checked");
        let sum = u64_at(b, at + 4).expect("length checked");
        if u64_at(b, at + 12) != Some(xxh3_64(&b[at..at + 12])) {
            if all_zero(&b[at..]) {
                return torn(records, at, "a zero-filled tail");
            }
            return Err(Error::corrupt_wal(
                path,
                at as u64,
                format!(
                    "record {} has a damaged header, and non-zero bytes follow it",
                    records.len()
                ),
            ));
        }
        if len == 0 {
            return Err(Error::corrupt_wal(
                path,
                at as u64,
                format!("record {} claims zero length", records.len()),
            ));
        }
        let start = at + hl;
        let end = start + len as usize;
        if end > b.len() {
            return torn(records, at, "the last record, cut short");
        }
        if xxh3_64(&b[start..end]) != sum {
            if all_zero(&b[end..]) {
                return torn(records, at, "the last record, damaged");
            }
            return Err(Error::corrupt_wal(
                path,
                at as u64,
                format!(
                    "record {} is damaged (checksum mismatch) and {} more bytes follow it",
                    records.len(),
                    b.len() - end
                ),
            ));
        }
        records.push(start..end);
        at = end;
    }
    Ok((records, at as u64, None))
}

/// The payload range of a valid version 1 record at `at`, if one is there.
fn record_at_v1(b: &[u8], at: usize) -> Result<Range<usize>, &'static str> {
    let Some(len) = u32_at(b, at) else { return Err("truncated record header") };
    let Some(sum) = u64_at(b, at + 4) else { return Err("truncated record header") };
    if len == 0 {
        return Err("zero-length record");
    }
    let start = at + RECORD_HEADER_LEN_V1 as usize;
    let end = start.checked_add(len as usize).ok_or("length overflows")?;
    let Some(payload) = b.get(start..end) else {
        return Err("record runs past the end of the file");
    };
    if xxh3_64(payload) != sum {
        return Err("checksum mismatch");
    }
    Ok(start..end)
}

/// Version 1 records (legacy): their length is not checked on its own, so
/// damage is told from a torn tail by looking for any valid record after
/// it. Only logs written before version 2 go through this.
fn scan_v1(path: &Path, b: &[u8]) -> Result<Body> {
    let mut records = Vec::new();
    let mut at = HEADER_LEN as usize;
    while at < b.len() {
        match record_at_v1(b, at) {
            Ok(r) => {
                at = r.end;
                records.push(r);
            }
            Err(why) => {
                let looks = |p: usize| {
                    b.get(p + RECORD_HEADER_LEN_V1 as usize) == Some(&PROTOCOL_VERSION)
                        && record_at_v1(b, p).is_ok()
                };
                if let Some(next) = (at + 1..b.len()).find(|&p| looks(p)) {
                    return Err(Error::corrupt_wal(
                        path,
                        at as u64,
                        format!(
                            "record {} is damaged ({why}) but a valid record follows at byte \
                             {next}",
                            records.len()
                        ),
                    ));
                }
                let torn = format!("{} bytes at offset {at} ({why})", b.len() - at);
                return Ok((records, at as u64, Some(torn)));
            }
        }
    }
    Ok((records, at as u64, None))
}

/// Removes a leftover temp file (best effort: logged, never fatal, since
/// nothing reads temp files). Returns whether it is gone.
pub fn remove_tmp(path: &Path) -> bool {
    let r = failpoint::check("tmp.remove").and_then(|()| std::fs::remove_file(path));
    match r {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            log::warn!("cannot remove the temp file {}: {e}", path.display());
            false
        }
    }
}

/// Creates (or replaces) the log at `path` with an empty body following
/// snapshot `base`: a temp file, fsynced, renamed over, directory fsynced.
/// Returns the log opened for appending. On failure the temp file is
/// removed; whether `path` was replaced is said by [`CreateError::renamed`].
pub fn create(path: &Path, base: u64) -> Result<Wal> {
    create_at(path, base).map_err(|e| e.error)
}

/// Why [`create_at`] failed, and whether the new log had already been
/// renamed into place when it did.
#[derive(Debug)]
pub struct CreateError {
    /// What failed.
    pub error: Error,
    /// `path` now holds the new (empty) log, but its directory entry may
    /// not be durable.
    pub renamed: bool,
}

/// [`create`], saying whether the rename happened before a failure.
pub fn create_at(path: &Path, base: u64) -> Result<Wal, CreateError> {
    let tmp = path.with_extension("log.tmp");
    let before = |error: Error| {
        remove_tmp(&tmp);
        CreateError { error, renamed: false }
    };
    {
        let mut f = failpoint::check("wal.create")
            .and_then(|()| File::create(&tmp))
            .map_err(|e| before(Error::io("create", &tmp, e)))?;
        failpoint::write_all("wal.create.write", &mut f, &header(base))
            .map_err(|e| before(Error::io("write", &tmp, e)))?;
        failpoint::check("wal.create.fsync")
            .and_then(|()| f.sync_all())
            .map_err(|e| before(Error::io("fsync", &tmp, e)))?;
    }
    failpoint::check("wal.rename")
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| before(Error::io("rename", &tmp, e)))?;
    let after = |error: Error| CreateError { error, renamed: true };
    sync_dir_named("wal.dirsync", path).map_err(after)?;
    open_append_v(path, HEADER_LEN, VERSION).map_err(after)
}

/// Opens an existing, already validated version 2 log for appending; `len`
/// is its valid length (the file is truncated to it if longer).
pub fn open_append(path: &Path, len: u64) -> Result<Wal> {
    open_append_v(path, len, VERSION)
}

/// [`open_append`] for a log of format `version` (records are appended in
/// its framing).
pub fn open_append_v(path: &Path, len: u64, version: u32) -> Result<Wal> {
    let file =
        OpenOptions::new().append(true).open(path).map_err(|e| Error::io("open", path, e))?;
    let actual = file.metadata().map_err(|e| Error::io("stat", path, e))?.len();
    if actual != len {
        failpoint::check("wal.truncate")
            .and_then(|()| file.set_len(len))
            .map_err(|e| Error::io("truncate", path, e))?;
        failpoint::check("wal.fsync")
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("fsync", path, e))?;
    }
    Ok(Wal { file, path: path.to_path_buf(), len, version, unsynced: false })
}

/// fsyncs the directory holding `path`, so a rename or create in it is durable.
pub fn sync_dir(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("fsync", dir, e))
}

/// [`sync_dir`] behind failpoint `name`.
pub fn sync_dir_named(name: &'static str, path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    failpoint::check(name)
        .and_then(|()| File::open(dir))
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync", dir, e))
}

/// An open log, appended to by one worker.
#[derive(Debug)]
pub struct Wal {
    file: File,
    path: PathBuf,
    len: u64,
    version: u32,
    unsynced: bool,
}

/// Why [`Wal::append`] or [`Wal::sync`] failed, and whether the log was
/// put back as it was before the failed record.
#[derive(Debug)]
pub struct AppendError {
    /// What failed.
    pub error: Error,
    /// The file was cut back to its length before the record (and, after
    /// a failed fsync, that cut was itself fsynced). `false`: the log may
    /// end with the failed record or a piece of it.
    pub undone: bool,
}

impl Wal {
    /// Appends one record with a single `write` call. On failure the file
    /// is cut back to where it was, so a failed append leaves no partial
    /// record behind ([`AppendError::undone`] says whether that worked;
    /// recovery drops a partial last record anyway).
    pub fn append(&mut self, payload: &[u8]) -> Result<(), AppendError> {
        if payload.is_empty() || payload.len() > u32::MAX as usize {
            return Err(AppendError {
                error: Error::invalid_argument(format!(
                    "a WAL record must be 1..=4 GiB, not {} bytes",
                    payload.len()
                )),
                undone: true,
            });
        }
        let rec = record_v(self.version, payload);
        if let Err(e) = failpoint::write_all("wal.append", &mut self.file, &rec) {
            let undone = self.cut_back(self.len).is_ok();
            return Err(AppendError { error: Error::io("append to", &self.path, e), undone });
        }
        self.len += rec.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    /// Appends one record and `fdatasync`s it. If the fsync fails, the
    /// record is cut off again and the cut fsynced, so a write reported as
    /// failed does not come back after a restart ([`AppendError::undone`]
    /// says whether that worked). Only for logs with nothing unsynced
    /// before (the `always` policy), since a cut after a failed fsync
    /// trusts only what an earlier fsync confirmed.
    pub fn append_synced(&mut self, payload: &[u8]) -> Result<(), AppendError> {
        let before = self.len;
        self.append(payload)?;
        if let Err(error) = self.sync() {
            let undone = self
                .cut_back(before)
                .and_then(|()| failpoint::check("wal.fsync").and_then(|()| self.file.sync_all()))
                .is_ok();
            self.len = before;
            return Err(AppendError { error, undone });
        }
        Ok(())
    }

    fn cut_back(&mut self, len: u64) -> std::io::Result<()> {
        failpoint::check("wal.truncate").and_then(|()| self.file.set_len(len))
    }

    /// `fdatasync` if anything was appended since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            failpoint::check("wal.fsync")
                .and_then(|()| self.file.sync_data())
                .map_err(|e| Error::io("fsync", &self.path, e))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Whether appends are waiting for an fsync.
    pub fn has_unsynced(&self) -> bool {
        self.unsynced
    }

    /// File size in bytes, header included.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the log holds no records.
    pub fn is_empty(&self) -> bool {
        self.len <= HEADER_LEN
    }

    /// The log's format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The `everysec` fsync, off the worker thread: a thread that
/// `fdatasync`s a duplicate of the log's file descriptor once a second
/// when something was appended, so a request queued behind the worker
/// never waits for the disk. The duplicate shares the open file
/// description, so its fsync covers every append made through the
/// original. A failure is kept for the worker to see (it then stops
/// taking writes: see the worker's docs).
#[derive(Debug)]
pub struct Syncer {
    shared: std::sync::Arc<SyncShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct SyncShared {
    /// The log to sync (a duplicate of the worker's descriptor).
    file: std::sync::Mutex<Option<File>>,
    dirty: std::sync::atomic::AtomicBool,
    error: std::sync::Mutex<Option<String>>,
    stop: std::sync::Mutex<bool>,
    wake: std::sync::Condvar,
}

impl Syncer {
    /// Starts the thread; `name` names it.
    pub fn start(name: String) -> Result<Syncer> {
        let shared = std::sync::Arc::new(SyncShared::default());
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || s.run())
            .map_err(|e| Error::io("start a thread for", Path::new("the log fsync"), e))?;
        Ok(Syncer { shared, thread: Some(thread) })
    }

    /// Syncs `wal` from now on (after a checkpoint replaced the log).
    pub fn follow(&self, wal: &Wal) -> Result<()> {
        let dup = wal.file.try_clone().map_err(|e| Error::io("duplicate", &wal.path, e))?;
        *self.shared.file.lock().unwrap_or_else(|p| p.into_inner()) = Some(dup);
        Ok(())
    }

    /// Something was appended: sync within a second.
    pub fn mark(&self) {
        self.shared.dirty.store(true, std::sync::atomic::Ordering::Release);
    }

    /// The first fsync failure, if there was one.
    pub fn error(&self) -> Option<String> {
        self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl SyncShared {
    fn run(&self) {
        use std::sync::atomic::Ordering;
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let (s, _) = self
                .wake
                .wait_timeout(stop, std::time::Duration::from_secs(1))
                .unwrap_or_else(|p| p.into_inner());
            stop = s;
            if *stop {
                return;
            }
            drop(stop);
            if self.dirty.swap(false, Ordering::AcqRel) {
                let f = self
                    .file
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .map(File::try_clone);
                let r = match f {
                    Some(Ok(f)) => failpoint::check("wal.fsync").and_then(|()| f.sync_data()),
                    Some(Err(e)) => Err(e),
                    None => Ok(()),
                };
                if let Err(e) = r {
                    let mut err = self.error.lock().unwrap_or_else(|p| p.into_inner());
                    err.get_or_insert_with(|| format!("fsync of the log failed: {e}"));
                }
            }
            stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        *self.shared.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(records: &[&[u8]]) -> Vec<u8> {
        let mut b = header(7).to_vec();
        for r in records {
            b.extend(record(r));
        }
        b
    }

    #[test]
    fn scans_valid_records() {
        let b = log(&[b"\x01abc", b"\x01de"]);
        let s = scan(Path::new("w"), &b).unwrap();
        assert_eq!(s.base, Some(7));
        assert_eq!(s.records.len(), 2);
        assert_eq!(&b[s.records[1].clone()], b"\x01de");
        assert_eq!(s.valid_len, b.len() as u64);
        assert!(s.torn.is_none());
    }

    #[test]
    fn every_truncation_of_the_last_record_is_a_torn_tail() {
        let full = log(&[b"\x01abc", b"\x01defgh"]);
        let first_end = HEADER_LEN as usize + RECORD_HEADER_LEN as usize + 4;
        for cut in first_end + 1..full.len() {
            let s = scan(Path::new("w"), &full[..cut]).unwrap();
            assert_eq!(s.records.len(), 1, "cut at {cut}");
            assert_eq!(s.valid_len, first_end as u64);
            assert!(s.torn.is_some());
        }
    }

    #[test]
    fn zero_filled_tail_is_torn() {
        let mut b = log(&[b"\x01abc"]);
        let end = b.len();
        b.extend([0u8; 100]);
        let s = scan(Path::new("w"), &b).unwrap();
        assert_eq!(s.valid_len, end as u64);
        assert!(s.torn.is_some());
    }

    #[test]
    fn damage_before_a_valid_record_is_an_error() {
        let mut b = log(&[b"\x01abc", b"\x01defgh"]);
        b[HEADER_LEN as usize + 13] ^= 0xff; // payload of record 0
        let e = scan(Path::new("w"), &b).unwrap_err();
        assert!(matches!(e.kind(), crate::ErrorKind::CorruptWal { offset: 28, .. }), "{e}");
    }

    /// A torn last record whose payload (a key, say) holds the bytes of a
    /// complete valid record must still be a torn tail, not "corruption".
    #[test]
    fn wal_torn_tail_check_is_not_fooled_by_key_bytes() {
        // Key bytes holding a whole record, in both framings.
        let mut payload = b"\x01key:".to_vec();
        payload.extend_from_slice(&record_v(1, b"\x01fake"));
        payload.extend_from_slice(&record(b"\x01fake"));
        payload.extend_from_slice(b"more key bytes");
        // The version 1 rule (search for a valid record) is fooled by it:
        // the reason for version 2.
        let mut v1 = header_v(1, 7).to_vec();
        v1.extend(record_v(1, b"\x01abc"));
        v1.extend(record_v(1, &payload));
        assert!(scan(Path::new("w"), &v1[..v1.len() - 1]).is_err());
        let full = log(&[b"\x01abc", &payload]);
        let first_end = HEADER_LEN as usize + RECORD_HEADER_LEN as usize + 4;
        for cut in first_end + 1..full.len() {
            let s = scan(Path::new("w"), &full[..cut]).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
            assert_eq!(s.records.len(), 1, "cut at {cut}");
            assert_eq!(s.valid_len, first_end as u64);
        }
        // Damaged in place (not cut short), it is the last record: torn.
        let mut b = full.clone();
        let last = b.len() - 3;
        b[last] ^= 0x55;
        assert_eq!(scan(Path::new("w"), &b).unwrap().records.len(), 1);
    }

    /// A damaged length in the middle cannot pass for a torn tail: the
    /// header checksum catches it, without a search of the rest.
    #[test]
    fn wal_damaged_length_in_the_middle_is_an_error() {
        let mut b = log(&[b"\x01abc", b"\x01defgh", b"\x01ij"]);
        b[HEADER_LEN as usize + 2] = 0x7f; // length of record 0: now runs past the end
        let e = scan(Path::new("w"), &b).unwrap_err();
        assert!(matches!(e.kind(), crate::ErrorKind::CorruptWal { offset: 28, .. }), "{e}");
    }

    /// One pass: a damaged first record in a large log is found without
    /// hashing the rest at every offset (this would take minutes with a
    /// search; here it is one hash of each record at most).
    #[test]
    fn wal_scan_is_linear() {
        let big = vec![1u8; 1 << 16];
        let recs: Vec<&[u8]> = (0..256).map(|_| &big[..]).collect();
        let mut b = log(&recs);
        b[HEADER_LEN as usize + 30] ^= 1; // payload of record 0
        assert!(scan(Path::new("w"), &b).is_err());
    }

    #[test]
    fn wal_version_1_logs_are_still_read() {
        let mut b = header_v(1, 9).to_vec();
        b.extend(record_v(1, b"\x01abc"));
        b.extend(record_v(1, b"\x01de"));
        b.extend(&record_v(1, b"\x01fghij")[..7]);
        let s = scan(Path::new("w"), &b).unwrap();
        assert_eq!((s.version, s.base, s.records.len()), (1, Some(9), 2));
        assert!(s.torn.is_some());
    }

    #[test]
    fn bad_header_is_an_error() {
        let mut b = log(&[]);
        b[12] ^= 1;
        assert!(scan(Path::new("w"), &b).is_err());
        assert!(scan(Path::new("w"), b"garbage").is_err());
        let s = scan(Path::new("w"), b"VSWA").unwrap();
        assert_eq!(s.base, None);
    }
}
