//! Typed attributes: the JSON object of an element, parsed once on write.
//!
//! Redis re-scans the raw JSON text on every filter evaluation with a small
//! seeking parser. A shard evaluates filters far more often than it writes
//! attributes, so here the object is parsed once into [`Attributes`] (fields
//! sorted by name, values typed) and evaluation only looks fields up.
//!
//! The mapping follows what Redis's filter sees:
//!
//! | JSON            | [`Value`]                    |
//! |-----------------|------------------------------|
//! | number          | `Num`                        |
//! | `true`/`false`  | `Num(1.0)` / `Num(0.0)`      |
//! | string          | `Str` (escapes decoded)      |
//! | `null`          | `Null`                       |
//! | array of scalars| `Array` (booleans are 1/0)   |
//! | object          | dropped: the field is missing|
//! | array holding an array or object | dropped     |
//!
//! Stricter than Redis, on purpose: the bytes must be valid JSON (RFC 8259,
//! UTF-8) and the top level an object, or [`Attributes::parse`] fails with
//! `invalid_attributes`; Redis stores anything and lets the filter skip what
//! it cannot read. When a key appears twice the first occurrence wins, as in
//! Redis (which stops at the first match).

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{AttrError, AttrErrorKind};

/// One attribute value, as the filter sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// JSON `null` (present, but falsy and equal only to `null`).
    Null,
    /// A number; JSON booleans are stored as `1.0` and `0.0`, as Redis does.
    Num(f64),
    /// A string.
    Str(String),
    /// A flat array of scalars (`Null`, `Num` or `Str`), for `in`.
    Array(Vec<Value>),
}

/// The typed attributes of one element: top-level fields of a JSON object,
/// sorted by name. Build with [`Attributes::parse`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes {
    fields: Vec<(String, Value)>,
}

impl Attributes {
    /// Arrays and objects may nest at most this deep inside the top-level
    /// object (deeper values are rejected, not skipped, so that validating
    /// cannot exhaust the stack).
    pub const MAX_DEPTH: usize = 64;

    /// No attributes.
    pub fn new() -> Attributes {
        Attributes::default()
    }

    /// Parses a JSON object. Errors when the bytes are not valid JSON or
    /// not an object; nested objects (and arrays that contain arrays or
    /// objects) are validated and then dropped, so a filter sees them as
    /// missing.
    pub fn parse(json: &[u8]) -> Result<Attributes, AttrError> {
        let text = core::str::from_utf8(json)
            .map_err(|e| AttrError::json(e.valid_up_to(), "invalid UTF-8"))?;
        let mut p = Parser { b: text.as_bytes(), s: text, i: 0 };
        p.ws();
        if p.peek() != Some(b'{') {
            // Valid JSON of another type is NotAnObject; garbage is InvalidJson.
            p.value(0)?;
            p.ws();
            if p.i != p.b.len() {
                return Err(AttrError::json(p.i, "trailing characters after the value"));
            }
            return Err(AttrError::new(AttrErrorKind::NotAnObject));
        }
        let fields = p.object_top()?;
        p.ws();
        if p.i != p.b.len() {
            return Err(AttrError::json(p.i, "trailing characters after the object"));
        }
        Ok(Attributes::from_unsorted(fields))
    }

    /// Builds attributes from `(name, value)` pairs (the first of duplicate
    /// names wins). Values are taken as given: an `Array` should hold only
    /// scalars, as [`Attributes::parse`] guarantees.
    pub fn from_fields<I, K>(fields: I) -> Attributes
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Attributes::from_unsorted(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    fn from_unsorted(fields: Vec<(String, Value)>) -> Attributes {
        // Sorted by (name, position), so the first occurrence of a
        // duplicate comes first and the dedup keeps it. A heapsort rather
        // than the standard stable sort: see `heapsort_by`.
        let mut tagged: Vec<(String, Value, usize)> =
            fields.into_iter().enumerate().map(|(i, (k, v))| (k, v, i)).collect();
        heapsort_by(&mut tagged, |a, b| (a.0.as_str(), a.2) < (b.0.as_str(), b.2));
        let mut fields: Vec<(String, Value)> = tagged.into_iter().map(|(k, v, _)| (k, v)).collect();
        fields.dedup_by(|later, earlier| later.0 == earlier.0);
        Attributes { fields }
    }

    /// The value of a top-level field, if present (and not an object).
    #[inline]
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.binary_search_by(|(k, _)| k.as_str().cmp(field)).ok().map(|i| &self.fields[i].1)
    }

