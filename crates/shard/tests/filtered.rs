//! Filtered search in a shard: typed attributes, their indexes and the
//! planner, checked against a brute-force oracle after random sequences of
//! upserts, removes and attribute updates, for every metric and
//! quantization and for each strategy (planner's choice, forced exact scan,
//! forced graph walk); plus error cases and persistence (snapshot).

use std::collections::BTreeMap;

use proptest::prelude::*;
use vecshard_filter::{Attributes, Filter as Expr};
use vecshard_shard::{
    ErrorCode, Filter, Item, PlanKind, PlannerConfig, Request, Response, SearchHit, Settings,
    Shard, WireMetric, WireQuantization,
};

const DIM: usize = 8;

/// One random write.
#[derive(Clone, Debug)]
enum Op {
    Upsert { key: u8, vector: Vec<f32>, attrs: Option<String> },
    Remove { key: u8 },
    SetAttrs { key: u8, attrs: Option<String> },
}

fn attrs_json() -> impl Strategy<Value = String> {
    let num = prop_oneof![(0i32..10).prop_map(|x| x.to_string()), Just("2.5".to_string())];
    let text = prop_oneof![Just("\"x\""), Just("\"y\""), Just("\"z\""), Just("\"3\"")];
    let field = |name: &'static str, v: BoxedStrategy<String>| {
        proptest::option::weighted(0.8, v).prop_map(move |o| o.map(|v| format!("\"{name}\":{v}")))
    };
    let arr = proptest::collection::vec(
        prop_oneof![(0i32..5).prop_map(|x| x.to_string()), text.clone().prop_map(String::from)],
        0..4,
    )
    .prop_map(|v| format!("[{}]", v.join(",")));
    (
        field("a", num.boxed()),
        field("b", text.prop_map(String::from).boxed()),
        field("c", arr.boxed()),
        field(
            "d",
            prop_oneof![Just("true"), Just("false"), Just("null")].prop_map(String::from).boxed(),
        ),
        field("e", Just("{\"nested\":1}".to_string()).boxed()),
    )
        .prop_map(|(a, b, c, d, e)| {
            let parts: Vec<String> = [a, b, c, d, e].into_iter().flatten().collect();
            format!("{{{}}}", parts.join(","))
        })
}

/// A random filter expression over the generated fields (tokens separated
/// by spaces).
fn filter_expr() -> impl Strategy<Value = String> {
    let lit_num = (0i32..10).prop_map(|x| x.to_string());
    let lit_str = prop_oneof![Just("\"x\""), Just("\"y\""), Just("\"z\""), Just("\"3\"")];
    let cmp = prop_oneof![Just("=="), Just("!="), Just(">"), Just(">="), Just("<"), Just("<=")];
    let atom = prop_oneof![
        (prop_oneof![Just(".a"), Just(".d")], cmp.clone(), lit_num.clone())
            .prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        (Just(".b"), prop_oneof![Just("=="), Just("!=")], lit_str.clone())
            .prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        (
            prop_oneof![Just(".a"), Just(".b")],
            proptest::collection::vec(
                prop_oneof![lit_num.clone(), lit_str.clone().prop_map(String::from)],
                1..4
            )
        )
            .prop_map(|(f, v)| format!("{f} in [ {} ]", v.join(" , "))),
        (lit_str.clone(), Just(".c")).prop_map(|(v, f)| format!("{v} in {f}")),
        (lit_num.clone(), Just(".c")).prop_map(|(v, f)| format!("{v} in {f}")),
        Just(".e == 1".to_string()),
    ];
    atom.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("( {a} ) and ( {b} )")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("( {a} ) or ( {b} )")),
            inner.prop_map(|a| format!("not ( {a} )")),
        ]
    })
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(-4i8..=4, DIM).prop_map(|v| {
        let mut v: Vec<f32> = v.into_iter().map(f32::from).collect();
        // Never all-zero (cosine rejects it).
        v[0] += 0.5;
        v
    })
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..60;
    prop_oneof![
        6 => (key.clone(), vector(), proptest::option::weighted(0.85, attrs_json()))
            .prop_map(|(key, vector, attrs)| Op::Upsert { key, vector, attrs }),
        1 => key.clone().prop_map(|key| Op::Remove { key }),
        2 => (key, proptest::option::weighted(0.8, attrs_json()))
            .prop_map(|(key, attrs)| Op::SetAttrs { key, attrs }),
    ]
}

