//! Core errors become JS `Error`s carrying a stable snake_case `code`.
//!
//! The JS wrapper (`js/api.js`) catches these and rethrows them as
//! `VecshardError`, a class users can test with `instanceof`. The codes are
//! the contract (documented in `js/index.d.ts`); messages may improve.
//! Detail fields (`expected`, `got`, `key`, ...) are copied onto the error
//! so a caller need not parse the message.

use vecshard_core::{Error, ErrorKind};
use wasm_bindgen::JsValue;

/// The stable code of a core error kind.
///
/// `ErrorKind` is `#[non_exhaustive]`: a kind added to the core later maps
/// to `"internal"` until it gets its own code here.
pub fn code(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidConfig { .. } => "invalid_config",
        ErrorKind::DimensionMismatch { .. } => "dimension_mismatch",
        ErrorKind::NonFiniteValue { .. } => "non_finite_value",
        ErrorKind::ValueOutOfRange { .. } => "value_out_of_range",
        ErrorKind::ZeroVector => "zero_vector",
        ErrorKind::EmptyKey => "empty_key",
        ErrorKind::KeyTooLong { .. } => "key_too_long",
        ErrorKind::DuplicateKey { .. } => "duplicate_key",
        ErrorKind::KeyNotFound { .. } => "key_not_found",
        ErrorKind::InvalidK => "invalid_k",
        ErrorKind::CapacityExceeded => "capacity_exceeded",
        ErrorKind::InvalidSnapshot { .. } => "invalid_snapshot",
        _ => "internal",
    }
}

/// A JS `Error` with `message` and a `code` property.
pub fn js_error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    set(&e, "code", &JsValue::from_str(code));
    e.into()
}

/// Converts a core error, copying its details onto the JS error.
pub fn from_core(err: &Error) -> JsValue {
    let kind = err.kind();
    let e = js_error(code(kind), &err.to_string());
    match kind {
        ErrorKind::DimensionMismatch { expected, got } => {
            set(&e, "expected", &(*expected as f64).into());
            set(&e, "got", &(*got as f64).into());
        }
        ErrorKind::NonFiniteValue { index } | ErrorKind::ValueOutOfRange { index } => {
            set(&e, "index", &(*index as f64).into())
        }
        ErrorKind::KeyTooLong { len } => set(&e, "length", &(*len as f64).into()),
        ErrorKind::DuplicateKey { key } | ErrorKind::KeyNotFound { key } => {
            set(&e, "key", &JsValue::from_str(key))
        }
        _ => {}
    }
    e
}

/// `Result<T, core::Error>` to `Result<T, JsValue>` (for `?` at the boundary).
pub fn js<T>(r: vecshard_core::Result<T>) -> Result<T, JsValue> {
    r.map_err(|e| from_core(&e))
}

fn set(target: &JsValue, field: &str, value: &JsValue) {
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(field), value);
}

#[cfg(test)]
mod tests {
    use super::code;
    use vecshard_core::{Config, ErrorKind, Index, Metric};

    /// The codes are a public contract: changing one breaks users.
    #[test]
    fn every_core_error_has_its_documented_code() {
        let mut idx = Index::new(Config::new(2, Metric::Cosine)).unwrap();
        idx.insert("a", &[1.0, 0.0]).unwrap();
        let cases: [(vecshard_core::Error, &str); 9] = [
            (Index::new(Config::new(0, Metric::L2)).unwrap_err(), "invalid_config"),
            (idx.insert("b", &[1.0]).unwrap_err(), "dimension_mismatch"),
            (idx.insert("b", &[f32::NAN, 0.0]).unwrap_err(), "non_finite_value"),
            (idx.insert("b", &[0.0, 0.0]).unwrap_err(), "zero_vector"),
            (idx.insert("", &[1.0, 0.0]).unwrap_err(), "empty_key"),
            (idx.insert(&"x".repeat(1025), &[1.0, 0.0]).unwrap_err(), "key_too_long"),
            (idx.insert("a", &[1.0, 0.0]).unwrap_err(), "duplicate_key"),
            (idx.remove("zz").unwrap_err(), "key_not_found"),
            (idx.search(&[1.0, 0.0], 0, None, None).unwrap_err(), "invalid_k"),
        ];
        for (err, want) in cases {
            assert_eq!(code(err.kind()), want, "{err}");
        }
        let snap = Index::from_bytes(b"not a snapshot").unwrap_err();
        assert_eq!(code(snap.kind()), "invalid_snapshot");
        assert_eq!(code(&ErrorKind::CapacityExceeded), "capacity_exceeded");
    }
}
