//! What attribute indexes can do for a filter: [`Plan`], [`EqKey`],
//! [`eq_keys`] and [`range_value`].
//!
//! See [`Plan`] for the contract and the table of coercions.

use alloc::string::String;
use alloc::vec::Vec;

use crate::compile::Node;
use crate::num::str_to_num;
use crate::ops::BinOp;
use crate::value::{Attributes, Value};

/// A key of the inverted (equality) index. Build numbers with
/// [`EqKey::num`] so that `-0.0` and `0.0` share a key and NaN has none.
///
/// Numbers and the numeric values of strings are kept apart (`Num` and
/// `StrNum`) because `==` between two strings compares bytes, never
/// numbers: a string literal must find the numbers equal to its `strtod`
/// value, but not every other string with that value (every non-numeric
/// string is 0, so mixing them would send `.cat == "c7"` to a scan of all
/// strings).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EqKey {
    /// The value `null`.
    Null,
    /// A number (or an array, which is 0 as an operand), as the bits of an
    /// `f64` (never NaN, never `-0.0`).
    Num(u64),
    /// The `strtod` value of a string attribute, as bits like `Num`.
    StrNum(u64),
    /// A string, byte for byte.
    Str(String),
}

/// The bits of a number key: `None` for NaN, `-0.0` normalized to `0.0`.
fn num_bits(n: f64) -> Option<u64> {
    if n.is_nan() {
        None
    } else if n == 0.0 {
        Some(0)
    } else {
        Some(n.to_bits())
    }
}

impl EqKey {
    /// The key of a number: `None` for NaN (equal to nothing), `-0.0`
    /// normalized to `0.0`.
    pub fn num(n: f64) -> Option<EqKey> {
        num_bits(n).map(EqKey::Num)
    }

    /// The number of a `Num` or `StrNum` key.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            EqKey::Num(b) | EqKey::StrNum(b) => Some(f64::from_bits(*b)),
            _ => None,
        }
    }
}

fn push_unique(out: &mut Vec<EqKey>, k: EqKey) {
    if !out.contains(&k) {
        out.push(k);
    }
}

/// Index keys of one scalar attribute value (or an array item).
fn value_keys(v: &Value, out: &mut Vec<EqKey>) {
    match v {
        Value::Null => push_unique(out, EqKey::Null),
        Value::Num(n) => {
            if let Some(b) = num_bits(*n) {
                push_unique(out, EqKey::Num(b));
            }
        }
        Value::Str(s) => {
            push_unique(out, EqKey::Str(s.clone()));
            if let Some(b) = num_bits(str_to_num(s)) {
                push_unique(out, EqKey::StrNum(b));
            }
        }
        // A nested array: as an operand it is the number 0.
        Value::Array(_) => push_unique(out, EqKey::Num(0)),
    }
}

/// The keys under which an attribute value goes into an inverted index:
/// whenever Redis semantics make `value == literal` or `literal in value`
/// true, the result contains one of [`literal_keys`]`(literal)`. Distinct,
/// in no particular order.
pub fn eq_keys(v: &Value) -> Vec<EqKey> {
    let mut out = Vec::new();
    match v {
        Value::Array(items) => {
            // `array == 0` holds (a tuple is 0 as a number) ...
            out.push(EqKey::Num(0));
            // ... and `x in array` means x equals an element.
            for it in items {
                value_keys(it, &mut out);
            }
        }
        other => value_keys(other, &mut out),
    }
    out
}

