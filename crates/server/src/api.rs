//! The routes: JSON for people, postcard for shards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use vecshard_coordinator::{
    Coordinator, Mode, Query, SearchOptions, ShardTransport, TransportError, HASH_NAME,
};
use vecshard_shard::{
    decode_request, encode_response, Filter, Item, Request as ShardRequest,
    Response as ShardResponse, Settings,
};

use crate::error::ApiError;
use crate::metrics::{Metrics, ShardGauges};
use crate::SHARD_CONTENT_TYPE;

/// Limits and options of a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// If set, every route requires `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Largest request body in bytes (default 64 MiB).
    pub max_body_bytes: usize,
    /// Most vectors in one `POST /v1/vectors` (default 10 000).
    pub max_batch: usize,
    /// Deadline of a whole request (default 30 s).
    pub request_timeout: Duration,
    /// Whether searches fail when a shard is missing (default: partial
    /// results; a request can ask for strict mode with `"strict": true`).
    pub strict: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            token: None,
            max_body_bytes: 64 << 20,
            max_batch: 10_000,
            request_timeout: Duration::from_secs(30),
            strict: false,
        }
    }
}

/// What the server can ask of the machinery behind the shards beyond the
/// protocol: memory and restart gauges, and checkpoints. The CLI implements
/// it for local wasmtime shards; remote shards use [`NoHooks`].
pub trait Hooks: Send + Sync + 'static {
    /// Memory and restart counts per shard (vectors come from `Info`).
    fn gauges(&self) -> Vec<ShardGauges> {
        Vec::new()
    }
    /// Writes a checkpoint of every shard.
    fn checkpoint(&self) -> BoxFuture<'static, Result<(), String>> {
        Box::pin(async { Err("this server does not own its shards' data".to_string()) })
    }
}

/// [`Hooks`] that do nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;
impl Hooks for NoHooks {}

/// A transport that times each call into the metrics.
struct Metered {
    inner: Arc<dyn ShardTransport>,
    shard: u32,
    metrics: Arc<Metrics>,
}

impl ShardTransport for Metered {
    fn call(&self, req: ShardRequest) -> BoxFuture<'static, Result<ShardResponse, TransportError>> {
        let op = req.name();
        let fut = self.inner.call(req);
        let metrics = self.metrics.clone();
        let shard = self.shard;
        Box::pin(async move {
            let t = Instant::now();
            let r = fut.await;
            let ok = matches!(&r, Ok(resp) if !matches!(resp, ShardResponse::Error(_)));
            metrics.shard(shard, op, ok, t.elapsed());
            r
        })
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Shared state of the coordinator routes.
pub struct App {
    coord: Coordinator,
    metrics: Arc<Metrics>,
    hooks: Arc<dyn Hooks>,
    cfg: ServerConfig,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("coord", &self.coord).field("cfg", &self.cfg).finish()
    }
}

impl App {
    /// A coordinator app over `shards` (shard `i` = `shards[i]`).
    pub fn new(
        settings: Settings,
        shards: Vec<Arc<dyn ShardTransport>>,
        hooks: Arc<dyn Hooks>,
        cfg: ServerConfig,
    ) -> Result<Arc<App>, vecshard_coordinator::Error> {
        let metrics = Arc::new(Metrics::default());
        let metered = shards
            .into_iter()
            .enumerate()
            .map(|(i, inner)| {
                Arc::new(Metered { inner, shard: i as u32, metrics: metrics.clone() })
                    as Arc<dyn ShardTransport>
            })
            .collect();
        let coord = Coordinator::from_arcs(settings, metered)?;
        Ok(Arc::new(App { coord, metrics, hooks, cfg }))
    }

    /// The coordinator behind the routes.
    pub fn coordinator(&self) -> &Coordinator {
        &self.coord
    }
}

