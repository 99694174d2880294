//! Conversions at the JS boundary: option strings, search results, stats.
//!
//! Why search results are packed: a result is `k` keys and `k` distances.
//! Handing JS one string per key costs one `TextDecoder` call each, which
//! at k = 10 is a visible share of a 20 µs search. Instead a search returns
//! one `Float32Array` holding the distances followed by each key's length in
//! UTF-16 code units, and the keys come as one concatenated string that the
//! wrapper cuts with `substring` (one decode for all keys). Key lengths are
//! at most 1024, exact in an `f32`.

use crate::error::js_error;
use js_sys::{Array, Object, Reflect};
use vecshard_core::{Config, Hit, Metric, Quantization, Quoted, Stats};
use wasm_bindgen::JsValue;

/// Parses `"cosine" | "l2" | "ip"` (and the core's aliases).
pub fn metric(s: &str) -> Result<Metric, JsValue> {
    Metric::parse(s).ok_or_else(|| {
        js_error(
            "invalid_config",
            &format!(
                "invalid index configuration: unknown metric {}; use \"cosine\", \"l2\" or \"ip\"",
                Quoted(s)
            ),
        )
    })
}

/// Parses `"f32" | "i8" | "binary"` (and the core's aliases).
pub fn quantization(s: &str) -> Result<Quantization, JsValue> {
    Quantization::parse(s).ok_or_else(|| {
        js_error(
            "invalid_config",
            &format!(
                "invalid index configuration: unknown quantization {}; use \"f32\", \"i8\" or \"binary\"",
                Quoted(s)
            ),
        )
    })
}

/// A core `Config` from the JS options (omitted ones take the defaults).
/// Not validated here: `Index::new` (or `Config::validate`) does that.
pub fn config(
    dim: u32,
    metric_name: &str,
    m: Option<u32>,
    ef_construction: Option<u32>,
    ef_search: Option<u32>,
    quantization_name: Option<String>,
    seed: Option<u64>,
) -> Result<Config, JsValue> {
    let mut cfg = Config::new(dim as usize, metric(metric_name)?);
    if let Some(m) = m {
        cfg = cfg.m(m as usize);
    }
    if let Some(ef) = ef_construction {
        cfg = cfg.ef_construction(ef as usize);
    }
    if let Some(ef) = ef_search {
        cfg = cfg.ef_search(ef as usize);
    }
    if let Some(q) = quantization_name {
        cfg = cfg.quantization(quantization(&q)?);
    }
    if let Some(seed) = seed {
        cfg = cfg.seed(seed);
    }
    Ok(cfg)
}

/// Length of `s` in UTF-16 code units (what JS `String.length` counts).
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}

/// Packs hits as described in the module docs: `keys` receives every key
/// concatenated, `out` the distances then the UTF-16 length of each key.
pub fn pack_hits(hits: &[Hit<'_>], keys: &mut String, out: &mut Vec<f32>) {
    keys.clear();
    out.clear();
    out.extend(hits.iter().map(|h| h.distance));
    for h in hits {
        keys.push_str(h.key);
        out.push(utf16_len(h.key) as f32);
    }
}

/// `Stats` as a plain JS object with camelCase fields.
pub fn stats(s: &Stats) -> Object {
    let o = Object::new();
    let num = |name: &str, v: usize| {
        let _ = Reflect::set(&o, &JsValue::from_str(name), &JsValue::from_f64(v as f64));
    };
    num("size", s.len);
    num("slots", s.slots);
    num("freeSlots", s.free_slots);
    num("maxLevel", s.max_level);
    num("layer0Links", s.layer0_links);
    num("upperLinks", s.upper_links);
    num("vectorBytes", s.vector_bytes);
    num("linkBytes", s.link_bytes);
    num("keyBytes", s.key_bytes);
    num("totalBytes", s.total_bytes);
    let _ = Reflect::set(&o, &"bytesPerVector".into(), &s.bytes_per_vector().into());
    let hist: Array = s.level_histogram[..=s.max_level.min(s.level_histogram.len() - 1)]
        .iter()
        .map(|&n| JsValue::from_f64(n as f64))
        .collect();
    let _ = Reflect::set(&o, &"levelHistogram".into(), &hist);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_lengths_match_js_string_length() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é"), 1); // 2 UTF-8 bytes, 1 code unit
        assert_eq!(utf16_len("水"), 1); // 3 bytes, 1 unit
        assert_eq!(utf16_len("😀x"), 3); // astral: a surrogate pair, then one
    }

    #[test]
    fn hits_pack_into_distances_then_lengths() {
        let hits = [Hit { key: "a😀", distance: 0.5 }, Hit { key: "bc", distance: 1.0 }];
        let (mut keys, mut out) = (String::from("stale"), vec![9.0]);
        pack_hits(&hits, &mut keys, &mut out);
        assert_eq!(keys, "a😀bc");
        assert_eq!(out, [0.5, 1.0, 3.0, 2.0]);
    }
}
