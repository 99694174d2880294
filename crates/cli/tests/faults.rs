//! Fault injection against the real `vecshard serve --fsync always`:
//! every failpoint of the write and checkpoint paths once each, then
//! `kill -9` at random moments under write and checkpoint load. After each
//! crash the server is restarted and every write is checked: an
//! acknowledged write must be there (with its vector), a write reported as
//! failed must not, and the shard must open (DESIGN.md § Durability).
//!
//! Failpoints are switched on in the binary with `VECSHARD_FAILPOINTS`
//! (testing only; see `vecshard_host::failpoint`). The random-kill test
//! runs `VECSHARD_KILL_TRIALS` trials (default 12) from seed
//! `VECSHARD_KILL_SEED` (default: the clock; printed either way).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_vecshard");

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vecshard-faults-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running `vecshard serve`; killed (SIGKILL) on drop. Its stderr is
/// kept, to see which failpoints fired.
struct Server {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(data: &Path, failpoints: Option<&str>) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--data", data.to_str().unwrap(), "--fsync", "always"])
            .args(["--shards", "2", "--dim", "4", "--metric", "l2"])
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("VECSHARD_FAILPOINTS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(fp) = failpoints {
            cmd.env("VECSHARD_FAILPOINTS", fp);
        }
        let mut child = cmd.spawn().expect("spawn vecshard");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let log = Arc::new(Mutex::new(String::new()));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                panic!(
                    "server exited before listening: {:?}\n{}",
                    child.wait(),
                    log.lock().unwrap()
                );
            }
            log.lock().unwrap().push_str(&line);
            if let Some(i) = line.find("http://") {
                break line[i + 7..].split_whitespace().next().unwrap().to_string();
            }
        };
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Server { child, addr, log }
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One HTTP/1.1 request with `Connection: close`: `None` if the connection
/// failed or was cut (the server died), else (status, body).
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let end = resp.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&resp[..end]).to_string();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return None; // not used by these routes; treat as unknown
    }
    Some((status, String::from_utf8_lossy(&resp[end..]).to_string()))
}

/// The vector of write `n` (exactly representable, so JSON round trips).
fn vector(n: u64) -> Vec<f32> {
    let f = (n % 4096) as f32;
    vec![f / 8.0, (n % 7) as f32, -(f / 16.0), 1.0]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Acked,
    Failed,
    /// No answer (the server died), or an answer that says the outcome is
    /// unknown: either way is allowed after the restart.
    Unknown,
}

fn upsert(addr: &str, key: &str, n: u64) -> Outcome {
    let body =
        serde_json::to_vec(&json!({"vectors": [{"key": key, "vector": vector(n)}]})).unwrap();
    match http(addr, "POST", "/v1/vectors", &body) {
        None => Outcome::Unknown,
        Some((200, _)) => Outcome::Acked,
        Some((_, b)) if b.contains("outcome is unknown") => Outcome::Unknown,
        Some((st, b)) if st >= 400 && b.contains("\"") => Outcome::Failed,
        Some(_) => Outcome::Unknown,
    }
}

