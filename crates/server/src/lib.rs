//! # vecshard-server: the HTTP face of a cluster
//!
//! Two routers over [`vecshard_coordinator`]:
//!
//! - [`router`]: the coordinator API for people and programs, in JSON.
//!
//!   | route | body | answer |
//!   |---|---|---|
//!   | `POST /v1/vectors` | `{"vectors": [{"key", "vector", "attributes"?}]}` | `{"inserted", "updated"}` |
//!   | `GET /v1/vectors/{key}` | | `{"key", "vector", "attributes"}` or 404 |
//!   | `DELETE /v1/vectors/{key}` | | `{"deleted": true}` or 404 |
//!   | `POST /v1/search` | `{"vector", "k"?, "ef"?, "strict"?, "filter"?}` | `{"results": [{"key", "distance"}], "partial", "missing_shards", "took_us"}` |
//!   | `GET /v1/info` | | shards, hash, settings, per-shard counts and memory |
//!   | `POST /v1/checkpoint` | | checkpoints every local shard |
//!   | `GET /healthz` | | `ok`, `degraded: ...` (200) or `down` (503) |
//!   | `GET /metrics` | | Prometheus text |
//!
//! - [`collections_router`]: the same routes for many named collections
//!   behind a [`Catalog`]: `GET /v1/collections`, `PUT|GET|DELETE
//!   /v1/collections/{name}` (the `PUT` body is `{"dim", "metric"?,
//!   "shards"?, "m"?, "ef_construction"?, "ef_search"?, "quantization"?,
//!   "seed"?}`), every route above under `/v1/collections/{name}/...`, and
//!   the routes above as they are for the collection `default`.
//!
//! - [`shard_router`]: one shard for a coordinator on another machine,
//!   `POST /v1/shard` with the postcard protocol as the body (plus
//!   `/healthz` and `/metrics`). [`HttpShard`] is the matching client, a
//!   [`ShardTransport`](vecshard_coordinator::ShardTransport).
//!
//! Every error is `{"error": {"code", "message"}}` with a stable snake_case
//! `code` ([`ApiError`]), and a failed request changes nothing: bodies are
//! parsed and validated completely before the coordinator sends anything.
//! An optional bearer token guards every route; bodies, batches, `k` and
//! request time are bounded ([`ServerConfig`]).
//!
//! What it is **not**: it owns no shards. The CLI decides what the shards
//! are (local wasmtime workers with a data dir, or remote URLs) and passes
//! their transports in, with [`Hooks`] for what only local shards can do
//! (memory gauges, restarts, checkpoints).

mod api;
mod collections;
mod error;
mod http_shard;
pub mod metrics;
mod resp;

pub use api::{router, shard_router, App, Hooks, NoHooks, ServerConfig};
/// The router type both router constructors return.
pub use axum::Router;
pub use collections::{
    collections_router, Catalog, CollectionSpec, CollectionView, DEFAULT_COLLECTION,
};
pub use error::ApiError;
pub use http_shard::{HttpShard, SHARD_CONTENT_TYPE};
pub use resp::{serve_resp, RespOptions};

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

/// Connection-level limits of [`serve_with`].
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Most connections open at once (default 1024). At the cap the server
    /// stops accepting until one closes; new clients wait in the kernel's
    /// listen backlog instead of costing memory here.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from the
    /// connection opening or from the previous response (default 10 s).
    /// It reaps slow-loris clients and idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// On shutdown, how long requests in flight may take to finish before
    /// every remaining connection is closed (default 5 s). The final
    /// checkpoint runs after this, so no client can hold it up.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// [`serve_with`] with the default [`ServeOptions`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, ServeOptions::default()).await
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish for at most `drain_timeout` and closes every
/// connection.
///
/// This is our own accept loop rather than `axum::serve`, which runs hyper
/// without a timer: hyper's header-read timeout is then off, so a client
/// that sends half a request line holds its connection, and graceful
/// shutdown, forever. Here each connection is an HTTP/1.1 hyper connection
/// with a timer, watched by one [`GracefulShutdown`], and counted against
/// `max_connections` with a semaphore permit that it holds until it closes.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    opts: ServeOptions,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(opts.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut conns = tokio::task::JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(opts.header_read_timeout).keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let Some((stream, permit)) =
            accept_permitted(&listener, &permits, &mut shutdown, "HTTP").await
        else {
            break;
        };
        let conn =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
        let conn = graceful.watch(conn);
        conns.spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    // Idle connections close now; busy ones after their current response.
    if tokio::time::timeout(opts.drain_timeout, graceful.shutdown()).await.is_err() {
        eprintln!(
            "vecshard: {} connection(s) still open after {:?}; closing them",
            conns.len(),
            opts.drain_timeout
        );
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
    Ok(())
}

/// The next connection of an accept loop: waits for a free slot of
/// `permits` (the connection cap), then for a client, and returns both, with
/// Nagle off; `None` once `shutdown` resolves. Accept errors (out of file
/// descriptors and the like) are the kernel's, not a client's: they are
/// logged and retried after a pause instead of spinning. The HTTP and RESP
/// listeners share it.
pub(crate) async fn accept_permitted(
    listener: &tokio::net::TcpListener,
    permits: &Arc<tokio::sync::Semaphore>,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    what: &str,
) -> Option<(tokio::net::TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let permit = tokio::select! {
        p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        () = shutdown.as_mut() => return None,
    };
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    return Some((stream, permit));
                }
                Err(e) => {
                    eprintln!("vecshard: {what} accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = shutdown.as_mut() => return None,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = futures::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
