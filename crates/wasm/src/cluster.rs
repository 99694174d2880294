//! [`RawCluster`]: the Rust coordinator, driving shards that live in workers.
//!
//! Everything a cluster decides is decided here, by `vecshard-coordinator`,
//! the same code the native server runs: input validation before anything
//! is sent, routing (`xxh3_64(key) mod N`), parallel fan-out, the
//! `(distance, key)` merge, and partial results that name the missing
//! shards. The JS side (`js/cluster.js`) only moves bytes to and from the
//! workers (see [`crate::transport`]).
//!
//! Each method returns a `Promise`; the future inside holds an `Rc` of the
//! coordinator, so a call may outlive the JS object that started it.

use std::rc::Rc;

use futures::future::join_all;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use vecshard_coordinator::{Coordinator, Error, ErrorKind, Mode, Query};
use vecshard_shard::{Item, Request, Response, Settings};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::convert;
use crate::error::{js, js_error};
use crate::transport::{tagged, JsShard};

/// The coordinator behind the package's `Cluster`.
#[wasm_bindgen]
pub struct RawCluster {
    coord: Rc<Coordinator>,
}

/// A coordinator error as a JS error with a `code` (and `missing` shards).
fn coord_error(e: &Error) -> JsValue {
    let err = js_error(e.code(), &e.to_string());
    let shards: Option<Vec<u32>> = match e.kind() {
        ErrorKind::Incomplete { missing, .. } => Some(missing.clone()),
        ErrorKind::Shard { shard, .. } => Some(vec![*shard]),
        _ => None,
    };
    if let Some(s) = shards {
        let arr: Array = s.into_iter().map(JsValue::from).collect();
        let _ = Reflect::set(&err, &"shards".into(), &arr);
    }
    err
}

fn set(o: &Object, name: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(name), v);
}