/// The keys to look up for `field == literal` (or `field in [literal]`, or
/// `literal in field`): an element can only match if one of its
/// [`eq_keys`] is among these. Empty when nothing can be equal (NaN).
///
/// - a number `n` equals numbers and arrays with value `n` (`Num`) and
///   strings whose `strtod` is `n` (`StrNum`);
/// - a string `s` equals the same string (`Str`) and numbers and arrays
///   with value `strtod(s)` (`Num`), never another string;
/// - a tuple is the number 0;
/// - `null` equals only `null`.
pub fn literal_keys(v: &Value) -> Vec<EqKey> {
    let mut out = Vec::new();
    let number = |n: f64, out: &mut Vec<EqKey>| {
        if let Some(b) = num_bits(n) {
            push_unique(out, EqKey::Num(b));
            push_unique(out, EqKey::StrNum(b));
        }
    };
    match v {
        Value::Null => push_unique(&mut out, EqKey::Null),
        Value::Num(n) => number(*n, &mut out),
        Value::Array(_) => number(0.0, &mut out),
        Value::Str(s) => {
            push_unique(&mut out, EqKey::Str(s.clone()));
            if let Some(b) = num_bits(str_to_num(s)) {
                push_unique(&mut out, EqKey::Num(b));
            }
        }
    }
    out
}

/// The number under which an attribute value goes into a sorted index:
/// whenever `value < n` (or `>`, `<=`, `>=`) is true in Redis semantics,
/// this is `Some(x)` with `x < n` (and so on). `None` only for NaN, which
/// no comparison accepts. Strings use `strtod` (non-numeric strings are 0);
/// `null` and arrays are 0, as Redis compares them.
pub fn range_value(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Num(n) => *n,
        Value::Str(s) => str_to_num(s),
        Value::Null | Value::Array(_) => 0.0,
    };
    if n.is_nan() {
        None
    } else {
        Some(n)
    }
}

/// How attribute indexes can narrow a filter: a superset description of
/// the elements it accepts. `Or(vec![])` accepts nothing; `Any` accepts
/// everything.
///
/// A plan is a **superset** of the filter: every element the filter accepts
/// is accepted by the plan, so a shard can fetch candidates from its indexes
/// and then re-check each with [`Filter::eval`](crate::Filter::eval). The
/// subtle part is Redis's coercions: `"10" == 10` is true, every
/// non-numeric string equals 0, every array equals 0 and `null < 1` holds.
/// They are dealt with once, here, by giving an indexed value *all* the keys
/// under which an equality can find it:
///
/// | attribute value | [`eq_keys`]                                     | [`range_value`] |
/// |-----------------|-------------------------------------------------|-----------------|
/// | `null`          | `Null`                                          | 0               |
/// | number `n`      | `Num(n)` (none if NaN)                          | `n` (none if NaN) |
/// | string `s`      | `Str(s)`, `StrNum(strtod(s))` (0 if not numeric) | `strtod(s)`    |
/// | array           | `Num(0)`, and the keys of every element         | 0               |
///
/// and a literal looks up ([`literal_keys`]) `Num(n)` and `StrNum(n)` for a
/// number, `Str(s)` and `Num(strtod(s))` for a string (two strings compare
/// as bytes, so not `StrNum`), `Null` for `null`, `Num(0)` and `StrNum(0)`
/// for a tuple.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// No index can help: every element is a candidate.
    Any,
    /// The field's value has one of these keys (see [`eq_keys`]); an empty
    /// list accepts nothing.
    Eq {
        /// The field name (without the leading dot).
        field: String,
        /// Keys to look up in the inverted index; distinct.
        keys: Vec<EqKey>,
    },
    /// The field's [`range_value`] is within the bounds (`true` = inclusive).
    Range {
        /// The field name (without the leading dot).
        field: String,
        /// Lower bound, if any.
        lo: Option<(f64, bool)>,
        /// Upper bound, if any.
        hi: Option<(f64, bool)>,
    },
    /// Every sub-plan accepts (never empty).
    And(Vec<Plan>),
    /// Some sub-plan accepts; `Or(vec![])` accepts nothing.
    Or(Vec<Plan>),
}

impl Plan {
    /// The plan that accepts nothing: `Or(vec![])`.
    pub fn nothing() -> Plan {
        Plan::Or(Vec::new())
    }

    /// True for the plan that accepts nothing.
    pub fn is_nothing(&self) -> bool {
        matches!(self, Plan::Or(v) if v.is_empty())
    }

