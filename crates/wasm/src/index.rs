//! [`RawIndex`]: one `vecshard_core::Index` plus per-element attributes
//! behind a wasm-bindgen class.
//!
//! Each method converts its arguments, calls the core once and converts the
//! result back. The core validates every input before it changes anything,
//! so a call that throws leaves the index exactly as it was. Argument *types*
//! are checked by the JS wrapper; value rules (dimension, finite values, key
//! length, `k >= 1`) are the core's, and attribute and filter rules are the
//! shard's (same codes, same messages).
//!
//! # Attributes and filters: a lean path, not the shard
//!
//! The first version of this module wrapped a whole `vecshard_shard::Shard`
//! (attribute store, per-field inverted and numeric indexes, the planner):
//! the Index module grew from 67.5 KB to 158 KB gzipped (B-trees, slot
//! sets, a dozen sort instantiations, the request handler), far over the
//! 100 KB budget. So `Index` keeps what filtering needs and nothing else:
//!
//! * attributes per core slot ([`crate::attrs::AttrSlots`]): the bytes as
//!   written and their typed form (`vecshard_filter::Attributes`), moved
//!   with the slot on every write exactly as the shard does;
//! * the planner's *decision rule* from the shard (`shard.rs` module docs):
//!   estimate the matches by evaluating the filter on 256 sampled live
//!   slots, scan exactly when at most `T = max(1024, 2·sqrt(ef·n))` may
//!   match, otherwise run the core's two-hop filtered walk, and finish with
//!   the exact scan when a walk stopped at `filterEf` short of `k`. The
//!   answer always has `min(k, matches)` hits;
//! * no attribute indexes: without them an exact scan evaluates the filter
//!   on every live slot (about 0.3 µs each, so ~30 ms at 100k elements)
//!   where the shard looks the candidates up. Browser-sized indexes scan in
//!   well under a millisecond; large data belongs in a `Cluster`, whose
//!   shards have the indexes.
//!
//! Bad input is rejected before anything changes, with the shard's codes:
//! `invalid_attributes` (not a JSON object, parsed strictly by
//! `vecshard_filter`), `attributes_too_large` (over 64 KiB),
//! `invalid_filter` (with the byte `position`), `request_too_large` (`k`
//! or `ef` over `vecshard_shard::limits`).
//!
//! Snapshots: [`RawIndex::to_bytes`] writes a bare core snapshot while no
//! element has attributes (byte-identical to the native core's, so older
//! readers and the golden files keep working), and the shard snapshot
//! container (`vecshard_shard::snapshot`, what the CLI writes into a data
//! dir) once any has. [`RawIndex::from_bytes`] reads both.

use crate::attrs::AttrSlots;
use crate::convert;
use crate::error::{js, js_error};
use js_sys::{Array, Object, Reflect};
use vecshard_core::{Hit, Index, Quoted, Scratch};
use vecshard_filter::Filter;
use vecshard_shard::protocol::MAX_ATTRIBUTES_LEN;
use vecshard_shard::WireError;
use wasm_bindgen::prelude::*;

/// Largest `filterEf` a search may ask for (the HTTP API's bound).
pub const MAX_FILTER_EF: u32 = 1_000_000;

/// Live slots evaluated to estimate a filter's selectivity (the shard's
/// default `PlannerConfig::sample`).
const SAMPLE: usize = 256;

/// The raw index class behind the package's `Index`.
#[wasm_bindgen]
pub struct RawIndex {
    pub(crate) index: Index,
    pub(crate) attrs: AttrSlots,
    /// A streaming save in progress (`crate::stream`); every write ends it.
    pub(crate) save: Option<crate::stream::Save>,
    /// Searches take `&self` in the core; keeping one scratch here means a
    /// query allocates nothing after the first.
    scratch: Scratch,
    /// Keys of the last search, concatenated (see [`convert`]).
    keys: String,
    packed: Vec<f32>,
}

/// A shard error (same code and message as the shard would answer).
pub fn wire_error(e: &WireError) -> JsValue {
    js_error(e.code.as_str(), &e.message)
}

