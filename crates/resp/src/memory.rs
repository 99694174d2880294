//! An in-process [`Backend`]: one [`vecshard_shard::Shard`] per collection
//! in a `BTreeMap`, driven through the shard's public request API.
//!
//! It exists so that this crate's tests (and its fuzz target) run real
//! HNSW search, real filters and real attributes without a server, and as
//! the shape the server's own backend follows: every write is one shard
//! [`Request`], so swapping the map for the coordinator changes where the
//! requests go, not what they are.
//!
//! Where a collection is one shard here but many in the server, the
//! differences are written next to the method (`links`, `random_members`).

use crate::backend::{
    AttrUpdate, Backend, CollectionInfo, CollectionSpec, Element, Found, SearchRequest,
};
use crate::command::{LexBound, Quant};
use crate::error::Error;
use std::collections::BTreeMap;
use std::future::{ready, Future};
use std::sync::{Mutex, MutexGuard};
use vecshard_shard::protocol::{
    ErrorCode, Item, Request, Response, Settings, WireError, WireMetric, WireQuantization,
};
use vecshard_shard::Shard;

struct Set {
    shard: Shard,
    spec: CollectionSpec,
    uid: u64,
}

#[derive(Default)]
struct State {
    sets: BTreeMap<String, Set>,
    next_uid: u64,
    rng: u64,
}

/// The in-memory backend. Cheap to create; `Sync`, with one lock over all
/// collections (tests do not need more).
#[derive(Default)]
pub struct MemoryBackend {
    state: Mutex<State>,
}

impl core::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryBackend").field("collections", &self.lock().sets.len()).finish()
    }
}

fn unexpected(r: Response) -> Error {
    match r {
        Response::Error(e) => e.into(),
        other => {
            Error::backend(ErrorCode::Internal, format!("unexpected shard response {other:?}"))
        }
    }
}

/// The shard settings of a vector set: cosine, the set's M, EF and storage.
pub fn settings_of(spec: &CollectionSpec) -> Settings {
    let mut s = Settings::new(spec.dim, WireMetric::Cosine);
    s.m = spec.m;
    s.ef_construction = spec.ef_construction;
    s.quantization = match spec.quant {
        Quant::NoQuant => WireQuantization::F32,
        Quant::Q8 => WireQuantization::I8,
        Quant::Bin => WireQuantization::Binary,
    };
    s
}

