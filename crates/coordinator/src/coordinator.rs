//! [`Coordinator`]: validation, routing, fan-out and merge.

use std::sync::Arc;

use futures::future::join_all;
use vecshard_shard::protocol::MAX_ATTRIBUTES_LEN;
use vecshard_shard::{
    ErrorCode, Filter, Hit, Item, ItemOut, KeyBound, Request, Response, SearchHit, Settings,
    ShardInfo, WireMetric, MAX_KEYS_PAGE,
};

use crate::error::{Error, ErrorKind};
use crate::{merge, route, ShardTransport, TransportError};

/// What a query does when some shards fail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Answer from the shards that did (the default); the result says which
    /// are missing. Fails only when no shard answered.
    #[default]
    Partial,
    /// Fail unless every shard answered.
    Strict,
}

/// A search request.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The query vector.
    pub vector: Vec<f32>,
    /// Number of results (≥ 1).
    pub k: u32,
    /// Per-shard candidate list size; `None` uses the index default.
    pub ef: Option<u32>,
    /// Optional predicate, applied inside every shard.
    pub filter: Option<Filter>,
}

impl Query {
    /// A query for the `k` nearest to `vector` with the default `ef`.
    pub fn new(vector: Vec<f32>, k: u32) -> Query {
        Query { vector, k, ef: None, filter: None }
    }

    /// Sets `ef`.
    pub fn ef(mut self, ef: u32) -> Query {
        self.ef = Some(ef);
        self
    }
}

/// Attribute-filter options of a search ([`Coordinator::search_with`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchOptions {
    /// A filter expression (Redis 8 vector-sets FILTER language). Compiled
    /// once here, so a bad one fails before any shard sees it.
    pub filter: Option<String>,
    /// Bound on the filtered walk's expansions per shard (Redis `FILTER-EF`).
    pub filter_ef: Option<u32>,
    /// Return each hit's attributes ([`SearchResult::attributes`]).
    pub with_attributes: bool,
}

impl SearchOptions {
    fn is_plain(&self) -> bool {
        self.filter.is_none() && self.filter_ef.is_none() && !self.with_attributes
    }
}

/// A merged search result.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchResult {
    /// The global top k, sorted by `(distance, key)`.
    pub hits: Vec<Hit>,
    /// With [`SearchOptions::with_attributes`]: the attributes of each hit,
    /// in the order of `hits` (`None` for a hit without). Empty otherwise.
    pub attributes: Vec<Option<Vec<u8>>>,
    /// Whether some shards did not answer.
    pub partial: bool,
    /// The shards that did not answer, ascending.
    pub missing_shards: Vec<u32>,
    /// Why each missing shard did not answer.
    pub failures: Vec<(u32, TransportError)>,
}

/// What an upsert did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Keys that were new.
    pub inserted: u64,
    /// Keys that replaced an element.
    pub updated: u64,
}

/// What a remove did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemoveSummary {
    /// Keys that were removed.
    pub removed: u64,
    /// Keys that were not present.
    pub not_found: u64,
}

/// Routes writes to the owning shard and fans queries out to all of them.
///
/// Every input is validated here, against the cluster settings, before any
/// shard sees it, so bad input changes nothing on any shard. A shard that
/// fails a write after validation (it trapped, or the network dropped) can
/// leave the other shards' parts of that batch applied; the error says
/// which, and since upsert and remove are idempotent, retrying the batch is
/// always safe.
pub struct Coordinator {
    settings: Settings,
    shards: Vec<Arc<dyn ShardTransport>>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("settings", &self.settings)
            .field("shards", &self.shards.iter().map(|s| s.describe()).collect::<Vec<_>>())
            .finish()
    }
}

fn unexpected(shard: u32, got: &Response) -> Error {
    let mut got = format!("{got:?}");
    got.truncate(120);
    Error::new(ErrorKind::Unexpected { shard, got })
}

