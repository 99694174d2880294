//! Helpers shared by the end-to-end tests of the real `vecshard` binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_vecshard");

pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vecshard-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Deterministic vectors: row i of dimension `dim`.
pub fn row(i: usize, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|j| (((i * 31 + j * 17) % 97) as f32 / 97.0) - 0.5 + (i % 7) as f32 * 0.01)
        .collect()
}

pub fn write_fvecs(path: &Path, n: usize, dim: usize) {
    let mut b = Vec::new();
    for i in 0..n {
        b.extend_from_slice(&(dim as i32).to_le_bytes());
        for x in row(i, dim) {
            b.extend_from_slice(&x.to_le_bytes());
        }
    }
    std::fs::write(path, b).unwrap();
}

pub fn vecshard(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("run vecshard")
}

pub fn build(dir: &Path, n: usize, dim: usize, shards: u32) -> PathBuf {
    let input = dir.join("base.fvecs");
    write_fvecs(&input, n, dim);
    let out = dir.join("data");
    let o = vecshard(&[
        "build",
        "--input",
        input.to_str().unwrap(),
        "--shards",
        &shards.to_string(),
        "--metric",
        "l2",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "build failed: {}", String::from_utf8_lossy(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["vectors"], n as u64);
    out
}

/// A running `vecshard` server; killed (SIGKILL) on drop.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vecshard");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                panic!("server exited before listening: {:?}", child.wait());
            }
            if let Some(i) = line.find("http://") {
                break line[i + 7..].split_whitespace().next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = err.read_to_string(&mut sink);
        });
        Server { child, addr }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: a clean shutdown.
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        std::mem::forget(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// method, path, body, token, expected status, expected code.
pub type Case<'a> = (&'a str, &'a str, Vec<u8>, Option<&'a str>, u16, &'a str);

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
    token: Option<&str>,
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text_end = resp.windows(4).position(|w| w == b"\r\n\r\n").expect("http head") + 4;
    let head = String::from_utf8_lossy(&resp[..text_end]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = resp[text_end..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 4 + n..];
    }
}

pub fn json_call(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let bytes = body.map(|v| serde_json::to_vec(&v).unwrap()).unwrap_or_default();
    let (st, b) = http(addr, method, path, &bytes, token);
    (st, serde_json::from_slice(&b).unwrap_or(Value::String(String::from_utf8_lossy(&b).into())))
}

pub fn search(addr: &str, v: &[f32], token: Option<&str>) -> Value {
    let (st, r) =
        json_call(addr, "POST", "/v1/search", Some(json!({"vector": v, "k": 5, "ef": 500})), token);
    assert_eq!(st, 200, "{r}");
    r
}
