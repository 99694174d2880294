//! `floor`: the latency floor of an HTTP request on this machine.
//!
//! A minimal server with the same HTTP stack as `vecshard serve` (a tokio
//! multi-thread runtime, hyper HTTP/1.1 keep-alive, `TCP_NODELAY`) that
//! reads each request's body and answers a fixed JSON body from memory: a
//! search reply of the same shape and size as vecshard's. No router, no
//! coordinator, no shard threads, no wasm.
//!
//! `--work-us N` burns N µs of CPU per request inline, on the HTTP thread,
//! before answering: a server that does as much computing as a search but
//! hands nothing to another thread. On a shared machine, where a request
//! that needs the CPU for a while can be preempted, this is the fair floor
//! for vecshard's tail; without it, the floor of the HTTP stack alone.
//! `--threads N` sets the tokio workers (default: tokio's, one per CPU).
//!
//! Run the `load` tool against it exactly as against `vecshard serve`
//! (same requests, same connection count), interleaved with runs against
//! the real server: what `floor` measures is the scheduler, the loopback
//! and the HTTP stack, i.e. what no change inside vecshard can remove. If
//! vecshard's tail is close to `floor`'s in the same run, the machine is
//! the floor; if it is far above, the gap is ours.
//!
//! ```text
//! floor 127.0.0.1:7792 [--threads 1] [--work-us 700] &
//! load --url 127.0.0.1:7792 --queries ../shared/data/glove100-100k/query.fvecs \
//!      --seconds 30 --connections 1 --upsert 0
//! ```

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A reply shaped like `POST /v1/search` with k 10 (about 400 bytes).
fn reply_body() -> Bytes {
    let mut s = String::from("{\"results\":[");
    for i in 0..10 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{{\"key\":\"{}\",\"distance\":0.{:07}}}", 10_000 + i, 1_234_567 + i));
    }
    s.push_str("],\"partial\":false,\"missing_shards\":[],\"took_us\":0}");
    Bytes::from(s)
}

/// Keeps this thread computing for `d` (the clock reads are the work).
fn burn(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn main() {
    let mut addr = "127.0.0.1:7792".to_string();
    let (mut threads, mut work) = (None, Duration::ZERO);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut num = || -> u64 {
            it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("usage: floor [HOST:PORT] [--threads N] [--work-us N]");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--threads" => threads = Some(num().max(1) as usize),
            "--work-us" => work = Duration::from_micros(num()),
            _ => addr = a,
        }
    }
    let body = reply_body();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        rt.worker_threads(n);
    }
    let rt = rt.enable_all().build().expect("tokio");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        eprintln!(
            "floor: answering a fixed {}-byte body after {work:?} of work on http://{addr}",
            body.len()
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        // Read the request body, as the real server does.
                        let _ = req.into_body().collect().await;
                        burn(work);
                        let resp = Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(body))
                            .expect("a valid response");
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}
