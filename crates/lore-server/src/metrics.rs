//! Prometheus metrics: requests and their latency per route, index runs,
//! answer latency and tokens. Exposed at `/metrics` in the text format.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    kind: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 65 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<RouteLabels>,
    index_runs: Family<RunLabels, Counter>,
    index_seconds: Histograms<RunLabels>,
    answer_seconds: Histograms<ModeLabels>,
    tokens: Family<TokenLabels, Counter>,
    resident: Family<RepoLabels, prometheus_client::metrics::gauge::Gauge>,
    answer_cache: Family<OutcomeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RepoLabels {
    repo: String,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("lore");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds: Histograms<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        let index_runs = Family::<RunLabels, Counter>::default();
        let index_seconds: Histograms<RunLabels> = Family::new_with_constructor(latency_histogram);
        let answer_seconds: Histograms<ModeLabels> =
            Family::new_with_constructor(latency_histogram);
        let tokens = Family::<TokenLabels, Counter>::default();
        let resident = Family::<RepoLabels, prometheus_client::metrics::gauge::Gauge>::default();
        let answer_cache = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "answer_cache_lookups",
            "Answer cache lookups by outcome (hit, miss; stale: entries found out of date and dropped)",
            answer_cache.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and method",
            request_seconds.clone(),
        );
        registry.register(
            "index_runs",
            "Index runs by kind (initial, diff) and outcome",
            index_runs.clone(),
        );
        registry.register(
            "index_run_duration_seconds",
            "Index run duration",
            index_seconds.clone(),
        );
        registry.register(
            "answer_duration_seconds",
            "Answer latency by mode (llm, extractive)",
            answer_seconds.clone(),
        );
        registry.register(
            "answer_tokens",
            "Tokens used by answers (prompt, completion)",
            tokens.clone(),
        );
        registry.register(
            "resident_bytes",
            "Memory held by a repository's open snapshots (model, vector codes, graph, chunk heads)",
            resident.clone(),
        );
        Metrics {
            resident,
            answer_cache,
            registry,
            requests,
            request_seconds,
            index_runs,
            index_seconds,
            answer_seconds,
            tokens,
        }
    }
}

impl Metrics {
    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Sets the memory each repository's open snapshots hold.
    pub fn set_resident(&self, repos: &[(String, u64)]) {
        self.resident.clear();
        for (repo, bytes) in repos {
            self.resident
                .get_or_create(&RepoLabels { repo: repo.clone() })
                .set(i64::try_from(*bytes).unwrap_or(i64::MAX));
        }
    }

    /// Brings the answer cache counters up to the process's counts
    /// (`lore_ask::cache::stats`: hits, misses, stale).
    pub fn set_answer_cache(&self, (hits, misses, stale): (u64, u64, u64)) {
        for (outcome, n) in [("hit", hits), ("miss", misses), ("stale", stale)] {
            let counter = self.answer_cache.get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            });
            counter.inc_by(n.saturating_sub(counter.get()));
        }
    }

    /// Records an index run.
    pub fn index_run(&self, kind: &str, ok: bool, seconds: f64) {
        let labels = RunLabels {
            kind: kind.to_owned(),
            outcome: if ok { "ok" } else { "failed" }.to_owned(),
        };
        self.index_runs.get_or_create(&labels).inc();
        self.index_seconds.get_or_create(&labels).observe(seconds);
    }

    /// Records an answer.
    pub fn answer(&self, mode: &str, seconds: f64, prompt: u64, completion: u64) {
        self.answer_seconds
            .get_or_create(&ModeLabels {
                mode: mode.to_owned(),
            })
            .observe(seconds);
        for (kind, n) in [("prompt", prompt), ("completion", completion)] {
            self.tokens
                .get_or_create(&TokenLabels {
                    kind: kind.to_owned(),
                })
                .inc_by(n);
        }
    }
}

/// Middleware (as a route layer, where the matched route is known) that
/// counts requests and observes their latency.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .request_seconds
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method: method.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}