fn in_range(e: &str, start: &LexBound, end: &LexBound) -> bool {
    let lo = match start {
        LexBound::Unbounded => true,
        LexBound::Included(s) => e >= s.as_str(),
        LexBound::Excluded(s) => e > s.as_str(),
    };
    let hi = match end {
        LexBound::Unbounded => true,
        LexBound::Included(s) => e <= s.as_str(),
        LexBound::Excluded(s) => e < s.as_str(),
    };
    lo && hi
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves whole shards behind (every
        // shard request is all-or-nothing), so the data is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn info_now(&self, name: &str) -> Option<CollectionInfo> {
        let st = self.lock();
        let set = st.sets.get(name)?;
        let si = set.shard.info();
        Some(CollectionInfo {
            spec: set.spec.clone(),
            size: si.len,
            attributes_count: si.with_attributes,
            max_level: si.max_level,
            uid: set.uid,
            max_node_uid: set.shard.index().map_or(0, |i| u64::from(i.slot_bound())),
        })
    }

    fn create_now(&self, name: &str, spec: &CollectionSpec) -> Result<(), Error> {
        let mut st = self.lock();
        if let Some(set) = st.sets.get(name) {
            if &set.spec == spec {
                return Ok(());
            }
            return Err(Error::backend(
                ErrorCode::SettingsMismatch,
                format!("collection {name:?} exists with other settings"),
            ));
        }
        let shard = Shard::with_settings(&settings_of(spec))?;
        st.next_uid += 1;
        let uid = st.next_uid - 1;
        st.sets.insert(name.to_owned(), Set { shard, spec: spec.clone(), uid });
        Ok(())
    }

    fn upsert_now(
        &self,
        name: &str,
        spec: &CollectionSpec,
        element: &str,
        vector: &[f32],
        attrs: AttrUpdate,
    ) -> Result<bool, Error> {
        self.create_now(name, spec)?;
        let mut st = self.lock();
        let set = st.sets.get_mut(name).ok_or_else(|| Error::err("no such key"))?;
        let attributes = match attrs {
            AttrUpdate::Keep => set.shard.attributes(element).map(<[u8]>::to_vec),
            AttrUpdate::Clear => None,
            AttrUpdate::Set(a) => Some(a),
        };
        let item = Item { key: element.to_owned(), vector: vector.to_vec(), attributes };
        match set.shard.handle(Request::UpsertJson { items: vec![item] }) {
            Response::Upserted { inserted, .. } => Ok(inserted == 1),
            other => Err(unexpected(other)),
        }
    }

    fn search_now(&self, name: &str, req: &SearchRequest) -> Result<Vec<Found>, Error> {
        let mut st = self.lock();
        let Some(set) = st.sets.get_mut(name) else { return Ok(Vec::new()) };
        if req.exact {
            return exact(&set.shard, req);
        }
        let r = set.shard.handle(Request::FilteredSearch {
            vector: req.vector.clone(),
            k: req.k,
            ef: req.ef,
            key_filter: None,
            filter: req.filter.clone(),
            filter_ef: req.filter_ef,
            with_attributes: req.with_attributes,
        });
        match r {
            Response::SearchHits { hits, .. } => Ok(hits
                .into_iter()
                .map(|h| Found { element: h.key, distance: h.distance, attributes: h.attributes })
                .collect()),
            other => Err(unexpected(other)),
        }
    }

    fn remove_now(&self, name: &str, element: &str) -> Result<bool, Error> {
        let mut st = self.lock();
        let Some(set) = st.sets.get_mut(name) else { return Ok(false) };
        let removed = match set.shard.handle(Request::Remove { keys: vec![element.to_owned()] }) {
            Response::Removed { removed, .. } => removed == 1,
            other => return Err(unexpected(other)),
        };
        if set.shard.is_empty() {
            st.sets.remove(name);
        }
        Ok(removed)
    }

    fn with_set<T>(
        &self,
        name: &str,
        none: T,
        f: impl FnOnce(&Set) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let st = self.lock();
        match st.sets.get(name) {
            Some(set) => f(set),
            None => Ok(none),
        }
    }

    fn random_now(&self, name: &str, count: usize, repeats: bool) -> Result<Vec<String>, Error> {
        let mut st = self.lock();
        let mut rng = st.rng;
        let out = match st.sets.get(name).and_then(|s| s.shard.index()) {
            None => Vec::new(),
            Some(index) => {
                let keys: Vec<&str> = index.keys().collect();
                let mut next = || {
                    rng = crate::backend::splitmix(rng);
                    rng
                };
                if keys.is_empty() {
                    Vec::new()
                } else if repeats {
                    (0..count)
                        .map(|_| keys[(next() % keys.len() as u64) as usize].to_owned())
                        .collect()
                } else {
                    // A partial Fisher–Yates shuffle: `count` distinct draws.
                    let mut idx: Vec<usize> = (0..keys.len()).collect();
                    let take = count.min(keys.len());
                    for i in 0..take {
                        let j = i + (next() % (keys.len() - i) as u64) as usize;
                        idx.swap(i, j);
                    }
                    idx[..take].iter().map(|&i| keys[i].to_owned()).collect()
                }
            }
        };
        st.rng = rng;
        Ok(out)
    }
}

/// `TRUTH`: every element is scored, the filter (if any) evaluated on each
/// element's attributes with the same [`vecshard_filter::Filter`] the shard
/// uses, so the answer is the exact top `k`.
fn exact(shard: &Shard, req: &SearchRequest) -> Result<Vec<Found>, Error> {
    let Some(index) = shard.index() else { return Ok(Vec::new()) };
    let filter = match &req.filter {
        Some(f) => Some(
            vecshard_filter::Filter::compile(f)
                .map_err(|e| Error::err(format!("invalid filter: {e}")))?,
        ),
        None => None,
    };
    let pred = |key: &str| match &filter {
        None => true,
        Some(f) => {
            let attrs =
                shard.attributes(key).and_then(|a| vecshard_filter::Attributes::parse(a).ok());
            f.eval_element(attrs.as_ref())
        }
    };
    let hits = index
        .exact_search(&req.vector, req.k as usize, Some(&pred))
        .map_err(|e| Error::from(WireError::from(e)))?;
    Ok(hits
        .into_iter()
        .map(|h| Found {
            element: h.key.to_owned(),
            distance: h.distance,
            attributes: if req.with_attributes {
                shard.attributes(h.key).map(<[u8]>::to_vec)
            } else {
                None
            },
        })
        .collect())
}

/// Runs a future that never waits on I/O (every [`MemoryBackend`] future
/// is ready at once) to completion on the current thread.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

