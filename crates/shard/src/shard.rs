//! [`Shard`]: the core index plus attributes, driven by [`Request`]s.
//!
//! # Filtered search: the planner
//!
//! A [`Request::FilteredSearch`] must return `min(k, matches)` hits, the
//! true nearest ones among the matches as far as the graph allows. Per
//! query the shard picks one of two strategies by their cost in distance
//! computations (`d`, the unit: about 30 ns for 128 f32 dimensions; a
//! filter evaluation is a few times cheaper, a bitmap test far cheaper):
//!
//! * **exact scan** of the `m` matching slots: `m · d`, sequential, and
//!   exact. When the attribute indexes produced the candidate set, only
//!   its members are evaluated; otherwise every live slot is (`n` cheap
//!   evaluations plus `m · d`).
//! * **filtered graph walk** (the core's two-hop walk, ACORN-1 style): to
//!   collect `ef` matches it has to expand about `ef / p` nodes, `p = m / n`
//!   the selectivity, at a few `d` each (random access, neighbour lists):
//!   `≈ c · ef · n / m · d`.
//!
//! The two cross where `m · d = ef · n / m · d`, i.e. `m = sqrt(ef · n)`;
//! the walk's constant (`c` > 1, scattered reads) and the exact scan's
//! sequential reads move the crossing up, so the shard scans exactly when
//! `m ≤ T = max(1024, 2 · sqrt(ef · n))` (at n = 100k, ef = 64: T ≈ 5000,
//! 5%). Without a candidate set from the indexes the scan also pays `n`
//! evaluations (about `d/2` each: slot, attributes, field are dependent
//! reads), `n/2 + m` against `4 · ef · n / m`, so there the limit is
//! `min(T, 8 · ef)`. `m` comes from the attribute indexes when the filter's [`Plan`]
//! can use them (exact counts for `==`/`in`, counted ranges up to `T`, set
//! intersections for `and`, unions for `or`), else from evaluating the
//! filter on random live slots until 32 match or 2048 were tested (the
//! sample says `m ≈ 0` for selectivities under ~0.05%, and then the exact
//! scan is also the only way to prove that fewer than `k` elements match). If the walk returns fewer
//! than `k` hits, the shard does not know `matches`, so it finishes with
//! the exact scan, which does.
//!
//! [`Plan`]: vecshard_filter::Plan

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use vecshard_core::{Index, Scratch};
use vecshard_filter::{Attributes, Filter as Expr};

use crate::attrs::{AttrStore, Estimate, Incoming, SlotBits};
use crate::protocol::{
    decode_request, encode_response, ErrorCode, Filter, Hit, Item, ItemOut, KeyBound, PlanKind,
    Request, Response, SearchHit, Settings, ShardInfo, WireError, MAX_ATTRIBUTES_LEN,
    MAX_KEYS_PAGE, MAX_KEYS_PAGE_BYTES,
};
use crate::snapshot::{Encoder, Loader, PairSource};

/// Tuning of the filtered-search planner (not on the wire; tests and
/// benchmarks use it to force one strategy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannerConfig {
    /// Scan exactly when at most this many elements may match; `None`:
    /// `max(1024, 2·sqrt(ef·n))` (see the module docs).
    pub exact_threshold: Option<usize>,
    /// Most live slots evaluated to estimate the selectivity of a filter
    /// the indexes cannot answer (sampling stops earlier once
    /// [`SAMPLE_HITS`] matched).
    pub sample: usize,
    /// Walk through non-matching nodes as candidates (the core's
    /// `search_filtered_dense_with`) when at least this percentage of the
    /// elements is estimated to match; below it, the two-hop walk. At 10%
    /// on glove100-100k the dense walk was faster (0.9 against 1.3 ms) and
    /// more accurate (recall 1.000 against 0.9975); at 6% slower (1.3
    /// against 0.7 ms).
    pub dense_percent: usize,
}

impl Default for PlannerConfig {
    fn default() -> PlannerConfig {
        PlannerConfig { exact_threshold: None, sample: 2048, dense_percent: 10 }
    }
}

/// One shard: an optional index (absent until `Create` or `Restore`), the
/// attributes of its elements (bytes, typed, indexed; keyed by slot), and
/// a search scratch reused across queries.
///
/// Every request either succeeds or changes nothing: writes validate all of
/// their input before the first change.
pub struct Shard {
    index: Option<Index>,
    attrs: AttrStore,
    planner: PlannerConfig,
    scratch: Scratch,
    /// Bumped by every write, so a [`SnapshotStream`] can tell that the
    /// shard changed under it.
    generation: u64,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard {
            index: None,
            attrs: AttrStore::default(),
            planner: PlannerConfig::default(),
            scratch: Scratch::new(),
            generation: 0,
        }
    }
}

