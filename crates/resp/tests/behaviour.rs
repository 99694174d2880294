//! Behaviour through the whole stack (framing, parsing, session, the
//! in-memory shard backend): search quality against brute force, filters,
//! every option, pipelining, limits and authentication.

mod common;
use common::{bulks, encode, scores3, seed, values, Client, Rng};
use std::collections::BTreeSet;
use vecshard_resp::Limits;

fn cos(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn vsim_truth_equals_brute_force_and_scores_are_redis_similarity() {
    let seed = seed();
    let mut rng = Rng(seed);
    let (n, dim) = (600, 12);
    let mut c = Client::new();
    let data: Vec<Vec<f32>> = (0..n).map(|_| rng.vector(dim)).collect();
    for (i, v) in data.iter().enumerate() {
        assert_eq!(c.s(&format!("VADD set {} e{i} NOQUANT", values(v))), ":1\r\n");
    }
    c.cmd("HELLO 3");
    let mut recall_hits = 0;
    for _ in 0..20 {
        let q = rng.vector(dim);
        let mut truth: Vec<(f64, String)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| ((1.0 + cos(&q, v)) / 2.0, format!("e{i}")))
            .collect();
        truth.sort_by(|a, b| b.0.total_cmp(&a.0));
        let got = scores3(&c.cmd(&format!("VSIM set {} TRUTH COUNT 10 WITHSCORES", values(&q))));
        assert_eq!(got.len(), 10);
        for ((name, score), (want_score, want_name)) in got.iter().zip(&truth) {
            assert_eq!(name, want_name, "seed {seed}");
            assert!((score - want_score).abs() < 1e-6, "seed {seed}: {score} vs {want_score}");
        }
        // The graph search (default EF) finds almost all of them.
        let approx = scores3(&c.cmd(&format!("VSIM set {} COUNT 10 WITHSCORES", values(&q))));
        let want: BTreeSet<&String> = truth[..10].iter().map(|t| &t.1).collect();
        recall_hits += approx.iter().filter(|(name, _)| want.contains(name)).count();
    }
    let recall = recall_hits as f64 / 200.0;
    eprintln!("recall@10 {recall}");
    assert!(recall >= 0.9, "seed {seed}: recall {recall}");
}

#[test]
fn an_identical_vector_scores_exactly_one_under_every_quantization() {
    let seed = seed();
    let mut rng = Rng(seed);
    for quant in ["NOQUANT", "Q8", "BIN"] {
        let mut c = Client::new();
        c.cmd("HELLO 3");
        let data: Vec<Vec<f32>> = (0..200).map(|_| rng.vector(32)).collect();
        for (i, v) in data.iter().enumerate() {
            c.cmd(&format!("VADD {quant} {} e{i} {quant}", values(v)));
        }
        for i in [0, 17, 199] {
            let got = scores3(&c.cmd(&format!("VSIM {quant} ELE e{i} WITHSCORES COUNT 1")));
            assert_eq!(got, vec![(format!("e{i}"), 1.0)], "{quant} seed {seed}");
            // The same vector, scaled, given as values: still exactly 1
            // with full-precision storage (under Q8 and BIN the stored
            // codes differ from the query by the quantization error).
            if quant != "NOQUANT" {
                continue;
            }
            let scaled: Vec<f32> = data[i].iter().map(|x| x * 3.0).collect();
            let got = scores3(
                &c.cmd(&format!("VSIM {quant} {} TRUTH WITHSCORES COUNT 1", values(&scaled))),
            );
            assert_eq!(got, vec![(format!("e{i}"), 1.0)], "{quant} seed {seed}");
        }
    }
}

