//! The contract of the HTTP JSON bodies of `POST /v1/vectors` and
//! `POST /v1/search`, checked by the `http_json` fuzz target (through the
//! real axum router, in process) and replayed by
//! `crates/server/tests/fuzz_corpus.rs` (through a real socket).
//!
//! An input is one selector byte (bit 0: 0 = `/v1/vectors`, 1 =
//! `/v1/search`) followed by the body. The server runs the real routes
//! over two in-process shards holding the fixture's elements
//! (`fixture.rs`); every request starts from that state.
//!
//! The contract: every answer is JSON; a failure is a 4xx with
//! `{"error": {"code", "message"}}` and changes nothing on any shard; a
//! search changes nothing and returns at most `k` hits sorted by
//! distance, each with a numeric distance; an upsert counts every item and
//! leaves every key on its owner shard.

use std::sync::Arc;

use serde_json::Value;
use vecshard_coordinator::{InProcessShard, ShardTransport};
use vecshard_server::{App, NoHooks, ServerConfig};
use vecshard_shard::{Request, Shard};

use crate::{fixture, known};

/// The two routes, by selector bit.
pub const ROUTES: [&str; 2] = ["/v1/vectors", "/v1/search"];

/// The route and body an input stands for (`None` for an empty input).
pub fn split(data: &[u8]) -> Option<(&'static str, &[u8])> {
    let (&sel, body) = data.split_first()?;
    Some((ROUTES[usize::from(sel & 1)], body))
}

/// Two in-process shards behind an [`App`], and their starting state.
pub struct Harness {
    /// The app (build the router from it).
    pub app: Arc<App>,
    shards: Vec<InProcessShard>,
    base: Vec<Vec<u8>>,
}

/// Every shard's snapshot (the whole observable state).
pub type State = Vec<Option<Vec<u8>>>;

impl Harness {
    /// The fixture's 40 elements spread over two shards by the
    /// coordinator's routing (the five removals are not needed here).
    pub fn new() -> Harness {
        let settings = fixture::settings();
        let shards = InProcessShard::cluster(&settings, 2).expect("fixture settings");
        let arcs = shards.iter().map(|s| Arc::new(s.clone()) as Arc<dyn ShardTransport>).collect();
        let app = App::new(settings, arcs, Arc::new(NoHooks), ServerConfig::default())
            .expect("a valid app");
        for item in fixture::items() {
            let owner = app.coordinator().owner(&item.key) as usize;
            shards[owner].with(|s| s.handle(Request::Upsert { items: vec![item] }));
        }
        let base = shards.iter().map(|s| s.with(|s| s.snapshot().expect("created"))).collect();
        Harness { app, shards, base }
    }

    /// Puts every shard back to the starting state.
    pub fn reset(&self) {
        for (s, b) in self.shards.iter().zip(&self.base) {
            s.with(|s| *s = Shard::from_snapshot(b).expect("base snapshot"));
        }
    }

    /// Every shard's snapshot.
    pub fn state(&self) -> State {
        self.shards.iter().map(|s| s.with(|s| s.snapshot())).collect()
    }

    fn holds(&self, key: &str) -> bool {
        let owner = self.app.coordinator().owner(key) as usize;
        self.shards[owner].with(|s| s.index().is_some_and(|i| i.contains(key)))
    }
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

/// Checks one answer: `status` and `reply` for `body` sent to `route`,
/// with the shards' state `before` and `after`.
pub fn check_reply(
    h: &Harness,
    route: &str,
    body: &[u8],
    status: u16,
    reply: &[u8],
    before: &State,
    after: &State,
) {
    let json: Value = serde_json::from_slice(reply)
        .unwrap_or_else(|e| panic!("{route} answered {status} with non-JSON ({e}): {reply:?}"));
    if status != 200 {
        assert!((400..500).contains(&status), "{route} answered {status}: {json}");
        let code =
            json["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code: {json}"));
        assert!(
            !code.is_empty() && code.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'),
            "error code {code:?} is not snake_case"
        );
        assert!(json["error"]["message"].is_string(), "no error message: {json}");
        assert!(before == after, "a failed {route} ({json}) changed a shard");
        return;
    }
    // A 200 means the server parsed the body, so it is JSON.
    let req: Value = serde_json::from_slice(body).expect("an accepted body is JSON");
    if route == "/v1/search" {
        assert!(before == after, "a search changed a shard");
        let k = req.get("k").and_then(Value::as_u64).unwrap_or(10);
        let hits = json["results"].as_array().unwrap_or_else(|| panic!("no results: {json}"));
        assert!(hits.len() as u64 <= k, "{} hits for k {k}", hits.len());
        // Finding 2: a query with huge values gets `"distance": null`
        // (f32 infinity or NaN in serde_json); the stored vectors are the
        // fixture's, all small.
        let query: Vec<f32> = req["vector"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_f64).map(|x| x as f32).collect())
            .unwrap_or_default();
        let overflow = known::huge(&query) || query.iter().any(|x| x.is_infinite());
        let mut prev = f64::NEG_INFINITY;
        for hit in hits {
            assert!(hit["key"].is_string(), "hit without a key: {json}");
            match hit["distance"].as_f64() {
                Some(d) => {
                    assert!(d >= prev, "hits not sorted by distance: {json}");
                    prev = d;
                }
                None => assert!(overflow, "a hit's distance is not a number: {json}"),
            }
        }
        assert_eq!(json["partial"], Value::Bool(false), "{json}");
    } else {
        let items = match &req {
            Value::Array(a) => a,
            other => other["vectors"].as_array().expect("an accepted upsert has vectors"),
        };
        let counted = json["inserted"]
            .as_u64()
            .unwrap_or(u64::MAX)
            .checked_add(json["updated"].as_u64().unwrap_or(u64::MAX));
        assert_eq!(counted, Some(items.len() as u64), "{json}");
        for it in items {
            let key = it["key"].as_str().expect("an accepted item has a key");
            assert!(h.holds(key), "{key:?} acknowledged but not on its owner shard");
        }
    }
}
