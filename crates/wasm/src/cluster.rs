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
use vecshard_coordinator::{Coordinator, Error, ErrorKind, Mode, Query, SearchOptions};
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

/// A coordinator error as a JS error with a `code` (and `missing` shards),
/// and a `kind` (`bad_input`, `shard`, `incomplete`, `unexpected`,
/// `config`) from which the edge coordinator picks the HTTP status the
/// native server would.
fn coord_error(e: &Error) -> JsValue {
    let err = js_error(e.code(), &e.to_string());
    let kind = match e.kind() {
        ErrorKind::BadInput(_) => "bad_input",
        ErrorKind::Shard { .. } => "shard",
        ErrorKind::Incomplete { .. } => "incomplete",
        ErrorKind::Unexpected { .. } => "unexpected",
        _ => "config",
    };
    let _ = Reflect::set(&err, &"kind".into(), &kind.into());
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

/// Adds the byte `position` of a filter's compile error to `err`.
fn with_position(err: &JsValue, filter: Option<&str>) {
    if let Some(Err(fe)) = filter.map(vecshard_filter::Filter::compile) {
        let _ = Reflect::set(err, &"position".into(), &(fe.position() as f64).into());
    }
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
    /// `attributes` (optional): one JSON text or `undefined` per key.
    pub fn upsert(
        &self,
        keys: Vec<String>,
        flat: Vec<f32>,
        attributes: Option<Vec<JsValue>>,
    ) -> Promise {
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
            if attributes.as_ref().is_some_and(|a| a.len() != keys.len()) {
                return Err(js_error(
                    "invalid_argument",
                    "attributes must have one entry (an object, null or undefined) per key",
                ));
            }
            let mut attrs = attributes.unwrap_or_default().into_iter();
            let items = keys
                .into_iter()
                .zip(flat.chunks_exact(dim.max(1)))
                .map(|(key, v)| Item {
                    key,
                    vector: v.to_vec(),
                    attributes: attrs.next().and_then(|a| a.as_string()).map(String::into_bytes),
                })
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
    /// missing, attributes? }` (packed as in `RawIndex::search`; `missing`:
    /// the shards that did not answer; `attributes`: one JSON text or
    /// `null` per hit, with `with_attributes`). `filter`, `filter_ef` and
    /// `with_attributes` are the filtered search of issue 9 (the
    /// coordinator compiles the filter once, then every shard plans its
    /// own part). `strict` rejects instead of answering partially. `tag`
    /// (any JS value) is handed to `send` with each of this search's
    /// requests (see [`crate::transport::tagged`]). `key_prefix` / `keys`
    /// are the HTTP API's key filters (`{"key_prefix"}`, `{"keys"}`), at
    /// most one of them.
    #[allow(clippy::too_many_arguments)]
    pub fn search(
        &self,
        q: Vec<f32>,
        k: u32,
        ef: Option<u32>,
        strict: bool,
        tag: JsValue,
        filter: Option<String>,
        filter_ef: Option<u32>,
        with_attributes: bool,
        key_prefix: Option<String>,
        keys: Option<Vec<String>>,
    ) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            if filter_ef.is_some_and(|e| e == 0 || e > crate::index::MAX_FILTER_EF) {
                return Err(js_error(
                    "invalid_filter",
                    &format!(
                        "invalid_filter: filterEf must be in 1..={}",
                        crate::index::MAX_FILTER_EF
                    ),
                ));
            }
            let key_filter = match (key_prefix, keys) {
                (Some(p), None) => Some(vecshard_shard::Filter::KeyPrefix(p)),
                (None, Some(k)) => Some(vecshard_shard::Filter::Keys(k)),
                _ => None,
            };
            let query = Query { vector: q, k, ef, filter: key_filter };
            let mode = if strict { Mode::Strict } else { Mode::Partial };
            let opts = SearchOptions { filter, filter_ef, with_attributes };
            let res = tagged(tag, coord.search_with(query, &opts, mode)).await.map_err(|e| {
                let err = coord_error(&e);
                if e.code() == "invalid_filter" {
                    with_position(&err, opts.filter.as_deref());
                }
                err
            })?;
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
            if with_attributes {
                let mut attrs = res.attributes.into_iter();
                let arr: Array = (0..hits.len())
                    .map(|_| match attrs.next().flatten() {
                        Some(b) => JsValue::from_str(&String::from_utf8_lossy(&b)),
                        None => JsValue::NULL,
                    })
                    .collect();
                set(&o, "attributes", &arr);
            }
            Ok(o.into())
        })
    }

    /// Sets (JSON text of an object) or clears (`undefined`) the attributes
    /// of `key` on its shard; rejects with `key_not_found`,
    /// `invalid_attributes` or `attributes_too_large`.
    pub fn set_attributes(&self, key: String, attributes: Option<String>) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            coord
                .set_attributes(&key, attributes.map(String::into_bytes))
                .await
                .map_err(|e| coord_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The attribute JSON text of `key` (`null`: none); rejects with
    /// `key_not_found` for an absent key.
    pub fn get_attributes(&self, key: String) -> Promise {
        let coord = self.coord.clone();
        future_to_promise(async move {
            match coord.get_attributes(&key).await.map_err(|e| coord_error(&e))? {
                None => {
                    let e = js_error("key_not_found", &format!("key {key:?} is not in the index"));
                    let _ = Reflect::set(&e, &"key".into(), &JsValue::from_str(&key));
                    Err(e)
                }
                Some(None) => Ok(JsValue::NULL),
                Some(Some(b)) => Ok(JsValue::from_str(&String::from_utf8_lossy(&b))),
            }
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
                        set(&o, "attributeBytes", &(info.attribute_bytes as f64).into());
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
