//! The thinker over HTTP: learning per repository (`/learning/*`), runs
//! (`/runs`), insights (`/insights`), cards and dossiers, and GitHub
//! webhooks (`/webhooks/github`) — the same implementations as the CLI
//! (`lore_index::learning`, `lore_index::thoughts::read`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use lore_core::jobs::{INSIGHT_FILTERS, INSIGHT_STATUSES, JobStore, NewJob};
use lore_core::time::now_ms;
use lore_index::learning;
use lore_store::SqliteJobs;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::blocking;
use crate::error::{ApiError, ApiResult};

fn queue(state: &AppState) -> ApiResult<SqliteJobs> {
    SqliteJobs::open(&state.registry.home().thinker_db()).map_err(ApiError::internal)
}

fn store_err(err: lore_core::Error) -> ApiError {
    lore_index::Error::from(err).into()
}

/// `?repo_id=`.
#[derive(Debug, Deserialize)]
pub struct RepoQuery {
    repo_id: String,
}

/// The status of learning for a repository (`lore learn status --json`).
#[utoipa::path(get, path = "/learning/status", params(("repo_id" = String, Query, description = "Repository id")),
    responses((status = 200, description = "`{on, running, queued, waiting, waiting_reasons, budgets, quiet_hours, cadence, next_cadence, allow, last_index, status_line}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    query: Result<Query<RepoQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    blocking(move || {
        let repo = state.registry.get(&q.repo_id)?;
        Ok(Json(learning::status(state.registry.home(), &repo.root)?))
    })
    .await
}

/// `POST /learning/toggle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    repo_id: String,
    on: bool,
    /// `["cpu=20m/h"]` or `{"cpu": "20m/h", "tokens": "50k/day"}`.
    #[serde(default)]
    budgets: Option<Value>,
    #[serde(default)]
    quiet_hours: Option<String>,
    #[serde(default)]
    cadence: Option<String>,
    #[serde(default)]
    allow: Option<Vec<String>>,
}

/// Turns learning on or off with its policy. Allowing thought kinds that
/// run the repository's code takes the server's token: never an
/// unauthenticated request, even from loopback.
#[utoipa::path(post, path = "/learning/toggle", request_body(content = Object, description = "`{repo_id, on, budgets?, quiet_hours?, cadence?, allow?}`"),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn toggle(
    State(state): State<AppState>,
    payload: Result<Json<Toggle>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(t) = payload?;
    let budgets = match &t.budgets {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::BadRequest("budgets: give strings like \"cpu=20m/h\"".into())
                })
            })
            .collect::<ApiResult<_>>()?,
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok(format!("{k}={s}")),
                Value::Null => Ok(format!("{k}=none")),
                _ => Err(ApiError::BadRequest(format!(
                    "budgets.{k}: give a string like \"20m/h\" or null"
                ))),
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "budgets: give {\"cpu\": \"20m/h\", \"tokens\": \"50k/day\"}".into(),
            ));
        }
    };
    if let Some(kind) = t
        .allow
        .iter()
        .flatten()
        .find(|k| learning::executes_code(k))
        && state.config.token.is_none()
    {
        return Err(ApiError::Forbidden(format!(
            "allowing `{kind}` lets Lore run the repository's code: do it with `lore learn on \
             --allow {kind}`, or on a server started with a token"
        )));
    }
    blocking(move || {
        let repo = state.registry.get(&t.repo_id)?;
        let home = state.registry.home();
        let settings = learning::Settings {
            budgets,
            quiet_hours: t.quiet_hours,
            cadence: t.cadence,
            allow: t.allow,
        };
        learning::toggle(home, &t.repo_id, t.on, &settings)?;
        Ok(Json(learning::status(home, &repo.root)?))
    })
    .await
}

