//! The contract of the shard snapshot container decoder
//! (`vecshard_shard::snapshot::decode`, what `Restore` and every shard
//! start run), checked by the `shard_snapshot` fuzz target and replayed by
//! `crates/shard/tests/fuzz_corpus.rs`.
//!
//! As for core snapshots, each input is also tried with its checksums
//! recomputed (the core snapshot's inside the container, then the
//! container's), so mutations reach the validators behind them.
//!
//! Each try also runs the streaming `Loader` and `ShardLoader` with chunk
//! boundaries taken from the input, which must agree with `decode`.

use vecshard_shard::snapshot::{decode, encode, Loader, MAGIC};
use vecshard_shard::{decode_response, ErrorCode, Request, Response, Shard, ShardLoader};
use xxhash_rust::xxh3::xxh3_64;

use crate::known;

fn fix_tail(b: &mut [u8]) {
    if let Some(n) = b.len().checked_sub(8) {
        let sum = xxh3_64(&b[..n]);
        b[n..].copy_from_slice(&sum.to_le_bytes());
    }
}

/// `data` with the inner core checksum and the container checksum
/// recomputed (or a bare core snapshot's), if that changes anything.
pub fn with_fixed_checksums(data: &[u8]) -> Option<Vec<u8>> {
    let mut v = data.to_vec();
    if v.len() >= 28 && v[..8] == MAGIC[..] {
        let clen = u64::from_le_bytes(v[12..20].try_into().expect("8 bytes"));
        if let Some(end) = usize::try_from(clen).ok().and_then(|c| c.checked_add(20)) {
            if end <= v.len() - 8 {
                fix_tail(&mut v[20..end]);
            }
        }
    }
    fix_tail(&mut v);
    (v != data).then_some(v)
}

/// Checks the decoder on `data` and its checksum-fixed twin.
pub fn check(data: &[u8]) {
    check_one(data);
    if let Some(fixed) = with_fixed_checksums(data) {
        check_one(&fixed);
    }
}

/// The borrowed form `snapshot::encode` takes.
fn borrow(a: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    a.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect()
}

/// The cuts of a chunked load: a first one at `first`, then every `step`.
fn cuts(bytes: &[u8], first: usize, step: usize) -> Vec<&[u8]> {
    let (head, mut rest) = bytes.split_at(first.min(bytes.len()));
    let mut v = vec![head];
    while !rest.is_empty() {
        let (c, r) = rest.split_at(step.max(1).min(rest.len()));
        v.push(c);
        rest = r;
    }
    v
}

/// The streaming loaders on `bytes` cut where the input says, against
/// `decode`'s verdict. The length is declared for inputs `decode` refused
/// (see `core_snapshot.rs` on lying headers and malloc limits) and for
/// half of the others.
fn check_chunked(bytes: &[u8]) {
    let first = bytes.get(30).copied().unwrap_or(0) as usize * 13 % (bytes.len() + 1);
    let step = 1 + bytes.get(31).copied().unwrap_or(0) as usize % 89;
    let one = decode(bytes);
    let hint = one.is_err() || step % 2 == 0;
    let mut l = Loader::new();
    let mut sl = ShardLoader::new();
    if hint {
        l = l.expect_len(bytes.len() as u64);
        sl = sl.expect_len(bytes.len() as u64);
    }
    let mut r = Ok(());
    let mut rs = Ok(());
    for c in cuts(bytes, first, step) {
        r = r.and_then(|()| l.push(c));
        rs = rs.and_then(|()| sl.push(c));
    }
    let chunked = r.and_then(|()| l.finish());
    let shard = rs.and_then(|()| sl.finish());
    match (&one, &chunked) {
        (Ok((i1, a1)), Ok((i2, a2))) => {
            assert_eq!(i1.to_bytes(), i2.to_bytes(), "chunked load differs");
            assert_eq!(a1, a2, "chunked attributes differ");
        }
        (Err(_), Err(e)) => assert_eq!(e.code, ErrorCode::InvalidSnapshot, "chunked: {e:?}"),
        _ => panic!("decode {:?} but chunked {:?}", one.as_ref().err(), chunked.as_ref().err()),
    }
    match (&one, &shard) {
        (Ok(_), Ok(s)) => {
            let whole = Shard::from_snapshot(bytes).expect("decode accepted it");
            assert_eq!(s.snapshot(), whole.snapshot(), "ShardLoader differs");
        }
        (Err(_), Err(e)) => assert_eq!(e.code, ErrorCode::InvalidSnapshot, "ShardLoader: {e:?}"),
        _ => panic!("decode {:?} but ShardLoader {:?}", one.as_ref().err(), shard.as_ref().err()),
    }
}

fn check_one(bytes: &[u8]) {
    check_chunked(bytes);
    let (index, attrs) = match decode(bytes) {
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidSnapshot, "a bad snapshot gave {e:?}");
            return;
        }
        Ok(v) => v,
    };
    known::invariants(&index, "an accepted shard snapshot");
    for (k, _) in &attrs {
        assert!(index.contains(k), "attributes for a key not in the index: {k:?}");
    }
    // Re-encoding is stable and decodes to the same thing.
    let again = encode(&index, &borrow(&attrs));
    let (i2, a2) = decode(&again).expect("a re-encoded shard snapshot decodes");
    assert_eq!(a2, attrs);
    assert_eq!(encode(&i2, &borrow(&a2)), again, "re-encoding is not stable");

    // The same bytes restore into a shard that answers and takes writes.
    let mut shard = Shard::from_snapshot(bytes).expect("decode accepted it");
    assert_eq!(shard.snapshot().as_deref(), Some(&again[..]));
    let dim = index.dim();
    let q: Vec<f32> = (0..dim).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
    let reqs = [
        Request::Search { vector: q.clone(), k: 3, ef: None, filter: None },
        Request::Upsert {
            items: vec![vecshard_shard::Item {
                key: "fuzz-new".into(),
                vector: q,
                attributes: Some(b"{}".to_vec()),
            }],
        },
        Request::Remove { keys: attrs.iter().take(2).map(|(k, _)| k.clone()).collect() },
        Request::Info,
    ];
    for req in reqs {
        let name = req.name();
        let resp = decode_response(&shard.handle_bytes(&vecshard_shard::encode_request(&req)))
            .expect("the shard answers decodable bytes");
        if let Response::Error(e) = &resp {
            panic!("{name} on a restored snapshot failed: {e:?}");
        }
    }
    known::invariants(shard.index().expect("restored"), "writes after a restore");
}
