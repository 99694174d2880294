//! Attributes per slot, typed, and the indexes a filter planner uses.
//!
//! The bytes stay the source of truth: they are what the snapshot container
//! and the write-ahead log hold. Everything here is *derived* from them and
//! rebuilt when a shard loads (see `Shard::from_snapshot`): the typed
//! [`Attributes`] of each slot, an inverted index per field (`EqKey` ->
//! slots) for `==` and `in`, and a sorted numeric index per field
//! (`range_value` -> slots) for comparisons. Rebuilding costs one JSON parse
//! per element at load (about the cost of reading the bytes), and in return
//! the snapshot format does not change, old snapshots need no migration and
//! the indexes can never disagree with the bytes they come from.
//!
//! Everything is keyed by the core's dense `u32` slot, because that is what
//! the core's filtered walk hands to its predicate: testing a slot is a
//! vector lookup, not a key hash.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;
use vecshard_filter::{eq_keys, range_value, Attributes, EqKey, Plan, Value};

/// One element's attributes: the bytes as written, and their typed form
/// (`None` for bytes that are not a JSON object, which only old data holds:
/// the filter sees such an element as having no attributes).
pub(crate) struct Entry {
    pub raw: Vec<u8>,
    pub typed: Option<Attributes>,
}

/// A set of slots: a sorted vector while small, a bitmap once a bitmap is
/// smaller (more than one slot in 32 of the slot space).
#[derive(Clone, Debug)]
pub(crate) enum SlotSet {
    Sorted(Vec<u32>),
    Bits { words: Vec<u64>, len: usize },
}

impl SlotSet {
    fn new() -> SlotSet {
        SlotSet::Sorted(Vec::new())
    }

    pub fn len(&self) -> usize {
        match self {
            SlotSet::Sorted(v) => v.len(),
            SlotSet::Bits { len, .. } => *len,
        }
    }

    fn insert(&mut self, slot: u32) {
        match self {
            SlotSet::Sorted(v) => {
                if let Err(at) = v.binary_search(&slot) {
                    v.insert(at, slot);
                }
                // Switch when 4 bytes per member outgrow one bit per slot.
                let top = v.last().copied().unwrap_or(0) as usize + 1;
                if v.len() >= 256 && v.len() * 32 > top {
                    let mut words = alloc::vec![0u64; top.div_ceil(64)];
                    for &s in v.iter() {
                        words[s as usize / 64] |= 1 << (s % 64);
                    }
                    *self = SlotSet::Bits { len: v.len(), words };
                }
            }
            SlotSet::Bits { words, len } => {
                let w = slot as usize / 64;
                if w >= words.len() {
                    words.resize(w + 1, 0);
                }
                let bit = 1u64 << (slot % 64);
                if words[w] & bit == 0 {
                    words[w] |= bit;
                    *len += 1;
                }
            }
        }
    }

    fn remove(&mut self, slot: u32) {
        match self {
            SlotSet::Sorted(v) => {
                if let Ok(at) = v.binary_search(&slot) {
                    v.remove(at);
                }
            }
            SlotSet::Bits { words, len } => {
                let w = slot as usize / 64;
                let bit = 1u64 << (slot % 64);
                if w < words.len() && words[w] & bit != 0 {
                    words[w] &= !bit;
                    *len -= 1;
                }
            }
        }
    }

    fn extend_into(&self, out: &mut Vec<u32>) {
        match self {
            SlotSet::Sorted(v) => out.extend_from_slice(v),
            SlotSet::Bits { words, .. } => {
                for (i, &w) in words.iter().enumerate() {
                    let mut w = w;
                    while w != 0 {
                        let b = w.trailing_zeros();
                        out.push(i as u32 * 64 + b);
                        w &= w - 1;
                    }
                }
            }
        }
    }

    fn bytes(&self) -> usize {
        match self {
            SlotSet::Sorted(v) => v.capacity() * 4,
            SlotSet::Bits { words, .. } => words.capacity() * 8,
        }
    }
}

