//! The [`Index`]: keys, vectors and the HNSW graph, and the operations on them.

use crate::config::{Config, Metric, Quantization};
use crate::distance::Kernels;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{Graph, FREE, MAX_LEVEL, NO_PARENT};
use crate::keys::Keys;
use crate::rng::SplitMix64;
use crate::search::{keep, Cand, Scratch, Seen};
use crate::store::{Prepared, Vectors};
use crate::{math, MAX_KEY_LEN};
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

/// One search result: a key and its distance to the query (smaller is closer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit<'a> {
    /// The element's key.
    pub key: &'a str,
    /// Distance to the query under the index metric (full precision, rescored
    /// if the index is quantized).
    pub distance: f32,
}

/// An optional predicate on keys, checked during the layer-0 walk.
pub type Filter<'f> = Option<&'f dyn Fn(&str) -> bool>;

/// The answer of [`Index::search_filtered_with`].
#[derive(Clone, Debug, PartialEq)]
pub struct FilteredHits<'a> {
    /// Matching elements, sorted by `(distance, key)`; at most `k`.
    pub hits: Vec<Hit<'a>>,
    /// `true` when the walk ended on its own: it converged (it held `ef`
    /// matches and no frontier node was closer than the farthest of them)
    /// or it ran out of nodes to visit. Then `hits` has `min(k, matches)`
    /// elements. `false` when it stopped at `max_expansions`: `hits` may be
    /// short, and a caller that must return `min(k, matches)` finishes with
    /// [`Index::exact_search_slots`].
    pub complete: bool,
    /// Nodes the walk expanded (what `max_expansions` bounds).
    pub expanded: usize,
}

/// Whether the filtered walk looks through non-matching neighbours, or
/// walks through them as candidates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hops {
    One,
    Two,
    /// Every neighbour is a candidate with its distance; only matches are
    /// results (the filtered search of hnswlib and Redis).
    All,
}

/// An HNSW index over string keys. See the [crate docs](crate) for an example.
#[derive(Clone, Debug)]
pub struct Index {
    pub(crate) cfg: Config,
    pub(crate) graph: Graph,
    pub(crate) vectors: Vectors,
    pub(crate) keys: Keys,
    /// Free slots, reused last-freed first.
    pub(crate) free: Vec<u32>,
    pub(crate) len: usize,
    /// The paper's entry point `ep`: a node on the top layer `max_level`.
    pub(crate) entry: Option<u32>,
    pub(crate) max_level: u8,
    pub(crate) rng: SplitMix64,
    /// Scratch for writes (writes take `&mut self`, so one is enough).
    pub(crate) ws: Scratch,
    pub(crate) tmp: Prepared,
    /// Set when the entry point moved: the reachability certificate (see
    /// `graph.rs`) is rooted at the old one, so the next settle rebuilds it
    /// with a whole-graph walk; see `repair_reachability`.
    pub(crate) suspect: bool,
}

/// How much work a filtered search may do by default before it returns what
/// it has (`max(FACTOR·ef, MIN)` expansions): a filter that matches almost
/// nothing would otherwise walk the whole graph. An unfiltered walk at `ef`
/// expands about `ef` nodes (measured on glove100-10k); the filtered walk
/// needs more where matches are sparse or far, and all of its budget when
/// fewer than `ef` elements match (it cannot converge, so it must visit
/// everything to know it has them all). A caller that needs every answer
/// finishes with an exact scan when the walk reports it stopped short.
const FILTER_EXPANSION_FACTOR: usize = 32;
const FILTER_MIN_EXPANSIONS: usize = 1024;

/// How far `Index::rooted` follows parents before it gives up (and the
/// caller falls back to walking the whole graph). Breadth-first trees of
/// layer 0 are a few dozen levels deep; local re-parenting deepens them
/// slowly, and the next whole-graph walk flattens them again.
const MAX_CHAIN: usize = 4096;

/// How many neighbours ahead the walk prefetches vectors. Two keeps about
/// 16 cache lines in flight for 128-d f32 vectors, near the fill-buffer limit.
const PREFETCH_AHEAD: usize = 2;

impl Index {
    /// Creates an empty index; fails if the configuration is invalid.
    pub fn new(cfg: Config) -> Result<Index> {
        Index::with_kernels(cfg, Kernels::best())
    }

    /// Like [`Index::new`] with an explicit kernel set (benchmarks, tests).
    pub fn with_kernels(cfg: Config, kernels: Kernels) -> Result<Index> {
        cfg.validate()?;
        Ok(Index {
            graph: Graph::new(cfg.m),
            vectors: Vectors::new(cfg.dim, cfg.metric, cfg.quantization, kernels),
            keys: Keys::default(),
            free: Vec::new(),
            len: 0,
            entry: None,
            max_level: 0,
            rng: SplitMix64::new(cfg.seed),
            ws: Scratch::new(),
            tmp: Prepared::default(),
            suspect: false,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.cfg.dim
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.keys.find(key).is_some()
    }

    /// The vector stored for `key`, as inserted (for quantized indexes: as
    /// reconstructed from the stored codes).
    pub fn get(&self, key: &str) -> Option<Vec<f32>> {
        self.keys.find(key).map(|s| self.vectors.reconstruct(s))
    }

    /// Every key, in slot order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.graph.slots() as u32).filter(|&s| self.graph.is_live(s)).map(|s| self.keys.get(s))
    }

    /// Reserves room for `additional` more elements, so a bulk load does not
    /// pay for (or leave behind) the slack of repeated doubling.
    pub fn reserve(&mut self, additional: usize) {
        let slots = self.graph.slots() + additional.saturating_sub(self.free.len());
        self.graph.reserve(slots);
        self.vectors.reserve(slots);
        self.keys.reserve(slots);
    }

    /// [`Index::reserve`] that fails instead of aborting: `CapacityExceeded`
    /// when `additional` more elements would not fit the slot space or the
    /// memory cannot be had (nothing is reserved then beyond what already
    /// succeeded; the index is unchanged either way). A bulk load that knows
    /// its size calls this first, so the arrays are allocated once, exactly,
    /// instead of doubling: in wasm, where linear memory never shrinks, the
    /// slack and the freed smaller copies of doubling stay forever.
    pub fn try_reserve(&mut self, additional: usize) -> Result<()> {
        self.check_capacity(additional)?;
        let slots = self.graph.slots() + additional.saturating_sub(self.free.len());
        let full = || Error::new(ErrorKind::CapacityExceeded);
        let more = |have: usize, per: usize| slots.saturating_mul(per).saturating_sub(have);
        let g = &mut self.graph;
        g.levels.try_reserve_exact(more(g.levels.len(), 1)).map_err(|_| full())?;
        g.layer0.try_reserve_exact(more(g.layer0.len(), g.m0 + 1)).map_err(|_| full())?;
        g.indeg.try_reserve_exact(more(g.indeg.len(), 1)).map_err(|_| full())?;
        g.parent.try_reserve_exact(more(g.parent.len(), 1)).map_err(|_| full())?;
        self.vectors.try_reserve(slots).map_err(|_| full())?;
        self.keys.try_reserve_for_load(slots, 0, slots).map_err(|_| full())?;
        Ok(())
    }

    /// Releases unused capacity (after a bulk load or many removals).
    pub fn shrink_to_fit(&mut self) {
        self.graph.shrink_to_fit();
        self.vectors.shrink_to_fit();
        self.keys.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    /// Name of the distance kernels in use (`scalar`, `avx2+fma`, `simd128`).
    pub fn kernel_name(&self) -> &'static str {
        self.vectors.k.name
    }

    // ---------------------------------------------------------------------
    // Input checks. Every write validates all of its input before touching
    // anything, so a failed call leaves the index exactly as it was.
    // ---------------------------------------------------------------------

    fn check_key(key: &str) -> Result<()> {
        if key.is_empty() {
            return Err(Error::new(ErrorKind::EmptyKey));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(Error::new(ErrorKind::KeyTooLong { len: key.len() }));
        }
        Ok(())
    }

    /// Checks a vector and returns its norm (for cosine normalization).
    fn check_vector(&self, v: &[f32]) -> Result<f32> {
        if v.len() != self.cfg.dim {
            return Err(Error::dimension(self.cfg.dim, v.len()));
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::new(ErrorKind::NonFiniteValue { index: i }));
        }
        if let Some(i) = v.iter().position(|x| x.abs() > crate::MAX_ABS_VALUE) {
            return Err(Error::new(ErrorKind::ValueOutOfRange { index: i }));
        }
        let sq: f32 = v.iter().map(|x| x * x).sum();
        let norm = math::sqrt(sq);
        if self.cfg.metric == Metric::Cosine && (norm <= 0.0 || !norm.is_finite()) {
            return Err(Error::new(ErrorKind::ZeroVector));
        }
        Ok(norm)
    }

