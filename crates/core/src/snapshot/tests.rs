//! The streaming writer and loader against the one-shot code they replaced
//! (`legacy.rs`): the same bytes out for every storage format, the same
//! index from any split of the stream, and the same verdict (accept or
//! reject) on damaged snapshots.
//!
//! Seeds come from `VECSHARD_SEED` (default fixed) and are printed, so a
//! failure can be replayed.

use super::{SnapshotLoader, DEFAULT_CHUNK};
use crate::config::{Config, Metric, Quantization};
use crate::index::Index;
use crate::rng::SplitMix64;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use std::println;
use xxhash_rust::xxh3::xxh3_64;

fn seed(test: &str, default: u64) -> u64 {
    let s = std::env::var("VECSHARD_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    println!("{test}: seed {s} (replay with VECSHARD_SEED={s})");
    s
}

fn build(metric: Metric, quant: Quantization, n: usize, dim: usize, seed: u64) -> Index {
    let mut rng = SplitMix64::new(seed);
    let cfg = Config::new(dim, metric).m(4).ef_construction(24).quantization(quant).seed(seed);
    let mut idx = Index::new(cfg).unwrap();
    for i in 0..n {
        let v: Vec<f32> =
            (0..dim).map(|_| (rng.next_open01() as f32 - 0.5) * 4.0).collect::<Vec<_>>();
        // Keys of varied length, some multi-byte, so key splits are tested.
        let key = format!("k{i}-{}", "é".repeat(i % 5));
        idx.insert(&key, &v).unwrap();
    }
    for i in (0..n).step_by(7) {
        idx.remove(&format!("k{i}-{}", "é".repeat(i % 5))).unwrap();
    }
    idx
}

fn all_kinds(seed: u64) -> Vec<Index> {
    let mut v = Vec::new();
    for metric in [Metric::Cosine, Metric::L2, Metric::InnerProduct] {
        for quant in [Quantization::F32, Quantization::I8, Quantization::Binary] {
            v.push(build(metric, quant, 90, 70, seed));
        }
    }
    v.push(Index::new(Config::new(3, Metric::L2).seed(1)).unwrap());
    v
}

/// Feeds `bytes` to a loader in pieces cut at random points.
fn load_split(bytes: &[u8], rng: &mut SplitMix64, hint: bool) -> crate::Result<Index> {
    let mut l = SnapshotLoader::new();
    if hint {
        l = l.expect_len(bytes.len() as u64);
    }
    let mut at = 0;
    while at < bytes.len() {
        // Mostly tiny pieces (boundaries inside every kind of field), some large.
        let max = if rng.next_u64().is_multiple_of(4) { 4096 } else { 9 };
        let n = (1 + (rng.next_u64() % max) as usize).min(bytes.len() - at);
        l.push(&bytes[at..at + n])?;
        at += n;
    }
    l.finish()
}

#[test]
fn streaming_writer_gives_the_legacy_bytes() {
    for idx in all_kinds(seed("streaming_writer_gives_the_legacy_bytes", 5)) {
        let want = idx.legacy_to_bytes();
        assert_eq!(idx.to_bytes(), want, "{:?}", idx.config());
        assert_eq!(idx.snapshot_writer().len(), want.len() as u64);
        for max in [1, 3, 8, 1000, DEFAULT_CHUNK] {
            let chunks: Vec<Vec<u8>> = idx.snapshot_writer().chunks(max).collect();
            assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= max));
            assert_eq!(chunks.concat(), want, "chunks of {max}");
        }
    }
}

#[test]
fn random_splits_load_the_same_index() {
    let s = seed("random_splits_load_the_same_index", 11);
    let mut rng = SplitMix64::new(s);
    for idx in all_kinds(s) {
        let bytes = idx.to_bytes();
        let one = Index::from_bytes(&bytes).unwrap();
        for round in 0..6 {
            let back = load_split(&bytes, &mut rng, round % 2 == 0).unwrap();
            back.check_invariants().unwrap();
            assert_eq!(back.to_bytes(), bytes);
            assert_eq!(back.to_bytes(), one.to_bytes());
            assert_eq!(back.memory_bytes(), one.memory_bytes());
        }
    }
}

fn fix_sum(b: &mut [u8]) {
    let n = b.len() - 8;
    let sum = xxh3_64(&b[..n]);
    b[n..].copy_from_slice(&sum.to_le_bytes());
}

fn verdict(r: &crate::Result<Index>) -> Result<Vec<u8>, ()> {
    match r {
        Ok(i) => Ok(i.to_bytes()),
        Err(e) => {
            assert!(matches!(e.kind(), crate::ErrorKind::InvalidSnapshot { .. }), "{e:?}");
            Err(())
        }
    }
}