impl Backend for MemoryBackend {
    fn spec(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<CollectionSpec>, Error>> + Send {
        ready(Ok(self.lock().sets.get(name).map(|s| s.spec.clone())))
    }

    fn info(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<CollectionInfo>, Error>> + Send {
        ready(Ok(self.info_now(name)))
    }

    fn create(
        &self,
        name: &str,
        spec: &CollectionSpec,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        ready(self.create_now(name, spec))
    }

    fn upsert(
        &self,
        name: &str,
        spec: &CollectionSpec,
        element: &str,
        vector: &[f32],
        attributes: AttrUpdate,
    ) -> impl Future<Output = Result<bool, Error>> + Send {
        ready(self.upsert_now(name, spec, element, vector, attributes))
    }

    fn search(
        &self,
        name: &str,
        req: &SearchRequest,
    ) -> impl Future<Output = Result<Vec<Found>, Error>> + Send {
        ready(self.search_now(name, req))
    }

    fn remove(
        &self,
        name: &str,
        element: &str,
    ) -> impl Future<Output = Result<bool, Error>> + Send {
        ready(self.remove_now(name, element))
    }

    fn get(
        &self,
        name: &str,
        element: &str,
    ) -> impl Future<Output = Result<Option<Element>, Error>> + Send {
        ready(self.with_set(name, None, |s| {
            Ok(s.shard.index().and_then(|i| i.get(element)).map(|vector| Element {
                vector,
                attributes: s.shard.attributes(element).map(<[u8]>::to_vec),
            }))
        }))
    }

    fn contains(
        &self,
        name: &str,
        element: &str,
    ) -> impl Future<Output = Result<bool, Error>> + Send {
        ready(
            self.with_set(name, false, |s| {
                Ok(s.shard.index().is_some_and(|i| i.contains(element)))
            }),
        )
    }

    fn set_attributes(
        &self,
        name: &str,
        element: &str,
        attributes: Option<&[u8]>,
    ) -> impl Future<Output = Result<bool, Error>> + Send {
        let r = (|| {
            let mut st = self.lock();
            let Some(set) = st.sets.get_mut(name) else { return Ok(false) };
            let req = Request::SetAttributes {
                key: element.to_owned(),
                attributes: attributes.map(<[u8]>::to_vec),
            };
            match set.shard.handle(req) {
                Response::AttributesSet => Ok(true),
                Response::Error(e) if e.code == ErrorCode::KeyNotFound => Ok(false),
                other => Err(unexpected(other)),
            }
        })();
        ready(r)
    }

    /// The shard does not expose its graph's links, so this answers with
    /// the element's nearest neighbours in one layer: the `2M` closest
    /// other elements, which is what layer 0 of a well-built HNSW graph
    /// approximates. (A public `Index::links(slot, layer)` would make this
    /// exact; see the crate docs.)
    fn links(
        &self,
        name: &str,
        element: &str,
    ) -> impl Future<Output = Result<Option<Vec<Vec<Found>>>, Error>> + Send {
        let r = self.with_set(name, None, |s| {
            let Some(index) = s.shard.index() else { return Ok(None) };
            let Some(v) = index.get(element) else { return Ok(None) };
            let k = (2 * s.spec.m as usize + 1).min(index.len());
            let hits =
                index.exact_search(&v, k, None).map_err(|e| Error::from(WireError::from(e)))?;
            let layer = hits
                .into_iter()
                .filter(|h| h.key != element)
                .take(2 * s.spec.m as usize)
                .map(|h| Found {
                    element: h.key.to_owned(),
                    distance: h.distance,
                    attributes: None,
                })
                .collect();
            Ok(Some(vec![layer]))
        });
        ready(r)
    }

    /// Uniform over the elements (one shard holds them all here; a sharded
    /// backend should draw shards in proportion to their sizes).
    fn random_members(
        &self,
        name: &str,
        count: usize,
        repeats: bool,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        ready(self.random_now(name, count, repeats))
    }

    fn range(
        &self,
        name: &str,
        start: &LexBound,
        end: &LexBound,
        count: usize,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        ready(self.with_set(name, Vec::new(), |s| {
            let Some(index) = s.shard.index() else { return Ok(Vec::new()) };
            let mut keys: Vec<&str> = index.keys().filter(|k| in_range(k, start, end)).collect();
            keys.sort_unstable();
            Ok(keys.into_iter().take(count).map(str::to_owned).collect())
        }))
    }

    fn list(&self) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        ready(Ok(self.lock().sets.keys().cloned().collect()))
    }

    fn delete(&self, name: &str) -> impl Future<Output = Result<bool, Error>> + Send {
        ready(Ok(self.lock().sets.remove(name).is_some()))
    }

    fn delete_if_empty(&self, name: &str) -> impl Future<Output = Result<bool, Error>> + Send {
        let mut st = self.lock();
        let empty = st.sets.get(name).is_some_and(|s| s.shard.is_empty());
        if empty {
            st.sets.remove(name);
        }
        ready(Ok(empty))
    }
}