/// Whether `key` is present with write `n`'s vector (`None`: present with
/// another vector, which is never right).
fn present(addr: &str, key: &str, n: u64) -> Option<bool> {
    let (st, b) = http(addr, "GET", &format!("/v1/vectors/{key}"), b"")
        .unwrap_or_else(|| panic!("GET {key}: no answer from the restarted server"));
    match st {
        404 => Some(false),
        200 => {
            let v: Value = serde_json::from_str(&b).unwrap();
            let got: Vec<f32> = v["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            (got == vector(n)).then_some(true)
        }
        _ => panic!("GET {key}: {st} {b}"),
    }
}

/// What the writes of a run were answered.
#[derive(Default)]
struct Ledger {
    writes: BTreeMap<String, (u64, Outcome)>,
}

/// Counts after checking a ledger against a restarted server.
#[derive(Debug, Default)]
struct Checked {
    acked: u64,
    failed: u64,
    lost: Vec<String>,
    resurrected: Vec<String>,
}

fn check(addr: &str, ledger: &Ledger) -> Checked {
    let mut c = Checked::default();
    for (key, &(n, outcome)) in &ledger.writes {
        let p = present(addr, key, n);
        match outcome {
            Outcome::Acked => {
                c.acked += 1;
                if p != Some(true) {
                    c.lost.push(key.clone());
                }
            }
            Outcome::Failed => {
                c.failed += 1;
                if p != Some(false) {
                    c.resurrected.push(key.clone());
                }
            }
            Outcome::Unknown => assert!(p.is_some(), "{key} holds another vector"),
        }
    }
    c
}

/// A data dir with an empty 2-shard cluster (created by a first run).
fn fresh_data(name: &str) -> PathBuf {
    let dir = tmpdir(name);
    let data = dir.join("data");
    let mut s = Server::start(&data, None);
    s.kill9();
    data
}

/// For each failpoint of the write and checkpoint paths: inject it once
/// during a write load with checkpoints, `kill -9`, restart, check.
#[test]
fn one_fault_at_a_time_loses_no_acknowledged_write() {
    // (failpoint that must fire, VECSHARD_FAILPOINTS)
    let cases: &[(&str, &str)] = &[
        ("wal.append", "wal.append=3+1*partial"),
        ("wal.fsync", "wal.fsync=3+1*error"),
        ("wal.truncate", "wal.append=3+1*partial;wal.truncate=1*error"),
        ("snapshot.create", "snapshot.create=1*error"),
        ("snapshot.write", "snapshot.write=1*partial"),
        ("snapshot.fsync", "snapshot.fsync=1*error"),
        ("snapshot.rename", "snapshot.rename=1*error"),
        ("snapshot.dirsync", "snapshot.dirsync=1*error"),
        ("wal.create", "wal.create=1*error"),
        ("wal.create.write", "wal.create.write=1*error"),
        ("wal.create.fsync", "wal.create.fsync=1*error"),
        ("wal.rename", "wal.rename=1*error"),
        ("wal.dirsync", "wal.dirsync=1*error"),
        ("tmp.remove", "snapshot.fsync=1*error;tmp.remove=1*error"),
    ];
    let (mut total_acked, mut total_failed) = (0, 0);
    for &(fp, spec) in cases {
        let data = fresh_data(&format!("one-{fp}"));
        let mut srv = Server::start(&data, Some(spec));
        let mut ledger = Ledger::default();
        let mut checkpoints = Vec::new();
        for i in 0..40u64 {
            if i % 8 == 5 {
                let r = http(&srv.addr, "POST", "/v1/checkpoint", b"").map(|r| r.0);
                checkpoints.push(r);
            }
            let key = format!("{fp}-{i}");
            let o = upsert(&srv.addr, &key, i);
            ledger.writes.insert(key, (i, o));
        }
        let log = srv.log();
        assert!(log.contains(&format!("failpoint {fp} fired")), "{fp} never fired:\n{log}");
        srv.kill9();

        let srv = Server::start(&data, None);
        let c = check(&srv.addr, &ledger);
        println!(
            "{fp:18} acked {:2} failed {:2} lost {} resurrected {} checkpoints {checkpoints:?}",
            c.acked,
            c.failed,
            c.lost.len(),
            c.resurrected.len()
        );
        assert!(c.lost.is_empty(), "{fp}: acknowledged writes lost: {:?}\n{log}", c.lost);
        assert!(c.resurrected.is_empty(), "{fp}: failed writes came back: {:?}", c.resurrected);
        assert!(c.acked > 0, "{fp}: nothing was acknowledged");
        total_acked += c.acked;
        total_failed += c.failed;
    }
    println!(
        "one fault at a time: {} failpoints x 1 trial, {total_acked} acknowledged writes checked, \
         {total_failed} failed writes checked, 0 lost",
        cases.len()
    );
}

/// A small deterministic generator (xorshift64*), seeded and printed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `kill -9` at random moments under two writers and a checkpoint loop;
/// after each restart, every write of that trial is checked, and at the
/// end every write of every trial.
#[test]
fn random_kills_lose_no_acknowledged_write() {
    let trials: u64 =
        std::env::var("VECSHARD_KILL_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(12);
    let seed: u64 = std::env::var("VECSHARD_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
        });
    println!("random kills: {trials} trials, seed {seed} (VECSHARD_KILL_SEED={seed} to replay)");
    let mut rng = Rng(seed | 1);
    let data = fresh_data("random");
    let all = Arc::new(Mutex::new(Ledger::default()));
    let mut lost_total = 0;
    let mut resurrected_total = 0;
    let start = Instant::now();
    for t in 0..trials {
        let srv = Server::start(&data, None);
        let stop = Arc::new(AtomicBool::new(false));
        let trial = Arc::new(Mutex::new(Ledger::default()));
        let mut threads = Vec::new();
        for w in 0..2u64 {
            let (addr, stop, trial) = (srv.addr.clone(), stop.clone(), trial.clone());
            threads.push(std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let n = t * 1_000_000 + w * 100_000 + i;
                    let key = format!("t{t}-w{w}-{i}");
                    let o = upsert(&addr, &key, n);
                    trial.lock().unwrap().writes.insert(key, (n, o));
                    if o == Outcome::Unknown {
                        break; // the server is gone
                    }
                    i += 1;
                }
            }));
        }
        {
            let (addr, stop) = (srv.addr.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if http(&addr, "POST", "/v1/checkpoint", b"").is_none() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(30));
                }
            }));
        }
        let wait = 30 + rng.next() % 600;
        std::thread::sleep(Duration::from_millis(wait));
        let mut srv = srv;
        srv.kill9();
        stop.store(true, Ordering::Relaxed);
        for th in threads {
            th.join().unwrap();
        }

        let srv = Server::start(&data, None);
        let trial = std::mem::take(&mut *trial.lock().unwrap());
        let c = check(&srv.addr, &trial);
        lost_total += c.lost.len();
        resurrected_total += c.resurrected.len();
        assert!(c.lost.is_empty(), "trial {t} (seed {seed}): lost {:?}", c.lost);
        assert!(c.resurrected.is_empty(), "trial {t} (seed {seed}): {:?}", c.resurrected);
        all.lock().unwrap().writes.extend(trial.writes);
        drop(srv);
    }
    // Nothing acknowledged in an earlier trial went missing later.
    let srv = Server::start(&data, None);
    let all = all.lock().unwrap();
    let c = check(&srv.addr, &all);
    println!(
        "random kills: {trials} trials in {:.0?}, {} acknowledged writes checked ({} failed, {} \
         unknown), lost {} (per trial {lost_total}), resurrected {} (per trial \
         {resurrected_total})",
        start.elapsed(),
        c.acked,
        c.failed,
        all.writes.len() as u64 - c.acked - c.failed,
        c.lost.len(),
        c.resurrected.len()
    );
    assert!(c.lost.is_empty(), "seed {seed}: lost {:?}", c.lost);
    assert!(c.resurrected.is_empty(), "seed {seed}: came back {:?}", c.resurrected);
}