impl core::fmt::Debug for Shard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shard")
            .field("len", &self.len())
            .field("attributes", &self.attrs.count())
            .finish_non_exhaustive()
    }
}

fn not_initialized() -> WireError {
    WireError::new(
        ErrorCode::NotInitialized,
        "the shard holds no index yet; send Create (with settings) or Restore (with a snapshot)",
    )
}

fn too_large(key: &str) -> WireError {
    WireError::new(
        ErrorCode::AttributesTooLarge,
        format!(
            "attributes of {key:?} are over {MAX_ATTRIBUTES_LEN} bytes; store large payloads \
             elsewhere and keep a reference"
        ),
    )
}

/// Parses attribute bytes. `strict`: anything but a JSON object is an
/// error; otherwise such bytes are kept untyped (old data).
fn parse_attrs(key: &str, raw: Vec<u8>, strict: bool) -> Result<Incoming, WireError> {
    if raw.len() > MAX_ATTRIBUTES_LEN {
        return Err(too_large(key));
    }
    match Attributes::parse(&raw) {
        Ok(t) => Ok(Incoming { raw, typed: Some(t) }),
        Err(_) if !strict => Ok(Incoming { raw, typed: None }),
        Err(e) => Err(WireError::new(
            ErrorCode::InvalidAttributes,
            format!("attributes of {key:?} must be a JSON object: {e}"),
        )),
    }
}

fn invalid_filter(e: impl core::fmt::Display) -> WireError {
    WireError::new(ErrorCode::InvalidFilter, format!("invalid_filter: {e}"))
}

/// `floor(sqrt(x))` without floating point (no_std has no `f64::sqrt`).
fn isqrt(x: u64) -> u64 {
    if x < 2 {
        return x;
    }
    let mut r = 1u64 << (64 - x.leading_zeros()).div_ceil(2);
    loop {
        let next = (r + x / r) / 2;
        if next >= r {
            return r;
        }
        r = next;
    }
}

/// SplitMix64 step (the sampling generator).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The planner's exact-scan threshold `T = max(1024, 2·sqrt(ef·n))` (see
/// the module docs); shared with the npm `Index`, which plans the same way.
pub fn exact_threshold(ef: usize, n: usize) -> usize {
    (2 * isqrt((ef as u64).saturating_mul(n as u64))).max(1024) as usize
}

/// Matches after which [`sample_matches`] stops sampling: enough for an
/// estimate within about ±20% (one standard deviation of a count of 32 is
/// 1/sqrt(32) of it).
pub const SAMPLE_HITS: usize = 32;

/// Estimates how many of `n` live elements pass `matches` by testing up to
/// `sample` random live slots below `slot_bound` (`live` says which slots
/// hold an element), stopping early once [`SAMPLE_HITS`] have matched: a
/// common filter is measured after a few dozen tests, a rare one gets the
/// whole sample (a fixed sample of 256 saw a 1% filter match 0 or 1 times
/// one time in four, estimated it under the scan limit and scanned all
/// 100,000 elements). One sampled match stands for `n/seen`, rounded up.
/// The generator starts at `seed`, so a caller that seeds from the query
/// text gets the same plan for the same query.
pub fn sample_matches(
    seed: u64,
    n: usize,
    slot_bound: u32,
    sample: usize,
    live: &dyn Fn(u32) -> bool,
    matches: &dyn Fn(u32) -> bool,
) -> usize {
    let mut seed = seed;
    let (mut seen, mut hit, mut tries) = (0usize, 0usize, 0usize);
    while slot_bound > 0 && seen < sample && hit < SAMPLE_HITS && tries < 4 * sample {
        tries += 1;
        let s = (splitmix(&mut seed) % u64::from(slot_bound)) as u32;
        if !live(s) {
            continue;
        }
        seen += 1;
        hit += matches(s) as usize;
    }
    if seen == 0 {
        0
    } else {
        (hit * n).div_ceil(seen)
    }
}

impl Shard {
    /// An empty shard with no index.
    pub fn new() -> Shard {
        Shard::default()
    }

    /// A shard with an empty index built from `settings`.
    pub fn with_settings(settings: &Settings) -> Result<Shard, WireError> {
        let mut s = Shard::new();
        s.create(settings)?;
        Ok(s)
    }

