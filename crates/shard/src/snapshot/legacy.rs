//! The container encoder and decoder before snapshots streamed, kept
//! (test builds only) as the reference the streaming code is checked
//! against. It decodes the core snapshot with the streaming core loader
//! (the core has its own reference test); what it pins is the container.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use vecshard_core::Index;

use crate::protocol::{ErrorCode, WireError, MAX_ATTRIBUTES_LEN};

use super::{AttributePairs, CORE_MAGIC, MAGIC, VERSION};

fn invalid(reason: impl Into<String>) -> WireError {
    WireError::new(
        ErrorCode::InvalidSnapshot,
        format!("invalid shard snapshot: {}; nothing was loaded", reason.into()),
    )
}

/// Encodes an index and its attributes (`(key, bytes)` pairs sorted by key,
/// keys unique and present in the index).
pub(crate) fn encode(index: &Index, pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let core = index.to_bytes();
    let a = postcard::to_allocvec(pairs).expect("postcard encoding of attributes");
    let mut out = Vec::with_capacity(36 + core.len() + a.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(core.len() as u64).to_le_bytes());
    out.extend_from_slice(&core);
    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
    out.extend_from_slice(&a);
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn take<'a>(bytes: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], WireError> {
    if bytes.len() < n {
        return Err(invalid(format!("truncated in {what}")));
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

fn take_u64(bytes: &mut &[u8], what: &str) -> Result<u64, WireError> {
    let b = take(bytes, 8, what)?;
    Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

/// Decodes and validates a shard snapshot (or a bare core snapshot): the
/// index and its attribute pairs.
pub(crate) fn decode(bytes: &[u8]) -> Result<(Index, AttributePairs), WireError> {
    if bytes.len() >= 8 && &bytes[..8] == CORE_MAGIC {
        let index = Index::from_bytes(bytes).map_err(WireError::from)?;
        return Ok((index, Vec::new()));
    }
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(invalid("bad magic (expected VSSHARD or VECSHARD)"));
    }
    if bytes.len() < 8 + 4 + 8 {
        return Err(invalid("truncated header"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let want = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
    if xxhash_rust::xxh3::xxh3_64(body) != want {
        return Err(invalid("checksum mismatch (the file is corrupt or truncated)"));
    }
    let mut rest = &body[8..];
    let version = u32::from_le_bytes(take(&mut rest, 4, "version")?.try_into().expect("4"));
    if version != VERSION {
        return Err(invalid(format!("container version {version} is not supported")));
    }
    let clen = take_u64(&mut rest, "core length")?;
    let clen = usize::try_from(clen).map_err(|_| invalid("core length overflows"))?;
    let core = take(&mut rest, clen, "core snapshot")?;
    let alen = take_u64(&mut rest, "attributes length")?;
    let alen = usize::try_from(alen).map_err(|_| invalid("attributes length overflows"))?;
    let abytes = take(&mut rest, alen, "attributes")?;
    if !rest.is_empty() {
        return Err(invalid("trailing bytes"));
    }
    let index = Index::from_bytes(core).map_err(WireError::from)?;
    let pairs: AttributePairs =
        postcard::from_bytes(abytes).map_err(|e| invalid(format!("attributes: {e}")))?;
    let mut prev: Option<&str> = None;
    for (k, v) in &pairs {
        if prev.is_some_and(|p| p >= k.as_str()) {
            return Err(invalid("attribute keys are not sorted and unique"));
        }
        if !index.contains(k) {
            return Err(invalid(format!("attributes for unknown key {k:?}")));
        }
        if v.len() > MAX_ATTRIBUTES_LEN {
            return Err(invalid(format!("attributes of {k:?} exceed {MAX_ATTRIBUTES_LEN} bytes")));
        }
        prev = Some(k);
    }
    Ok((index, pairs))
}
