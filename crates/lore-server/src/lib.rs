//! Lore's HTTP API and web UI (`lore serve`).
//!
//! [`router`] builds the whole application from an [`AppState`]; tests
//! drive it with `tower::ServiceExt::oneshot`, [`serve`] binds it to a
//! socket. Requests pass, outermost first: tracing → body limit → CORS (only
//! if origins are allowed) → Host, Origin and CSRF checks → rate limit →
//! bearer token (non-loopback binds) → routing → metrics (per matched
//! route) → handler.
//!
//! **Architecture Invariant:** handlers never block the async runtime:
//! index work runs on blocking threads with a pooled snapshot.

mod api;
mod change;
pub mod error;
mod files;
pub mod jobs;
pub mod metrics;
pub mod repos;
pub mod security;
mod thinker;
mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use lore_index::Home;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

pub use api::ApiDoc;
pub use error::{ApiError, ApiResult};

use crate::jobs::{JobKind, Jobs};
use crate::metrics::Metrics;
use crate::repos::Registry;
use crate::security::RateLimiter;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1 << 20;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Lore's data root.
    pub home: Home,
    /// Bearer token every API request must carry (required when bound to
    /// anything but loopback).
    pub token: Option<String>,
    /// Origins allowed to call the API from a browser (CORS); none by
    /// default.
    pub allow_origins: Vec<String>,
    /// Requests per second per client (0: no limit).
    pub rate_per_second: f64,
    /// Burst per client.
    pub rate_burst: f64,
    /// Limit loopback clients too.
    pub limit_loopback: bool,
    /// Answer without models even if one is configured.
    pub no_llm: bool,
    /// Host names the server is reached by besides loopback names and IP
    /// addresses (`--public-host`); any other `Host` is refused, which
    /// defeats DNS rebinding.
    pub public_hosts: Vec<String>,
    /// Directories under which `POST /repos` may register repositories
    /// (`--repo-root`; `lore serve` defaults to its working directory).
    /// None: the API registers nothing (the CLI always can).
    pub repo_roots: Vec<PathBuf>,
    /// A client must send a request's headers within this time (slowloris).
    pub header_timeout: std::time::Duration,
    /// Memory each repository's resident search data may take.
    pub resident_budget: u64,
}

impl ServerConfig {
    /// Defaults for `home`: no token, no CORS, 50 requests/s per
    /// non-loopback client with bursts of 100.
    pub fn new(home: Home) -> ServerConfig {
        ServerConfig {
            home,
            token: None,
            allow_origins: Vec::new(),
            rate_per_second: 50.0,
            rate_burst: 100.0,
            limit_loopback: false,
            no_llm: false,
            public_hosts: Vec::new(),
            repo_roots: Vec::new(),
            header_timeout: HEADER_TIMEOUT,
            resident_budget: lore_index::registry::DEFAULT_RESIDENT_BUDGET,
        }
    }
}

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// The shared parts.
#[derive(Debug)]
pub struct Inner {
    /// Settings.
    pub config: ServerConfig,
    /// Repositories and open snapshots.
    pub registry: Registry,
    /// Index runs.
    pub jobs: Jobs,
    /// Metrics.
    pub metrics: Metrics,
    /// Rate limit.
    pub limiter: RateLimiter,
    /// Answers (`/chat`) running at once and waiting ([`security::Gate`]).
    pub answers: security::Gate,
    /// This run's CSRF token: the UI page carries it and its
    /// state-changing requests send it back (`X-Lore-Csrf`).
    pub csrf: String,
    /// Searches running at once ([`repos::search_slots`]). Searches beyond wait here
    /// as tasks rather than as blocked threads (search is CPU bound, and
    /// a parked thread per waiting request only adds context switches).
    pub searches: tokio::sync::Semaphore,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// State for `config`.
    pub fn new(config: ServerConfig) -> AppState {
        AppState(Arc::new(Inner {
            registry: Registry::new(config.home.clone())
                .with_resident_budget(config.resident_budget),
            jobs: Jobs::default(),
            metrics: Metrics::default(),
            limiter: RateLimiter::new(
                config.rate_per_second,
                config.rate_burst,
                config.limit_loopback,
            ),
            searches: tokio::sync::Semaphore::new(repos::search_slots()),
            csrf: security::random_hex(16),
            answers: security::Gate::new(
                "answers",
                repos::search_slots(),
                4 * repos::search_slots(),
                std::time::Duration::from_secs(60),
            ),
            config,
        }))
    }
}