/// Checks a key the way every shard will.
pub(crate) fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() {
        return Err(Error::bad_input(ErrorCode::EmptyKey, "keys must not be empty"));
    }
    if key.len() > vecshard_core::MAX_KEY_LEN {
        return Err(Error::bad_input(
            ErrorCode::KeyTooLong,
            format!(
                "key of {} bytes is longer than the limit of {} bytes",
                key.len(),
                vecshard_core::MAX_KEY_LEN
            ),
        ));
    }
    Ok(())
}

impl Coordinator {
    /// A coordinator over `shards` (shard `i` is `shards[i]`), which must
    /// all hold indexes with `settings` (seeds aside).
    pub fn new<T: ShardTransport + 'static>(
        settings: Settings,
        shards: Vec<T>,
    ) -> Result<Coordinator, Error> {
        let shards: Vec<Arc<dyn ShardTransport>> =
            shards.into_iter().map(|s| Arc::new(s) as Arc<dyn ShardTransport>).collect();
        Coordinator::from_arcs(settings, shards)
    }

    /// Like [`Coordinator::new`], with shards already type-erased.
    pub fn from_arcs(
        settings: Settings,
        shards: Vec<Arc<dyn ShardTransport>>,
    ) -> Result<Coordinator, Error> {
        if shards.is_empty() || shards.len() > u32::MAX as usize {
            return Err(Error::new(ErrorKind::Config(
                "a coordinator needs at least one shard".into(),
            )));
        }
        Ok(Coordinator { settings, shards })
    }

    /// Number of shards.
    pub fn shard_count(&self) -> u32 {
        self.shards.len() as u32
    }

    /// The cluster settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The transport of shard `i`.
    pub fn shard(&self, i: u32) -> &Arc<dyn ShardTransport> {
        &self.shards[i as usize]
    }

    /// The shard that owns `key`.
    pub fn owner(&self, key: &str) -> u32 {
        route(key, self.shard_count())
    }

    /// Checks a query vector against the cluster settings.
    pub fn check_vector(&self, v: &[f32]) -> Result<(), Error> {
        if v.len() != self.settings.dim as usize {
            return Err(Error::bad_input(
                ErrorCode::DimensionMismatch,
                format!(
                    "vector has {} dimensions but the index has {}; check the embedding model",
                    v.len(),
                    self.settings.dim
                ),
            ));
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::bad_input(
                ErrorCode::NonFiniteValue,
                format!(
                    "vector component {i} is NaN or infinite; only finite values can be indexed"
                ),
            ));
        }
        if let Some(i) = v.iter().position(|x| x.abs() > vecshard_core::MAX_ABS_VALUE) {
            return Err(Error::bad_input(
                ErrorCode::ValueOutOfRange,
                format!(
                    "vector component {i} has magnitude above {:e}; distances would overflow, \
                     so scale the vectors down",
                    vecshard_core::MAX_ABS_VALUE
                ),
            ));
        }
        if self.settings.metric == WireMetric::Cosine && v.iter().all(|&x| x == 0.0) {
            return Err(Error::bad_input(
                ErrorCode::ZeroVector,
                "an all-zero vector has no direction under cosine distance",
            ));
        }
        Ok(())
    }

    /// Checks a whole batch; the error names the first bad item.
    pub fn check_items(&self, items: &[Item]) -> Result<(), Error> {
        for (i, it) in items.iter().enumerate() {
            let with_ctx = |e: Error| match e.kind() {
                ErrorKind::BadInput(w) => Error::bad_input(
                    w.code,
                    format!("item {i} (key {:?}): {}", truncate(&it.key), w.message),
                ),
                _ => e,
            };
            check_key(&it.key).map_err(with_ctx)?;
            self.check_vector(&it.vector).map_err(with_ctx)?;
            if it.attributes.as_ref().is_some_and(|a| a.len() > MAX_ATTRIBUTES_LEN) {
                return Err(with_ctx(Error::bad_input(
                    ErrorCode::AttributesTooLarge,
                    format!("attributes are over {MAX_ATTRIBUTES_LEN} bytes"),
                )));
            }
        }
        Ok(())
    }

    /// Sends each shard its part of a batch, all at once; returns per-shard
    /// outcomes in shard order.
    async fn scatter(
        &self,
        parts: Vec<(u32, Request)>,
    ) -> Vec<(u32, Result<Response, TransportError>)> {
        let calls = parts.into_iter().map(|(s, req)| {
            let fut = self.shards[s as usize].call(req);
            async move { (s, fut.await) }
        });
        join_all(calls).await
    }

    /// Groups a batch by owning shard and wraps each non-empty group in a
    /// request.
    fn split<T>(
        &self,
        batch: Vec<T>,
        key: impl Fn(&T) -> &str,
        wrap: impl Fn(Vec<T>) -> Request,
    ) -> Vec<(u32, Request)> {
        let n = self.shard_count();
        let mut groups: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
        for x in batch {
            let s = route(key(&x), n);
            groups[s as usize].push(x);
        }
        groups
            .into_iter()
            .enumerate()
            .filter(|(_, g)| !g.is_empty())
            .map(|(s, g)| (s as u32, wrap(g)))
            .collect()
    }

    /// Inserts or replaces `items`, each on the shard that owns its key,
    /// all shards in parallel.
    pub async fn upsert(&self, items: Vec<Item>) -> Result<WriteSummary, Error> {
        self.check_items(&items)?;
        check_attributes(&items)?;
        // UpsertJson: the shards re-check that attributes are JSON objects.
        let parts = self.split(items, |it| &it.key, |items| Request::UpsertJson { items });
        let mut sum = WriteSummary::default();
        self.gather_writes(
            parts,
            |r, sum: &mut WriteSummary| match r {
                Response::Upserted { inserted, updated } => {
                    sum.inserted += u64::from(*inserted);
                    sum.updated += u64::from(*updated);
                    true
                }
                _ => false,
            },
            &mut sum,
        )
        .await?;
        Ok(sum)
    }

    /// Removes `keys` (unknown keys are counted, not errors).
    pub async fn remove(&self, keys: Vec<String>) -> Result<RemoveSummary, Error> {
        for k in &keys {
            check_key(k)?;
        }
        let parts = self.split(keys, |k| k, |keys| Request::Remove { keys });
        let mut sum = RemoveSummary::default();
        self.gather_writes(
            parts,
            |r, sum: &mut RemoveSummary| match r {
                Response::Removed { removed, not_found } => {
                    sum.removed += u64::from(*removed);
                    sum.not_found += u64::from(*not_found);
                    true
                }
                _ => false,
            },
            &mut sum,
        )
        .await?;
        Ok(sum)
    }

    async fn gather_writes<S>(
        &self,
        parts: Vec<(u32, Request)>,
        add: impl Fn(&Response, &mut S) -> bool,
        sum: &mut S,
    ) -> Result<(), Error> {
        let results = self.scatter(parts).await;
        let mut applied = Vec::new();
        let mut first_err: Option<Error> = None;
        for (s, r) in results {
            match r {
                Ok(resp) if add(&resp, sum) => applied.push(s),
                Ok(Response::Error(w)) => {
                    first_err.get_or_insert(Error::new(ErrorKind::BadInput(w)));
                }
                Ok(other) => {
                    first_err.get_or_insert(unexpected(s, &other));
                }
                Err(error) => {
                    first_err.get_or_insert(Error::new(ErrorKind::Shard {
                        shard: s,
                        error,
                        applied: Vec::new(),
                    }));
                }
            }
        }
        match first_err {
            None => Ok(()),
            Some(e) => Err(match e.into_kind() {
                ErrorKind::Shard { shard, error, .. } => {
                    Error::new(ErrorKind::Shard { shard, error, applied })
                }
                other => Error::new(other),
            }),
        }
    }

    /// The `k` nearest elements over all shards. Every shard is asked at
    /// once for its own top `k` (with the same `ef`), and the lists are
    /// merged by `(distance, key)`.
    pub async fn search(&self, q: Query, mode: Mode) -> Result<SearchResult, Error> {
        self.search_with(q, &SearchOptions::default(), mode).await
    }

    /// [`Coordinator::search`] with an attribute filter and its options.
    /// Each shard returns `min(k, its matches)` hits, so the merged answer
    /// has `min(k, matches)` when every shard answered.
    pub async fn search_with(
        &self,
        q: Query,
        opts: &SearchOptions,
        mode: Mode,
    ) -> Result<SearchResult, Error> {
        if q.k == 0 {
            return Err(Error::bad_input(ErrorCode::InvalidK, "k must be at least 1"));
        }
        // The shards check the same bounds; checking here refuses the query
        // before the filter is cloned once per shard.
        vecshard_shard::limits::check_search(q.k, q.ef, q.filter.as_ref())
            .map_err(|w| Error::new(ErrorKind::BadInput(w)))?;
        self.check_vector(&q.vector)?;
        if let Some(src) = &opts.filter {
            check_filter(src)?;
        }
        let k = q.k;
        let plain = opts.is_plain();
        let parts = (0..self.shard_count())
            .map(|s| {
                let req = if plain {
                    Request::Search {
                        vector: q.vector.clone(),
                        k,
                        ef: q.ef,
                        filter: q.filter.clone(),
                    }
                } else {
                    Request::FilteredSearch {
                        vector: q.vector.clone(),
                        k,
                        ef: q.ef,
                        key_filter: q.filter.clone(),
                        filter: opts.filter.clone(),
                        filter_ef: opts.filter_ef,
                        with_attributes: opts.with_attributes,
                    }
                };
                (s, req)
            })
            .collect();
        let results = self.scatter(parts).await;
        let mut lists = Vec::with_capacity(results.len());
        let mut attrs = std::collections::HashMap::new();
        let mut failures = Vec::new();
        for (s, r) in results {
            match r {
                Ok(Response::Hits { hits }) => lists.push(hits),
                Ok(Response::SearchHits { hits, .. }) => {
                    lists.push(hits.into_iter().map(|h| split_hit(h, &mut attrs)).collect())
                }
                Ok(Response::Error(w)) => return Err(Error::new(ErrorKind::BadInput(w))),
                Ok(other) => return Err(unexpected(s, &other)),
                Err(e) => failures.push((s, e)),
            }
        }
        let missing: Vec<u32> = failures.iter().map(|(s, _)| *s).collect();
        if !failures.is_empty() && (mode == Mode::Strict || lists.is_empty()) {
            return Err(Error::new(ErrorKind::Incomplete {
                missing,
                first: failures[0].1.clone(),
            }));
        }
        let hits = merge(lists, k as usize);
        let attributes = if opts.with_attributes {
            hits.iter().map(|h| attrs.remove(&h.key).flatten()).collect()
        } else {
            Vec::new()
        };
        Ok(SearchResult {
            hits,
            attributes,
            partial: !missing.is_empty(),
            missing_shards: missing,
            failures,
        })
    }

    async fn one(&self, key: &str, req: Request) -> Result<Response, Error> {
        check_key(key)?;
        let s = self.owner(key);
        match self.shards[s as usize].call(req).await {
            Ok(Response::Error(w)) => Err(Error::new(ErrorKind::BadInput(w))),
            Ok(r) => Ok(r),
            Err(error) => Err(Error::new(ErrorKind::Shard { shard: s, error, applied: vec![] })),
        }
    }

    /// One element by key, from its owning shard.
    pub async fn get(&self, key: &str) -> Result<Option<ItemOut>, Error> {
        match self.one(key, Request::Get { key: key.to_string() }).await? {
            Response::Item { item } => Ok(item),
            other => Err(unexpected(self.owner(key), &other)),
        }
    }

    /// Whether `key` is present, asking its owning shard.
    pub async fn contains(&self, key: &str) -> Result<bool, Error> {
        match self.one(key, Request::Contains { key: key.to_string() }).await? {
            Response::Contains { present } => Ok(present),
            other => Err(unexpected(self.owner(key), &other)),
        }
    }

    /// Removes one key from its owning shard; `KeyNotFound` if absent.
    pub async fn remove_one(&self, key: &str) -> Result<(), Error> {
        match self.one(key, Request::Remove { keys: vec![key.to_string()] }).await? {
            Response::Removed { removed: 1, .. } => Ok(()),
            Response::Removed { .. } => Err(Error::bad_input(
                ErrorCode::KeyNotFound,
                format!("key {:?} is not in the index", truncate(key)),
            )),
            other => Err(unexpected(self.owner(key), &other)),
        }
    }

    /// Sets (`Some`, a JSON object) or clears (`None`) the attributes of
    /// one element on its owning shard; `KeyNotFound` if absent.
    pub async fn set_attributes(
        &self,
        key: &str,
        attributes: Option<Vec<u8>>,
    ) -> Result<(), Error> {
        if let Some(a) = &attributes {
            check_one_attributes(a)?;
        }
        let req = Request::SetAttributes { key: key.to_string(), attributes };
        match self.one(key, req).await? {
            Response::AttributesSet => Ok(()),
            other => Err(unexpected(self.owner(key), &other)),
        }
    }

    /// The attributes of one element: `None` if the key is absent,
    /// `Some(None)` if it has no attributes.
    pub async fn get_attributes(&self, key: &str) -> Result<Option<Option<Vec<u8>>>, Error> {
        match self.one(key, Request::GetAttributes { key: key.to_string() }).await? {
            Response::Attributes { present, attributes } => Ok(present.then_some(attributes)),
            other => Err(unexpected(self.owner(key), &other)),
        }
    }

    /// One shard's answer to a key-listing request, or the error.
    async fn keys_page(&self, s: u32, req: Request) -> Result<(Vec<String>, bool), Error> {
        match self.shards[s as usize].call(req).await {
            Ok(Response::Keys { keys, more }) => Ok((keys, more)),
            Ok(Response::Error(w)) => Err(Error::new(ErrorKind::BadInput(w))),
            Ok(other) => Err(unexpected(s, &other)),
            Err(error) => Err(Error::new(ErrorKind::Shard { shard: s, error, applied: vec![] })),
        }
    }

    /// Keys within `[start, end]` in byte order, at most `count` (Redis
    /// `VRANGE`): a k-way merge of the shards' sorted pages. Each shard is
    /// asked for a page of `min(count, MAX_KEYS_PAGE)` keys; a shard whose
    /// page runs out before `count` keys are out is asked for its next page
    /// (starting after its last key), so memory stays one page per shard.
    /// Keys never repeat across shards (each key has one owner). Every
    /// shard must answer.
    pub async fn list_keys(
        &self,
        start: &KeyBound,
        end: &KeyBound,
        count: usize,
    ) -> Result<Vec<String>, Error> {
        let n = self.shard_count() as usize;
        let limit = u32::try_from(count).unwrap_or(u32::MAX).min(MAX_KEYS_PAGE);
        let mut out = Vec::new();
        if count == 0 {
            return Ok(out);
        }
        // Per shard: the page being merged, the position in it, whether the
        // shard has more after it.
        let mut pages: Vec<(Vec<String>, usize, bool)> = vec![(Vec::new(), 0, true); n];
        loop {
            // Refill every shard whose page is used up and that has more.
            let need: Vec<u32> = (0..n)
                .filter(|&s| pages[s].1 >= pages[s].0.len() && pages[s].2)
                .map(|s| s as u32)
                .collect();
            let calls = need.iter().map(|&s| {
                let from = match pages[s as usize].0.last() {
                    Some(k) => KeyBound::Excluded(k.clone()),
                    None => start.clone(),
                };
                self.keys_page(s, Request::ListKeys { start: from, end: end.clone(), limit })
            });
            for (&s, r) in need.iter().zip(join_all(calls).await) {
                let (keys, more) = r?;
                // A shard that answers an empty page while claiming more
                // would loop forever; take it at its page.
                let more = more && !keys.is_empty();
                pages[s as usize] = (keys, 0, more);
            }
            // Merge until some shard's page runs out (it may hold smaller
            // keys on its next page) or enough keys are out.
            loop {
                if out.len() == count {
                    return Ok(out);
                }
                let mut best: Option<usize> = None;
                for s in 0..n {
                    let (p, i, _) = &pages[s];
                    if *i < p.len() && best.is_none_or(|b| p[*i] < pages[b].0[pages[b].1]) {
                        best = Some(s);
                    }
                }
                let Some(b) = best else { return Ok(out) };
                let (p, i, _) = &mut pages[b];
                out.push(core::mem::take(&mut p[*i]));
                *i += 1;
                if *i == p.len() {
                    // Keep the last key as the next page's cursor.
                    p[*i - 1].clone_from(out.last().expect("just pushed"));
                    if pages[b].2 {
                        break;
                    }
                }
            }
        }
    }

    /// Random keys (Redis `VRANDMEMBER`), drawn from a generator seeded by
    /// `seed`. The draw is uniform over the collection's elements, not over
    /// the shards: every shard's size is asked first, then
    ///
    /// - `repeats` (negative count): each of the `count` draws picks a
    ///   shard with probability proportional to its size (a multinomial
    ///   split), and each shard draws its share uniformly with
    ///   replacement, so every draw is uniform over all elements;
    /// - distinct (positive count): `min(count, total)` positions are
    ///   drawn without replacement over all elements (a multivariate
    ///   hypergeometric split), and each shard draws its share as distinct
    ///   keys (a prefix of a seeded permutation, paged), so the answer is
    ///   a uniform random subset with no repeats.
    ///
    /// The result is shuffled, so it is not grouped by shard. Sizes that
    /// change between the two rounds may give fewer keys than asked.
    pub async fn random_keys(
        &self,
        count: usize,
        repeats: bool,
        seed: u64,
    ) -> Result<Vec<String>, Error> {
        let mut sizes = Vec::with_capacity(self.shard_count() as usize);
        for (s, r) in self.info().await.into_iter().enumerate() {
            let info = r.map_err(|error| {
                Error::new(ErrorKind::Shard { shard: s as u32, error, applied: vec![] })
            })?;
            sizes.push(info.len);
        }
        let total: u64 = sizes.iter().sum();
        let mut rng = seed;
        if total == 0 || count == 0 {
            return Ok(Vec::new());
        }
        let mut share = vec![0u64; sizes.len()];
        if repeats {
            for _ in 0..count {
                let mut r = below(&mut rng, total);
                let s = sizes.iter().position(|&len| {
                    r < len || {
                        r -= len;
                        false
                    }
                });
                share[s.expect("r < total")] += 1;
            }
        } else if count as u64 >= total {
            share.clone_from(&sizes);
        } else {
            let mut left = sizes.clone();
            let mut rest = total;
            for _ in 0..count {
                let mut r = below(&mut rng, rest);
                let s = left.iter().position(|&len| {
                    r < len || {
                        r -= len;
                        false
                    }
                });
                let s = s.expect("r < rest");
                share[s] += 1;
                left[s] -= 1;
                rest -= 1;
            }
        }
        let calls = share.iter().enumerate().filter(|(_, &c)| c > 0).map(|(s, &c)| {
            let shard_seed = splitmix(&mut rng.wrapping_add(s as u64));
            self.random_from(s as u32, c, !repeats, shard_seed)
        });
        let mut out = Vec::with_capacity(count.min(total as usize));
        for r in join_all(calls).await {
            out.extend(r?);
        }
        // Fisher–Yates, so the order does not tell which shard a key is on.
        for i in (1..out.len()).rev() {
            out.swap(i, below(&mut rng, i as u64 + 1) as usize);
        }
        Ok(out)
    }

    /// `count` random keys from shard `s`, paged.
    async fn random_from(
        &self,
        s: u32,
        count: u64,
        distinct: bool,
        seed: u64,
    ) -> Result<Vec<String>, Error> {
        let mut out: Vec<String> = Vec::new();
        let mut round = seed;
        while (out.len() as u64) < count {
            let want = u32::try_from(count - out.len() as u64).unwrap_or(u32::MAX);
            // Distinct pages share the seed and skip what was taken; pages
            // with repeats are independent draws, each its own seed.
            let page_seed = if distinct { seed } else { splitmix(&mut round) };
            let skip = u32::try_from(out.len()).unwrap_or(u32::MAX);
            let req = Request::RandomKeys { count: want, distinct, seed: page_seed, skip };
            let (keys, more) = self.keys_page(s, req).await?;
            let done = keys.is_empty() || (distinct && !more);
            out.extend(keys);
            if done {
                break;
            }
        }
        out.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        Ok(out)
    }

    /// Every shard's info, in shard order (failures included).
    pub async fn info(&self) -> Vec<Result<ShardInfo, TransportError>> {
        let parts = (0..self.shard_count()).map(|s| (s, Request::Info)).collect();
        self.scatter(parts)
            .await
            .into_iter()
            .map(|(s, r)| match r {
                Ok(Response::Info { info }) => Ok(info),
                Ok(other) => Err(TransportError::new(
                    crate::TransportErrorKind::Protocol,
                    format!("shard {s} answered Info with {:?}", unexpected(s, &other)),
                )),
                Err(e) => Err(e),
            })
            .collect()
    }
}