    /// Whether the plan accepts an element with these attributes (the
    /// reference the shard's indexes must agree with; also handy as a
    /// pre-check).
    pub fn accepts(&self, attrs: &Attributes) -> bool {
        match self {
            Plan::Any => true,
            Plan::Eq { field, keys } => {
                attrs.get(field).is_some_and(|v| eq_keys(v).iter().any(|k| keys.contains(k)))
            }
            Plan::Range { field, lo, hi } => {
                attrs.get(field).and_then(range_value).is_some_and(|x| in_range(x, *lo, *hi))
            }
            Plan::And(ps) => ps.iter().all(|p| p.accepts(attrs)),
            Plan::Or(ps) => ps.iter().any(|p| p.accepts(attrs)),
        }
    }
}

/// Whether `x` is within the bounds.
pub fn in_range(x: f64, lo: Option<(f64, bool)>, hi: Option<(f64, bool)>) -> bool {
    let lo_ok = match lo {
        None => true,
        Some((b, true)) => x >= b,
        Some((b, false)) => x > b,
    };
    let hi_ok = match hi {
        None => true,
        Some((b, true)) => x <= b,
        Some((b, false)) => x < b,
    };
    lo_ok && hi_ok
}

fn truthy(v: &Value) -> bool {
    crate::ops::Operand::of(v).to_bool()
}

/// Derives the plan of a compiled tree. `fields` names the field indexes.
pub(crate) fn plan_of(node: &Node, fields: &[String]) -> Plan {
    match node {
        Node::Const(v) => {
            if truthy(v) {
                Plan::Any
            } else {
                Plan::nothing()
            }
        }
        Node::And(items) => and(items.iter().map(|n| plan_of(n, fields)).collect()),
        Node::Or(items) => or(items.iter().map(|n| plan_of(n, fields)).collect()),
        Node::Bin(op, a, b) => match (&**a, &**b) {
            (Node::Field(f), Node::Const(c)) => field_const(*op, &fields[*f as usize], c, false),
            (Node::Const(c), Node::Field(f)) => field_const(*op, &fields[*f as usize], c, true),
            _ => Plan::Any,
        },
        Node::Field(_) | Node::Not(_) => Plan::Any,
    }
}

/// Why a plan is exact (see [`Filter::exact_plan`](crate::Filter::exact_plan)):
/// the fields it reads, and those that must hold no arrays.
#[derive(Default)]
pub(crate) struct Exact {
    pub fields: Vec<u32>,
    pub no_arrays: Vec<u32>,
}

fn union(into: &mut Vec<u32>, from: &[u32]) {
    for f in from {
        if !into.contains(f) {
            into.push(*f);
        }
    }
}

/// Whether [`plan_of`]`(node)` accepts exactly what `node` accepts; mirrors
/// `plan_of` and `field_const` case by case.
pub(crate) fn exact_of(node: &Node) -> Option<Exact> {
    match node {
        // A constant is all or nothing, and so is its plan.
        Node::Const(_) => Some(Exact::default()),
        Node::Bin(op, a, b) => {
            let (f, c, flipped) = match (&**a, &**b) {
                (Node::Field(f), Node::Const(c)) => (*f, c, false),
                (Node::Const(c), Node::Field(f)) => (*f, c, true),
                _ => return None,
            };
            let only = |no_arrays: bool| {
                Some(Exact {
                    fields: alloc::vec![f],
                    no_arrays: if no_arrays { alloc::vec![f] } else { Vec::new() },
                })
            };
            match op {
                // `range_value` is the operand's number, exactly.
                BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le => only(false),
                // Equality keys are exact but for arrays (an array is 0 as
                // an operand, yet also indexed under its members).
                BinOp::Eq => only(true),
                BinOp::In if !flipped => match c {
                    Value::Array(_) => only(true),
                    // Substring: no index.
                    Value::Str(_) => None,
                    // `field in 5` is never true, nor is its plan.
                    _ => only(false),
                },
                // `c in field` is indexed by the field's members, which a
                // scalar field also has (`5 in 5` is false).
                _ => None,
            }
        }
        Node::And(items) => {
            let mut out = Exact::default();
            for it in items {
                let e = exact_of(it)?;
                union(&mut out.fields, &e.fields);
                union(&mut out.no_arrays, &e.no_arrays);
            }
            Some(out)
        }
        // A union is exact only when every part reads the same one field:
        // with two fields, an element missing one fails the whole
        // expression (a missing selector does) while the union accepts it
        // through the other part. A constant part would make the plan
        // `Any`, which accepts elements without the field.
        Node::Or(items) => {
            let mut out = Exact::default();
            for it in items {
                if matches!(it, Node::Const(_)) {
                    return None;
                }
                let e = exact_of(it)?;
                union(&mut out.fields, &e.fields);
                union(&mut out.no_arrays, &e.no_arrays);
            }
            (out.fields.len() <= 1).then_some(out)
        }
        Node::Field(_) | Node::Not(_) => None,
    }
}