    /// A shard restored from snapshot bytes ([`crate::snapshot`]): a
    /// [`ShardLoader`] fed the whole slice. The typed attributes and their
    /// indexes are rebuilt from the stored bytes; bytes that are not a
    /// JSON object (written before attributes were typed) are kept, and the
    /// filter sees no attributes for them.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Shard, WireError> {
        let mut l = ShardLoader::new().expect_len(bytes.len() as u64);
        l.push(bytes)?;
        l.finish()
    }

    /// The shard snapshot bytes, or `None` before the index exists: a
    /// [`ShardSnapshotWriter`] drained into one buffer.
    pub fn snapshot(&self) -> Option<Vec<u8>> {
        let mut w = self.snapshot_writer()?;
        let mut out = alloc::vec![0u8; usize::try_from(w.len()).unwrap_or(usize::MAX)];
        let n = w.read(&mut out).ok()?;
        out.truncate(n);
        Some(out)
    }

    /// Live elements (0 before the index exists).
    pub fn len(&self) -> usize {
        self.index.as_ref().map_or(0, Index::len)
    }

    /// Whether the shard holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index, if created.
    pub fn index(&self) -> Option<&Index> {
        self.index.as_ref()
    }

    /// The planner's tuning.
    pub fn planner(&self) -> PlannerConfig {
        self.planner
    }

    /// Changes the planner's tuning (tests and benchmarks force a strategy
    /// with it; the defaults are what production uses).
    pub fn set_planner(&mut self, planner: PlannerConfig) {
        self.planner = planner;
    }

    /// The attribute bytes of `key`, if it is present and has attributes.
    pub fn attributes(&self, key: &str) -> Option<&[u8]> {
        let index = self.index.as_ref()?;
        self.attrs.get(index.slot_of(key)?).map(|e| &e.raw[..])
    }

    /// Decodes `bytes`, handles the request and encodes the response.
    /// Malformed bytes get an error response; this never panics on input.
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Vec<u8> {
        let resp = match decode_request(bytes) {
            Ok(req) => self.handle(req),
            Err(e) => Response::Error(e),
        };
        encode_response(&resp)
    }

    /// Handles one request.
    pub fn handle(&mut self, req: Request) -> Response {
        // Any write (even one that fails, or a Restore that replaces the
        // whole shard) ends the snapshot streams begun before it.
        let (write, generation) = (req.is_write(), self.generation);
        let r = match self.try_handle(req) {
            Ok(r) => r,
            Err(e) => Response::Error(e),
        };
        if write {
            self.generation = generation.wrapping_add(1);
        }
        r
    }

    fn index_mut(&mut self) -> Result<&mut Index, WireError> {
        self.index.as_mut().ok_or_else(not_initialized)
    }

    fn create(&mut self, settings: &Settings) -> Result<(), WireError> {
        if let Some(index) = &self.index {
            let have = Settings::from(index.config());
            if &have == settings {
                return Ok(());
            }
            return Err(WireError::new(
                ErrorCode::SettingsMismatch,
                format!(
                    "the shard already holds an index with settings {have:?}, not {settings:?}"
                ),
            ));
        }
        self.index = Some(Index::new(settings.to_config())?);
        Ok(())
    }

    /// Upsert (`strict`: attributes must be JSON objects). Validates
    /// everything, lets the core apply the batch (it validates before it
    /// changes anything), then moves the attributes to the new slots.
    fn upsert(&mut self, items: Vec<Item>, strict: bool) -> Result<Response, WireError> {
        let index = self.index.as_ref().ok_or_else(not_initialized)?;
        let mut entries = Vec::with_capacity(items.len());
        let mut pairs: Vec<(&str, &[f32])> = Vec::with_capacity(items.len());
        let mut old_slots = Vec::new();
        for it in &items {
            entries.push(match &it.attributes {
                None => None,
                Some(a) => Some(parse_attrs(&it.key, a.clone(), strict)?),
            });
            pairs.push((it.key.as_str(), it.vector.as_slice()));
            old_slots.extend(index.slot_of(&it.key));
        }
        let inserted = self.index.as_mut().ok_or_else(not_initialized)?.upsert_batch(&pairs)?;
        let total = pairs.len() as u32;
        drop(pairs);
        // The core applied the batch. An updated key was re-linked and may
        // sit in another slot now; clear every old slot first, then file
        // each item (the last of a repeated key wins) under its new slot.
        for s in old_slots {
            self.attrs.clear(s);
        }
        let index = self.index.as_ref().ok_or_else(not_initialized)?;
        for (it, entry) in items.iter().zip(entries) {
            let Some(slot) = index.slot_of(&it.key) else { continue };
            self.attrs.set(slot, entry);
        }
        let n = pairs_len(inserted);
        Ok(Response::Upserted { inserted: n, updated: total - n })
    }

    fn try_handle(&mut self, req: Request) -> Result<Response, WireError> {
        match req {
            Request::Create { settings } => {
                self.create(&settings)?;
                Ok(Response::Created)
            }
            Request::Upsert { items } => self.upsert(items, false),
            Request::UpsertJson { items } => self.upsert(items, true),
            Request::Remove { keys } => {
                let index = self.index_mut()?;
                let slots: Vec<u32> = keys.iter().filter_map(|k| index.slot_of(k)).collect();
                let removed = index.remove_batch(&keys);
                for s in slots {
                    self.attrs.clear(s);
                }
                Ok(Response::Removed {
                    removed: removed as u32,
                    not_found: (keys.len() - removed) as u32,
                })
            }
            Request::Search { vector, k, ef, filter } => {
                crate::limits::check_search(k, ef, filter.as_ref())?;
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                let keyset: Option<alloc::collections::BTreeSet<&str>> = match &filter {
                    Some(Filter::Keys(ks)) => Some(ks.iter().map(String::as_str).collect()),
                    _ => None,
                };
                let pred = |key: &str| match &filter {
                    Some(Filter::KeyPrefix(p)) => key.starts_with(p.as_str()),
                    Some(Filter::Keys(_)) => keyset.as_ref().is_some_and(|s| s.contains(key)),
                    None => true,
                };
                let f: vecshard_core::Filter<'_> =
                    if filter.is_some() { Some(&pred) } else { None };
                let hits = index.search_with(
                    &mut self.scratch,
                    &vector,
                    k as usize,
                    ef.map(|e| e as usize),
                    f,
                )?;
                Ok(Response::Hits {
                    hits: hits
                        .iter()
                        .map(|h| Hit { key: h.key.to_string(), distance: h.distance })
                        .collect(),
                })
            }
            Request::Get { key } => {
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                let attributes =
                    index.slot_of(&key).and_then(|s| self.attrs.get(s)).map(|e| e.raw.to_vec());
                let item = index.get(&key).map(|vector| ItemOut { attributes, key, vector });
                Ok(Response::Item { item })
            }
            Request::Contains { key } => {
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                Ok(Response::Contains { present: index.contains(&key) })
            }
            Request::Info => Ok(Response::Info { info: self.info() }),
            Request::Snapshot => {
                let bytes = self.snapshot().ok_or_else(not_initialized)?;
                Ok(Response::Snapshot { bytes })
            }
            Request::ListKeys { start, end, limit } => {
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                Ok(list_keys(index, &start, &end, limit))
            }
            Request::RandomKeys { count, distinct, seed, skip } => {
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                Ok(random_keys(index, count, distinct, seed, skip))
            }
            Request::Reserve { additional } => {
                let n = usize::try_from(additional).unwrap_or(usize::MAX);
                self.index_mut()?.try_reserve(n)?;
                Ok(Response::Reserved)
            }
            Request::Restore { bytes } => {
                let fresh = Shard::from_snapshot(&bytes)?;
                let len = fresh.len() as u64;
                let planner = self.planner;
                *self = fresh;
                self.planner = planner;
                Ok(Response::Restored { len })
            }
            Request::SetAttributes { key, attributes } => {
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                let slot = index.slot_of(&key).ok_or_else(|| {
                    WireError::new(ErrorCode::KeyNotFound, format!("no element with key {key:?}"))
                })?;
                let entry = match attributes {
                    None => None,
                    Some(a) => Some(parse_attrs(&key, a, true)?),
                };
                self.attrs.set(slot, entry);
                Ok(Response::AttributesSet)
            }
            Request::GetAttributes { key } => {
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                let slot = index.slot_of(&key);
                Ok(Response::Attributes {
                    present: slot.is_some(),
                    attributes: slot.and_then(|s| self.attrs.get(s)).map(|e| e.raw.to_vec()),
                })
            }
            Request::FilteredSearch {
                vector,
                k,
                ef,
                key_filter,
                filter,
                filter_ef,
                with_attributes,
            } => {
                crate::limits::check_search(k, ef, key_filter.as_ref())?;
                self.filtered_search(&FilteredQuery {
                    vector: &vector,
                    k: k as usize,
                    ef: ef.map(|e| e as usize),
                    key_filter: key_filter.as_ref(),
                    filter: filter.as_deref(),
                    filter_ef: filter_ef.map(|e| e as usize),
                    with_attributes,
                })
            }
        }
    }

    /// The planner (see the module docs): exact scan when few elements may
    /// match, otherwise the core's filtered walk, finished by an exact scan
    /// when it comes up short. Always `min(k, matches)` hits.
    fn filtered_search(&mut self, q: &FilteredQuery<'_>) -> Result<Response, WireError> {
        let Shard { index, attrs, planner, scratch, .. } = self;
        let index = index.as_ref().ok_or_else(not_initialized)?;
        if q.k == 0 {
            return Err(WireError::new(ErrorCode::InvalidK, "k must be at least 1"));
        }
        // Compile first: a bad filter is an error even on an empty shard.
        let expr = match q.filter {
            None => None,
            Some(src) if src.len() > Expr::MAX_LEN => {
                return Err(invalid_filter(format!(
                    "the filter is {} bytes; the limit is {}",
                    src.len(),
                    Expr::MAX_LEN
                )))
            }
            Some(src) => Some(Expr::compile(src).map_err(invalid_filter)?),
        };
        let with =
            |hits: Vec<vecshard_core::Hit<'_>>, plan: PlanKind| -> Result<Response, WireError> {
                let hits = hits
                    .iter()
                    .map(|h| SearchHit {
                        key: h.key.to_string(),
                        distance: h.distance,
                        attributes: if q.with_attributes {
                            index.slot_of(h.key).and_then(|s| attrs.get(s)).map(|e| e.raw.to_vec())
                        } else {
                            None
                        },
                    })
                    .collect();
                Ok(Response::SearchHits { hits, plan })
            };
        if expr.is_none() && q.key_filter.is_none() {
            let hits = index.search_with(scratch, q.vector, q.k, q.ef, None)?;
            return with(hits, PlanKind::Unfiltered);
        }

        // The key filter as a slot test; a key list is also a candidate set.
        let mut key_set: Option<Vec<u32>> = None;
        if let Some(Filter::Keys(keys)) = q.key_filter {
            let mut v: Vec<u32> = keys.iter().filter_map(|k| index.slot_of(k)).collect();
            v.sort_unstable();
            v.dedup();
            key_set = Some(v);
        }
        let prefix = match q.key_filter {
            Some(Filter::KeyPrefix(p)) => Some(p.as_str()),
            _ => None,
        };
        let bound_expr = expr.as_ref().map(|f| attrs.bind(f));
        let keys_match = |slot: u32| -> bool {
            if let Some(p) = prefix {
                if !index.key_of(slot).is_some_and(|k| k.starts_with(p)) {
                    return false;
                }
            }
            if let Some(ks) = &key_set {
                if ks.binary_search(&slot).is_err() {
                    return false;
                }
            }
            true
        };
        let matches =
            |slot: u32| keys_match(slot) && bound_expr.as_ref().is_none_or(|b| b.matches(slot));
        // Whether the plan's candidates are exactly the filter's matches
        // (see `Filter::exact_plan`): then a candidate from the indexes
        // needs no evaluation, only the key predicates.
        let plan_exact = expr
            .as_ref()
            .and_then(|f| f.exact_plan())
            .is_some_and(|no_arrays| no_arrays.iter().all(|f| attrs.arrays_in(f) == 0));

        let n = index.len();
        let ef = q.ef.unwrap_or(index.config().ef_search).max(q.k);
        let threshold = planner.exact_threshold.unwrap_or_else(|| exact_threshold(ef, n));
        let mut est = match &expr {
            Some(f) => attrs.estimate(&f.plan(), threshold),
            None => Estimate::Unknown,
        };
        if let Some(ks) = &key_set {
            est = match est {
                // Still complete: the key list is re-checked per slot.
                Estimate::Set(s, c) => Estimate::Set(crate::attrs::intersect(&s, ks), c),
                _ => Estimate::Set(ks.clone(), expr.is_none()),
            };
        }
        let (cands, cands_exact): (Option<Vec<u32>>, bool) = match est {
            Estimate::Set(s, complete) => (Some(s), complete && (plan_exact || expr.is_none())),
            _ => (None, false),
        };
        // A filter no index can answer, over numbers only: evaluate it on
        // every element, 64 at a time (`Filter::lanes`, reading each column
        // in slot order), which is cheap enough to replace both the sampled
        // estimate and the walk's per-slot evaluations with the exact
        // matches as a bitmap (fbench, 1% `.u % 100 == 3`: see README).
        // Worth it unless the filter is common: a walk under a filter that
        // most elements pass evaluates only a few thousand slots, fewer
        // than the `n` of the scan (a first sample of 256 tells: above
        // 1/8 it has seen 32 matches and stopped early).
        let bound = index.slot_bound() as usize;
        let seed = xxhash_rust::xxh3::xxh3_64(q.filter.unwrap_or("").as_bytes());
        let live = |s: u32| index.key_of(s).is_some();
        let scanned: Option<SlotBits> = match (&cands, &expr, &bound_expr) {
            (None, Some(f), Some(_)) => f.lanes().filter(|_| {
                sample_matches(seed, n, index.slot_bound(), 256, &live, &matches) <= n / 8
            }),
            _ => None,
        }
        .zip(bound_expr.as_ref())
        .map(|(l, b)| b.scan_all(&l, bound));
        // Exact scan over the candidate set, or over every live slot.
        let exact = || -> Result<Vec<vecshard_core::Hit<'_>>, WireError> {
            if let Some(bits) = &scanned {
                let mut it = bits.iter().filter(|&s| keys_match(s));
                return Ok(index.exact_search_slots(q.vector, q.k, &mut it)?);
            }
            let hits = match &cands {
                Some(c) if cands_exact => {
                    let mut it = c.iter().copied().filter(|&s| keys_match(s));
                    index.exact_search_slots(q.vector, q.k, &mut it)?
                }
                Some(c) => {
                    let mut it = c.iter().copied().filter(|&s| matches(s));
                    index.exact_search_slots(q.vector, q.k, &mut it)?
                }
                None => {
                    let mut it = (0..index.slot_bound())
                        .filter(|&s| index.key_of(s).is_some() && matches(s));
                    index.exact_search_slots(q.vector, q.k, &mut it)?
                }
            };
            Ok(hits)
        };
        let estimated = match (&cands, &scanned) {
            (Some(c), _) => c.len(),
            (None, Some(bits)) => bits.count(),
            // Sample live slots (a fixed seed per query text: the same query
            // gets the same plan).
            (None, None) => {
                sample_matches(seed, n, index.slot_bound(), planner.sample, &live, &matches)
            }
        };
        // Without a candidate set the scan also evaluates the filter on all
        // `n` live slots, each a few dependent reads (slot -> attributes ->
        // field), about half a distance: `n/2 + m` against the walk's
        // `4 · ef · n / m` crosses near `m = 8 · ef` (fbench: a 1% filter
        // no index can answer took 100x an unfiltered search as a scan).
        let limit = match (&cands, &scanned) {
            (None, None) => threshold.min(8 * ef),
            _ => threshold,
        };
        if estimated <= limit {
            return with(exact()?, PlanKind::Exact);
        }
        // The walk looks through many non-matching slots: test a bitmap of
        // the plan's candidates (a superset of the matches) before the
        // expression, so most of them cost a bit test instead of an
        // evaluation (fbench, 10% range: 23.5 ms -> see README).
        let built = match (&cands, &expr, &scanned) {
            (Some(c), _, _) => Some(SlotBits::of_slots(c, bound)),
            (None, Some(f), None) => attrs.bitmap(&f.plan(), bound),
            _ => None,
        };
        let pre: Option<&SlotBits> = built.as_ref().or(scanned.as_ref());
        // With an exact plan the bitmap *is* the filter, and so is the
        // bitmap of a full scan.
        let pre_exact = match (&cands, &scanned) {
            (None, Some(_)) => true,
            _ => plan_exact && pre.is_some(),
        };
        let pre_then_matches = |slot: u32| match pre {
            Some(b) if pre_exact => b.contains(slot) && keys_match(slot),
            Some(b) => b.contains(slot) && matches(slot),
            None => matches(slot),
        };
        let pred: &dyn Fn(u32) -> bool = &pre_then_matches;
        // A filter most elements pass: walk the index's own graph and
        // keep the matches (see `Index::search_filtered_dense_with`).
        let dense = estimated.saturating_mul(100) >= planner.dense_percent.saturating_mul(n);
        let walk = if dense {
            index.search_filtered_dense_with(scratch, q.vector, q.k, ef, pred, q.filter_ef)?
        } else {
            index.search_filtered_with(scratch, q.vector, q.k, ef, pred, q.filter_ef)?
        };
        // A complete walk holds min(k, matches); a stopped one that still
        // found k is kept (approximate, like any graph search).
        if walk.complete || walk.hits.len() >= q.k {
            return with(walk.hits, PlanKind::Walk);
        }
        drop(walk);
        with(exact()?, PlanKind::WalkThenExact)
    }

    /// Counts, settings and memory.
    pub fn info(&self) -> ShardInfo {
        match &self.index {
            None => ShardInfo {
                settings: None,
                len: 0,
                with_attributes: 0,
                index_bytes: 0,
                attribute_bytes: 0,
                max_level: 0,
                kernel: String::new(),
            },
            Some(index) => {
                // O(1): `Info` backs `/healthz`, so it must not walk the
                // graph (`Index::stats` does).
                ShardInfo {
                    settings: Some(Settings::from(index.config())),
                    len: index.len() as u64,
                    with_attributes: self.attrs.count() as u64,
                    index_bytes: index.memory_bytes() as u64,
                    attribute_bytes: self.attrs.bytes() as u64,
                    max_level: index.max_level() as u32,
                    kernel: index.kernel_name().to_string(),
                }
            }
        }
    }
}

