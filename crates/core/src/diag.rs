//! Diagnostics: the invariant checker and memory statistics.

use crate::graph::{FREE, MAX_LEVEL, NO_PARENT};
use crate::index::Index;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Counts and memory use of an index, as [`Index::stats`] reports them.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Live elements.
    pub len: usize,
    /// Allocated slots (live + free).
    pub slots: usize,
    /// Free slots waiting for reuse.
    pub free_slots: usize,
    /// Top layer.
    pub max_level: usize,
    /// `level_histogram[l]` = number of nodes whose top layer is `l`.
    pub level_histogram: Vec<usize>,
    /// Links on layer 0 (sum of list lengths).
    pub layer0_links: usize,
    /// Links on layers ≥ 1.
    pub upper_links: usize,
    /// Heap bytes of vector data (codes, scales, norms).
    pub vector_bytes: usize,
    /// Heap bytes of the graph (link lists, levels, in-degrees, map).
    pub link_bytes: usize,
    /// Heap bytes of the keys (arena, offsets, lookup table).
    pub key_bytes: usize,
    /// Sum of the three.
    pub total_bytes: usize,
}

impl Stats {
    /// `total_bytes / len` (0 when empty).
    pub fn bytes_per_vector(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            self.total_bytes as f64 / self.len as f64
        }
    }
}

impl Index {
    /// Heap bytes of the index (vectors, links, keys): the same figure as
    /// `stats().total_bytes`, in O(1). `stats()` walks every node for its
    /// histograms; health checks and info requests use this instead.
    pub fn memory_bytes(&self) -> usize {
        self.vectors.bytes() + self.graph.bytes() + self.free.capacity() * 4 + self.keys.bytes()
    }

    /// The top layer of the graph (the entry point's level), in O(1).
    pub fn max_level(&self) -> usize {
        self.max_level as usize
    }

    /// Counts and memory use. Bytes are heap capacities, so they include
    /// growth slack of the underlying vectors.
    pub fn stats(&self) -> Stats {
        let g = &self.graph;
        let mut hist = vec![0usize; MAX_LEVEL as usize + 1];
        let (mut l0, mut up) = (0, 0);
        for s in 0..g.slots() as u32 {
            let lv = g.levels[s as usize];
            if lv == FREE {
                continue;
            }
            hist[lv as usize] += 1;
            l0 += g.links(s, 0).len();
            up += (1..=lv as usize).map(|l| g.links(s, l).len()).sum::<usize>();
        }
        while hist.len() > 1 && hist[hist.len() - 1] == 0 {
            hist.pop();
        }
        let vector_bytes = self.vectors.bytes();
        let link_bytes = g.bytes() + self.free.capacity() * 4;
        let key_bytes = self.keys.bytes();
        Stats {
            len: self.len,
            slots: g.slots(),
            free_slots: self.free.len(),
            max_level: self.max_level as usize,
            level_histogram: hist,
            layer0_links: l0,
            upper_links: up,
            vector_bytes,
            link_bytes,
            key_bytes,
            total_bytes: vector_bytes + link_bytes + key_bytes,
        }
    }

