//! [`RespBackend`]: the Redis vector-sets protocol over the server's
//! collections, so `vecshard serve --resp` and HTTP see the same data.
//!
//! One Redis key is one collection (db 0's keys are collection names
//! unchanged, see `vecshard_resp`). A collection made by `VADD` is cosine
//! with the set's dimension, quantization, `M` and `EF`, and the server's
//! shard count; its `REDUCE` projection (seed and input dimension) is kept
//! in the collection's `meta.json`, written in the same atomic step as the
//! collection. A collection created over HTTP with another metric is not a
//! vector set: commands on it get an error, and `KEYS` still lists it.
//!
//! Where a sharded collection differs from one Redis key:
//! - `VLINKS` answers the element's nearest neighbours (`2M`, one layer),
//!   as the in-memory backend does: the shard protocol has no graph links;
//! - `VINFO`'s `max-level` is the highest over the shards;
//! - `VRANGE` is a k-way merge of the shards' sorted pages
//!   (`Coordinator::list_keys`); `VRANDMEMBER` is uniform over the
//!   elements, not the shards: shards are drawn in proportion to their
//!   sizes (multinomially with a negative count, hypergeometrically
//!   without repeats for a positive one) and the answer is shuffled
//!   (`Coordinator::random_keys`);
//! - `TRUTH` searches with `ef` = `MAX_EF` (10,000) on every shard, which
//!   is exact while no shard holds more than that;
//! - the last `VREM` deletes the collection when the shards report it
//!   empty. Writes to a key through this backend hold that key's lock
//!   shared; the check-and-delete holds it exclusively and counts again
//!   under it, so a `VADD` racing the last `VREM` either lands first (and
//!   the key stays, with it) or runs after the delete and creates the key
//!   again with the spec it saw (`Backend::upsert`): never a lost write or
//!   a half-deleted key. (Writes over HTTP do not take these locks.)

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use vecshard_coordinator::{Coordinator, ErrorKind as CoordKind, Mode, Query, SearchOptions};
use vecshard_host::Collections;
use vecshard_resp::command::LexBound;
use vecshard_resp::{
    AttrUpdate, Backend, CollectionInfo, CollectionSpec, Element, Error, Found, Projection, Quant,
    SearchRequest,
};
use vecshard_server::{App, Catalog};
use vecshard_shard::{ErrorCode, Item, KeyBound, WireMetric, WireQuantization};

use crate::catalog::LocalCatalog;

/// What `meta.json` holds for a set made over RESP.
#[derive(Serialize, Deserialize, PartialEq)]
struct Meta {
    /// `REDUCE`: input dimension and seed.
    projection: Option<(u32, u64)>,
}

/// See the module docs.
pub struct RespBackend {
    collections: Arc<Collections>,
    catalog: LocalCatalog,
    shards: u32,
    draws: std::sync::atomic::AtomicU64,
    /// Per key: writes hold it shared, the delete of an empty key
    /// exclusively (see the module docs). Entries go with their key.
    locks: std::sync::Mutex<HashMap<String, Arc<RwLock<()>>>>,
}

fn coord_err(e: vecshard_coordinator::Error) -> Error {
    match e.kind() {
        CoordKind::BadInput(w) => Error::from(w.clone()),
        _ => Error::err(e.to_string()),
    }
}

fn api_err(e: vecshard_server::ApiError) -> Error {
    Error::err(e.message)
}

impl RespBackend {
    /// A backend over `collections`, creating sets with `shards` shards.
    pub fn new(collections: Arc<Collections>, catalog: LocalCatalog, shards: u32) -> Self {
        RespBackend {
            collections,
            catalog,
            shards: shards.max(1),
            draws: Default::default(),
            locks: Default::default(),
        }
    }

    fn spec_now(&self, name: &str) -> Result<Option<CollectionSpec>, Error> {
        let Some(m) = self.collections.manifest(name) else { return Ok(None) };
        let s = &m.settings;
        if s.metric != WireMetric::Cosine {
            return Err(Error::err(format!(
                "collection {name:?} uses the {:?} metric; vector sets are cosine only (use the \
                 HTTP API for it)",
                s.metric
            )));
        }
        let meta: Option<Meta> =
            self.collections.meta(name).and_then(|b| serde_json::from_slice(&b).ok());
        Ok(Some(CollectionSpec {
            dim: s.dim,
            quant: match s.quantization {
                WireQuantization::F32 => Quant::NoQuant,
                WireQuantization::I8 => Quant::Q8,
                WireQuantization::Binary => Quant::Bin,
            },
            m: s.m,
            ef_construction: s.ef_construction,
            projection: meta
                .and_then(|m| m.projection)
                .map(|(input_dim, seed)| Projection { input_dim, seed }),
        }))
    }

    async fn app(&self, name: &str) -> Result<Option<Arc<App>>, Error> {
        match self.catalog.open(name).await {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.code == "collection_not_found" => Ok(None),
            Err(e) => Err(api_err(e)),
        }
    }

