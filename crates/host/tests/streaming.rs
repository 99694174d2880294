//! Snapshots across the guest ABI in chunks (`ShardEngine::restore_from`,
//! `ShardEngine::snapshot_to`): the same bytes as the one-shot `Snapshot`
//! request, from either engine, whatever pieces the source reads in; a bad
//! file changes nothing; and a restore leaves a wasm shard's linear memory
//! near its index size (no snapshot copy inside it).

mod common;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use vecshard_host::engine::GUEST_WASM;
use vecshard_host::{NativeShard, ShardEngine, WasmRuntime};
use vecshard_shard::{
    decode_response, encode_request, ErrorCode, Item, Request, Response, Settings, ShardInfo,
    WireMetric,
};

fn call(e: &mut dyn ShardEngine, req: &Request) -> Response {
    decode_response(&e.call(&encode_request(req)).unwrap()).unwrap()
}

fn info(e: &mut dyn ShardEngine) -> ShardInfo {
    match call(e, &Request::Info) {
        Response::Info { info } => info,
        other => panic!("{other:?}"),
    }
}

/// A reader that hands out 1 to 13 bytes per call, so chunks reach the
/// guest cut at every kind of boundary.
struct Dribble<'a> {
    b: &'a [u8],
    n: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.n = self.n % 13 + 1;
        let k = self.n.min(out.len()).min(self.b.len());
        out[..k].copy_from_slice(&self.b[..k]);
        self.b = &self.b[k..];
        Ok(k)
    }
}

fn runtime() -> Arc<WasmRuntime> {
    let cache = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vecshard-module-cache");
    Arc::new(WasmRuntime::new(GUEST_WASM, Some(&cache), Duration::from_millis(10)).unwrap())
}

/// A snapshot of `n` siftsmall vectors, every third with attributes.
fn snapshot(n: usize) -> Vec<u8> {
    let data = common::siftsmall();
    let mut e = NativeShard::new();
    let settings = Settings::new(128, WireMetric::L2);
    assert_eq!(call(&mut e, &Request::Create { settings }), Response::Created);
    let items: Vec<Item> = (0..n)
        .map(|i| Item {
            key: format!("v{i}"),
            vector: data.base.row(i).to_vec(),
            attributes: (i % 3 == 0).then(|| format!("{{\"i\":{i}}}").into_bytes()),
        })
        .collect();
    assert!(matches!(call(&mut e, &Request::Upsert { items }), Response::Upserted { .. }));
    match call(&mut e, &Request::Snapshot) {
        Response::Snapshot { bytes } => bytes,
        other => panic!("{other:?}"),
    }
}

fn engines(rt: &Arc<WasmRuntime>) -> Vec<(&'static str, Box<dyn ShardEngine>)> {
    vec![
        ("native", Box::new(NativeShard::new())),
        ("wasm", Box::new(rt.instantiate(256 << 20, None).unwrap())),
    ]
}

#[test]
fn snapshots_stream_in_and_out_of_both_engines_byte_for_byte() {
    let bytes = snapshot(2000);
    let rt = runtime();
    for (name, mut e) in engines(&rt) {
        for dribble in [false, true] {
            let r = if dribble {
                e.restore_from(&mut Dribble { b: &bytes, n: 0 }, None)
            } else {
                e.restore_from(&mut &bytes[..], Some(bytes.len() as u64))
            };
            assert_eq!(r.unwrap(), Response::Restored { len: 2000 }, "{name}");
            let mut out = Vec::new();
            let n = e.snapshot_to(&mut out).unwrap().unwrap();
            assert_eq!(n, bytes.len() as u64);
            assert!(out == bytes, "{name}: the streamed snapshot differs");
            // The one-shot request still gives the same bytes.
            assert_eq!(call(&mut *e, &Request::Snapshot), Response::Snapshot { bytes: out });
            assert_eq!(info(&mut *e).with_attributes, 667);
        }
    }
}

#[test]
fn a_bad_snapshot_changes_nothing_in_either_engine() {
    let bytes = snapshot(300);
    let rt = runtime();
    for (name, mut e) in engines(&rt) {
        assert_eq!(e.restore_from(&mut &bytes[..], None).unwrap(), Response::Restored { len: 300 });
        let before = info(&mut *e);
        let mut damaged = bytes.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0x40;
        let cases: [&[u8]; 4] = [&damaged, &bytes[..bytes.len() - 1], b"VSSHARD\0nonsense", b""];
        for bad in cases {
            match e.restore_from(&mut Dribble { b: bad, n: 0 }, None).unwrap() {
                Response::Error(err) => assert_eq!(err.code, ErrorCode::InvalidSnapshot, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
            assert_eq!(info(&mut *e), before, "{name}: a failed restore changed the shard");
        }
        // An empty engine has nothing to write.
        let mut fresh = engines(&rt).into_iter().find(|(n, _)| *n == name).unwrap().1;
        let r = fresh.snapshot_to(&mut Vec::new()).unwrap();
        assert_eq!(r.unwrap_err().code, ErrorCode::NotInitialized);
    }
}

/// A restore through the chunked exports leaves linear memory at the
/// index plus small fixed costs; through `Request::Restore` (the whole
/// snapshot as one request, then decoded) it needs room for the snapshot
/// as well. The figure for a large shard is in the README; here the
/// bound is generous and the comparison is the point.
#[test]
fn a_chunked_restore_holds_no_snapshot_copy_in_the_guest() {
    let bytes = snapshot(8000);
    let rt = runtime();
    let mut chunked = rt.instantiate(512 << 20, None).unwrap();
    chunked.restore_from(&mut &bytes[..], Some(bytes.len() as u64)).unwrap();
    let i = info(&mut chunked);
    let held = i.index_bytes + i.attribute_bytes;
    let mem_chunked = chunked.memory_bytes();
    let mut whole = rt.instantiate(512 << 20, None).unwrap();
    call(&mut whole, &Request::Restore { bytes: bytes.clone() });
    let mem_whole = whole.memory_bytes();
    println!(
        "snapshot {} B, index+attributes {held} B, linear memory: chunked {mem_chunked} B \
         ({:.2}x), whole request {mem_whole} B ({:.2}x)",
        bytes.len(),
        mem_chunked as f64 / held as f64,
        mem_whole as f64 / held as f64
    );
    assert!(mem_chunked < mem_whole, "streaming saved nothing");
    // Index + attributes, plus the guest's stack, data and one 1 MiB chunk.
    assert!(
        mem_chunked <= held + held / 4 + (3 << 20),
        "linear memory {mem_chunked} B for {held} B of index and attributes"
    );
}
