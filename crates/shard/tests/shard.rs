//! The shard protocol and snapshot container: round trips, error responses
//! for every kind of bad input, and no panics on arbitrary bytes.

use proptest::prelude::*;
use vecshard_shard::{
    decode_request, decode_response, encode_request, encode_response, ErrorCode, Filter, Item,
    Request, Response, Settings, Shard, WireMetric, WireQuantization, PROTOCOL_VERSION,
};

fn item(key: &str, v: &[f32], attrs: Option<&str>) -> Item {
    Item { key: key.into(), vector: v.to_vec(), attributes: attrs.map(|a| a.as_bytes().to_vec()) }
}

fn filled() -> Shard {
    let mut s = Shard::with_settings(&Settings::new(2, WireMetric::L2)).unwrap();
    let items = (0..50)
        .map(|i| item(&format!("k{i}"), &[i as f32, (i % 7) as f32], (i % 3 == 0).then_some("{}")))
        .collect();
    assert_eq!(
        s.handle(Request::Upsert { items }),
        Response::Upserted { inserted: 50, updated: 0 }
    );
    s
}

fn code(r: Response) -> ErrorCode {
    match r {
        Response::Error(e) => e.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn every_request_round_trips_through_bytes() {
    let reqs = vec![
        Request::Create { settings: Settings::new(3, WireMetric::Cosine) },
        Request::Upsert { items: vec![item("a", &[1.0, 2.0], Some("{\"x\":1}"))] },
        Request::Remove { keys: vec!["a".into(), "b".into()] },
        Request::Search {
            vector: vec![0.5, 0.25],
            k: 3,
            ef: Some(40),
            filter: Some(Filter::KeyPrefix("doc:".into())),
        },
        Request::Get { key: "a".into() },
        Request::Contains { key: "a".into() },
        Request::Info,
        Request::Snapshot,
        Request::Restore { bytes: vec![1, 2, 3] },
        Request::SetAttributes { key: "a".into(), attributes: Some(b"{}".to_vec()) },
        Request::SetAttributes { key: "a".into(), attributes: None },
        Request::GetAttributes { key: "a".into() },
        Request::FilteredSearch {
            vector: vec![0.5, 0.25],
            k: 3,
            ef: None,
            key_filter: Some(Filter::Keys(vec!["a".into()])),
            filter: Some(".x > 1".into()),
            filter_ef: Some(500),
            with_attributes: true,
        },
        Request::UpsertJson { items: vec![item("a", &[1.0, 2.0], Some("{\"x\":1}"))] },
    ];
    for r in reqs {
        let b = encode_request(&r);
        assert_eq!(b[0], PROTOCOL_VERSION);
        assert_eq!(decode_request(&b).unwrap(), r);
    }
}

#[test]
fn wrong_version_and_garbage_get_error_responses() {
    let mut s = filled();
    let mut b = encode_request(&Request::Info);
    b[0] = 9;
    let r = decode_response(&s.handle_bytes(&b)).unwrap();
    assert_eq!(code(r), ErrorCode::UnsupportedVersion);
    let r = decode_response(&s.handle_bytes(&[])).unwrap();
    assert_eq!(code(r), ErrorCode::MalformedRequest);
    let r = decode_response(&s.handle_bytes(&[PROTOCOL_VERSION, 200, 1])).unwrap();
    assert_eq!(code(r), ErrorCode::MalformedRequest);
}

#[test]
fn bad_input_changes_nothing() {
    let mut s = filled();
    let before = s.snapshot().unwrap();
    let bad: Vec<(Request, ErrorCode)> = vec![
        (Request::Upsert { items: vec![item("x", &[1.0], None)] }, ErrorCode::DimensionMismatch),
        (
            Request::Upsert {
                items: vec![item("x", &[1.0, 1.0], None), item("", &[1.0, 1.0], None)],
            },
            ErrorCode::EmptyKey,
        ),
        (
            Request::Upsert { items: vec![item("y", &[f32::INFINITY, 1.0], None)] },
            ErrorCode::NonFiniteValue,
        ),
        (
            Request::Upsert {
                items: vec![Item {
                    key: "z".into(),
                    vector: vec![1.0, 1.0],
                    attributes: Some(vec![0; 65 * 1024]),
                }],
            },
            ErrorCode::AttributesTooLarge,
        ),
        (
            Request::Search { vector: vec![1.0, 1.0], k: 0, ef: None, filter: None },
            ErrorCode::InvalidK,
        ),
        (Request::Restore { bytes: b"VSSHARD\0garbage".to_vec() }, ErrorCode::InvalidSnapshot),
        (
            Request::Create { settings: Settings::new(3, WireMetric::L2) },
            ErrorCode::SettingsMismatch,
        ),
    ];
    for (req, want) in bad {
        assert_eq!(code(s.handle(req)), want);
        assert_eq!(s.snapshot().unwrap(), before);
    }
    assert_eq!(
        code(Shard::new().handle(Request::Search {
            vector: vec![1.0],
            k: 1,
            ef: None,
            filter: None
        })),
        ErrorCode::NotInitialized
    );
}

#[test]
fn attributes_follow_upserts_and_removes_and_survive_snapshots() {
    let mut s = filled();
    let get = |s: &mut Shard, k: &str| match s.handle(Request::Get { key: k.into() }) {
        Response::Item { item } => item,
        other => panic!("{other:?}"),
    };
    assert_eq!(get(&mut s, "k3").unwrap().attributes, Some(b"{}".to_vec()));
    // An upsert replaces the element, attributes included.
    s.handle(Request::Upsert { items: vec![item("k3", &[3.0, 3.0], None)] });
    assert_eq!(get(&mut s, "k3").unwrap().attributes, None);
    s.handle(Request::Upsert { items: vec![item("k4", &[4.0, 4.0], Some("{\"a\":1}"))] });
    assert_eq!(
        s.handle(Request::Remove { keys: vec!["k6".into(), "nope".into()] }),
        Response::Removed { removed: 1, not_found: 1 }
    );
    assert_eq!(get(&mut s, "k6"), None);

    let bytes = s.snapshot().unwrap();
    let mut t = Shard::from_snapshot(&bytes).unwrap();
    assert_eq!(t.snapshot().unwrap(), bytes, "snapshot bytes are stable");
    assert_eq!(get(&mut t, "k4").unwrap().attributes, Some(b"{\"a\":1}".to_vec()));
    // Heap capacities (and the attribute indexes' representation, which
    // depends on insertion order) differ after a reload; the rest is equal.
    let (mut ti, mut si) = (t.info(), s.info());
    assert!(ti.attribute_bytes > 0 && si.attribute_bytes > 0);
    ti.index_bytes = 0;
    si.index_bytes = 0;
    ti.attribute_bytes = 0;
    si.attribute_bytes = 0;
    assert_eq!(ti, si);

    // Restore also accepts a bare core snapshot.
    let core = s.index().unwrap().to_bytes();
    let mut u = Shard::new();
    assert_eq!(u.handle(Request::Restore { bytes: core }), Response::Restored { len: 49 });
    assert_eq!(get(&mut u, "k4").unwrap().attributes, None);

    // Every truncation and a flipped byte anywhere are rejected.
    for cut in (0..bytes.len()).step_by(37) {
        assert!(Shard::from_snapshot(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    for pos in (0..bytes.len()).step_by(13) {
        let mut b = bytes.clone();
        b[pos] ^= 0x55;
        assert!(Shard::from_snapshot(&b).is_err(), "flip at {pos}");
    }
}

#[test]
fn filters_restrict_results() {
    let mut s = filled();
    let search = |s: &mut Shard, filter| match s.handle(Request::Search {
        vector: vec![10.0, 3.0],
        k: 5,
        ef: Some(50),
        filter,
    }) {
        Response::Hits { hits } => hits.into_iter().map(|h| h.key).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let all = search(&mut s, None);
    assert_eq!(all[0], "k10");
    let pre = search(&mut s, Some(Filter::KeyPrefix("k4".into())));
    assert!(!pre.is_empty() && pre.iter().all(|k| k.starts_with("k4")), "{pre:?}");
    let keys = search(&mut s, Some(Filter::Keys(vec!["k1".into(), "k49".into()])));
    assert_eq!(keys, ["k1", "k49"]);
}

#[test]
fn settings_convert_both_ways() {
    let s = Settings {
        dim: 7,
        metric: WireMetric::InnerProduct,
        m: 8,
        ef_construction: 99,
        ef_search: 33,
        quantization: WireQuantization::I8,
        seed: 5,
    };
    assert_eq!(Settings::from(&s.to_config()), s);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes after a valid version byte decode to an error or a
    /// request; handling never panics.
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut s = filled();
        let mut b = vec![PROTOCOL_VERSION];
        b.extend_from_slice(&body);
        let out = s.handle_bytes(&b);
        prop_assert!(decode_response(&out).is_ok());
    }

    /// Valid requests with one byte changed never panic either.
    #[test]
    fn mutated_requests_never_panic(pos in 0usize..200, val in any::<u8>()) {
        let mut s = filled();
        let req = Request::Upsert { items: vec![item("abc", &[1.0, 2.0], Some("{}"))] };
        let mut b = encode_request(&req);
        let p = pos % b.len();
        b[p] = val;
        let out = s.handle_bytes(&b);
        prop_assert!(decode_response(&out).is_ok());
        let _ = encode_response(&Response::Created);
    }
}

/// `Reserve` (issue 11): room for a bulk load in one allocation, no data
/// changed, not a write; impossible sizes are `capacity_exceeded`.
#[test]
fn reserve_makes_room_and_changes_nothing() {
    let mut s = Shard::new();
    let r = s.handle(Request::Reserve { additional: 10 });
    assert!(matches!(r, Response::Error(e) if e.code == ErrorCode::NotInitialized));
    let mut s = Shard::with_settings(&Settings::new(2, WireMetric::L2)).unwrap();
    let empty = s.info().index_bytes;
    assert!(!Request::Reserve { additional: 1 }.is_write());
    assert_eq!(s.handle(Request::Reserve { additional: 1000 }), Response::Reserved);
    assert!(s.info().index_bytes > empty + 1000 * 8, "nothing was reserved");
    assert_eq!(s.len(), 0);
    let before = s.snapshot().unwrap();
    let r = s.handle(Request::Reserve { additional: u64::MAX });
    assert!(matches!(&r, Response::Error(e) if e.code == ErrorCode::CapacityExceeded), "{r:?}");
    assert_eq!(s.snapshot().unwrap(), before);
}
