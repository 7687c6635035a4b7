//! Bearer tokens, the per-client rate limit, and checks of file paths.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;
use crate::repos::lock;

/// The file in LORE_HOME that holds the server's bearer token.
pub const TOKEN_FILE: &str = "server.token";

/// The file in LORE_HOME that holds the secret GitHub signs webhook
/// deliveries with.
pub const WEBHOOK_SECRET_FILE: &str = "webhook.secret";

/// The webhook secret, if one was set.
pub fn webhook_secret(home: &Path) -> Option<String> {
    std::fs::read_to_string(home.join(WEBHOOK_SECRET_FILE))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The webhook secret, created (random, 0600) if missing or if `rotate`.
/// Returns it and whether it is new.
pub fn create_webhook_secret(home: &Path, rotate: bool) -> std::io::Result<(String, bool)> {
    if !rotate && let Some(secret) = webhook_secret(home) {
        return Ok((secret, false));
    }
    std::fs::create_dir_all(home)?;
    let secret = try_random_hex(32)?;
    write_private(&home.join(WEBHOOK_SECRET_FILE), &secret)?;
    Ok((secret, true))
}

/// Whether `header` (`sha256=HEX`, GitHub's `X-Hub-Signature-256`) is the
/// HMAC-SHA256 of `body` under `secret` (compared in constant time).
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let tag: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, body, &tag).is_ok()
}

/// `sha256=HEX` of `body` under `secret`, as GitHub signs.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The bearer token in `home`, created (random, 0600) if missing. Returns
/// the token and whether it was created now.
pub fn load_or_create_token(home: &Path) -> std::io::Result<(String, bool)> {
    let path = home.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            restrict(&path)?;
            return Ok((text.trim().to_owned(), false));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(home)?;
    let token = try_random_hex(32)?;
    write_private(&path, &token)?;
    Ok((token, true))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    restrict(path)
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_: &Path) -> std::io::Result<()> {
    Ok(())
}

fn try_random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// `bytes` random bytes as hex (the OS generator; it does not fail on the
/// systems Lore runs on).
pub fn random_hex(bytes: usize) -> String {
    try_random_hex(bytes).expect("the OS random number generator works")
}

