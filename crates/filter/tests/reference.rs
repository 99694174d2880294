//! Random expressions over random attributes, against a reference.
//!
//! The generator builds an expression *tree*, prints it with as few
//! parentheses as precedence allows (plus some redundant ones), and a
//! tree-walking interpreter written here from the rules of
//! `docs/filters.md` evaluates the tree. The compiled program must agree
//! with it on every input, which checks the tokenizer, the precedences and
//! associativity, constant folding, the postfix program and the missing-field
//! rule at once. The plan must accept everything the filter accepts.

use proptest::prelude::*;
use vecshard_filter::{str_to_num, Attributes, Filter, Value};

#[derive(Clone, Debug)]
enum E {
    Num(f64),
    Str(String),
    Null,
    Tuple(Vec<Value>),
    Sel(&'static str),
    Not(Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
    Paren(Box<E>),
}

const FIELDS: &[&str] = &["a", "b", "c", "d-e", "n9"];
const NUMS: &[f64] = &[0.0, 1.0, -1.0, 2.0, 2.5, 10.0, -3.0, 0.5, 100.0];
const STRS: &[&str] = &["", "a", "ab", "10", " 12", "abc", "0x10", "nan", "2", "q\"uo'te\\"];

/// Binary operators with their precedence; `**` is right associative.
const OPS: &[(&str, u8)] = &[
    ("**", 5),
    ("*", 4),
    ("/", 4),
    ("%", 4),
    ("+", 3),
    ("-", 3),
    (">", 2),
    (">=", 2),
    ("<", 2),
    ("<=", 2),
    ("==", 2),
    ("!=", 2),
    ("in", 2),
    ("and", 1),
    ("&&", 1),
    ("or", 0),
    ("||", 0),
];

fn prec(op: &str) -> u8 {
    OPS.iter().find(|(o, _)| *o == op).map(|(_, p)| *p).unwrap()
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::sample::select(NUMS).prop_map(Value::Num),
        proptest::sample::select(STRS).prop_map(|s| Value::Str(s.into())),
    ]
}

fn leaf() -> impl Strategy<Value = E> {
    prop_oneof![
        3 => proptest::sample::select(FIELDS).prop_map(E::Sel),
        2 => proptest::sample::select(NUMS).prop_map(E::Num),
        2 => proptest::sample::select(STRS).prop_map(|s| E::Str(s.into())),
        1 => Just(E::Null),
        1 => proptest::collection::vec(scalar(), 0..4).prop_map(E::Tuple),
    ]
}

fn expr() -> impl Strategy<Value = E> {
    leaf().prop_recursive(6, 40, 2, |inner| {
        prop_oneof![
            1 => inner.clone().prop_map(|e| E::Not(Box::new(e))),
            1 => inner.clone().prop_map(|e| E::Paren(Box::new(e))),
            6 => (proptest::sample::select(OPS), inner.clone(), inner)
                .prop_map(|((op, _), a, b)| E::Bin(op, Box::new(a), Box::new(b))),
        ]
    })
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn num(n: f64) -> String {
    format!("{n}")
}

/// Prints `e` as source. `Paren` is printed as explicit parentheses; other
/// parentheses are added only where precedence requires them.
fn print(e: &E) -> String {
    match e {
        E::Num(n) => num(*n),
        E::Str(s) => quote(s),
        E::Null => "null".into(),
        E::Tuple(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|v| match v {
                    Value::Num(n) => num(*n),
                    Value::Str(s) => quote(s),
                    _ => unreachable!(),
                })
                .collect();
            format!("[{}]", parts.join(", "))
        }
        E::Sel(f) => format!(".{f}"),
        E::Paren(a) => format!("({})", print(a)),
        E::Not(a) => {
            let inner = print(a);
            if matches!(**a, E::Bin(..)) {
                format!("!({inner})")
            } else {
                // `not` needs a blank before a word-like operand.
                format!("not {inner}")
            }
        }
        E::Bin(op, a, b) => {
            let p = prec(op);
            let right_assoc = *op == "**";
            let wrap = |x: &E, left: bool| {
                let s = print(x);
                match x {
                    E::Bin(o2, ..) => {
                        let p2 = prec(o2);
                        let need = p2 < p
                            || (p2 == p && !left && !right_assoc)
                            || (p2 == p && left && right_assoc);
                        if need {
                            format!("({s})")
                        } else {
                            s
                        }
                    }
                    // `!` binds tighter than `**`: `!a ** b` is `(!a) ** b`,
                    // which is what the tree means on the left; on the
                    // right of `**` it needs no parentheses either.
                    _ => s,
                }
            };
            format!("{} {op} {}", wrap(a, true), wrap(b, false))
        }
    }
}

// ------------------------------ reference ------------------------------

#[derive(Clone, Debug)]
enum R {
    Null,
    Num(f64),
    Str(String),
    Tuple(Vec<Value>),
}

fn r_of(v: &Value) -> R {
    match v {
        Value::Null => R::Null,
        Value::Num(n) => R::Num(*n),
        Value::Str(s) => R::Str(s.clone()),
        Value::Array(a) => R::Tuple(a.clone()),
    }
}

fn r_num(v: &R) -> f64 {
    match v {
        R::Num(n) => *n,
        R::Str(s) => str_to_num(s),
        _ => 0.0,
    }
}

fn r_bool(v: &R) -> bool {
    match v {
        R::Num(n) => *n != 0.0,
        R::Str(s) => !s.is_empty(),
        R::Null => false,
        R::Tuple(_) => true,
    }
}

fn r_eq(a: &R, b: &R) -> bool {
    match (a, b) {
        (R::Str(x), R::Str(y)) => x == y,
        (R::Num(x), R::Num(y)) => x == y,
        (R::Null, R::Null) => true,
        (R::Null, _) | (_, R::Null) => false,
        _ => r_num(a) == r_num(b),
    }
}

fn b(x: bool) -> R {
    R::Num(if x { 1.0 } else { 0.0 })
}

struct Missing;

fn reval(e: &E, attrs: &Attributes) -> Result<R, Missing> {
    Ok(match e {
        E::Num(n) => R::Num(*n),
        E::Str(s) => R::Str(s.clone()),
        E::Null => R::Null,
        E::Tuple(t) => R::Tuple(t.clone()),
        E::Sel(f) => r_of(attrs.get(f).ok_or(Missing)?),
        E::Paren(a) => reval(a, attrs)?,
        E::Not(a) => b(!r_bool(&reval(a, attrs)?)),
        E::Bin(op, x, y) => {
            // Both sides are always evaluated: a missing field anywhere wins.
            let x = reval(x, attrs)?;
            let y = reval(y, attrs)?;
            let (p, q) = (r_num(&x), r_num(&y));
            match *op {
                "**" => R::Num(libm::pow(p, q)),
                "*" => R::Num(p * q),
                "/" => R::Num(p / q),
                "%" => R::Num(libm::fmod(p, q)),
                "+" => R::Num(p + q),
                "-" => R::Num(p - q),
                ">" => b(p > q),
                ">=" => b(p >= q),
                "<" => b(p < q),
                "<=" => b(p <= q),
                "==" => b(r_eq(&x, &y)),
                "!=" => b(!r_eq(&x, &y)),
                "in" => b(match (&x, &y) {
                    (_, R::Tuple(items)) => items.iter().any(|it| r_eq(&x, &r_of(it))),
                    (R::Str(s), R::Str(t)) => t.contains(s.as_str()),
                    _ => false,
                }),
                "and" | "&&" => b(r_bool(&x) && r_bool(&y)),
                "or" | "||" => b(r_bool(&x) || r_bool(&y)),
                _ => unreachable!(),
            }
        }
    })
}

fn reference(e: &E, attrs: &Attributes) -> bool {
    reval(e, attrs).map(|v| r_bool(&v)).unwrap_or(false)
}

/// `field op literal` (either side), the shapes plans are made of.
fn plan_leaf() -> impl Strategy<Value = E> {
    let lit = prop_oneof![
        3 => prop::sample::select(NUMS).prop_map(E::Num),
        2 => prop::sample::select(STRS).prop_map(|s| E::Str(s.into())),
        1 => Just(E::Null),
        1 => proptest::collection::vec(scalar(), 0..3).prop_map(E::Tuple),
    ];
    let op = prop::sample::select(&["<", "<=", ">", ">=", "==", "!=", "in", "%"][..]);
    (prop::sample::select(FIELDS), op, lit, any::<bool>()).prop_map(|(f, op, lit, flip)| {
        if flip {
            E::Bin(op, Box::new(lit), Box::new(E::Sel(f)))
        } else {
            E::Bin(op, Box::new(E::Sel(f)), Box::new(lit))
        }
    })
}

fn plan_expr() -> impl Strategy<Value = E> {
    plan_leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Bin(
                "and",
                Box::new(a),
                Box::new(b)
            )),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Bin(
                "or",
                Box::new(a),
                Box::new(b)
            )),
            inner.clone().prop_map(|a| E::Paren(Box::new(a))),
            (inner, prop::sample::select(NUMS)).prop_map(|(a, n)| E::Bin(
                "and",
                Box::new(a),
                Box::new(E::Num(n))
            )),
        ]
    })
}