/// The coordinator's routes (see the crate docs for the list).
pub fn router(app: Arc<App>) -> Router {
    let limit = app.cfg.max_body_bytes;
    let guard = Guard {
        token: app.cfg.token.clone(),
        timeout: app.cfg.request_timeout,
        metrics: app.metrics.clone(),
    };
    Router::new()
        .route("/v1/vectors", post(upsert))
        .route("/v1/vectors/{key}", get(get_vector).delete(delete_vector))
        .route("/v1/vectors/{key}/attributes", put(set_attributes).get(get_attributes))
        .route("/v1/search", post(search))
        .route("/v1/info", get(info))
        .route("/v1/checkpoint", post(checkpoint))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(app)
        .layer(middleware::from_fn_with_state(Arc::new(guard), guard_layer))
        .layer(DefaultBodyLimit::max(limit))
}

/// The routes of one remote shard (`vecshard shard-serve`): `POST
/// /v1/shard` with postcard bodies, `/healthz` and `/metrics`.
pub fn shard_router(shard: Arc<dyn ShardTransport>, id: u32, cfg: ServerConfig) -> Router {
    let metrics = Arc::new(Metrics::default());
    let guard =
        Guard { token: cfg.token.clone(), timeout: cfg.request_timeout, metrics: metrics.clone() };
    let state = Arc::new(ShardApp {
        shard: Arc::new(Metered { inner: shard, shard: id, metrics: metrics.clone() }),
        metrics,
        id,
    });
    Router::new()
        .route("/v1/shard", post(shard_call))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(shard_metrics))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn_with_state(Arc::new(guard), guard_layer))
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
}

pub(crate) struct Guard {
    pub(crate) token: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) metrics: Arc<Metrics>,
}

/// Constant-time comparison, so the token cannot be guessed byte by byte
/// from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn route_label(path: Option<&MatchedPath>) -> &'static str {
    match path.map(MatchedPath::as_str) {
        Some("/v1/vectors") => "upsert",
        Some("/v1/vectors/{key}") => "vector",
        Some("/v1/vectors/{key}/attributes") => "attributes",
        Some("/v1/search") => "search",
        Some("/v1/info") => "info",
        Some("/v1/checkpoint") => "checkpoint",
        Some("/v1/shard") => "shard",
        Some("/healthz") => "healthz",
        Some("/metrics") => "metrics",
        Some("/v1/collections") | Some("/v1/collections/{name}") => "collections",
        _ => "other",
    }
}

/// Every request: bearer token, deadline, metrics.
pub(crate) async fn guard_layer(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(req.extensions().get::<MatchedPath>());
    if let Some(want) = &g.token {
        let got = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let ok = got.is_some_and(|t| same(t.as_bytes(), want.as_bytes()));
        if !ok {
            let e = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                if got.is_none() {
                    "this server requires a token: send `Authorization: Bearer <token>`"
                } else {
                    "the bearer token is wrong"
                },
            );
            let mut resp = e.into_response();
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            g.metrics.http(route, 401, started.elapsed());
            return resp;
        }
    }
    let resp = match tokio::time::timeout(g.timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!("the request took longer than {:?}; its outcome is unknown, retry it (writes are idempotent)", g.timeout),
        )
        .into_response(),
    };
    g.metrics.http(route, resp.status().as_u16(), started.elapsed());
    resp
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; see GET /v1/info, POST /v1/search, POST /v1/vectors, GET|DELETE /v1/vectors/{key}",
    )
}

pub(crate) fn body(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|r| {
        let status = r.status();
        let code =
            if status == StatusCode::PAYLOAD_TOO_LARGE { "body_too_large" } else { "bad_body" };
        ApiError::new(status, code, r.body_text())
    })
}

pub(crate) fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("bad_json", format!("request body is not valid: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonItem {
    key: String,
    vector: Vec<f32>,
    #[serde(default)]
    attributes: Option<Box<RawValue>>,
}

/// `{"vectors": [...]}`; a bare array of items is accepted too.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpsertBody {
    vectors: Vec<JsonItem>,
}

#[derive(Serialize)]
struct UpsertReply {
    inserted: u64,
    updated: u64,
}

