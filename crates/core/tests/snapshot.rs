//! Snapshots: round trips, every single-byte change and truncation, a
//! committed folder of bad inputs, and golden files of format version 1.
//!
//! `cargo test -p vecshard-core --test snapshot -- --ignored regenerate`
//! rewrites the golden and bad-input files (only when the format changes on
//! purpose: bump the version and keep the old goldens).

mod common;
use common::Rng;
use std::path::{Path, PathBuf};
use vecshard_core::{Config, Error, ErrorKind, Index, Metric, Quantization, SnapshotLoader};
use xxhash_rust::xxh3::xxh3_64;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name)
}

fn small(metric: Metric, quant: Quantization) -> Index {
    let mut rng = Rng(3);
    let mut idx =
        Index::new(Config::new(4, metric).m(4).ef_construction(32).quantization(quant).seed(1))
            .unwrap();
    for i in 0..40 {
        idx.insert(&i.to_string(), &rng.vec(4)).unwrap();
    }
    for i in 10..15 {
        idx.remove(&i.to_string()).unwrap();
    }
    idx
}

const QUERY: [f32; 4] = [0.1, 0.2, 0.3, 0.4];

fn results(idx: &Index) -> String {
    idx.search(&QUERY, 5, None, None)
        .unwrap()
        .iter()
        .map(|h| format!("{} {:.6}\n", h.key, h.distance))
        .collect()
}

#[test]
fn round_trip_gives_identical_results_for_every_format() {
    for metric in [Metric::Cosine, Metric::L2, Metric::InnerProduct] {
        for quant in [Quantization::F32, Quantization::I8, Quantization::Binary] {
            let mut rng = Rng(17);
            let mut idx = Index::new(Config::new(24, metric).quantization(quant).seed(9)).unwrap();
            for i in 0..500 {
                idx.insert(&format!("key-{i}"), &rng.vec(24)).unwrap();
            }
            for i in (0..500).step_by(7) {
                idx.remove(&format!("key-{i}")).unwrap();
            }
            let bytes = idx.to_bytes();
            let back = Index::from_bytes(&bytes).unwrap();
            back.check_invariants().unwrap();
            assert_eq!(back.to_bytes(), bytes);
            assert_eq!(back.len(), idx.len());
            for _ in 0..20 {
                let q = rng.vec(24);
                assert_eq!(
                    idx.search(&q, 10, None, None).unwrap(),
                    back.search(&q, 10, None, None).unwrap()
                );
            }
            for k in idx.keys() {
                assert_eq!(idx.get(k), back.get(k));
            }
        }
    }
}

#[test]
fn every_byte_change_and_truncation_is_rejected() {
    let bytes = small(Metric::L2, Quantization::F32).to_bytes();
    println!("snapshot of {} bytes", bytes.len());
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            assert!(Index::from_bytes(&b).is_err(), "byte {i} ^ {flip:#x} was accepted");
        }
    }
    for len in 0..bytes.len() {
        assert!(
            Index::from_bytes(&bytes[..len]).is_err(),
            "truncation to {len} bytes was accepted"
        );
    }
}

/// Replaces the trailing checksum so the structural checks are reached.
fn reseal(mut b: Vec<u8>) -> Vec<u8> {
    let n = b.len() - 8;
    let sum = xxh3_64(&b[..n]);
    b[n..].copy_from_slice(&sum.to_le_bytes());
    b
}

#[test]
fn byte_changes_behind_a_valid_checksum_never_panic() {
    // With the checksum fixed up, some changes are still valid snapshots
    // (a different float), but none may panic, and any accepted one must
    // be structurally sound.
    let bytes = small(Metric::Cosine, Quantization::I8).to_bytes();
    for i in 8..bytes.len() - 8 {
        for flip in [0x01u8, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            if let Ok(idx) = Index::from_bytes(&reseal(b)) {
                assert!(idx.len() <= 40);
                let _ = idx.search(&QUERY, 3, None, None).unwrap();
            }
        }
    }
}