    /// The vector in the space the graph works in (unit length under cosine).
    fn normalized(&self, v: &[f32], norm: f32, out: &mut Vec<f32>) {
        out.clear();
        if self.cfg.metric == Metric::Cosine {
            let inv = 1.0 / norm;
            out.extend(v.iter().map(|x| x * inv));
        } else {
            out.extend_from_slice(v);
        }
    }

    // ---------------------------------------------------------------------
    // Writes
    // ---------------------------------------------------------------------

    /// Adds `key` with vector `v`. Fails with `DuplicateKey` if present.
    pub fn insert(&mut self, key: &str, v: &[f32]) -> Result<()> {
        Index::check_key(key)?;
        let norm = self.check_vector(v)?;
        if self.contains(key) {
            return Err(Error::new(ErrorKind::DuplicateKey { key: key.into() }));
        }
        self.add_new(key, v, norm)
    }

    /// Adds `key`, or replaces its vector and relinks it if present.
    /// Returns whether the key was new.
    pub fn upsert(&mut self, key: &str, v: &[f32]) -> Result<bool> {
        Index::check_key(key)?;
        let norm = self.check_vector(v)?;
        let existed = match self.keys.find(key) {
            Some(slot) => {
                self.remove_slot(slot);
                true
            }
            None => false,
        };
        self.add_new(key, v, norm)?;
        Ok(!existed)
    }

    /// Inserts many elements; all are validated first (including duplicates
    /// within the batch), so on error nothing was inserted.
    pub fn insert_batch<K: AsRef<str>, V: AsRef<[f32]>>(&mut self, items: &[(K, V)]) -> Result<()> {
        let mut seen =
            hashbrown::HashSet::<&str, core::hash::BuildHasherDefault<KeyHasher>>::default();
        for (k, v) in items {
            let k = k.as_ref();
            Index::check_key(k)?;
            self.check_vector(v.as_ref())?;
            if self.contains(k) || !seen.insert(k) {
                return Err(Error::new(ErrorKind::DuplicateKey { key: k.into() }));
            }
        }
        self.check_capacity(items.len())?;
        for (k, v) in items {
            let norm = self.check_vector(v.as_ref())?;
            self.add_new(k.as_ref(), v.as_ref(), norm)?;
        }
        Ok(())
    }

    /// Upserts many elements; all are validated first. A key repeated in the
    /// batch ends with its last vector. Returns how many keys were new.
    pub fn upsert_batch<K: AsRef<str>, V: AsRef<[f32]>>(
        &mut self,
        items: &[(K, V)],
    ) -> Result<usize> {
        for (k, v) in items {
            Index::check_key(k.as_ref())?;
            self.check_vector(v.as_ref())?;
        }
        self.check_capacity(items.len())?;
        let mut new = 0;
        for (k, v) in items {
            new += self.upsert(k.as_ref(), v.as_ref())? as usize;
        }
        Ok(new)
    }

    /// Removes `key`, repairing its neighbours' links. Fails with
    /// `KeyNotFound` (and changes nothing) if absent.
    pub fn remove(&mut self, key: &str) -> Result<()> {
        match self.keys.find(key) {
            Some(slot) => {
                self.remove_slot(slot);
                Ok(())
            }
            None => Err(Error::key_not_found(key)),
        }
    }

    /// Removes every present key of `keys`; returns how many were removed.
    /// Unknown keys are skipped (batch removal is idempotent).
    pub fn remove_batch<K: AsRef<str>>(&mut self, keys: &[K]) -> usize {
        let mut n = 0;
        for k in keys {
            if let Some(slot) = self.keys.find(k.as_ref()) {
                self.remove_slot(slot);
                n += 1;
            }
        }
        n
    }

    fn check_capacity(&self, extra: usize) -> Result<()> {
        let needed = self.len.saturating_add(extra);
        if needed >= u32::MAX as usize - 1 {
            return Err(Error::new(ErrorKind::CapacityExceeded));
        }
        Ok(())
    }

    /// The paper's level draw: `⌊−ln(U) · m_L⌋`, capped.
    fn random_level(&mut self) -> u8 {
        let l = -math::ln(self.rng.next_open01()) * self.cfg.ml();
        (l as u64).min(MAX_LEVEL as u64) as u8
    }

    fn alloc_slot(&mut self) -> Result<u32> {
        if let Some(s) = self.free.pop() {
            return Ok(s);
        }
        let s = self.graph.slots();
        if s >= u32::MAX as usize - 1 {
            return Err(Error::new(ErrorKind::CapacityExceeded));
        }
        self.graph.grow_to(s + 1);
        self.vectors.grow_to(s + 1);
        self.keys.grow_to(s + 1);
        Ok(s as u32)
    }

    /// Stores a validated element and links it into the graph.
    fn add_new(&mut self, key: &str, v: &[f32], norm: f32) -> Result<()> {
        let slot = self.alloc_slot()?;
        let level = self.random_level();
        let mut nv = core::mem::take(&mut self.tmp.v);
        self.normalized(v, norm, &mut nv);
        self.vectors.set(slot, &nv, norm);
        self.keys.insert(slot, key);
        self.graph.init(slot, level);
        self.len += 1;
        let mut ws = core::mem::take(&mut self.ws);
        self.vectors.prepare(&nv, &mut ws.q);
        self.tmp.v = nv;
        self.link_new(&mut ws, slot, level);
        self.ws = ws;
        self.settle();
        Ok(())
    }