/// The attributes of element `i` in the filter tests.
fn attrs(i: usize) -> String {
    let genre = ["drama", "comedy", "action"][i % 3];
    if i % 10 == 9 {
        // Some elements have no `year`: a comparison on it is false.
        format!(r#"{{"genre":"{genre}"}}"#)
    } else {
        format!(
            r#"{{"year":{},"genre":"{genre}","rating":{}}}"#,
            1950 + i % 70,
            (i % 50) as f64 / 10.0
        )
    }
}

fn matches(i: usize, filter: usize) -> bool {
    let year = (i % 10 != 9).then_some(1950 + i % 70);
    let genre = ["drama", "comedy", "action"][i % 3];
    let rating = (i % 50) as f64 / 10.0;
    match filter {
        0 => year.is_some_and(|y| y > 2000) && genre == "drama",
        1 => genre == "comedy" || genre == "action",
        2 => year.is_some_and(|y| (1960..1970).contains(&y)) && rating >= 2.5,
        3 => year.is_some() && genre == "action" && rating < 1.0, // rating is missing where year is
        // Every year is >= 0, and a missing field makes the whole
        // expression false (docs/filters.md): nothing matches.
        _ => false,
    }
}

const FILTERS: [&str; 5] = [
    r#".year > 2000 and .genre == "drama""#,
    r#".genre in ["comedy", "action"]"#,
    r#".year >= 1960 && .year < 1970 && .rating >= 2.5"#,
    r#".genre == "action" and .rating < 1"#,
    r#"!(.year >= 0)"#,
];

#[test]
fn filter_through_vsim_matches_the_filter_semantics() {
    let seed = seed();
    let mut rng = Rng(seed);
    let (n, dim) = (700, 8);
    let mut c = Client::new();
    let data: Vec<Vec<f32>> = (0..n).map(|_| rng.vector(dim)).collect();
    for (i, v) in data.iter().enumerate() {
        assert_eq!(
            c.s(&format!("VADD f {} e{i} NOQUANT SETATTR '{}'", values(v), attrs(i))),
            ":1\r\n"
        );
    }
    for (fi, filter) in FILTERS.iter().enumerate() {
        let want: BTreeSet<String> =
            (0..n).filter(|&i| matches(i, fi)).map(|i| format!("e{i}")).collect();
        assert_eq!(want.is_empty(), fi == 4);
        // Asking for every element returns exactly the matching ones.
        let all =
            bulks(&c.cmd(&format!("VSIM f {} FILTER '{filter}' COUNT {n}", values(&data[0]))));
        let got: BTreeSet<String> = all.into_iter().collect();
        assert_eq!(got, want, "filter {filter}");
        // TRUTH + FILTER: the exact top 10 among the matches.
        let q = rng.vector(dim);
        let mut truth: Vec<(f64, String)> = (0..n)
            .filter(|&i| matches(i, fi))
            .map(|i| ((1.0 + cos(&q, &data[i])) / 2.0, format!("e{i}")))
            .collect();
        truth.sort_by(|a, b| b.0.total_cmp(&a.0));
        let got = bulks(&c.cmd(&format!("VSIM f {} FILTER '{filter}' TRUTH COUNT 10", values(&q))));
        let want: Vec<String> = truth.iter().take(10).map(|t| t.1.clone()).collect();
        assert_eq!(got, want, "seed {seed}, filter {filter}");
        // FILTER-EF bounds the walk, but the answer still has every match it can.
        let got = bulks(
            &c.cmd(&format!("VSIM f {} FILTER '{filter}' FILTER-EF 5 EF 50 COUNT 10", values(&q))),
        );
        assert_eq!(got.len(), want.len().min(10));
    }
    // WITHATTRIBS returns the stored attributes.
    let r = c.s(&format!("VSIM f {} FILTER '.year == 1950' WITHATTRIBS COUNT 1", values(&data[0])));
    assert!(r.contains(r#"{"year":1950,"genre":"drama","rating":0}"#), "{r}");
}

#[test]
fn vadd_options() {
    let mut c = Client::new();
    // FP32 blob.
    let blob: Vec<u8> = [1.0f32, 2.0, 3.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(c.args(&[b"VADD", b"b", b"FP32", &blob, b"x", b"NOQUANT"]), b":1\r\n");
    assert_eq!(c.s("VEMB b x"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    // BIN: sign bits in 64-bit words, and the norm.
    assert_eq!(c.s("VADD bin VALUES 3 1 -1 0 c BIN"), ":1\r\n");
    assert_eq!(
        c.cmd("VEMB bin c RAW"),
        b"*3\r\n+bin\r\n$8\r\n\x01\x00\x00\x00\x00\x00\x00\x00\r\n$18\r\n1.4142135381698608\r\n"
    );
    assert_eq!(c.s("VINFO bin").split("\r\n").nth(2), Some("+bin"));
    // M and EF at creation; M over vecshard's 128.
    assert_eq!(c.s("VADD m VALUES 2 1 0 a M 8 EF 40"), ":1\r\n");
    assert!(c.s("VINFO m").contains("+hnsw-m\r\n:8\r\n"));
    assert_eq!(c.s("VADD m VALUES 2 0 1 b M 8 EF 500"), ":1\r\n");
    assert_eq!(
        c.s("VADD big VALUES 2 1 0 a M 200"),
        "-ERR invalid M: vecshard supports M up to 128\r\n"
    );
    assert_eq!(c.s("EXISTS big"), ":0\r\n");
    // SETATTR on update replaces, no SETATTR keeps, '' clears.
    c.cmd("VADD m VALUES 2 1 0 a M 8 SETATTR '{\"k\":1}'");
    c.cmd("VADD m VALUES 2 0.5 0.5 a M 8");
    assert_eq!(c.s("VGETATTR m a"), "$7\r\n{\"k\":1}\r\n");
    c.cmd("VADD m VALUES 2 1 0 a M 8 SETATTR ''");
    assert_eq!(c.s("VGETATTR m a"), "$-1\r\n");
    // Attributes must be a JSON object; nothing changes on error.
    assert!(c
        .s("VADD m VALUES 2 1 0 z M 8 SETATTR notjson")
        .starts_with("-ERR attributes must be a JSON object"));
    assert_eq!(c.s("VISMEMBER m z"), ":0\r\n");
    c.cmd("VSETATTR m a '{\"keep\":true}'");
    assert!(c.s("VSETATTR m a '[1]'").starts_with("-ERR attributes must be a JSON object"));
    assert!(c
        .s("VADD m VALUES 2 0 1 a M 8 SETATTR '{bad'")
        .starts_with("-ERR attributes must be a JSON object"));
    assert!(c.s("VADD m VALUES 3 0 1 1 a M 8").starts_with("-ERR Vector dimension mismatch"));
    // Failed commands changed nothing: same attributes, same vector.
    assert_eq!(c.s("VGETATTR m a"), "$13\r\n{\"keep\":true}\r\n");
    assert_eq!(c.s("VEMB m a"), "*2\r\n$1\r\n1\r\n$1\r\n0\r\n");
    // Bad vectors.
    assert_eq!(c.s("VADD m VALUES 2 nan 0 q M 8"), "-ERR invalid vector specification\r\n");
    assert_eq!(c.s("VADD m VALUES 2 inf 0 q M 8"), "-ERR invalid vector specification\r\n");
    assert!(c.s("VADD zero VALUES 2 0 0 q").starts_with("-ERR "));
    assert_eq!(c.s("EXISTS zero"), ":0\r\n", "a failed first VADD leaves no key");
    assert_eq!(c.s("VCARD m"), ":2\r\n");
    // Projections and names are bounded.
    assert!(c
        .s(&format!("VADD huge REDUCE 8192 {} a", values(&vec![0.5; 4096])))
        .starts_with("-ERR REDUCE 8192 of 4096"));
    assert!(c
        .s(&format!("VCARD {}", "k".repeat(1025)))
        .starts_with("-ERR key or element name of 1025 bytes"));
    assert!(c.s(&format!("KEYS {}", "*".repeat(1025))).starts_with("-ERR pattern over"));
    // Non-UTF-8 names are refused.
    assert_eq!(
        c.args(&[b"VADD", b"m", b"VALUES", b"2", b"1", b"0", b"\xff", b"M", b"8"]),
        b"-ERR vecshard keys and element names must be valid UTF-8\r\n"
    );
}

#[test]
fn reduce_projects_with_a_stored_seed() {
    let seed = seed();
    let mut rng = Rng(seed);
    let mut c = Client::new();
    let data: Vec<Vec<f32>> = (0..100).map(|_| rng.vector(64)).collect();
    for (i, v) in data.iter().enumerate() {
        assert_eq!(c.s(&format!("VADD p REDUCE 16 {} e{i} NOQUANT", values(v))), ":1\r\n");
    }
    let info = c.s("VINFO p");
    assert!(info.contains("+vector-dim\r\n:16\r\n+projection-input-dim\r\n:64\r\n"), "{info}");
    assert_eq!(c.s("VDIM p"), ":16\r\n");
    c.cmd("HELLO 3");
    // Querying with an original vector finds its own element, with score 1.
    for i in [0, 50, 99] {
        let got = scores3(&c.cmd(&format!("VSIM p {} WITHSCORES COUNT 1 TRUTH", values(&data[i]))));
        assert_eq!(got, vec![(format!("e{i}"), 1.0)], "seed {seed}");
    }
    // The projection roughly keeps neighbourhoods: the true nearest
    // neighbour (in 64 dims) is usually in the projected top 10.
    let mut found = 0;
    for i in 0..100 {
        let best = (0..100)
            .filter(|&j| j != i)
            .max_by(|&a, &b| cos(&data[i], &data[a]).total_cmp(&cos(&data[i], &data[b])))
            .unwrap();
        let top = bulks(&c.cmd(&format!("VSIM p ELE e{i} COUNT 11 TRUTH")));
        found += usize::from(top.contains(&format!("e{best}")));
    }
    eprintln!("projected top-10 holds the true neighbour {found}/100");
    // Chance would be about 10/99; a working projection gives about 40.
    assert!(found >= 25, "seed {seed}: {found}");
}

#[test]
fn vsim_options_and_epsilon() {
    let mut c = Client::new();
    c.cmd("HELLO 3");
    for (name, v) in [("a", "1 0"), ("b", "1 1"), ("c", "0 1"), ("d", "-1 0")] {
        c.cmd(&format!("VADD s VALUES 2 {v} {name} NOQUANT"));
    }
    let all = scores3(&c.cmd("VSIM s VALUES 2 1 0 WITHSCORES NOTHREAD EF 500"));
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert_eq!(all[0].1, 1.0);
    assert!((all[1].1 - (1.0 + 0.5f64.sqrt()) / 2.0).abs() < 1e-6);
    assert_eq!(all[2].1, 0.5);
    assert_eq!(all[3].1, 0.0);
    // EPSILON 0.5: similarity >= 0.5.
    let some = scores3(&c.cmd("VSIM s VALUES 2 1 0 WITHSCORES EPSILON 0.5"));
    assert_eq!(some.len(), 3);
    assert_eq!(bulks(&c.cmd("VSIM s ELE c COUNT 2")), ["c", "b"]);
    // FP32 query blob.
    let blob: Vec<u8> = [0.0f32, 1.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(bulks(&c.args(&[b"VSIM", b"s", b"FP32", &blob, b"COUNT", b"1"])), ["c"]);
    // COUNT over MAX_K is capped, not refused.
    assert_eq!(bulks(&c.cmd("VSIM s VALUES 2 1 0 COUNT 999999")).len(), 4);
}

#[test]
fn vrange_vrandmember_vlinks_vinfo() {
    let mut c = Client::new();
    for name in ["apple", "apricot", "banana", "cherry", "date", "fig"] {
        c.cmd(&format!("VADD f VALUES 2 1 {} {name}", name.len()));
    }
    assert_eq!(
        bulks(&c.cmd("VRANGE f - +")),
        ["apple", "apricot", "banana", "cherry", "date", "fig"]
    );
    assert_eq!(bulks(&c.cmd("VRANGE f [apple [cherry 2")), ["apple", "apricot"]);
    assert_eq!(bulks(&c.cmd("VRANGE f (apple (cherry -1")), ["apricot", "banana"]);
    assert_eq!(bulks(&c.cmd("VRANGE f (fig + 5")), Vec::<String>::new());
    assert_eq!(bulks(&c.cmd("VRANGE nokey - + 5")), Vec::<String>::new());
    assert_eq!(c.s("VRANGE f x + 5"), "-ERR min or max not valid string range item\r\n");
    let distinct = bulks(&c.cmd("VRANDMEMBER f 4"));
    assert_eq!(distinct.iter().collect::<BTreeSet<_>>().len(), 4);
    assert_eq!(bulks(&c.cmd("VRANDMEMBER f 100")).len(), 6);
    assert_eq!(bulks(&c.cmd("VRANDMEMBER f -20")).len(), 20);
    assert!(c.s("VRANDMEMBER f -2000000").starts_with("-ERR count"));
    assert!(c.s("VRANDMEMBER f").starts_with('$'));
    let links = c.s("VLINKS f apple WITHSCORES");
    assert!(links.starts_with("*1\r\n*10\r\n"), "{links}");
    let info = c.s("VINFO f");
    assert!(
        info.starts_with("*18\r\n+quant-type\r\n+int8\r\n+hnsw-m\r\n:16\r\n+vector-dim\r\n:2\r\n")
    );
    assert!(info.contains("+size\r\n:6\r\n"));
}

#[test]
fn scan_pages_through_keys_with_match_and_type() {
    let mut c = Client::new();
    for i in 0..25 {
        c.cmd(&format!("VADD key{i:02} VALUES 2 1 0 a"));
    }
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        let r = c.s(&format!("SCAN {cursor} COUNT 7 MATCH key1*"));
        let mut lines = r.split("\r\n");
        assert_eq!(lines.next(), Some("*2"));
        lines.next();
        cursor = lines.next().unwrap().to_owned();
        let n: usize = lines.next().unwrap()[1..].parse().unwrap();
        for _ in 0..n {
            lines.next();
            seen.push(lines.next().unwrap().to_owned());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(calls, 4);
    assert_eq!(seen, (10..20).map(|i| format!("key{i}")).collect::<Vec<_>>());
    assert_eq!(c.s("SCAN 0 COUNT 100 TYPE string"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(bulks(&c.cmd("KEYS key2?")), ["key20", "key21", "key22", "key23", "key24"]);
    assert_eq!(c.s("DBSIZE"), ":25\r\n");
}

#[test]
fn selected_dbs_are_namespaces() {
    let mut c = Client::new();
    c.cmd("VADD k VALUES 2 1 0 zero");
    c.cmd("SELECT 3");
    assert_eq!(c.s("EXISTS k"), ":0\r\n");
    c.cmd("VADD k VALUES 3 1 0 0 three");
    assert_eq!(c.s("VDIM k"), ":3\r\n");
    c.cmd("SELECT 0");
    assert_eq!(c.s("VDIM k"), ":2\r\n");
    // Db 3's key is the collection "3:k"; db 0 does not list it.
    assert_eq!(bulks(&c.cmd("KEYS *")), ["k"]);
    assert_eq!(c.s("FLUSHDB"), "+OK\r\n");
    c.cmd("SELECT 3");
    assert_eq!(c.s("VCARD k"), ":1\r\n");
}

#[test]
fn pipelined_commands_give_the_same_replies_in_any_chunking() {
    let mut script = Vec::new();
    for line in [
        "VADD s VALUES 2 1 0 a",
        "VADD s VALUES 2 0 1 b SETATTR '{\"x\":1}'",
        "VSIM s VALUES 2 1 0 WITHSCORES",
        "VGETATTR s b",
        "VCARD s",
    ] {
        let w = common::words(line);
        let r: Vec<&[u8]> = w.iter().map(|v| v.as_slice()).collect();
        script.extend(encode(&r));
    }
    script.extend_from_slice(b"PING inline\r\nVCARD s\n");
    let whole = Client::new().raw(&script);
    assert_eq!(
        String::from_utf8_lossy(&whole),
        ":1\r\n:1\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n0.5\r\n$7\r\n{\"x\":1}\r\n:2\r\n$6\r\ninline\r\n:2\r\n"
    );
    for chunk in [1, 2, 3, 7, 13] {
        let mut c = Client::new();
        let mut out = Vec::new();
        for part in script.chunks(chunk) {
            out.extend(c.raw(part));
        }
        assert_eq!(out, whole, "chunks of {chunk}");
    }
}

#[test]
fn limits_close_the_connection_with_an_error() {
    let limits =
        Limits { max_bulk_len: 1000, max_args: 50, max_buffered: 4000, max_inline_len: 100 };
    let mut c = Client::with(None, limits);
    assert_eq!(c.s("PING"), "+PONG\r\n");
    let r = c.raw(b"*2\r\n$4\r\nECHO\r\n$1001\r\n");
    assert_eq!(
        String::from_utf8_lossy(&r),
        "-ERR Protocol error: request bulk length 1001 is over this server's limit of 1000\r\n"
    );
    assert!(!c.conn.is_open());
    assert_eq!(c.raw(b"PING\r\n"), b"");

    let mut c = Client::with(None, limits);
    let r = c.s(&format!("VADD s {} e", values(&[0.5; 60])));
    assert!(r.starts_with("-ERR Protocol error: request arguments 65"), "{r}");
    assert!(!c.conn.is_open());

    // A command that fits is fine, right under the limits.
    let mut c = Client::with(None, limits);
    assert_eq!(c.s(&format!("VADD s {} e", values(&[0.5; 40]))), ":1\r\n");
    // Many pipelined commands are fine as long as each is decoded as it
    // arrives; one connection never holds more than `max_buffered`.
    let many: Vec<u8> = (0..50).flat_map(|_| encode(&[b"VCARD", b"s"])).collect();
    assert_eq!(c.raw(&many).len(), 50 * 4);
    let r = c.raw(&vec![b'x'; 4001]);
    assert!(String::from_utf8_lossy(&r).starts_with("-ERR Protocol error: request buffered bytes"));
}

#[test]
fn a_token_gates_every_command_until_auth() {
    let mut c = Client::with(Some("s3cret"), Limits::default());
    assert_eq!(c.s("PING"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.s("VADD s VALUES 2 1 0 a"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.s("KEYS *"), "-NOAUTH Authentication required.\r\n");
    assert!(c
        .s("HELLO 3")
        .starts_with("-NOAUTH HELLO must be called with the client already authenticated"));
    assert_eq!(
        c.s("AUTH wrong"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        c.s("AUTH someone s3cret"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.s("DBSIZE"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.s("AUTH s3cret"), "+OK\r\n");
    assert_eq!(c.s("PING"), "+PONG\r\n");
    assert_eq!(c.s("VADD s VALUES 2 1 0 a"), ":1\r\n");

    let mut c = Client::with(Some("s3cret"), Limits::default());
    assert!(c.s("HELLO 3 AUTH default s3cret SETNAME app").starts_with("%7\r\n"));
    assert_eq!(c.s("CLIENT GETNAME"), "$3\r\napp\r\n");
    assert_eq!(c.s("VCARD s"), ":0\r\n");

    let mut c = Client::with(Some("s3cret"), Limits::default());
    assert_eq!(c.s("QUIT"), "+OK\r\n");
    assert!(!c.conn.is_open());
}

#[test]
fn command_probes_answer() {
    let mut c = Client::new();
    let n: i64 = c.s("COMMAND COUNT")[1..].trim().parse().unwrap();
    assert!(n >= 30);
    assert!(c.s("COMMAND DOCS vsim").starts_with("*2\r\n$4\r\nvsim\r\n*6\r\n$7\r\nsummary\r\n"));
    assert!(c.s("INFO").contains("redis_version:8.2.3"));
    assert!(c.s("INFO server").contains("# Keyspace"));
    assert_eq!(c.s("CONFIG GET data*"), "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n");
}
