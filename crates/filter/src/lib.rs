//! # vecshard-filter: which elements does this expression accept?
//!
//! The filter language of vecshard is the one of Redis 8 vector sets
//! (`VSIM ... FILTER '.year >= 1980 and .genre == "drama"'`), so that one
//! language serves the HTTP API, the CLI, the npm package and a Redis
//! protocol front end. This crate is that language, `no_std` + `alloc`, for
//! native shards and the wasm guest alike:
//!
//! * [`Attributes`]: an element's JSON object, parsed once on write into
//!   typed [`Value`]s (numbers, strings, `null`, flat arrays; booleans are
//!   1/0 and nested objects are invisible, as in Redis).
//! * [`Filter`]: an expression compiled once per query into a small postfix
//!   program over interned field names; [`Filter::eval`] runs it against
//!   attributes without allocating (for the usual small programs) and never
//!   fails: a selector that finds no value makes the whole expression false.
//! * [`Plan`]: what attribute indexes can do for the filter, a superset of
//!   what it accepts, with [`eq_keys`] and [`range_value`] saying how to
//!   index a value so that Redis's coercions (`"10" == 10`, `"abc" == 0`)
//!   cannot make an index miss a match.
//!
//! What it is **not**: it keeps no indexes, knows nothing of vectors, slots
//! or shards, and does not choose between an index scan and a graph walk;
//! the shard does that with the [`Plan`]. It is not a general JSON library
//! either: the parser accepts exactly JSON objects and keeps what a filter
//! can see.
//!
//! The language, its grammar and one row per semantic rule are in
//! `docs/filters.md`; every row there is also a test of this crate.
//!
//! ## Example
//!
//! ```
//! use vecshard_filter::{Attributes, Filter, Plan};
//!
//! let f = Filter::compile(r#".year >= 1980 and .genre in ["drama", "noir"]"#)?;
//! let movie = Attributes::parse(br#"{"year": 1984, "genre": "noir"}"#)?;
//! assert!(f.eval(&movie));
//!
//! // A missing field makes the whole expression false, even under `or`.
//! let g = Filter::compile(".rating > 8 or .year > 1950")?;
//! assert!(!g.eval(&movie));
//!
//! // The plan tells a shard which indexes narrow the candidates.
//! assert!(matches!(f.plan(), Plan::And(_)));
//!
//! let err = Filter::compile(".year >").unwrap_err();
//! assert_eq!(err.code(), "invalid_filter");
//! assert_eq!(err.to_string(), r#"syntax error near "" (byte 7)"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

mod compile;
mod dec;
mod error;
mod lanes;
mod lex;
mod num;
mod ops;
mod plan;
mod value;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

pub use error::{
    AttrError, AttrErrorKind, FilterError, FilterErrorKind, INVALID_ATTRIBUTES, INVALID_FILTER,
};
pub use lanes::{Block, Lanes, LANES};
pub use num::str_to_num;
pub use ops::ValueRef;
pub use plan::{eq_keys, in_range, literal_keys, range_value, EqKey, Plan};
pub use value::{Attributes, Value};

use compile::Ins;
use ops::Operand;

/// A compiled filter expression. Compile once per query with
/// [`Filter::compile`], then [`eval`](Filter::eval) per candidate.
#[derive(Clone, Debug)]
pub struct Filter {
    source: String,
    code: Vec<Ins>,
    consts: Vec<Value>,
    fields: Vec<String>,
    max_stack: usize,
    plan: Plan,
    exact: Option<Vec<String>>,
}

/// `&s[range]` without the panic: the ranges this crate cuts are always at
/// ASCII bytes (so at char boundaries), and a `str` slice's panic path
/// formats the text with `char`'s `Debug`, which links a 10 KB Unicode
/// table into every wasm module using the filter (the npm `Index` has a
/// 100 KB budget). Returns `""` for a range that is not on boundaries.
#[inline]
pub(crate) fn sub<I: core::slice::SliceIndex<str, Output = str>>(s: &str, range: I) -> &str {
    s.get(range).unwrap_or("")
}