/// `invalid_filter` with the byte `position` of the problem.
fn filter_error(e: &vecshard_filter::FilterError) -> JsValue {
    let err = js_error("invalid_filter", &format!("invalid_filter: {e}"));
    let _ = Reflect::set(&err, &"position".into(), &(e.position() as f64).into());
    err
}

fn key_error(code: &str, key: &str, message: &str) -> JsValue {
    let e = js_error(code, message);
    let _ = Reflect::set(&e, &"key".into(), &JsValue::from_str(key));
    e
}

/// Parses attribute text strictly (a JSON object, at most 64 KiB), with
/// the shard's codes and messages.
fn parse_attrs(key: &str, text: String) -> Result<crate::attrs::Entry, JsValue> {
    if text.len() > MAX_ATTRIBUTES_LEN {
        return Err(key_error(
            "attributes_too_large",
            key,
            &format!(
                "attributes of {} are over {MAX_ATTRIBUTES_LEN} bytes; store large payloads \
                 elsewhere and keep a reference",
                Quoted(key)
            ),
        ));
    }
    match vecshard_filter::Attributes::parse(text.as_bytes()) {
        Ok(t) => Ok(crate::attrs::Entry { raw: text.into_bytes(), typed: Some(t) }),
        Err(e) => Err(key_error(
            "invalid_attributes",
            key,
            &format!("attributes of {} must be a JSON object: {e}", Quoted(key)),
        )),
    }
}

/// Stored attribute bytes as a JS string (the wrapper parses them), or
/// `null`. Bytes are UTF-8 JSON unless they are legacy opaque bytes from a
/// native `Upsert`; those are decoded lossily.
pub fn attr_text(a: Option<&[u8]>) -> JsValue {
    match a {
        None => JsValue::NULL,
        Some(b) => JsValue::from_str(&String::from_utf8_lossy(b)),
    }
}

#[wasm_bindgen]
impl RawIndex {
    /// A new, empty index. `metric` and `quantization` are the short names;
    /// omitted options take the core's defaults.
    #[wasm_bindgen(constructor)]
    pub fn new(
        dim: u32,
        metric: &str,
        m: Option<u32>,
        ef_construction: Option<u32>,
        ef_search: Option<u32>,
        quantization: Option<String>,
        seed: Option<u64>,
    ) -> Result<RawIndex, JsValue> {
        let cfg = convert::config(dim, metric, m, ef_construction, ef_search, quantization, seed)?;
        Ok(RawIndex::wrap(js(Index::new(cfg))?, AttrSlots::default()))
    }

    /// Loads a snapshot: a bare core snapshot (what the native core and
    /// older versions of this package write) or a shard snapshot with
    /// attributes (the CLI's `shard-NNN/snapshot.bin`). Attribute bytes
    /// that are not a JSON object (written by the native `Upsert` before
    /// attributes were typed) are kept, and filters see no attributes there.
    pub fn from_bytes(bytes: &[u8]) -> Result<RawIndex, JsValue> {
        // The streaming loader fed one chunk: one code path for both.
        let mut l = crate::stream::RawIndexLoader::new(Some(bytes.len() as f64));
        l.push(bytes)?;
        l.finish()
    }