/// The host part of a `Host` header or an origin's authority: without the
/// port, IPv6 without brackets, lower case.
fn host_part(authority: &str) -> String {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a request may name `host`: `localhost`, an IP address (a
/// rebinding page can only name the attacker's own domain), or a name
/// given with `--public-host`.
fn host_allowed(host: &str, public: &[String]) -> bool {
    host == "localhost"
        || host.parse::<IpAddr>().is_ok()
        || public.iter().any(|p| p.eq_ignore_ascii_case(host))
}

/// Middleware against DNS rebinding and cross-site requests: the `Host`
/// must be a name the server answers to; a state-changing request from a
/// browser (it sends `Origin`) must come from such a host (or an origin
/// allowed for CORS) and, unless CORS allowed it, carry this run's CSRF
/// token, which only the server's own page knows.
pub async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let config = &state.config;
    if let Some(host) = headers.get(axum::http::header::HOST) {
        let host = host.to_str().map(host_part).unwrap_or_default();
        if !host_allowed(&host, &config.public_hosts) {
            return ApiError::Forbidden(format!(
                "Host {host:?} is not a name this server answers to; start it with \
                 `--public-host {host}` if it is"
            ))
            .into_response();
        }
    }
    let reads = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if reads {
        return next.run(request).await;
    }
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("null").to_owned());
    let from_browser = origin.is_some() || headers.contains_key("sec-fetch-site");
    if let Some(origin) = &origin {
        let cors = config.allow_origins.iter().any(|o| o == origin);
        let own = origin.split_once("://").is_some_and(|(_, authority)| {
            host_allowed(&host_part(authority), &config.public_hosts)
        });
        if !cors && !own {
            return ApiError::Forbidden(format!(
                "requests from {origin} may not change anything here"
            ))
            .into_response();
        }
        if cors {
            return next.run(request).await;
        }
    }
    if from_browser {
        let given = headers
            .get("x-lore-csrf")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same(given.as_bytes(), state.csrf.as_bytes()) {
            return ApiError::Forbidden(
                "a request from a browser must carry the page's X-Lore-Csrf token; reload the page"
                    .into(),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Paths served without a token: the UI's static shell (it holds no data),
/// the health check, and GitHub's webhook (signed instead).
fn public(path: &str) -> bool {
    path == "/"
        || path == "/healthz"
        || path == "/favicon.ico"
        || path.starts_with("/ui/")
        // Authenticated by its own signature (`verify_signature`).
        || path == "/webhooks/github"
}

/// Equality that does not stop at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Middleware: when the server has a token, every non-public request must
/// carry it as `Authorization: Bearer …` (or `?access_token=` for
/// EventSource, which cannot send headers).
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.config.token else {
        return next.run(request).await;
    };
    if public(request.uri().path()) {
        return next.run(request).await;
    }
    let header = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let query = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("access_token="))
    });
    match header.or(query) {
        Some(given) if same(given.as_bytes(), token.as_bytes()) => next.run(request).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

/// A token bucket per client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    limit_loopback: bool,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` requests sustained with bursts of `burst`; loopback
    /// clients are limited only if `limit_loopback`. `per_second == 0`
    /// switches the limit off.
    pub fn new(per_second: f64, burst: f64, limit_loopback: bool) -> RateLimiter {
        RateLimiter {
            per_second,
            burst: burst.max(1.0),
            limit_loopback,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; `Err(seconds)` to wait if none is left.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        if self.per_second <= 0.0 || (client.is_loopback() && !self.limit_loopback) {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if buckets.len() > 10_000 {
            // Forget clients that have been quiet long enough to be full.
            let full = self.burst / self.per_second;
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs_f64() < full);
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Middleware: the per-client rate limit.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(client) = client
        && let Err(after) = state.limiter.check(client)
    {
        return ApiError::RateLimited(after).into_response();
    }
    next.run(request).await
}

/// Checks a repository-relative path from a URL: no absolute paths, no
/// `..` or `.` components, no backslashes or NUL.
pub fn relative_path(path: &str) -> Result<&str, ApiError> {
    let refuse = |why: &str| {
        Err(ApiError::Forbidden(format!(
            "{path:?}: {why}; give a path relative to the repository root"
        )))
    };
    if path.is_empty() {
        return Err(ApiError::BadRequest("no file path given".into()));
    }
    if path.contains('\\') || path.contains('\0') {
        return refuse("backslashes and NUL are not allowed");
    }
    let p = Path::new(path);
    if p.is_absolute() || path.starts_with('/') {
        return refuse("absolute paths are refused");
    }
    for component in p.components() {
        match component {
            Component::Normal(_) => {}
            Component::ParentDir => return refuse("`..` leaves the repository"),
            _ => return refuse("only plain path components are allowed"),
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_only() {
        assert!(relative_path("src/lib.rs").is_ok());
        for bad in [
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "./a",
            "a\\..\\b",
            "a\0",
        ] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_refills_and_refuses() {
        let limiter = RateLimiter::new(1.0, 2.0, true);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limiter.check(ip).is_ok());
        assert!(limiter.check(ip).is_ok());
        assert_eq!(limiter.check(ip), Err(1));
        // Another client has its own bucket.
        assert!(limiter.check("10.0.0.2".parse().unwrap()).is_ok());
        // Loopback is exempt unless asked.
        let lenient = RateLimiter::new(1.0, 1.0, false);
        for _ in 0..5 {
            assert!(lenient.check("127.0.0.1".parse().unwrap()).is_ok());
        }
    }

    #[test]
    fn token_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (token, created) = load_or_create_token(dir.path()).unwrap();
        assert!(created);
        assert_eq!(token.len(), 64);
        let (again, created) = load_or_create_token(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(again, token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

/// Bounds how many requests of one kind run at once and how many may wait
/// for a turn; the rest are refused at once with 503 (an answer holds a
/// thread, a snapshot and a model call: 200 at once took the server from
/// 0.4 to 2 GB).
#[derive(Debug)]
pub struct Gate {
    what: &'static str,
    permits: tokio::sync::Semaphore,
    running: usize,
    waiting: std::sync::atomic::AtomicUsize,
    queue: usize,
    wait: std::time::Duration,
}

impl Gate {
    /// `running` at once, `queue` more waiting at most `wait` each.
    pub fn new(
        what: &'static str,
        running: usize,
        queue: usize,
        wait: std::time::Duration,
    ) -> Gate {
        Gate {
            what,
            permits: tokio::sync::Semaphore::new(running.max(1)),
            running: running.max(1),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            queue,
            wait,
        }
    }

    /// A turn, or `Busy` when the queue is full or the wait too long.
    pub async fn enter(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        use std::sync::atomic::Ordering;
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        let busy = || {
            ApiError::Busy(format!(
                "busy: {} {} running and {} waiting; try again shortly",
                self.running, self.what, self.queue
            ))
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy());
        }
        let turn = tokio::time::timeout(self.wait, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match turn {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(busy()),
        }
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_gate_runs_its_share_queues_a_few_and_refuses_the_rest() {
        let gate = Gate::new("answers", 1, 1, Duration::from_millis(200));
        let first = gate.enter().await.unwrap();
        // The second waits for a turn; the third finds the queue full.
        let (second, third) = tokio::join!(gate.enter(), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            gate.enter().await
        });
        assert!(matches!(third, Err(ApiError::Busy(_))));
        // Nobody left while the second waited: it gave up too.
        assert!(matches!(second, Err(ApiError::Busy(_))));
        drop(first);
        let again = gate.enter().await;
        assert!(again.is_ok());
        drop(again);
        // A turn freed while waiting is taken.
        let held = gate.enter().await.unwrap();
        let (waited, ()) = tokio::join!(gate.enter(), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(held);
        });
        assert!(waited.is_ok());
    }
}