    /// The fields, sorted by name, by value.
    pub fn into_fields(self) -> impl Iterator<Item = (String, Value)> {
        self.fields.into_iter()
    }

    /// The fields, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of fields the filter can see.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when no field is visible to the filter.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// What a parsed JSON value becomes: a value the filter sees, or nothing
/// (objects, and arrays holding arrays or objects).
type Parsed = Option<Value>;

struct Parser<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8, reason: &'static str) -> Result<(), AttrError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(AttrError::json(self.i, reason))
        }
    }

    /// The top-level object; `self.i` is at `{`.
    fn object_top(&mut self) -> Result<Vec<(String, Value)>, AttrError> {
        let mut fields = Vec::new();
        self.object(1, |k, v| {
            if let Some(v) = v {
                fields.push((k, v));
            }
        })?;
        Ok(fields)
    }

    /// An object at nesting `depth`; calls `each` per member.
    fn object(
        &mut self,
        depth: usize,
        mut each: impl FnMut(String, Parsed),
    ) -> Result<(), AttrError> {
        self.expect(b'{', "expected '{'")?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(AttrError::json(self.i, "expected a string key"));
            }
            let key = self.string()?;
            self.ws();
            self.expect(b':', "expected ':' after the key")?;
            let v = self.value(depth)?;
            each(key, v);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(AttrError::json(self.i, "expected ',' or '}'")),
            }
        }
    }

    /// Any value at nesting `depth` (the number of enclosing containers).
    fn value(&mut self, depth: usize) -> Result<Parsed, AttrError> {
        self.ws();
        match self.peek() {
            Some(b'{') => {
                if depth >= Attributes::MAX_DEPTH {
                    return Err(AttrError::new(AttrErrorKind::TooDeep { position: self.i }));
                }
                self.object(depth + 1, |_, _| {})?;
                Ok(None)
            }
            Some(b'[') => {
                if depth >= Attributes::MAX_DEPTH {
                    return Err(AttrError::new(AttrErrorKind::TooDeep { position: self.i }));
                }
                self.array(depth + 1)
            }
            Some(b'"') => Ok(Some(Value::Str(self.string()?))),
            Some(b't') => self.literal("true", Value::Num(1.0)),
            Some(b'f') => self.literal("false", Value::Num(0.0)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(AttrError::json(self.i, "expected a value")),
        }
    }

    fn literal(&mut self, word: &'static str, v: Value) -> Result<Parsed, AttrError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(Some(v))
        } else {
            Err(AttrError::json(self.i, "expected a value"))
        }
    }

    fn array(&mut self, depth: usize) -> Result<Parsed, AttrError> {
        self.expect(b'[', "expected '['")?;
        let mut items = Vec::new();
        // Becomes false when an element is an array or an object: Redis
        // arrays hold scalars, and the contract keeps arrays flat.
        let mut flat = true;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Some(Value::Array(items)));
        }
        loop {
            self.ws();
            let nested = matches!(self.peek(), Some(b'[' | b'{'));
            let v = self.value(depth)?;
            match v {
                Some(v) if !nested && flat => items.push(v),
                _ => flat = false,
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(if flat { Some(Value::Array(items)) } else { None });
                }
                _ => return Err(AttrError::json(self.i, "expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<Parsed, AttrError> {
        let start = self.i;
        let b = self.b;
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return Err(AttrError::json(i, "expected a digit")),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(AttrError::json(i, "expected a digit after '.'"));
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(AttrError::json(i, "expected a digit in the exponent"));
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.i = i;
        // JSON numbers are a subset of what `dec::parse` reads; out-of-range
        // magnitudes become infinities (as with Redis's strtod).
        let v = crate::dec::parse(crate::sub(self.s, start..i))
            .ok_or_else(|| AttrError::json(start, "bad number"))?;
        Ok(Some(Value::Num(v)))
    }

    /// A string; `self.i` is at the opening quote.
    fn string(&mut self) -> Result<String, AttrError> {
        self.i += 1;
        let b = self.b;
        let mut out = String::new();
        let mut run = self.i;
        loop {
            let Some(&c) = b.get(self.i) else {
                return Err(AttrError::json(self.i, "unterminated string"));
            };
            match c {
                b'"' => {
                    out.push_str(crate::sub(self.s, run..self.i));
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(crate::sub(self.s, run..self.i));
                    let esc = self.i;
                    self.i += 1;
                    let ch = match b.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if !b[self.i..].starts_with(b"\\u") {
                                    return Err(AttrError::json(esc, "lone surrogate"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(AttrError::json(esc, "lone surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(AttrError::json(esc, "lone surrogate"));
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).ok_or(AttrError::json(esc, "bad escape"))?);
                            run = self.i;
                            continue;
                        }
                        _ => return Err(AttrError::json(esc, "bad escape")),
                    };
                    out.push(ch);
                    self.i += 1;
                    run = self.i;
                }
                0..=0x1f => return Err(AttrError::json(self.i, "control character in string")),
                _ => self.i += 1,
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, AttrError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(AttrError::json(self.i, "expected 4 hex digits")),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }
}

/// Heapsort by `less`: `O(n log n)`, no allocation. Not the standard sort:
/// each instance of it is several KB of wasm (the merge and small-sort
/// code is inlined per type), paid by every download of the npm `Index`
/// module (100 KB budget) for a sort of a few attribute names.
fn heapsort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[root], &v[child]) {
            return;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn parses_types() {
        let a = Attributes::parse(
            br#" {"n": -1.5e2, "t": true, "f": false, "s": "a\"b\u00e9\ud83d\ude00", "z": null,
                 "arr": [1, "x", true, null], "obj": {"a": [1, {"b": 2}]}, "deep": [[1]], "mix": [1, {}],
                 "e": []} "#,
        )
        .unwrap();
        assert_eq!(a.get("n"), Some(&Value::Num(-150.0)));
        assert_eq!(a.get("t"), Some(&Value::Num(1.0)));
        assert_eq!(a.get("f"), Some(&Value::Num(0.0)));
        assert_eq!(a.get("s"), Some(&s("a\"b\u{e9}\u{1F600}")));
        assert_eq!(a.get("z"), Some(&Value::Null));
        assert_eq!(
            a.get("arr"),
            Some(&Value::Array(vec![Value::Num(1.0), s("x"), Value::Num(1.0), Value::Null]))
        );
        assert_eq!(a.get("obj"), None);
        assert_eq!(a.get("deep"), None);
        assert_eq!(a.get("mix"), None);
        assert_eq!(a.get("e"), Some(&Value::Array(vec![])));
        let names: Vec<&str> = a.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["arr", "e", "f", "n", "s", "t", "z"]);
    }

    #[test]
    fn first_duplicate_wins() {
        let a = Attributes::parse(br#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        assert_eq!(a.get("a"), Some(&Value::Num(1.0)));
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn rejects() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":01}",
            b"{\"a\":1.}",
            b"{\"a\":.5}",
            b"{\"a\":+1}",
            b"{\"a\":tru}",
            b"{\"a\":\"\\x\"}",
            b"{\"a\":\"\\ud800\"}",
            b"{\"a\":\"\x01\"}",
            b"{\"a\":1} x",
            b"{a:1}",
            b"{\"a\":\xff}",
            b"{\"a\":[1,]}",
            b"{\"a\":NaN}",
        ] {
            let e = Attributes::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_attributes");
            assert!(matches!(e.kind(), AttrErrorKind::InvalidJson { .. }), "{bad:?}: {e:?}");
        }
        for not_obj in [&b"[1]"[..], b"null", b"\"x\"", b" 3 "] {
            let e = Attributes::parse(not_obj).unwrap_err();
            assert_eq!(e.kind(), &AttrErrorKind::NotAnObject, "{not_obj:?}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = alloc::string::String::from("{\"a\":");
        for _ in 0..100_000 {
            deep.push('[');
        }
        let e = Attributes::parse(deep.as_bytes()).unwrap_err();
        assert!(matches!(e.kind(), AttrErrorKind::TooDeep { .. }));
        let ok = alloc::format!("{{\"a\":{}1{}}}", "[".repeat(63), "]".repeat(63));
        assert!(Attributes::parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn big_numbers_become_infinite() {
        let a = Attributes::parse(br#"{"a": 1e400, "b": -1e400, "c": 1e-400}"#).unwrap();
        assert_eq!(a.get("a"), Some(&Value::Num(f64::INFINITY)));
        assert_eq!(a.get("b"), Some(&Value::Num(f64::NEG_INFINITY)));
        assert_eq!(a.get("c"), Some(&Value::Num(0.0)));
    }
}