    /// Checks the graph's structural invariants and returns the first
    /// violation found:
    ///
    /// - every link points to a live slot other than its owner, with no
    ///   duplicates in a list, and to a node that exists on that layer;
    /// - lists respect their caps (`m0` on layer 0, `m` above);
    /// - the entry point is live and on the top layer, and no node is higher;
    /// - counts agree (live slots, free list, keys) and in-degrees are exact;
    /// - every live node is reachable from the entry point on layer 0.
    pub fn check_invariants(&self) -> Result<(), String> {
        let g = &self.graph;
        let n = g.slots();
        let mut live = 0;
        let mut indeg = vec![0u32; n];
        let mut top = 0u8;
        for s in 0..n as u32 {
            let lv = g.levels[s as usize];
            if lv == FREE {
                if !g.links(s, 0).is_empty() {
                    return Err(format!("free slot {s} still has layer-0 links"));
                }
                continue;
            }
            live += 1;
            top = top.max(lv);
            if self.keys.find(self.keys.get(s)) != Some(s) {
                return Err(format!(
                    "slot {s}: key {:?} does not map back to it",
                    self.keys.get(s)
                ));
            }
            for l in 0..=lv as usize {
                let links = g.links(s, l);
                if links.len() > g.cap(l) {
                    return Err(format!(
                        "slot {s} layer {l}: {} links > cap {}",
                        links.len(),
                        g.cap(l)
                    ));
                }
                for (i, &t) in links.iter().enumerate() {
                    if t as usize >= n {
                        return Err(format!(
                            "slot {s} layer {l}: link {t} out of range ({n} slots)"
                        ));
                    }
                    if t == s {
                        return Err(format!("slot {s} layer {l}: links to itself"));
                    }
                    let tl = g.levels[t as usize];
                    if tl == FREE || (tl as usize) < l {
                        return Err(format!(
                            "slot {s} layer {l}: link {t} is free or below layer {l}"
                        ));
                    }
                    if links[..i].contains(&t) {
                        return Err(format!("slot {s} layer {l}: duplicate link {t}"));
                    }
                    if l == 0 {
                        indeg[t as usize] += 1;
                    }
                }
            }
        }
        if live != self.len {
            return Err(format!("{live} live slots but len is {}", self.len));
        }
        if live + self.free.len() != n {
            return Err(format!("{live} live + {} free != {n} slots", self.free.len()));
        }
        for &f in &self.free {
            if g.is_live(f) {
                return Err(format!("free list holds live slot {f}"));
            }
        }
        if indeg != g.indeg {
            return Err("layer-0 in-degree counters disagree with the links".into());
        }
        let Some(ep) = self.entry else {
            return if live == 0 {
                Ok(())
            } else {
                Err("no entry point but index not empty".into())
            };
        };
        if !g.is_live(ep) {
            return Err(format!("entry point {ep} is not live"));
        }
        if g.levels[ep as usize] != self.max_level || top != self.max_level {
            return Err(format!(
                "entry point {ep} has level {} but max_level is {} and the top node level is {top}",
                g.levels[ep as usize], self.max_level
            ));
        }
        let (seen, reached) = self.reachable(ep);
        if reached != live {
            let lost = (0..n).find(|&s| g.levels[s] != FREE && !seen[s]).unwrap_or(0);
            return Err(format!(
                "{} of {live} live nodes are unreachable from the entry point (e.g. slot {lost}, key {:?})",
                live - reached,
                self.keys.get(lost as u32)
            ));
        }
        // The reachability certificate (graph.rs): every live node but the
        // entry has a parent that links to it, and its chain ends at `ep`.
        if let Some(&p) = g.pending.first() {
            return Err(format!("slot {p} is still waiting for a parent"));
        }
        for s in 0..n as u32 {
            if g.levels[s as usize] == FREE || s == ep {
                continue;
            }
            let (mut x, mut steps) = (s, 0);
            while x != ep {
                let p = g.parent.get(x as usize).copied().unwrap_or(NO_PARENT);
                if p == NO_PARENT || !g.links(p, 0).contains(&x) || steps > n {
                    return Err(format!(
                        "slot {s}'s parent chain breaks at slot {x} (parent {p}, after {steps} steps)"
                    ));
                }
                x = p;
                steps += 1;
            }
        }
        Ok(())
    }

    /// Number of live nodes not reachable from the entry point on layer 0.
    pub fn unreachable_count(&self) -> usize {
        self.entry.map_or(0, |ep| self.len - self.reachable(ep).1)
    }

    /// Breadth-first over layer 0 from `ep`: the reached set and its size.
    fn reachable(&self, ep: u32) -> (Vec<bool>, usize) {
        let g = &self.graph;
        let mut seen = vec![false; g.slots()];
        let mut queue = vec![ep];
        seen[ep as usize] = true;
        let mut reached = 1;
        while let Some(s) = queue.pop() {
            for &t in g.links(s, 0) {
                if !seen[t as usize] {
                    seen[t as usize] = true;
                    reached += 1;
                    queue.push(t);
                }
            }
        }
        (seen, reached)
    }
}
