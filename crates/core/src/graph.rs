//! The layered link structure.
//!
//! Layer 0 holds every node, so its lists live in one flat array with a
//! fixed stride of `m0 + 1` words (`[count, link_1 … link_m0]`): a node's list
//! is found by multiplication, and lists of nodes with close slot numbers
//! share pages. Only about `1/m` of the nodes reach layer 1 (the level of a
//! node is `⌊−ln(U)·m_L⌋` with `m_L = 1/ln m`, so P(level ≥ l) = m^(−l)),
//! so upper lists are kept per node in a map, each `level · (m + 1)` words.
//!
//! The graph also keeps the *in-degree* of each node on layer 0. HNSW links
//! are directed, and the pruning that keeps lists under their caps can drop
//! the last link into a node, which silently makes it unreachable (a known
//! flaw of plain HNSW). Knowing in-degrees lets insert and delete refuse to
//! drop a node's last incoming link; see `Index::prune`.
//!
//! In-degrees catch a lone orphan, not a small island whose members only
//! link to each other. For those the graph keeps a *reachability
//! certificate*: a spanning tree of layer 0 rooted at the entry point,
//! stored as one `parent` per node, where `parent[x]` is a node whose
//! layer-0 list contains `x`. Following parents from any certified node
//! ends at the entry point, so that node is reachable. Adding links never
//! invalidates the tree; dropping the link `p → x` where `parent[x] = p`
//! does, for `x` and the nodes under it, and [`Graph::set`] records such an
//! `x` in `pending` at once. The index then finds `x` a new parent nearby
//! (`Index::settle`: one of `x`'s own neighbours that links back and whose
//! chain does not pass through `x`, or, when all of those hang below `x`,
//! one of them re-parented to an in-linker from outside `x`'s subtree),
//! which re-certifies the whole subtree, and only walks the whole graph
//! when neither works or the entry point moved. Before the
//! tree, every insert that left a node with two or fewer in-links walked the
//! whole graph: 56% of a 100k build on clustered data.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::hash::{BuildHasherDefault, Hasher};

/// Level marker of a free slot.
pub(crate) const FREE: u8 = u8::MAX;
/// `parent` of the entry point, of a free slot and of a node whose parent
/// link was dropped (it is then in `pending`).
pub(crate) const NO_PARENT: u32 = u32::MAX;
/// Highest level a node can get (P = m^-15 makes it unreachable in practice).
pub(crate) const MAX_LEVEL: u8 = 15;

/// Multiplicative hash for `u32` slot numbers (deterministic, no seed).
#[derive(Default, Clone, Copy)]
pub(crate) struct SlotHasher(u64);

impl Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u32(&mut self, x: u32) {
        self.0 = (x as u64 ^ 0x5bd1_e995).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type UpperMap = hashbrown::HashMap<u32, Box<[u32]>, BuildHasherDefault<SlotHasher>>;

#[derive(Clone, Debug)]
pub(crate) struct Graph {
    pub m: usize,
    pub m0: usize,
    /// Level of each slot, or [`FREE`].
    pub levels: Vec<u8>,
    /// Layer-0 lists, stride `m0 + 1`.
    pub layer0: Vec<u32>,
    /// Lists of layers `1..=level` for nodes with level ≥ 1, stride `m + 1`.
    pub upper: UpperMap,
    /// Number of layer-0 lists that contain each slot.
    pub indeg: Vec<u32>,
    /// The reachability certificate (see the module docs): each live node's
    /// parent in a layer-0 spanning tree rooted at the entry point, or
    /// [`NO_PARENT`]. Derived, never saved: a load rebuilds it.
    pub parent: Vec<u32>,
    /// Nodes that lost their parent (or are new) since the index last
    /// settled; they may be unreachable until given a parent again.
    pub pending: Vec<u32>,
}

impl Graph {
    pub fn new(m: usize) -> Graph {
        Graph {
            m,
            m0: 2 * m,
            levels: Vec::new(),
            layer0: Vec::new(),
            upper: UpperMap::default(),
            indeg: Vec::new(),
            parent: Vec::new(),
            pending: Vec::new(),
        }
    }

    pub fn slots(&self) -> usize {
        self.levels.len()
    }

    pub fn cap(&self, layer: usize) -> usize {
        if layer == 0 {
            self.m0
        } else {
            self.m
        }
    }

    pub fn reserve(&mut self, slots: usize) {
        let extra = slots.saturating_sub(self.levels.len());
        self.levels.reserve_exact(extra);
        self.layer0.reserve_exact(extra * (self.m0 + 1));
        self.indeg.reserve_exact(extra);
        self.parent.reserve_exact(slots.saturating_sub(self.parent.len()));
    }

    pub fn shrink_to_fit(&mut self) {
        self.levels.shrink_to_fit();
        self.layer0.shrink_to_fit();
        self.indeg.shrink_to_fit();
        self.parent.shrink_to_fit();
        self.pending.shrink_to_fit();
        self.upper.shrink_to_fit();
    }

    pub fn grow_to(&mut self, slots: usize) {
        self.levels.resize(slots, FREE);
        self.layer0.resize(slots * (self.m0 + 1), 0);
        self.indeg.resize(slots, 0);
        self.parent.resize(slots, NO_PARENT);
    }

    #[inline]
    pub fn is_live(&self, slot: u32) -> bool {
        self.levels.get(slot as usize).is_some_and(|&l| l != FREE)
    }

