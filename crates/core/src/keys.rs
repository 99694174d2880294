//! Keys: UTF-8 strings mapped to dense `u32` slots.
//!
//! Key bytes live in one arena (`bytes`) with an offset and a length per
//! slot, and the lookup table stores only slot numbers: a key costs its
//! length plus about 11 bytes, against ~50 for a `HashMap<String, u32>`.
//! Removal leaves garbage in the arena; when garbage outweighs live bytes the
//! arena is compacted (amortized O(1) per removal). The table hashes with
//! xxh3, so lookups behave the same on every platform.

use alloc::vec::Vec;
use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64;

#[derive(Clone, Debug, Default)]
pub(crate) struct Keys {
    bytes: Vec<u8>,
    off: Vec<u32>,
    len: Vec<u16>,
    garbage: usize,
    table: HashTable<u32>,
}

fn slice<'a>(bytes: &'a [u8], off: &[u32], len: &[u16], s: u32) -> &'a [u8] {
    let o = off[s as usize] as usize;
    &bytes[o..o + len[s as usize] as usize]
}

impl Keys {
    pub fn reserve(&mut self, slots: usize) {
        let extra = slots.saturating_sub(self.off.len());
        self.off.reserve_exact(extra);
        self.len.reserve_exact(extra);
        let (b, o, l) = (&self.bytes, &self.off, &self.len);
        self.table.reserve(slots.saturating_sub(self.table.len()), |&t| xxh3_64(slice(b, o, l, t)));
    }

    pub fn shrink_to_fit(&mut self) {
        self.off.shrink_to_fit();
        self.len.shrink_to_fit();
        self.bytes.shrink_to_fit();
        let (b, o, l) = (&self.bytes, &self.off, &self.len);
        self.table.shrink_to_fit(|&t| xxh3_64(slice(b, o, l, t)));
    }

    /// Reserves room for `slots` slots, `key_bytes` more key bytes and
    /// `live` table entries in all (exactly what a snapshot load needs),
    /// failing instead of aborting when that much memory cannot be had.
    pub fn try_reserve_for_load(
        &mut self,
        slots: usize,
        key_bytes: u64,
        live: usize,
    ) -> Result<(), hashbrown::TryReserveError> {
        let oom = || hashbrown::TryReserveError::CapacityOverflow;
        let kb = usize::try_from(key_bytes).map_err(|_| oom())?;
        self.bytes.try_reserve_exact(kb).map_err(|_| oom())?;
        self.off.try_reserve_exact(slots.saturating_sub(self.off.len())).map_err(|_| oom())?;
        self.len.try_reserve_exact(slots.saturating_sub(self.len.len())).map_err(|_| oom())?;
        let (b, o, l) = (&self.bytes, &self.off, &self.len);
        self.table
            .try_reserve(live.saturating_sub(self.table.len()), |&t| xxh3_64(slice(b, o, l, t)))
    }

    /// Appends a slot whose key, of `len` bytes, comes later (snapshot
    /// loading: lengths precede the key bytes).
    pub fn push_len(&mut self, len: u16) {
        self.off.push(0);
        self.len.push(len);
    }

    /// The key length of `slot` (0 for a free slot).
    pub fn len_of(&self, slot: u32) -> u16 {
        self.len.get(slot as usize).copied().unwrap_or(0)
    }

    pub fn grow_to(&mut self, slots: usize) {
        self.off.resize(slots, 0);
        self.len.resize(slots, 0);
    }

    pub fn find(&self, key: &str) -> Option<u32> {
        let (b, o, l) = (&self.bytes, &self.off, &self.len);
        self.table.find(xxh3_64(key.as_bytes()), |&s| slice(b, o, l, s) == key.as_bytes()).copied()
    }

    /// The key of a live slot.
    pub fn get(&self, slot: u32) -> &str {
        let b = slice(&self.bytes, &self.off, &self.len, slot);
        // Only whole `&str`s are ever copied into the arena, so every slot's
        // range is valid UTF-8; fall back to "" rather than panic if not.
        core::str::from_utf8(b).unwrap_or("")
    }

    /// Binds `key` (not present) to `slot`.
    pub fn insert(&mut self, slot: u32, key: &str) {
        let s = slot as usize;
        self.off[s] = self.bytes.len() as u32;
        self.len[s] = key.len() as u16;
        self.bytes.extend_from_slice(key.as_bytes());
        let (b, o, l) = (&self.bytes, &self.off, &self.len);
        self.table.insert_unique(xxh3_64(key.as_bytes()), slot, |&t| xxh3_64(slice(b, o, l, t)));
    }

    /// Unbinds `slot`'s key.
    pub fn remove(&mut self, slot: u32) {
        let (b, o, l) = (&self.bytes, &self.off, &self.len);
        let h = xxh3_64(slice(b, o, l, slot));
        if let Ok(e) = self.table.find_entry(h, |&t| t == slot) {
            e.remove();
        }
        self.garbage += self.len[slot as usize] as usize;
        self.len[slot as usize] = 0;
        if self.garbage > 4096 && self.garbage > self.bytes.len() / 2 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let mut fresh = Vec::with_capacity(self.bytes.len() - self.garbage);
        for s in 0..self.off.len() {
            let o = self.off[s] as usize;
            let l = self.len[s] as usize;
            self.off[s] = fresh.len() as u32;
            fresh.extend_from_slice(&self.bytes[o..o + l]);
        }
        self.bytes = fresh;
        self.garbage = 0;
    }

    /// Arena length, for the snapshot size check.
    pub fn total_len(&self) -> usize {
        self.len.iter().map(|&l| l as usize).sum()
    }

    pub fn bytes(&self) -> usize {
        self.bytes.capacity()
            + self.off.capacity() * 4
            + self.len.capacity() * 2
            // A bucket is a 4-byte slot plus one control byte; capacity is 7/8 of the buckets.
            + self.table.capacity() * 8 / 7 * 5
    }
}
