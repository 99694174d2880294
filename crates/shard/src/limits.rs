//! Bounds on the work one request may ask of a shard.
//!
//! Every transport ends in [`Shard::handle`](crate::Shard::handle), so the
//! shard itself refuses requests whose cost is out of proportion to their
//! size on the wire: `k = u32::MAX` would walk the whole graph, and a
//! key-list filter of millions of keys is cloned to every shard and turned
//! into a set by each. The HTTP API and the coordinator check the same
//! limits earlier (so a bad request is a 400 before any shard sees it);
//! checking here as well covers the remote-shard endpoint, the wasm guest
//! and Web Workers, whoever calls them.

use alloc::format;

use crate::protocol::{ErrorCode, Filter, Request, WireError};

/// Largest `k` a search may ask for.
pub const MAX_K: u32 = 10_000;
/// Largest `ef` a search may ask for.
pub const MAX_EF: u32 = 10_000;
/// Most keys in a [`Filter::Keys`] list.
pub const MAX_FILTER_KEYS: usize = 100_000;
/// Most bytes (sum of key lengths) in a [`Filter::Keys`] list, or in a
/// [`Filter::KeyPrefix`].
pub const MAX_FILTER_BYTES: usize = 4 << 20;

/// Checks `req` against the bounds above. Writes are bounded by the
/// transports' body limits and the core's per-item validation; only
/// requests whose cost is not proportional to their size are checked here.
pub fn check_limits(req: &Request) -> Result<(), WireError> {
    match req {
        Request::Search { k, ef, filter, .. } => check_search(*k, *ef, filter.as_ref()),
        Request::FilteredSearch { k, ef, key_filter, .. } => {
            check_search(*k, *ef, key_filter.as_ref())
        }
        _ => Ok(()),
    }
}

/// The search part of [`check_limits`], for callers that hold the fields.
pub fn check_search(k: u32, ef: Option<u32>, filter: Option<&Filter>) -> Result<(), WireError> {
    if k > MAX_K {
        return Err(WireError::new(
            ErrorCode::RequestTooLarge,
            format!("k = {k} is above the limit of {MAX_K}; ask for fewer results"),
        ));
    }
    if let Some(ef) = ef.filter(|&e| e > MAX_EF) {
        return Err(WireError::new(
            ErrorCode::RequestTooLarge,
            format!("ef = {ef} is above the limit of {MAX_EF}"),
        ));
    }
    match filter {
        Some(Filter::Keys(keys)) => {
            if keys.len() > MAX_FILTER_KEYS {
                return Err(WireError::new(
                    ErrorCode::RequestTooLarge,
                    format!(
                        "the key-list filter holds {} keys; the limit is {MAX_FILTER_KEYS}",
                        keys.len()
                    ),
                ));
            }
            let bytes: usize = keys.iter().map(|k| k.len()).sum();
            if bytes > MAX_FILTER_BYTES {
                return Err(WireError::new(
                    ErrorCode::RequestTooLarge,
                    format!(
                        "the key-list filter holds {bytes} bytes of keys; the limit is \
                         {MAX_FILTER_BYTES}"
                    ),
                ));
            }
        }
        Some(Filter::KeyPrefix(p)) if p.len() > MAX_FILTER_BYTES => {
            return Err(WireError::new(
                ErrorCode::RequestTooLarge,
                format!("the key prefix is {} bytes; the limit is {MAX_FILTER_BYTES}", p.len()),
            ));
        }
        _ => {}
    }
    Ok(())
}
