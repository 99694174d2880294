//! A tiny, test-only TCP loop around [`Connection`] and the in-memory
//! backend, so that real clients (redis-py, redis-cli) and the side-by-side
//! script `tests/redis_side_by_side.py` can talk to this crate without the
//! server. One thread per connection, no timeouts, no durability: not for
//! production (that is `vecshard serve --resp`).
//!
//! `cargo run -p vecshard-resp --example resp_loop -- 127.0.0.1:16400 [token]`

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use vecshard_resp::memory::{block_on, MemoryBackend};
use vecshard_resp::{Connection, Limits};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:16400".into());
    let token = args.next().map(String::into_bytes);
    let listener = TcpListener::bind(&addr)?;
    eprintln!("resp_loop listening on {addr}");
    let backend = Arc::new(MemoryBackend::new());
    for (id, stream) in listener.incoming().enumerate() {
        let mut stream = stream?;
        let backend = Arc::clone(&backend);
        let token = token.clone();
        std::thread::spawn(move || {
            let mut conn = Connection::new(id as u64 + 1, token, Limits::default());
            let mut buf = vec![0u8; 64 * 1024];
            let mut out = Vec::new();
            loop {
                let n = match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                out.clear();
                let open = block_on(conn.receive(&*backend, &buf[..n], &mut out));
                if stream.write_all(&out).is_err() || !open {
                    return;
                }
            }
        });
    }
    Ok(())
}
