//! The operators' semantics, shared by the evaluator and the constant folder.
//!
//! Everything here mirrors Redis's `expr.c` rule for rule (the rules are
//! also the rows of the semantics table in `docs/filters.md`):
//!
//! * **to number**: a number is itself; a string is `strtod` of the whole
//!   string, else 0 ([`crate::num::str_to_num`]); `null` and tuples are 0.
//! * **to boolean**: a number is true unless 0 (NaN is true); a string is
//!   true unless empty; `null` is false; a tuple is always true.
//! * **equality**: two strings compare bytes; two numbers compare as
//!   numbers; if either side is `null` both must be; anything else compares
//!   the two sides *as numbers* (so `"10" == 10`, and `"abc" == 0`).
//! * **in**: with a tuple on the right, membership by the equality above;
//!   with two strings, substring; otherwise false.
//! * **arithmetic and ordering** work on numbers (`**` is C `pow`, `%` is
//!   C `fmod`); **and/or/not** on booleans; every operator yields a number
//!   (1 or 0 for the logical ones).

use crate::num::{fmod, pow, str_to_num};
use crate::value::Value;

/// A borrowed attribute value, as [`Filter::eval_with`](crate::Filter::eval_with)
/// takes it from a caller's own storage (a shard keeps attributes by
/// column, not as [`Attributes`](crate::Attributes)).
///
/// It is also what the evaluation stack holds: borrowed from the program
/// (literals) or from the attributes (fields), or a computed number. `Copy`,
/// so the stack needs no allocation and no reference counting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// `null`.
    Null,
    /// A number (JSON booleans are 1 and 0).
    Num(f64),
    /// A string.
    Str(&'a str),
    /// A flat array of scalars.
    Tuple(&'a [Value]),
}

pub(crate) type Operand<'a> = ValueRef<'a>;

impl<'a> ValueRef<'a> {
    /// The borrowed form of a value.
    #[inline]
    pub fn of(v: &'a Value) -> ValueRef<'a> {
        match v {
            Value::Null => Operand::Null,
            Value::Num(n) => Operand::Num(*n),
            Value::Str(s) => Operand::Str(s),
            Value::Array(a) => Operand::Tuple(a),
        }
    }

    #[inline]
    pub(crate) fn to_num(self) -> f64 {
        match self {
            Operand::Num(n) => n,
            Operand::Str(s) => str_to_num(s),
            Operand::Null | Operand::Tuple(_) => 0.0,
        }
    }

    #[inline]
    pub(crate) fn to_bool(self) -> bool {
        match self {
            // NaN != 0 is true, as in C.
            Operand::Num(n) => n != 0.0,
            Operand::Str(s) => !s.is_empty(),
            Operand::Null => false,
            Operand::Tuple(_) => true,
        }
    }
}

/// Binary operators, in Redis's precedence order (higher binds tighter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Pow,
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
    In,
    And,
    Or,
}

impl BinOp {
    /// Redis's precedence: `**` 5, `* / %` 4, `+ -` 3, comparisons and `in`
    /// 2, `and` 1, `or` 0 (`!` is 6).
    pub(crate) fn precedence(self) -> u8 {
        match self {
            BinOp::Pow => 5,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 4,
            BinOp::Add | BinOp::Sub => 3,
            BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::Ne | BinOp::In => 2,
            BinOp::And => 1,
            BinOp::Or => 0,
        }
    }
}

/// Redis's token equality.
pub(crate) fn equal(a: Operand<'_>, b: Operand<'_>) -> bool {
    match (a, b) {
        (Operand::Str(x), Operand::Str(y)) => x == y,
        (Operand::Num(x), Operand::Num(y)) => x == y,
        (Operand::Null, o) | (o, Operand::Null) => matches!(o, Operand::Null),
        _ => a.to_num() == b.to_num(),
    }
}

/// `a in b`.
pub(crate) fn is_in(a: Operand<'_>, b: Operand<'_>) -> bool {
    match (a, b) {
        (_, Operand::Tuple(items)) => items.iter().any(|e| equal(a, Operand::of(e))),
        (Operand::Str(x), Operand::Str(y)) => contains(y.as_bytes(), x.as_bytes()),
        _ => false,
    }
}

/// Whether `needle` occurs in `hay` (`str::contains` on bytes, which is
/// the same for UTF-8). Not `str::contains`: its searcher slices `str`s,
/// whose panic path links a 10 KB Unicode table into the wasm modules (see
/// `crate::sub`). Linear time: a plain scan for short needles (at most 16
/// bytes, where it is the fastest), Knuth–Morris–Pratt for longer ones.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.len() > hay.len() {
        return false;
    }
    if needle.len() <= 16 {
        return needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle);
    }
    // fail[i]: length of the longest proper border of needle[..=i].
    let mut fail = alloc::vec![0usize; needle.len()];
    let mut k = 0;
    for i in 1..needle.len() {
        while k > 0 && needle[i] != needle[k] {
            k = fail[k - 1];
        }
        if needle[i] == needle[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let mut k = 0;
    for &c in hay {
        while k > 0 && c != needle[k] {
            k = fail[k - 1];
        }
        if c == needle[k] {
            k += 1;
            if k == needle.len() {
                return true;
            }
        }
    }
    false
}

#[inline]
pub(crate) fn b2n(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Applies a binary operator; the result is always a number.
pub(crate) fn apply(op: BinOp, a: Operand<'_>, b: Operand<'_>) -> f64 {
    match op {
        BinOp::Pow => pow(a.to_num(), b.to_num()),
        BinOp::Mul => a.to_num() * b.to_num(),
        BinOp::Div => a.to_num() / b.to_num(),
        BinOp::Mod => fmod(a.to_num(), b.to_num()),
        BinOp::Add => a.to_num() + b.to_num(),
        BinOp::Sub => a.to_num() - b.to_num(),
        BinOp::Gt => b2n(a.to_num() > b.to_num()),
        BinOp::Ge => b2n(a.to_num() >= b.to_num()),
        BinOp::Lt => b2n(a.to_num() < b.to_num()),
        BinOp::Le => b2n(a.to_num() <= b.to_num()),
        BinOp::Eq => b2n(equal(a, b)),
        BinOp::Ne => b2n(!equal(a, b)),
        BinOp::In => b2n(is_in(a, b)),
        BinOp::And => b2n(a.to_bool() && b.to_bool()),
        BinOp::Or => b2n(a.to_bool() || b.to_bool()),
    }
}

/// `!a`.
#[inline]
pub(crate) fn not(a: Operand<'_>) -> f64 {
    b2n(!a.to_bool())
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec::Vec;

    /// `contains` answers as `str::contains`, for short needles (the scan)
    /// and long ones (KMP), with borders, repeats and non-ASCII text.
    #[test]
    fn contains_is_str_contains() {
        let mut state = 0xc0_7a_19_u64;
        std::println!("seed {state:#x}");
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = ["a", "b", "ab", "é", "水"];
        let word = |n: u64, next: &mut dyn FnMut() -> u64| -> String {
            (0..n).map(|_| alphabet[(next() % 5) as usize]).collect()
        };
        for round in 0..20_000 {
            let hay = word(next() % 60, &mut next);
            let needle = if round % 3 == 0 && hay.len() > 2 {
                // A piece of the haystack, so matches are common.
                let b: Vec<char> = hay.chars().collect();
                let i = (next() as usize) % b.len();
                let j = i + (next() as usize) % (b.len() - i + 1);
                b[i..j].iter().collect()
            } else {
                word(next() % 25, &mut next)
            };
            assert_eq!(
                super::contains(hay.as_bytes(), needle.as_bytes()),
                hay.contains(&*needle),
                "{hay:?} contains {needle:?}"
            );
        }
    }
}
