//! [`Shard`]: the core index plus attributes, driven by [`Request`]s.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use vecshard_core::{Index, Scratch};

use crate::protocol::{
    decode_request, encode_response, ErrorCode, Filter, Hit, ItemOut, Request, Response, Settings,
    ShardInfo, WireError, MAX_ATTRIBUTES_LEN,
};

/// One shard: an optional index (absent until `Create` or `Restore`), the
/// attributes of its elements, and a search scratch reused across queries.
///
/// Every request either succeeds or changes nothing: writes validate all of
/// their input before the first change.
#[derive(Default)]
pub struct Shard {
    index: Option<Index>,
    attrs: BTreeMap<String, Vec<u8>>,
    attr_bytes: usize,
    scratch: Scratch,
}

impl core::fmt::Debug for Shard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shard")
            .field("len", &self.len())
            .field("attributes", &self.attrs.len())
            .finish_non_exhaustive()
    }
}

fn not_initialized() -> WireError {
    WireError::new(
        ErrorCode::NotInitialized,
        "the shard holds no index yet; send Create (with settings) or Restore (with a snapshot)",
    )
}

impl Shard {
    /// An empty shard with no index.
    pub fn new() -> Shard {
        Shard::default()
    }

    /// A shard with an empty index built from `settings`.
    pub fn with_settings(settings: &Settings) -> Result<Shard, WireError> {
        let mut s = Shard::new();
        s.create(settings)?;
        Ok(s)
    }

    /// A shard restored from snapshot bytes ([`crate::snapshot`]).
    pub fn from_snapshot(bytes: &[u8]) -> Result<Shard, WireError> {
        let (index, attrs) = crate::snapshot::decode(bytes)?;
        let attr_bytes = attrs.iter().map(|(k, v)| k.len() + v.len()).sum();
        Ok(Shard { index: Some(index), attrs, attr_bytes, scratch: Scratch::new() })
    }

    /// The shard snapshot bytes, or `None` before the index exists.
    pub fn snapshot(&self) -> Option<Vec<u8>> {
        self.index.as_ref().map(|i| crate::snapshot::encode(i, &self.attrs))
    }

    /// Live elements (0 before the index exists).
    pub fn len(&self) -> usize {
        self.index.as_ref().map_or(0, Index::len)
    }

    /// Whether the shard holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index, if created.
    pub fn index(&self) -> Option<&Index> {
        self.index.as_ref()
    }

    /// Decodes `bytes`, handles the request and encodes the response.
    /// Malformed bytes get an error response; this never panics on input.
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Vec<u8> {
        let resp = match decode_request(bytes) {
            Ok(req) => self.handle(req),
            Err(e) => Response::Error(e),
        };
        encode_response(&resp)
    }

    /// Handles one request.
    pub fn handle(&mut self, req: Request) -> Response {
        match self.try_handle(req) {
            Ok(r) => r,
            Err(e) => Response::Error(e),
        }
    }

    fn index_mut(&mut self) -> Result<&mut Index, WireError> {
        self.index.as_mut().ok_or_else(not_initialized)
    }

    fn create(&mut self, settings: &Settings) -> Result<(), WireError> {
        if let Some(index) = &self.index {
            let have = Settings::from(index.config());
            if &have == settings {
                return Ok(());
            }
            return Err(WireError::new(
                ErrorCode::SettingsMismatch,
                format!(
                    "the shard already holds an index with settings {have:?}, not {settings:?}"
                ),
            ));
        }
        self.index = Some(Index::new(settings.to_config())?);
        Ok(())
    }

