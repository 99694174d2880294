//! Named collections over HTTP: `/v1/collections/...` in front of one
//! [`router`](crate::router) per collection.
//!
//! A collection is served by exactly the routes a single index has: a
//! request to `/v1/collections/{name}/search` is handed, with its path
//! rewritten to `/v1/search`, to that collection's own router. So every
//! collection gets the same handlers, limits, error codes and metrics as
//! `/v1/*`, which keep addressing the collection `default`. Routers are
//! built once per opened collection and cached.
//!
//! What collections *are* (where they live, how they are created and
//! deleted) is the [`Catalog`]'s business: the CLI implements it over
//! `vecshard_host::Collections`; this crate stays free of shards.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use vecshard_shard::{Settings, WireMetric, WireQuantization};

use crate::api::{body, guard_layer, parse, Guard};
use crate::metrics::Metrics;
use crate::{ApiError, App, ServerConfig};

/// The collection `/v1/*` addresses.
pub const DEFAULT_COLLECTION: &str = "default";

/// What a new collection is made of.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CollectionSpec {
    /// Number of shards.
    pub shards: u32,
    /// Index settings.
    pub settings: Settings,
}

/// One collection as `GET /v1/collections` lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CollectionView {
    /// Its name.
    pub name: String,
    /// Number of shards.
    pub shards: u32,
    /// Index settings.
    pub settings: Settings,
    /// Whether its shards are running (collections open on first use).
    pub open: bool,
}

/// The store of collections behind the routes. Errors are [`ApiError`]s
/// with the codes the routes answer: `collection_not_found` (404),
/// `collection_exists` (409), `invalid_collection_name` (400), ...
pub trait Catalog: Send + Sync + 'static {
    /// Every collection, sorted by name. Cheap: no shard is asked.
    fn list(&self) -> Vec<CollectionView>;
    /// The app serving `name`, opening the collection on first use.
    fn open(&self, name: &str) -> BoxFuture<'static, Result<Arc<App>, ApiError>>;
    /// Creates `name`: `Ok(true)` if created, `Ok(false)` if it exists
    /// with exactly this spec (an error if with another).
    fn create(
        &self,
        name: &str,
        spec: CollectionSpec,
    ) -> BoxFuture<'static, Result<bool, ApiError>>;
    /// Deletes `name` durably; `Ok(false)` if it did not exist.
    fn delete(&self, name: &str) -> BoxFuture<'static, Result<bool, ApiError>>;
    /// Shards of a collection whose `PUT` body names none.
    fn default_shards(&self) -> u32 {
        1
    }
    /// Called once by [`collections_router`] with a function that drops
    /// the router it caches for a collection (a router holds its app). A
    /// catalog that unloads idle collections calls it before it lets go of
    /// the app, so that no cached router keeps the collection open.
    fn set_forget(&self, _forget: Arc<dyn Fn(&str) + Send + Sync>) {}
}

struct CatalogState {
    catalog: Arc<dyn Catalog>,
    /// One router per opened collection, keyed by name and checked against
    /// the app the catalog returns (a deleted and re-created collection
    /// gets a new app, hence a new router).
    routers: Mutex<HashMap<String, (Weak<App>, Router)>>,
}

impl CatalogState {
    fn router(&self, name: &str, app: &Arc<App>) -> Router {
        let mut cache = self.routers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((w, r)) = cache.get(name) {
            if w.upgrade().is_some_and(|a| Arc::ptr_eq(&a, app)) {
                return r.clone();
            }
        }
        let r = crate::router(app.clone());
        cache.insert(name.to_string(), (Arc::downgrade(app), r.clone()));
        r
    }

    fn forget(&self, name: &str) {
        self.routers.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
    }
}

/// The routes of a server with collections: `GET /v1/collections`,
/// `PUT|GET|DELETE /v1/collections/{name}`, every `/v1/*` route under
/// `/v1/collections/{name}/`, and `/v1/*`, `/healthz`, `/metrics` for the
/// collection `default`. `cfg` gives the token and limits of the
/// collection routes themselves; each collection's app has its own.
pub fn collections_router(catalog: Arc<dyn Catalog>, cfg: &ServerConfig) -> Router {
    let guard = Guard {
        token: cfg.token.clone(),
        timeout: cfg.request_timeout,
        metrics: Arc::new(Metrics::default()),
    };
    let state = Arc::new(CatalogState { catalog, routers: Mutex::new(HashMap::new()) });
    let weak = Arc::downgrade(&state);
    state.catalog.set_forget(Arc::new(move |name: &str| {
        if let Some(s) = weak.upgrade() {
            s.forget(name);
        }
    }));
    Router::new()
        .route("/v1/collections", get(list))
        .route("/v1/collections/{name}", get(describe).put(create).delete(delete))
        .route("/v1/collections/{name}/{*rest}", any(forward_named))
        .fallback(forward_default)
        .with_state(state)
        .layer(middleware::from_fn_with_state(Arc::new(guard), guard_layer))
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "collection_not_found",
        format!("collection {name:?} does not exist; create it with PUT /v1/collections/{{name}}"),
    )
}