/// The application: API, UI, middleware.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/openapi.json", get(api::openapi))
        .route("/repos", get(api::list_repos).post(api::add_repo))
        .route("/index/{repo}/initial", post(api::index_initial))
        .route("/index/{repo}/diff", post(api::index_diff))
        .route("/index/{repo}/status", get(api::index_status))
        .route("/index/{repo}/events", get(api::index_events))
        .route("/search", post(api::search))
        .route("/search/click", post(api::search_click))
        .route("/chat", post(api::chat))
        .route("/conversations/{repo}/{id}", get(api::conversation))
        .route("/feedback", post(api::feedback))
        .route(
            "/files/{repo}/{*path}",
            get(api::file).delete(api::purge_file),
        )
        .route("/learning/status", get(thinker::status))
        .route("/learning/toggle", post(thinker::toggle))
        .route("/insights", get(thinker::insights))
        .route("/insights/{id}", post(thinker::set_insight))
        .route("/runs", get(thinker::runs))
        .route("/runs/{id}", get(thinker::run))
        .route("/runs/{id}/artifacts/{name}", get(thinker::artifact))
        .route("/runs/{id}/rerun", post(thinker::rerun))
        .route("/runs/{id}/cancel", post(thinker::cancel))
        .route("/cards", get(thinker::cards))
        .route("/dossiers", get(thinker::dossier))
        .route("/risks", get(thinker::risks))
        .route("/impact", post(change::impact))
        .route("/diagnose", post(change::diagnose))
        .route("/review", post(change::review))
        .route("/risks/why", get(thinker::risk_why))
        .route("/findings", get(thinker::findings))
        .route("/webhooks/github", post(thinker::github_webhook))
        .route("/report", get(thinker::report))
        .route("/policies/rollback", post(thinker::rollback_policy))
        .route("/policies/ab", post(thinker::ab_policy))
        .route("/", get(ui::index))
        .route("/ui/{asset}", get(ui::asset))
        .route("/favicon.ico", get(ui::favicon))
        .route_layer(from_fn_with_state(state.clone(), metrics::track))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed);
    let mut app = api
        .layer(from_fn_with_state(state.clone(), security::require_token))
        .layer(from_fn_with_state(state.clone(), security::rate_limit))
        .layer(from_fn_with_state(state.clone(), security::check_origin));
    if !state.config.allow_origins.is_empty() {
        let origins: Vec<HeaderValue> = state
            .config
            .allow_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    axum::http::header::CONTENT_TYPE,
                    axum::http::header::AUTHORIZATION,
                ]),
        );
    }
    app.layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Errors of starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The token file cannot be written.
    #[error("cannot create the server token in {path}: {source}")]
    Token {
        /// LORE_HOME.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A repository given on the command line is unusable.
    #[error("{0}")]
    Repo(ApiError),
    /// Serving failed.
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What [`serve`] tells its caller once listening.
#[derive(Debug)]
pub struct Started {
    /// The bound address (the port is real when 0 was asked).
    pub addr: SocketAddr,
    /// The token, when one was created now (printed once).
    pub new_token: Option<String>,
    /// Repository ids being indexed.
    pub repos: Vec<String>,
}

/// Runs queued background thoughts (`lore runs`) on a thread of its own,
/// looking for work once a second when idle. Not awaited at shutdown: a
/// thought killed midway runs again after its lease (`lore_core::jobs`).
fn spawn_worker(home: lore_index::Home) {
    let spawned = std::thread::Builder::new()
        .name("lore-worker".into())
        .spawn(move || {
            let config = lore_index::worker::WorkerConfig::default();
            loop {
                match lore_index::worker::run_next(&home, &config) {
                    Ok(Some(_)) => {}
                    Ok(None) => std::thread::sleep(std::time::Duration::from_secs(1)),
                    Err(err) => {
                        tracing::warn!(cause = %err, "background worker");
                        std::thread::sleep(std::time::Duration::from_secs(5));
                    }
                }
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(cause = %err, "cannot start the background worker");
    }
}

/// Binds `addr`, registers and indexes `roots` in the background, and
/// serves until `shutdown` resolves; then stops accepting, finishes open
/// requests and waits for index runs to commit.
pub async fn serve(
    mut config: ServerConfig,
    addr: SocketAddr,
    roots: Vec<PathBuf>,
    on_start: impl FnOnce(&Started),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let mut new_token = None;
    if !addr.ip().is_loopback() && config.token.is_none() {
        let home = config.home.path().to_owned();
        let (token, created) =
            security::load_or_create_token(&home).map_err(|source| ServeError::Token {
                path: home.clone(),
                source,
            })?;
        if created {
            new_token = Some(token.clone());
        }
        config.token = Some(token);
    }
    let state = AppState::new(config);
    spawn_worker(state.registry.home().clone());
    let mut repos = Vec::new();
    for root in roots {
        let root = std::path::absolute(&root).unwrap_or(root);
        let repo = state
            .registry
            .register(&root)
            .map_err(|e| ServeError::Repo(e.into()))?;
        state
            .jobs
            .start(&state, repo.clone(), JobKind::Initial)
            .map_err(ServeError::Repo)?;
        repos.push(repo.id);
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener.local_addr()?;
    on_start(&Started {
        addr: bound,
        new_token,
        repos,
    });
    accept_loop(
        listener,
        router(state.clone()),
        state.config.header_timeout,
        shutdown,
    )
    .await;
    tracing::info!("waiting for index runs to finish");
    state.jobs.drain().await;
    Ok(())
}

/// A client must send a request's body within this time once its headers
/// are in.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Default of [`ServerConfig::header_timeout`].
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long open requests may finish after shutdown was asked for.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown`: HTTP/1 with a timeout on
/// request headers (axum's own loop has none), each request told its
/// client address; then stops accepting and lets open requests finish.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(cause = %err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(addr));
                request.map(axum::body::Body::new)
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(cause = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after {DRAIN_TIMEOUT:?}; stopping anyway");
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
