//! [`RawShard`]: one `vecshard_shard::Shard` inside a worker or a Durable
//! Object.
//!
//! A `Cluster` worker (`js/cluster-worker.js`) holds one of these and
//! passes every message straight through: request bytes in, response bytes
//! out, postcard with the protocol's version byte, exactly as the wasmtime
//! guest and the HTTP shard endpoint do. Malformed bytes get an error
//! response, never a panic (the shard crate guarantees it).
//!
//! A Durable Object (`edge/cloudflare/`) keeps its own state, so it needs
//! three more things, all here: whether the last request must go to its
//! write-ahead log ([`RawShard::logged`]: a write that succeeded, the rule
//! of the native host), the snapshot as a stream of chunks
//! (`snapshot_begin`/`snapshot_read`, the shard's `SnapshotStream`; any
//! write ends it), and a restore from chunks (`restore_begin`/`_push`/
//! `_finish`, the shard's `ShardLoader`: the old shard serves until the new
//! one is complete and stays if the load fails). So a checkpoint or a
//! wake-up needs the shard plus one chunk of memory (issue 11 § 1).

use js_sys::{Object, Reflect};
use vecshard_shard::{
    decode_request, encode_request, encode_response, Request, Response, Settings, Shard,
    ShardLoader, SnapshotStream,
};
use wasm_bindgen::prelude::*;

use crate::error::js_error;
use crate::index::wire_error;

/// One shard, driven only through the request protocol.
#[wasm_bindgen]
#[derive(Default)]
pub struct RawShard {
    shard: Shard,
    save: Option<SnapshotStream>,
    restore: Option<ShardLoader>,
    logged: bool,
}

#[wasm_bindgen]
impl RawShard {
    /// An empty shard; the coordinator sends `Create` or `Restore` first.
    #[wasm_bindgen(constructor)]
    pub fn new() -> RawShard {
        RawShard::default()
    }

    /// Handles one encoded request and returns the encoded response.
    pub fn handle(&mut self, request: &[u8]) -> Vec<u8> {
        let resp = match decode_request(request) {
            Ok(req) => {
                let write = req.is_write();
                let resp = self.shard.handle(req);
                self.logged = write && !matches!(resp, Response::Error(_));
                resp
            }
            Err(e) => {
                self.logged = false;
                Response::Error(e)
            }
        };
        encode_response(&resp)
    }

    /// Whether the last request handled was a write that succeeded: what a
    /// durable owner appends to its log before it answers (a rejected write
    /// changed nothing and is never logged).
    #[wasm_bindgen(getter)]
    pub fn logged(&self) -> bool {
        self.logged
    }

    /// The encoded `Create` request for these settings (a Durable Object
    /// logs it as its first record, so a replay starts the same way).
    #[allow(clippy::too_many_arguments)]
    pub fn create_request(
        dim: u32,
        metric: &str,
        m: Option<u32>,
        ef_construction: Option<u32>,
        ef_search: Option<u32>,
        quantization: Option<String>,
        seed: Option<u64>,
    ) -> Result<Vec<u8>, JsValue> {
        let cfg =
            crate::convert::config(dim, metric, m, ef_construction, ef_search, quantization, seed)?;
        crate::error::js(cfg.validate())?;
        Ok(encode_request(&Request::Create { settings: Settings::from(&cfg) }))
    }

    /// Starts a snapshot stream; its total length, or -1 before the index
    /// exists.
    pub fn snapshot_begin(&mut self) -> f64 {
        self.save = self.shard.snapshot_stream();
        self.save.as_ref().map_or(-1.0, |s| s.len() as f64)
    }

    /// The next at most `max` bytes of the stream (empty once done). Fails
    /// with `invalid_snapshot` if a write came in between.
    pub fn snapshot_read(&mut self, max: u32) -> Result<Vec<u8>, JsValue> {
        let Some(stream) = self.save.as_mut() else {
            return Err(js_error(
                "invalid_snapshot",
                "no snapshot stream in progress (a write ends it); start again",
            ));
        };
        let mut out = vec![0u8; max as usize];
        match self.shard.snapshot_read(stream, &mut out) {
            Ok(n) => {
                if n == 0 {
                    self.save = None;
                }
                out.truncate(n);
                Ok(out)
            }
            Err(e) => {
                self.save = None;
                Err(wire_error(&e))
            }
        }
    }

    /// Starts loading a snapshot from chunks (`expect_len`: its size, if
    /// known). The current shard serves until `restore_finish`.
    pub fn restore_begin(&mut self, expect_len: Option<f64>) {
        let mut l = ShardLoader::new();
        if let Some(n) = expect_len {
            l = l.expect_len(n as u64);
        }
        self.restore = Some(l);
    }

    /// Takes the next chunk of the snapshot. An error is final.
    pub fn restore_push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        let Some(l) = self.restore.as_mut() else {
            return Err(js_error("invalid_snapshot", "no restore in progress; call restore_begin"));
        };
        l.push(chunk).map_err(|e| {
            self.restore = None;
            wire_error(&e)
        })
    }

    /// Replaces the shard with the one loaded (a truncated or damaged
    /// snapshot is `invalid_snapshot`, and the old shard stays).
    pub fn restore_finish(&mut self) -> Result<(), JsValue> {
        let l = self.restore.take().ok_or_else(|| {
            js_error("invalid_snapshot", "no restore in progress; call restore_begin")
        })?;
        self.shard = l.finish().map_err(|e| wire_error(&e))?;
        self.save = None;
        Ok(())
    }

    /// `{ created, dim, metric, quantization, size, indexBytes,
    /// attributeBytes, memoryBytes }` (memoryBytes: this instance's
    /// linear memory, on wasm32).
    pub fn describe(&self) -> Object {
        let info = self.shard.info();
        let o = Object::new();
        let set = |n: &str, v: JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(n), &v);
        };
        set("created", info.settings.is_some().into());
        if let Some(s) = &info.settings {
            set("dim", s.dim.into());
            set("metric", vecshard_core::Metric::from(s.metric).name().into());
            set("quantization", vecshard_core::Quantization::from(s.quantization).name().into());
        }
        set("size", (info.len as f64).into());
        set("indexBytes", (info.index_bytes as f64).into());
        set("attributeBytes", (info.attribute_bytes as f64).into());
        #[cfg(target_arch = "wasm32")]
        set("memoryBytes", ((core::arch::wasm32::memory_size(0) as f64) * 65536.0).into());
        o
    }
}