#[test]
fn committed_bad_inputs_are_rejected() {
    let mut n = 0;
    let mut paths: Vec<_> =
        std::fs::read_dir(dir("bad_snapshots")).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    for p in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "bin")) {
        let bytes = std::fs::read(p).unwrap();
        match Index::from_bytes(&bytes) {
            Ok(_) => panic!("{} was accepted", p.display()),
            Err(e) => {
                assert!(matches!(e.kind(), ErrorKind::InvalidSnapshot { .. }));
                println!("{}: {e}", p.file_name().unwrap().to_string_lossy());
            }
        }
        n += 1;
    }
    assert!(n >= 12, "expected the committed bad inputs, found {n}");
}

#[test]
fn golden_v1_snapshots_still_load_and_answer() {
    for name in ["v1_l2_f32", "v1_cosine_i8"] {
        let bytes = std::fs::read(dir("golden").join(format!("{name}.bin"))).unwrap();
        let idx = Index::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        idx.check_invariants().unwrap();
        assert_eq!(idx.len(), 35);
        assert_eq!(idx.to_bytes(), bytes, "{name}: re-encoding changed the bytes");
        let want = std::fs::read_to_string(dir("golden").join(format!("{name}.expected"))).unwrap();
        let got = results(&idx);
        for (g, w) in got.lines().zip(want.lines()) {
            let (gk, gd) = g.split_once(' ').unwrap();
            let (wk, wd) = w.split_once(' ').unwrap();
            assert_eq!(gk, wk, "{name}: result keys differ\n got:\n{got}\nwant:\n{want}");
            let (gd, wd): (f32, f32) = (gd.parse().unwrap(), wd.parse().unwrap());
            assert!((gd - wd).abs() < 1e-4, "{name}: distance {gd} vs {wd}");
        }
        assert_eq!(got.lines().count(), want.lines().count());
    }
}

/// Feeds `bytes` to a [`SnapshotLoader`] in pieces of 1 to `max` bytes cut
/// at random points (optionally declaring the length first).
fn load_in_pieces(bytes: &[u8], rng: &mut Rng, max: usize, hint: bool) -> Result<Index, Error> {
    let mut l = SnapshotLoader::new();
    if hint {
        l = l.expect_len(bytes.len() as u64);
    }
    let mut at = 0;
    while at < bytes.len() {
        let n = (1 + rng.below(max)).min(bytes.len() - at);
        l.push(&bytes[at..at + n])?;
        at += n;
    }
    l.finish()
}

/// Every golden file and every build file loads through the streaming
/// loader, split at random points, into the index `from_bytes` gives; every
/// committed bad input is refused by it, whatever the split.
#[test]
fn goldens_and_bad_inputs_through_the_streaming_loader() {
    let mut rng = Rng(common::seed("goldens_and_bad_inputs_through_the_streaming_loader", 77));
    let mut goldens = 0;
    for entry in std::fs::read_dir(dir("golden")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "bin") {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let one = Index::from_bytes(&bytes).unwrap();
        for (max, hint) in [(1, false), (5, true), (64, false), (4096, true), (1 << 20, false)] {
            let idx = load_in_pieces(&bytes, &mut rng, max, hint)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            idx.check_invariants().unwrap();
            assert_eq!(idx.to_bytes(), one.to_bytes(), "{}", p.display());
            assert_eq!(results(&idx), results(&one));
        }
        goldens += 1;
    }
    assert!(goldens >= 4, "expected the golden files, found {goldens}");
    let mut bad = 0;
    for entry in std::fs::read_dir(dir("bad_snapshots")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "bin") {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        for (max, hint) in [(1, false), (3, true), (4096, false)] {
            match load_in_pieces(&bytes, &mut rng, max, hint) {
                Ok(_) => panic!("{} was accepted by the streaming loader", p.display()),
                Err(e) => assert!(matches!(e.kind(), ErrorKind::InvalidSnapshot { .. })),
            }
        }
        bad += 1;
    }
    assert!(bad >= 12, "expected the committed bad inputs, found {bad}");
}