/// `field op c` (or `c op field` when `flipped`).
fn field_const(op: BinOp, field: &str, c: &Value, flipped: bool) -> Plan {
    let eq = |keys: Vec<EqKey>| {
        if keys.is_empty() {
            Plan::nothing()
        } else {
            Plan::Eq { field: field.into(), keys }
        }
    };
    let range = |lo: Option<(f64, bool)>, hi: Option<(f64, bool)>| {
        let n = c_num(c);
        if n.is_nan() {
            return Plan::nothing();
        }
        Plan::Range { field: field.into(), lo, hi }
    };
    let n = c_num(c);
    // Normalize to `field OP n`.
    let op = if flipped {
        match op {
            BinOp::Gt => BinOp::Lt,
            BinOp::Ge => BinOp::Le,
            BinOp::Lt => BinOp::Gt,
            BinOp::Le => BinOp::Ge,
            other => other,
        }
    } else {
        op
    };
    match op {
        BinOp::Eq => eq(literal_keys(c)),
        BinOp::Gt => range(Some((n, false)), None),
        BinOp::Ge => range(Some((n, true)), None),
        BinOp::Lt => range(None, Some((n, false))),
        BinOp::Le => range(None, Some((n, true))),
        BinOp::In if !flipped => match c {
            // field in [a, b]: the field equals one of them.
            Value::Array(items) => {
                let mut keys = Vec::new();
                for it in items {
                    for k in literal_keys(it) {
                        push_unique(&mut keys, k);
                    }
                }
                eq(keys)
            }
            // field in "text": substring of a literal, no index for that.
            Value::Str(_) => Plan::Any,
            // field in 5 / field in null: never true.
            _ => Plan::nothing(),
        },
        BinOp::In => match c {
            // "text" in field: also a substring test when the field is a
            // string; no index for that.
            Value::Str(_) => Plan::Any,
            // 5 in field: true only when the field is an array holding an
            // element equal to 5.
            other => eq(literal_keys(other)),
        },
        _ => Plan::Any,
    }
}

fn c_num(c: &Value) -> f64 {
    crate::ops::Operand::of(c).to_num()
}

/// Conjunction, simplified: `Any` parts dropped, nested `And`s flattened,
/// ranges on one field intersected; `nothing` wins.
fn and(parts: Vec<Plan>) -> Plan {
    let mut out: Vec<Plan> = Vec::new();
    for p in parts {
        match p {
            Plan::Any => {}
            p if p.is_nothing() => return Plan::nothing(),
            Plan::And(inner) => out.extend(inner),
            p => out.push(p),
        }
    }
    // Intersect ranges on the same field.
    let mut merged: Vec<Plan> = Vec::new();
    for p in out {
        if let Plan::Range { field, lo, hi } = &p {
            if let Some(Plan::Range { lo: l2, hi: h2, .. }) =
                merged.iter_mut().find(|q| matches!(q, Plan::Range { field: f, .. } if f == field))
            {
                *l2 = tighter_lo(*l2, *lo);
                *h2 = tighter_hi(*h2, *hi);
                continue;
            }
        }
        merged.push(p);
    }
    match merged.len() {
        0 => Plan::Any,
        1 => merged.pop().unwrap_or(Plan::Any),
        _ => Plan::And(merged),
    }
}