/// `GET /insights?repo_id=&kind=&status=` (`filter=` is the status).
#[derive(Debug, Deserialize)]
pub struct InsightQuery {
    repo_id: String,
    kind: Option<String>,
    status: Option<String>,
    filter: Option<String>,
    limit: Option<usize>,
}

/// What the thoughts found, newest first.
#[utoipa::path(get, path = "/insights", params(("repo_id" = String, Query, description = "Repository id"), ("kind" = Option<String>, Query, description = "change, hotspot, entry-points, broken-reference"), ("status" = Option<String>, Query, description = "new, read, dismissed, suppressed (also `filter`)")),
    responses((status = 200, description = "`[{id, kind, severity, title, body, evidence, fingerprint, status, ...}]`", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn insights(
    State(state): State<AppState>,
    query: Result<Query<InsightQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let status = q.status.or(q.filter).filter(|s| s != "all");
    if let Some(s) = &status
        && !INSIGHT_FILTERS.contains(&s.as_str())
    {
        return Err(ApiError::BadRequest(format!(
            "status `{s}`: give new, read, dismissed or suppressed"
        )));
    }
    blocking(move || {
        state.registry.get(&q.repo_id)?;
        let found = queue(&state)?
            .insights(
                &q.repo_id,
                q.kind.as_deref(),
                status.as_deref(),
                q.limit.unwrap_or(100).min(1000),
            )
            .map_err(store_err)?;
        Ok(Json(Value::Array(
            found.iter().map(learning::insight_json).collect(),
        )))
    })
    .await
}

/// `POST /insights/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsightStatus {
    status: String,
}

/// Marks an insight new, read or dismissed.
#[utoipa::path(post, path = "/insights/{id}", params(("id" = i64, Path, description = "Insight id")), request_body(content = Object, description = "`{status}`: new, read or dismissed"),
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn set_insight(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    payload: Result<Json<InsightStatus>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = payload?;
    if !INSIGHT_STATUSES.contains(&body.status.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "status `{}`: give new, read or dismissed",
            body.status
        )));
    }
    blocking(move || {
        let mut q = queue(&state)?;
        if !q.set_insight_status(id, &body.status).map_err(store_err)? {
            return Err(ApiError::NotFound(format!("no insight {id}")));
        }
        let insight = q.insight(id).map_err(store_err)?.expect("just updated");
        Ok(Json(learning::insight_json(&insight)))
    })
    .await
}

/// `GET /runs?repo_id=` (all repositories without it).
#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    repo_id: Option<String>,
    limit: Option<usize>,
}

/// Runs, newest first (`lore runs --json`).
#[utoipa::path(get, path = "/runs", params(("repo_id" = Option<String>, Query, description = "Repository id (all without)"), ("limit" = Option<usize>, Query, description = "At most (100)")),
    responses((status = 200, description = "`[{id, kind, state, reason, attempts, started_at, finished_at, log, ...}]`", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn runs(
    State(state): State<AppState>,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    blocking(move || {
        if let Some(id) = &q.repo_id {
            state.registry.get(id)?;
        }
        let jobs = queue(&state)?
            .jobs(q.repo_id.as_deref(), q.limit.unwrap_or(100).min(1000))
            .map_err(store_err)?;
        Ok(Json(Value::Array(
            jobs.iter().map(learning::run_json).collect(),
        )))
    })
    .await
}

fn find(q: &SqliteJobs, id: i64) -> ApiResult<lore_core::jobs::Job> {
    q.job(id)
        .map_err(store_err)?
        .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))
}

/// One run in full, with its log and artifacts.
#[utoipa::path(get, path = "/runs/{id}", params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn run(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    blocking(move || {
        let q = queue(&state)?;
        let job = find(&q, id)?;
        let artifacts = q.artifacts(id).map_err(store_err)?;
        Ok(Json(learning::run_detail_json(&job, &artifacts)))
    })
    .await
}

