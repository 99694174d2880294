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
mod error;
mod http_shard;
pub mod metrics;

pub use api::{router, shard_router, App, Hooks, NoHooks, ServerConfig};
/// The router type both router constructors return.
pub use axum::Router;
pub use error::ApiError;
pub use http_shard::{HttpShard, SHARD_CONTENT_TYPE};

use std::future::Future;

/// Serves `router` on `listener` until `shutdown` resolves, then finishes
/// the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
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