fn tighter_lo(a: Option<(f64, bool)>, b: Option<(f64, bool)>) -> Option<(f64, bool)> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some((x, xi)), Some((y, yi))) => {
            if x > y {
                Some((x, xi))
            } else if y > x {
                Some((y, yi))
            } else {
                Some((x, xi && yi))
            }
        }
    }
}

fn tighter_hi(a: Option<(f64, bool)>, b: Option<(f64, bool)>) -> Option<(f64, bool)> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some((x, xi)), Some((y, yi))) => {
            if x < y {
                Some((x, xi))
            } else if y < x {
                Some((y, yi))
            } else {
                Some((x, xi && yi))
            }
        }
    }
}

/// Disjunction, simplified: `Any` wins, `nothing` parts dropped, nested
/// `Or`s flattened.
fn or(parts: Vec<Plan>) -> Plan {
    let mut out: Vec<Plan> = Vec::new();
    for p in parts {
        match p {
            Plan::Any => return Plan::Any,
            Plan::Or(inner) => out.extend(inner),
            p => out.push(p),
        }
    }
    if out.len() == 1 {
        out.pop().unwrap_or(Plan::Any)
    } else {
        Plan::Or(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn keys() {
        assert_eq!(eq_keys(&Value::Num(-0.0)), vec![EqKey::Num(0)]);
        assert_eq!(eq_keys(&Value::Num(f64::NAN)), vec![]);
        assert_eq!(
            eq_keys(&Value::Str("10".into())),
            vec![EqKey::Str("10".into()), EqKey::StrNum(10f64.to_bits())]
        );
        assert_eq!(
            eq_keys(&Value::Array(vec![Value::Num(0.0), Value::Str("a".into())])),
            vec![EqKey::Num(0), EqKey::Str("a".into()), EqKey::StrNum(0)]
        );
        // A string literal finds the same string and the numbers equal to
        // its value, not the other strings with that value (fbench: every
        // non-numeric string is 0, so `.cat == "c7"` scanned all strings).
        assert_eq!(
            literal_keys(&Value::Str("c7".into())),
            vec![EqKey::Str("c7".into()), EqKey::Num(0)]
        );
        assert_eq!(
            literal_keys(&Value::Num(10.0)),
            vec![EqKey::Num(10f64.to_bits()), EqKey::StrNum(10f64.to_bits())]
        );
        let f = crate::Filter::compile(r#".cat == "c7""#).unwrap();
        assert_eq!(
            f.plan(),
            Plan::Eq { field: "cat".into(), keys: vec![EqKey::Str("c7".into()), EqKey::Num(0)] }
        );
        assert_eq!(range_value(&Value::Null), Some(0.0));
    }

    #[test]
    fn which_plans_are_exact() {
        let exact =
            |src: &str| crate::Filter::compile(src).unwrap().exact_plan().map(|f| f.to_vec());
        let none: Option<Vec<String>> = None;
        assert_eq!(exact(".u < 1000"), Some(vec![]));
        assert_eq!(exact("1000 > .u"), Some(vec![]));
        assert_eq!(exact(".u >= 50000 and .u < 60000"), Some(vec![]));
        assert_eq!(exact(".u < 10 or .u > 90"), Some(vec![]));
        assert_eq!(exact(r#".cat == "c7""#), Some(vec!["cat".into()]));
        assert_eq!(exact(r#".cat in ["a", "b"] and .u < 3"#), Some(vec!["cat".into()]));
        assert_eq!(exact(".u in 5"), Some(vec![]));
        assert_eq!(exact(".a < 1 or .b < 2"), none);
        assert_eq!(exact(".u % 2 == 0"), none);
        assert_eq!(exact(".flag"), none);
        assert_eq!(exact("!(.u < 3)"), none);
        assert_eq!(exact("1 in .tags"), none);
        assert_eq!(exact(r#""x" in .s"#), none);
        assert_eq!(exact(".u != 3"), none);
        assert_eq!(range_value(&Value::Str("x".into())), Some(0.0));
        assert_eq!(range_value(&Value::Str("nan".into())), None);
    }
}
