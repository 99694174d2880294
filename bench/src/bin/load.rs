//! `load`: a sustained mixed load against a running `vecshard serve`.
//!
//! Closed-loop: each of `--connections` threads keeps one HTTP/1.1
//! keep-alive connection and sends one request at a time, so the latency
//! of every request is measured from the first byte written to the last
//! byte read. Each request is a search (`POST /v1/search`) or, with
//! probability `--upsert`, a one-vector upsert (`POST /v1/vectors`) under a
//! fresh key. The tool records:
//!
//! - throughput and p50/p90/p99/p99.9/max latency, per operation and overall;
//! - the server's own `took_us` of each search (its time from the body
//!   read to the reply built), so a tail can be placed inside or outside
//!   the search route;
//! - errors (any non-200 status, any broken connection): the goal is 0;
//! - the server's resident memory over time (`--pid`, from /proc), to show
//!   it stays bounded;
//! - afterwards, that **every acknowledged upsert is readable** (`GET
//!   /v1/vectors/{key}` for each key that got a 200).
//!
//! It is std-only on purpose: no async runtime between the clock and the
//! socket, so what it measures is the server. wrk was the other choice; it
//! cannot tell which upserts were acknowledged on which connection.
//!
//! ```text
//! cargo run --release -p vecshard-bench --bin load -- --url 127.0.0.1:7700 \
//!     --queries ../shared/data/glove100-100k/query.fvecs --seconds 600 \
//!     --connections 32 --upsert 0.1 --ef 40 --pid $(pgrep -f 'vecshard serve')
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vecshard_bench::{percentile, read_fvecs};

struct Args {
    url: String,
    queries: PathBuf,
    seconds: f64,
    connections: usize,
    upsert: f64,
    k: u32,
    ef: u32,
    pid: Option<u32>,
    token: Option<String>,
    seed: u64,
    json: bool,
    /// Instead of the mix, only `GET path` (any status counts as an
    /// answer): `/healthz` (coordinator → every shard → back, no search) or
    /// an unknown route (the HTTP stack alone) give the floors the search
    /// latency is compared with.
    get: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: load --url HOST:PORT --queries FILE.fvecs [--seconds 60] [--connections 32] \
         [--upsert 0.1] [--k 10] [--ef 40] [--pid SERVER_PID] [--token T] [--seed 1] [--json] \
         [--get PATH]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        url: String::new(),
        queries: PathBuf::new(),
        seconds: 60.0,
        connections: 32,
        upsert: 0.1,
        k: 10,
        ef: 40,
        pid: None,
        token: std::env::var("VECSHARD_TOKEN").ok(),
        seed: 1,
        json: false,
        get: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--json" {
            a.json = true;
            continue;
        }
        if flag == "--help" || flag == "-h" {
            usage();
        }
        let v = it.next().unwrap_or_else(|| usage());
        let num = |v: &str| v.parse::<f64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--url" => a.url = v.trim_start_matches("http://").trim_end_matches('/').to_string(),
            "--queries" => a.queries = v.into(),
            "--seconds" => a.seconds = num(&v),
            "--connections" => a.connections = num(&v) as usize,
            "--upsert" => a.upsert = num(&v),
            "--k" => a.k = num(&v) as u32,
            "--ef" => a.ef = num(&v) as u32,
            "--pid" => a.pid = Some(num(&v) as u32),
            "--token" => a.token = Some(v),
            "--seed" => a.seed = num(&v) as u64,
            "--get" => a.get = Some(v),
            _ => usage(),
        }
    }
    if a.url.is_empty() || a.queries.as_os_str().is_empty() || a.connections == 0 {
        usage();
    }
    a
}

/// SplitMix64: a seeded stream per thread, so a run is repeatable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    addr: String,
    auth: String,
    r: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: &str, token: Option<&str>) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        Ok(Conn { addr: addr.to_string(), auth, r: BufReader::new(s) })
    }

    /// Sends one request and reads the whole response: (status, body).
    fn call(&mut self, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n{}\r\n",
            self.addr,
            body.len(),
            self.auth
        );
        let mut msg = head.into_bytes();
        msg.extend_from_slice(body);
        self.r.get_mut().write_all(&msg)?;
        let mut line = String::new();
        self.r.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut len = 0usize;
        loop {
            line.clear();
            if self.r.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len];
        self.r.read_exact(&mut body)?;
        Ok((status, body))
    }
}

fn vector_json(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 12);
    s.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&x.to_string());
    }
    s.push(']');
    s
}

#[derive(Default)]
struct ThreadResult {
    search_us: Vec<u32>,
    /// The server's `took_us` of each search that reported one.
    took_us: Vec<u32>,
    upsert_us: Vec<u32>,
    acked: Vec<String>,
    errors: Vec<String>,
}

