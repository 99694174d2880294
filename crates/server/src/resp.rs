//! [`serve_resp`]: the Redis protocol's accept loop. Each connection is a
//! task that reads bytes and hands them to a [`vecshard_resp::Connection`]
//! (framing, limits, authentication and execution live there, free of
//! networking), then writes the replies back.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vecshard_resp::{Backend, Connection, Limits};

/// Limits of [`serve_resp`].
#[derive(Clone, Debug)]
pub struct RespOptions {
    /// If set, every command but `AUTH`/`HELLO ... AUTH`/`QUIT` needs
    /// `AUTH <token>` first.
    pub token: Option<String>,
    /// Framing limits (bulk length, arguments, bytes buffered).
    pub limits: Limits,
    /// Most connections open at once (default 1024); further clients wait
    /// in the listen backlog.
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed (default
    /// 5 minutes; Redis's `timeout` is off by default, but an unbounded
    /// idle connection holds a slot of `max_connections` forever).
    pub idle_timeout: Duration,
}

impl Default for RespOptions {
    fn default() -> Self {
        RespOptions {
            token: None,
            limits: Limits::default(),
            max_connections: 1024,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Serves the Redis protocol over `backend` on `listener` until
/// `shutdown` resolves; then stops accepting and closes every connection
/// (a command being executed is dropped, as a crash would drop it; its
/// writes were acknowledged or not as the backend's durability says).
pub async fn serve_resp<B>(
    listener: tokio::net::TcpListener,
    backend: Arc<B>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    opts: RespOptions,
) -> std::io::Result<()>
where
    B: Backend + Send + Sync + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(opts.max_connections.max(1)));
    let ids = AtomicU64::new(1);
    let mut conns = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let Some((stream, permit)) =
            crate::accept_permitted(&listener, &permits, &mut shutdown, "RESP").await
        else {
            break;
        };
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let (backend, opts) = (backend.clone(), opts.clone());
        conns.spawn(async move {
            connection(stream, &*backend, id, &opts).await;
            drop(permit);
        });
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    conns.abort_all();
    while conns.join_next().await.is_some() {}
    Ok(())
}

async fn connection<B: Backend>(
    mut stream: tokio::net::TcpStream,
    backend: &B,
    id: u64,
    opts: &RespOptions,
) {
    let mut conn =
        Connection::new(id, opts.token.as_ref().map(|t| t.as_bytes().to_vec()), opts.limits);
    let mut buf = vec![0u8; 64 << 10];
    let mut out = Vec::new();
    loop {
        let n = match tokio::time::timeout(opts.idle_timeout, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => n,
        };
        out.clear();
        let open = conn.receive(backend, &buf[..n], &mut out).await;
        if stream.write_all(&out).await.is_err() || !open {
            return;
        }
    }
}
