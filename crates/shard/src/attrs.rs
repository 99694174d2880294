//! Attributes per slot, typed and stored by column, and the indexes a
//! filter planner uses.
//!
//! The bytes stay the source of truth: they are what the snapshot container
//! and the write-ahead log hold. Everything here is *derived* from them and
//! rebuilt when a shard loads (see `Shard::from_snapshot`): the typed values
//! of each field, an inverted index per field (`EqKey` -> slots) for `==`
//! and `in`, and a sorted numeric index per field (`range_value` -> slots)
//! for comparisons. Rebuilding costs one JSON parse per element at load
//! (about the cost of reading the bytes), and in return the snapshot format
//! does not change, old snapshots need no migration and the indexes can
//! never disagree with the bytes they come from.
//!
//! Everything is keyed by the core's dense `u32` slot, because that is what
//! the core's filtered walk hands to its predicate.
//!
//! **Why columns.** A filtered walk or scan evaluates the filter on
//! thousands of slots per query, in slot order for a scan and at random
//! for a walk. Kept per element (slot -> boxed field list -> named value),
//! one evaluation was four or five dependent reads into a heap of 40 MB at
//! 100k elements, each a cache miss: about 600 ns natively, more than the
//! distance it guards (`filtered_profile`: a full scan of 100k elements
//! took 58 ms). Kept by column, a field's value for a slot is one indexed
//! read (`cells[slot]`), the filter's field names are resolved once per
//! query ([`AttrStore::bind`]), and a scan reads each column in order.
//! A field that few elements have is kept sparse (a B-tree by slot), so a
//! rare field costs memory by its elements, not by the slot space.

use alloc::boxed::Box;
use alloc::collections::{btree_map, BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;
use vecshard_filter::{
    eq_keys, range_value, Attributes, Block, EqKey, Filter, Lanes, Plan, Value, ValueRef, LANES,
};

/// Attributes on their way in: the bytes as written, and their typed form
/// (`None` for bytes that are not a JSON object, which only old data holds:
/// the filter sees such an element as having no fields).
pub(crate) struct Incoming {
    pub raw: Vec<u8>,
    pub typed: Option<Attributes>,
}

/// What the store keeps per element: the bytes (the typed values are in
/// the columns), in one exact-size allocation held inline in the slot
/// table (a boxed `Vec` was a second allocation of 24 bytes per element).
pub(crate) struct Entry {
    pub raw: Box<[u8]>,
}

/// One field's value for one element, as a column holds it.
enum Cell {
    Missing,
    Null,
    Num(f64),
    Str(Box<str>),
    Arr(Box<[Value]>),
}

impl Cell {
    fn of(v: Value) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Num(n) => Cell::Num(n),
            Value::Str(s) => Cell::Str(s.into_boxed_str()),
            Value::Array(a) => Cell::Arr(a.into_boxed_slice()),
        }
    }

    #[inline]
    fn get(&self) -> Option<ValueRef<'_>> {
        match self {
            Cell::Missing => None,
            Cell::Null => Some(ValueRef::Null),
            Cell::Num(n) => Some(ValueRef::Num(*n)),
            Cell::Str(s) => Some(ValueRef::Str(s)),
            Cell::Arr(a) => Some(ValueRef::Tuple(a)),
        }
    }

    /// Heap bytes besides the cell itself.
    fn heap(&self) -> usize {
        match self {
            Cell::Str(s) => s.len(),
            Cell::Arr(a) => a.iter().map(value_bytes).sum(),
            _ => 0,
        }
    }
}

/// A column's cells: by slot while at least a quarter of the slot space
/// has the field (a dense cell is 24 bytes, a sparse one about twice that
/// with the B-tree's share), else a B-tree of the slots that have it.
enum Cells {
    Dense(Vec<Cell>),
    Sparse(BTreeMap<u32, Cell>),
}