    // ---------------------------------------------------------------------
    // Insertion (the paper's INSERT, Algorithm 1)
    //
    // Descend greedily from the entry point through the layers above the new
    // node's level; on each layer from min(level, max_level) down to 0, run
    // SEARCH-LAYER with ef_construction, pick m neighbours with the
    // heuristic, link both ways, and continue from the closest found.
    // ---------------------------------------------------------------------

    fn link_new(&mut self, ws: &mut Scratch, slot: u32, level: u8) {
        let Some(ep) = self.entry.filter(|&e| e != slot) else {
            self.entry = Some(slot);
            self.max_level = level;
            return;
        };
        let mut cur = Cand { d: self.vectors.dist(&ws.q, ep), id: ep };
        for l in (level as usize + 1..=self.max_level as usize).rev() {
            cur = self.greedy(ws, cur, l);
        }
        let efc = self.cfg.ef_construction.max(self.cfg.m);
        let mut found = Vec::new();
        let mut chosen = Vec::new();
        for l in (0..=level.min(self.max_level) as usize).rev() {
            self.search_layer(ws, &[cur], efc, l, usize::MAX, Some(slot));
            sorted_top(ws, &mut found);
            if let Some(&c) = found.first() {
                cur = c;
            }
            self.select(&found, self.cfg.m, &mut chosen);
            let ids: Vec<u32> = chosen.iter().map(|c| c.id).collect();
            self.graph.set(slot, l, &ids);
            for c in &chosen {
                self.connect(c.id, slot, c.d, l);
            }
        }
        if level > self.max_level {
            // A new entry point: what was reachable from the old one need
            // not be reachable from it (links are directed), so check.
            self.entry = Some(slot);
            self.max_level = level;
            self.suspect = true;
        }
    }

    /// Adds the link `from → to` on `layer`, pruning `from`'s list if full.
    fn connect(&mut self, from: u32, to: u32, d: f32, layer: usize) {
        if self.graph.links(from, layer).contains(&to) || self.graph.push(from, layer, to) {
            return;
        }
        let mut cands: Vec<Cand> = self
            .graph
            .links(from, layer)
            .iter()
            .map(|&n| Cand { d: self.vectors.dist_nodes(from, n), id: n })
            .collect();
        cands.push(Cand { d, id: to });
        // The list is mostly in distance order already (the heuristic keeps
        // it so; pushes and swaps disturb it a little): insertion sort.
        math::sort_by(&mut cands, |a, b| a < b);
        self.prune(from, layer, &cands);
    }

    /// Sets `node`'s list on `layer` to the heuristic's choice among `cands`
    /// (sorted by distance to `node`), never dropping a node's last in-link.
    ///
    /// The heuristic alone may drop the only link into some candidate `c`;
    /// `c` would then be unreachable from the entry point. On layer 0 such a
    /// candidate is swapped in for the farthest chosen one that has other
    /// in-links. If there is none to swap, `c` is dropped and re-attached by
    /// `reattach` afterwards.
    fn prune(&mut self, node: u32, layer: usize, cands: &[Cand]) {
        let cap = self.graph.cap(layer);
        let mut chosen = Vec::with_capacity(cap);
        self.select(cands, cap, &mut chosen);
        let mut orphans = Vec::new();
        if layer == 0 && chosen.len() < cands.len() {
            let current = self.graph.links(node, 0);
            // In-links of `c` other than from `node`.
            let others = |g: &Graph, c: u32| g.indeg[c as usize] - current.contains(&c) as u32;
            let mut protected = 0usize;
            for c in cands {
                if chosen.iter().any(|x| x.id == c.id) || others(&self.graph, c.id) > 0 {
                    continue;
                }
                if Some(c.id) == self.entry {
                    continue;
                }
                // Swap out the farthest chosen node that has another in-link.
                let victim = (protected..chosen.len())
                    .rev()
                    .find(|&i| others(&self.graph, chosen[i].id) > 0);
                match victim {
                    Some(i) => {
                        chosen.remove(i);
                        chosen.insert(protected, *c);
                        protected += 1;
                    }
                    None => orphans.push(c.id),
                }
            }
        }
        let ids: Vec<u32> = chosen.iter().map(|c| c.id).collect();
        self.graph.set(node, layer, &ids);
        for o in orphans {
            self.reattach(o, false);
        }
    }

    /// Ends a write: re-certifies that every live node is reachable from
    /// the entry point on layer 0 (see the reachability certificate in
    /// `graph.rs`).
    ///
    /// Pruning is local, reachability is global: dropping the link `y → v`
    /// can cut off `v` together with nodes only `v` leads to. Each node that
    /// lost its tree parent (and each new node) is given a new parent among
    /// its own neighbours, which costs a few list scans; only when that
    /// fails, or the entry point moved, does the index walk the whole graph.
    fn settle(&mut self) {
        if self.suspect || !self.adopt_pending() {
            self.repair_reachability();
        }
    }