/// Stack slots kept on the machine stack by [`Filter::eval`]; programs that
/// need more (deeply right-nested ones) use a heap stack.
const INLINE_STACK: usize = 32;

impl Filter {
    /// The longest accepted source, in bytes.
    pub const MAX_LEN: usize = 4096;

    /// The deepest accepted nesting of parentheses, `!` and operators
    /// (a chain of `and`s, or of `or`s, counts as one level).
    pub const MAX_DEPTH: usize = 128;

    /// Compiles an expression. Errors carry the byte position and map to
    /// the `invalid_filter` code.
    pub fn compile(src: &str) -> Result<Filter, FilterError> {
        Filter::compile_with(src, true)
    }

    /// [`compile`](Filter::compile) for callers without attribute indexes,
    /// which only [`eval`](Filter::eval): the same program, the same
    /// errors, but no plan is derived ([`plan`](Filter::plan) is
    /// [`Plan::Any`], [`exact_plan`](Filter::exact_plan) is `None`: both
    /// true, just not useful). The npm package's `Index` uses it so that
    /// the planner's code stays out of its wasm module (100 KB budget).
    pub fn compile_unplanned(src: &str) -> Result<Filter, FilterError> {
        Filter::compile_with(src, false)
    }

    fn compile_with(src: &str, planned: bool) -> Result<Filter, FilterError> {
        if src.len() > Filter::MAX_LEN {
            return Err(FilterError::new(FilterErrorKind::TooLong { len: src.len() }));
        }
        let toks = lex::tokenize(src)?;
        let compiled = compile::parse(src, toks)?;
        let (plan, exact) = if planned {
            let plan = plan::plan_of(&compiled.root, &compiled.fields);
            let exact = plan::exact_of(&compiled.root).map(|e| {
                e.no_arrays.into_iter().map(|f| compiled.fields[f as usize].clone()).collect()
            });
            (plan, exact)
        } else {
            (Plan::Any, None)
        };
        let mut code = Vec::new();
        let mut consts = Vec::new();
        let max_stack = compile::emit(&compiled.root, &mut code, &mut consts);
        Ok(Filter {
            source: src.into(),
            code,
            consts,
            fields: compiled.fields,
            max_stack,
            plan,
            exact,
        })
    }

    /// The source this filter was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The distinct field names the expression reads (without the dot), in
    /// order of first use. An element lacking any of them never matches.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// A superset of the elements this filter accepts, for attribute
    /// indexes (see [`Plan`]).
    pub fn plan(&self) -> Plan {
        self.plan.clone()
    }

    /// Number of instructions of the compiled program (at most one per
    /// token of the source).
    pub fn program_len(&self) -> usize {
        self.code.len()
    }

    /// Whether the element with these attributes passes the filter.
    ///
    /// Never fails and, for programs that need at most 32 stack slots (all
    /// but deeply right-nested ones), never allocates.
    pub fn eval(&self, attrs: &Attributes) -> bool {
        self.eval_with(|i| attrs.get(&self.fields[i]).map(ValueRef::of))
    }