    fn key_lock(&self, name: &str) -> Arc<RwLock<()>> {
        let mut m = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_string()).or_default().clone()
    }

    /// Deletes `name` if it is empty, holding its lock exclusively so that
    /// no write through this backend is in flight.
    async fn delete_when_empty(&self, name: &str) -> Result<bool, Error> {
        let lock = self.key_lock(name);
        let w = lock.write().await;
        let Some(app) = self.coord(name).await? else { return Ok(false) };
        let mut left = 0;
        for r in c(&app).info().await {
            left += r.map_err(|e| Error::err(e.to_string()))?.len;
        }
        drop(app);
        if left > 0 {
            return Ok(false);
        }
        let deleted = self.catalog.delete(name).await.map_err(api_err);
        drop(w);
        drop(lock);
        self.release(name);
        deleted
    }

    /// Forgets `name`'s lock if nobody else holds it (under the map's
    /// mutex, which every new holder takes first, so none can appear).
    fn release(&self, name: &str) {
        let mut m = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if m.get(name).is_some_and(|l| Arc::strong_count(l) == 1) {
            m.remove(name);
        }
    }

    /// A fresh seed for `VRANDMEMBER`: the clock mixed with a counter, so
    /// two calls in the same nanosecond still differ.
    fn seed(&self) -> u64 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let n = self.draws.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        t ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    async fn coord(&self, name: &str) -> Result<Option<Arc<App>>, Error> {
        if self.spec_now(name)?.is_none() {
            return Ok(None);
        }
        self.app(name).await
    }
}

fn c(app: &App) -> &Coordinator {
    app.coordinator()
}

impl Backend for RespBackend {
    async fn spec(&self, name: &str) -> Result<Option<CollectionSpec>, Error> {
        self.spec_now(name)
    }

    async fn info(&self, name: &str) -> Result<Option<CollectionInfo>, Error> {
        let Some(spec) = self.spec_now(name)? else { return Ok(None) };
        let Some(app) = self.app(name).await? else { return Ok(None) };
        let (mut size, mut attrs, mut level, mut slots) = (0, 0, 0, 0);
        for r in c(&app).info().await {
            let i = r.map_err(|e| Error::err(e.to_string()))?;
            size += i.len;
            attrs += i.with_attributes;
            level = level.max(i.max_level);
            slots += i.len;
        }
        Ok(Some(CollectionInfo {
            spec,
            size,
            attributes_count: attrs,
            max_level: level,
            uid: name_hash(name) >> 1,
            max_node_uid: slots,
        }))
    }

    async fn create(&self, name: &str, spec: &CollectionSpec) -> Result<(), Error> {
        let mut s = vecshard_shard::Settings::new(spec.dim, WireMetric::Cosine);
        s.m = spec.m;
        s.ef_construction = spec.ef_construction;
        s.quantization = match spec.quant {
            Quant::NoQuant => WireQuantization::F32,
            Quant::Q8 => WireQuantization::I8,
            Quant::Bin => WireQuantization::Binary,
        };
        let meta = spec.projection.map(|p| {
            serde_json::to_vec(&Meta { projection: Some((p.input_dim, p.seed)) })
                .expect("meta serializes")
        });
        let colls = self.collections.clone();
        let (name, shards) = (name.to_string(), self.shards);
        tokio::task::spawn_blocking(move || {
            colls.create_with_meta(&name, shards, s, meta.as_deref())
        })
        .await
        .map_err(|e| Error::err(e.to_string()))?
        .map(|_| ())
        .map_err(|e| match e.kind() {
            vecshard_host::ErrorKind::CollectionExists { .. } => {
                Error::backend(ErrorCode::SettingsMismatch, e.to_string())
            }
            _ => Error::err(e.to_string()),
        })
    }

    async fn upsert(
        &self,
        name: &str,
        spec: &CollectionSpec,
        element: &str,
        vector: &[f32],
        attributes: AttrUpdate,
    ) -> Result<bool, Error> {
        let lock = self.key_lock(name);
        let _shared = lock.read().await;
        let app = match self.coord(name).await? {
            Some(app) => app,
            None => {
                // Deleted since the session looked (a racing last VREM):
                // create it again as the session saw it.
                self.create(name, spec).await?;
                self.coord(name).await?.ok_or_else(|| Error::err("no such key"))?
            }
        };
        let co = c(&app);
        let attributes = match attributes {
            AttrUpdate::Keep => co.get_attributes(element).await.map_err(coord_err)?.flatten(),
            AttrUpdate::Clear => None,
            AttrUpdate::Set(a) => Some(a),
        };
        let item = Item { key: element.to_string(), vector: vector.to_vec(), attributes };
        let s = co.upsert(vec![item]).await.map_err(coord_err)?;
        Ok(s.inserted == 1)
    }