/// The model: what the shard should hold.
type Model = BTreeMap<String, (Vec<f32>, Option<String>)>;

fn apply(shard: &mut Shard, model: &mut Model, op: &Op) {
    match op {
        Op::Upsert { key, vector, attrs } => {
            let key = format!("k{key}");
            let item = Item {
                key: key.clone(),
                vector: vector.clone(),
                attributes: attrs.as_ref().map(|a| a.as_bytes().to_vec()),
            };
            let r = shard.handle(Request::UpsertJson { items: vec![item] });
            assert!(matches!(r, Response::Upserted { .. }), "{r:?}");
            model.insert(key, (vector.clone(), attrs.clone()));
        }
        Op::Remove { key } => {
            let key = format!("k{key}");
            shard.handle(Request::Remove { keys: vec![key.clone()] });
            model.remove(&key);
        }
        Op::SetAttrs { key, attrs } => {
            let key = format!("k{key}");
            let r = shard.handle(Request::SetAttributes {
                key: key.clone(),
                attributes: attrs.as_ref().map(|a| a.as_bytes().to_vec()),
            });
            match model.get_mut(&key) {
                Some(e) => {
                    assert_eq!(r, Response::AttributesSet);
                    e.1 = attrs.clone();
                }
                None => match r {
                    Response::Error(e) => assert_eq!(e.code, ErrorCode::KeyNotFound),
                    other => panic!("set on a missing key answered {other:?}"),
                },
            }
        }
    }
}

fn search(
    shard: &mut Shard,
    q: &[f32],
    k: u32,
    filter: &str,
    ef: u32,
) -> (Vec<SearchHit>, PlanKind) {
    match shard.handle(Request::FilteredSearch {
        vector: q.to_vec(),
        k,
        ef: Some(ef),
        key_filter: None,
        filter: Some(filter.to_string()),
        filter_ef: Some(100_000),
        with_attributes: true,
    }) {
        Response::SearchHits { hits, plan } => (hits, plan),
        other => panic!("filtered search answered {other:?}"),
    }
}

/// Brute force over the shard's own stored vectors (so quantization and
/// cosine normalization are the shard's), filtered by the model's
/// attributes.
fn oracle(
    shard: &Shard,
    model: &Model,
    expr: &Expr,
    q: &[f32],
    k: usize,
) -> (Vec<(String, f32)>, usize) {
    // As Redis: an element without attributes never passes a filter.
    let accepts = |key: &str| {
        let a = model[key].1.as_ref().map(|s| Attributes::parse(s.as_bytes()).unwrap());
        a.is_some_and(|a| expr.eval(&a))
    };
    let matches = model.keys().filter(|k| accepts(k)).count();
    let hits = shard.index().unwrap().exact_search(q, k, Some(&accepts)).unwrap();
    (hits.iter().map(|h| (h.key.to_string(), h.distance)).collect(), matches)
}

