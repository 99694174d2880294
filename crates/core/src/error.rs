//! The one error type of the core.
//!
//! Follows the `Error(Box<ErrorKind>)` pattern: the error is one pointer wide
//! (so `Result<T>` stays small on hot paths), callers match on [`Error::kind`],
//! and `Display` says what went wrong *and* what to do about it.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt::{self, Write};

/// An error from the vecshard core. Match on [`Error::kind`].
#[derive(Clone, PartialEq)]
pub struct Error(Box<ErrorKind>);

/// What went wrong. New kinds may be added in minor releases.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The [`Config`](crate::Config) is invalid; the message names the field.
    InvalidConfig {
        /// Which setting is wrong and what range is allowed.
        reason: String,
    },
    /// A vector's length differs from the index dimension.
    DimensionMismatch {
        /// The index dimension.
        expected: usize,
        /// The length that was passed.
        got: usize,
    },
    /// A vector holds NaN or an infinity.
    NonFiniteValue {
        /// Position of the first bad component.
        index: usize,
    },
    /// A vector component's magnitude exceeds
    /// [`MAX_ABS_VALUE`](crate::MAX_ABS_VALUE): distances could overflow to
    /// infinity or NaN.
    ValueOutOfRange {
        /// Position of the first bad component.
        index: usize,
    },
    /// An all-zero vector was given to a cosine index, which has no direction.
    ZeroVector,
    /// The key is the empty string.
    EmptyKey,
    /// The key is longer than [`MAX_KEY_LEN`](crate::MAX_KEY_LEN) bytes.
    KeyTooLong {
        /// Length of the key in bytes.
        len: usize,
    },
    /// `insert` was given a key that is already present (use `upsert`).
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// The key is not in the index.
    KeyNotFound {
        /// The key.
        key: String,
    },
    /// `k` was zero.
    InvalidK,
    /// A slot passed to [`Index::exact_search_slots`](crate::Index::exact_search_slots)
    /// holds no element (never used, or its element was removed).
    SlotNotFound {
        /// The slot.
        slot: u32,
    },
    /// The index already holds `u32::MAX - 1` slots.
    CapacityExceeded,
    /// A snapshot could not be loaded; nothing was constructed.
    InvalidSnapshot {
        /// What check failed.
        reason: String,
    },
}

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }

    pub(crate) fn config(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidConfig { reason: reason.into() })
    }

    pub(crate) fn dimension(expected: usize, got: usize) -> Error {
        Error::new(ErrorKind::DimensionMismatch { expected, got })
    }

    pub(crate) fn snapshot(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidSnapshot { reason: reason.into() })
    }

    pub(crate) fn key_not_found(key: &str) -> Error {
        Error::new(ErrorKind::KeyNotFound { key: key.into() })
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::InvalidConfig { reason } => {
                write!(f, "invalid index configuration: {reason}")
            }
            ErrorKind::DimensionMismatch { expected, got } => write!(
                f,
                "vector has {got} components but the index dimension is {expected}; \
                 pass vectors of exactly {expected} values"
            ),
            ErrorKind::NonFiniteValue { index } => write!(
                f,
                "vector component {index} is NaN or infinite; only finite values can be indexed"
            ),
            // The bound as text, not `{:e}` of the constant: formatting a
            // float links about 10 KB (gzipped) of float printing into
            // every wasm module that can show this error (the npm package's
            // size budget); a test checks the text against the constant.
            ErrorKind::ValueOutOfRange { index } => write!(
                f,
                "vector component {index} has magnitude above {MAX_ABS_VALUE_TEXT}; distances \
                 between such vectors would overflow, so scale the vectors down"
            ),
            ErrorKind::ZeroVector => f.write_str(
                "the zero vector has no direction, so it cannot be used with the cosine metric; \
                 drop it or use the l2 or ip metric",
            ),
            ErrorKind::EmptyKey => f.write_str("keys must be non-empty UTF-8 strings"),
            ErrorKind::KeyTooLong { len } => write!(
                f,
                "key is {len} bytes long; keys may be at most {} bytes",
                crate::MAX_KEY_LEN
            ),
            ErrorKind::DuplicateKey { key } => {
                write!(
                    f,
                    "key {} is already in the index; use upsert to replace its vector",
                    Quoted(key)
                )
            }
            ErrorKind::KeyNotFound { key } => write!(f, "key {} is not in the index", Quoted(key)),
            ErrorKind::InvalidK => f.write_str("k must be at least 1"),
            ErrorKind::SlotNotFound { slot } => write!(
                f,
                "slot {slot} holds no element; pass only slots of live elements \
                 (from slot_of, or kept current on every insert and remove)"
            ),
            ErrorKind::CapacityExceeded => f.write_str(
                "the index is full (u32 slot space exhausted); split it into more shards",
            ),
            ErrorKind::InvalidSnapshot { reason } => {
                write!(
                    f,
                    "snapshot rejected: {reason}; the bytes are corrupt or not a vecshard snapshot"
                )
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// A string in double quotes, for messages: the same text as `{:?}` for
/// every string of ASCII and printable characters (`"`, `\\`, tab, CR, LF
/// and NUL backslash-escaped, other control characters as `\u{..}`), while
/// other characters are written as they are.
///
/// Why not `{:?}`: `str`'s `Debug` decides which characters are printable
/// with a Unicode table (about 10 KB of wasm with the code around it) that
/// every module showing a key in an error would carry, among them the npm
/// package's `Index` (100 KB budget). The two differ only for invisible or
/// unassigned characters, which `{:?}` escapes and this writes as is.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        // Char by char, not slices of runs: a `str` slice can panic in
        // theory, and its panic message links the same `Debug` code.
        for c in self.0.chars() {
            let esc: &str = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\t' => "\\t",
                '\r' => "\\r",
                '\n' => "\\n",
                '\0' => "\\0",
                '\0'..='\x1f' | '\x7f'..='\u{9f}' => {
                    // `\u{1b}`: lowercase hex without leading zeros, as `{:?}`.
                    let n = c as u32;
                    let hex = |d: u32| char::from(b"0123456789abcdef"[d as usize & 15]);
                    f.write_str("\\u{")?;
                    if n >= 16 {
                        f.write_char(hex(n >> 4))?;
                    }
                    f.write_char(hex(n))?;
                    "}"
                }
                c => {
                    f.write_char(c)?;
                    continue;
                }
            };
            f.write_str(esc)?;
        }
        f.write_str("\"")
    }
}

