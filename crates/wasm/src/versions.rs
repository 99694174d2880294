//! Routing and format versions: what a saved cluster's manifest records
//! and what `route()` answers. In the Index module (not the Cluster
//! module) because `route`, `hashName` and the manifest helpers
//! (`saveLocal`/`loadLocal` check a manifest) are synchronous and must work
//! before any `Cluster` loads its own module.

use crate::error::js_error;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

fn set(o: &Object, name: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(name), v);
}

/// The shard that owns `key` in a cluster of `n` shards:
/// `xxh3_64(key bytes, seed 0) mod n` (the coordinator's `route`).
#[wasm_bindgen]
pub fn route(key: &str, n: u32) -> Result<u32, JsValue> {
    if n == 0 {
        return Err(js_error("invalid_argument", "a cluster has at least one shard"));
    }
    Ok(vecshard_coordinator::route(key, n))
}

/// Version of the data dir layout and of `cluster.json` (the native host's
/// `datadir::CLUSTER_VERSION`; the host crate is not a dependency here, it
/// needs files and threads). The CLI interop test in `wasm-tests/node`
/// compares a manifest written by the `vecshard` CLI byte for byte.
const CLUSTER_VERSION: u32 = 1;
/// Version of the native host's write-ahead log (`wal::VERSION`). A saved
/// cluster has no log; the manifest records the version all the same, so it
/// is the one the CLI writes.
const WAL_VERSION: u32 = 2;

/// The `format` object of a manifest (`cluster.json`): the versions of every
/// format this build writes, with the native host's field names.
#[wasm_bindgen(js_name = formatVersions)]
pub fn format_versions() -> Object {
    let o = Object::new();
    set(&o, "cluster", &CLUSTER_VERSION.into());
    set(&o, "snapshot", &vecshard_shard::snapshot::VERSION.into());
    set(&o, "core_snapshot", &vecshard_core::FORMAT_VERSION.into());
    set(&o, "wal", &WAL_VERSION.into());
    set(&o, "protocol", &vecshard_shard::PROTOCOL_VERSION.into());
    o
}

/// The name of the routing function, as recorded in manifests.
#[wasm_bindgen(js_name = hashName)]
pub fn hash_name() -> String {
    vecshard_coordinator::HASH_NAME.into()
}
