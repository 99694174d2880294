//! The contract of WAL recovery on a log file, checked by the
//! `wal_recovery` fuzz target and replayed by
//! `crates/host/tests/fuzz_corpus.rs`.
//!
//! Recovery (`crates/host/src/worker.rs`, `replay`) is `wal::scan` of the
//! file's bytes followed by each record's payload through the shard. The
//! worker also needs wasmtime and a data dir; this runs the same two steps
//! on the native `Shard` of the fixture (`fixture.rs`) instead. The fuzz
//! target compiles `wal.rs` itself (through `#[path]`) so the fuzz build
//! does not pull in wasmtime; the test uses `vecshard_host::wal`. Both
//! reach it as `crate::wal`, with `crate::WalErrorKind` its error kind.
//!
//! Each input is also tried with the header and record checksums
//! recomputed along the framing, so mutated payloads reach the replay.

use std::path::Path;

use vecshard_shard::decode_response;
use xxhash_rust::xxh3::xxh3_64;

use crate::wal::{
    header_v, record_v, scan, HEADER_LEN, MAGIC, RECORD_HEADER_LEN, RECORD_HEADER_LEN_V1,
};
use crate::WalErrorKind;
use crate::{fixture, known};

/// `data` with the header checksum and every record checksum recomputed
/// (following the length fields while they fit), if that changes anything.
pub fn with_fixed_checksums(data: &[u8]) -> Option<Vec<u8>> {
    let h = HEADER_LEN as usize;
    if data.len() < h || data[..8] != MAGIC[..] {
        return None;
    }
    let mut v = data.to_vec();
    let sum = xxh3_64(&v[..20]);
    v[20..28].copy_from_slice(&sum.to_le_bytes());
    // Version 2 records carry a checksum of their own 12-byte header too.
    let version = u32::from_le_bytes(v[8..12].try_into().expect("4 bytes"));
    let hl = if version >= 2 { RECORD_HEADER_LEN } else { RECORD_HEADER_LEN_V1 } as usize;
    let mut at = h;
    while at + hl <= v.len() {
        let len = u32::from_le_bytes(v[at..at + 4].try_into().expect("4 bytes")) as usize;
        let start = at + hl;
        let Some(end) = start.checked_add(len).filter(|&e| len > 0 && e <= v.len()) else { break };
        let sum = xxh3_64(&v[start..end]);
        v[at + 4..at + 12].copy_from_slice(&sum.to_le_bytes());
        if version >= 2 {
            let check = xxh3_64(&v[at..at + 12]);
            v[at + 12..at + 20].copy_from_slice(&check.to_le_bytes());
        }
        at = end;
    }
    (v != data).then_some(v)
}

/// Checks recovery of `data` (and its checksum-fixed twin) as a log file.
pub fn check(data: &[u8]) {
    check_one(data);
    if let Some(fixed) = with_fixed_checksums(data) {
        check_one(&fixed);
    }
}

fn check_one(b: &[u8]) {
    let path = Path::new("fuzz/wal.log");
    let s = match scan(path, b) {
        Err(e) => {
            assert!(matches!(e.kind(), WalErrorKind::CorruptWal { .. }), "scan gave {e:?}");
            return;
        }
        Ok(s) => s,
    };
    let valid = usize::try_from(s.valid_len).expect("fits");
    assert!(valid <= b.len(), "valid_len {valid} past the end ({})", b.len());
    let Some(base) = s.base else {
        // Only a file shorter than a header has none.
        assert!(b.len() < HEADER_LEN as usize && s.records.is_empty() && valid == 0);
        return;
    };
    // The valid prefix is exactly the header and the records, re-framed.
    let mut again = header_v(s.version, base).to_vec();
    for r in &s.records {
        again.extend(record_v(s.version, &b[r.clone()]));
    }
    assert!(again == b[..valid], "the records do not re-frame to the valid prefix");
    assert_eq!(s.torn.is_some(), valid < b.len(), "torn tail reported iff bytes were dropped");

    // A crash in the middle of appending the last record leaves a prefix
    // of it: recovery must drop exactly that record, whatever its bytes.
    if let Some(last) = s.records.last() {
        let hl = if s.version >= 2 { RECORD_HEADER_LEN } else { RECORD_HEADER_LEN_V1 };
        let frame = last.start - hl as usize;
        let cut = frame + (last.end - frame) / 2;
        match scan(path, &b[..cut]) {
            Ok(t) => {
                assert_eq!(t.records, s.records[..s.records.len() - 1], "cut at {cut}");
                assert_eq!(t.valid_len, frame as u64);
            }
            Err(e) => assert!(
                known::torn_tail_fooled(&e.to_string(), frame),
                "a log cut inside its last record (at {cut}) is refused: {e}"
            ),
        }
    }

    // Replay: every record gets a decodable answer, and whatever the
    // records did, the shard stays consistent.
    let mut shard = fixture::shard();
    for r in &s.records {
        decode_response(&shard.handle_bytes(&b[r.clone()]))
            .expect("the shard answers every record with decodable bytes");
    }
    if let Some(i) = shard.index() {
        known::invariants(i, "after replay");
    }
}