/// An `f64` ordered by `total_cmp`, for the sorted numeric index. `-0.0`
/// is stored and searched as `0.0` (total order would put it below `0.0`,
/// where `>= 0` must still find it).
#[derive(Clone, Copy, Debug)]
struct Num(f64);

fn num(x: f64) -> Num {
    Num(if x == 0.0 { 0.0 } else { x })
}

impl PartialEq for Num {
    fn eq(&self, o: &Num) -> bool {
        self.0.total_cmp(&o.0) == Ordering::Equal
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, o: &Num) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Num {
    fn cmp(&self, o: &Num) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

#[derive(Default)]
struct FieldIndex {
    eq: BTreeMap<EqKey, SlotSet>,
    num: BTreeSet<(Num, u32)>,
}

/// What the indexes say about the slots a [`Plan`] accepts.
#[derive(Debug)]
pub(crate) enum Estimate {
    /// Exactly these slots (sorted, unique) may match; every match is in it.
    Set(Vec<u32>),
    /// At most this many slots match, but they were not collected (more
    /// than the cap asked for).
    AtMost(usize),
    /// The indexes cannot tell (`Plan::Any` somewhere that matters).
    Unknown,
}

/// Per-slot attributes and the per-field indexes over them.
#[derive(Default)]
pub(crate) struct AttrStore {
    slots: Vec<Option<Box<Entry>>>,
    with: usize,
    raw_bytes: usize,
    fields: BTreeMap<String, FieldIndex>,
    /// Bytes of the typed values and index entries (an estimate: allocator
    /// overhead and B-tree node slack are not counted).
    derived_bytes: usize,
}

/// Rough heap bytes of one typed value (for `Info`).
fn value_bytes(v: &Value) -> usize {
    core::mem::size_of::<Value>()
        + match v {
            Value::Str(s) => s.len(),
            Value::Array(a) => a.iter().map(value_bytes).sum(),
            _ => 0,
        }
}

/// Rough bytes of one entry in a numeric index (a B-tree element plus its
/// share of node overhead).
const NUM_ENTRY_BYTES: usize = 24;

impl AttrStore {
    /// Elements with attributes.
    pub fn count(&self) -> usize {
        self.with
    }

    /// Heap bytes of the attributes: raw bytes, typed values, indexes.
    pub fn bytes(&self) -> usize {
        let sets: usize = self
            .fields
            .values()
            .map(|f| {
                f.eq.values().map(SlotSet::bytes).sum::<usize>() + f.num.len() * NUM_ENTRY_BYTES
            })
            .sum();
        self.raw_bytes + self.derived_bytes + sets + self.slots.capacity() * 8
    }

    /// One past the highest slot that ever had attributes here.
    pub fn get(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize).and_then(|e| e.as_deref())
    }

    /// Sets or clears the attributes of `slot`, keeping the indexes current.
    /// `typed` must come from `raw` (the caller parses, so it can reject
    /// before changing anything).
    pub fn set(&mut self, slot: u32, entry: Option<Entry>) {
        self.clear(slot);
        let Some(entry) = entry else { return };
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.with += 1;
        self.raw_bytes += entry.raw.len();
        if let Some(t) = &entry.typed {
            for (field, v) in t.iter() {
                self.derived_bytes += field.len() + value_bytes(v);
                let fi = match self.fields.get_mut(field) {
                    Some(f) => f,
                    None => self.fields.entry(String::from(field)).or_default(),
                };
                for key in eq_keys(v) {
                    fi.eq.entry(key).or_insert_with(SlotSet::new).insert(slot);
                }
                if let Some(x) = range_value(v) {
                    fi.num.insert((num(x), slot));
                }
            }
        }
        self.slots[i] = Some(Box::new(entry));
    }

    /// Removes the attributes of `slot` (if any) from the store and indexes.
    pub fn clear(&mut self, slot: u32) {
        let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.with -= 1;
        self.raw_bytes -= entry.raw.len();
        if let Some(t) = &entry.typed {
            for (field, v) in t.iter() {
                self.derived_bytes -= field.len() + value_bytes(v);
                let Some(fi) = self.fields.get_mut(field) else { continue };
                for key in eq_keys(v) {
                    if let Some(set) = fi.eq.get_mut(&key) {
                        set.remove(slot);
                        if set.len() == 0 {
                            fi.eq.remove(&key);
                        }
                    }
                }
                if let Some(x) = range_value(v) {
                    fi.num.remove(&(num(x), slot));
                }
                if fi.eq.is_empty() && fi.num.is_empty() {
                    self.fields.remove(field);
                }
            }
        }
    }

    /// Every `(slot, entry)` with attributes.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Entry)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, e)| e.as_deref().map(|e| (i as u32, e)))
    }