fn pairs_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// Streaming snapshots of a whole shard
// ---------------------------------------------------------------------------

/// The shard's attribute pairs in key order, for the container encoder.
struct ShardPairs<'a> {
    index: &'a Index,
    attrs: &'a AttrStore,
    order: &'a [u32],
}

impl PairSource for ShardPairs<'_> {
    fn pair_count(&self) -> usize {
        self.order.len()
    }
    fn pair(&self, i: usize) -> Option<(&str, &[u8])> {
        let slot = *self.order.get(i)?;
        Some((self.index.key_of(slot)?, &self.attrs.get(slot)?.raw[..]))
    }
}

/// A shard snapshot being written, held apart from the shard: each
/// [`Shard::snapshot_read`] is given the shard again, so the wasm guest (or
/// a JS binding) can hand out one chunk per call. Any write to the shard
/// ends the stream (the next read fails); start a new one.
#[derive(Clone, Debug)]
pub struct SnapshotStream {
    enc: Encoder,
    /// Slots with attributes, in key order (4 bytes each: the only copy
    /// of anything a stream keeps).
    order: Vec<u32>,
    generation: u64,
}

impl SnapshotStream {
    /// Total bytes of the snapshot.
    pub fn len(&self) -> u64 {
        self.enc.len()
    }