    fn try_handle(&mut self, req: Request) -> Result<Response, WireError> {
        match req {
            Request::Create { settings } => {
                self.create(&settings)?;
                Ok(Response::Created)
            }
            Request::Upsert { items } => {
                if let Some(it) = items
                    .iter()
                    .find(|it| it.attributes.as_ref().is_some_and(|a| a.len() > MAX_ATTRIBUTES_LEN))
                {
                    return Err(WireError::new(
                        ErrorCode::AttributesTooLarge,
                        format!(
                            "attributes of {:?} are over {MAX_ATTRIBUTES_LEN} bytes; store large \
                             payloads elsewhere and keep a reference",
                            it.key
                        ),
                    ));
                }
                let index = self.index_mut()?;
                let pairs: Vec<(&str, &[f32])> =
                    items.iter().map(|it| (it.key.as_str(), it.vector.as_slice())).collect();
                let inserted = index.upsert_batch(&pairs)?;
                let total = pairs.len() as u32;
                drop(pairs);
                // The core validated everything and applied the batch; the
                // attribute updates below cannot fail.
                for it in items {
                    self.set_attributes(it.key, it.attributes);
                }
                let n = pairs_len(inserted);
                Ok(Response::Upserted { inserted: n, updated: total - n })
            }
            Request::Remove { keys } => {
                let index = self.index_mut()?;
                let removed = index.remove_batch(&keys);
                for k in &keys {
                    if let Some(v) = self.attrs.remove(k) {
                        self.attr_bytes -= k.len() + v.len();
                    }
                }
                Ok(Response::Removed {
                    removed: removed as u32,
                    not_found: (keys.len() - removed) as u32,
                })
            }
            Request::Search { vector, k, ef, filter } => {
                crate::limits::check_search(k, ef, filter.as_ref())?;
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                let keyset: Option<alloc::collections::BTreeSet<&str>> = match &filter {
                    Some(Filter::Keys(ks)) => Some(ks.iter().map(String::as_str).collect()),
                    _ => None,
                };
                let pred = |key: &str| match &filter {
                    Some(Filter::KeyPrefix(p)) => key.starts_with(p.as_str()),
                    Some(Filter::Keys(_)) => keyset.as_ref().is_some_and(|s| s.contains(key)),
                    None => true,
                };
                let f: vecshard_core::Filter<'_> =
                    if filter.is_some() { Some(&pred) } else { None };
                let hits = index.search_with(
                    &mut self.scratch,
                    &vector,
                    k as usize,
                    ef.map(|e| e as usize),
                    f,
                )?;
                Ok(Response::Hits {
                    hits: hits
                        .iter()
                        .map(|h| Hit { key: h.key.to_string(), distance: h.distance })
                        .collect(),
                })
            }
            Request::Get { key } => {
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                let item = index.get(&key).map(|vector| ItemOut {
                    attributes: self.attrs.get(&key).cloned(),
                    key,
                    vector,
                });
                Ok(Response::Item { item })
            }
            Request::Contains { key } => {
                let index = self.index.as_ref().ok_or_else(not_initialized)?;
                Ok(Response::Contains { present: index.contains(&key) })
            }
            Request::Info => Ok(Response::Info { info: self.info() }),
            Request::Snapshot => {
                let bytes = self.snapshot().ok_or_else(not_initialized)?;
                Ok(Response::Snapshot { bytes })
            }
            Request::Restore { bytes } => {
                let fresh = Shard::from_snapshot(&bytes)?;
                let len = fresh.len() as u64;
                *self = fresh;
                Ok(Response::Restored { len })
            }
        }
    }

    fn set_attributes(&mut self, key: String, attributes: Option<Vec<u8>>) {
        if let Some(old) = self.attrs.remove(&key) {
            self.attr_bytes -= key.len() + old.len();
        }
        if let Some(a) = attributes {
            self.attr_bytes += key.len() + a.len();
            self.attrs.insert(key, a);
        }
    }

    /// Counts, settings and memory.
    pub fn info(&self) -> ShardInfo {
        match &self.index {
            None => ShardInfo {
                settings: None,
                len: 0,
                with_attributes: 0,
                index_bytes: 0,
                attribute_bytes: 0,
                max_level: 0,
                kernel: String::new(),
            },
            Some(index) => {
                // O(1): `Info` backs `/healthz`, so it must not walk the
                // graph (`Index::stats` does).
                ShardInfo {
                    settings: Some(Settings::from(index.config())),
                    len: index.len() as u64,
                    with_attributes: self.attrs.len() as u64,
                    index_bytes: index.memory_bytes() as u64,
                    attribute_bytes: self.attr_bytes as u64,
                    max_level: index.max_level() as u32,
                    kernel: index.kernel_name().to_string(),
                }
            }
        }
    }
}

fn pairs_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