    /// The snapshot bytes of this index (see the module docs for which
    /// format).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.snapshot_bytes()
    }

    /// Inserts `key` (with attribute JSON text, or none); throws
    /// `duplicate_key` if it is present.
    pub fn add(&mut self, key: &str, v: &[f32], attributes: Option<String>) -> Result<(), JsValue> {
        let entry = attributes.map(|a| parse_attrs(key, a)).transpose()?;
        self.save = None;
        js(self.index.insert(key, v))?;
        self.file(key, entry);
        Ok(())
    }

    /// Inserts or replaces `key` (attributes included: `None` clears them,
    /// as an upsert replaces the whole element); returns whether it was new.
    pub fn upsert(
        &mut self,
        key: &str,
        v: &[f32],
        attributes: Option<String>,
    ) -> Result<bool, JsValue> {
        let entry = attributes.map(|a| parse_attrs(key, a)).transpose()?;
        let old = self.index.slot_of(key);
        self.save = None;
        let new = js(self.index.upsert(key, v))?;
        // The core re-linked the key and may have moved it to another slot.
        if let Some(s) = old {
            self.attrs.set(s, None);
        }
        self.file(key, entry);
        Ok(new)
    }

    /// Inserts `keys[i]` with `flat[i*dim .. (i+1)*dim]` and, when given,
    /// `attributes[i]` (JSON text or `undefined`), all or nothing.
    pub fn add_batch(
        &mut self,
        keys: Vec<String>,
        flat: &[f32],
        attributes: Option<Vec<JsValue>>,
    ) -> Result<(), JsValue> {
        let dim = self.index.dim();
        if Some(flat.len()) != keys.len().checked_mul(dim) {
            return Err(js_error(
                "dimension_mismatch",
                &format!(
                    "the flat vector array has {} values but {} keys × dimension {dim} need {}; \
                     pass keys.length × dim values, one vector after another",
                    flat.len(),
                    keys.len(),
                    keys.len().saturating_mul(dim)
                ),
            ));
        }
        let mut entries = Vec::new();
        if let Some(a) = attributes {
            if a.len() != keys.len() {
                return Err(js_error(
                    "invalid_argument",
                    "attributes must have one entry (an object, null or undefined) per key",
                ));
            }
            for (k, a) in keys.iter().zip(a) {
                entries.push(a.as_string().map(|t| parse_attrs(k, t)).transpose()?);
            }
        }
        let items: Vec<(&str, &[f32])> =
            keys.iter().map(String::as_str).zip(flat.chunks_exact(dim)).collect();
        self.save = None;
        js(self.index.insert_batch(&items))?;
        for (k, e) in keys.iter().zip(entries) {
            self.file(k, e);
        }
        Ok(())
    }

    /// Removes `key`; throws `key_not_found` if it is absent.
    pub fn remove(&mut self, key: &str) -> Result<(), JsValue> {
        let slot = self.index.slot_of(key);
        self.save = None;
        js(self.index.remove(key))?;
        if let Some(s) = slot {
            self.attrs.set(s, None);
        }
        Ok(())
    }

    /// Sets (`Some`: JSON text of an object) or clears (`None`) the
    /// attributes of `key`, leaving its vector alone (Redis's VSETATTR).
    /// Throws `key_not_found`, `invalid_attributes` or
    /// `attributes_too_large`; nothing changes on error.
    pub fn set_attributes(&mut self, key: &str, attributes: Option<String>) -> Result<(), JsValue> {
        let Some(slot) = self.index.slot_of(key) else {
            return Err(not_found(key));
        };
        let entry = attributes.map(|a| parse_attrs(key, a)).transpose()?;
        self.save = None;
        self.attrs.set(slot, entry);
        Ok(())
    }

    /// The attribute JSON text of `key`, `null` if it has none; throws
    /// `key_not_found` for an absent key (as `GET
    /// /v1/vectors/{key}/attributes` answers 404).
    pub fn get_attributes(&self, key: &str) -> Result<JsValue, JsValue> {
        let Some(slot) = self.index.slot_of(key) else {
            return Err(not_found(key));
        };
        Ok(attr_text(self.attrs.get(slot).map(|e| e.raw.as_slice())))
    }

    /// The stored vector of `key` (reconstructed if quantized).
    pub fn get(&self, key: &str) -> Option<Vec<f32>> {
        self.index.get(key)
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.index.contains(key)
    }

    /// Number of elements.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.index.len() as u32
    }

    /// Vector dimension.
    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> u32 {
        self.index.dim() as u32
    }

    /// `"cosine"`, `"l2"` or `"ip"`.
    #[wasm_bindgen(getter)]
    pub fn metric(&self) -> String {
        self.index.config().metric.name().into()
    }

    /// `"f32"`, `"i8"` or `"binary"`.
    #[wasm_bindgen(getter)]
    pub fn quantization(&self) -> String {
        self.index.config().quantization.name().into()
    }

    /// Searches; returns the distances followed by the UTF-16 length of
    /// each key; [`RawIndex::last_keys`] then returns the keys concatenated.
    pub fn search(&mut self, q: &[f32], k: u32, ef: Option<u32>) -> Result<Vec<f32>, JsValue> {
        let hits = js(self.index.search_with(
            &mut self.scratch,
            q,
            k as usize,
            ef.map(|e| e as usize),
            None,
        ))?;
        convert::pack_hits(&hits, &mut self.keys, &mut self.packed);
        Ok(core::mem::take(&mut self.packed))
    }

    /// A filtered search (see the module docs for the plan): `{ packed,
    /// keys, attributes?, plan }` (packed as in [`RawIndex::search`];
    /// `attributes`: one JSON text or `null` per hit, with
    /// `with_attributes`; `plan`: `"unfiltered"`, `"exact"`, `"walk"` or
    /// `"walk_then_exact"`, the shard's names). Always `min(k, matches)`
    /// hits.
    pub fn search_filtered(
        &mut self,
        q: &[f32],
        k: u32,
        ef: Option<u32>,
        filter: Option<String>,
        filter_ef: Option<u32>,
        with_attributes: bool,
    ) -> Result<Object, JsValue> {
        vecshard_shard::limits::check_search(k, ef, None).map_err(|e| wire_error(&e))?;
        if filter_ef.is_some_and(|e| e == 0 || e > MAX_FILTER_EF) {
            return Err(js_error(
                "invalid_filter",
                &format!("invalid_filter: filterEf must be in 1..={MAX_FILTER_EF}"),
            ));
        }
        // Compile first: a bad filter is an error even on an empty index.
        let expr = filter
            .as_deref()
            .map(Filter::compile_unplanned)
            .transpose()
            .map_err(|e| filter_error(&e))?;
        let RawIndex { index, attrs, scratch, .. } = self;
        let (hits, plan) = match &expr {
            None => (
                js(index.search_with(scratch, q, k as usize, ef.map(|e| e as usize), None))?,
                "unfiltered",
            ),
            Some(f) => plan_and_search(
                index,
                attrs,
                scratch,
                f,
                filter.as_deref().unwrap_or(""),
                q,
                k as usize,
                ef,
                filter_ef,
            )?,
        };
        let (mut keys, mut packed) = (String::new(), Vec::new());
        convert::pack_hits(&hits, &mut keys, &mut packed);
        let o = Object::new();
        let set = |n: &str, v: &JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(n), v);
        };
        set("packed", &js_sys::Float32Array::from(packed.as_slice()).into());
        set("keys", &JsValue::from_str(&keys));
        set("plan", &JsValue::from_str(plan));
        if with_attributes {
            let arr: Array = hits
                .iter()
                .map(|h| {
                    let e = index.slot_of(h.key).and_then(|s| attrs.get(s));
                    attr_text(e.map(|e| e.raw.as_slice()))
                })
                .collect();
            set("attributes", &arr.into());
        }
        Ok(o)
    }

    /// The keys of the last search, concatenated.
    pub fn last_keys(&mut self) -> String {
        core::mem::take(&mut self.keys)
    }

    /// Counts and memory use, as a plain object (plus `withAttributes`, the
    /// elements with attributes, and `attributeBytes`, their bytes).
    pub fn stats(&self) -> Object {
        let o = convert::stats(&self.index.stats());
        let _ = Reflect::set(&o, &"withAttributes".into(), &(self.attrs.count() as f64).into());
        let _ = Reflect::set(&o, &"attributeBytes".into(), &(self.attrs.bytes() as f64).into());
        o
    }
}

