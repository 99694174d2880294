//! [`HttpShard`]: a shard on another machine, reached over `POST /v1/shard`.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use vecshard_coordinator::{ShardTransport, TransportError, TransportErrorKind};
use vecshard_shard::{decode_response, encode_request, Request, Response};

/// A remote shard served by `vecshard shard-serve`, spoken to with the
/// postcard protocol in HTTP bodies (`application/x-vecshard`).
///
/// Failures map onto [`TransportErrorKind`]: a refused or dropped
/// connection is `Unavailable`, no answer within the timeout is `Timeout`,
/// and a non-200 or undecodable answer is `Protocol`. The client keeps
/// connections alive and must be used inside a tokio runtime.
#[derive(Clone, Debug)]
pub struct HttpShard {
    url: String,
    token: Option<String>,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Content type of postcard protocol bodies.
pub const SHARD_CONTENT_TYPE: &str = "application/x-vecshard";

impl HttpShard {
    /// A shard at `base_url` (e.g. `http://10.0.0.2:7700`), with an optional
    /// bearer token and a per-request timeout.
    pub fn new(base_url: &str, token: Option<String>, timeout: Duration) -> HttpShard {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout.min(Duration::from_secs(5))));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        HttpShard {
            url: format!("{}/v1/shard", base_url.trim_end_matches('/')),
            token,
            timeout,
            client,
        }
    }
}

impl ShardTransport for HttpShard {
    fn call(&self, req: Request) -> BoxFuture<'static, Result<Response, TransportError>> {
        let body = encode_request(&req);
        let mut b = hyper::Request::post(&self.url).header(CONTENT_TYPE, SHARD_CONTENT_TYPE);
        if let Some(t) = &self.token {
            b = b.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        let client = self.client.clone();
        let url = self.url.clone();
        let timeout = self.timeout;
        let request = b.body(Full::new(Bytes::from(body)));
        Box::pin(async move {
            let request = request.map_err(|e| {
                TransportError::new(TransportErrorKind::Protocol, format!("{url}: {e}"))
            })?;
            let work = async {
                let resp = client.request(request).await.map_err(|e| {
                    TransportError::new(TransportErrorKind::Unavailable, format!("{url}: {e}"))
                })?;
                let status = resp.status();
                let bytes = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| {
                        TransportError::new(TransportErrorKind::Unavailable, format!("{url}: {e}"))
                    })?
                    .to_bytes();
                if !status.is_success() {
                    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
                    return Err(TransportError::new(
                        TransportErrorKind::Protocol,
                        format!("{url} answered {status}: {text}"),
                    ));
                }
                decode_response(&bytes).map_err(|e| {
                    TransportError::new(TransportErrorKind::Protocol, format!("{url}: {e}"))
                })
            };
            match tokio::time::timeout(timeout, work).await {
                Ok(r) => r,
                Err(_) => Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("{url} did not answer within {timeout:?}"),
                )),
            }
        })
    }

    fn describe(&self) -> String {
        self.url.trim_end_matches("/v1/shard").to_string()
    }
}