async fn upsert(
    State(app): State<Arc<App>>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<UpsertReply>, ApiError> {
    let b = body(b)?;
    // Parse by shape, so the error points at the real problem.
    let hint =
        "expected {\"vectors\": [{\"key\": \"...\", \"vector\": [...], \"attributes\": {...}}]}";
    let bad = |e: serde_json::Error| ApiError::bad_request("bad_json", format!("{hint}: {e}"));
    let items = match b.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice::<Vec<JsonItem>>(&b).map_err(bad)?,
        _ => serde_json::from_slice::<UpsertBody>(&b).map_err(bad)?.vectors,
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("empty_batch", "the batch holds no vectors"));
    }
    if items.len() > app.cfg.max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "the batch holds {} vectors; the limit is {}, split it",
                items.len(),
                app.cfg.max_batch
            ),
        ));
    }
    let items = items
        .into_iter()
        .map(|j| Item {
            key: j.key,
            vector: j.vector,
            attributes: j.attributes.map(|r| r.get().as_bytes().to_vec()),
        })
        .collect();
    let s = app.coord.upsert(items).await?;
    Ok(Json(UpsertReply { inserted: s.inserted, updated: s.updated }))
}

#[derive(Serialize)]
struct VectorReply {
    key: String,
    vector: Vec<f32>,
    attributes: Option<Box<RawValue>>,
}

fn attributes_json(bytes: Vec<u8>) -> Box<RawValue> {
    match String::from_utf8(bytes) {
        Ok(s) => RawValue::from_string(s.clone()).unwrap_or_else(|_| {
            RawValue::from_string(serde_json::to_string(&s).expect("string")).expect("json string")
        }),
        Err(e) => {
            let s = String::from_utf8_lossy(e.as_bytes()).into_owned();
            RawValue::from_string(serde_json::to_string(&s).expect("string")).expect("json string")
        }
    }
}

async fn get_vector(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
) -> Result<Json<VectorReply>, ApiError> {
    match app.coord.get(&key).await? {
        Some(item) => Ok(Json(VectorReply {
            key: item.key,
            vector: item.vector,
            attributes: item.attributes.map(attributes_json),
        })),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "key_not_found",
            format!("key {key:?} is not in the index"),
        )),
    }
}

#[derive(Serialize)]
struct DeleteReply {
    deleted: bool,
}

