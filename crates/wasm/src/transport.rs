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
//!
//! **Tags.** A caller can label the requests of one coordinator call (the
//! package's `search(..., { timings: true })` passes the array the workers'
//! timings go into): [`tagged`] wraps a future so that every request sent
//! while it is being polled reaches `send` as a third argument. Requests
//! are sent synchronously inside `call`, so "while it is being polled" is
//! exact even when several calls are in flight.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::cell::RefCell;

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

thread_local! {
    /// The tag of the coordinator call being polled right now, if any.
    static TAG: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
}

/// `fut`, with `tag` passed to `send` for every request sent while it runs.
pub async fn tagged<F: Future>(tag: JsValue, fut: F) -> F::Output {
    let mut fut = core::pin::pin!(fut);
    core::future::poll_fn(move |cx| {
        let outer = TAG.with(|t| t.replace(tag.clone()));
        let r = fut.as_mut().poll(cx);
        TAG.with(|t| *t.borrow_mut() = outer);
        r
    })
    .await
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
        let tag = TAG.with(|t| t.borrow().clone());
        let sent = self.send.0.call3(&JsValue::NULL, &JsValue::from(id), &bytes, &tag);
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