/// An artifact of a run, as text (it is checked against its recorded
/// SHA-256 first: a file changed behind Lore's back is not served).
#[utoipa::path(get, path = "/runs/{id}/artifacts/{name}", params(("id" = i64, Path, description = "Run id"), ("name" = String, Path, description = "Artifact name")),
    responses((status = 200, content_type = "text/plain"), (status = 409, body = crate::error::ErrorBody), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn artifact(
    State(state): State<AppState>,
    Path((id, name)): Path<(i64, String)>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    blocking(move || {
        let q = queue(&state)?;
        let a = q
            .artifacts(id)
            .map_err(store_err)?
            .into_iter()
            .find(|a| a.name == name)
            .ok_or_else(|| ApiError::NotFound(format!("run {id} has no artifact {name}")))?;
        let bytes = std::fs::read(&a.path)
            .map_err(|e| ApiError::NotFound(format!("artifact {name} of run {id}: {e}")))?;
        if lore_index::worker::sha256_hex(&bytes) != a.sha256 {
            return Err(ApiError::Conflict(format!(
                "artifact {name} of run {id} changed since it was written"
            )));
        }
        Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            bytes,
        )
            .into_response())
    })
    .await
}

/// Runs it again: a new run, never merged with a queued one.
#[utoipa::path(post, path = "/runs/{id}/rerun", params(("id" = i64, Path, description = "Run id")),
    responses((status = 201, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn rerun(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    blocking(move || {
        let mut q = queue(&state)?;
        let job = find(&q, id)?;
        let queued = q
            .enqueue(&learning::rerun_of(&job), now_ms())
            .map_err(store_err)?;
        let new = find(&q, queued.id)?;
        Ok((StatusCode::CREATED, Json(learning::run_json(&new))))
    })
    .await
}

/// Cancels a run that has not finished.
#[utoipa::path(post, path = "/runs/{id}/cancel", params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorBody), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn cancel(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    blocking(move || {
        let mut q = queue(&state)?;
        let job = find(&q, id)?;
        if !q.cancel(id, now_ms()).map_err(store_err)? {
            return Err(ApiError::Conflict(format!(
                "run {id} has already finished ({})",
                job.state.name()
            )));
        }
        Ok(Json(learning::run_json(&find(&q, id)?)))
    })
    .await
}

/// `GET /cards?repo_id=&symbol=`.
#[derive(Debug, Deserialize)]
pub struct CardQuery {
    repo_id: String,
    symbol: String,
}

