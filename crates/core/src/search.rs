//! Search scratch and the two layer walks of the paper.
//!
//! `greedy` is the upper-layer descent (ef = 1): move to any closer
//! neighbour until none is closer. `search_layer` is the paper's
//! SEARCH-LAYER: a best-first walk that keeps the `ef` closest nodes seen so
//! far (`top`, a max-heap) and a frontier (`cand`, a min-heap), and stops
//! when the closest frontier node is farther than the farthest kept one.
//!
//! All state lives in a caller-owned [`Scratch`], so a search allocates
//! nothing after warm-up and takes `&self`: many threads can search one index
//! at once, each with its own scratch. The visited set is a vector of
//! one-byte generation stamps: "clearing" it is one increment, and a real
//! clear happens once every 127 searches (each generation uses two stamps). One byte per node (not four) keeps
//! the set of a 10k-node index in L1 cache, which measurably speeds the walk.

use crate::store::Prepared;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::{Ordering, Reverse};

/// A node and its distance to the query, ordered by `(distance, slot)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cand {
    pub d: f32,
    pub id: u32,
}

impl Eq for Cand {}

impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.d.total_cmp(&o.d).then(self.id.cmp(&o.id))
    }
}

impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// What the current generation knows of a slot (see [`Scratch::state`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    New,
    Visited,
    Rejected,
}

/// Reusable per-searcher memory. Create one per thread with
/// [`Scratch::new`] (or let [`Index::search`](crate::Index::search) make a
/// temporary one) and pass it to [`Index::search_with`](crate::Index::search_with).
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    pub(crate) visited: Vec<u8>,
    pub(crate) epoch: u8,
    pub(crate) cand: BinaryHeap<Reverse<Cand>>,
    pub(crate) top: BinaryHeap<Cand>,
    /// Filtered walk only: non-matching nodes whose neighbours have not been
    /// expanded yet, keyed by their discoverer's distance (see
    /// `Index::filtered_walk`). Used only when the matching frontier dries up.
    pub(crate) detour: BinaryHeap<Reverse<Cand>>,
    pub(crate) q: Prepared,
    pub(crate) buf: Vec<Cand>,
}

impl Scratch {
    /// An empty scratch; it sizes itself on first use.
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// Starts a new visited generation sized for `slots` nodes.
    ///
    /// A generation owns two stamp values: `epoch` (visited) and `epoch + 1`
    /// (rejected by the filtered walk's predicate, not visited). `epoch`
    /// is even and steps by two, so no stamp of an older generation can
    /// equal either, and a real clear happens once every 127 searches.
    pub(crate) fn reset_visited(&mut self, slots: usize) {
        if self.visited.len() < slots {
            self.visited.resize(slots, 0);
        }
        self.epoch = (self.epoch & !1).wrapping_add(2);
        if self.epoch == 0 {
            self.visited.iter_mut().for_each(|v| *v = 0);
            self.epoch = 2;
        }
    }

    /// The filtered walk's view of `slot` in this generation.
    #[inline(always)]
    pub(crate) fn state(&self, slot: u32) -> Seen {
        match self.visited[slot as usize].wrapping_sub(self.epoch) {
            0 => Seen::Visited,
            1 => Seen::Rejected,
            _ => Seen::New,
        }
    }

    /// Records that `slot` failed the predicate (it stays unvisited, so the
    /// walk can still step through it, but its predicate is not run again).
    #[inline(always)]
    pub(crate) fn reject(&mut self, slot: u32) {
        self.visited[slot as usize] = self.epoch + 1;
    }

    /// Marks `slot` visited; returns whether it was new.
    #[inline(always)]
    pub(crate) fn visit(&mut self, slot: u32) -> bool {
        let v = &mut self.visited[slot as usize];
        if *v == self.epoch {
            false
        } else {
            *v = self.epoch;
            true
        }
    }
}

/// Offers `c` to `top`, the `ef` best so far (a max-heap), and returns the
/// new bound (the worst kept distance; infinite while `top` is short).
///
/// When `top` is full and `c` beats its worst, the worst is *replaced*: one
/// sift-down, where a push and a pop would be a sift-up plus a full
/// sift-down (the heaps were a fifth of the build's time).
#[inline]
pub(crate) fn keep(top: &mut BinaryHeap<Cand>, c: Cand, ef: usize) -> f32 {
    if top.len() < ef {
        top.push(c);
    } else if let Some(mut worst) = top.peek_mut() {
        if c < *worst {
            *worst = c;
        }
    }
    top.peek().map_or(f32::INFINITY, |w| w.d)
}