#[derive(Serialize)]
struct ListReply {
    collections: Vec<CollectionView>,
}

async fn list(State(s): State<Arc<CatalogState>>) -> Json<ListReply> {
    Json(ListReply { collections: s.catalog.list() })
}

async fn describe(
    State(s): State<Arc<CatalogState>>,
    Path(name): Path<String>,
) -> Result<Json<CollectionView>, ApiError> {
    s.catalog.list().into_iter().find(|c| c.name == name).map(Json).ok_or_else(|| not_found(&name))
}

/// The body of `PUT /v1/collections/{name}`: `dim` is required; the rest
/// default to the core's defaults, cosine, and the server's shard count.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    dim: u32,
    #[serde(default)]
    metric: Option<WireMetric>,
    #[serde(default)]
    shards: Option<u32>,
    #[serde(default)]
    m: Option<u32>,
    #[serde(default)]
    ef_construction: Option<u32>,
    #[serde(default)]
    ef_search: Option<u32>,
    #[serde(default)]
    quantization: Option<WireQuantization>,
    #[serde(default)]
    seed: Option<u64>,
}

#[derive(Serialize)]
struct CreateReply {
    created: bool,
    name: String,
    #[serde(flatten)]
    spec: CollectionSpec,
}

async fn create(
    State(s): State<Arc<CatalogState>>,
    Path(name): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    let c: CreateBody = parse(&b)?;
    let mut settings = Settings::new(c.dim, c.metric.unwrap_or(WireMetric::Cosine));
    if let Some(m) = c.m {
        settings.m = m;
    }
    if let Some(v) = c.ef_construction {
        settings.ef_construction = v;
    }
    if let Some(v) = c.ef_search {
        settings.ef_search = v;
    }
    if let Some(q) = c.quantization {
        settings.quantization = q;
    }
    if let Some(v) = c.seed {
        settings.seed = v;
    }
    let spec = CollectionSpec { shards: c.shards.unwrap_or(s.catalog.default_shards()), settings };
    let created = s.catalog.create(&name, spec.clone()).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(CreateReply { created, name, spec })).into_response())
}

#[derive(Serialize)]
struct DeleteReply {
    deleted: bool,
}

async fn delete(
    State(s): State<Arc<CatalogState>>,
    Path(name): Path<String>,
) -> Result<Json<DeleteReply>, ApiError> {
    let deleted = s.catalog.delete(&name).await?;
    s.forget(&name);
    if deleted {
        Ok(Json(DeleteReply { deleted }))
    } else {
        Err(not_found(&name))
    }
}

/// Hands `req` to `name`'s router with its path replaced by `path`.
async fn forward(
    s: &CatalogState,
    name: &str,
    app: Arc<App>,
    req: Request,
    path: Option<String>,
) -> Response {
    let router = s.router(name, &app);
    let (mut parts, body) = req.into_parts();
    // Drop what the outer router attached (its path parameters, matched
    // path): the collection's router matches the request afresh.
    parts.extensions = Default::default();
    if let Some(p) = path {
        let pq = match parts.uri.query() {
            Some(q) => format!("{p}?{q}"),
            None => p,
        };
        match pq.parse::<Uri>() {
            Ok(u) => parts.uri = u,
            Err(e) => return ApiError::bad_request("bad_path", e.to_string()).into_response(),
        }
    }
    match router.oneshot(Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

async fn forward_named(
    State(s): State<Arc<CatalogState>>,
    Path((name, _rest)): Path<(String, String)>,
    req: Request,
) -> Response {
    // The rest of the path as the client sent it (still percent-encoded),
    // so a key holding `%2F` reaches the collection's router unchanged.
    let raw = req.uri().path();
    let rest = raw
        .strip_prefix("/v1/collections/")
        .and_then(|r| r.split_once('/'))
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_default();
    let app = match s.catalog.open(&name).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    // `/v1/collections/NAME/metrics` and `/healthz` are the collection's
    // own `/metrics` and `/healthz` (its shards' gauges and health); every
    // other route is the collection's `/v1/...`.
    let path = match rest.as_str() {
        "metrics" | "healthz" => format!("/{rest}"),
        _ => format!("/v1/{rest}"),
    };
    forward(&s, &name, app, req, Some(path)).await
}

async fn forward_default(State(s): State<Arc<CatalogState>>, req: Request) -> Response {
    let app = match s.catalog.open(DEFAULT_COLLECTION).await {
        Ok(a) => a,
        Err(e) if e.code == "collection_not_found" => {
            return match req.uri().path() {
                // Up (and empty) is healthy; there is nothing to measure.
                "/healthz" => (StatusCode::OK, "ok\n").into_response(),
                "/metrics" => String::new().into_response(),
                p if p.starts_with("/v1/") => e.into_response(),
                _ => ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such route; see GET /v1/collections",
                )
                .into_response(),
            };
        }
        Err(e) => return e.into_response(),
    };
    forward(&s, DEFAULT_COLLECTION, app, req, None).await
}