    /// Whether the snapshot is empty (never).
    pub fn is_empty(&self) -> bool {
        self.enc.is_empty()
    }

    /// Bytes handed out so far.
    pub fn written(&self) -> u64 {
        self.enc.written()
    }
}

/// Writes a shard snapshot in pieces, borrowing the shard: from
/// [`Shard::snapshot_writer`]. With `std` it is a `std::io::Read`.
#[derive(Debug)]
pub struct ShardSnapshotWriter<'a> {
    shard: &'a Shard,
    stream: SnapshotStream,
}

impl ShardSnapshotWriter<'_> {
    /// Total bytes of the snapshot.
    pub fn len(&self) -> u64 {
        self.stream.len()
    }

    /// Whether the snapshot is empty (never).
    pub fn is_empty(&self) -> bool {
        self.stream.is_empty()
    }

    /// Fills `out` with the next bytes; returns how many (0 once done).
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize, WireError> {
        self.shard.snapshot_read(&mut self.stream, out)
    }
}

#[cfg(feature = "std")]
impl std::io::Read for ShardSnapshotWriter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        ShardSnapshotWriter::read(self, buf).map_err(|e| std::io::Error::other(e.message))
    }
}

impl Shard {
    /// Starts a snapshot stream, or `None` before the index exists.
    pub fn snapshot_stream(&self) -> Option<SnapshotStream> {
        let index = self.index.as_ref()?;
        let mut order: Vec<u32> = Vec::with_capacity(self.attrs.count());
        order.extend(self.attrs.iter().filter(|(s, _)| index.key_of(*s).is_some()).map(|(s, _)| s));
        order.sort_unstable_by(|&a, &b| index.key_of(a).cmp(&index.key_of(b)));
        let pairs = ShardPairs { index, attrs: &self.attrs, order: &order };
        let enc = Encoder::new(index, &pairs);
        Some(SnapshotStream { enc, order, generation: self.generation })
    }

