//! A small JSON client for `--url` (query, info, checkpoint).

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A client for one vecshard server.
pub struct Api {
    base: String,
    token: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Api {
    /// A client for `base` (e.g. `http://127.0.0.1:7700`).
    pub fn new(base: &str, token: Option<String>) -> Api {
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Api { base: base.trim_end_matches('/').to_string(), token, client }
    }

    /// Sends a request; returns the JSON body of a 2xx, or an error with
    /// the server's `code` and `message`.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut b = hyper::Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            b = b.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        let payload = match body {
            Some(v) => {
                b = b.header(CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(v)?)
            }
            None => Bytes::new(),
        };
        let req = b.body(Full::new(payload)).with_context(|| format!("bad URL {url}"))?;
        let resp = tokio::time::timeout(Duration::from_secs(60), self.client.request(req))
            .await
            .map_err(|_| anyhow!("{url}: no answer within 60 s"))?
            .with_context(|| format!("cannot reach {url}; is `vecshard serve` running there?"))?;
        json_reply(&url, resp).await
    }
}

/// `name` as one URL path segment: every byte outside RFC 3986's
/// unreserved set percent-encoded (a collection name may hold `/`, `?` or
/// any UTF-8).
/// The JSON body of a server's answer; a non-2xx status becomes an error
/// naming the URL, the status and the server's error code and message
/// (shared by `--url` commands and `vecshard push`).
pub async fn json_reply(url: &str, resp: hyper::Response<hyper::body::Incoming>) -> Result<Value> {
    let status = resp.status();
    let bytes = resp.into_body().collect().await?.to_bytes();
    let v: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).trim().to_string()));
    if !status.is_success() {
        let code = v["error"]["code"].as_str().unwrap_or("http_error");
        let msg = v["error"]["message"].as_str().map(str::to_string).unwrap_or(v.to_string());
        bail!("{url}: {status} {code}: {msg}");
    }
    Ok(v)
}

pub fn path_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The API path of `rest` (`"/search"`, `"/info"`, ...) for a collection:
/// `/v1/collections/{name}{rest}`, or `/v1{rest}` (the collection
/// `default`) without one.
pub fn api_path(collection: Option<&str>, rest: &str) -> String {
    match collection {
        None => format!("/v1{rest}"),
        Some(c) => format!("/v1/collections/{}{rest}", path_segment(c)),
    }
}