/// The cards of the functions a name matches (`lore card --json`).
#[utoipa::path(get, path = "/cards", params(("repo_id" = String, Query, description = "Repository id"), ("symbol" = String, Query, description = "name, Class.method or path:name")),
    responses((status = 200, body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn cards(
    State(state): State<AppState>,
    query: Result<Query<CardQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    blocking(move || {
        let index = state.registry.lease(&q.repo_id)?;
        let cards =
            lore_index::thoughts::read::cards(&index, &queue(&state)?, &q.repo_id, &q.symbol)
                .map_err(|e| match e {
                    lore_index::Error::Invalid(msg) => ApiError::NotFound(msg),
                    other => other.into(),
                })?;
        Ok(Json(Value::Array(cards)))
    })
    .await
}

/// `GET /dossiers?repo_id=&path=`.
#[derive(Debug, Deserialize)]
pub struct DossierQuery {
    repo_id: String,
    path: String,
}

/// The dossier of a file or directory (`lore dossier --json`).
#[utoipa::path(get, path = "/dossiers", params(("repo_id" = String, Query, description = "Repository id"), ("path" = String, Query, description = "A file or directory")),
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn dossier(
    State(state): State<AppState>,
    query: Result<Query<DossierQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let path = crate::security::relative_path(&q.path)
        .map(str::to_owned)
        .or_else(|e| {
            if q.path == "." {
                Ok(".".into())
            } else {
                Err(e)
            }
        })?;
    blocking(move || {
        let index = state.registry.lease(&q.repo_id)?;
        let d = lore_index::thoughts::read::dossier(&index, &queue(&state)?, &q.repo_id, &path)
            .map_err(|e| match e {
                lore_index::Error::Invalid(msg) => ApiError::NotFound(msg),
                other => other.into(),
            })?;
        Ok(Json(d))
    })
    .await
}

/// `GET /risks?repo_id=&level=&top=&explain=`.
#[derive(Debug, Deserialize)]
pub struct RiskQuery {
    repo_id: String,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    top: Option<usize>,
    #[serde(default)]
    explain: bool,
}

/// Files or functions ranked by risk (`lore risks --json`): `[{path, score,
/// rank, features}]`, `symbol, start_line, end_line` at function level,
/// `contributions` with `explain=true`. The first call on a new commit
/// fits the repository's model from its history (seconds to minutes).
#[utoipa::path(get, path = "/risks", params(("repo_id" = String, Query, description = "Repository id"), ("level" = Option<String>, Query, description = "file (default) or function"), ("top" = Option<usize>, Query, description = "Only the N riskiest"), ("explain" = Option<bool>, Query, description = "Each feature's contribution")),
    responses((status = 200, body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn risks(
    State(state): State<AppState>,
    query: Result<Query<RiskQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let functions = match q.level.as_deref() {
        None | Some("file") => false,
        Some("function") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "level {other:?}: expected file or function"
            )));
        }
    };
    blocking(move || {
        let (index, config) = risk_inputs(&state, &q.repo_id)?;
        let home = state.registry.home();
        let map = lore_index::risk::risk_map(
            home,
            &index,
            &config,
            &lore_index::risk::RiskOptions::default(),
            functions,
            q.explain,
        )?;
        let mut risks = map.risks;
        if let Some(n) = q.top {
            risks.truncate(n);
        }
        Ok(Json(
            serde_json::to_value(risks).map_err(ApiError::internal)?,
        ))
    })
    .await
}

/// A repository's current index and its SmellHunt settings: what a risk
/// map is made from.
pub(crate) fn risk_inputs<'a>(
    state: &'a AppState,
    repo_id: &str,
) -> ApiResult<(
    lore_index::registry::Lease<'a>,
    lore_index::findings::SmellConfig,
)> {
    let index = state.registry.lease(repo_id)?;
    let config = lore_index::findings::SmellConfig::load(
        &state.registry.home().config_file(),
        index.root(),
    )?;
    Ok((index, config))
}

/// `GET /risks/why?repo_id=&path=&symbol=&start_line=`.
#[derive(Debug, Deserialize)]
pub struct WhyQuery {
    repo_id: String,
    path: String,
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    start_line: Option<u32>,
}

/// Why a file (or its function `symbol`) is risky: its score and rank,
/// each feature's contribution in words with the commits, lines, findings
/// and referring files behind it, and for a file its functions ranked.
#[utoipa::path(get, path = "/risks/why", params(("repo_id" = String, Query, description = "Repository id"), ("path" = String, Query, description = "An indexed source file"), ("symbol" = Option<String>, Query, description = "One of its functions (Class.method)"), ("start_line" = Option<u32>, Query, description = "The function's first line, when several share the name")),
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn risk_why(
    State(state): State<AppState>,
    query: Result<Query<WhyQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    blocking(move || {
        let (index, config) = risk_inputs(&state, &q.repo_id)?;
        let home = state.registry.home();
        let card = lore_index::risk::why(
            home,
            &index,
            &config,
            &lore_index::risk::RiskOptions::default(),
            &q.path,
            q.symbol.as_deref(),
            q.start_line,
        )?;
        Ok(Json(
            serde_json::to_value(card).map_err(ApiError::internal)?,
        ))
    })
    .await
}

/// `GET /findings?repo_id=&severity=`.
#[derive(Debug, Deserialize)]
pub struct FindingsQuery {
    repo_id: String,
    #[serde(default)]
    severity: Option<String>,
}