    /// Fills `out` with the next bytes of `stream` (begun on this shard,
    /// with no write since): how many, `out.len()` but at the end, 0 once
    /// done. Fails with `InvalidSnapshot` if the shard changed.
    pub fn snapshot_read(
        &self,
        stream: &mut SnapshotStream,
        out: &mut [u8],
    ) -> Result<usize, WireError> {
        let index = self.index.as_ref().ok_or_else(not_initialized)?;
        if stream.generation != self.generation {
            return Err(WireError::new(
                ErrorCode::InvalidSnapshot,
                "the shard changed while its snapshot was being written; start again",
            ));
        }
        let pairs = ShardPairs { index, attrs: &self.attrs, order: &stream.order };
        stream.enc.read(index, &pairs, out)
    }

    /// A writer of this shard's snapshot, or `None` before the index exists.
    pub fn snapshot_writer(&self) -> Option<ShardSnapshotWriter<'_>> {
        Some(ShardSnapshotWriter { shard: self, stream: self.snapshot_stream()? })
    }
}

/// Builds a [`Shard`] from snapshot chunks of any size, split anywhere
/// (see [`crate::snapshot::Loader`]): the index is built as the bytes
/// come, and each attribute pair goes straight into the shard's attribute
/// store, so a load needs the shard plus one chunk of memory.
#[derive(Default)]
pub struct ShardLoader {
    loader: Loader,
    attrs: AttrStore,
}