#[wasm_bindgen]
impl RawCluster {
    /// A coordinator over `shards` workers reached through
    /// `send(shard, bytes) => Promise<bytes>`. Nothing is sent yet: call
    /// `create` (empty shards) or `restore` (snapshots) next.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shards: u32,
        send: Function,
        dim: u32,
        metric: &str,
        m: Option<u32>,
        ef_construction: Option<u32>,
        ef_search: Option<u32>,
        quantization: Option<String>,
        seed: Option<u64>,
    ) -> Result<RawCluster, JsValue> {
        let cfg = convert::config(dim, metric, m, ef_construction, ef_search, quantization, seed)?;
        js(cfg.validate())?;
        if shards == 0 {
            return Err(js_error("invalid_config", "a cluster needs at least one shard"));
        }
        let transports = (0..shards).map(|i| JsShard::new(i, send.clone())).collect();
        let coord =
            Coordinator::new(Settings::from(&cfg), transports).map_err(|e| coord_error(&e))?;
        Ok(RawCluster { coord: Rc::new(coord) })
    }

    /// Number of shards.
    #[wasm_bindgen(getter)]
    pub fn shards(&self) -> u32 {
        self.coord.shard_count()
    }

    /// The settings as a plain object (for the manifest).
    pub fn settings(&self) -> Object {
        let s = self.coord.settings();
        let o = Object::new();
        set(&o, "dim", &s.dim.into());
        set(&o, "metric", &JsValue::from_str(vecshard_core::Metric::from(s.metric).name()));
        set(&o, "m", &s.m.into());
        set(&o, "efConstruction", &s.ef_construction.into());
        set(&o, "efSearch", &s.ef_search.into());
        let q = vecshard_core::Quantization::from(s.quantization);
        set(&o, "quantization", &JsValue::from_str(q.name()));
        set(&o, "seed", &JsValue::from(s.seed));
        o
    }

    /// Creates the empty index on every shard (shard `i` seeded `seed + i`,
    /// so shards do not share a level sequence).
    pub fn create(&self) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            let calls = (0..coord.shard_count()).map(|i| {
                let mut settings = coord.settings().clone();
                settings.seed = settings.seed.wrapping_add(u64::from(i));
                coord.shard(i).call(Request::Create { settings })
            });
            for (i, r) in join_all(calls).await.into_iter().enumerate() {
                expect(i as u32, r, |r| matches!(r, Response::Created))?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Loads `snapshots[i]` into shard `i` (shard snapshots, or bare core
    /// snapshots), then checks that every shard has the cluster's settings.
    pub fn restore(&self, snapshots: Vec<Uint8Array>) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            if snapshots.len() != coord.shard_count() as usize {
                return Err(js_error(
                    "invalid_snapshot",
                    &format!(
                        "the manifest names {} shards but {} snapshots were given",
                        coord.shard_count(),
                        snapshots.len()
                    ),
                ));
            }
            let calls = snapshots
                .iter()
                .enumerate()
                .map(|(i, b)| coord.shard(i as u32).call(Request::Restore { bytes: b.to_vec() }));
            for (i, r) in join_all(calls).await.into_iter().enumerate() {
                expect(i as u32, r, |r| matches!(r, Response::Restored { .. }))?;
            }
            let want = coord.settings();
            for (i, info) in coord.info().await.into_iter().enumerate() {
                let info = info.map_err(|e| js_error(e.kind.as_str(), &e.to_string()))?;
                let ok = info.settings.as_ref().is_some_and(|s| {
                    s.dim == want.dim
                        && s.metric == want.metric
                        && s.quantization == want.quantization
                });
                if !ok {
                    return Err(js_error(
                        "invalid_snapshot",
                        &format!(
                            "shard {i}'s snapshot has settings {:?}, the manifest says {want:?}",
                            info.settings
                        ),
                    ));
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Upserts `keys[i]` with `flat[i*dim..]`, routed by key; resolves to
    /// `{ inserted, updated }`. Everything is validated before any shard
    /// sees a byte.
    pub fn upsert(&self, keys: Vec<String>, flat: Vec<f32>) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            let dim = coord.settings().dim as usize;
            if Some(flat.len()) != keys.len().checked_mul(dim) {
                return Err(js_error(
                    "dimension_mismatch",
                    &format!(
                        "the flat vector array has {} values but {} keys × dimension {dim} need {}",
                        flat.len(),
                        keys.len(),
                        keys.len().saturating_mul(dim)
                    ),
                ));
            }
            let items = keys
                .into_iter()
                .zip(flat.chunks_exact(dim))
                .map(|(key, v)| Item { key, vector: v.to_vec(), attributes: None })
                .collect();
            let sum = coord.upsert(items).await.map_err(|e| coord_error(&e))?;
            let o = Object::new();
            set(&o, "inserted", &(sum.inserted as f64).into());
            set(&o, "updated", &(sum.updated as f64).into());
            Ok(o.into())
        })
    }

    /// Removes one key from its shard; rejects with `key_not_found`.
    pub fn remove(&self, key: String) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            coord.remove_one(&key).await.map_err(|e| coord_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The stored vector of `key`, or `undefined`.
    pub fn get(&self, key: String) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            let item = coord.get(&key).await.map_err(|e| coord_error(&e))?;
            Ok(item.map_or(JsValue::UNDEFINED, |it| {
                js_sys::Float32Array::from(it.vector.as_slice()).into()
            }))
        })
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: String) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            Ok(coord.contains(&key).await.map_err(|e| coord_error(&e))?.into())
        })
    }

    /// Searches every shard and merges; resolves to `{ packed, keys,
    /// missing }` (packed as in `RawIndex::search`; `missing`: the shards
    /// that did not answer). `strict` rejects instead of answering partially.
    /// `tag` (any JS value) is handed to `send` with each of this search's
    /// requests (see [`crate::transport::tagged`]).
    pub fn search(
        &self,
        q: Vec<f32>,
        k: u32,
        ef: Option<u32>,
        strict: bool,
        tag: JsValue,
    ) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            let query = Query { vector: q, k, ef, filter: None };
            let mode = if strict { Mode::Strict } else { Mode::Partial };
            let res = tagged(tag, coord.search(query, mode)).await.map_err(|e| coord_error(&e))?;
            let hits: Vec<vecshard_core::Hit<'_>> = res
                .hits
                .iter()
                .map(|h| vecshard_core::Hit { key: &h.key, distance: h.distance })
                .collect();
            let (mut keys, mut packed) = (String::new(), Vec::new());
            convert::pack_hits(&hits, &mut keys, &mut packed);
            let o = Object::new();
            set(&o, "packed", &js_sys::Float32Array::from(packed.as_slice()));
            set(&o, "keys", &JsValue::from_str(&keys));
            set(&o, "missing", &js_sys::Uint32Array::from(res.missing_shards.as_slice()));
            Ok(o.into())
        })
    }

    /// Per-shard `{ size, indexBytes, maxLevel, kernel }`, or an `Error` for
    /// a shard that did not answer.
    pub fn info(&self) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            let out: Array = coord
                .info()
                .await
                .into_iter()
                .map(|r| match r {
                    Ok(info) => {
                        let o = Object::new();
                        set(&o, "size", &(info.len as f64).into());
                        set(&o, "indexBytes", &(info.index_bytes as f64).into());
                        set(&o, "maxLevel", &info.max_level.into());
                        set(&o, "kernel", &JsValue::from_str(&info.kernel));
                        JsValue::from(o)
                    }
                    Err(e) => js_error(e.kind.as_str(), &e.to_string()),
                })
                .collect();
            Ok(out.into())
        })
    }

    /// Every shard's snapshot bytes, in shard order (all shards must answer).
    pub fn snapshots(&self) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            let calls = (0..coord.shard_count()).map(|i| coord.shard(i).call(Request::Snapshot));
            let out = Array::new();
            for (i, r) in join_all(calls).await.into_iter().enumerate() {
                match r {
                    Ok(Response::Snapshot { bytes }) => {
                        out.push(&Uint8Array::from(bytes.as_slice()));
                    }
                    other => {
                        expect(i as u32, other, |_| false)?;
                    }
                }
            }
            Ok(out.into())
        })
    }
}

/// Checks one shard's reply to a per-shard request.
fn expect(
    shard: u32,
    r: Result<Response, vecshard_coordinator::TransportError>,
    ok: impl Fn(&Response) -> bool,
) -> Result<Response, JsValue> {
    match r {
        Ok(resp) if ok(&resp) => Ok(resp),
        Ok(Response::Error(w)) => {
            Err(js_error(w.code.as_str(), &format!("shard {shard}: {}", w.message)))
        }
        Ok(other) => Err(js_error(
            "shard_protocol",
            &format!("shard {shard} answered with an unexpected {other:?}"),
        )),
        Err(e) => {
            let err = js_error(e.kind.as_str(), &format!("shard {shard}: {}", e.message));
            let _ = Reflect::set(&err, &"shards".into(), &Array::of1(&shard.into()));
            Err(err)
        }
    }
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