const METRICS: [WireMetric; 3] = [WireMetric::L2, WireMetric::Cosine, WireMetric::InnerProduct];
const QUANTS: [WireQuantization; 3] =
    [WireQuantization::F32, WireQuantization::I8, WireQuantization::Binary];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// With ef ≥ n the filtered search equals brute-force filtered exact
    /// search (keys and distances), for every metric, quantization and
    /// strategy, and always has min(k, matches) hits.
    #[test]
    fn filtered_search_equals_brute_force(
        ops in proptest::collection::vec(op(), 1..120),
        filters in proptest::collection::vec(filter_expr(), 1..4),
        q in vector(),
        k in 1u32..12,
    ) {
        let exprs: Vec<Expr> = filters.iter().map(|f| Expr::compile(f).unwrap()).collect();
        for metric in METRICS {
            for quant in QUANTS {
                let mut settings = Settings::new(DIM as u32, metric);
                settings.quantization = quant;
                let mut shard = Shard::with_settings(&settings).unwrap();
                let mut model = Model::new();
                for (i, o) in ops.iter().enumerate() {
                    apply(&mut shard, &mut model, o);
                    if i == ops.len() / 2 {
                        // Half way, reload from a snapshot: the typed
                        // attributes and indexes are rebuilt from bytes.
                        shard = Shard::from_snapshot(&shard.snapshot().unwrap()).unwrap();
                    }
                }
                let ef = (model.len() as u32).max(k) + 8;
                for (src, expr) in filters.iter().zip(&exprs) {
                    let (want, matches) = oracle(&shard, &model, expr, &q, k as usize);
                    let strategies = [
                        ("planner", None, PlannerConfig::default().dense_percent),
                        ("exact", Some(usize::MAX), 101),
                        ("walk", Some(0), 101),
                        ("dense walk", Some(0), 0),
                    ];
                    for (name, threshold, dense_percent) in strategies {
                        shard.set_planner(PlannerConfig { exact_threshold: threshold, dense_percent, ..PlannerConfig::default() });
                        let (hits, plan) = search(&mut shard, &q, k, src, ef);
                        let got: Vec<(String, f32)> = hits.iter().map(|h| (h.key.clone(), h.distance)).collect();
                        prop_assert_eq!(
                            &got, &want,
                            "{:?}/{:?} {} plan {:?}: filter {:?}", metric, quant, name, plan, src
                        );
                        prop_assert_eq!(hits.len(), (k as usize).min(matches));
                        for h in &hits {
                            let stored = model[&h.key].1.as_ref().map(|s| s.as_bytes().to_vec());
                            prop_assert_eq!(&h.attributes, &stored);
                        }
                    }
                }
            }
        }
    }
}

fn shard_with(n: usize) -> Shard {
    let mut s = Shard::with_settings(&Settings::new(2, WireMetric::L2)).unwrap();
    let items = (0..n)
        .map(|i| Item {
            key: format!("k{i}"),
            vector: vec![i as f32, (i % 7) as f32],
            attributes: Some(format!("{{\"i\":{i},\"even\":{}}}", i % 2 == 0).into_bytes()),
        })
        .collect();
    assert!(matches!(s.handle(Request::UpsertJson { items }), Response::Upserted { .. }));
    s
}

