//! The tokenizer: Redis's lexical rules, written down.
//!
//! * Blanks are C `isspace` characters.
//! * A **number** starts with a digit, or with `-` followed by a digit when
//!   the previous token is an operator or `(` (or there is none): so `3-2`
//!   is a subtraction and `3 * -2` a negative literal. It then runs over
//!   `[0-9.eE]` and must be a complete C number: `1e5` and `1.` are numbers,
//!   `1e-5` and `1.2.3` are syntax errors (Redis's rule, kept).
//! * A **string** is quoted with `"` or `'`; a backslash escapes the next
//!   character (`\n`, `\r`, `\t` are control characters, anything else
//!   stands for itself).
//! * A **selector** is `.` followed by a run of `[A-Za-z0-9_-]`: `.year`,
//!   `.first-name` (the `-` belongs to the name, as in Redis).
//! * A **tuple** is `[` scalars separated by `,` `]`: numbers (which may
//!   start with `-`) and strings only; a trailing comma is allowed.
//! * A **word** (a run of ASCII letters) is `and`, `or`, `not`, `in` or
//!   `null`; any other word is an unknown operator.
//! * **Symbols** are matched longest first among `** * / % + - > >= < <=
//!   == != ! && || ( )`; any other symbol is an unknown operator.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::FilterError;
use crate::num::{self, is_c_space};
use crate::ops::BinOp;
use crate::sub;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Num(f64),
    Str(String),
    Sel(String),
    Tuple(Vec<Value>),
    Null,
    Not,
    Bin(BinOp),
    LParen,
    RParen,
    Eof,
}

/// A token and the byte offset where it starts.
pub(crate) type Spanned = (Tok, usize);

fn is_selector_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Spanned>, FilterError> {
    let b = src.as_bytes();
    let mut out: Vec<Spanned> = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && is_c_space(b[i]) {
            i += 1;
        }
        let start = i;
        let Some(&c) = b.get(i) else {
            out.push((Tok::Eof, i));
            return Ok(out);
        };
        let minus_is_number =
            matches!(out.last(), None | Some((Tok::Not | Tok::Bin(_) | Tok::LParen, _)));
        let next_is_digit = b.get(i + 1).is_some_and(u8::is_ascii_digit);
        let tok = if c.is_ascii_digit() || (c == b'-' && minus_is_number && next_is_digit) {
            let end = number_end(b, i);
            let v =
                num::literal(sub(src, i..end)).ok_or_else(|| FilterError::syntax(src, start))?;
            i = end;
            Tok::Num(v)
        } else if c == b'"' || c == b'\'' {
            let (s, end) = string(src, i)?;
            i = end;
            Tok::Str(s)
        } else if c == b'.' && b.get(i + 1).is_some_and(|&n| is_selector_char(n)) {
            let mut end = i + 1;
            while end < b.len() && is_selector_char(b[end]) {
                end += 1;
            }
            let name = String::from(sub(src, i + 1..end));
            i = end;
            Tok::Sel(name)
        } else if c == b'[' {
            let (t, end) = tuple(src, i)?;
            i = end;
            Tok::Tuple(t)
        } else if c.is_ascii_alphabetic() {
            let mut end = i;
            while end < b.len() && b[end].is_ascii_alphabetic() {
                end += 1;
            }
            let word = sub(src, i..end);
            i = end;
            match word {
                "null" => Tok::Null,
                "not" => Tok::Not,
                "and" => Tok::Bin(BinOp::And),
                "or" => Tok::Bin(BinOp::Or),
                "in" => Tok::Bin(BinOp::In),
                _ => return Err(FilterError::unknown_op(word, start)),
            }
        } else if b"+-*%/!()<>=|&".contains(&c) {
            const SYMBOLS: &[(&str, Tok)] = &[
                ("**", Tok::Bin(BinOp::Pow)),
                (">=", Tok::Bin(BinOp::Ge)),
                ("<=", Tok::Bin(BinOp::Le)),
                ("==", Tok::Bin(BinOp::Eq)),
                ("!=", Tok::Bin(BinOp::Ne)),
                ("&&", Tok::Bin(BinOp::And)),
                ("||", Tok::Bin(BinOp::Or)),
                ("*", Tok::Bin(BinOp::Mul)),
                ("/", Tok::Bin(BinOp::Div)),
                ("%", Tok::Bin(BinOp::Mod)),
                ("+", Tok::Bin(BinOp::Add)),
                ("-", Tok::Bin(BinOp::Sub)),
                (">", Tok::Bin(BinOp::Gt)),
                ("<", Tok::Bin(BinOp::Lt)),
                ("!", Tok::Not),
                ("(", Tok::LParen),
                (")", Tok::RParen),
            ];
            // Two-character symbols come first: longest match wins.
            match SYMBOLS.iter().find(|(s, _)| b[i..].starts_with(s.as_bytes())) {
                Some((s, t)) => {
                    i += s.len();
                    t.clone()
                }
                None => {
                    let mut end = i;
                    while end < b.len() && b"=|&".contains(&b[end]) {
                        end += 1;
                    }
                    return Err(FilterError::unknown_op(sub(src, i..end), start));
                }
            }
        } else {
            return Err(FilterError::syntax(src, start));
        };
        out.push((tok, start));
    }
}

/// End of the `[0-9.eE]` run of a number that starts at `i` (an optional
/// leading `-` included).
fn number_end(b: &[u8], i: usize) -> usize {
    let mut end = i;
    if b.get(end) == Some(&b'-') {
        end += 1;
    }
    while end < b.len() && (b[end].is_ascii_digit() || matches!(b[end], b'.' | b'e' | b'E')) {
        end += 1;
    }
    end
}

/// A quoted string starting at `i`; returns its decoded text and the offset
/// after the closing quote.
fn string(src: &str, i: usize) -> Result<(String, usize), FilterError> {
    let b = src.as_bytes();
    let quote = b[i];
    let mut out = String::new();
    let mut j = i + 1;
    let mut run = j;
    while j < b.len() {
        match b[j] {
            b'\\' if j + 1 < b.len() => {
                out.push_str(sub(src, run..j));
                // The escaped character may be multi-byte UTF-8.
                let ch = sub(src, j + 1..).chars().next().unwrap_or('\\');
                out.push(match ch {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                });
                j += 1 + ch.len_utf8();
                run = j;
            }
            c if c == quote => {
                out.push_str(sub(src, run..j));
                return Ok((out, j + 1));
            }
            _ => j += 1,
        }
    }
    Err(FilterError::syntax(src, i))
}

/// A tuple literal starting at `i` (at `[`).
fn tuple(src: &str, i: usize) -> Result<(Vec<Value>, usize), FilterError> {
    let b = src.as_bytes();
    let mut items = Vec::new();
    let mut j = i + 1;
    loop {
        while j < b.len() && is_c_space(b[j]) {
            j += 1;
        }
        match b.get(j) {
            Some(b']') => return Ok((items, j + 1)),
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let end = number_end(b, j);
                let v =
                    num::literal(sub(src, j..end)).ok_or_else(|| FilterError::syntax(src, j))?;
                items.push(Value::Num(v));
                j = end;
            }
            Some(b'"' | b'\'') => {
                let (s, end) = string(src, j)?;
                items.push(Value::Str(s));
                j = end;
            }
            _ => return Err(FilterError::syntax(src, j)),
        }
        while j < b.len() && is_c_space(b[j]) {
            j += 1;
        }
        match b.get(j) {
            Some(b']') => return Ok((items, j + 1)),
            Some(b',') => j += 1,
            _ => return Err(FilterError::syntax(src, j)),
        }
    }
}