async fn delete_vector(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
) -> Result<Json<DeleteReply>, ApiError> {
    app.coord.remove_one(&key).await?;
    Ok(Json(DeleteReply { deleted: true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    vector: Vec<f32>,
    #[serde(default = "default_k")]
    k: u32,
    #[serde(default)]
    ef: Option<u32>,
    #[serde(default)]
    strict: Option<bool>,
    /// An expression string (the filter language), or the object forms
    /// `{"key_prefix": ...}` / `{"keys": [...]}`.
    #[serde(default)]
    filter: Option<serde_json::Value>,
    #[serde(default)]
    filter_ef: Option<u32>,
    #[serde(default)]
    with_attributes: bool,
}

fn default_k() -> u32 {
    10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFilter {
    #[serde(default)]
    key_prefix: Option<String>,
    #[serde(default)]
    keys: Option<Vec<String>>,
}

#[derive(Serialize)]
struct SearchHit {
    key: String,
    distance: f32,
    /// Present (possibly `null`) only with `"with_attributes": true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Option<Box<RawValue>>>,
}

#[derive(Serialize)]
struct SearchReply {
    results: Vec<SearchHit>,
    partial: bool,
    missing_shards: Vec<u32>,
    took_us: u64,
}

/// Largest `filter_ef` (filtered-walk expansions per shard) a query may ask
/// for: each expansion costs up to `2m` distances, so this bounds a query
/// to well under a second per shard. The answer is complete either way
/// (a walk that stops short is finished by an exact scan).
const MAX_FILTER_EF: u32 = 1_000_000;

fn invalid_filter(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_filter", message)
}

async fn search(
    State(app): State<Arc<App>>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<SearchReply>, ApiError> {
    let t = Instant::now();
    let b = body(b)?;
    let q: SearchBody = parse(&b)?;
    // The shard's own bounds (`vecshard_shard::limits`), checked here to
    // answer with this route's historical `invalid_k` code.
    use vecshard_shard::limits::{MAX_EF, MAX_K};
    if q.k > MAX_K || q.ef.is_some_and(|e| e > MAX_EF) {
        return Err(ApiError::bad_request(
            "invalid_k",
            format!("k is limited to {MAX_K} and ef to {MAX_EF}"),
        ));
    }
    if q.filter_ef.is_some_and(|e| e == 0 || e > MAX_FILTER_EF) {
        return Err(invalid_filter(format!("filter_ef must be in 1..={MAX_FILTER_EF}")));
    }
    let mut opts =
        SearchOptions { filter: None, filter_ef: q.filter_ef, with_attributes: q.with_attributes };
    let filter = match q.filter {
        None => None,
        Some(serde_json::Value::String(expr)) => {
            // The coordinator compiles it (and checks the 4 KiB limit).
            opts.filter = Some(expr);
            None
        }
        Some(obj @ serde_json::Value::Object(_)) => {
            match serde_json::from_value::<JsonFilter>(obj) {
                Ok(JsonFilter { key_prefix: Some(p), keys: None }) => Some(Filter::KeyPrefix(p)),
                Ok(JsonFilter { key_prefix: None, keys: Some(k) }) => Some(Filter::Keys(k)),
                _ => {
                    return Err(ApiError::bad_request(
                        "bad_filter",
                        "a filter object is {\"key_prefix\": \"...\"} or {\"keys\": [...]}, \
                         exactly one of them",
                    ))
                }
            }
        }
        Some(other) => {
            return Err(invalid_filter(format!(
                "invalid_filter: a filter is an expression string such as \".year > 1950\" (or \
                 the object {{\"key_prefix\"}} / {{\"keys\"}}), not {other}"
            )))
        }
    };
    let mode = if q.strict.unwrap_or(app.cfg.strict) { Mode::Strict } else { Mode::Partial };
    let query = Query { vector: q.vector, k: q.k, ef: q.ef, filter };
    let res = app.coord.search_with(query, &opts, mode).await?;
    let mut attrs = res.attributes.into_iter();
    Ok(Json(SearchReply {
        results: res
            .hits
            .into_iter()
            .map(|h| SearchHit {
                key: h.key,
                distance: h.distance,
                attributes: opts
                    .with_attributes
                    .then(|| attrs.next().flatten().map(attributes_json)),
            })
            .collect(),
        partial: res.partial,
        missing_shards: res.missing_shards,
        took_us: t.elapsed().as_micros() as u64,
    }))
}

#[derive(Serialize)]
struct AttributesReply {
    key: String,
    attributes: Option<Box<RawValue>>,
}

/// `PUT /v1/vectors/{key}/attributes`: the body is a JSON object (the new
/// attributes) or `null` (clear them). Redis's `VSETATTR`.
async fn set_attributes(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<AttributesReply>, ApiError> {
    let b = body(b)?;
    let raw: Box<RawValue> = parse(&b)?;
    let attributes = match raw.get() {
        "null" => None,
        text => Some(text.as_bytes().to_vec()),
    };
    app.coord.set_attributes(&key, attributes).await?;
    Ok(Json(AttributesReply { key, attributes: (raw.get() != "null").then_some(raw) }))
}

/// `GET /v1/vectors/{key}/attributes`: the attributes (or `null`); 404 for
/// an unknown key.
async fn get_attributes(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
) -> Result<Json<AttributesReply>, ApiError> {
    match app.coord.get_attributes(&key).await? {
        Some(a) => Ok(Json(AttributesReply { key, attributes: a.map(attributes_json) })),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "key_not_found",
            format!("key {key:?} is not in the index"),
        )),
    }
}

#[derive(Serialize)]
struct ShardReport {
    shard: u32,
    transport: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    vectors: Option<u64>,
    index_bytes: Option<u64>,
    attribute_bytes: Option<u64>,
    memory_bytes: Option<u64>,
    restarts: Option<u64>,
    kernel: Option<String>,
}

#[derive(Serialize)]
struct InfoReply {
    shards: u32,
    hash: &'static str,
    settings: Settings,
    vectors: u64,
    shards_up: u32,
    per_shard: Vec<ShardReport>,
}

async fn shard_reports(app: &App) -> Vec<ShardReport> {
    let infos = app.coord.info().await;
    let gauges = app.hooks.gauges();
    infos
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let g = gauges.iter().find(|g| g.shard == i as u32);
            let transport = app.coord.shard(i as u32).describe();
            match r {
                Ok(info) => ShardReport {
                    shard: i as u32,
                    transport,
                    status: "ok",
                    error: None,
                    vectors: Some(info.len),
                    index_bytes: Some(info.index_bytes),
                    attribute_bytes: Some(info.attribute_bytes),
                    memory_bytes: g
                        .and_then(|g| g.memory_bytes)
                        .or(Some(info.index_bytes + info.attribute_bytes)),
                    restarts: g.and_then(|g| g.restarts),
                    kernel: Some(info.kernel),
                },
                Err(e) => ShardReport {
                    shard: i as u32,
                    transport,
                    status: "down",
                    error: Some(e.to_string()),
                    vectors: None,
                    index_bytes: None,
                    attribute_bytes: None,
                    memory_bytes: g.and_then(|g| g.memory_bytes),
                    restarts: g.and_then(|g| g.restarts),
                    kernel: None,
                },
            }
        })
        .collect()
}

async fn info(State(app): State<Arc<App>>) -> Json<InfoReply> {
    let per_shard = shard_reports(&app).await;
    Json(InfoReply {
        shards: app.coord.shard_count(),
        hash: HASH_NAME,
        settings: app.coord.settings().clone(),
        vectors: per_shard.iter().filter_map(|s| s.vectors).sum(),
        shards_up: per_shard.iter().filter(|s| s.status == "ok").count() as u32,
        per_shard,
    })
}

async fn checkpoint(State(app): State<Arc<App>>) -> Result<Json<serde_json::Value>, ApiError> {
    app.hooks
        .checkpoint()
        .await
        .map_err(|m| ApiError::new(StatusCode::CONFLICT, "checkpoint_unavailable", m))?;
    Ok(Json(serde_json::json!({ "checkpointed": true })))
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let infos = app.coord.info().await;
    let down: Vec<usize> =
        infos.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
    if down.is_empty() {
        (StatusCode::OK, "ok\n").into_response()
    } else if down.len() < infos.len() {
        // Degraded, but searches still answer (partially): stay in rotation.
        (StatusCode::OK, format!("degraded: shards {down:?} down\n")).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down: no shard answers\n").into_response()
    }
}

fn prometheus(text: String) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    (headers, text).into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let reports = shard_reports(&app).await;
    let gauges: Vec<ShardGauges> = reports
        .iter()
        .map(|r| ShardGauges {
            shard: r.shard,
            vectors: r.vectors,
            memory_bytes: r.memory_bytes,
            restarts: r.restarts,
        })
        .collect();
    prometheus(app.metrics.render(&gauges))
}

struct ShardApp {
    shard: Arc<dyn ShardTransport>,
    metrics: Arc<Metrics>,
    id: u32,
}

async fn shard_call(
    State(s): State<Arc<ShardApp>>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    // Malformed bytes get a protocol error response, like any transport.
    let resp = match decode_request(&b) {
        Err(e) => ShardResponse::Error(e),
        Ok(req) => s.shard.call(req).await.map_err(|e| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.kind.as_str(), e.message)
        })?,
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(SHARD_CONTENT_TYPE));
    Ok((headers, encode_response(&resp)).into_response())
}

async fn shard_metrics(State(s): State<Arc<ShardApp>>) -> Response {
    let vectors = match s.shard.call(ShardRequest::Info).await {
        Ok(ShardResponse::Info { info }) => Some(info),
        _ => None,
    };
    let g = ShardGauges {
        shard: s.id,
        vectors: vectors.as_ref().map(|i| i.len),
        memory_bytes: vectors.as_ref().map(|i| i.index_bytes + i.attribute_bytes),
        restarts: None,
    };
    prometheus(s.metrics.render(&[g]))
}
