//! The streaming container code against the one-shot code it replaced
//! (`legacy.rs`): the same bytes, the same result from any split, the same
//! verdict on damaged input. Seeds from `VECSHARD_SEED`, printed.

use super::{decode, encode, legacy, Loader};
use crate::{Item, Request, Response, Settings, Shard, ShardLoader, WireMetric, WireQuantization};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use std::println;
use xxhash_rust::xxh3::xxh3_64;

fn seed(test: &str, default: u64) -> u64 {
    let s = std::env::var("VECSHARD_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    println!("{test}: seed {s} (replay with VECSHARD_SEED={s})");
    s
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A shard with attributes of every size class: none, empty, small, and
/// large ones (tens of KiB, so pairs cross the encoder's 64 KiB stage).
fn shard(rng: &mut Rng, quant: WireQuantization) -> Shard {
    let mut settings = Settings::new(6, WireMetric::Cosine);
    settings.quantization = quant;
    let mut s = Shard::with_settings(&settings).unwrap();
    let items: Vec<Item> = (0..60)
        .map(|i| Item {
            key: format!("key-{i:03}-{}", "ü".repeat(i % 4)),
            vector: (0..6).map(|_| rng.below(1000) as f32 / 100.0 - 4.0).collect(),
            attributes: match i % 5 {
                0 => None,
                1 => Some(Vec::new()),
                2 => Some(format!("{{\"n\":{i}}}").into_bytes()),
                3 => Some(vec![b'x'; 20_000 + rng.below(30_000)]),
                _ => Some(format!("{{\"s\":\"{}\"}}", "a".repeat(rng.below(300))).into_bytes()),
            },
        })
        .collect();
    assert!(matches!(s.handle(Request::Upsert { items }), Response::Upserted { .. }));
    let gone: Vec<String> =
        (0..60).step_by(9).map(|i| format!("key-{i:03}-{}", "ü".repeat(i % 4))).collect();
    assert!(matches!(s.handle(Request::Remove { keys: gone }), Response::Removed { .. }));
    s
}

fn shards(seed: u64) -> Vec<Shard> {
    let mut rng = Rng(seed);
    [WireQuantization::F32, WireQuantization::I8, WireQuantization::Binary]
        .into_iter()
        .map(|q| shard(&mut rng, q))
        .collect()
}

fn pieces(bytes: &[u8], rng: &mut Rng) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let max = if rng.below(4) == 0 { 70_000 } else { 11 };
        let n = (1 + rng.below(max)).min(bytes.len() - at);
        v.push((at, at + n));
        at += n;
    }
    v
}

type Decoded = Result<(Vec<u8>, super::AttributePairs), ()>;

fn verdict(r: Result<(vecshard_core::Index, super::AttributePairs), crate::WireError>) -> Decoded {
    match r {
        Ok((i, a)) => Ok((i.to_bytes(), a)),
        Err(e) => {
            assert_eq!(e.code, crate::ErrorCode::InvalidSnapshot, "{e:?}");
            Err(())
        }
    }
}

fn load_split(bytes: &[u8], rng: &mut Rng, hint: bool) -> Decoded {
    let mut l = Loader::new();
    if hint {
        l = l.expect_len(bytes.len() as u64);
    }
    for (a, b) in pieces(bytes, rng) {
        if l.push(&bytes[a..b]).is_err() {
            return verdict(l.finish());
        }
    }
    verdict(l.finish())
}