/// The repository's findings (`lore findings --json`), this severity or
/// higher.
#[utoipa::path(get, path = "/findings", params(("repo_id" = String, Query, description = "Repository id"), ("severity" = Option<String>, Query, description = "low, medium or high: this or higher")),
    responses((status = 200, body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn findings(
    State(state): State<AppState>,
    query: Result<Query<FindingsQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let min = match q.severity.as_deref() {
        None => None,
        Some(s) => Some(lore_index::findings::Severity::from_name(s).ok_or_else(|| {
            ApiError::BadRequest(format!("severity {s:?}: expected low, medium or high"))
        })?),
    };
    blocking(move || {
        let index = state.registry.lease(&q.repo_id)?;
        let home = state.registry.home();
        let config = lore_index::findings::SmellConfig::load(&home.config_file(), index.root())?;
        let all = lore_index::findings::collect(&index, &queue(&state)?, &q.repo_id, &config)?;
        let kept: Vec<_> = all
            .into_iter()
            .filter(|f| min.is_none_or(|m| f.severity >= m))
            .collect();
        Ok(Json(
            serde_json::to_value(kept).map_err(ApiError::internal)?,
        ))
    })
    .await
}

/// GitHub's webhook deliveries: authenticated by the HMAC-SHA256 of the
/// body with the secret `lore learn webhook-secret` set (not by the bearer
/// token), replays (a delivery id seen before) ignored; a `push` to a
/// registered repository (matched by its remote URL) queues a ScanDiff of
/// the pushed range that fetches the commits first.
#[utoipa::path(post, path = "/webhooks/github", request_body(content = Object, description = "GitHub's `push` or `ping` payload, signed in `X-Hub-Signature-256`"),
    responses((status = 202, description = "ScanDiff runs queued", body = Object), (status = 200, description = "ping, or a replay ignored", body = Object), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn github_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let home = state.registry.home().clone();
    let Some(secret) = crate::security::webhook_secret(home.path()) else {
        return Err(ApiError::Forbidden(
            "no webhook secret is set: run `lore learn webhook-secret` and give it to GitHub"
                .into(),
        ));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header("x-hub-signature-256").ok_or(ApiError::Unauthorized)?;
    if !crate::security::verify_signature(secret.as_bytes(), &body, signature) {
        return Err(ApiError::Unauthorized);
    }
    let event = header("x-github-event").unwrap_or("").to_owned();
    let delivery = header("x-github-delivery")
        .ok_or_else(|| ApiError::BadRequest("no X-GitHub-Delivery header".into()))?
        .to_owned();
    blocking(move || {
        let mut q = queue(&state)?;
        if !q.first_delivery(&delivery, now_ms()).map_err(store_err)? {
            return Ok((
                StatusCode::OK,
                Json(json!({ "ignored": "a delivery seen before (replayed)" })),
            ));
        }
        match event.as_str() {
            "ping" => return Ok((StatusCode::OK, Json(json!({ "pong": true })))),
            "push" => {}
            other => {
                return Ok((
                    StatusCode::OK,
                    Json(json!({ "ignored": format!("event `{other}` is not used") })),
                ));
            }
        }
        let payload: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("push payload: {e}")))?;
        let urls: Vec<String> = ["clone_url", "ssh_url", "git_url", "html_url", "url"]
            .iter()
            .filter_map(|k| payload["repository"][k].as_str())
            .map(lore_git::normalize_remote)
            .collect();
        let (Some(before), Some(after)) = (payload["before"].as_str(), payload["after"].as_str())
        else {
            return Err(ApiError::BadRequest(
                "push payload: no `before` and `after`".into(),
            ));
        };
        let mut queued = Vec::new();
        for repo in state.registry.list()? {
            let Some((remote, _)) = lore_git::remotes(&repo.root)
                .into_iter()
                .find(|(_, url)| urls.contains(&lore_git::normalize_remote(url)))
            else {
                continue;
            };
            if !q.learning(&repo.id).map_err(store_err)? {
                continue;
            }
            let zeros = before.bytes().all(|b| b == b'0');
            let from = if zeros {
                format!("{after}~1")
            } else {
                before.to_owned()
            };
            let input = json!({ "from": from, "to": after, "fetch": remote }).to_string();
            let job = NewJob::new(lore_index::worker::kinds::SCAN_DIFF, &repo.id, &input);
            queued.push(q.enqueue(&job, now_ms()).map_err(store_err)?.id);
        }
        if queued.is_empty() {
            return Err(ApiError::NotFound(format!(
                "no registered repository with learning on has the remote {}",
                urls.first().map_or("(none given)", String::as_str)
            )));
        }
        Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))))
    })
    .await
}