fn code(r: Response) -> ErrorCode {
    match r {
        Response::Error(e) => e.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn bad_filters_and_attributes_are_errors_that_change_nothing() {
    let mut s = shard_with(40);
    let before = s.snapshot().unwrap();
    let fs = |f: &str| Request::FilteredSearch {
        vector: vec![1.0, 1.0],
        k: 3,
        ef: None,
        key_filter: None,
        filter: Some(f.to_string()),
        filter_ef: None,
        with_attributes: false,
    };
    for bad in [".i >", "(.i == 1", ".i === 2", "", &"x".repeat(5000)] {
        let r = s.handle(fs(bad));
        match &r {
            Response::Error(e) => {
                assert_eq!(e.code, ErrorCode::InvalidFilter, "{bad:?}");
                assert!(e.message.starts_with("invalid_filter"), "{}", e.message);
            }
            other => panic!("{bad:?} answered {other:?}"),
        }
    }
    // Not a JSON object: rejected by the strict writes, nothing changes.
    for bad in ["[1,2]", "3", "\"s\"", "{", "not json", "null"] {
        let item = Item { key: "k1".into(), vector: vec![9.0, 9.0], attributes: Some(bad.into()) };
        let fresh = Item { key: "new".into(), vector: vec![9.0, 9.0], attributes: None };
        assert_eq!(
            code(s.handle(Request::UpsertJson { items: vec![fresh, item] })),
            ErrorCode::InvalidAttributes,
            "{bad:?}"
        );
        assert_eq!(
            code(
                s.handle(Request::SetAttributes { key: "k1".into(), attributes: Some(bad.into()) })
            ),
            ErrorCode::InvalidAttributes
        );
    }
    assert_eq!(
        code(s.handle(Request::SetAttributes { key: "nope".into(), attributes: None })),
        ErrorCode::KeyNotFound
    );
    assert_eq!(
        code(s.handle(Request::SetAttributes {
            key: "k1".into(),
            attributes: Some(vec![b' '; 70_000])
        })),
        ErrorCode::AttributesTooLarge
    );
    assert_eq!(s.snapshot().unwrap(), before);
    // k = 0 and the uninitialized shard.
    let mut r = fs(".i > 1");
    if let Request::FilteredSearch { k, .. } = &mut r {
        *k = 0;
    }
    assert_eq!(code(s.handle(r)), ErrorCode::InvalidK);
    assert_eq!(code(Shard::new().handle(fs(".i > 1"))), ErrorCode::NotInitialized);
}

#[test]
fn an_element_without_attributes_never_passes_a_filter() {
    // Redis 8.2: VSIM ... FILTER '1' skips elements that have no attributes
    // (and keeps those whose attributes are `{}`).
    let mut s = shard_with(10);
    let item = Item { key: "bare".into(), vector: vec![0.0, 0.0], attributes: None };
    assert!(matches!(s.handle(Request::Upsert { items: vec![item] }), Response::Upserted { .. }));
    for f in ["1", "1 == 1", "!.missing"] {
        let (hits, _) = search(&mut s, &[0.0, 0.0], 20, f, 32);
        assert!(hits.iter().all(|h| h.key != "bare"), "{f} passed an element without attributes");
    }
    let (hits, _) = search(&mut s, &[0.0, 0.0], 20, "1", 32);
    assert_eq!(hits.len(), 10, "every element with attributes passes `1`");
}

#[test]
fn legacy_upsert_keeps_non_object_bytes_and_the_filter_sees_nothing() {
    // `Upsert` (the old variant, what old write-ahead logs hold) accepts
    // any bytes; non-objects are kept verbatim and match no selector.
    let mut s = shard_with(10);
    let item =
        Item { key: "old".into(), vector: vec![-1.0, -1.0], attributes: Some(b"raw!".to_vec()) };
    assert!(matches!(s.handle(Request::Upsert { items: vec![item] }), Response::Upserted { .. }));
    let r = s.handle(Request::GetAttributes { key: "old".into() });
    assert_eq!(r, Response::Attributes { present: true, attributes: Some(b"raw!".to_vec()) });
    let bytes = s.snapshot().unwrap();
    let mut t = Shard::from_snapshot(&bytes).unwrap();
    let (hits, _) = search(&mut t, &[0.0, 0.0], 20, ".i >= 0", 32);
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h.key != "old"));
    // A filter without selectors is true for it, too.
    let (hits, _) = search(&mut t, &[0.0, 0.0], 20, "1 == 1", 32);
    assert_eq!(hits.len(), 11);
    let old = hits.iter().find(|h| h.key == "old").expect("the legacy element matches");
    assert_eq!(old.attributes.as_deref(), Some(&b"raw!"[..]));
}

