//! Compile and eval costs (`cargo bench -p vecshard-filter`).
//!
//! `eval` runs once per candidate inside a shard's filtered walk, so its
//! cost per call is what matters; `compile` runs once per query.

use std::time::Duration;

use criterion::{black_box, Criterion};
use vecshard_filter::{Attributes, Filter};

const FILTERS: &[(&str, &str)] = &[
    ("eq", ".genre == \"drama\""),
    ("range_and", ".year >= 1980 and .year < 1990 and .rating > 7"),
    ("in_tuple", ".genre in [\"drama\", \"noir\", \"action\", \"comedy\"]"),
    ("arith", "(.year - 2000) ** 2 < 100 and .rating / 2 > 4"),
    ("substring", "\"oi\" in .genre or \"x\" in .title"),
];

const ATTRS: &[u8] = br#"{"year": 1984, "genre": "noir", "rating": 8.1, "title": "Blood Simple",
    "tags": ["crime", "thriller"], "archived": false, "price": "12.5"}"#;

fn bench(c: &mut Criterion) {
    let attrs = Attributes::parse(ATTRS).unwrap();
    let mut g = c.benchmark_group("eval");
    for (name, src) in FILTERS {
        let f = Filter::compile(src).unwrap();
        g.bench_function(*name, |b| b.iter(|| black_box(&f).eval(black_box(&attrs))));
    }
    g.finish();
    let mut g = c.benchmark_group("compile");
    for (name, src) in FILTERS {
        g.bench_function(*name, |b| b.iter(|| Filter::compile(black_box(src)).unwrap()));
    }
    g.finish();
    c.bench_function("attributes_parse", |b| b.iter(|| Attributes::parse(black_box(ATTRS))));
}

// A hand-written `main` instead of `criterion_group!`/`criterion_main!`,
// which generate an undocumented `pub fn` (the workspace denies
// `missing_docs`); CLI arguments still override the defaults.
fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
}