/// One field: its values by slot and its two indexes.
struct Column {
    cells: Cells,
    /// Elements with a value for this field.
    count: usize,
    /// Elements whose value is an array (an exact plan needs none).
    arrays: usize,
    /// Heap bytes of the values (strings, arrays).
    heap: usize,
    eq: EqIndex,
    num: BTreeSet<(Num, u32)>,
}

impl Column {
    fn new() -> Column {
        Column {
            cells: Cells::Sparse(BTreeMap::new()),
            count: 0,
            arrays: 0,
            heap: 0,
            eq: EqIndex::default(),
            num: BTreeSet::new(),
        }
    }

    #[inline]
    fn get(&self, slot: u32) -> Option<ValueRef<'_>> {
        match &self.cells {
            Cells::Dense(v) => v.get(slot as usize).and_then(Cell::get),
            Cells::Sparse(m) => m.get(&slot).and_then(Cell::get),
        }
    }

    fn put(&mut self, slot: u32, cell: Cell, slot_space: usize) {
        self.count += 1;
        self.arrays += matches!(cell, Cell::Arr(_)) as usize;
        self.heap += cell.heap();
        match &mut self.cells {
            Cells::Dense(v) => {
                let i = slot as usize;
                if i >= v.len() {
                    v.resize_with(i + 1, || Cell::Missing);
                }
                v[i] = cell;
            }
            Cells::Sparse(m) => {
                m.insert(slot, cell);
                if self.count >= 64 && self.count * 4 >= slot_space {
                    let Cells::Sparse(m) =
                        core::mem::replace(&mut self.cells, Cells::Dense(Vec::new()))
                    else {
                        unreachable!()
                    };
                    let mut v = Vec::new();
                    v.resize_with(slot_space.max(slot as usize + 1), || Cell::Missing);
                    for (s, c) in m {
                        v[s as usize] = c;
                    }
                    self.cells = Cells::Dense(v);
                }
            }
        }
    }

    fn take(&mut self, slot: u32) {
        let old = match &mut self.cells {
            Cells::Dense(v) => {
                v.get_mut(slot as usize).map(|c| core::mem::replace(c, Cell::Missing))
            }
            Cells::Sparse(m) => m.remove(&slot),
        };
        let Some(old) = old.filter(|c| !matches!(c, Cell::Missing)) else { return };
        self.count -= 1;
        self.arrays -= matches!(old, Cell::Arr(_)) as usize;
        self.heap -= old.heap();
        // Back to sparse (with hysteresis) when the field became rare.
        if let Cells::Dense(v) = &mut self.cells {
            if self.count * 16 < v.len() {
                let m: BTreeMap<u32, Cell> = core::mem::take(v)
                    .into_iter()
                    .enumerate()
                    .filter(|(_, c)| !matches!(c, Cell::Missing))
                    .map(|(s, c)| (s as u32, c))
                    .collect();
                self.cells = Cells::Sparse(m);
            }
        }
    }

    /// The numbers of slots `base..base + LANES` into `out`; returns the
    /// lanes that have a value (`present`) and those whose value is a
    /// number (`nums`, a subset).
    fn gather(&self, base: u32, out: &mut Block) -> (u64, u64) {
        let (mut present, mut nums) = (0u64, 0u64);
        let mut put = |l: usize, c: &Cell| match c {
            Cell::Missing => {}
            Cell::Num(n) => {
                out[l] = *n;
                present |= 1 << l;
                nums |= 1 << l;
            }
            _ => present |= 1 << l,
        };
        match &self.cells {
            Cells::Dense(v) => {
                let lo = (base as usize).min(v.len());
                let hi = (base as usize + LANES).min(v.len());
                for (l, c) in v[lo..hi].iter().enumerate() {
                    put(l, c);
                }
            }
            Cells::Sparse(m) => {
                for (&s, c) in m.range(base..base.saturating_add(LANES as u32)) {
                    put((s - base) as usize, c);
                }
            }
        }
        (present, nums)
    }

    fn bytes(&self) -> usize {
        let cells = match &self.cells {
            Cells::Dense(v) => v.capacity() * core::mem::size_of::<Cell>(),
            Cells::Sparse(m) => m.len() * (core::mem::size_of::<Cell>() + 24),
        };
        cells + self.heap + self.eq.bytes() + self.num.len() * NUM_ENTRY_BYTES
    }
}

