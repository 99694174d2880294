//! [`LocalCatalog`]: the server's collections over a local data dir
//! (`vecshard_host::Collections`), one [`App`] per opened collection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::{self, BoxFuture, FutureExt};
use hyper::StatusCode;
use vecshard_coordinator::ShardTransport;
use vecshard_host::{Cluster, Collections, ErrorKind};
use vecshard_server::{ApiError, App, Catalog, CollectionSpec, CollectionView, ServerConfig};

use crate::serve::LocalHooks;

/// An opened collection's app, with the cluster it was built on.
type Opened = (Arc<Cluster>, Arc<App>);

struct Inner {
    collections: Arc<Collections>,
    /// The app of every opened collection, with the cluster it was built
    /// on (an app is only cached while that cluster is the running one).
    apps: Mutex<HashMap<String, Opened>>,
    cfg: ServerConfig,
    default_shards: u32,
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct LocalCatalog(Arc<Inner>);

/// The HTTP error for a host error about a collection.
pub fn api_error(e: vecshard_host::Error) -> ApiError {
    let (status, code) = match e.kind() {
        ErrorKind::InvalidName { .. } => (StatusCode::BAD_REQUEST, "invalid_collection_name"),
        ErrorKind::CollectionNotFound { .. } => (StatusCode::NOT_FOUND, "collection_not_found"),
        ErrorKind::CollectionExists { .. } => (StatusCode::CONFLICT, "collection_exists"),
        ErrorKind::InvalidArgument { .. } => (StatusCode::BAD_REQUEST, "invalid_settings"),
        ErrorKind::Locked { .. } => (StatusCode::SERVICE_UNAVAILABLE, "collection_locked"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "storage_error"),
    };
    ApiError::new(status, code, e.to_string())
}

impl LocalCatalog {
    /// A catalog over `collections`; apps get `cfg`, and collections
    /// created without a shard count get `default_shards`.
    pub fn new(collections: Arc<Collections>, cfg: ServerConfig, default_shards: u32) -> Self {
        LocalCatalog(Arc::new(Inner {
            collections,
            apps: Mutex::new(HashMap::new()),
            cfg,
            default_shards,
        }))
    }

    fn cached(&self, name: &str) -> Option<Arc<App>> {
        self.0.apps.lock().unwrap_or_else(|p| p.into_inner()).get(name).map(|(_, a)| a.clone())
    }
}

impl Inner {
    fn build(&self, name: &str, cluster: Arc<Cluster>) -> Result<Arc<App>, ApiError> {
        let settings = cluster.manifest().settings.clone();
        let shards: Vec<Arc<dyn ShardTransport>> =
            cluster.shards().into_iter().map(|h| Arc::new(h) as Arc<dyn ShardTransport>).collect();
        let app =
            App::new(settings, shards, Arc::new(LocalHooks(cluster.clone())), self.cfg.clone())
                .map_err(ApiError::from)?;
        let mut apps = self.apps.lock().unwrap_or_else(|p| p.into_inner());
        // Cache it only if the cluster is still the running one: a delete
        // that ran meanwhile must not leave a stale app behind.
        let current = self.collections.running(name).is_some_and(|c| Arc::ptr_eq(&c, &cluster));
        if current {
            if let Some((_, a)) = apps.get(name) {
                return Ok(a.clone());
            }
            apps.insert(name.to_string(), (cluster, app.clone()));
        }
        Ok(app)
    }
}

impl Catalog for LocalCatalog {
    fn list(&self) -> Vec<CollectionView> {
        self.0
            .collections
            .list()
            .into_iter()
            .map(|c| CollectionView {
                name: c.name,
                shards: c.shards,
                settings: c.settings,
                open: c.open,
            })
            .collect()
    }

    fn open(&self, name: &str) -> BoxFuture<'static, Result<Arc<App>, ApiError>> {
        if let Some(app) = self.cached(name) {
            return future::ready(Ok(app)).boxed();
        }
        let inner = self.0.clone();
        let name = name.to_string();
        async move {
            // Opening starts threads and loads snapshots: off the runtime.
            let i = inner.clone();
            let n = name.clone();
            let cluster = tokio::task::spawn_blocking(move || i.collections.get(&n))
                .await
                .map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?
                .map_err(api_error)?;
            inner.build(&name, cluster)
        }
        .boxed()
    }

    fn create(
        &self,
        name: &str,
        spec: CollectionSpec,
    ) -> BoxFuture<'static, Result<bool, ApiError>> {
        let inner = self.0.clone();
        let name = name.to_string();
        async move {
            tokio::task::spawn_blocking(move || {
                inner.collections.create(&name, spec.shards, spec.settings)
            })
            .await
            .map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?
            .map_err(api_error)
        }
        .boxed()
    }

    fn delete(&self, name: &str) -> BoxFuture<'static, Result<bool, ApiError>> {
        let inner = self.0.clone();
        let name = name.to_string();
        async move {
            let i = inner.clone();
            let n = name.clone();
            let r = tokio::task::spawn_blocking(move || i.collections.delete(&n))
                .await
                .map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?
                .map_err(api_error);
            inner.apps.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
            r
        }
        .boxed()
    }

    fn default_shards(&self) -> u32 {
        self.0.default_shards
    }
}
