//! The write-ahead log of one shard: every acknowledged write, in order,
//! since the last checkpoint.
//!
//! ```text
//! header (28 bytes)
//!   0   8  magic "VSWAL\0\0\0"
//!   8   4  version, u32 LE (currently 1)
//!   12  8  base: the checksum (last 8 bytes) of the snapshot.bin these
//!          records apply to, u64 LE; 0 when there is no snapshot
//!   20  8  xxh3_64 (seed 0) of bytes 0..20, u64 LE
//! records, back to back
//!   0   4  payload length L, u32 LE (1..=u32::MAX)
//!   4   8  xxh3_64 (seed 0) of the payload, u64 LE
//!   12  L  payload: one encoded Request (version byte + postcard), exactly
//!          the bytes the shard was given
//! ```
//!
//! **Why a base.** A checkpoint renames the new snapshot into place and
//! then replaces the log. A crash between the two leaves a log whose
//! records are already in the snapshot. Replaying them again would give
//! the same keys and vectors (upsert and remove are last-writer-wins) but
//! not the same graph, so instead the log names the snapshot it follows:
//! a log whose base is not the current snapshot's checksum is stale, and
//! is discarded with a warning.
//!
//! **Torn tails.** Each record is written with one `write` call, but a
//! crash can still leave a prefix of it (or, on some file systems, a
//! zero-filled tail). A damaged record at the very end is dropped (the file
//! is truncated there, with a warning): it was never acknowledged, because
//! replies are sent only after the append. A damaged record *followed by a
//! valid one* is not a torn write; it is corruption, and recovery stops
//! with an error naming the file and offset rather than drop the valid
//! records after it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use vecshard_shard::PROTOCOL_VERSION;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};

/// Magic bytes at the start of a WAL file.
pub const MAGIC: &[u8; 8] = b"VSWAL\0\0\0";
/// WAL format version.
pub const VERSION: u32 = 1;
/// Bytes in the file header.
pub const HEADER_LEN: u64 = 28;
/// Bytes in front of each record's payload.
pub const RECORD_HEADER_LEN: u64 = 12;

/// The header bytes for a log that follows the snapshot with checksum `base`.
pub fn header(base: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&base.to_le_bytes());
    let sum = xxh3_64(&h[..20]);
    h[20..28].copy_from_slice(&sum.to_le_bytes());
    h
}

/// One record, framed.
pub fn record(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN as usize + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&xxh3_64(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// What [`scan`] found in a log file.
#[derive(Debug)]
pub struct Scanned {
    /// The snapshot checksum the records follow (`None`: no header yet).
    pub base: Option<u64>,
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

/// The payload range of a valid record at `at`, if one is there.
fn record_at(b: &[u8], at: usize) -> Result<Range<usize>, &'static str> {
    let Some(len) = u32_at(b, at) else { return Err("truncated record header") };
    let Some(sum) = u64_at(b, at + 4) else { return Err("truncated record header") };
    if len == 0 {
        return Err("zero-length record");
    }
    let start = at + RECORD_HEADER_LEN as usize;
    let end = start.checked_add(len as usize).ok_or("length overflows")?;
    let Some(payload) = b.get(start..end) else {
        return Err("record runs past the end of the file");
    };
    if xxh3_64(payload) != sum {
        return Err("checksum mismatch");
    }
    Ok(start..end)
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
            records: Vec::new(),
            valid_len: 0,
            torn: (!b.is_empty()).then(|| format!("a {}-byte partial header", b.len())),
        });
    }
    if &b[..8] != MAGIC {
        return Err(Error::corrupt_wal(path, 0, "not a vecshard write-ahead log (bad magic)"));
    }
    let version = u32_at(b, 8).expect("header length checked");
    if version != VERSION {
        return Err(Error::corrupt_wal(
            path,
            8,
            format!(
                "log format version {version} is not supported (this build reads {VERSION}); \
                 use the vecshard version that wrote it"
            ),
        ));
    }
    let base = u64_at(b, 12).expect("header length checked");
    if u64_at(b, 20) != Some(xxh3_64(&b[..20])) {
        return Err(Error::corrupt_wal(path, 0, "header checksum mismatch"));
    }

    let mut records = Vec::new();
    let mut at = HEADER_LEN as usize;
    while at < b.len() {
        match record_at(b, at) {
            Ok(r) => {
                at = r.end;
                records.push(r);
            }
            Err(why) => {
                // Torn tail, or corruption in the middle? Look for any
                // valid record after this point: if there is one, the
                // damage is not a torn last write.
                if let Some(next) = (at + 1..b.len()).find(|&p| looks_like_record(b, p)) {
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
                return Ok(Scanned {
                    base: Some(base),
                    records,
                    valid_len: at as u64,
                    torn: Some(format!("{} bytes at offset {at} ({why})", b.len() - at)),
                });
            }
        }
    }
    Ok(Scanned { base: Some(base), records, valid_len: at as u64, torn: None })
}

/// Whether a complete, valid record starts at `p` (cheap filters first:
/// the payload must start with the protocol version byte).
fn looks_like_record(b: &[u8], p: usize) -> bool {
    let start = p + RECORD_HEADER_LEN as usize;
    b.get(start) == Some(&PROTOCOL_VERSION) && record_at(b, p).is_ok()
}

/// Creates (or replaces) the log at `path` with an empty body following
/// snapshot `base`: a temp file, fsynced, renamed over, directory fsynced.
/// Returns the log opened for appending.
pub fn create(path: &Path, base: u64) -> Result<Wal> {
    let tmp = path.with_extension("log.tmp");
    {
        let mut f = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(&header(base)).map_err(|e| Error::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, e))?;
    sync_dir(path)?;
    open_append(path, HEADER_LEN)
}

/// Opens an existing, already validated log for appending; `len` is its
/// valid length (the file is truncated to it if longer).
pub fn open_append(path: &Path, len: u64) -> Result<Wal> {
    let file =
        OpenOptions::new().append(true).open(path).map_err(|e| Error::io("open", path, e))?;
    let actual = file.metadata().map_err(|e| Error::io("stat", path, e))?.len();
    if actual != len {
        file.set_len(len).map_err(|e| Error::io("truncate", path, e))?;
        file.sync_all().map_err(|e| Error::io("fsync", path, e))?;
    }
    Ok(Wal { file, path: path.to_path_buf(), len, unsynced: false })
}

/// fsyncs the directory holding `path`, so a rename or create in it is durable.
pub fn sync_dir(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("fsync", dir, e))
}

/// An open log, appended to by one worker.
#[derive(Debug)]
pub struct Wal {
    file: File,
    path: PathBuf,
    len: u64,
    unsynced: bool,
}

impl Wal {
    /// Appends one record with a single `write` call. On failure the file
    /// is cut back to where it was, so a failed append leaves no partial
    /// record behind (best effort; recovery drops one anyway).
    pub fn append(&mut self, payload: &[u8]) -> Result<()> {
        if payload.is_empty() || payload.len() > u32::MAX as usize {
            return Err(Error::invalid_argument(format!(
                "a WAL record must be 1..=4 GiB, not {} bytes",
                payload.len()
            )));
        }
        let rec = record(payload);
        if let Err(e) = self.file.write_all(&rec) {
            let _ = self.file.set_len(self.len);
            return Err(Error::io("append to", &self.path, e));
        }
        self.len += rec.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    /// `fdatasync` if anything was appended since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            self.file.sync_data().map_err(|e| Error::io("fsync", &self.path, e))?;
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
        let first_end = HEADER_LEN as usize + 12 + 4;
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