/// A set of slots, 16 bytes. A field with many distinct values (an id, a
/// price, a float) has mostly one slot per key, so a single slot is kept
/// inline: no allocation, and the key's B-tree entry is 24 bytes, where a
/// boxed one-element vector cost an allocation and 40 (issue 11's memory
/// goal). A larger set is a sorted vector while small and a bitmap once a
/// bitmap is smaller (more than one slot in 32 of the slot space).
#[derive(Clone, Debug)]
pub(crate) enum SlotSet {
    One(u32),
    Many(Box<Many>),
}

/// A set of two or more slots (see [`SlotSet`]).
#[derive(Clone, Debug)]
pub(crate) enum Many {
    Sorted(Vec<u32>),
    Bits { words: Vec<u64>, len: usize },
}

impl SlotSet {
    pub fn len(&self) -> usize {
        match self {
            SlotSet::One(_) => 1,
            SlotSet::Many(m) => match &**m {
                Many::Sorted(v) => v.len(),
                Many::Bits { len, .. } => *len,
            },
        }
    }

    fn insert(&mut self, slot: u32) {
        let m = match self {
            SlotSet::One(s) if *s == slot => return,
            SlotSet::One(s) => {
                let (a, b) = if *s < slot { (*s, slot) } else { (slot, *s) };
                *self = SlotSet::Many(Box::new(Many::Sorted(alloc::vec![a, b])));
                return;
            }
            SlotSet::Many(m) => &mut **m,
        };
        match m {
            Many::Sorted(v) => {
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
                    *m = Many::Bits { len: v.len(), words };
                }
            }
            Many::Bits { words, len } => {
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

    /// Removes `slot`; returns whether the set is now empty (the caller
    /// drops the key).
    fn remove(&mut self, slot: u32) -> bool {
        let m = match self {
            SlotSet::One(s) => return *s == slot,
            SlotSet::Many(m) => &mut **m,
        };
        match m {
            Many::Sorted(v) => {
                if let Ok(at) = v.binary_search(&slot) {
                    v.remove(at);
                }
                if let [one] = v[..] {
                    *self = SlotSet::One(one);
                }
            }
            Many::Bits { words, len } => {
                let w = slot as usize / 64;
                let bit = 1u64 << (slot % 64);
                if w < words.len() && words[w] & bit != 0 {
                    words[w] &= !bit;
                    *len -= 1;
                }
                // A bitmap stays a bitmap (hysteresis) until it is empty.
                return *len == 0;
            }
        }
        false
    }

    fn extend_into(&self, out: &mut Vec<u32>) {
        match self {
            SlotSet::One(s) => out.push(*s),
            SlotSet::Many(m) => match &**m {
                Many::Sorted(v) => out.extend_from_slice(v),
                Many::Bits { words, .. } => {
                    for (i, &w) in words.iter().enumerate() {
                        let mut w = w;
                        while w != 0 {
                            let b = w.trailing_zeros();
                            out.push(i as u32 * 64 + b);
                            w &= w - 1;
                        }
                    }
                }
            },
        }
    }

    /// Heap bytes besides the set itself.
    fn bytes(&self) -> usize {
        match self {
            SlotSet::One(_) => 0,
            SlotSet::Many(m) => {
                core::mem::size_of::<Many>()
                    + match &**m {
                        Many::Sorted(v) => v.capacity() * 4,
                        Many::Bits { words, .. } => words.capacity() * 8,
                    }
            }
        }
    }
}

/// A field's inverted index (`EqKey` -> slots), split by key kind so a
/// number's key is its 8 bytes (an `EqKey` is 32, for its string case).
#[derive(Default)]
struct EqIndex {
    null: Option<SlotSet>,
    num: BTreeMap<u64, SlotSet>,
    str_num: BTreeMap<u64, SlotSet>,
    str: BTreeMap<Box<str>, SlotSet>,
}

/// Adds `slot` under `key` in one of [`EqIndex`]'s maps.
fn map_insert<K: Ord>(m: &mut BTreeMap<K, SlotSet>, key: K, slot: u32) {
    match m.entry(key) {
        btree_map::Entry::Vacant(e) => {
            e.insert(SlotSet::One(slot));
        }
        btree_map::Entry::Occupied(e) => e.into_mut().insert(slot),
    }
}

/// Removes `slot` from under `key`, dropping the key when its set empties.
fn map_remove<K: Ord + core::borrow::Borrow<Q>, Q: Ord + ?Sized>(
    m: &mut BTreeMap<K, SlotSet>,
    key: &Q,
    slot: u32,
) {
    if m.get_mut(key).is_some_and(|set| set.remove(slot)) {
        m.remove(key);
    }
}

/// Rough heap bytes of a B-tree map's entries: the entry itself plus half
/// again for node slack and headers (nodes hold up to 11 entries and are
/// about two-thirds full after random inserts).
fn map_bytes<K, V>(m: &BTreeMap<K, V>) -> usize {
    m.len() * (core::mem::size_of::<K>() + core::mem::size_of::<V>()) * 3 / 2
}

impl EqIndex {
    fn get(&self, key: &EqKey) -> Option<&SlotSet> {
        match key {
            EqKey::Null => self.null.as_ref(),
            EqKey::Num(b) => self.num.get(b),
            EqKey::StrNum(b) => self.str_num.get(b),
            EqKey::Str(s) => self.str.get(s.as_str()),
        }
    }

    fn insert(&mut self, key: EqKey, slot: u32) {
        match key {
            EqKey::Null => match &mut self.null {
                Some(set) => set.insert(slot),
                None => self.null = Some(SlotSet::One(slot)),
            },
            EqKey::Num(b) => map_insert(&mut self.num, b, slot),
            EqKey::StrNum(b) => map_insert(&mut self.str_num, b, slot),
            EqKey::Str(s) => {
                // The key is allocated only for a value not seen before.
                match self.str.get_mut(s.as_str()) {
                    Some(set) => set.insert(slot),
                    None => {
                        self.str.insert(s.into_boxed_str(), SlotSet::One(slot));
                    }
                }
            }
        }
    }

    fn remove(&mut self, key: &EqKey, slot: u32) {
        match key {
            EqKey::Null => {
                if self.null.as_mut().is_some_and(|set| set.remove(slot)) {
                    self.null = None;
                }
            }
            EqKey::Num(b) => map_remove(&mut self.num, b, slot),
            EqKey::StrNum(b) => map_remove(&mut self.str_num, b, slot),
            EqKey::Str(s) => map_remove(&mut self.str, s.as_str(), slot),
        }
    }

    fn bytes(&self) -> usize {
        let sets = |m: &BTreeMap<u64, SlotSet>| m.values().map(SlotSet::bytes).sum::<usize>();
        self.null.as_ref().map_or(0, SlotSet::bytes)
            + map_bytes(&self.num)
            + sets(&self.num)
            + map_bytes(&self.str_num)
            + sets(&self.str_num)
            + map_bytes(&self.str)
            + self.str.iter().map(|(k, v)| k.len() + v.bytes()).sum::<usize>()
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

/// What the indexes say about the slots a [`Plan`] accepts.
#[derive(Debug)]
pub(crate) enum Estimate {
    /// Only these slots (sorted, unique) may match; every match is in
    /// it. The flag says whether the set is *complete*: exactly the slots
    /// the plan accepts (not a superset because some part of an `and` was
    /// too large to collect).
    Set(Vec<u32>, bool),
    /// At most this many slots match, but they were not collected (more
    /// than the cap asked for).
    AtMost(usize),
    /// The indexes cannot tell (`Plan::Any` somewhere that matters).
    Unknown,
}

/// Per-slot attribute bytes, the columns of typed values, and the
/// per-field indexes over them.
#[derive(Default)]
pub(crate) struct AttrStore {
    slots: Vec<Option<Entry>>,
    with: usize,
    raw_bytes: usize,
    fields: BTreeMap<String, Column>,
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

/// A filter with its field names resolved to this store's columns, for
/// evaluating it on many slots (see [`AttrStore::bind`]).
pub(crate) struct Bound<'a> {
    store: &'a AttrStore,
    filter: &'a Filter,
    cols: Vec<Option<&'a Column>>,
}

impl Bound<'_> {
    /// Whether the element in `slot` passes the filter. As Redis: an
    /// element without attributes never passes, not even `1`; one whose
    /// bytes are not an object (old data) has only missing selectors.
    #[inline]
    pub fn matches(&self, slot: u32) -> bool {
        // A filter that reads a field fails on an element without
        // attributes anyway (every cell is missing), so only field-less
        // filters pay for the look-up.
        if self.cols.is_empty() && !self.store.has(slot) {
            return false;
        }
        self.filter.eval_with(|i| self.cols[i].and_then(|c| c.get(slot)))
    }
}

impl Bound<'_> {
    /// The slots below `bound` that pass the filter, evaluated 64 at a
    /// time by `lanes` (the filter's numeric program): each block reads
    /// every field's column in slot order, lanes with a number in every
    /// field are settled by the block, lanes with another value go through
    /// [`Bound::matches`], and lanes missing a field fail (as a missing
    /// selector does). Only slots with attributes can pass.
    pub fn scan_all(&self, lanes: &Lanes, bound: usize) -> SlotBits {
        let mut out = SlotBits::empty(bound);
        let Some(cols) = self.cols.iter().copied().collect::<Option<Vec<&Column>>>() else {
            // A field no element has: nothing matches.
            return out;
        };
        let mut blocks: Vec<Block> = alloc::vec![[0.0; LANES]; cols.len()];
        let mut stack = Vec::new();
        for (w, word) in out.0.iter_mut().enumerate() {
            let base = (w * LANES) as u32;
            let (mut present, mut nums) = (u64::MAX, u64::MAX);
            for (c, block) in cols.iter().zip(blocks.iter_mut()) {
                let (p, n) = c.gather(base, block);
                present &= p;
                nums &= n;
                if present == 0 {
                    break;
                }
            }
            if present == 0 {
                continue;
            }
            let mut hits = if nums != 0 { lanes.eval(&blocks, &mut stack) & nums } else { 0 };
            let mut slow = present & !nums;
            while slow != 0 {
                let l = slow.trailing_zeros();
                slow &= slow - 1;
                hits |= (self.matches(base + l) as u64) << l;
            }
            *word = hits;
        }
        out
    }
}

impl AttrStore {
    /// Elements with attributes.
    pub fn count(&self) -> usize {
        self.with
    }

    /// Heap bytes of the attributes: raw bytes, typed values, indexes.
    pub fn bytes(&self) -> usize {
        let cols: usize = self.fields.iter().map(|(name, c)| name.len() + c.bytes()).sum();
        self.raw_bytes + cols + self.slots.capacity() * core::mem::size_of::<Option<Entry>>()
    }

    /// The attributes of `slot`, if it has any.
    pub fn get(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// Whether `slot` has attributes.
    #[inline]
    pub fn has(&self, slot: u32) -> bool {
        self.slots.get(slot as usize).is_some_and(Option::is_some)
    }

    /// Elements of `field` whose value is an array.
    pub fn arrays_in(&self, field: &str) -> usize {
        self.fields.get(field).map_or(0, |c| c.arrays)
    }

    /// `filter` bound to the columns it reads.
    pub fn bind<'a>(&'a self, filter: &'a Filter) -> Bound<'a> {
        let cols = filter.fields().iter().map(|f| self.fields.get(f.as_str())).collect();
        Bound { store: self, filter, cols }
    }

    /// Sets or clears the attributes of `slot`, keeping the columns and
    /// indexes current. `typed` must come from `raw` (the caller parses, so
    /// it can reject before changing anything).
    pub fn set(&mut self, slot: u32, entry: Option<Incoming>) {
        self.clear(slot);
        let Some(Incoming { raw, typed }) = entry else { return };
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        let space = self.slots.len();
        self.with += 1;
        self.raw_bytes += raw.len();
        if let Some(t) = typed {
            for (field, v) in t.into_fields() {
                let col = match self.fields.get_mut(field.as_str()) {
                    Some(c) => c,
                    None => self.fields.entry(field).or_insert_with(Column::new),
                };
                for key in eq_keys(&v) {
                    col.eq.insert(key, slot);
                }
                if let Some(x) = range_value(&v) {
                    col.num.insert((num(x), slot));
                }
                col.put(slot, Cell::of(v), space);
            }
        }
        self.slots[i] = Some(Entry { raw: raw.into_boxed_slice() });
    }

    /// Removes the attributes of `slot` (if any) from the store and indexes.
    pub fn clear(&mut self, slot: u32) {
        let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.with -= 1;
        self.raw_bytes -= entry.raw.len();
        // The columns do not say which fields a slot has; its bytes do (a
        // parse per removal, about the cost of the write that caused it).
        let Ok(t) = Attributes::parse(&entry.raw) else { return };
        for (field, v) in t.iter() {
            let Some(col) = self.fields.get_mut(field) else { continue };
            for key in eq_keys(v) {
                col.eq.remove(&key, slot);
            }
            if let Some(x) = range_value(v) {
                col.num.remove(&(num(x), slot));
            }
            col.take(slot);
            if col.count == 0 {
                self.fields.remove(field);
            }
        }
    }

    /// Every `(slot, entry)` with attributes.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Entry)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, e)| e.as_ref().map(|e| (i as u32, e)))
    }

    /// What the indexes say about `plan`, collecting at most `cap` slots.
    pub fn estimate(&self, plan: &Plan, cap: usize) -> Estimate {
        match plan {
            Plan::Any => Estimate::Unknown,
            Plan::Eq { field, keys } => {
                let Some(col) = self.fields.get(field.as_str()) else {
                    return Estimate::Set(Vec::new(), true);
                };
                let sets: Vec<&SlotSet> = keys.iter().filter_map(|k| col.eq.get(k)).collect();
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
                Estimate::Set(out, true)
            }
            Plan::Range { field, lo, hi } => {
                let Some(col) = self.fields.get(field.as_str()) else {
                    return Estimate::Set(Vec::new(), true);
                };
                let Some(range) = range_bounds(*lo, *hi) else {
                    return Estimate::Set(Vec::new(), true);
                };
                let mut out = Vec::new();
                for &(_, s) in col.num.range(range) {
                    if out.len() == cap {
                        // More than `cap`; the count is not known without
                        // walking the rest, so only bound it by the field.
                        return Estimate::AtMost(col.num.len());
                    }
                    out.push(s);
                }
                out.sort_unstable();
                out.dedup();
                Estimate::Set(out, true)
            }
            Plan::And(parts) => {
                let mut best: Option<Vec<u32>> = None;
                let mut bound: Option<usize> = None;
                let mut complete = true;
                for p in parts {
                    match self.estimate(p, cap) {
                        Estimate::Set(s, c) => {
                            complete &= c;
                            best = Some(match best {
                                None => s,
                                Some(b) => intersect(&b, &s),
                            });
                        }
                        Estimate::AtMost(n) => {
                            complete = false;
                            bound = Some(bound.map_or(n, |b| b.min(n)));
                        }
                        Estimate::Unknown => complete = false,
                    }
                }
                match (best, bound) {
                    (Some(s), _) => Estimate::Set(s, complete),
                    (None, Some(n)) => Estimate::AtMost(n),
                    (None, None) => Estimate::Unknown,
                }
            }
            Plan::Or(parts) => {
                let mut all = Vec::new();
                let mut bound = 0usize;
                let mut collected = true;
                let mut complete = true;
                for p in parts {
                    match self.estimate(p, cap) {
                        Estimate::Set(s, c) => {
                            complete &= c;
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
                Estimate::Set(all, complete)
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

    /// Number of slots in the set.
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The slots in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            core::iter::from_fn(move || {
                (w != 0).then(|| {
                    let b = w.trailing_zeros();
                    w &= w - 1;
                    i as u32 * 64 + b
                })
            })
        })
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
            SlotSet::One(s) => self.set(*s),
            SlotSet::Many(m) => match &**m {
                Many::Sorted(v) => v.iter().for_each(|&s| self.set(s)),
                Many::Bits { words, .. } => {
                    for (a, b) in self.0.iter_mut().zip(words) {
                        *a |= b;
                    }
                }
            },
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
                if let Some(col) = self.fields.get(field.as_str()) {
                    for set in keys.iter().filter_map(|k| col.eq.get(k)) {
                        out.add_set(set);
                    }
                }
                Some(out)
            }
            Plan::Range { field, lo, hi } => {
                // Straight from the sorted index into bits: no slot list to
                // collect and sort (a 10% range is 10,000 slots a query).
                let mut out = SlotBits::empty(bound);
                if let (Some(col), Some(range)) =
                    (self.fields.get(field.as_str()), range_bounds(*lo, *hi))
                {
                    for &(_, s) in col.num.range(range) {
                        out.set(s);
                    }
                }
                Some(out)
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

type NumBound = core::ops::Bound<(Num, u32)>;

/// The numeric index's range for a plan's bounds, or `None` when it is
/// empty (`BTreeSet::range` panics when start > end).
fn range_bounds(lo: Option<(f64, bool)>, hi: Option<(f64, bool)>) -> Option<(NumBound, NumBound)> {
    use core::ops::Bound::*;
    let lo_b = match lo {
        None => Unbounded,
        Some((x, true)) => Included((num(x), 0)),
        Some((x, false)) => Excluded((num(x), u32::MAX)),
    };
    let hi_b = match hi {
        None => Unbounded,
        Some((x, true)) => Included((num(x), u32::MAX)),
        Some((x, false)) => Excluded((num(x), 0)),
    };
    bounds_ok(&lo_b, &hi_b).then_some((lo_b, hi_b))
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use std::println;

    fn splitmix(x: &mut u64) -> u64 {
        *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Random attributes whose field `b` is present with probability
    /// `b_pct`%, so that phases move its column between sparse and dense.
    fn random_attrs(r: &mut u64, b_pct: u64) -> String {
        let mut parts = Vec::new();
        if splitmix(r) % 10 != 0 {
            parts.push(format!("\"a\":{}", splitmix(r) % 20));
        }
        if splitmix(r) % 100 < b_pct {
            let v = match splitmix(r) % 4 {
                0 => "\"x\"".to_string(),
                1 => "\"7\"".to_string(),
                2 => "null".to_string(),
                _ => (splitmix(r) % 5).to_string(),
            };
            parts.push(format!("\"b\":{v}"));
        }
        if splitmix(r) % 3 == 0 {
            let v = if splitmix(r) % 2 == 0 { "[1, \"x\"]" } else { "3" };
            parts.push(format!("\"c\":{v}"));
        }
        format!("{{{}}}", parts.join(","))
    }

    /// Random writes and clears, in phases that make a column sparse,
    /// dense and sparse again; after each phase every filter's bound
    /// evaluation equals evaluating the parsed attributes, every estimate
    /// and bitmap is a superset of the matches, and complete estimates of
    /// exact plans are exactly the matches.
    #[test]
    fn columns_and_indexes_agree_with_the_bytes() {
        let seed = 0xC01D_5EED_u64;
        println!("seed {seed:#x}");
        let mut r = seed;
        let slots = 400u32;
        let mut store = AttrStore::default();
        let mut model: BTreeMap<u32, String> = BTreeMap::new();
        let filters = [
            ".a < 5",
            ".a >= 3 and .a < 9",
            ".b == \"x\"",
            ".b == 7",
            ".b in [\"x\", 2]",
            ".b == null",
            ".a < 3 or .a > 15",
            ".a % 3 == 1",
            "!(.a % 3 == 1) and .b >= 2",
            ".b * 2 > 3 or .a < 2",
            ".a < 4 and .b == \"7\"",
            "1 in .c",
            ".c == 3",
            "1",
            ".b",
        ];
        for (phase, b_pct) in [5u64, 70, 2, 40].into_iter().enumerate() {
            for _ in 0..3000 {
                let slot = (splitmix(&mut r) % u64::from(slots)) as u32;
                if splitmix(&mut r) % 5 == 0 {
                    store.clear(slot);
                    model.remove(&slot);
                } else {
                    let json = random_attrs(&mut r, b_pct);
                    let typed = Attributes::parse(json.as_bytes()).ok();
                    store.set(slot, Some(Incoming { raw: json.clone().into_bytes(), typed }));
                    model.insert(slot, json);
                }
            }
            assert_eq!(store.count(), model.len());
            let b_dense = matches!(store.fields.get("b").map(|c| &c.cells), Some(Cells::Dense(_)));
            println!("phase {phase}: b present {b_pct}%, column b dense: {b_dense}");
            for src in filters {
                let f = Filter::compile(src).unwrap();
                let bound = store.bind(&f);
                let mut want = Vec::new();
                for s in 0..slots {
                    let expect = model
                        .get(&s)
                        .is_some_and(|j| f.eval(&Attributes::parse(j.as_bytes()).unwrap()));
                    assert_eq!(bound.matches(s), expect, "{src} on slot {s}: {:?}", model.get(&s));
                    if expect {
                        want.push(s);
                    }
                }
                if let Some(lanes) = f.lanes() {
                    let bits = bound.scan_all(&lanes, slots as usize + 70);
                    for s in 0..slots + 70 {
                        assert_eq!(bits.contains(s), want.contains(&s), "{src}: block scan at {s}");
                    }
                    assert_eq!(bits.count(), want.len());
                    assert_eq!(bits.iter().collect::<Vec<u32>>(), want);
                }
                let plan = f.plan();
                let accepted: Vec<u32> = (0..slots)
                    .filter(|s| {
                        model.get(s).is_some_and(|j| {
                            plan.accepts(&Attributes::parse(j.as_bytes()).unwrap())
                        })
                    })
                    .collect();
                let exact =
                    f.exact_plan().is_some_and(|na| na.iter().all(|n| store.arrays_in(n) == 0));
                if let Estimate::Set(set, complete) = store.estimate(&plan, usize::MAX) {
                    assert!(
                        want.iter().all(|s| set.binary_search(s).is_ok()),
                        "{src}: estimate misses a match"
                    );
                    if complete {
                        assert_eq!(set, accepted, "{src}: a complete estimate is the plan's set");
                        if exact {
                            assert_eq!(set, want, "{src}: an exact plan's set is the matches");
                        }
                    }
                }
                if let Some(bits) = store.bitmap(&plan, slots as usize) {
                    for s in 0..slots {
                        assert_eq!(bits.contains(s), accepted.contains(&s), "{src}: bitmap at {s}");
                    }
                }
            }
        }
        // Everything cleared: no column is left behind.
        for s in 0..slots {
            store.clear(s);
        }
        assert!(store.fields.is_empty());
        assert_eq!(store.count(), 0);
    }
}