/// The bytes today's build writes for the golden operations. They differ
/// from the v1 goldens where the build itself changed on purpose (the i8
/// walk on integer dot products picks other neighbours), so they are
/// committed separately: the v1 goldens pin the *format* (old files keep
/// loading and answering), these pin the *build* (native and wasm must
/// write them byte for byte, see wasm-tests/node/snapshot.test.mjs).
#[test]
fn the_golden_operations_write_the_committed_build_bytes() {
    for (name, metric, quant) in BUILDS {
        let want = std::fs::read(dir("golden").join(format!("build_{name}.bin"))).unwrap();
        assert!(
            small(metric, quant).to_bytes() == want,
            "{name}: the build changed; if on purpose, run the ignored `regenerate_build_bytes`"
        );
    }
}

const BUILDS: [(&str, Metric, Quantization); 2] =
    [("l2_f32", Metric::L2, Quantization::F32), ("cosine_i8", Metric::Cosine, Quantization::I8)];

#[test]
#[ignore = "rewrites committed files; run on purpose when the build changes"]
fn regenerate_build_bytes() {
    for (name, metric, quant) in BUILDS {
        std::fs::write(
            dir("golden").join(format!("build_{name}.bin")),
            small(metric, quant).to_bytes(),
        )
        .unwrap();
    }
}

#[test]
#[ignore = "rewrites committed files; run on purpose"]
fn regenerate() {
    let golden = dir("golden");
    for (name, metric, quant) in [
        ("v1_l2_f32", Metric::L2, Quantization::F32),
        ("v1_cosine_i8", Metric::Cosine, Quantization::I8),
    ] {
        let idx = small(metric, quant);
        std::fs::write(golden.join(format!("{name}.bin")), idx.to_bytes()).unwrap();
        std::fs::write(golden.join(format!("{name}.expected")), results(&idx)).unwrap();
    }
    // Bad inputs, derived from a valid L2/f32 snapshot (dim 4, m 4, 40 slots,
    // 5 free). Layout: see crates/core/src/snapshot.rs.
    let idx = small(Metric::L2, Quantization::F32);
    let good = idx.to_bytes();
    let s = idx.stats().slots;
    let free = idx.stats().free_slots;
    let h = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let body = 16 + h;
    let keys_at = body + 3 * s;
    let key_bytes: usize = idx.keys().map(str::len).sum();
    let vectors_at = keys_at + key_bytes + 4 * free;
    let layer0_at = vectors_at + 16 * s;
    let m0 = 8;
    let patch = |at: usize, val: &[u8]| {
        let mut b = good.clone();
        b[at..at + val.len()].copy_from_slice(val);
        reseal(b)
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("magic_only", b"VECSHARD".to_vec()),
        ("bad_magic", patch(0, b"VECSHARX")),
        ("version_2", patch(8, &2u32.to_le_bytes())),
        ("checksum_flipped", {
            let mut b = good.clone();
            let n = b.len();
            b[n - 1] ^= 1;
            b
        }),
        ("truncated_half", good[..good.len() / 2].to_vec()),
        ("header_len_huge", patch(12, &u32::MAX.to_le_bytes())),
        ("header_len_short", patch(12, &((h - 1) as u32).to_le_bytes())),
        ("level_too_high", patch(body, &[20])),
        ("key_not_utf8", patch(keys_at, &[0xff])),
        ("duplicate_key", patch(keys_at + 1, &good[keys_at..keys_at + 1])),
        ("nan_vector", patch(vectors_at, &f32::NAN.to_le_bytes())),
        ("link_count_over_cap", patch(layer0_at, &((m0 + 1) as u32).to_le_bytes())),
        ("link_out_of_range", patch(layer0_at + 4, &((s + 5) as u32).to_le_bytes())),
        ("self_link", patch(layer0_at + 4, &0u32.to_le_bytes())),
        ("trailing_garbage", {
            let mut b = good[..good.len() - 8].to_vec();
            b.extend_from_slice(&[0, 0, 0, 0]);
            b.extend_from_slice(&[0; 8]);
            reseal(b)
        }),
    ];
    let bad = dir("bad_snapshots");
    for (name, bytes) in cases {
        assert!(Index::from_bytes(&bytes).is_err(), "{name} is accepted");
        std::fs::write(bad.join(format!("{name}.bin")), bytes).unwrap();
    }
}