fn not_found(key: &str) -> JsValue {
    key_error("key_not_found", key, &format!("key {} is not in the index", Quoted(key)))
}

/// The shard's planner rule without attribute indexes (module docs):
/// sample, then an exact scan or the filtered walk (finished exactly when
/// it stops short).
#[allow(clippy::too_many_arguments)]
fn plan_and_search<'a>(
    index: &'a Index,
    attrs: &AttrSlots,
    scratch: &mut Scratch,
    f: &Filter,
    src: &str,
    q: &[f32],
    k: usize,
    ef: Option<u32>,
    filter_ef: Option<u32>,
) -> Result<(Vec<Hit<'a>>, &'static str), JsValue> {
    let matches = |slot: u32| attrs.typed(slot).is_some_and(|a| f.eval(a));
    let n = index.len();
    let ef = ef.map_or(index.config().ef_search, |e| e as usize).max(k);
    let threshold = vecshard_shard::exact_threshold(ef, n);
    let exact = || {
        let mut it = (0..index.slot_bound()).filter(|&s| index.key_of(s).is_some() && matches(s));
        js(index.exact_search_slots(q, k, &mut it))
    };
    // Sample live slots (seeded by the query text: same query, same plan).
    let seed = src
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let estimated = vecshard_shard::sample_matches(
        seed,
        n,
        index.slot_bound(),
        SAMPLE,
        &|s| index.key_of(s).is_some(),
        &matches,
    );
    if estimated <= threshold {
        return Ok((exact()?, "exact"));
    }
    // The core's walk evaluates each slot at most once per search.
    let pred: &dyn Fn(u32) -> bool = &matches;
    let walk =
        js(index.search_filtered_with(scratch, q, k, ef, pred, filter_ef.map(|e| e as usize)))?;
    if walk.complete || walk.hits.len() >= k {
        return Ok((walk.hits, "walk"));
    }
    Ok((exact()?, "walk_then_exact"))
}