// ------------------------------ attributes ------------------------------

fn attr_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => scalar(),
        1 => Just(Value::Null),
        1 => proptest::collection::vec(
            prop_oneof![4 => scalar(), 1 => Just(Value::Null)], 0..4
        ).prop_map(Value::Array),
    ]
}

/// Each field is present with probability 0.85, so that the missing-field
/// rule decides some cases but not most.
fn attrs() -> impl Strategy<Value = Attributes> {
    proptest::collection::vec(proptest::option::weighted(0.85, attr_value()), FIELDS.len())
        .prop_map(|vals| {
            Attributes::from_fields(FIELDS.iter().zip(vals).filter_map(|(k, v)| v.map(|v| (*k, v))))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_program_agrees_with_the_reference(e in expr(), sets in proptest::collection::vec(attrs(), 8)) {
        let src = print(&e);
        let f = match Filter::compile(&src) {
            Ok(f) => f,
            Err(err) => {
                // Only the nesting bound may reject a generated expression.
                prop_assert!(src.len() > 4096 || matches!(err.kind(), vecshard_filter::FilterErrorKind::TooDeep { .. }),
                    "{src:?} does not compile: {err}");
                return Ok(());
            }
        };
        prop_assert!(f.program_len() <= src.len());
        let plan = f.plan();
        for a in &sets {
            let want = reference(&e, a);
            let got = f.eval(a);
            prop_assert_eq!(got, want, "filter {:?} over {:?}", src, a);
            if got {
                prop_assert!(plan.accepts(a), "plan {:?} rejects a match: {:?} over {:?}", plan, src, a);
            }
        }
    }

    /// Where the filter says its plan is exact, the plan accepts exactly
    /// what the reference accepts (on elements without arrays in the named
    /// fields). The expressions are the shapes a plan can be exact for:
    /// comparisons, equalities and tuple memberships of one field with a
    /// literal, combined by `and` and `or`, mixed with a few shapes that
    /// are not exact, so that both answers of `exact_plan` occur.
    #[test]
    fn an_exact_plan_accepts_exactly_the_matches(e in plan_expr(), sets in proptest::collection::vec(attrs(), 8)) {
        let src = print(&e);
        let Ok(f) = Filter::compile(&src) else { return Ok(()) };
        let Some(no_arrays) = f.exact_plan() else { return Ok(()) };
        let plan = f.plan();
        for a in &sets {
            if no_arrays.iter().any(|n| matches!(a.get(n), Some(Value::Array(_)))) {
                continue;
            }
            prop_assert_eq!(plan.accepts(a), reference(&e, a), "exact plan {:?} of {:?} over {:?}", plan, src, a);
        }
    }

    /// The block evaluator agrees with the interpreter on every element
    /// whose fields are all numbers, for every expression it accepts.
    #[test]
    fn lanes_agree_with_the_interpreter(
        e in expr(),
        rows in proptest::collection::vec(proptest::collection::vec(
            prop_oneof![4 => prop::sample::select(NUMS), 1 => any::<f64>(), 1 => Just(f64::NAN)],
            FIELDS.len()), 1..=64),
    ) {
        let src = print(&e);
        let Ok(f) = Filter::compile(&src) else { return Ok(()) };
        let Some(lanes) = f.lanes() else { return Ok(()) };
        let mut blocks = vec![[0.0f64; vecshard_filter::LANES]; f.fields().len()];
        let mut want = 0u64;
        for (l, row) in rows.iter().enumerate() {
            let attrs = Attributes::from_fields(FIELDS.iter().zip(row).map(|(k, v)| (*k, Value::Num(*v))));
            for (i, name) in f.fields().iter().enumerate() {
                let at = FIELDS.iter().position(|k| k == name).unwrap();
                blocks[i][l] = row[at];
            }
            want |= (f.eval(&attrs) as u64) << l;
        }
        let used = if rows.len() == 64 { u64::MAX } else { (1u64 << rows.len()) - 1 };
        let got = lanes.eval(&blocks, &mut Vec::new()) & used;
        prop_assert_eq!(got, want, "filter {:?}", src);
    }

    /// Arbitrary text made of the language's characters never panics, and
    /// whatever compiles keeps its plan a superset.
    #[test]
    fn arbitrary_sources_never_panic(src in "[ .a-e0-9()\\[\\]\"',!=<>*/%+&|-]{0,40}|(not|and|or|in|null|[.a-c]|[0-9]|[-+*/%<>=!()]| ){0,30}",
                                     sets in proptest::collection::vec(attrs(), 4)) {
        if let Ok(f) = Filter::compile(&src) {
            for a in &sets {
                if f.eval(a) {
                    prop_assert!(f.plan().accepts(a), "{:?} over {:?}", src, a);
                }
            }
        }
    }

    /// Arbitrary bytes through the fuzz entry point.
    #[test]
    fn fuzz_entry_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        vecshard_filter::fuzz_one(&data);
    }

    /// The JSON parser never panics, and whatever it accepts it accepts
    /// again after our own re-encoding.
    #[test]
    fn attribute_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100),
                                     text in "[{}\\[\\]\":, a-c0-9.eE+\\-tfnrul\\\\]{0,60}") {
        let _ = Attributes::parse(&data);
        let _ = Attributes::parse(text.as_bytes());
    }
}