/// [`MAX_ABS_VALUE`](crate::MAX_ABS_VALUE) as `{:e}` prints it.
const MAX_ABS_VALUE_TEXT: &str = "1e15";

#[cfg(test)]
mod quoted {
    use super::Quoted;
    use alloc::format;
    use alloc::string::String;

    /// `Quoted` writes what `{:?}` writes for ASCII and printable text,
    /// every control character included.
    #[test]
    fn quoted_is_debug_for_printable_text() {
        let mut all = String::new();
        for c in (0u32..0x250).chain(0x3a0..0x3d0).chain([0x6c34, 0x1f600]) {
            let c = char::from_u32(c).unwrap();
            if c.is_control() || !format!("{c:?}").starts_with("'\\u") {
                all.push(c);
            }
        }
        for s in [
            "",
            "a",
            "key \"x\" \\ y",
            "tab\tcr\rlf\nnul\0",
            "\u{1b}[0m\u{7f}\u{85}",
            "é水😀",
            &all,
        ] {
            assert_eq!(format!("{}", Quoted(s)), format!("{s:?}"), "{s:?}");
        }
    }
}

#[cfg(test)]
mod bound_text {
    #[test]
    fn the_bound_text_is_the_constant() {
        assert_eq!(alloc::format!("{:e}", crate::MAX_ABS_VALUE), super::MAX_ABS_VALUE_TEXT);
    }
}
