//! [`RawIndex`]: one `vecshard_core::Index` behind a wasm-bindgen class.
//!
//! Each method converts its arguments, calls the core once and converts the
//! result back. The core validates every input before it changes anything,
//! so a call that throws leaves the index exactly as it was. Argument *types*
//! (is it a `Float32Array`, a string, an integer?) are checked by the JS
//! wrapper, which knows what the user passed; value rules (dimension, finite
//! values, key length, `k >= 1`) are the core's.

use crate::convert;
use crate::error::{js, js_error};
use vecshard_core::{Index, Scratch};
use wasm_bindgen::prelude::*;

/// The raw index class behind the package's `Index`.
#[wasm_bindgen]
pub struct RawIndex {
    index: Index,
    /// Searches take `&self` in the core; keeping one scratch here means a
    /// query allocates nothing after the first.
    scratch: Scratch,
    /// Keys of the last search, concatenated (see [`convert`]).
    keys: String,
    packed: Vec<f32>,
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
        Ok(RawIndex::wrap(js(Index::new(cfg))?))
    }

    /// Loads a snapshot (the same bytes the native core writes).
    pub fn from_bytes(bytes: &[u8]) -> Result<RawIndex, JsValue> {
        Ok(RawIndex::wrap(js(Index::from_bytes(bytes))?))
    }

    /// The snapshot bytes of this index.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.index.to_bytes()
    }

    /// Inserts `key`; throws `duplicate_key` if it is present.
    pub fn add(&mut self, key: &str, v: &[f32]) -> Result<(), JsValue> {
        js(self.index.insert(key, v))
    }

    /// Inserts or replaces `key`; returns whether it was new.
    pub fn upsert(&mut self, key: &str, v: &[f32]) -> Result<bool, JsValue> {
        js(self.index.upsert(key, v))
    }

    /// Inserts `keys[i]` with `flat[i*dim .. (i+1)*dim]`, all or nothing.
    pub fn add_batch(&mut self, keys: Vec<String>, flat: &[f32]) -> Result<(), JsValue> {
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
        let items: Vec<(&str, &[f32])> =
            keys.iter().map(String::as_str).zip(flat.chunks_exact(dim)).collect();
        js(self.index.insert_batch(&items))
    }

    /// Removes `key`; throws `key_not_found` if it is absent.
    pub fn remove(&mut self, key: &str) -> Result<(), JsValue> {
        js(self.index.remove(key))
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

    /// The keys of the last search, concatenated.
    pub fn last_keys(&mut self) -> String {
        core::mem::take(&mut self.keys)
    }

    /// Counts and memory use, as a plain object.
    pub fn stats(&self) -> js_sys::Object {
        convert::stats(&self.index.stats())
    }
}

impl RawIndex {
    fn wrap(index: Index) -> RawIndex {
        RawIndex { index, scratch: Scratch::new(), keys: String::new(), packed: Vec::new() }
    }

    /// The wrapped core index (for Rust callers and tests).
    pub fn inner(&self) -> &Index {
        &self.index
    }
}
