//! The contract of the RESP front end (`vecshard_resp`), checked by the
//! `resp` fuzz target and replayed over the committed corpus by
//! `crates/resp/tests/fuzz_corpus.rs` (the same file, through `#[path]`).
//!
//! An input is a byte stream a client might send. Byte 0 picks the setup
//! (bit 0: a token is required; bit 1: small limits, so that every limit is
//! reachable; bits 2..: how the rest is cut into reads). The stream goes
//! through `Connection::receive` over a `MemoryBackend` that already holds a
//! small vector set `s` (dim 4, with attributes). Whatever the bytes:
//! - nothing panics, and each read answers at once (the memory backend's
//!   futures are ready);
//! - everything written back is a sequence of well-formed RESP2/RESP3
//!   replies, with nothing left over;
//! - the connection never holds more than `max_buffered` bytes;
//! - once closed (QUIT or a framing error) it writes nothing more;
//! - no empty collection is ever visible (the last VREM deletes the key; a
//!   failed first VADD leaves nothing), and `VCARD` agrees with `VINFO`.

use vecshard_resp::memory::{block_on, MemoryBackend};
use vecshard_resp::{Backend, Connection, Limits};

/// Parses one RESP reply at `b[*i..]`; panics if malformed.
fn reply(b: &[u8], i: &mut usize, depth: usize) {
    assert!(depth < 16, "replies nest too deep");
    let line_end =
        b[*i..].windows(2).position(|w| w == b"\r\n").expect("a reply line ends in CRLF") + *i;
    let (tag, rest) = (b[*i], &b[*i + 1..line_end]);
    *i = line_end + 2;
    let num = || -> i64 { std::str::from_utf8(rest).unwrap().parse().expect("a number") };
    match tag {
        b'+' | b'-' => assert!(!rest.contains(&b'\r') && !rest.contains(&b'\n')),
        b':' => {
            num();
        }
        b',' => {
            let s = std::str::from_utf8(rest).unwrap();
            assert!(s.parse::<f64>().is_ok() || ["inf", "-inf", "nan"].contains(&s), "double {s}");
        }
        b'#' => assert!(rest == b"t" || rest == b"f"),
        b'_' => assert!(rest.is_empty()),
        b'$' => {
            let n = num();
            if n >= 0 {
                let n = n as usize;
                assert_eq!(&b[*i + n..*i + n + 2], b"\r\n");
                *i += n + 2;
            } else {
                assert_eq!(n, -1);
            }
        }
        b'*' | b'%' => {
            let n = num();
            assert!(n >= -1);
            let items = if tag == b'%' { n * 2 } else { n };
            for _ in 0..items.max(0) {
                reply(b, i, depth + 1);
            }
        }
        other => panic!("unknown reply type {:?}", other as char),
    }
}

/// Checks the contract on one input; panics on a violation.
pub fn check(data: &[u8]) {
    let Some((&setup, stream)) = data.split_first() else { return };
    let limits = if setup & 2 != 0 {
        Limits { max_bulk_len: 256, max_args: 64, max_buffered: 2048, max_inline_len: 512 }
    } else {
        Limits::default()
    };
    let backend = MemoryBackend::new();
    let mut fixture = Connection::new(1, None, Limits::default());
    let mut out = Vec::new();
    for i in 0..12u32 {
        let cmd = format!(
            "VADD s VALUES 4 {} {} {} 1 e{i} SETATTR '{{\"n\":{i},\"g\":\"{}\"}}'\r\n",
            i % 3,
            i % 5,
            i % 7,
            ["a", "b"][i as usize % 2]
        );
        assert!(block_on(fixture.receive(&backend, cmd.as_bytes(), &mut out)));
    }
    assert_eq!(out, b":1\r\n".repeat(12));

    let token = (setup & 1 != 0).then(|| b"tok".to_vec());
    let mut conn = Connection::new(2, token, limits);
    let chunk = 1 + (setup >> 2) as usize * 3;
    let mut written = Vec::new();
    for part in stream.chunks(chunk) {
        let was_open = conn.is_open();
        let mut out = Vec::new();
        let open = block_on(conn.receive(&backend, part, &mut out));
        if !was_open {
            assert!(out.is_empty(), "a closed connection wrote");
        }
        assert_eq!(open, conn.is_open());
        assert!(conn.buffered() <= limits.max_buffered, "{} bytes held", conn.buffered());
        written.extend_from_slice(&out);
    }
    let mut i = 0;
    while i < written.len() {
        reply(&written, &mut i, 0);
    }
    assert_eq!(i, written.len());

    for name in block_on(backend.list()).unwrap() {
        let info = block_on(backend.info(&name)).unwrap().expect("a listed collection exists");
        assert!(info.size > 0, "empty collection {name:?} is visible");
    }
}
