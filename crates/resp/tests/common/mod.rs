//! Helpers shared by the integration tests: a connection over the memory
//! backend that takes commands as argument lists and returns reply bytes.

#![allow(dead_code)]

use vecshard_resp::memory::{block_on, MemoryBackend};
use vecshard_resp::{Connection, Limits};

pub struct Client {
    pub backend: MemoryBackend,
    pub conn: Connection,
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Splits a command line the simple way: words, and '...' for one word
/// with spaces.
pub fn words(line: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('\'') {
            let end = r.find('\'').expect("closing quote");
            out.push(r.as_bytes()[..end].to_vec());
            rest = r[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest.as_bytes()[..end].to_vec());
            rest = rest[end..].trim_start();
        }
    }
    out
}

impl Client {
    pub fn new() -> Client {
        Client::with(None, Limits::default())
    }

    pub fn with(token: Option<&str>, limits: Limits) -> Client {
        Client {
            backend: MemoryBackend::new(),
            conn: Connection::new(7, token.map(|t| t.as_bytes().to_vec()), limits),
        }
    }

    pub fn raw(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        block_on(self.conn.receive(&self.backend, bytes, &mut out));
        out
    }

    pub fn args(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.raw(&encode(args))
    }

    /// One command line (see [`words`]), its reply bytes.
    pub fn cmd(&mut self, line: &str) -> Vec<u8> {
        let w = words(line);
        let refs: Vec<&[u8]> = w.iter().map(|v| v.as_slice()).collect();
        self.args(&refs)
    }

    pub fn s(&mut self, line: &str) -> String {
        String::from_utf8_lossy(&self.cmd(line)).into_owned()
    }
}

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn f(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    pub fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.f()).collect()
    }
}

pub fn seed() -> u64 {
    let s = std::env::var("VECSHARD_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(
        || {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
        },
    );
    eprintln!("seed {s} (replay with VECSHARD_TEST_SEED={s})");
    s
}

pub fn values(v: &[f32]) -> String {
    let mut s = format!("VALUES {}", v.len());
    for x in v {
        s.push_str(&format!(" {x}"));
    }
    s
}

/// Parses a RESP3 reply of `VSIM ... WITHSCORES` (a map of bulk -> double).
pub fn scores3(bytes: &[u8]) -> Vec<(String, f64)> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let head = lines.next().unwrap();
    assert!(head.starts_with('%'), "not a map: {text}");
    let n: usize = head[1..].parse().unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        let _len = lines.next().unwrap();
        let name = lines.next().unwrap().to_owned();
        let d = lines.next().unwrap();
        assert!(d.starts_with(','), "not a double: {d}");
        out.push((name, d[1..].parse().unwrap()));
    }
    out
}

/// Parses a RESP array of bulk strings.
pub fn bulks(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let head = lines.next().unwrap();
    assert!(head.starts_with('*'), "not an array: {text}");
    let n: usize = head[1..].parse().unwrap();
    (0..n)
        .map(|_| {
            lines.next().unwrap();
            lines.next().unwrap().to_owned()
        })
        .collect()
}