    /// What the indexes say about `plan`, collecting at most `cap` slots.
    pub fn estimate(&self, plan: &Plan, cap: usize) -> Estimate {
        match plan {
            Plan::Any => Estimate::Unknown,
            Plan::Eq { field, keys } => {
                let Some(fi) = self.fields.get(field.as_str()) else {
                    return Estimate::Set(Vec::new());
                };
                let sets: Vec<&SlotSet> = keys.iter().filter_map(|k| fi.eq.get(k)).collect();
                let total: usize = sets.iter().map(|s| s.len()).sum();
                if total > cap {
                    return Estimate::AtMost(total);
                }
                let mut out = Vec::with_capacity(total);
                for s in sets {
                    s.extend_into(&mut out);
                }
                out.sort_unstable();
                out.dedup();
                Estimate::Set(out)
            }
            Plan::Range { field, lo, hi } => {
                let Some(fi) = self.fields.get(field.as_str()) else {
                    return Estimate::Set(Vec::new());
                };
                use core::ops::Bound::*;
                let lo_b = match lo {
                    None => Unbounded,
                    Some((x, true)) => Included((num(*x), 0)),
                    Some((x, false)) => Excluded((num(*x), u32::MAX)),
                };
                let hi_b = match hi {
                    None => Unbounded,
                    Some((x, true)) => Included((num(*x), u32::MAX)),
                    Some((x, false)) => Excluded((num(*x), 0)),
                };
                if !bounds_ok(&lo_b, &hi_b) {
                    return Estimate::Set(Vec::new());
                }
                let mut out = Vec::new();
                for &(_, s) in fi.num.range((lo_b, hi_b)) {
                    if out.len() == cap {
                        // More than `cap`; the count is not known without
                        // walking the rest, so only bound it by the field.
                        return Estimate::AtMost(fi.num.len());
                    }
                    out.push(s);
                }
                out.sort_unstable();
                out.dedup();
                Estimate::Set(out)
            }
            Plan::And(parts) => {
                let mut best: Option<Vec<u32>> = None;
                let mut bound: Option<usize> = None;
                for p in parts {
                    match self.estimate(p, cap) {
                        Estimate::Set(s) => {
                            best = Some(match best {
                                None => s,
                                Some(b) => intersect(&b, &s),
                            });
                        }
                        Estimate::AtMost(n) => bound = Some(bound.map_or(n, |b| b.min(n))),
                        Estimate::Unknown => {}
                    }
                }
                match (best, bound) {
                    (Some(s), _) => Estimate::Set(s),
                    (None, Some(n)) => Estimate::AtMost(n),
                    (None, None) => Estimate::Unknown,
                }
            }
            Plan::Or(parts) => {
                let mut all = Vec::new();
                let mut bound = 0usize;
                let mut collected = true;
                for p in parts {
                    match self.estimate(p, cap) {
                        Estimate::Set(s) => {
                            bound = bound.saturating_add(s.len());
                            if collected {
                                all.extend_from_slice(&s);
                            }
                        }
                        Estimate::AtMost(n) => {
                            bound = bound.saturating_add(n);
                            collected = false;
                        }
                        Estimate::Unknown => return Estimate::Unknown,
                    }
                    if bound > cap {
                        collected = false;
                        all = Vec::new();
                    }
                }
                if !collected {
                    return Estimate::AtMost(bound);
                }
                all.sort_unstable();
                all.dedup();
                Estimate::Set(all)
            }
        }
    }
}