#[test]
fn printer_round_trips_precedence() {
    // Sanity checks of the generator itself.
    let e = E::Bin(
        "-",
        Box::new(E::Sel("a")),
        Box::new(E::Bin("-", Box::new(E::Num(1.0)), Box::new(E::Num(2.0)))),
    );
    assert_eq!(print(&e), ".a - (1 - 2)");
    let e = E::Bin(
        "**",
        Box::new(E::Bin("**", Box::new(E::Num(2.0)), Box::new(E::Num(3.0)))),
        Box::new(E::Num(2.0)),
    );
    assert_eq!(print(&e), "(2 ** 3) ** 2");
    let a = Attributes::from_fields([("a", Value::Num(5.0))]);
    assert!(reference(&e, &a));
    assert!(Filter::compile(&print(&e)).unwrap().eval(&a));
}

/// The random cases above must not be vacuous (e.g. all false because a
/// field is missing): count outcomes over a fixed sample.
#[test]
fn random_cases_are_not_vacuous() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut t, mut f, mut missing) = (0, 0, 0);
    for _ in 0..3000 {
        let e = expr().new_tree(&mut runner).unwrap().current();
        let a = attrs().new_tree(&mut runner).unwrap().current();
        let filter = Filter::compile(&print(&e)).unwrap();
        if filter.eval(&a) {
            t += 1;
        } else {
            f += 1;
        }
        if reval(&e, &a).is_err() {
            missing += 1;
        }
    }
    println!("true {t}, false {f}, missing field {missing}");
    assert!(t > 750 && f > 750 && missing > 300 && missing < 1500, "t {t} f {f} missing {missing}");
}