/// Sorts `(key, bytes)` pairs by key (byte order, as the snapshot
/// container wants them).
///
/// Why not `sort_unstable_by`: each instantiation of the standard sort is
/// about 4 KB of wasm at `opt-level = 3` (partitioning and small-sort
/// networks, all inlined), paid by every `Index` download for a call made
/// only by `toBytes`. A heapsort is a few hundred bytes, `O(n log n)` with
/// no allocation, and fast enough for a snapshot (which copies every
/// vector anyway).
pub fn heapsort_by_key(v: &mut [(&str, &[u8])]) {
    fn sift_down(v: &mut [(&str, &[u8])], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && v[child].0 < v[child + 1].0 {
                child += 1;
            }
            if v[root].0 >= v[child].0 {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift_down(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

impl RawIndex {
    pub(crate) fn wrap(index: Index, attrs: AttrSlots) -> RawIndex {
        RawIndex {
            index,
            attrs,
            save: None,
            scratch: Scratch::new(),
            keys: String::new(),
            packed: Vec::new(),
        }
    }

    /// The wrapped core index (for Rust callers and tests).
    pub fn inner(&self) -> &Index {
        &self.index
    }

    /// Files `entry` under the current slot of `key` (after a write).
    fn file(&mut self, key: &str, entry: Option<crate::attrs::Entry>) {
        if let Some(slot) = self.index.slot_of(key) {
            self.attrs.set(slot, entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::heapsort_by_key;

    /// The heapsort orders like the standard sort, on random keys with
    /// duplicates, non-ASCII bytes and every length from 0 to 300.
    #[test]
    fn heapsort_matches_the_standard_sort() {
        let seed = 0x5eed_u64;
        println!("seed {seed:#x}");
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let alphabet = ["a", "b", "ab", "é", "水", "z", "10", "9"];
        for len in 0..=300 {
            let keys: Vec<String> = (0..len)
                .map(|_| {
                    let parts = 1 + next() % 3;
                    (0..parts).map(|_| alphabet[(next() % 8) as usize]).collect()
                })
                .collect();
            let mut got: Vec<(&str, &[u8])> =
                keys.iter().map(|k| (k.as_str(), k.as_bytes())).collect();
            let mut want = got.clone();
            want.sort_by(|a, b| a.0.cmp(b.0));
            heapsort_by_key(&mut got);
            let g: Vec<&str> = got.iter().map(|p| p.0).collect();
            let w: Vec<&str> = want.iter().map(|p| p.0).collect();
            assert_eq!(g, w, "length {len}");
        }
    }
}