#[test]
fn damaged_snapshots_get_the_legacy_verdict() {
    let s = seed("damaged_snapshots_get_the_legacy_verdict", 23);
    let mut rng = SplitMix64::new(s);
    let (mut accepted, mut rejected) = (0, 0);
    for idx in all_kinds(s) {
        let bytes = idx.to_bytes();
        for trial in 0..300 {
            let mut b = bytes.clone();
            match trial % 3 {
                // One to three bytes changed, checksum recomputed, so the
                // structural checks behind it are what decides.
                0 | 1 => {
                    for _ in 0..1 + rng.next_u64() % 3 {
                        let i = (rng.next_u64() % (b.len() as u64 - 8)) as usize;
                        b[i] = match rng.next_u64() % 3 {
                            0 => 0,
                            1 => 0xff,
                            _ => rng.next_u64() as u8,
                        };
                    }
                    fix_sum(&mut b);
                }
                // Truncated, or with bytes appended.
                _ => {
                    if rng.next_u64().is_multiple_of(2) {
                        b.truncate((rng.next_u64() % b.len() as u64) as usize);
                    } else {
                        b.extend_from_slice(&[0, 1, 2]);
                    }
                }
            }
            let old = verdict(&Index::legacy_from_bytes(&b));
            let new = verdict(&Index::from_bytes(&b));
            assert_eq!(old.is_ok(), new.is_ok(), "trial {trial}: one-shot vs streaming");
            assert_eq!(old, new, "trial {trial}");
            let split = verdict(&load_split(&b, &mut rng, trial % 2 == 0));
            assert_eq!(old, split, "trial {trial}: random split");
            if old.is_ok() {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
    }
    println!("accepted {accepted}, rejected {rejected}");
    assert!(rejected > 0 && accepted > 0, "the mutations should produce both verdicts");
}

#[test]
fn truncation_at_every_length_is_an_error() {
    let idx = build(Metric::Cosine, Quantization::I8, 30, 9, 3);
    let bytes = idx.to_bytes();
    for n in 0..bytes.len() {
        let mut l = SnapshotLoader::new();
        let r = l.push(&bytes[..n]).and_then(|()| l.finish().map(|_| ()));
        let e = r.expect_err("a truncated snapshot must not load");
        assert!(matches!(e.kind(), crate::ErrorKind::InvalidSnapshot { .. }));
    }
}

#[test]
fn errors_are_final() {
    let idx = build(Metric::L2, Quantization::F32, 20, 4, 9);
    let bytes = idx.to_bytes();
    let mut l = SnapshotLoader::new().expect_len(bytes.len() as u64);
    let mut garbage = bytes.clone();
    garbage[0] = b'X';
    assert!(l.push(&garbage).is_err());
    let again: String = format!("{:?}", l.push(&bytes));
    assert!(again.contains("bad magic"), "{again}");
    let fin = format!("{:?}", l.finish());
    assert!(fin.contains("bad magic"), "{fin}");
}

/// A header claiming 2^31 slots of 65536 dimensions (2^49 bytes of
/// vectors): with the length known it is refused before any allocation;
/// without, the reservation fails with an error instead of aborting.
#[test]
fn a_lying_header_is_an_error_not_an_abort() {
    let idx = build(Metric::L2, Quantization::F32, 3, 4, 9);
    let bytes = idx.to_bytes();
    let hlen = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let (mut h, _): (super::Header, _) = postcard::take_from_bytes(&bytes[16..16 + hlen]).unwrap();
    h.slots = 1 << 31;
    h.live = 1 << 31;
    h.free = 0;
    h.dim = 65536;
    let head = postcard::to_allocvec(&h).unwrap();
    let mut b = bytes[..12].to_vec();
    b.extend_from_slice(&(head.len() as u32).to_le_bytes());
    b.extend_from_slice(&head);
    b.extend_from_slice(&[0u8; 64]);
    let mut hinted = SnapshotLoader::new().expect_len(b.len() as u64);
    let e = hinted.push(&b).unwrap_err();
    assert!(format!("{e}").contains("header implies"), "{e}");
    let mut blind = SnapshotLoader::new();
    let e = blind.push(&b).unwrap_err();
    assert!(format!("{e}").contains("more memory than can be had"), "{e}");
}

/// The hand-written header codec is postcard's: the same bytes for random
/// headers (with and without an entry point, values at every varint
/// length), and on random and damaged byte strings the same verdict, the
/// same header and the same message.
#[test]
fn the_header_codec_is_postcards() {
    let s = seed("the_header_codec_is_postcards", 0x4ead);
    let mut rng = SplitMix64::new(s);
    // Values of every varint length: shift a random word right.
    let word = |rng: &mut SplitMix64| rng.next_u64() >> (rng.next_u64() % 64);
    for round in 0..20_000 {
        let h = super::Header {
            dim: word(&mut rng) as u32,
            metric: rng.next_u64() as u8,
            quantization: rng.next_u64() as u8,
            m: word(&mut rng) as u32,
            ef_construction: word(&mut rng) as u32,
            ef_search: word(&mut rng) as u32,
            seed: word(&mut rng),
            rng_state: word(&mut rng),
            slots: word(&mut rng) as u32,
            live: word(&mut rng) as u32,
            free: word(&mut rng) as u32,
            entry: (rng.next_u64() & 1 == 0).then(|| word(&mut rng) as u32),
            max_level: rng.next_u64() as u8,
            key_bytes: word(&mut rng),
            upper_words: word(&mut rng),
        };
        let mut bytes = h.encode();
        assert_eq!(bytes, postcard::to_allocvec(&h).unwrap(), "round {round}");
        // Damage: truncate, append, or overwrite one byte (often with a
        // continuation bit or a bad tag), then compare the verdicts.
        match round % 4 {
            0 => {}
            1 => bytes.truncate((rng.next_u64() as usize) % (bytes.len() + 1)),
            2 => bytes.push(rng.next_u64() as u8),
            _ => {
                let i = (rng.next_u64() as usize) % bytes.len();
                bytes[i] = [0x80, 0xff, 0x02, 0x10, 0x01, rng.next_u64() as u8][round / 4 % 6];
            }
        }
        let ours = super::Header::decode(&bytes);
        let theirs = match postcard::take_from_bytes::<super::Header>(&bytes) {
            Ok((h, [])) => Ok(h),
            Ok(_) => Err(String::from("header has trailing bytes")),
            Err(e) => Err(format!("header: {e}")),
        };
        match (ours, theirs) {
            (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "round {round}"),
            (Err(a), Err(b)) => assert_eq!(a, b, "round {round}: {bytes:?}"),
            (a, b) => panic!("round {round}: {bytes:?}: ours {a:?}, postcard {b:?}"),
        }
    }
}
