//! [`RawShard`]: one `vecshard_shard::Shard` inside a worker.
//!
//! A `Cluster` worker (`js/cluster-worker.js`) holds one of these and
//! passes every message straight through: request bytes in, response bytes
//! out, postcard with the protocol's version byte, exactly as the wasmtime
//! guest and the HTTP shard endpoint do. Malformed bytes get an error
//! response, never a panic (the shard crate guarantees it).

use vecshard_shard::Shard;
use wasm_bindgen::prelude::*;

/// One shard, driven only through the request protocol.
#[wasm_bindgen]
#[derive(Default)]
pub struct RawShard {
    shard: Shard,
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
        self.shard.handle_bytes(request)
    }
}