/// `GET /report?repo_id=&since=7d`.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    repo_id: String,
    #[serde(default)]
    since: Option<String>,
}

/// What Lore learned about a repository and how well it does (`lore
/// report --json`).
#[utoipa::path(get, path = "/report", params(("repo_id" = String, Query, description = "Repository id"), ("since" = Option<String>, Query, description = "7d (default), 24h, 30m")),
    responses((status = 200, description = "`{repo_id, since, retrieval_policy, policies, ab, feedback, quality, attention}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let since = lore_index::report::parse_since(q.since.as_deref().unwrap_or("7d"))?;
    blocking(move || {
        let repo = state.registry.get(&q.repo_id)?;
        Ok(Json(lore_index::report::report(
            state.registry.home(),
            &repo.root,
            since,
        )?))
    })
    .await
}

/// `POST /policies/rollback`, `POST /policies/ab`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    repo_id: String,
    /// Rollback: the version to put back (the one before without it). A/B:
    /// the challenger.
    #[serde(default)]
    version: Option<u32>,
    /// A/B: end the comparison.
    #[serde(default)]
    stop: bool,
}

/// Puts back the retrieval policy in force before (or `version`).
#[utoipa::path(post, path = "/policies/rollback", request_body(content = Object, description = "`{repo_id, version?}`"),
    responses((status = 200, description = "the policies after: `{versions, current, previous, ab}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn rollback_policy(
    State(state): State<AppState>,
    payload: Result<Json<PolicyChange>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = payload?;
    change_policies(state, body, |dir, body| {
        Ok(lore_index::policy::Policies::rollback(dir, body.version)?)
    })
    .await
}

/// Applies `change` to the repository's policies on a blocking thread;
/// answers with the policies after it.
async fn change_policies(
    state: AppState,
    body: PolicyChange,
    change: impl FnOnce(&std::path::Path, &PolicyChange) -> ApiResult<lore_index::policy::Policies>
    + Send
    + 'static,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let repo = state.registry.get(&body.repo_id)?;
        let dir = state.registry.home().repo_dir(&repo.root);
        let p = change(&dir, &body)?;
        Ok(Json(serde_json::to_value(p).expect("policies serialize")))
    })
    .await
}

/// Starts (or with `stop`, ends) an A/B comparison of a retrieval policy
/// version with the one in force.
#[utoipa::path(post, path = "/policies/ab", request_body(content = Object, description = "`{repo_id, version}` or `{repo_id, stop: true}`"),
    responses((status = 200, description = "the policies after", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn ab_policy(
    State(state): State<AppState>,
    payload: Result<Json<PolicyChange>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = payload?;
    change_policies(state, body, |dir, body| match (body.version, body.stop) {
        (Some(v), false) => Ok(lore_index::policy::Policies::start_ab(dir, v)?),
        (None, true) => Ok(lore_index::policy::Policies::stop_ab(dir)?),
        _ => Err(ApiError::BadRequest(
            "give a challenger `version`, or `stop: true`".into(),
        )),
    })
    .await
}