fn worker(
    t: usize,
    a: Arc<Args>,
    queries: Arc<Vec<Vec<f32>>>,
    stop: Arc<AtomicBool>,
) -> ThreadResult {
    let mut rng = Rng(a.seed.wrapping_mul(1000).wrapping_add(t as u64));
    let mut out = ThreadResult::default();
    let mut conn = None;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if conn.is_none() {
            match Conn::open(&a.url, a.token.as_deref()) {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    out.errors.push(format!("connect: {e}"));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected");
        if let Some(path) = &a.get {
            let t0 = Instant::now();
            match c.call("GET", path, b"") {
                Ok(_) => out.search_us.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32),
                Err(e) => {
                    out.errors.push(format!("{path}: {e}"));
                    conn = None;
                }
            }
            continue;
        }
        let q = &queries[(rng.next() % queries.len() as u64) as usize];
        let upsert = rng.unit() < a.upsert;
        let (path, body, key) = if upsert {
            // A new key with a query vector nudged off the data.
            let key = format!("load-{}-{t}-{n}", a.seed);
            let v: Vec<f32> = q.iter().map(|x| x + (rng.unit() as f32 - 0.5) * 0.01).collect();
            let body =
                format!("{{\"vectors\":[{{\"key\":\"{key}\",\"vector\":{}}}]}}", vector_json(&v));
            ("/v1/vectors", body, Some(key))
        } else {
            let body = format!("{{\"vector\":{},\"k\":{},\"ef\":{}}}", vector_json(q), a.k, a.ef);
            ("/v1/search", body, None)
        };
        n += 1;
        let t0 = Instant::now();
        let r = c.call("POST", path, body.as_bytes());
        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match r {
            Ok((200, b)) => {
                if let Some(k) = key {
                    out.upsert_us.push(us);
                    out.acked.push(k);
                } else {
                    out.search_us.push(us);
                    if let Some(t) = took_us(&b) {
                        out.took_us.push(t);
                    }
                }
            }
            Ok((st, b)) => {
                out.errors.push(format!("{path}: {st} {}", String::from_utf8_lossy(&b)));
            }
            Err(e) => {
                out.errors.push(format!("{path}: {e}"));
                conn = None;
            }
        }
    }
    out
}

