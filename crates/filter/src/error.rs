//! The two error types of the crate: one for filter sources, one for
//! attribute JSON.
//!
//! Both follow the `Error(Box<Kind>)` pattern (one pointer wide, match on
//! `kind()`), carry the byte position of the problem where there is one, and
//! map to one wire error code each (`code()`), so the shard, the HTTP server
//! and the npm package all report the same thing the same way.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

/// The error code of every [`FilterError`]: what the HTTP API and the
/// protocol report (`400 invalid_filter`).
pub const INVALID_FILTER: &str = "invalid_filter";

/// The error code of every [`AttrError`] (`400 invalid_attributes`).
pub const INVALID_ATTRIBUTES: &str = "invalid_attributes";

/// A filter expression was rejected by [`Filter::compile`](crate::Filter::compile).
/// Match on [`FilterError::kind`]; [`FilterError::position`] is a byte offset
/// into the source.
#[derive(Clone, PartialEq, Eq)]
pub struct FilterError(Box<FilterErrorKind>);

/// Why a filter was rejected. New kinds may be added in minor releases.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// The tokens do not form an expression: a missing operand, an
    /// unbalanced parenthesis, an unterminated string, a malformed number.
    Syntax {
        /// Byte offset of the offending token.
        position: usize,
        /// A few characters of the source from `position` on.
        near: String,
    },
    /// A word or symbol that is not an operator of the language (`=`, `&`,
    /// `xor`, `true`...).
    UnknownOperator {
        /// Byte offset of the operator.
        position: usize,
        /// The text that was read as an operator.
        op: String,
    },
    /// The source is longer than [`Filter::MAX_LEN`](crate::Filter::MAX_LEN) bytes.
    TooLong {
        /// Length of the source in bytes.
        len: usize,
    },
    /// Parentheses, `!` or operators nest deeper than
    /// [`Filter::MAX_DEPTH`](crate::Filter::MAX_DEPTH) levels.
    TooDeep {
        /// Byte offset where the limit was crossed.
        position: usize,
    },
    /// The source is empty or only whitespace.
    Empty,
}

impl FilterError {
    /// What went wrong.
    pub fn kind(&self) -> &FilterErrorKind {
        &self.0
    }

    /// Byte offset in the source where the problem was found, if there is
    /// one (`TooLong` reports [`Filter::MAX_LEN`](crate::Filter::MAX_LEN),
    /// the first byte over the limit; `Empty` reports 0).
    pub fn position(&self) -> usize {
        match &*self.0 {
            FilterErrorKind::Syntax { position, .. }
            | FilterErrorKind::UnknownOperator { position, .. }
            | FilterErrorKind::TooDeep { position } => *position,
            FilterErrorKind::TooLong { .. } => crate::Filter::MAX_LEN,
            FilterErrorKind::Empty => 0,
        }
    }

    /// The wire error code: always [`INVALID_FILTER`].
    pub fn code(&self) -> &'static str {
        INVALID_FILTER
    }

    pub(crate) fn new(kind: FilterErrorKind) -> FilterError {
        FilterError(Box::new(kind))
    }

    pub(crate) fn syntax(src: &str, position: usize) -> FilterError {
        FilterError::new(FilterErrorKind::Syntax { position, near: near(src, position) })
    }

    pub(crate) fn unknown_op(op: &str, position: usize) -> FilterError {
        FilterError::new(FilterErrorKind::UnknownOperator { position, op: op.into() })
    }
}

/// Up to 16 characters of `src` from byte `pos` on (clamped to a char
/// boundary), for messages.
fn near(src: &str, pos: usize) -> String {
    let mut start = pos.min(src.len());
    while !src.is_char_boundary(start) {
        start -= 1;
    }
    crate::sub(src, start..).chars().take(16).collect()
}

/// A string in double quotes, written as `{:?}` writes ASCII and printable
/// text, without `str`'s `Debug` (whose printability table is about 10 KB
/// of wasm): the same rule as `vecshard_core::Quoted` (this crate does not
/// depend on the core), tested against `{:?}`.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for c in self.0.chars() {
            let esc = match c {
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
        f.write_char('"')
    }
}

impl fmt::Debug for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            FilterErrorKind::Syntax { position, near } => {
                write!(f, "syntax error near {} (byte {position})", Quoted(near))
            }
            FilterErrorKind::UnknownOperator { position, op } => {
                write!(
                    f,
                    "unknown operator {} (byte {position}); operators are \
                     ! not ** * / % + - > >= < <= == != in and && or ||",
                    Quoted(op)
                )
            }
            FilterErrorKind::TooLong { len } => {
                write!(f, "filter too long (max {} bytes, got {len})", crate::Filter::MAX_LEN)
            }
            FilterErrorKind::TooDeep { position } => write!(
                f,
                "filter nests too deeply (max {} levels) near byte {position}",
                crate::Filter::MAX_DEPTH
            ),
            FilterErrorKind::Empty => {
                f.write_str("empty filter; write an expression such as .year > 1950")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FilterError {}

/// Attribute bytes were rejected by
/// [`Attributes::parse`](crate::Attributes::parse). Match on
/// [`AttrError::kind`].
#[derive(Clone, PartialEq, Eq)]
pub struct AttrError(Box<AttrErrorKind>);

/// Why attribute bytes were rejected. New kinds may be added in minor releases.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttrErrorKind {
    /// The bytes are not valid JSON (or not UTF-8).
    InvalidJson {
        /// Byte offset of the problem.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// The JSON is valid but its top level is not an object (`[1]`, `"x"`,
    /// `null`...). Redis stores such values; vecshard rejects them on write.
    NotAnObject,
    /// Arrays and objects nest deeper than
    /// [`Attributes::MAX_DEPTH`](crate::Attributes::MAX_DEPTH).
    TooDeep {
        /// Byte offset where the limit was crossed.
        position: usize,
    },
}

impl AttrError {
    /// What went wrong.
    pub fn kind(&self) -> &AttrErrorKind {
        &self.0
    }

    /// Byte offset of the problem, where there is one.
    pub fn position(&self) -> Option<usize> {
        match &*self.0 {
            AttrErrorKind::InvalidJson { position, .. } | AttrErrorKind::TooDeep { position } => {
                Some(*position)
            }
            AttrErrorKind::NotAnObject => None,
        }
    }

    /// The wire error code: always [`INVALID_ATTRIBUTES`].
    pub fn code(&self) -> &'static str {
        INVALID_ATTRIBUTES
    }

    pub(crate) fn new(kind: AttrErrorKind) -> AttrError {
        AttrError(Box::new(kind))
    }

    pub(crate) fn json(position: usize, reason: &'static str) -> AttrError {
        AttrError::new(AttrErrorKind::InvalidJson { position, reason })
    }
}

impl fmt::Debug for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            AttrErrorKind::InvalidJson { position, reason } => {
                write!(f, "attributes are not valid JSON: {reason} at byte {position}")
            }
            AttrErrorKind::NotAnObject => f.write_str(
                "attributes must be a JSON object such as {\"year\": 1984}; \
                 use null to clear them",
            ),
            AttrErrorKind::TooDeep { position } => write!(
                f,
                "attributes nest deeper than {} levels at byte {position}",
                crate::Attributes::MAX_DEPTH
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AttrError {}

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
        for s in
            ["", "a", "k \"x\" \\ y", "tab\tcr\rlf\nnul\0", "\u{1b}[0m\u{7f}\u{85}", "é水😀", &all]
        {
            assert_eq!(format!("{}", Quoted(s)), format!("{s:?}"), "{s:?}");
        }
    }
}