    /// Gives every node in `graph.pending` a parent again; false if some
    /// node found none (it may be cut off, or only its neighbours' chains
    /// are broken), which leaves `pending` as it is.
    fn adopt_pending(&mut self) -> bool {
        let mut pending = core::mem::take(&mut self.graph.pending);
        loop {
            let before = pending.len();
            // Adopting changes no links, so nothing joins `pending` here; a
            // node whose neighbours wait for parents themselves may succeed
            // in the next round, once they have them.
            pending.retain(|&c| !self.adopt(c));
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        let done = pending.is_empty();
        self.graph.pending = pending;
        done
    }

    /// Certifies `c` again by a parent among its own layer-0 neighbours that
    /// link back to it and are certified by a chain not through `c`; true
    /// when `c` needs no parent (free, the entry point, already certified)
    /// or got one.
    fn adopt(&mut self, c: u32) -> bool {
        let g = &self.graph;
        if !g.is_live(c) || Some(c) == self.entry || g.parent[c as usize] != NO_PARENT {
            return true;
        }
        let near = g.links(c, 0);
        if let Some(p) =
            near.iter().copied().find(|&p| g.links(p, 0).contains(&c) && self.rooted(p, c))
        {
            self.graph.parent[c as usize] = p;
            return true;
        }
        // Every neighbour that links back hangs below `c` in the tree (their
        // chains pass through it). One of them, `q`, may still have an
        // in-link from outside `c`'s subtree, `r`: then `r → q → c` is a
        // path that avoids `c`, and the tree edge `c → q` can be turned
        // round (`q` gets `r`, `c` gets `q`). Anything whose chain passed
        // through either now reaches the entry point through `r`.
        for &q in near {
            if q == c || !g.links(q, 0).contains(&c) {
                continue;
            }
            let r = g
                .links(q, 0)
                .iter()
                .copied()
                .find(|&r| r != c && g.links(r, 0).contains(&q) && self.rooted(r, c));
            if let Some(r) = r {
                self.graph.parent[q as usize] = r;
                self.graph.parent[c as usize] = q;
                return true;
            }
        }
        false
    }

    /// Whether `p`'s parent chain reaches the entry point without passing
    /// `avoid` (so `p` is reachable, and making it `avoid`'s parent closes
    /// no cycle).
    fn rooted(&self, p: u32, avoid: u32) -> bool {
        let Some(ep) = self.entry else { return false };
        let mut x = p;
        for _ in 0..MAX_CHAIN {
            if x == ep {
                return true;
            }
            if x == avoid || x == NO_PARENT {
                return false;
            }
            x = self.graph.parent[x as usize];
        }
        false
    }

    /// Makes every live node reachable from the entry point on layer 0, and
    /// rebuilds the reachability certificate, by walking the whole graph.
    ///
    /// It walks breadth-first from the entry point (a shallow tree keeps
    /// `rooted` cheap) and attaches the first node of each unreached island
    /// to its nearest reachable node, then continues the walk from there.
    pub(crate) fn repair_reachability(&mut self) {
        // Each pass attaches every island it finds; a forced attach can, in
        // rare cases, cut off the link it displaced, which the next pass fixes.
        for _ in 0..4 {
            self.graph.pending.clear();
            if self.repair_pass() == 0 || self.adopt_pending() {
                break;
            }
        }
        self.suspect = false;
    }

    /// One walk-and-attach pass that also sets every reached node's parent;
    /// returns how many islands it attached.
    fn repair_pass(&mut self) -> usize {
        let n = self.graph.slots();
        let parent = &mut self.graph.parent;
        parent.clear();
        parent.resize(n, NO_PARENT);
        let Some(ep) = self.entry else { return 0 };
        let mut seen = alloc::vec![false; n];
        let mut queue = Vec::new();
        // Breadth-first from `from`, recording each node's discoverer.
        let mark = |g: &mut Graph, from: u32, seen: &mut Vec<bool>, queue: &mut Vec<u32>| {
            seen[from as usize] = true;
            queue.clear();
            queue.push(from);
            let mut head = 0;
            while let Some(&s) = queue.get(head) {
                head += 1;
                // By index: the list is borrowed afresh each time, so the
                // parent can be written in between.
                for i in 0..g.links(s, 0).len() {
                    let t = g.links(s, 0)[i];
                    if !seen[t as usize] {
                        seen[t as usize] = true;
                        g.parent[t as usize] = s;
                        queue.push(t);
                    }
                }
            }
        };
        mark(&mut self.graph, ep, &mut seen, &mut queue);
        let mut attached = 0;
        for s in 0..n as u32 {
            if self.graph.is_live(s) && !seen[s as usize] {
                self.reattach(s, true);
                attached += 1;
                if self.graph.parent[s as usize] == NO_PARENT {
                    self.graph.pending.push(s);
                }
                // `s` now hangs off a reached node; everything it leads to is
                // reached too.
                mark(&mut self.graph, s, &mut seen, &mut queue);
            }
        }
        attached
    }

    /// The paper's SELECT-NEIGHBORS-HEURISTIC (Algorithm 4): walk candidates
    /// from closest to farthest and keep one only if it is closer to the base
    /// than to every neighbour already kept. This spreads links across
    /// directions instead of spending them all on one dense cluster, which is
    /// what lets greedy search cross between clusters. `cands` is sorted.
    fn select(&self, cands: &[Cand], cap: usize, out: &mut Vec<Cand>) {
        out.clear();
        if cands.len() <= cap {
            out.extend_from_slice(cands);
            return;
        }
        for c in cands {
            if out.len() >= cap {
                break;
            }
            if out.iter().all(|r| self.vectors.dist_nodes(c.id, r.id) >= c.d) {
                out.push(*c);
            }
        }
    }

    /// Gives an unreachable node an in-link again: search for its nearest
    /// live neighbours and link the closest one (with room, or by pruning)
    /// to it. With `force`, attaches even a node that has in-links (from
    /// an island that is itself unreachable). Returns the node that now
    /// links to it, if it did anything, after making that node `node`'s
    /// parent when its chain allows.
    fn reattach(&mut self, node: u32, force: bool) -> Option<u32> {
        let host = self.link_orphan(node, force)?;
        if self.graph.parent[node as usize] == NO_PARENT && self.rooted(host, node) {
            self.graph.parent[node as usize] = host;
        }
        Some(host)
    }

    fn link_orphan(&mut self, node: u32, force: bool) -> Option<u32> {
        if (!force && self.graph.indeg[node as usize] > 0)
            || Some(node) == self.entry
            || !self.graph.is_live(node)
        {
            return None;
        }
        let ep = self.entry?;
        let mut ws = core::mem::take(&mut self.ws);
        let mut q = core::mem::take(&mut ws.q);
        self.vectors.prepare_slot(node, &mut q);
        ws.q = q;
        // Walk layer 0 from the entry point itself, not from an upper-layer
        // descent: upper layers can lead into the very island being fixed,
        // and only a layer-0 walk from the entry point guarantees that the
        // hosts found are reachable.
        let cur = Cand { d: self.vectors.dist(&ws.q, ep), id: ep };
        let ef = self.cfg.ef_construction.max(self.cfg.m);
        self.search_layer(&mut ws, &[cur], ef, 0, usize::MAX, Some(node));
        let mut found = Vec::new();
        sorted_top(&mut ws, &mut found);
        self.ws = ws;
        for c in &found {
            if self.graph.links(c.id, 0).contains(&node) || self.graph.push(c.id, 0, node) {
                return Some(c.id);
            }
        }
        // Every candidate host is full. Put `node` into the closest host's
        // list in place of its farthest link whose target has another
        // in-link, so nobody else is cut off.
        let host =
            found.first().map(|c| c.id).or_else(|| self.graph.links(node, 0).first().copied())?;
        if self.graph.links(host, 0).contains(&node) {
            return Some(host);
        }
        let mut list: Vec<Cand> = self
            .graph
            .links(host, 0)
            .iter()
            .map(|&n| Cand { d: self.vectors.dist_nodes(host, n), id: n })
            .collect();
        math::sort_by(&mut list, |a, b| a < b);
        let victim = (0..list.len()).rev().find(|&i| self.graph.indeg[list[i].id as usize] > 1);
        let i = victim.unwrap_or(list.len().saturating_sub(1));
        if i < list.len() {
            list.remove(i);
        }
        list.push(Cand { d: 0.0, id: node });
        let ids: Vec<u32> = list.iter().map(|c| c.id).collect();
        self.graph.set(host, 0, &ids);
        Some(host)
    }

    // ---------------------------------------------------------------------
    // Deletion
    //
    // Tombstones leave dead nodes in every walk and lose recall under churn,
    // so removal is real. For each layer of the removed node `x`:
    //  1. find every node `y` that links to `x` (an exact scan of the flat
    //     list array: links are directed, so x's own list is not enough);
    //  2. give `y` a new list chosen by the heuristic from its old links
    //     (minus x) plus x's links: y's routes through x become direct;
    //  3. if that leaves y with fewer than m/2 links, add a fresh
    //     ef_construction search from y's own vector to the candidates.
    // Then x's out-neighbours that lost their last in-link are re-attached,
    // the entry point moves if it was x, and the slot joins the free list.
    // ---------------------------------------------------------------------

    pub(crate) fn remove_slot(&mut self, x: u32) {
        let level = self.graph.levels[x as usize] as usize;
        let mut linkers = Vec::new();
        let mut cands: Vec<Cand> = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        // Move the entry point off x first, so repair searches never start
        // from the node being removed.
        if self.entry == Some(x) {
            self.pick_entry(Some(x));
            // The certificate is rooted at x: rebuild it from the new entry.
            self.suspect = true;
        }
        let outs: Vec<Vec<u32>> = (0..=level).map(|l| self.graph.links(x, l).to_vec()).collect();
        // Empty x's own layer-0 list now, so in-degrees no longer count it.
        self.graph.set(x, 0, &[]);
        for (l, out) in outs.iter().enumerate() {
            self.graph.in_links(x, l, &mut linkers);
            for &y in &linkers {
                cands.clear();
                seen.clear();
                seen.push(x);
                seen.push(y);
                let old: Vec<u32> = self.graph.links(y, l).to_vec();
                for &n in old.iter().chain(out) {
                    if !seen.contains(&n) {
                        seen.push(n);
                        cands.push(Cand { d: self.vectors.dist_nodes(y, n), id: n });
                    }
                }
                if cands.len() < self.cfg.m / 2 {
                    self.fresh_candidates(y, l, x, &mut seen, &mut cands);
                }
                math::sort_by(&mut cands, |a, b| a < b);
                // Drop x from y's list first so `prune` sees true in-degrees.
                let kept: Vec<u32> = old.iter().copied().filter(|&n| n != x).collect();
                self.graph.set(y, l, &kept);
                self.prune(y, l, &cands);
            }
        }
        self.graph.release(x);
        self.keys.remove(x);
        self.vectors.clear(x);
        self.free.push(x);
        self.len -= 1;
        if self.len == 0 {
            self.entry = None;
            self.max_level = 0;
        }
        for &z in &outs[0] {
            self.reattach(z, false);
        }
        self.settle();
    }

    /// Adds the result of a fresh ef_construction search around `y` on layer
    /// `l` (excluding `x` and what is already in `seen`) to `cands`.
    fn fresh_candidates(
        &mut self,
        y: u32,
        l: usize,
        x: u32,
        seen: &mut Vec<u32>,
        cands: &mut Vec<Cand>,
    ) {
        let Some(ep) = self.entry else { return };
        let mut ws = core::mem::take(&mut self.ws);
        let mut q = core::mem::take(&mut ws.q);
        self.vectors.prepare_slot(y, &mut q);
        ws.q = q;
        let mut cur = Cand { d: self.vectors.dist(&ws.q, ep), id: ep };
        for layer in (l + 1..=self.max_level as usize).rev() {
            cur = self.greedy(&mut ws, cur, layer);
        }
        let efc = self.cfg.ef_construction.max(self.cfg.m);
        self.search_layer(&mut ws, &[cur], efc, l, usize::MAX, Some(y));
        let mut found = Vec::new();
        sorted_top(&mut ws, &mut found);
        self.ws = ws;
        for c in found {
            if c.id != x && !seen.contains(&c.id) {
                seen.push(c.id);
                cands.push(Cand { d: self.vectors.dist_nodes(y, c.id), id: c.id });
            }
        }
    }

    /// New entry point after the old one was removed: a node on the highest
    /// remaining level (lowest slot on ties, for determinism).
    fn pick_entry(&mut self, exclude: Option<u32>) {
        let mut best: Option<(u8, u32)> = None;
        for (s, &l) in self.graph.levels.iter().enumerate() {
            if l != FREE && Some(s as u32) != exclude && best.is_none_or(|(bl, _)| l > bl) {
                best = Some((l, s as u32));
            }
        }
        self.entry = best.map(|(_, s)| s);
        self.max_level = best.map_or(0, |(l, _)| l);
    }

    // ---------------------------------------------------------------------
    // Slots
    // ---------------------------------------------------------------------

    /// The slot of `key`, if present. Slots are dense `u32`s below
    /// [`Index::slot_bound`]; a slot names the same element until that
    /// element is removed (an upsert keeps its slot, a snapshot round trip
    /// keeps every slot), after which the slot may be reused by a later
    /// insert (last freed, first reused).
    pub fn slot_of(&self, key: &str) -> Option<u32> {
        self.keys.find(key)
    }

    /// The key of a live slot; `None` for a free or out-of-range slot.
    pub fn key_of(&self, slot: u32) -> Option<&str> {
        self.graph.is_live(slot).then(|| self.keys.get(slot))
    }

    /// One more than the highest slot ever used: every live slot is below it,
    /// so a per-slot table (bitmap, attribute column) of this length covers
    /// the index. It only grows, except on a snapshot load.
    pub fn slot_bound(&self) -> u32 {
        self.graph.slots() as u32
    }

    // ---------------------------------------------------------------------
    // Search
    // ---------------------------------------------------------------------

    /// The `k` nearest elements to `query`, sorted by distance then key.
    ///
    /// `ef` (default: the config's `ef_search`, 64) is the size of the
    /// candidate list on layer 0; it is raised to `k` if smaller. `filter`
    /// restricts results to keys it accepts: it runs the filtered walk of
    /// [`Index::search_filtered_with`] (with the default effort bound) on
    /// the slot predicate "the slot's key passes `filter`", so a very
    /// selective filter may return fewer than `k` hits; callers that need
    /// to know use `search_filtered_with` and its `complete` flag.
    ///
    /// This allocates a temporary [`Scratch`]; hot loops should keep one
    /// and call [`Index::search_with`].
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: Option<usize>,
        filter: Filter<'_>,
    ) -> Result<Vec<Hit<'_>>> {
        self.search_with(&mut Scratch::new(), query, k, ef, filter)
    }

    /// [`Index::search`] with a caller-owned scratch (no allocation after warm-up
    /// except the result vector).
    pub fn search_with(
        &self,
        scratch: &mut Scratch,
        query: &[f32],
        k: usize,
        ef: Option<usize>,
        filter: Filter<'_>,
    ) -> Result<Vec<Hit<'_>>> {
        let ef = ef.unwrap_or(self.cfg.ef_search);
        if let Some(f) = filter {
            let pred = |s: u32| f(self.keys.get(s));
            return Ok(self.search_filtered_with(scratch, query, k, ef, &pred, None)?.hits);
        }
        let ef = ef.max(k);
        let Some((cur, ep)) = self.start(scratch, query, k)? else { return Ok(Vec::new()) };
        self.search_layer(scratch, &[cur], ef, 0, usize::MAX, None);
        if scratch.top.len() < ef.min(self.len) && cur.id != ep {
            // The descent landed where layer 0 does not reach far enough (only
            // in tiny or degenerate graphs). Everything is reachable from the
            // entry point on layer 0 (see `repair_reachability`), so resume
            // the walk from there, keeping what was found.
            let d = self.vectors.dist(&scratch.q, ep);
            self.resume_layer0(scratch, Cand { d, id: ep }, ef);
        }
        Ok(self.finish(scratch, k))
    }

    /// The `k` nearest elements to `query` among the slots for which `pred`
    /// is true, sorted by `(distance, key)`, with a flag that says whether
    /// the walk finished or stopped at its effort bound.
    ///
    /// The upper layers are descended as in an unfiltered search; layer 0
    /// is walked with the predicate (see the comment on `filtered_walk` for
    /// what enters the queue). `pred` is called only with live slots, often
    /// several times per slot, so it should be cheap (a bitmap or a column
    /// lookup) and must be a pure function of the slot.
    ///
    /// `ef` is raised to `k`. `max_expansions` bounds the number of nodes the
    /// walk expands (each expansion computes at most `m0` distances), like
    /// Redis's `FILTER-EF`; `None` means `max(32·ef, 1024)`.
    ///
    /// When [`FilteredHits::complete`] is true the answer holds
    /// `min(k, matches)` hits, where `matches` is the number of live slots
    /// that pass `pred`. When it is false the walk hit `max_expansions` and
    /// the answer may be short or approximate: finish with
    /// [`Index::exact_search_slots`] if that matters.
    pub fn search_filtered_with(
        &self,
        scratch: &mut Scratch,
        query: &[f32],
        k: usize,
        ef: usize,
        pred: &dyn Fn(u32) -> bool,
        max_expansions: Option<usize>,
    ) -> Result<FilteredHits<'_>> {
        self.filtered(scratch, query, k, ef, pred, max_expansions, Hops::Two)
    }

    /// [`Index::search_filtered_with`] for predicates that most elements
    /// pass: the walk steps through non-matching nodes as it would without
    /// a filter (each costs a distance and becomes a candidate) and only
    /// matching ones enter the results. Where half the elements match, the
    /// two-hop walk moves only between matches, a sparser graph than the
    /// index's, and misses a few neighbours an unfiltered walk would find
    /// (fbench, 50%: recall 0.997 against 0.998 unfiltered and Redis's
    /// 1.000); this walk keeps the index's own graph, at the price of a
    /// distance per non-matching neighbour, which the two-hop walk avoids
    /// and which makes it the wrong choice for selective filters. Same
    /// contract as `search_filtered_with` (`complete`, the budget).
    pub fn search_filtered_dense_with(
        &self,
        scratch: &mut Scratch,
        query: &[f32],
        k: usize,
        ef: usize,
        pred: &dyn Fn(u32) -> bool,
        max_expansions: Option<usize>,
    ) -> Result<FilteredHits<'_>> {
        self.filtered(scratch, query, k, ef, pred, max_expansions, Hops::All)
    }

    /// [`Index::search_filtered_with`] without the two-hop look-through:
    /// only direct neighbours of an expanded node are considered. Kept only
    /// so tests and benchmarks can show what the two-hop expansion buys; not
    /// part of the supported API.
    #[doc(hidden)]
    pub fn search_filtered_one_hop_with(
        &self,
        scratch: &mut Scratch,
        query: &[f32],
        k: usize,
        ef: usize,
        pred: &dyn Fn(u32) -> bool,
        max_expansions: Option<usize>,
    ) -> Result<FilteredHits<'_>> {
        self.filtered(scratch, query, k, ef, pred, max_expansions, Hops::One)
    }

    /// The expansion bound used when `max_expansions` is `None`.
    pub fn default_max_expansions(ef: usize) -> usize {
        ef.saturating_mul(FILTER_EXPANSION_FACTOR).max(FILTER_MIN_EXPANSIONS)
    }

    #[allow(clippy::too_many_arguments)]
    fn filtered(
        &self,
        scratch: &mut Scratch,
        query: &[f32],
        k: usize,
        ef: usize,
        pred: &dyn Fn(u32) -> bool,
        max_expansions: Option<usize>,
        hops: Hops,
    ) -> Result<FilteredHits<'_>> {
        let ef = ef.max(k);
        let budget = max_expansions.unwrap_or_else(|| Index::default_max_expansions(ef));
        let Some((cur, ep)) = self.start(scratch, query, k)? else {
            return Ok(FilteredHits { hits: Vec::new(), complete: true, expanded: 0 });
        };
        let (complete, expanded) = self.filtered_walk(scratch, cur, ep, ef, pred, budget, hops);
        Ok(FilteredHits { hits: self.finish(scratch, k), complete, expanded })
    }

    /// Exact k-nearest search by scanning every element (same result shape
    /// as [`Index::search`]; the oracle for recall tests).
    pub fn exact_search(
        &self,
        query: &[f32],
        k: usize,
        filter: Filter<'_>,
    ) -> Result<Vec<Hit<'_>>> {
        let live = (0..self.graph.slots() as u32).filter(|&s| self.graph.is_live(s));
        match filter {
            None => self.exact_search_slots(query, k, &mut live.into_iter()),
            Some(f) => {
                self.exact_search_slots(query, k, &mut live.filter(|&s| f(self.keys.get(s))))
            }
        }
    }

    /// Exact k-nearest search over the given slots: full-precision
    /// distances (rescored for quantized indexes, as [`Index::search`]
    /// returns them), sorted by `(distance, key)`, at most `k`.
    ///
    /// This is the planner's tool when few elements match a filter: it costs
    /// one distance per slot and keeps a heap of `k`. A slot given twice
    /// counts once. A slot that holds no element is a `SlotNotFound` error.
    pub fn exact_search_slots(
        &self,
        query: &[f32],
        k: usize,
        slots: &mut dyn Iterator<Item = u32>,
    ) -> Result<Vec<Hit<'_>>> {
        if k == 0 {
            return Err(Error::new(ErrorKind::InvalidK));
        }
        let norm = self.check_vector(query)?;
        let mut q = Prepared::default();
        let mut nv = Vec::new();
        self.normalized(query, norm, &mut nv);
        self.vectors.prepare(&nv, &mut q);
        // One bit per slot, so a repeated slot is not returned twice.
        let mut seen = alloc::vec![0u64; self.graph.slots().div_ceil(64)];
        let mut heap: BinaryHeap<ByDistKey<'_>> = BinaryHeap::with_capacity(k.min(1024) + 1);
        for s in slots {
            if !self.graph.is_live(s) {
                return Err(Error::new(ErrorKind::SlotNotFound { slot: s }));
            }
            let (w, b) = (s as usize / 64, 1u64 << (s % 64));
            if seen[w] & b != 0 {
                continue;
            }
            seen[w] |= b;
            let h = ByDistKey(Hit { key: self.keys.get(s), distance: self.vectors.rescore(&q, s) });
            if heap.len() < k {
                heap.push(h);
            } else if heap.peek().is_some_and(|w| h < *w) {
                heap.pop();
                heap.push(h);
            }
        }
        let mut hits: Vec<Hit<'_>> = heap.into_iter().map(|h| h.0).collect();
        sort_hits(&mut hits);
        Ok(hits)
    }

    /// Checks `k` and the query, prepares it in `scratch.q`, and descends
    /// the upper layers greedily. Returns the layer-0 start and the entry
    /// point, or `None` for an empty index.
    fn start(&self, scratch: &mut Scratch, query: &[f32], k: usize) -> Result<Option<(Cand, u32)>> {
        if k == 0 {
            return Err(Error::new(ErrorKind::InvalidK));
        }
        let norm = self.check_vector(query)?;
        let Some(ep) = self.entry else { return Ok(None) };
        let mut q = core::mem::take(&mut scratch.q);
        let mut nv = core::mem::take(&mut q.v);
        self.normalized(query, norm, &mut nv);
        self.vectors.prepare(&nv, &mut q);
        q.v = nv;
        scratch.q = q;
        let mut cur = Cand { d: self.vectors.dist(&scratch.q, ep), id: ep };
        for l in (1..=self.max_level as usize).rev() {
            cur = self.greedy(scratch, cur, l);
        }
        Ok(Some((cur, ep)))
    }

    /// Turns `scratch.top` into the answer: rescored if quantized, sorted
    /// by `(distance, key)`, cut to `k`.
    fn finish(&self, scratch: &mut Scratch, k: usize) -> Vec<Hit<'_>> {
        let mut found = core::mem::take(&mut scratch.buf);
        sorted_top(scratch, &mut found);
        if self.vectors.needs_rescore() {
            for c in found.iter_mut() {
                c.d = self.vectors.rescore(&scratch.q, c.id);
            }
        }
        let mut hits: Vec<Hit<'_>> =
            found.iter().map(|c| Hit { key: self.keys.get(c.id), distance: c.d }).collect();
        scratch.buf = found;
        sort_hits(&mut hits);
        hits.truncate(k);
        hits
    }

    /// Greedy descent on one upper layer (ef = 1).
    pub(crate) fn greedy(&self, ws: &mut Scratch, mut cur: Cand, layer: usize) -> Cand {
        loop {
            let mut changed = false;
            for &n in self.graph.links(cur.id, layer) {
                let d = self.vectors.dist(&ws.q, n);
                if d < cur.d {
                    cur = Cand { d, id: n };
                    changed = true;
                }
            }
            if !changed {
                return cur;
            }
        }
    }

    /// The paper's SEARCH-LAYER (Algorithm 2) with a visit budget and an
    /// excluded node (the one being linked). Leaves the `ef` best in `ws.top`.
    pub(crate) fn search_layer(
        &self,
        ws: &mut Scratch,
        eps: &[Cand],
        ef: usize,
        layer: usize,
        budget: usize,
        exclude: Option<u32>,
    ) {
        ws.reset_visited(self.graph.slots());
        ws.cand.clear();
        ws.top.clear();
        self.walk(ws, eps, ef, layer, budget, exclude);
    }

    /// Continues a finished layer-0 walk from `from`, keeping the visited
    /// set and the results.
    fn resume_layer0(&self, ws: &mut Scratch, from: Cand, ef: usize) {
        ws.cand.clear();
        self.walk(ws, &[from], ef, 0, usize::MAX, None);
    }

    fn walk(
        &self,
        ws: &mut Scratch,
        eps: &[Cand],
        ef: usize,
        layer: usize,
        budget: usize,
        exclude: Option<u32>,
    ) {
        let accept = |s: u32| Some(s) != exclude;
        // An excluded node may still be an entry (greedy descent can land on
        // it): it is expanded, never returned.
        for &e in eps {
            let new = ws.visit(e.id);
            ws.cand.push(Reverse(e));
            if new && accept(e.id) {
                ws.top.push(e);
            }
        }
        if let Some(x) = exclude {
            ws.visit(x);
        }
        let mut bound = ws.top.peek().map_or(f32::INFINITY, |c| c.d);
        let mut visits = 0usize;
        let mut batch = [0u32; 2 * crate::config::MAX_M];
        while let Some(Reverse(c)) = ws.cand.pop() {
            if c.d > bound && ws.top.len() >= ef {
                break;
            }
            visits += 1;
            if visits > budget {
                break;
            }
            // Collect unvisited neighbours first and prefetch their vectors,
            // so the memory loads overlap instead of stalling one by one.
            let mut n = 0;
            for &nb in self.graph.links(c.id, layer) {
                if ws.visit(nb) {
                    batch[n] = nb;
                    n += 1;
                }
            }
            for &nb in &batch[..n.min(PREFETCH_AHEAD)] {
                self.vectors.prefetch(nb);
            }
            for j in 0..n {
                let nb = batch[j];
                if j + PREFETCH_AHEAD < n {
                    self.vectors.prefetch(batch[j + PREFETCH_AHEAD]);
                }
                let d = self.vectors.dist(&ws.q, nb);
                if ws.top.len() < ef || d < bound {
                    // Only a node that joins the frontier can be expanded,
                    // so only its list is worth fetching; fetching every
                    // neighbour's list cost 3–6% more build CPU time at
                    // 30k nodes (glove100).
                    if layer == 0 {
                        self.graph.prefetch0(nb);
                    }
                    ws.cand.push(Reverse(Cand { d, id: nb }));
                    if accept(nb) {
                        bound = keep(&mut ws.top, Cand { d, id: nb }, ef);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------
    // The filtered walk on layer 0 (ACORN-1 style two-hop expansion)
    //
    // A plain walk that merely refuses to *return* non-matching nodes works
    // at high selectivity and collapses at low: the result heap stays short
    // of `ef`, so its bound stays infinite, and the walk spends its budget
    // computing distances of nodes that can never be returned. ACORN-1
    // (Patel et al., SIGMOD 2024) instead walks the subgraph of matching
    // nodes, and bridges the gaps a predicate cuts into it by looking
    // through non-matching neighbours to *their* neighbours. Predicates are
    // cheap (a bitmap or column lookup); distances are not, so only matching
    // nodes get a distance.
    //
    // What enters each structure, and why:
    // - `top` (the `ef` best, a max-heap): matching nodes only. It is the
    //   answer, and its worst distance is the bound that stops the walk.
    // - `cand` (the frontier, a min-heap): matching nodes whose distance
    //   is under the bound (or while `top` holds fewer than `ef`), exactly
    //   as in SEARCH-LAYER, plus the layer-0 start from the descent whatever
    //   its predicate (the walk has to begin somewhere). Expanding a node:
    //     1. every unvisited direct neighbour is marked visited; matching
    //        ones are gathered;
    //     2. (two-hop) for each non-matching direct neighbour, in list
    //        order, its unvisited matching neighbours are gathered too,
    //        until `m0` are gathered: one expansion costs at most `m0`
    //        distances, the same as an unfiltered one. Non-matching nodes
    //        seen only at two hops are not marked, so a later expansion can
    //        look through them;
    //     3. the gathered nodes get their distances and enter `cand`/`top`
    //        under the usual rule.
    // - `detour` (a min-heap): the non-matching direct neighbours of every
    //   expanded node, keyed by the distance of the node that found them
    //   (their own distance is never computed unless they are used). The
    //   walk pops from it only when `cand` is empty while `top` holds fewer
    //   than `ef` matches: the matching region within two hops is used up,
    //   so the walk ripples outward through non-matching nodes, closest
    //   first, until it reaches more matches. This is what keeps an
    //   anti-correlated filter (all matches far from the query) from
    //   returning nothing. A detour node's distance is computed when popped
    //   and keys its own non-matching neighbours.
    // - When `cand` and `detour` are both empty and the entry point was
    //   never visited, the walk continues from it (the descent can land in
    //   a part of layer 0 that does not reach everything; the entry point
    //   reaches every live node, see `repair_reachability`).
    //
    // It stops when `top` holds `ef` and no frontier node is closer than
    // its worst (converged: complete), when there is nothing left to expand
    // (every node reachable from the entry point was visited: complete), or
    // after `budget` expansions (not complete). While `top` is not full,
    // every visited matching node enters it and every visited non-matching
    // one is expanded later, so "complete with fewer than `k`" means every
    // live match is in the answer.
    // ---------------------------------------------------------------------

    /// The filtered layer-0 walk from `from`; leaves the matches in `ws.top`
    /// and returns `(complete, expanded)`.
    #[allow(clippy::too_many_arguments)]
    fn filtered_walk(
        &self,
        ws: &mut Scratch,
        from: Cand,
        ep: u32,
        ef: usize,
        pred: &dyn Fn(u32) -> bool,
        budget: usize,
        hops: Hops,
    ) -> (bool, usize) {
        ws.reset_visited(self.graph.slots());
        ws.cand.clear();
        ws.top.clear();
        ws.detour.clear();
        ws.visit(from.id);
        if pred(from.id) {
            ws.top.push(from);
        }
        ws.cand.push(Reverse(from));
        let cap = self.graph.m0;
        let mut bound = ws.top.peek().map_or(f32::INFINITY, |c| c.d);
        let mut expanded = 0usize;
        let mut near = [0u32; 2 * crate::config::MAX_M];
        let mut far = [0u32; 2 * crate::config::MAX_M];
        loop {
            let c = match ws.cand.peek() {
                Some(&Reverse(c)) if ws.top.len() < ef || c.d <= bound => {
                    ws.cand.pop();
                    c
                }
                _ if ws.top.len() >= ef => return (true, expanded),
                _ => {
                    if let Some(Reverse(x)) = ws.detour.pop() {
                        Cand { d: self.vectors.dist(&ws.q, x.id), id: x.id }
                    } else if ws.visit(ep) {
                        let e = Cand { d: self.vectors.dist(&ws.q, ep), id: ep };
                        if pred(ep) {
                            ws.top.push(e);
                            bound = ws.top.peek().map_or(f32::INFINITY, |c| c.d);
                        }
                        e
                    } else {
                        return (true, expanded);
                    }
                }
            };
            if expanded >= budget {
                return (false, expanded);
            }
            expanded += 1;
            if hops == Hops::All {
                // Every new neighbour gets its distance and, if it could
                // improve the results, becomes a candidate; matches also
                // enter the results.
                let mut nn = 0;
                for &nb in self.graph.links(c.id, 0) {
                    if ws.visit(nb) {
                        near[nn] = nb;
                        nn += 1;
                    }
                }
                for &nb in &near[..nn.min(PREFETCH_AHEAD)] {
                    self.vectors.prefetch(nb);
                }
                for j in 0..nn {
                    let nb = near[j];
                    if j + PREFETCH_AHEAD < nn {
                        self.vectors.prefetch(near[j + PREFETCH_AHEAD]);
                    }
                    let d = self.vectors.dist(&ws.q, nb);
                    if ws.top.len() < ef || d < bound {
                        self.graph.prefetch0(nb);
                        ws.cand.push(Reverse(Cand { d, id: nb }));
                        if pred(nb) {
                            bound = keep(&mut ws.top, Cand { d, id: nb }, ef);
                        }
                    }
                }
                continue;
            }
            // 1. Direct neighbours. A slot the look-through already
            // rejected skips the predicate.
            let (mut nn, mut nf) = (0, 0);
            for &nb in self.graph.links(c.id, 0) {
                let state = ws.state(nb);
                if state == Seen::Visited {
                    continue;
                }
                ws.visit(nb);
                if state == Seen::New && pred(nb) {
                    near[nn] = nb;
                    nn += 1;
                } else {
                    far[nf] = nb;
                    nf += 1;
                }
            }
            // 2. Look through the non-matching ones, until `cap` matches.
            if hops == Hops::Two {
                'look: for &f in &far[..nf] {
                    if nn >= cap {
                        break;
                    }
                    for &nb in self.graph.links(f, 0) {
                        if ws.state(nb) != Seen::New {
                            continue;
                        }
                        if pred(nb) {
                            ws.visit(nb);
                            near[nn] = nb;
                            nn += 1;
                            if nn >= cap {
                                break 'look;
                            }
                        } else {
                            ws.reject(nb);
                        }
                    }
                }
            }
            for &f in &far[..nf] {
                ws.detour.push(Reverse(Cand { d: c.d, id: f }));
            }
            // 3. Distances of the gathered matches.
            for &nb in &near[..nn.min(PREFETCH_AHEAD)] {
                self.vectors.prefetch(nb);
            }
            for j in 0..nn {
                let nb = near[j];
                if j + PREFETCH_AHEAD < nn {
                    self.vectors.prefetch(near[j + PREFETCH_AHEAD]);
                }
                self.graph.prefetch0(nb);
                let d = self.vectors.dist(&ws.q, nb);
                if ws.top.len() < ef || d < bound {
                    ws.cand.push(Reverse(Cand { d, id: nb }));
                    bound = keep(&mut ws.top, Cand { d, id: nb }, ef);
                }
            }
        }
    }
}

/// Drains `ws.top` into `out`, closest first.
///
/// Popping a heap is the sort-down half of a heapsort, and needs no
/// instance of the standard sort (several KB of wasm: see
/// [`math::sort_by`]); both buffers keep their capacity.
fn sorted_top(ws: &mut Scratch, out: &mut Vec<Cand>) {
    out.clear();
    while let Some(c) = ws.top.pop() {
        out.push(c);
    }
    out.reverse();
}

/// A hit ordered by `(distance, key)`, for the bounded heap of
/// `exact_search_slots`.
struct ByDistKey<'a>(Hit<'a>);

impl PartialEq for ByDistKey<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == core::cmp::Ordering::Equal
    }
}

