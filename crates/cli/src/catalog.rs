//! [`LocalCatalog`]: the server's collections over a local data dir
//! (`vecshard_host::Collections`), one [`App`] per opened collection.
//!
//! **Idle unload.** Every request goes through [`Catalog::open`], which
//! notes when each collection was last used. [`LocalCatalog::reap`] (run
//! by `serve` every few seconds, and by `open` when a new collection would
//! pass the cap) unloads collections idle for longer than `idle`, then the
//! least recently used ones while more than `max_open` are open. Unloading
//! drops the cached app and router and asks `Collections::unload`, which
//! checkpoints and stops the shards only if nothing else holds the
//! collection (a request in flight holds its app, hence its cluster), so a
//! busy collection is skipped and no acknowledged write is lost; the next
//! request reopens it from disk. So threads and shard memory are bounded
//! by `max_open` collections (plus those busy at the same moment). The
//! `default` collection is never unloaded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::{self, BoxFuture, FutureExt};
use hyper::StatusCode;
use vecshard_coordinator::ShardTransport;
use vecshard_host::collections::DEFAULT_COLLECTION;
use vecshard_host::{Cluster, Collections, ErrorKind};
use vecshard_server::{ApiError, App, Catalog, CollectionSpec, CollectionView, ServerConfig};

use crate::serve::LocalHooks;

/// An opened collection's app, with the cluster it was built on and when
/// it was last used.
type Opened = (Arc<Cluster>, Arc<App>, Instant);

/// The forget-the-router hook of the HTTP routes.
type Forget = Arc<dyn Fn(&str) + Send + Sync>;

/// When collections are unloaded.
#[derive(Clone, Copy, Debug)]
pub struct UnloadPolicy {
    /// Unload a collection unused for this long (`None`: never for being
    /// idle).
    pub idle: Option<Duration>,
    /// Most collections open at once; past it, the least recently used
    /// idle ones are unloaded.
    pub max_open: usize,
}

impl Default for UnloadPolicy {
    fn default() -> Self {
        UnloadPolicy { idle: None, max_open: usize::MAX }
    }
}

struct Inner {
    collections: Arc<Collections>,
    /// The app of every opened collection, with the cluster it was built
    /// on (an app is only cached while that cluster is the running one).
    apps: Mutex<HashMap<String, Opened>>,
    cfg: ServerConfig,
    default_shards: u32,
    policy: UnloadPolicy,
    forget: Mutex<Option<Forget>>,
    /// Stands for "last used" of a collection open but never used through
    /// the catalog (the default, opened at start).
    started: Instant,
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
    /// Collections are unloaded by `policy`.
    pub fn new(
        collections: Arc<Collections>,
        cfg: ServerConfig,
        default_shards: u32,
        policy: UnloadPolicy,
    ) -> Self {
        LocalCatalog(Arc::new(Inner {
            collections,
            apps: Mutex::new(HashMap::new()),
            cfg,
            default_shards,
            policy,
            forget: Mutex::new(None),
            started: Instant::now(),
        }))
    }

    /// The policy.
    pub fn policy(&self) -> UnloadPolicy {
        self.0.policy
    }

    fn cached(&self, name: &str) -> Option<Arc<App>> {
        let mut apps = self.0.apps.lock().unwrap_or_else(|p| p.into_inner());
        let e = apps.get_mut(name)?;
        e.2 = Instant::now();
        Some(e.1.clone())
    }

    /// Unloads by the policy (blocking: checkpoints run here, so call it
    /// off the async runtime); returns how many collections were unloaded.
    pub fn reap(&self) -> usize {
        self.0.reap(None)
    }
}

impl Inner {
    fn unload(&self, name: &str) -> bool {
        // Let go of every handle this server keeps, then ask.
        self.apps.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        let forget = self.forget.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(f) = forget {
            f(name);
        }
        match self.collections.unload(name) {
            Ok(done) => done,
            Err(e) => {
                // Stopped all the same; its log has every acknowledged
                // write, and the next open replays it.
                eprintln!("vecshard: unloading collection {name:?}: {e}");
                true
            }
        }
    }

    /// See [`LocalCatalog::reap`]; `keep` is never unloaded.
    fn reap(&self, keep: Option<&str>) -> usize {
        let open: Vec<String> = self.collections.loaded().into_iter().map(|(n, _)| n).collect();
        let mut by_age: Vec<(Instant, String)> = {
            let apps = self.apps.lock().unwrap_or_else(|p| p.into_inner());
            open.into_iter().map(|n| (apps.get(&n).map_or(self.started, |e| e.2), n)).collect()
        };
        by_age.sort();
        let now = Instant::now();
        let mut left = by_age.len();
        let mut unloaded = 0;
        for (used, name) in by_age {
            // `default` (the legacy data dir, what `/v1/*` serves) stays
            // open, as before collections: a big index reloading after five
            // quiet minutes would surprise the single-index user.
            if keep == Some(name.as_str()) || name == DEFAULT_COLLECTION {
                continue;
            }
            let idle = self.policy.idle.is_some_and(|d| now.duration_since(used) >= d);
            if (idle || left > self.policy.max_open) && self.unload(&name) {
                left -= 1;
                unloaded += 1;
            }
        }
        unloaded
    }

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
            if let Some((_, a, _)) = apps.get(name) {
                return Ok(a.clone());
            }
            apps.insert(name.to_string(), (cluster, app.clone(), Instant::now()));
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
            let cluster = tokio::task::spawn_blocking(move || {
                let c = i.collections.get(&n)?;
                // A collection opening past the cap makes room (this one is
                // held, so it stays).
                if i.collections.loaded().len() > i.policy.max_open {
                    i.reap(Some(&n));
                }
                Ok(c)
            })
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

    fn set_forget(&self, forget: Arc<dyn Fn(&str) + Send + Sync>) {
        *self.0.forget.lock().unwrap_or_else(|p| p.into_inner()) = Some(forget);
    }
}
