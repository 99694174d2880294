//! The [`Backend`] trait: what the protocol needs from a store of
//! collections, and nothing about how it is stored.
//!
//! One Redis key is one vecshard *collection*. The trait speaks of
//! collections by their internal name (the session maps `SELECT`ed dbs to
//! names, see the crate docs) and of elements by key. It is deliberately
//! coarse: one method per thing a command asks, so a sharded
//! implementation can fan a call out to its shards and merge (as
//! `vecshard_coordinator` does) without the protocol knowing.
//!
//! Methods return `impl Future + Send` so that a server can run sessions
//! on an async runtime and await a coordinator; [`crate::memory`] answers
//! synchronously with ready futures. Every method must leave the
//! collection unchanged when it returns an error.

use crate::command::{LexBound, Quant};
use crate::error::Error;
use std::future::Future;

/// How a `REDUCE` set projects its input: a fixed random ±1 matrix
/// (Achlioptas' database-friendly Johnson–Lindenstrauss projection) derived
/// from `seed`, so that storing `(input_dim, seed)` stores the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Projection {
    /// Dimension of the vectors clients send.
    pub input_dim: u32,
    /// Seed of the matrix.
    pub seed: u64,
}

impl Projection {
    /// Projects `v` (of `input_dim` values) to `out_dim` values. Entry
    /// `(row, col)` of the matrix is the sign of a hash of
    /// `(seed, row, col)`; scaling is left out because only directions
    /// matter under cosine.
    pub fn apply(&self, v: &[f32], out_dim: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; out_dim];
        for (row, o) in out.iter_mut().enumerate() {
            let mut acc = 0.0f64;
            let base = self.seed ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for (col, &x) in v.iter().enumerate() {
                let h = splitmix(base.wrapping_add(col as u64));
                acc += if h & 1 == 0 { f64::from(x) } else { -f64::from(x) };
            }
            *o = acc as f32;
        }
        out
    }
}

/// splitmix64: a fast, well-mixed hash of a counter.
pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Settings fixed when a collection is created (by its first `VADD`).
/// Vector sets are cosine only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionSpec {
    /// Stored dimension (after projection).
    pub dim: u32,
    /// Vector storage.
    pub quant: Quant,
    /// HNSW `M`.
    pub m: u32,
    /// HNSW `ef_construction` (the first `VADD`'s `EF`, default 200).
    pub ef_construction: u32,
    /// The `REDUCE` projection, if any.
    pub projection: Option<Projection>,
}

/// A collection's description and counters (`VINFO`, `VCARD`, `VDIM`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionInfo {
    /// Its settings.
    pub spec: CollectionSpec,
    /// Live elements.
    pub size: u64,
    /// Elements with attributes.
    pub attributes_count: u64,
    /// Highest HNSW layer (over all shards for a sharded collection).
    pub max_level: u32,
    /// An id unique to this incarnation of the collection (`vset-uid`).
    pub uid: u64,
    /// One past the highest node slot ever used (`hnsw-max-node-uid`;
    /// summed over shards for a sharded collection).
    pub max_node_uid: u64,
}

/// What `VADD` does to an existing element's attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttrUpdate {
    /// No `SETATTR`: keep what the element has (Redis does).
    Keep,
    /// `SETATTR ""`: remove them.
    Clear,
    /// `SETATTR json`: replace them.
    Set(Vec<u8>),
}

/// A search, already validated and projected.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRequest {
    /// The query (`dim` values).
    pub vector: Vec<f32>,
    /// Results wanted, `1..=vecshard_shard::limits::MAX_K`.
    pub k: u32,
    /// Candidate list size (`None`: the collection's default).
    pub ef: Option<u32>,
    /// Filter expression (already known to compile).
    pub filter: Option<String>,
    /// Most nodes a filtered walk may expand.
    pub filter_ef: Option<u32>,
    /// Return attributes with each hit.
    pub with_attributes: bool,
    /// Exact scan instead of the graph (`TRUTH`).
    pub exact: bool,
}

/// One search hit or link.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The element.
    pub element: String,
    /// Cosine distance `1 - cos` (0 for an identical direction).
    pub distance: f32,
    /// Its attributes, when asked for and present.
    pub attributes: Option<Vec<u8>>,
}

