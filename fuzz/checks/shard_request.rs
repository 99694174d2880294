//! The contract of `Shard::handle_bytes`, checked by the `shard_request`
//! fuzz target and replayed by `crates/shard/tests/fuzz_corpus.rs`.
//!
//! An input is a short *sequence* of requests run on a fresh copy of the
//! fixture shard (`fixture.rs`), so a fuzzed `Restore` can be followed by a
//! search or a write on what it loaded. Framing: `[u16 LE length][bytes]`
//! per request, at most [`MAX_REQUESTS`]; a length past the end takes the
//! rest. A `Restore` gets its snapshot's checksums recomputed
//! (`shard_snapshot.rs`) so mutated snapshots reach the validators.

use vecshard_shard::{
    decode_request, decode_response, encode_request, ErrorCode, Request, Response,
};

use crate::shard_snapshot::with_fixed_checksums;
use crate::{fixture, known};

/// Most requests taken from one input.
pub const MAX_REQUESTS: usize = 8;

/// Splits an input into requests (see the module docs).
pub fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < MAX_REQUESTS {
        let n = u16::from_le_bytes([data[0], data[1]]) as usize;
        let rest = &data[2..];
        let n = n.min(rest.len());
        out.push(&rest[..n]);
        data = &rest[n..];
    }
    out
}

/// Frames requests the way [`split`] reads them (for seeds).
pub fn join(reqs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in reqs {
        out.extend_from_slice(&(r.len() as u16).to_le_bytes());
        out.extend_from_slice(r);
    }
    out
}

/// Runs the requests in `data` on the fixture shard and checks every answer.
pub fn check(data: &[u8]) {
    let mut shard = fixture::shard();
    for raw in split(data) {
        // A Restore carries a snapshot: fix its checksums so the fuzzer's
        // mutations get past them.
        let fixed;
        let bytes = match decode_request(raw) {
            Ok(Request::Restore { bytes }) => match with_fixed_checksums(&bytes) {
                Some(b) => {
                    fixed = encode_request(&Request::Restore { bytes: b });
                    &fixed[..]
                }
                None => raw,
            },
            _ => raw,
        };
        let before = shard.snapshot();
        let resp = decode_response(&shard.handle_bytes(bytes))
            .expect("the shard always answers with decodable bytes");
        let after = shard.snapshot();
        let req = match decode_request(bytes) {
            Err(_) => {
                assert!(
                    matches!(&resp, Response::Error(e)
                        if matches!(e.code, ErrorCode::MalformedRequest | ErrorCode::UnsupportedVersion)),
                    "undecodable request answered {resp:?}"
                );
                assert!(before == after, "an undecodable request changed the shard");
                continue;
            }
            Ok(r) => r,
        };
        let name = req.name();
        if let Response::Error(e) = &resp {
            assert_ne!(e.code, ErrorCode::Internal, "{name} gave an internal error: {e:?}");
            assert!(before == after, "a failed {name} changed the shard ({e:?})");
        } else if !req.is_write() {
            assert!(before == after, "{name} (a read) changed the shard");
        }
        match (&req, &resp) {
            (Request::Search { k, vector, .. }, Response::Hits { hits }) => {
                assert!(hits.len() <= *k as usize && hits.len() <= shard.len());
                let index = shard.index().expect("it answered a search");
                let overflow = known::huge(vector)
                    || hits.iter().any(|h| index.get(&h.key).is_some_and(|v| known::huge(&v)));
                let pairs: Vec<(f32, &str)> =
                    hits.iter().map(|h| (h.distance, h.key.as_str())).collect();
                known::sorted(&pairs, overflow);
                let mut keys: Vec<&str> = hits.iter().map(|h| h.key.as_str()).collect();
                keys.sort_unstable();
                keys.dedup();
                assert_eq!(keys.len(), hits.len(), "a key appears twice in one result");
            }
            (Request::Upsert { items }, Response::Upserted { inserted, updated }) => {
                assert_eq!((inserted + updated) as usize, items.len());
                for it in items {
                    assert!(shard.index().is_some_and(|i| i.contains(&it.key)));
                }
            }
            (Request::Remove { keys }, Response::Removed { removed, not_found }) => {
                assert!((removed + not_found) as usize <= keys.len());
                for k in keys {
                    assert!(!shard.index().is_some_and(|i| i.contains(k)));
                }
            }
            (Request::Info, Response::Info { info }) => {
                assert_eq!(info.len, shard.len() as u64);
            }
            (Request::Snapshot, Response::Snapshot { bytes }) => {
                assert_eq!(Some(bytes), before.as_ref());
            }
            (Request::Restore { bytes }, Response::Restored { len }) => {
                assert_eq!(*len, shard.len() as u64);
                assert!(after.is_some());
                let _ = bytes;
            }
            _ => {}
        }
        if let Some(i) = shard.index() {
            known::invariants(i, &format!("after {name}"));
        }
    }
    // Whatever happened, the shard's state survives a snapshot round trip.
    if let Some(snap) = shard.snapshot() {
        let back =
            vecshard_shard::Shard::from_snapshot(&snap).expect("the shard's own snapshot loads");
        assert_eq!(back.snapshot(), Some(snap), "snapshot round trip is not stable");
    }
}