impl Eq for ByDistKey<'_> {}

impl PartialOrd for ByDistKey<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for ByDistKey<'_> {
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        self.0.distance.total_cmp(&o.0.distance).then_with(|| self.0.key.cmp(o.0.key))
    }
}

/// By `(distance, key)`. Not `sort_unstable_by`, for code size: see
/// [`crate::math::sort_by`].
fn sort_hits(hits: &mut [Hit<'_>]) {
    crate::math::sort_by(hits, |a, b| {
        a.distance.total_cmp(&b.distance).then_with(|| a.key.cmp(b.key)).is_lt()
    });
}

/// xxh3 as a `Hasher`, for the batch duplicate check.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl core::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // The unseeded xxh3 of the key map (`keys.rs`), chained by a
        // rotation (a bijection, so one write keeps xxh3's spread), not
        // `xxh3_64_with_seed`: that is a second xxh3 instance, 5 KB of wasm
        // in the npm `Index` module (100 KB budget).
        self.0 = xxhash_rust::xxh3::xxh3_64(bytes) ^ self.0.rotate_left(23);
    }
}

impl Quantization {
    /// Bytes one vector takes in this format at dimension `dim` (codes plus
    /// per-vector scalars, excluding the cosine norm).
    pub fn vector_bytes(self, dim: usize) -> usize {
        match self {
            Quantization::F32 => 4 * dim,
            Quantization::I8 => dim + 4,
            Quantization::Binary => dim.div_ceil(64) * 8 + 4,
        }
    }
}