    async fn search(&self, name: &str, req: &SearchRequest) -> Result<Vec<Found>, Error> {
        let Some(app) = self.coord(name).await? else { return Ok(Vec::new()) };
        let ef = if req.exact { Some(vecshard_shard::limits::MAX_EF) } else { req.ef };
        let q = Query { vector: req.vector.clone(), k: req.k, ef, filter: None };
        let opts = SearchOptions {
            filter: req.filter.clone(),
            filter_ef: req.filter_ef,
            with_attributes: req.with_attributes,
        };
        let r = c(&app).search_with(q, &opts, Mode::Strict).await.map_err(coord_err)?;
        let mut attrs = r.attributes.into_iter();
        Ok(r.hits
            .into_iter()
            .map(|h| Found {
                element: h.key,
                distance: h.distance,
                attributes: if req.with_attributes { attrs.next().flatten() } else { None },
            })
            .collect())
    }

    async fn remove(&self, name: &str, element: &str) -> Result<bool, Error> {
        let (removed, emptied) = {
            let lock = self.key_lock(name);
            let _shared = lock.read().await;
            let Some(app) = self.coord(name).await? else { return Ok(false) };
            let co = c(&app);
            let removed = match co.remove_one(element).await {
                Ok(()) => true,
                Err(e) => match e.kind() {
                    CoordKind::BadInput(w) if w.code == ErrorCode::KeyNotFound => false,
                    _ => return Err(coord_err(e)),
                },
            };
            let mut left = 0;
            if removed {
                for r in co.info().await {
                    left += r.map_err(|e| Error::err(e.to_string()))?.len;
                }
            }
            (removed, removed && left == 0)
        };
        if emptied {
            // Looked empty: check again with writes held off, then delete.
            self.delete_when_empty(name).await?;
        }
        Ok(removed)
    }

    async fn get(&self, name: &str, element: &str) -> Result<Option<Element>, Error> {
        let Some(app) = self.coord(name).await? else { return Ok(None) };
        let item = c(&app).get(element).await.map_err(coord_err)?;
        Ok(item.map(|i| Element { vector: i.vector, attributes: i.attributes }))
    }

    async fn contains(&self, name: &str, element: &str) -> Result<bool, Error> {
        let Some(app) = self.coord(name).await? else { return Ok(false) };
        c(&app).contains(element).await.map_err(coord_err)
    }

    async fn set_attributes(
        &self,
        name: &str,
        element: &str,
        attributes: Option<&[u8]>,
    ) -> Result<bool, Error> {
        let Some(app) = self.coord(name).await? else { return Ok(false) };
        match c(&app).set_attributes(element, attributes.map(<[u8]>::to_vec)).await {
            Ok(()) => Ok(true),
            Err(e) => match e.kind() {
                CoordKind::BadInput(w) if w.code == ErrorCode::KeyNotFound => Ok(false),
                _ => Err(coord_err(e)),
            },
        }
    }

    async fn links(&self, name: &str, element: &str) -> Result<Option<Vec<Vec<Found>>>, Error> {
        let Some(spec) = self.spec_now(name)? else { return Ok(None) };
        let Some(app) = self.app(name).await? else { return Ok(None) };
        let Some(item) = c(&app).get(element).await.map_err(coord_err)? else { return Ok(None) };
        let k = 2 * spec.m + 1;
        let q = Query { vector: item.vector, k, ef: Some(k.max(64)), filter: None };
        let r = c(&app)
            .search_with(q, &SearchOptions::default(), Mode::Strict)
            .await
            .map_err(coord_err)?;
        let layer = r
            .hits
            .into_iter()
            .filter(|h| h.key != element)
            .take(2 * spec.m as usize)
            .map(|h| Found { element: h.key, distance: h.distance, attributes: None })
            .collect();
        Ok(Some(vec![layer]))
    }

    async fn random_members(
        &self,
        name: &str,
        count: usize,
        repeats: bool,
    ) -> Result<Vec<String>, Error> {
        let Some(app) = self.coord(name).await? else { return Ok(Vec::new()) };
        c(&app).random_keys(count, repeats, self.seed()).await.map_err(coord_err)
    }

    async fn range(
        &self,
        name: &str,
        start: &LexBound,
        end: &LexBound,
        count: usize,
    ) -> Result<Vec<String>, Error> {
        let Some(app) = self.coord(name).await? else { return Ok(Vec::new()) };
        let bound = |b: &LexBound| match b {
            LexBound::Unbounded => KeyBound::Unbounded,
            LexBound::Included(s) => KeyBound::Included(s.clone()),
            LexBound::Excluded(s) => KeyBound::Excluded(s.clone()),
        };
        c(&app).list_keys(&bound(start), &bound(end), count).await.map_err(coord_err)
    }

    async fn list(&self) -> Result<Vec<String>, Error> {
        Ok(self.collections.list().into_iter().map(|c| c.name).collect())
    }

    async fn delete(&self, name: &str) -> Result<bool, Error> {
        let lock = self.key_lock(name);
        let w = lock.write().await;
        let deleted = self.catalog.delete(name).await.map_err(api_err);
        drop(w);
        drop(lock);
        self.release(name);
        deleted
    }

    async fn delete_if_empty(&self, name: &str) -> Result<bool, Error> {
        self.delete_when_empty(name).await
    }
}

/// A stable id per collection name (`vset-uid`, shifted to stay a positive
/// RESP integer): FNV-1a of the name.
fn name_hash(name: &str) -> u64 {
    name.bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}