impl core::fmt::Debug for ShardLoader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ShardLoader").field("loader", &self.loader).finish_non_exhaustive()
    }
}

impl ShardLoader {
    /// A loader for a snapshot of unknown length.
    pub fn new() -> ShardLoader {
        ShardLoader::default()
    }

    /// Declares the total length (a file size), checked against the
    /// lengths inside before anything is allocated for them.
    pub fn expect_len(mut self, len: u64) -> ShardLoader {
        self.loader = self.loader.expect_len(len);
        self
    }

    /// Bytes taken so far.
    pub fn received(&self) -> u64 {
        self.loader.received()
    }

    /// Takes the next chunk. An error is final.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), WireError> {
        let attrs = &mut self.attrs;
        self.loader.push_with(chunk, &mut |_, slot, key, raw| {
            let entry = parse_attrs(key, raw, false)?;
            attrs.set(slot, Some(entry));
            Ok(())
        })
    }

    /// The shard, once every byte arrived and checked out.
    pub fn finish(self) -> Result<Shard, WireError> {
        let index = self.loader.finish_index()?;
        let mut s = Shard::new();
        s.attrs = self.attrs;
        s.index = Some(index);
        Ok(s)
    }
}

/// The fields of a [`Request::FilteredSearch`], borrowed.
struct FilteredQuery<'a> {
    vector: &'a [f32],
    k: usize,
    ef: Option<usize>,
    key_filter: Option<&'a Filter>,
    filter: Option<&'a str>,
    filter_ef: Option<usize>,
    with_attributes: bool,
}

