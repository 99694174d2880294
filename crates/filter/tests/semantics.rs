//! The semantics table of `docs/filters.md`, row by row.
//!
//! The test reads the markdown itself, so the documentation and the tests
//! cannot drift apart: adding a row adds a test.

use vecshard_filter::{Attributes, Filter};

const DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/filters.md"));

struct Row {
    rule: String,
    filter: String,
    attrs: String,
    result: String,
}

/// Strips one pair of backticks and undoes markdown's `\|` escape.
fn code(cell: &str) -> String {
    let cell = cell.trim();
    let inner = cell
        .strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .unwrap_or_else(|| panic!("cell {cell:?} is not a code span"));
    inner.replace("\\|", "|")
}

/// Splits a table line on `|` that are not escaped as `\|`.
fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('\\');
                cur.push('|');
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn rows() -> Vec<Row> {
    let start = DOC.find("<!-- semantics-table:start -->").expect("start marker");
    let end = DOC.find("<!-- semantics-table:end -->").expect("end marker");
    DOC[start..end]
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| {
            let c = cells(l);
            assert_eq!(c.len(), 4, "row {l:?} must have 4 cells");
            Row {
                rule: c[0].trim().to_string(),
                filter: code(&c[1]),
                attrs: code(&c[2]),
                result: c[3].trim().to_string(),
            }
        })
        .collect()
}

#[test]
fn every_row_of_the_semantics_table_holds() {
    let rows = rows();
    assert!(rows.len() >= 60, "the table has {} rows; did the markers move?", rows.len());
    let mut failures = Vec::new();
    for r in &rows {
        let attrs = Attributes::parse(r.attrs.as_bytes())
            .unwrap_or_else(|e| panic!("row {:?}: attributes {:?}: {e}", r.rule, r.attrs));
        let got = match Filter::compile(&r.filter) {
            Err(e) => {
                assert_eq!(e.code(), "invalid_filter");
                "error".to_string()
            }
            Ok(f) => {
                let v = f.eval(&attrs);
                if v {
                    assert!(f.plan().accepts(&attrs), "row {:?}: plan rejects a match", r.rule);
                }
                v.to_string()
            }
        };
        if got != r.result {
            failures.push(format!(
                "{:?}: `{}` over {} gave {got}, table says {}",
                r.rule, r.filter, r.attrs, r.result
            ));
        }
    }
    assert!(failures.is_empty(), "{} rows disagree:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_doc_examples_hold() {
    let f = Filter::compile(r#"(.year - 2000) ** 2 < 100 and .rating / 2 > 4"#).unwrap();
    assert!(f.eval(&Attributes::parse(br#"{"year": 2005, "rating": 9}"#).unwrap()));
    assert!(!f.eval(&Attributes::parse(br#"{"year": 1985, "rating": 9}"#).unwrap()));
    let g = Filter::compile(r#".year >= 1980 and .genre in ["drama", "noir"] and not .archived"#)
        .unwrap();
    assert!(g.eval(
        &Attributes::parse(br#"{"year": 1990, "genre": "noir", "archived": false}"#).unwrap()
    ));
}
