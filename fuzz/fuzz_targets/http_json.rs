//! The JSON bodies of `POST /v1/vectors` and `POST /v1/search` through the
//! real axum router, in process; the contract is in `checks/http.rs`.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../checks/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../checks/known.rs"]
mod known;

use std::sync::OnceLock;

use axum::body::Body;
use tower::ServiceExt;

struct Env {
    rt: tokio::runtime::Runtime,
    h: http::Harness,
    router: axum::Router,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let h = http::Harness::new();
        let router = vecshard_server::router(h.app.clone());
        Env { rt, h, router }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((route, body)) = http::split(data) else { return };
    let env = env();
    env.h.reset();
    let before = env.h.state();
    let req = axum::http::Request::post(route)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let (status, reply) = env.rt.block_on(async {
        let resp = env.router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        (status, axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap())
    });
    let after = env.h.state();
    http::check_reply(&env.h, route, body, status, &reply, &before, &after);
});
