//! [`JsShard`]: the coordinator's `ShardTransport` over a JS function.
//!
//! The JS side (`js/cluster.js`) owns the workers. It hands us one function
//! `send(shard: number, request: Uint8Array) => Promise<Uint8Array>` that
//! posts the request bytes to worker `shard` (transferring the buffer) and
//! resolves with the response bytes. A rejected promise means the worker is
//! gone (terminated, crashed); its `code` says which `TransportErrorKind`.
//!
//! Why there is `unsafe` here: `ShardTransport` requires `Send + Sync` and
//! `Send` futures, because natively the coordinator fans out over threads.
//! JS values are not `Send`. This module is compiled only for wasm32
//! without the `atomics` feature, where there is exactly one thread, so
//! nothing can ever cross a thread boundary and the promise is vacuous.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use js_sys::{Function, Promise, Uint8Array};
use vecshard_coordinator::{ShardTransport, TransportError, TransportErrorKind};
use vecshard_shard::{decode_response, encode_request, Request, Response};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

#[cfg(target_feature = "atomics")]
compile_error!("the JS shard transport assumes a single-threaded wasm build (no atomics)");

/// What `ShardTransport::call` returns (`futures::future::BoxFuture`).
type Reply = Pin<Box<dyn Future<Output = Result<Response, TransportError>> + Send + 'static>>;

/// A value that is only ever touched by the one thread of a wasm instance.
struct SingleThreaded<T>(T);

// SAFETY: see the module docs: without `atomics` a wasm32 instance has one
// thread, so no value can be sent to or shared with another thread.
unsafe impl<T> Send for SingleThreaded<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SingleThreaded<T> {}

impl<F: Future + Unpin> Future for SingleThreaded<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Shard `id`, reached through the JS `send` function.
pub struct JsShard {
    id: u32,
    send: SingleThreaded<Function>,
}

impl JsShard {
    /// Shard `id` of a cluster whose messages go through `send`.
    pub fn new(id: u32, send: Function) -> JsShard {
        JsShard { id, send: SingleThreaded(send) }
    }
}

fn failure(id: u32, e: &JsValue) -> TransportError {
    let code = js_sys::Reflect::get(e, &"code".into()).ok().and_then(|c| c.as_string());
    let kind = match code.as_deref() {
        Some("shard_trapped") => TransportErrorKind::Trapped,
        Some("shard_timeout") => TransportErrorKind::Timeout,
        _ => TransportErrorKind::Unavailable,
    };
    let msg = js_sys::Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "the worker did not answer".into());
    TransportError::new(kind, format!("worker of shard {id}: {msg}"))
}

impl ShardTransport for JsShard {
    fn call(&self, req: Request) -> Reply {
        let id = self.id;
        let bytes = Uint8Array::from(encode_request(&req).as_slice());
        let sent = self.send.0.call2(&JsValue::NULL, &JsValue::from(id), &bytes);
        let fut = async move {
            let promise: Promise = sent.map_err(|e| failure(id, &e))?.dyn_into().map_err(|_| {
                TransportError::new(TransportErrorKind::Protocol, "send() did not return a Promise")
            })?;
            let reply = JsFuture::from(promise).await.map_err(|e| failure(id, &e))?;
            let reply: Uint8Array = reply.dyn_into().map_err(|_| {
                TransportError::new(TransportErrorKind::Protocol, "a worker replied without bytes")
            })?;
            decode_response(&reply.to_vec()).map_err(|e| {
                TransportError::new(TransportErrorKind::Protocol, format!("shard {id}: {e}"))
            })
        };
        Box::pin(SingleThreaded(Box::pin(fut)))
    }

    fn describe(&self) -> String {
        format!("worker shard {}", self.id)
    }
}