#[test]
fn streaming_container_gives_the_legacy_bytes() {
    for s in shards(seed("streaming_container_gives_the_legacy_bytes", 3)) {
        let bytes = s.snapshot().unwrap();
        let (index, pairs) = legacy::decode(&bytes).unwrap();
        assert!(pairs.len() > 20);
        let borrowed: Vec<(&str, &[u8])> =
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        let want = legacy::encode(&index, &borrowed);
        assert_eq!(bytes, want);
        assert_eq!(encode(&index, &borrowed), want);
        assert_eq!(s.snapshot_writer().unwrap().len(), want.len() as u64);
        // Any chunk size, through the owned stream.
        for max in [1usize, 7, 4096, 1 << 20] {
            let mut stream = s.snapshot_stream().unwrap();
            let mut out = Vec::new();
            let mut buf = vec![0u8; max];
            loop {
                let n = s.snapshot_read(&mut stream, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out, want, "chunks of {max}");
        }
    }
}

#[test]
fn random_splits_load_the_same_shard() {
    let sd = seed("random_splits_load_the_same_shard", 8);
    let mut rng = Rng(sd);
    for s in shards(sd) {
        let bytes = s.snapshot().unwrap();
        let want = verdict(decode(&bytes));
        assert!(want.is_ok());
        for round in 0..4 {
            assert_eq!(load_split(&bytes, &mut rng, round % 2 == 0), want);
            let mut l = ShardLoader::new();
            for (a, b) in pieces(&bytes, &mut rng) {
                l.push(&bytes[a..b]).unwrap();
            }
            let back = l.finish().unwrap();
            assert_eq!(back.snapshot().unwrap(), bytes);
            // A load reserves exactly, so it can hold fewer index bytes
            // than the shard that grew by inserts; equal to a one-shot load.
            assert_eq!(back.info(), Shard::from_snapshot(&bytes).unwrap().info());
            assert!(back.info().index_bytes <= s.info().index_bytes);
        }
        // A bare core snapshot too.
        let core = s.index().unwrap().to_bytes();
        let (i, a) = load_split(&core, &mut rng, false).unwrap();
        assert_eq!(i, core);
        assert!(a.is_empty());
    }
}

fn fix(b: &mut [u8]) {
    // Inner core checksum, then the container's (as the fuzz check does).
    if b.len() >= 28 && b[..8] == super::MAGIC[..] {
        let clen = u64::from_le_bytes(b[12..20].try_into().unwrap()) as usize;
        if let Some(end) = clen.checked_add(20).filter(|&e| e <= b.len() - 8 && e >= 28) {
            let n = end - 8;
            let sum = xxh3_64(&b[20..n]);
            b[n..end].copy_from_slice(&sum.to_le_bytes());
        }
    }
    let n = b.len() - 8;
    let sum = xxh3_64(&b[..n]);
    b[n..].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn damaged_containers_get_the_legacy_verdict() {
    let sd = seed("damaged_containers_get_the_legacy_verdict", 21);
    let mut rng = Rng(sd);
    let (mut ok, mut bad) = (0, 0);
    for s in shards(sd) {
        let bytes = s.snapshot().unwrap();
        let clen = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
        for trial in 0..240 {
            let mut b = bytes.clone();
            match trial % 4 {
                // Bytes changed in the container fields and the attributes
                // (the core has its own test), checksums recomputed.
                0 | 1 => {
                    for _ in 0..1 + rng.below(2) {
                        let i = if rng.below(3) == 0 {
                            rng.below(20)
                        } else {
                            20 + clen + rng.below(b.len() - 28 - clen)
                        };
                        b[i] = match rng.below(3) {
                            0 => 0,
                            1 => 0xff,
                            _ => rng.next() as u8,
                        };
                    }
                    fix(&mut b);
                }
                // A pair's worth of bytes cut from the attributes.
                2 => {
                    let at = 20 + clen + 8 + rng.below(b.len() - 36 - clen);
                    let n = rng.below(40).min(b.len() - 8 - at);
                    b.drain(at..at + n);
                    fix(&mut b);
                }
                _ => {
                    if rng.below(2) == 0 {
                        b.truncate(rng.below(b.len()));
                    } else {
                        b.extend_from_slice(b"junk");
                    }
                }
            }
            let old = verdict(legacy::decode(&b));
            assert_eq!(verdict(decode(&b)), old, "trial {trial}");
            assert_eq!(load_split(&b, &mut rng, trial % 2 == 0), old, "trial {trial} (split)");
            if old.is_ok() {
                ok += 1;
            } else {
                bad += 1;
            }
        }
    }
    println!("accepted {ok}, rejected {bad}");
    assert!(ok > 0 && bad > 0);
}

#[test]
fn a_write_ends_a_snapshot_stream() {
    let mut s = shards(5).remove(0);
    let mut stream = s.snapshot_stream().unwrap();
    let mut buf = [0u8; 100];
    assert_eq!(s.snapshot_read(&mut stream, &mut buf).unwrap(), 100);
    let key = String::from(s.index().unwrap().keys().next().unwrap());
    let r = s.handle(Request::SetAttributes { key, attributes: Some(b"{}".to_vec()) });
    assert_eq!(r, Response::AttributesSet);
    let e = s.snapshot_read(&mut stream, &mut buf).unwrap_err();
    assert_eq!(e.code, crate::ErrorCode::InvalidSnapshot);
    // A read-only request does not.
    let mut stream = s.snapshot_stream().unwrap();
    s.handle(Request::Info);
    assert!(s.snapshot_read(&mut stream, &mut buf).is_ok());
}