/// A stored element (`VEMB`).
#[derive(Clone, Debug, PartialEq)]
pub struct Element {
    /// The stored vector, scaled back to the norm it was added with.
    pub vector: Vec<f32>,
    /// Its attributes.
    pub attributes: Option<Vec<u8>>,
}

/// A store of collections. See the module docs.
pub trait Backend: Sync {
    /// The collection's settings, `None` if it does not exist. Called by
    /// nearly every command (`VADD`, `VSIM`, `EXISTS`, ...), so it should
    /// be cheap: a sharded backend answers from its manifest, without
    /// asking the shards.
    fn spec(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<CollectionSpec>, Error>> + Send;

    /// The collection's description and counters, `None` if it does not
    /// exist. Only `VINFO` and `VCARD` ask (a sharded backend fans out).
    fn info(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<CollectionInfo>, Error>> + Send;

    /// Creates an empty collection. Creating one that exists with an equal
    /// spec succeeds; with another spec it is an error.
    fn create(
        &self,
        name: &str,
        spec: &CollectionSpec,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Inserts or replaces one element; `true` when it was new. `vector`
    /// has the collection's `dim` (projection already applied). `spec` is
    /// the collection's, as the caller found or created it: if the
    /// collection is gone by now (a racing last `VREM` or `DEL` deleted
    /// it), the backend creates it again with `spec` in the same step, so
    /// an acknowledged `VADD` is never lost to a delete it raced with.
    fn upsert(
        &self,
        name: &str,
        spec: &CollectionSpec,
        element: &str,
        vector: &[f32],
        attributes: AttrUpdate,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// The nearest elements, sorted by `(distance, element)`.
    fn search(
        &self,
        name: &str,
        req: &SearchRequest,
    ) -> impl Future<Output = Result<Vec<Found>, Error>> + Send;

    /// Removes one element; `true` if it was there. Removing the last
    /// element deletes the collection (Redis deletes an empty key), in the
    /// same step so no empty collection is ever visible.
    fn remove(&self, name: &str, element: &str)
        -> impl Future<Output = Result<bool, Error>> + Send;

    /// One element, `None` if the collection or the element is missing.
    fn get(
        &self,
        name: &str,
        element: &str,
    ) -> impl Future<Output = Result<Option<Element>, Error>> + Send;

    /// Whether the element exists.
    fn contains(
        &self,
        name: &str,
        element: &str,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Sets (`Some`) or clears (`None`) an element's attributes; `false`
    /// if the collection or the element is missing.
    fn set_attributes(
        &self,
        name: &str,
        element: &str,
        attributes: Option<&[u8]>,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// The element's graph neighbours, one list per layer from 0 up,
    /// `None` if the element is missing.
    fn links(
        &self,
        name: &str,
        element: &str,
    ) -> impl Future<Output = Result<Option<Vec<Vec<Found>>>, Error>> + Send;

    /// Random elements: `count` distinct ones (or all, if fewer), or with
    /// `repeats`, exactly `count` drawn with replacement.
    fn random_members(
        &self,
        name: &str,
        count: usize,
        repeats: bool,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    /// Element names in `[start, end]` in byte order, at most `count`.
    fn range(
        &self,
        name: &str,
        start: &LexBound,
        end: &LexBound,
        count: usize,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    /// Deletes the collection if it holds no element (a `VADD` whose
    /// first insert failed cleans up with it); `true` if it was deleted.
    /// Must not delete a collection that a concurrent [`Backend::upsert`]
    /// has written to.
    fn delete_if_empty(&self, name: &str) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Every collection name, sorted.
    fn list(&self) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    /// Deletes a collection; `true` if it existed.
    fn delete(&self, name: &str) -> impl Future<Output = Result<bool, Error>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projection_is_a_function_of_its_seed() {
        let v: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let p = Projection { input_dim: 50, seed: 42 };
        let a = p.apply(&v, 8);
        assert_eq!(a, p.apply(&v, 8), "same seed, same matrix");
        assert_ne!(a, Projection { input_dim: 50, seed: 43 }.apply(&v, 8));
        // Linear: projecting 2v gives 2 * projection of v.
        let v2: Vec<f32> = v.iter().map(|x| x * 2.0).collect();
        for (x, y) in a.iter().zip(p.apply(&v2, 8)) {
            assert!((2.0 * x - y).abs() < 1e-5);
        }
    }
}