#[test]
fn key_filters_combine_with_expressions() {
    let mut s = shard_with(100);
    let run = |s: &mut Shard, key_filter: Filter, f: &str| match s.handle(Request::FilteredSearch {
        vector: vec![0.0, 0.0],
        k: 100,
        ef: None,
        key_filter: Some(key_filter),
        filter: Some(f.to_string()),
        filter_ef: None,
        with_attributes: false,
    }) {
        Response::SearchHits { hits, .. } => {
            let mut keys: Vec<String> = hits.into_iter().map(|h| h.key).collect();
            keys.sort();
            keys
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        run(&mut s, Filter::KeyPrefix("k1".into()), ".even == 1"),
        ["k10", "k12", "k14", "k16", "k18"]
    );
    assert_eq!(
        run(
            &mut s,
            Filter::Keys(vec!["k3".into(), "k4".into(), "k6".into(), "zz".into()]),
            ".even"
        ),
        ["k4", "k6"]
    );
}

#[test]
fn info_counts_index_memory_and_get_attributes_answers() {
    let s0 = shard_with(0);
    let s = shard_with(500);
    let (i0, i) = (s0.info(), s.info());
    assert_eq!(i.with_attributes, 500);
    let raw: usize = (0..500).map(|i| format!("{{\"i\":{i},\"even\":{}}}", i % 2 == 0).len()).sum();
    assert!(i.attribute_bytes as usize > raw, "{} <= raw {raw}", i.attribute_bytes);
    assert_eq!(i0.attribute_bytes, 0);
    let mut s = s;
    assert_eq!(
        s.handle(Request::GetAttributes { key: "nope".into() }),
        Response::Attributes { present: false, attributes: None }
    );
    assert_eq!(
        s.handle(Request::SetAttributes { key: "k1".into(), attributes: None }),
        Response::AttributesSet
    );
    assert_eq!(
        s.handle(Request::GetAttributes { key: "k1".into() }),
        Response::Attributes { present: true, attributes: None }
    );
    assert_eq!(s.info().with_attributes, 499);
}

/// The planner's choice on a larger shard: a selective indexed filter is
/// scanned exactly, a broad one walks the graph, and both return k.
#[test]
fn planner_picks_exact_for_few_matches_and_walks_for_many() {
    let n = 4000;
    let mut s = Shard::with_settings(&Settings::new(2, WireMetric::L2)).unwrap();
    let items = (0..n)
        .map(|i| Item {
            key: format!("k{i}"),
            vector: vec![(i % 97) as f32, (i / 97) as f32],
            attributes: Some(format!("{{\"g\":{},\"h\":{}}}", i % 1000, i % 2).into_bytes()),
        })
        .collect();
    assert!(matches!(s.handle(Request::UpsertJson { items }), Response::Upserted { .. }));
    let (hits, plan) = search(&mut s, &[5.0, 5.0], 10, ".g == 7", 64);
    assert_eq!((hits.len(), plan), (4, PlanKind::Exact));
    let (hits, plan) = search(&mut s, &[5.0, 5.0], 10, ".h == 1", 64);
    assert_eq!(hits.len(), 10);
    assert!(matches!(plan, PlanKind::Walk | PlanKind::WalkThenExact), "{plan:?}");
    // No index helps `!=`: the planner samples; ~half match, so it walks.
    let (hits, plan) = search(&mut s, &[5.0, 5.0], 10, ".h != 1", 64);
    assert_eq!(hits.len(), 10);
    assert!(matches!(plan, PlanKind::Walk | PlanKind::WalkThenExact), "{plan:?}");
}

#[test]
fn attribute_writes_go_to_the_log_and_reads_do_not() {
    let set = Request::SetAttributes { key: "a".into(), attributes: None };
    assert!(set.is_write());
    assert!(Request::UpsertJson { items: vec![] }.is_write());
    assert!(!Request::GetAttributes { key: "a".into() }.is_write());
    let fs = Request::FilteredSearch {
        vector: vec![],
        k: 1,
        ef: None,
        key_filter: None,
        filter: None,
        filter_ef: None,
        with_attributes: false,
    };
    assert!(!fs.is_write());
    assert_eq!((set.name(), fs.name()), ("set_attributes", "search"));
}