    /// [`eval`](Filter::eval) over attributes kept elsewhere: `get(i)` is
    /// the element's value of field [`fields()`](Filter::fields)`[i]`, or
    /// `None` when it has none. A caller that stores attributes by column
    /// resolves the field names once per query and then reads one column
    /// cell per selector, instead of searching a per-element field list.
    pub fn eval_with<'a>(&'a self, get: impl FnMut(usize) -> Option<ValueRef<'a>>) -> bool {
        // The stack is initialized on every call, so it is sized to the
        // program: a 32-slot stack is 768 bytes to clear, which cost more
        // than evaluating a short filter (`eval/eq` bench: see ARCHITECTURE).
        if self.max_stack <= 4 {
            let mut stack = [Operand::Null; 4];
            self.run(get, &mut stack)
        } else if self.max_stack <= 8 {
            let mut stack = [Operand::Null; 8];
            self.run(get, &mut stack)
        } else if self.max_stack <= INLINE_STACK {
            let mut stack = [Operand::Null; INLINE_STACK];
            self.run(get, &mut stack)
        } else {
            let mut stack = vec![Operand::Null; self.max_stack];
            self.run(get, &mut stack)
        }
    }

    /// [`eval`](Filter::eval) for an element that may have no attributes
    /// at all: Redis never lets such an element pass a filter, not even
    /// `1`, while an element whose attributes are `{}` passes `1`. Shards
    /// call this with `None` for elements without attributes.
    pub fn eval_element(&self, attrs: Option<&Attributes>) -> bool {
        attrs.is_some_and(|a| self.eval(a))
    }

    /// When the [`plan`](Filter::plan) is not just a superset but accepts
    /// *exactly* the elements the filter accepts, the fields that must hold
    /// no array in any element for that to be true (empty: always exact).
    /// `None` when the plan is only a superset.
    ///
    /// A shard whose indexes give the plan's candidates can then skip
    /// evaluating the filter on them (the re-check is most of the cost of a
    /// selective exact scan). Exact are: a comparison of a field with a
    /// number (`<`, `<=`, `>`, `>=`: the sorted index holds each value's
    /// number exactly as the comparison coerces it), equality with a
    /// literal and membership in a literal tuple (the inverted index's keys
    /// are exactly Redis's equality, except that an array equals 0 and
    /// also indexes its members: hence the array condition), `and` of
    /// exact parts, and `or` of exact parts that all read one field (with
    /// several fields a missing one fails the whole expression, which the
    /// plan's union does not model).
    pub fn exact_plan(&self) -> Option<&[String]> {
        self.exact.as_deref()
    }

    fn run<'a>(
        &'a self,
        mut get: impl FnMut(usize) -> Option<ValueRef<'a>>,
        stack: &mut [Operand<'a>],
    ) -> bool {
        let mut sp = 0;
        for ins in &self.code {
            match *ins {
                Ins::Const(i) => {
                    stack[sp] = Operand::of(&self.consts[i as usize]);
                    sp += 1;
                }
                Ins::Field(i) => match get(i as usize) {
                    Some(v) => {
                        stack[sp] = v;
                        sp += 1;
                    }
                    // Redis: a selector that finds nothing fails the whole
                    // expression, whatever the operators around it.
                    None => return false,
                },
                Ins::Not => {
                    stack[sp - 1] = Operand::Num(ops::not(stack[sp - 1]));
                }
                Ins::Bin(op) => {
                    let b = stack[sp - 1];
                    let a = stack[sp - 2];
                    sp -= 1;
                    stack[sp - 1] = Operand::Num(ops::apply(op, a, b));
                }
            }
        }
        sp == 1 && stack[0].to_bool()
    }
}

/// Compiles `data` split at its first NUL byte into a filter (before) and
/// attribute JSON (after), evaluates, and checks that the plan is a superset
/// of the result. For fuzzers: must never panic on any input.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let (src, json) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let Ok(src) = core::str::from_utf8(src) else { return };
    let Ok(filter) = Filter::compile(src) else { return };
    let attrs = Attributes::parse(json).unwrap_or_default();
    let passes = filter.eval(&attrs);
    if passes {
        assert!(filter.plan().accepts(&attrs), "plan must accept what the filter accepts");
    }
    if let Some(no_arrays) = filter.exact_plan() {
        if !no_arrays.iter().any(|f| matches!(attrs.get(f), Some(Value::Array(_)))) {
            assert_eq!(
                filter.plan().accepts(&attrs),
                passes,
                "an exact plan accepts what the filter does"
            );
        }
    }
}
