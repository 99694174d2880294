//! Prometheus metrics: request counters and latency histograms per route
//! and per shard, written in the text exposition format by hand (a few
//! counters do not need a metrics framework).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (0.1 ms .. 10 s).
const BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0];

#[derive(Clone, Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.counts[i] += 1;
        }
        self.sum += secs;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cum = 0;
        for (b, c) in BUCKETS.iter().zip(self.counts) {
            cum += c;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cum}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
struct Inner {
    /// (route, status) -> count
    http_total: BTreeMap<(&'static str, u16), u64>,
    http_latency: BTreeMap<&'static str, Histogram>,
    /// (shard, op, outcome) -> count
    shard_total: BTreeMap<(u32, &'static str, &'static str), u64>,
    shard_latency: BTreeMap<(u32, &'static str), Histogram>,
}

/// Gauges of one shard, read when `/metrics` is scraped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShardGauges {
    /// Shard id.
    pub shard: u32,
    /// Live vectors (None when the shard did not answer).
    pub vectors: Option<u64>,
    /// Bytes of memory the shard uses (wasm linear memory, or heap).
    pub memory_bytes: Option<u64>,
    /// Times the shard was restarted after a trap.
    pub restarts: Option<u64>,
}

/// All counters and histograms of one server.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one HTTP request.
    pub fn http(&self, route: &'static str, status: u16, took: Duration) {
        let mut g = self.lock();
        *g.http_total.entry((route, status)).or_default() += 1;
        g.http_latency.entry(route).or_default().observe(took.as_secs_f64());
    }

    /// Records one call to a shard.
    pub fn shard(&self, shard: u32, op: &'static str, ok: bool, took: Duration) {
        let mut g = self.lock();
        *g.shard_total.entry((shard, op, if ok { "ok" } else { "error" })).or_default() += 1;
        g.shard_latency.entry((shard, op)).or_default().observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition of everything, plus shard gauges.
    pub fn render(&self, gauges: &[ShardGauges]) -> String {
        let g = self.lock();
        let mut out = String::new();
        out.push_str("# HELP vecshard_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE vecshard_http_requests_total counter\n");
        for ((route, status), n) in &g.http_total {
            let _ = writeln!(
                out,
                "vecshard_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP vecshard_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE vecshard_http_request_duration_seconds histogram\n");
        for (route, h) in &g.http_latency {
            h.write(
                &mut out,
                "vecshard_http_request_duration_seconds",
                &format!("route=\"{route}\""),
            );
        }
        out.push_str("# HELP vecshard_shard_requests_total Requests sent to each shard.\n");
        out.push_str("# TYPE vecshard_shard_requests_total counter\n");
        for ((shard, op, outcome), n) in &g.shard_total {
            let _ = writeln!(
                out,
                "vecshard_shard_requests_total{{shard=\"{shard}\",op=\"{op}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP vecshard_shard_request_duration_seconds Shard call latency.\n");
        out.push_str("# TYPE vecshard_shard_request_duration_seconds histogram\n");
        for ((shard, op), h) in &g.shard_latency {
            h.write(
                &mut out,
                "vecshard_shard_request_duration_seconds",
                &format!("shard=\"{shard}\",op=\"{op}\""),
            );
        }
        type Pick = fn(&ShardGauges) -> Option<u64>;
        let gauges_spec: [(&str, &str, &str, Pick); 3] = [
            ("vecshard_shard_vectors", "gauge", "Live vectors per shard.", |s| s.vectors),
            ("vecshard_shard_memory_bytes", "gauge", "Memory per shard in bytes.", |s| {
                s.memory_bytes
            }),
            ("vecshard_shard_restarts_total", "counter", "Shard restarts after a trap.", |s| {
                s.restarts
            }),
        ];
        for (name, ty, help, pick) in gauges_spec {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {ty}");
            for s in gauges {
                if let Some(v) = pick(s) {
                    let _ = writeln!(out, "{name}{{shard=\"{}\"}} {v}", s.shard);
                }
            }
        }
        let up = gauges.iter().filter(|s| s.vectors.is_some()).count();
        let _ = writeln!(out, "# HELP vecshard_shards_up Shards that answered the last scrape.\n# TYPE vecshard_shards_up gauge\nvecshard_shards_up {up}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.http("search", 200, Duration::from_micros(300));
        m.http("search", 200, Duration::from_millis(3));
        m.http("search", 400, Duration::from_secs(20));
        let text = m.render(&[ShardGauges { shard: 0, vectors: Some(5), ..Default::default() }]);
        assert!(text.contains("vecshard_http_requests_total{route=\"search\",status=\"200\"} 2"));
        assert!(text.contains(
            "vecshard_http_request_duration_seconds_bucket{route=\"search\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "vecshard_http_request_duration_seconds_bucket{route=\"search\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "vecshard_http_request_duration_seconds_bucket{route=\"search\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("vecshard_shard_vectors{shard=\"0\"} 5"));
        assert!(!text.contains("vecshard_shard_memory_bytes{"));
    }
}
