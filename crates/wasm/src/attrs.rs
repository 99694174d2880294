//! [`AttrSlots`]: the attributes of an `Index`, per core slot.
//!
//! Keyed by the core's dense `u32` slot because that is what the core's
//! filtered walk hands to its predicate (a vector lookup, not a key hash).
//! The owner moves an element's entry whenever the core moves the element
//! (an upsert may re-link it into another slot; a removed slot is reused),
//! exactly as `vecshard_shard` does. No attribute indexes: see
//! [`crate::index`] for why.

use vecshard_filter::Attributes;

/// One element's attributes: the bytes as written, and their typed form
/// (`None` for bytes that are not a JSON object, which only old native
/// data holds: the filter sees such an element as having no attributes).
pub struct Entry {
    /// The attribute bytes (JSON text).
    pub raw: Vec<u8>,
    /// Parsed once, on write or load.
    pub typed: Option<Attributes>,
}

/// Per-slot attributes.
pub struct AttrSlots {
    slots: Vec<Option<Box<Entry>>>,
    with: usize,
    bytes: usize,
    /// What the filter sees for an element whose attribute bytes are not a
    /// JSON object (old data): no fields, as in the shard.
    empty: Attributes,
}

impl Default for AttrSlots {
    fn default() -> AttrSlots {
        AttrSlots {
            slots: Vec::new(),
            with: 0,
            bytes: 0,
            // Not `expect`: that would link `AttrError`'s `Debug` (and
            // the `&str` escaping it needs) into the module for a case
            // that cannot happen.
            empty: Attributes::parse(b"{}").ok().unwrap_or_else(|| unreachable!()),
        }
    }
}

impl AttrSlots {
    /// Elements with attributes.
    pub fn count(&self) -> usize {
        self.with
    }

    /// Attribute bytes stored (as written; typed forms not counted).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The entry of `slot`, if it has attributes.
    pub fn get(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize).and_then(|e| e.as_deref())
    }

    /// What a filter evaluates for `slot`: `None` for an element without
    /// attributes, which never passes a filter (as in Redis and the shard);
    /// no fields for bytes that are not a JSON object (old data).
    pub fn typed(&self, slot: u32) -> Option<&Attributes> {
        self.get(slot).map(|e| e.typed.as_ref().unwrap_or(&self.empty))
    }

    /// Sets or clears the attributes of `slot`.
    pub fn set(&mut self, slot: u32, entry: Option<Entry>) {
        let i = slot as usize;
        if let Some(old) = self.slots.get_mut(i).and_then(Option::take) {
            self.with -= 1;
            self.bytes -= old.raw.len();
        }
        let Some(entry) = entry else { return };
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.with += 1;
        self.bytes += entry.raw.len();
        self.slots[i] = Some(Box::new(entry));
    }

    /// Every `(slot, entry)` with attributes.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Entry)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, e)| e.as_deref().map(|e| (i as u32, e)))
    }
}