/// A bitmap over slots `0..bound` (one bit per slot).
pub(crate) struct SlotBits(Vec<u64>);

impl SlotBits {
    fn empty(bound: usize) -> SlotBits {
        SlotBits(alloc::vec![0u64; bound.div_ceil(64)])
    }

    fn set(&mut self, slot: u32) {
        if let Some(w) = self.0.get_mut(slot as usize / 64) {
            *w |= 1 << (slot % 64);
        }
    }

    /// Whether `slot` is in the set.
    #[inline]
    pub fn contains(&self, slot: u32) -> bool {
        self.0.get(slot as usize / 64).is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    /// The set of these sorted slots.
    pub fn of_slots(slots: &[u32], bound: usize) -> SlotBits {
        let mut b = SlotBits::empty(bound);
        for &s in slots {
            b.set(s);
        }
        b
    }

    fn add_set(&mut self, set: &SlotSet) {
        match set {
            SlotSet::Sorted(v) => v.iter().for_each(|&s| self.set(s)),
            SlotSet::Bits { words, .. } => {
                for (a, b) in self.0.iter_mut().zip(words) {
                    *a |= b;
                }
            }
        }
    }
}

impl AttrStore {
    /// A superset of the slots `plan` accepts, as a bitmap over
    /// `0..bound`, or `None` where the indexes cannot tell (`Plan::Any`).
    ///
    /// The filtered walk tests this bit before evaluating the filter: where
    /// the walk looks through many non-matching neighbours, a bit test
    /// replaces an expression evaluation (several dependent reads through
    /// the slot's attributes). Costs one pass over the index entries the
    /// plan names (a bitmap OR for a large equality set).
    pub fn bitmap(&self, plan: &Plan, bound: usize) -> Option<SlotBits> {
        match plan {
            Plan::Any => None,
            Plan::Eq { field, keys } => {
                let mut out = SlotBits::empty(bound);
                if let Some(fi) = self.fields.get(field.as_str()) {
                    for set in keys.iter().filter_map(|k| fi.eq.get(k)) {
                        out.add_set(set);
                    }
                }
                Some(out)
            }
            Plan::Range { .. } => {
                // The range walk of `estimate`, uncapped.
                match self.estimate(plan, usize::MAX) {
                    Estimate::Set(s) => Some(SlotBits::of_slots(&s, bound)),
                    _ => None,
                }
            }
            Plan::And(parts) => {
                let mut acc: Option<SlotBits> = None;
                for p in parts {
                    if let Some(b) = self.bitmap(p, bound) {
                        acc = Some(match acc {
                            None => b,
                            Some(mut a) => {
                                a.0.iter_mut().zip(&b.0).for_each(|(x, y)| *x &= y);
                                a
                            }
                        });
                    }
                }
                acc
            }
            Plan::Or(parts) => {
                let mut acc = SlotBits::empty(bound);
                for p in parts {
                    let b = self.bitmap(p, bound)?;
                    acc.0.iter_mut().zip(&b.0).for_each(|(x, y)| *x |= y);
                }
                Some(acc)
            }
        }
    }
}

/// Whether a B-tree range with these bounds is non-empty-able (`range`
/// panics when start > end).
fn bounds_ok(lo: &core::ops::Bound<(Num, u32)>, hi: &core::ops::Bound<(Num, u32)>) -> bool {
    use core::ops::Bound::*;
    match (lo, hi) {
        (Included(a), Included(b)) => a <= b,
        (Included(a), Excluded(b)) | (Excluded(a), Included(b)) | (Excluded(a), Excluded(b)) => {
            a < b
        }
        _ => true,
    }
}

/// Intersection of two sorted, unique slot lists.
pub(crate) fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}
