//! [`InProcessShard`]: a shard called inline, behind a mutex.

use std::sync::{Arc, Mutex};

use futures::future::{self, BoxFuture};
use vecshard_shard::{Request, Response, Settings, Shard, WireError};

use crate::{ShardTransport, TransportError, TransportErrorKind};

/// A [`Shard`] in this process, handled inline on the caller's thread.
///
/// The simplest transport: deterministic (tests of the coordinator use
/// it), no encoding, no threads. Requests to one shard are serialized by a
/// mutex, so a multi-threaded executor still runs different shards in
/// parallel only if it polls them on different threads; the worker-thread
/// transports in `vecshard-host` give real parallelism.
#[derive(Clone, Debug)]
pub struct InProcessShard {
    shard: Arc<Mutex<Shard>>,
    id: u32,
}

impl InProcessShard {
    /// Wraps a shard; `id` only names it in messages.
    pub fn new(shard: Shard, id: u32) -> InProcessShard {
        InProcessShard { shard: Arc::new(Mutex::new(shard)), id }
    }

    /// `n` empty shards with `settings`, shard `i` seeded with `seed + i`
    /// (so shards do not share level sequences).
    pub fn cluster(settings: &Settings, n: u32) -> Result<Vec<InProcessShard>, WireError> {
        (0..n)
            .map(|i| {
                let mut s = settings.clone();
                s.seed = s.seed.wrapping_add(u64::from(i));
                Ok(InProcessShard::new(Shard::with_settings(&s)?, i))
            })
            .collect()
    }

    /// Runs `f` on the shard (for tests and tools).
    pub fn with<R>(&self, f: impl FnOnce(&mut Shard) -> R) -> R {
        let mut g = self.shard.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }
}

impl ShardTransport for InProcessShard {
    fn call(&self, req: Request) -> BoxFuture<'static, Result<Response, TransportError>> {
        let r = match self.shard.lock() {
            Ok(mut g) => Ok(g.handle(req)),
            Err(_) => Err(TransportError::new(
                TransportErrorKind::Unavailable,
                format!("in-process shard {} is poisoned by an earlier panic", self.id),
            )),
        };
        Box::pin(future::ready(r))
    }

    fn describe(&self) -> String {
        format!("in-process shard {}", self.id)
    }
}
