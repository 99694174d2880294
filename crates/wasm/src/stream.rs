//! Streaming snapshots of an `Index`: a save that hands out chunks and a
//! loader that takes them one at a time (issue 11 § 1).
//!
//! Both sit on the streaming API of the crates below (the core's
//! `SnapshotEncoder`, the shard container's `Encoder` and `Loader`), so a
//! save or a load needs the index plus one chunk of memory, never a whole
//! snapshot next to it: what lets an index fill most of an edge isolate.
//! The bytes are exactly those of `toBytes()` (a bare core snapshot while
//! no element has attributes, the shard container once one has), and the
//! loader gives the verdicts of `fromBytes()`, which is this loader fed one
//! chunk.
//!
//! A save is a cursor kept in the [`RawIndex`]: any write ends it (the next
//! read fails with `invalid_snapshot`), so a snapshot is never a mix of two
//! states. Kept small on purpose: every line here is in the module every
//! `Index` user downloads.

use vecshard_core::{Index, SnapshotEncoder};
use vecshard_shard::snapshot::{Encoder, Loader, PairSource};
use wasm_bindgen::prelude::*;

use crate::attrs::{AttrSlots, Entry};
use crate::error::{js, js_error};
use crate::index::{heapsort_by_key, wire_error, RawIndex};

/// A save in progress.
// One per index at most, so the size of the larger variant costs nothing;
// boxing it would add an allocation and code to the Index module.
#[allow(clippy::large_enum_variant)]
pub enum Save {
    /// No element has attributes: the bare core snapshot.
    Core(SnapshotEncoder),
    /// The shard container, with the slots that have attributes in key
    /// order (4 bytes each: the only copy a save keeps).
    Container(Encoder, Vec<u32>),
}

/// The index's attributes in key order, for the container encoder.
struct SlotPairs<'a> {
    index: &'a Index,
    attrs: &'a AttrSlots,
    order: &'a [u32],
}

impl PairSource for SlotPairs<'_> {
    fn pair_count(&self) -> usize {
        self.order.len()
    }
    fn pair(&self, i: usize) -> Option<(&str, &[u8])> {
        let slot = *self.order.get(i)?;
        Some((self.index.key_of(slot)?, self.attrs.get(slot)?.raw.as_slice()))
    }
}

impl Save {
    /// Total bytes of the snapshot.
    fn len(&self) -> u64 {
        match self {
            Save::Core(e) => e.len(),
            Save::Container(e, _) => e.len(),
        }
    }
}

impl RawIndex {
    /// A save cursor over the current state.
    fn begin(&self) -> Save {
        let (index, attrs) = (&self.index, &self.attrs);
        if attrs.count() == 0 {
            return Save::Core(index.snapshot_encoder());
        }
        let mut pairs: Vec<(&str, &[u8])> = attrs
            .iter()
            .filter_map(|(slot, e)| index.key_of(slot).map(|k| (k, e.raw.as_slice())))
            .collect();
        heapsort_by_key(&mut pairs);
        let order: Vec<u32> = pairs.iter().filter_map(|(k, _)| index.slot_of(k)).collect();
        let enc = Encoder::new(index, &SlotPairs { index, attrs, order: &order });
        Save::Container(enc, order)
    }

    /// The next bytes of `save` into `out`: how many (0 once done).
    fn read_into(&self, save: &mut Save, out: &mut [u8]) -> Result<usize, JsValue> {
        let (index, attrs) = (&self.index, &self.attrs);
        match save {
            Save::Core(e) => js(e.read(index, out)),
            Save::Container(e, order) => {
                e.read(index, &SlotPairs { index, attrs, order }, out).map_err(|e| wire_error(&e))
            }
        }
    }

    /// The whole snapshot in one buffer (`toBytes()`): the streaming save
    /// drained, so the Index module holds one encoder path, not two.
    pub(crate) fn snapshot_bytes(&self) -> Vec<u8> {
        let mut save = self.begin();
        let mut out = vec![0u8; usize::try_from(save.len()).unwrap_or(0)];
        let n = self.read_into(&mut save, &mut out).unwrap_or(0);
        out.truncate(n);
        out
    }
}

#[wasm_bindgen]
impl RawIndex {
    /// Starts a streaming save; returns its total length in bytes.
    pub fn save_begin(&mut self) -> f64 {
        let s = self.begin();
        let len = s.len();
        self.save = Some(s);
        len as f64
    }

    /// The next at most `max` bytes of the save begun by `save_begin`
    /// (empty once done).
    pub fn save_read(&mut self, max: u32) -> Result<Vec<u8>, JsValue> {
        let Some(mut s) = self.save.take() else {
            return Err(js_error("invalid_snapshot", "a write ended this save; start again"));
        };
        let mut out = vec![0u8; max as usize];
        let n = self.read_into(&mut s, &mut out)?;
        if n > 0 {
            self.save = Some(s);
        }
        out.truncate(n);
        Ok(out)
    }
}

/// Builds an index from snapshot chunks split anywhere (the package's
/// `IndexLoader`). An error is final.
#[wasm_bindgen]
pub struct RawIndexLoader {
    loader: Loader,
    attrs: AttrSlots,
}

#[wasm_bindgen]
impl RawIndexLoader {
    /// A loader; `expect_len` (a file size) is checked against the lengths
    /// inside before anything is allocated for them.
    #[wasm_bindgen(constructor)]
    pub fn new(expect_len: Option<f64>) -> RawIndexLoader {
        let mut loader = Loader::new();
        if let Some(n) = expect_len {
            loader = loader.expect_len(n as u64);
        }
        RawIndexLoader { loader, attrs: AttrSlots::default() }
    }

    /// Takes the next chunk. Attribute bytes that are not a JSON object
    /// (a native `Upsert` before attributes were typed) are kept, and
    /// filters see no attributes there, as in `fromBytes`.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        let attrs = &mut self.attrs;
        self.loader
            .push_with(chunk, &mut |_, slot, _, raw| {
                let typed = vecshard_filter::Attributes::parse(&raw).ok();
                attrs.set(slot, Some(Entry { raw, typed }));
                Ok(())
            })
            .map_err(|e| wire_error(&e))
    }

    /// The index, once every byte arrived and checked out (a truncated
    /// snapshot is `invalid_snapshot`). Once: the JS wrapper refuses
    /// later calls (here they would see a fresh, empty loader).
    pub fn finish(&mut self) -> Result<RawIndex, JsValue> {
        let l = core::mem::take(&mut self.loader);
        let index = l.finish_index().map_err(|e| wire_error(&e))?;
        Ok(RawIndex::wrap(index, core::mem::take(&mut self.attrs)))
    }
}