    /// Gives a free slot its level and empty lists.
    pub fn init(&mut self, slot: u32, level: u8) {
        self.levels[slot as usize] = level;
        let s = slot as usize * (self.m0 + 1);
        self.layer0[s] = 0;
        // Uncertified until it is linked in and settled.
        if self.parent.len() < self.levels.len() {
            self.parent.resize(self.levels.len(), NO_PARENT);
        }
        self.parent[slot as usize] = NO_PARENT;
        self.pending.push(slot);
        if level > 0 {
            let words = level as usize * (self.m + 1);
            self.upper.insert(slot, vec![0u32; words].into_boxed_slice());
        }
    }

    /// Frees a slot whose lists have already been emptied of in-links.
    pub fn release(&mut self, slot: u32) {
        self.set(slot, 0, &[]);
        self.levels[slot as usize] = FREE;
        self.parent[slot as usize] = NO_PARENT;
        self.upper.remove(&slot);
    }

    /// Hints the CPU to fetch the start of `slot`'s layer-0 list.
    #[inline(always)]
    pub fn prefetch0(&self, slot: u32) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: prefetch never faults; SSE is in the x86_64 baseline.
        unsafe {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p = self.layer0.as_ptr().wrapping_add(slot as usize * (self.m0 + 1));
            _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    #[inline(always)]
    pub fn links(&self, slot: u32, layer: usize) -> &[u32] {
        if layer == 0 {
            let s = slot as usize * (self.m0 + 1);
            let n = self.layer0[s] as usize;
            &self.layer0[s + 1..s + 1 + n]
        } else {
            match self.upper.get(&slot) {
                Some(b) => {
                    let s = (layer - 1) * (self.m + 1);
                    let n = b[s] as usize;
                    &b[s + 1..s + 1 + n]
                }
                None => &[],
            }
        }
    }

    /// Replaces a list (`links.len() <= cap(layer)`), keeping in-degrees and
    /// recording in `pending` every node whose parent link this drops.
    pub fn set(&mut self, slot: u32, layer: usize, links: &[u32]) {
        debug_assert!(links.len() <= self.cap(layer));
        if layer == 0 {
            let s = slot as usize * (self.m0 + 1);
            let n = self.layer0[s] as usize;
            for &old in &self.layer0[s + 1..s + 1 + n] {
                self.indeg[old as usize] -= 1;
                if self.parent.get(old as usize) == Some(&slot) && !links.contains(&old) {
                    self.parent[old as usize] = NO_PARENT;
                    self.pending.push(old);
                }
            }
            for &new in links {
                self.indeg[new as usize] += 1;
            }
            self.layer0[s] = links.len() as u32;
            self.layer0[s + 1..s + 1 + links.len()].copy_from_slice(links);
        } else if let Some(b) = self.upper.get_mut(&slot) {
            let s = (layer - 1) * (self.m + 1);
            b[s] = links.len() as u32;
            b[s + 1..s + 1 + links.len()].copy_from_slice(links);
        }
    }

    /// Appends a link if the list has room; returns false when full.
    pub fn push(&mut self, slot: u32, layer: usize, link: u32) -> bool {
        let cap = self.cap(layer);
        if layer == 0 {
            let s = slot as usize * (self.m0 + 1);
            let n = self.layer0[s] as usize;
            if n >= cap {
                return false;
            }
            self.layer0[s + 1 + n] = link;
            self.layer0[s] += 1;
            self.indeg[link as usize] += 1;
            true
        } else if let Some(b) = self.upper.get_mut(&slot) {
            let s = (layer - 1) * (self.m + 1);
            let n = b[s] as usize;
            if n >= cap {
                return false;
            }
            b[s + 1 + n] = link;
            b[s] += 1;
            true
        } else {
            false
        }
    }

    /// Recomputes in-degrees from the lists (after a snapshot load).
    pub fn recount_indeg(&mut self) {
        self.indeg.iter_mut().for_each(|d| *d = 0);
        for s in 0..self.levels.len() {
            if self.levels[s] != FREE {
                let b = s * (self.m0 + 1);
                let n = self.layer0[b] as usize;
                for i in 0..n {
                    let t = self.layer0[b + 1 + i] as usize;
                    self.indeg[t] += 1;
                }
            }
        }
    }

    /// Slots (live, level ≥ `layer`) whose list on `layer` contains `target`,
    /// in slot order. A linear scan of a flat array: ~30 µs per 10k nodes.
    pub fn in_links(&self, target: u32, layer: usize, out: &mut Vec<u32>) {
        out.clear();
        if layer == 0 {
            let stride = self.m0 + 1;
            for (s, list) in self.layer0.chunks_exact(stride).enumerate() {
                let n = list[0] as usize;
                if n > 0 && list[1..=n].contains(&target) && s as u32 != target {
                    out.push(s as u32);
                }
            }
        } else {
            for (&s, _) in self.upper.iter() {
                if s != target
                    && self.levels[s as usize] as usize >= layer
                    && self.links(s, layer).contains(&target)
                {
                    out.push(s);
                }
            }
            // A few dozen slots; see `math::sort_by` for why not the std sort.
            crate::math::heapsort_by(out, &|a: &u32, b: &u32| a < b);
        }
    }

    pub fn bytes(&self) -> usize {
        let upper: usize = self.upper.values().map(|b| b.len() * 4).sum();
        // Map buckets: key + fat pointer + control byte, at 7/8 load.
        let map = self.upper.capacity() * 8 / 7 * (4 + 16 + 1);
        self.levels.capacity()
            + self.layer0.capacity() * 4
            + self.indeg.capacity() * 4
            + (self.parent.capacity() + self.pending.capacity()) * 4
            + upper
            + map
    }
}