/// A filter expression that compiles (the shards compile it again; this
/// makes a bad one a bad-input error before any shard is asked).
fn check_filter(src: &str) -> Result<(), Error> {
    if src.len() > vecshard_filter::Filter::MAX_LEN {
        return Err(Error::bad_input(
            ErrorCode::InvalidFilter,
            format!(
                "invalid_filter: the filter is {} bytes; the limit is {}",
                src.len(),
                vecshard_filter::Filter::MAX_LEN
            ),
        ));
    }
    vecshard_filter::Filter::compile(src)
        .map(drop)
        .map_err(|e| Error::bad_input(ErrorCode::InvalidFilter, format!("invalid_filter: {e}")))
}

fn check_one_attributes(a: &[u8]) -> Result<(), Error> {
    if a.len() > MAX_ATTRIBUTES_LEN {
        return Err(Error::bad_input(
            ErrorCode::AttributesTooLarge,
            format!("attributes are over {MAX_ATTRIBUTES_LEN} bytes"),
        ));
    }
    vecshard_filter::Attributes::parse(a).map(drop).map_err(|e| {
        Error::bad_input(
            ErrorCode::InvalidAttributes,
            format!("attributes must be a JSON object: {e}"),
        )
    })
}

/// Every item's attributes are a JSON object, checked before any shard is
/// asked so a bad item cannot leave a batch half applied.
fn check_attributes(items: &[Item]) -> Result<(), Error> {
    for (i, it) in items.iter().enumerate() {
        if let Some(a) = &it.attributes {
            check_one_attributes(a).map_err(|e| match e.kind() {
                ErrorKind::BadInput(w) => Error::bad_input(
                    w.code,
                    format!("item {i} (key {:?}): {}", truncate(&it.key), w.message),
                ),
                _ => e,
            })?;
        }
    }
    Ok(())
}

/// A shard's hit without its attributes (kept aside by key for the merge).
fn split_hit(h: SearchHit, attrs: &mut std::collections::HashMap<String, Option<Vec<u8>>>) -> Hit {
    if h.attributes.is_some() {
        attrs.insert(h.key.clone(), h.attributes);
    }
    Hit { key: h.key, distance: h.distance }
}

fn truncate(key: &str) -> &str {
    match key.char_indices().nth(64) {
        Some((i, _)) => &key[..i],
        None => key,
    }
}

/// splitmix64: the coordinator's generator for `random_keys`.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw below `n` (> 0), without modulo bias.
fn below(state: &mut u64, n: u64) -> u64 {
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let x = splitmix(state);
        if x < zone {
            return x % n;
        }
    }
}