/// The `"took_us": N` field of a search reply, without parsing the rest.
fn took_us(body: &[u8]) -> Option<u32> {
    const FIELD: &[u8] = b"\"took_us\":";
    let at = body.windows(FIELD.len()).rposition(|w| w == FIELD)? + FIELD.len();
    let digits: String = body[at..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    digits.parse::<u64>().ok().map(|t| t.min(u64::from(u32::MAX)) as u32)
}

/// The 1-minute load average, the machine state a latency is quoted with.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn rss_of(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

struct Summary {
    count: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

fn summarize(us: &[u32]) -> Summary {
    let mut v: Vec<f64> = us.iter().map(|&x| x as f64 / 1000.0).collect();
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    Summary {
        count: v.len(),
        p50: percentile(&v, 50.0),
        p90: percentile(&v, 90.0),
        p99: percentile(&v, 99.0),
        p999: percentile(&v, 99.9),
        max: v.last().copied().unwrap_or(0.0),
    }
}

fn main() {
    let a = Arc::new(parse_args());
    let m = read_fvecs(&a.queries).unwrap_or_else(|e| {
        eprintln!("load: {e}");
        std::process::exit(1)
    });
    let queries: Arc<Vec<Vec<f32>>> = Arc::new((0..m.rows()).map(|i| m.row(i).to_vec()).collect());
    eprintln!(
        "load: {} connections, {:.0} s, {:.0}% upserts, k {} ef {}, against http://{}",
        a.connections,
        a.seconds,
        a.upsert * 100.0,
        a.k,
        a.ef,
        a.url
    );
    let load_before = loadavg();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..a.connections)
        .map(|t| {
            let (a, q, s) = (a.clone(), queries.clone(), stop.clone());
            std::thread::spawn(move || worker(t, a, q, s))
        })
        .collect();
    // Memory samples every 5 s (and a progress line every 30 s).
    let mut rss: Vec<(f64, u64)> = Vec::new();
    let deadline = Duration::from_secs_f64(a.seconds);
    let mut next_log = 30.0;
    while started.elapsed() < deadline {
        if let Some(b) = a.pid.and_then(rss_of) {
            rss.push((started.elapsed().as_secs_f64(), b));
        }
        let el = started.elapsed().as_secs_f64();
        if el >= next_log {
            eprintln!(
                "load: {el:.0} s{}",
                rss.last().map(|r| format!(", server RSS {} MiB", r.1 >> 20)).unwrap_or_default()
            );
            next_log += 30.0;
        }
        std::thread::sleep(Duration::from_secs(5).min(deadline.saturating_sub(started.elapsed())));
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = ThreadResult::default();
    for h in handles {
        let r = h.join().expect("worker thread");
        all.search_us.extend(r.search_us);
        all.upsert_us.extend(r.upsert_us);
        all.took_us.extend(r.took_us);
        all.acked.extend(r.acked);
        all.errors.extend(r.errors);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let load_after = loadavg();
    if let Some(b) = a.pid.and_then(rss_of) {
        rss.push((elapsed, b));
    }

    // Every acknowledged upsert must be readable now.
    eprintln!("load: checking {} acknowledged upserts", all.acked.len());
    let acked = Arc::new(std::mem::take(&mut all.acked));
    let checkers = a.connections.clamp(1, 8);
    let missing: Vec<String> = (0..checkers)
        .map(|t| {
            let (a, acked) = (a.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut c = Conn::open(&a.url, a.token.as_deref()).expect("connect for checks");
                let mut missing = Vec::new();
                for k in acked.iter().skip(t).step_by(checkers) {
                    match c.call("GET", &format!("/v1/vectors/{k}"), b"") {
                        Ok((200, _)) => {}
                        other => missing.push(format!("{k}: {:?}", other.map(|r| r.0))),
                    }
                }
                missing
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|h| h.join().expect("checker"))
        .collect();

    let s = summarize(&all.search_us);
    let u = summarize(&all.upsert_us);
    let mut both = all.search_us.clone();
    both.extend_from_slice(&all.upsert_us);
    let o = summarize(&both);
    let took = summarize(&all.took_us);
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    // Memory after the first minute (warm-up, allocator growth) and at the end.
    let warm = rss.iter().find(|r| r.0 >= 60.0_f64.min(elapsed / 2.0)).or(rss.first());
    let peak = rss.iter().map(|r| r.1).max();
    if a.json {
        let row = |name: &str, s: &Summary| {
            serde_json::json!({"op": name, "count": s.count, "qps": s.count as f64 / elapsed,
                "p50_ms": s.p50, "p90_ms": s.p90, "p99_ms": s.p99, "p999_ms": s.p999, "max_ms": s.max})
        };
        let report = serde_json::json!({
            "seconds": elapsed, "connections": a.connections, "upsert_ratio": a.upsert,
            "k": a.k, "ef": a.ef,
            "ops": [row("search", &s), row("upsert", &u), row("all", &o)],
            "server_took": row("search took_us", &took),
            "loadavg_before": load_before, "loadavg_after": load_after,
            "errors": all.errors.len(), "first_errors": all.errors.iter().take(5).collect::<Vec<_>>(),
            "acknowledged_upserts": acked.len(), "missing_after": missing.len(),
            "rss_mib": rss.iter().map(|r| [r.0, mib(r.1)]).collect::<Vec<_>>(),
        });
        println!("{report:#}");
    } else {
        println!(
            "duration {elapsed:.1} s, {} connections, k {} ef {}, load average {load_before} \
             before, {load_after} after",
            a.connections, a.k, a.ef
        );
        println!("| op | requests | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |");
        println!("|---|---|---|---|---|---|---|---|");
        let first = a.get.as_deref().map_or("search".to_string(), |p| format!("GET {p}"));
        for (name, x) in [(first.as_str(), &s), ("upsert", &u), ("all", &o)] {
            println!(
                "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
                x.count,
                x.count as f64 / elapsed,
                x.p50,
                x.p90,
                x.p99,
                x.p999,
                x.max
            );
        }
        if took.count > 0 {
            println!(
                "| server took_us (search) | {} | | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
                took.count, took.p50, took.p90, took.p99, took.p999, took.max
            );
        }
        println!("errors: {}", all.errors.len());
        for e in all.errors.iter().take(5) {
            println!("  {e}");
        }
        println!("acknowledged upserts: {}, missing afterwards: {}", acked.len(), missing.len());
        if let (Some(first), Some(w), Some(last), Some(p)) = (rss.first(), warm, rss.last(), peak) {
            println!(
                "server RSS: start {:.0} MiB, after warm-up ({:.0} s) {:.0} MiB, end {:.0} MiB, \
                 peak {:.0} MiB ({} samples)",
                mib(first.1),
                w.0,
                mib(w.1),
                mib(last.1),
                mib(p),
                rss.len()
            );
            // The curve, one sample a minute (every sample for short runs).
            let every = if elapsed > 120.0 { 60.0 } else { 5.0 };
            let mut next = 0.0;
            let mut curve = Vec::new();
            for (t, b) in &rss {
                if *t >= next {
                    curve.push(format!("{t:.0}s {:.0}", mib(*b)));
                    next = (t / every).floor() * every + every;
                }
            }
            println!("server RSS over time (MiB): {}", curve.join(", "));
        }
    }
    for m in missing.iter().take(5) {
        eprintln!("missing: {m}");
    }
    if !all.errors.is_empty() || !missing.is_empty() {
        std::process::exit(1);
    }
}