fn in_bounds(key: &str, start: &KeyBound, end: &KeyBound) -> bool {
    let lo = match start {
        KeyBound::Unbounded => true,
        KeyBound::Included(s) => key >= s.as_str(),
        KeyBound::Excluded(s) => key > s.as_str(),
    };
    lo && match end {
        KeyBound::Unbounded => true,
        KeyBound::Included(s) => key <= s.as_str(),
        KeyBound::Excluded(s) => key < s.as_str(),
    }
}

/// Cuts `keys` to one page ([`MAX_KEYS_PAGE`] keys, about
/// [`MAX_KEYS_PAGE_BYTES`] bytes); `true` when something was cut.
fn page(keys: &mut Vec<String>) -> bool {
    let mut bytes = 0;
    let mut n = 0;
    for k in keys.iter() {
        if n == MAX_KEYS_PAGE as usize || bytes >= MAX_KEYS_PAGE_BYTES {
            break;
        }
        bytes += k.len();
        n += 1;
    }
    let cut = n < keys.len();
    keys.truncate(n);
    cut
}

/// `ListKeys`: one pass over the keys keeping the `limit + 1` smallest in
/// range in a max-heap (the extra one says whether more follow), so the
/// cost is `n log limit` and the memory one page, not a sort of the shard.
fn list_keys(index: &Index, start: &KeyBound, end: &KeyBound, limit: u32) -> Response {
    use alloc::collections::BinaryHeap;
    let want = limit.min(MAX_KEYS_PAGE) as usize;
    let mut heap: BinaryHeap<&str> = BinaryHeap::with_capacity(want + 1);
    for k in index.keys().filter(|k| in_bounds(k, start, end)) {
        if heap.len() <= want {
            heap.push(k);
        } else if heap.peek().is_some_and(|&top| k < top) {
            heap.pop();
            heap.push(k);
        }
    }
    let mut keys: Vec<String> =
        heap.into_sorted_vec().into_iter().map(ToString::to_string).collect();
    let mut more = keys.len() > want;
    keys.truncate(want);
    more |= page(&mut keys);
    Response::Keys { keys, more }
}

/// A uniform draw below `n` (> 0), by rejection (no modulo bias).
fn below(state: &mut u64, n: u64) -> u64 {
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let x = splitmix(state);
        if x < zone {
            return x % n;
        }
    }
}

/// `RandomKeys`. Distinct: a partial Fisher–Yates shuffle of the live slots
/// up to `skip + count` (the same seed gives the same permutation, so a
/// caller pages through it). With repeats: uniform draws over the live
/// slots. Both cost one pass over the slots plus the draws.
fn random_keys(index: &Index, count: u32, distinct: bool, seed: u64, skip: u32) -> Response {
    let count = count.min(MAX_KEYS_PAGE) as usize;
    let mut live: Vec<u32> =
        (0..index.slot_bound()).filter(|&s| index.key_of(s).is_some()).collect();
    let mut rng = seed;
    let key = |s: u32| index.key_of(s).unwrap_or_default().to_string();
    if live.is_empty() || count == 0 {
        return Response::Keys {
            keys: Vec::new(),
            more: distinct && !live.is_empty() && count == 0,
        };
    }
    if !distinct {
        let n = live.len() as u64;
        let mut keys: Vec<String> =
            (0..count).map(|_| key(live[below(&mut rng, n) as usize])).collect();
        page(&mut keys);
        return Response::Keys { keys, more: false };
    }
    let skip = (skip as usize).min(live.len());
    let stop = skip.saturating_add(count).min(live.len());
    for i in 0..stop {
        let j = i + below(&mut rng, (live.len() - i) as u64) as usize;
        live.swap(i, j);
    }
    let mut keys: Vec<String> = live[skip..stop].iter().map(|&s| key(s)).collect();
    let cut = page(&mut keys);
    Response::Keys { more: cut || stop < live.len(), keys }
}
