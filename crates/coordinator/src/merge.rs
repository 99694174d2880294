//! The top-k merge of per-shard result lists.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use vecshard_shard::Hit;

/// A hit ordered by `(distance, key)`; the max-heap keeps the worst on top.
struct Ranked(Hit);

fn cmp_hits(a: &Hit, b: &Hit) -> Ordering {
    a.distance.total_cmp(&b.distance).then_with(|| a.key.cmp(&b.key))
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        cmp_hits(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_hits(&self.0, &other.0)
    }
}

/// Merges per-shard top-k lists into the global top `k`, sorted by
/// `(distance, key)`.
///
/// A bounded max-heap of size `k` keeps the best hits seen so far, so the
/// cost is `O(total · log k)` whatever the order of the inputs. Each shard
/// owns disjoint keys, but a key that shows up twice (a client that moved
/// data between clusters, say) is kept once, at its smaller distance.
/// Distances from every shard compare because shards return full-precision
/// distances (rescored when quantized).
///
/// ```
/// use vecshard_shard::Hit;
/// let h = |k: &str, d: f32| Hit { key: k.into(), distance: d };
/// let merged = vecshard_coordinator::merge(vec![vec![h("a", 0.1), h("c", 0.5)], vec![h("b", 0.1), h("d", 0.2)]], 3);
/// let keys: Vec<_> = merged.iter().map(|h| h.key.as_str()).collect();
/// assert_eq!(keys, ["a", "b", "d"]);
/// ```
pub fn merge(lists: Vec<Vec<Hit>>, k: usize) -> Vec<Hit> {
    if k == 0 {
        return Vec::new();
    }
    let mut best: HashMap<String, f32> = HashMap::new();
    for h in lists.into_iter().flatten() {
        best.entry(h.key)
            .and_modify(|d| {
                if h.distance.total_cmp(d) == Ordering::Less {
                    *d = h.distance;
                }
            })
            .or_insert(h.distance);
    }
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(k + 1);
    for (key, distance) in best {
        let hit = Ranked(Hit { key, distance });
        if heap.len() < k {
            heap.push(hit);
        } else if heap.peek().is_some_and(|worst| hit < *worst) {
            heap.pop();
            heap.push(hit);
        }
    }
    let mut out: Vec<Hit> = heap.into_iter().map(|r| r.0).collect();
    out.sort_by(cmp_hits);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(k: &str, d: f32) -> Hit {
        Hit { key: k.into(), distance: d }
    }

    #[test]
    fn ties_break_by_key_and_duplicates_keep_the_best() {
        let out = merge(vec![vec![h("b", 1.0), h("x", 0.5)], vec![h("a", 1.0), h("x", 0.2)]], 10);
        assert_eq!(out, vec![h("x", 0.2), h("a", 1.0), h("b", 1.0)]);
    }

    #[test]
    fn bounded_to_k_and_empty_inputs() {
        assert!(merge(vec![], 5).is_empty());
        assert!(merge(vec![vec![h("a", 0.0)]], 0).is_empty());
        let lists: Vec<Vec<Hit>> =
            (0..4).map(|s| (0..50).map(|i| h(&format!("{s}-{i}"), i as f32)).collect()).collect();
        let out = merge(lists, 6);
        let keys: Vec<&str> = out.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, ["0-0", "1-0", "2-0", "3-0", "0-1", "1-1"]);
    }
}
