//! Bad filters: typed errors with positions, bounded work, no panics.

use vecshard_filter::{Attributes, Filter, FilterErrorKind, Value};

fn err(src: &str) -> vecshard_filter::FilterError {
    Filter::compile(src).expect_err(src)
}

#[test]
fn syntax_errors_name_the_place() {
    let cases: &[(&str, usize, &str)] = &[
        (".year >", 7, r#"syntax error near "" (byte 7)"#),
        (".x 1", 3, r#"syntax error near "1" (byte 3)"#),
        ("(.x > 1", 7, r#"syntax error near "" (byte 7)"#),
        (".x > 1)", 6, r#"syntax error near ")" (byte 6)"#),
        (".s == \"abc", 6, r#"syntax error near "\"abc" (byte 6)"#),
        (".x < 1e-5", 5, r#"syntax error near "1e-5" (byte 5)"#),
        (".x in [1 2]", 9, r#"syntax error near "2]" (byte 9)"#),
        (".x in [.y]", 7, r#"syntax error near ".y]" (byte 7)"#),
        ("-.x", 0, r#"syntax error near "-.x" (byte 0)"#),
        (". x", 0, r#"syntax error near ". x" (byte 0)"#),
        (".x == 1 and", 11, r#"syntax error near "" (byte 11)"#),
        (".name == 'a long string that goes on' or", 40, r#"syntax error near "" (byte 40)"#),
        ("(1 +) * 2", 4, r#"syntax error near ") * 2" (byte 4)"#),
        ("é", 0, r#"syntax error near "é" (byte 0)"#),
    ];
    for (src, pos, msg) in cases {
        let e = err(src);
        assert!(matches!(e.kind(), FilterErrorKind::Syntax { .. }), "{src}: {e:?}");
        assert_eq!(e.position(), *pos, "{src}");
        assert_eq!(e.to_string(), *msg, "{src}");
        assert_eq!(e.code(), "invalid_filter");
    }
    // Long tails are cut to 16 characters.
    let e = err(".x == 1 2 3 4 5 6 7 8 9 10 11 12");
    assert_eq!(e.to_string(), r#"syntax error near "2 3 4 5 6 7 8 9 " (byte 8)"#);
}

#[test]
fn unknown_operators() {
    for (src, op, pos) in [
        (".x = 1", "=", 3),
        (".x > 1 xor .y", "xor", 7),
        (".x == true", "true", 6),
        (".a & .b", "&", 3),
        (".a | .b", "|", 3),
        (".a === 1", "=", 5),
        (".x andnot .y", "andnot", 3),
        ("AND", "AND", 0),
    ] {
        let e = err(src);
        assert_eq!(
            e.kind(),
            &FilterErrorKind::UnknownOperator { position: pos, op: op.into() },
            "{src}"
        );
        assert!(e.to_string().starts_with(&format!("unknown operator {op:?} (byte {pos})")));
    }
}

#[test]
fn empty_and_blank() {
    for src in ["", "   ", "\n\t"] {
        assert_eq!(err(src).kind(), &FilterErrorKind::Empty);
    }
}

#[test]
fn too_long() {
    let ok = format!(".x == \"{}\"", "a".repeat(Filter::MAX_LEN - 8));
    assert_eq!(ok.len(), Filter::MAX_LEN);
    assert!(Filter::compile(&ok).is_ok());
    let long = format!(".x == \"{}\"", "a".repeat(Filter::MAX_LEN - 7));
    let e = err(&long);
    assert_eq!(e.kind(), &FilterErrorKind::TooLong { len: Filter::MAX_LEN + 1 });
    assert_eq!(e.to_string(), "filter too long (max 4096 bytes, got 4097)");
    assert_eq!(e.position(), Filter::MAX_LEN);
    // A huge input is rejected before any work is done on it.
    assert!(matches!(err(&"(".repeat(1 << 20)).kind(), FilterErrorKind::TooLong { .. }));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let limit = Filter::MAX_DEPTH;
    for (open, close) in [("(", ")"), ("!", ""), ("not ", ""), ("2 ** ", "")] {
        // Well within the limit: compiles and evaluates.
        let n = limit / 2 - 2;
        let src = format!("{}1{}", open.repeat(n), close.repeat(n));
        assert!(Filter::compile(&src).is_ok(), "{open:?} x {n}");
        // Over the limit, and as deep as 4096 bytes allow: an error.
        for n in [limit + 1, Filter::MAX_LEN / open.len() - 2] {
            let src = format!("{}1{}", open.repeat(n), close.repeat(n));
            let src = &src[..src.len().min(Filter::MAX_LEN)];
            let e = err(src);
            assert!(
                matches!(
                    e.kind(),
                    FilterErrorKind::TooDeep { .. } | FilterErrorKind::Syntax { .. }
                ),
                "{open:?} x {n}: {e:?}"
            );
        }
    }
    // Long flat chains are not nesting: a 400-term `or`.
    let ors: Vec<String> = (0..400).map(|i| format!(".x=={i}")).collect();
    let src = ors.join("||");
    assert!(src.len() <= Filter::MAX_LEN);
    let f = Filter::compile(&src).unwrap();
    assert!(f.eval(&Attributes::from_fields([("x", Value::Num(399.0))])));
    assert!(!f.eval(&Attributes::from_fields([("x", Value::Num(400.0))])));
    // Left-deep arithmetic chains are limited by the depth bound.
    let sum = vec!["1"; 100].join("+");
    assert!(Filter::compile(&format!("{sum} == 100")).is_ok());
    let sum = vec![".x"; 600].join("+");
    assert!(matches!(err(&sum).kind(), FilterErrorKind::TooDeep { .. }));
}

#[test]
fn numbers_never_fail() {
    let a = Attributes::from_fields([
        ("big", Value::Num(1e308)),
        ("zero", Value::Num(0.0)),
        ("nan", Value::Num(f64::NAN)),
        ("inf", Value::Num(f64::INFINITY)),
    ]);
    for (src, want) in [
        (".big * .big > 1e308", true),
        (".big ** 1e308 == .inf", true),
        ("(0 - .big) ** 3 < 0", true),
        (".zero / .zero == .zero / .zero", false),
        (".zero % .zero", true),
        (".nan", true),
        (".nan == .nan", false),
        (".nan != .nan", true),
        (".inf - .inf", true),
        ("-1 ** 0.5", true),
        ("2 ** -1074 > 0", true),
        ("2 ** -1075 > 0", false),
    ] {
        let f = Filter::compile(src).unwrap();
        assert_eq!(f.eval(&a), want, "{src}");
    }
}

#[test]
fn program_is_bounded_by_the_source() {
    for src in [
        ".a == 1",
        "((((.a))))",
        "!!!!.a",
        ".a in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]",
        "1 + 2 * 3 == .x",
    ] {
        let f = Filter::compile(src).unwrap();
        assert!(f.program_len() <= src.len(), "{src}");
    }
    // Constant subexpressions are folded into one literal.
    assert_eq!(Filter::compile("1 + 2 * 3 == .x").unwrap().program_len(), 3);
    assert_eq!(Filter::compile("(1 + 2) ** 3 + .x * 0").unwrap().program_len(), 5);
}
