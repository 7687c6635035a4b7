//! The HTTP API handlers, each documented for `/openapi.json`.
//!
//! Handlers parse and check the request, then run index work on a blocking
//! thread with a pooled snapshot ([`crate::repos::Registry::lease`]).

use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use lore_ask::{AskRequest, Asker, Thread};
use lore_core::Located;
use lore_core::history::HistoryStore;
use lore_index::{SearchOptions, request};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::files::{FileQuery, FileView, Line};
use crate::jobs::{Job, JobKind, JobState};

/// The OpenAPI document of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lore",
        description = "The resident expert of a codebase: search, answers with verified citations, index runs."
    ),
    paths(
        healthz,
        metrics,
        list_repos,
        add_repo,
        index_initial,
        index_diff,
        index_status,
        index_events,
        search,
        search_click,
        chat,
        conversation,
        feedback,
        file,
        purge_file,
        crate::thinker::status,
        crate::thinker::toggle,
        crate::thinker::insights,
        crate::thinker::set_insight,
        crate::thinker::runs,
        crate::thinker::run,
        crate::thinker::artifact,
        crate::thinker::rerun,
        crate::thinker::cancel,
        crate::thinker::cards,
        crate::thinker::dossier,
        crate::thinker::risks,
        crate::thinker::risk_why,
        crate::thinker::findings,
        crate::thinker::github_webhook,
        crate::thinker::report,
        crate::thinker::rollback_policy,
        crate::thinker::ab_policy,
        crate::change::impact,
        crate::change::diagnose,
        crate::change::review
    ),
    components(schemas(
        ErrorBody,
        Health,
        RepoInfo,
        AddRepo,
        SearchRequest,
        SearchResponse,
        ClickRequest,
        ClickResponse,
        Hit,
        ChatRequest,
        ChatResponse,
        CitationOut,
        Located,
        ConversationResponse,
        Exchange,
        FeedbackOut,
        FeedbackRequest,
        Vote,
        FeedbackResponse,
        Job,
        JobKind,
        JobState,
        FileView,
        Line
    ))
)]
pub struct ApiDoc;

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    payload.map(|Json(t)| t).map_err(ApiError::from)
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Health of the server.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// Server version.
    pub version: &'static str,
}

/// Liveness: the server answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Prometheus metrics in the text format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.set_resident(&state.registry.resident_bytes());
    state.metrics.set_answer_cache(lore_ask::cache::stats());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// A repository with its index state.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepoInfo {
    /// Id used in every other route.
    pub id: String,
    /// Root directory.
    pub root: String,
    /// Whether it has an index.
    pub indexed: bool,
    /// Files indexed.
    pub files: u64,
    /// Commit of the index.
    pub commit: Option<String>,
    /// Unix time of the last index run.
    pub indexed_at: Option<i64>,
    /// `lexical+vectors`, `lexical` or `none`.
    pub search: String,
    /// The current or last index run started here.
    pub job: Option<Job>,
}

fn repo_info(state: &AppState, repo: &crate::repos::Repo) -> RepoInfo {
    let job = state.jobs.current(&repo.id);
    let status = state
        .registry
        .lease(&repo.id)
        .ok()
        .and_then(|index| index.status().ok());
    match status {
        Some(st) => RepoInfo {
            id: repo.id.clone(),
            root: repo.root.display().to_string(),
            indexed: true,
            files: st.stats.files_per_lang.iter().map(|(_, n, _)| n).sum(),
            commit: st.meta.head.clone(),
            indexed_at: st.meta.last_run.as_ref().map(|r| r.started_at),
            search: if st.semantic.model.is_some() {
                "lexical+vectors".into()
            } else {
                "lexical".into()
            },
            job,
        },
        None => RepoInfo {
            id: repo.id.clone(),
            root: repo.root.display().to_string(),
            indexed: false,
            files: 0,
            commit: None,
            indexed_at: None,
            search: "none".into(),
            job,
        },
    }
}

/// Every repository: indexed under LORE_HOME or registered with this server.
#[utoipa::path(get, path = "/repos", responses((status = 200, body = Vec<RepoInfo>)))]
pub async fn list_repos(State(state): State<AppState>) -> ApiResult<Json<Vec<RepoInfo>>> {
    blocking(move || {
        let repos = state.registry.list()?;
        Ok(Json(repos.iter().map(|r| repo_info(&state, r)).collect()))
    })
    .await
}

/// Registers a repository by path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRepo {
    /// Absolute path of the repository on the server's machine.
    pub path: String,
    /// Start its initial index run at once.
    #[serde(default)]
    pub index: bool,
}

/// Registers a repository (a local path), optionally starting its index run.
#[utoipa::path(post, path = "/repos", request_body = AddRepo,
    responses((status = 201, body = RepoInfo), (status = 400, body = ErrorBody)))]
pub async fn add_repo(
    State(state): State<AppState>,
    payload: Result<Json<AddRepo>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RepoInfo>)> {
    let req = body(payload)?;
    let path = PathBuf::from(&req.path);
    if path.is_absolute()
        && let Ok(real) = path.canonicalize()
    {
        may_register(&state.config.repo_roots, &real)?;
    }
    let repo = state.registry.register(&path)?;
    if req.index {
        state.jobs.start(&state, repo.clone(), JobKind::Initial)?;
    }
    blocking(move || Ok((StatusCode::CREATED, Json(repo_info(&state, &repo))))).await
}

/// Whether the API may register `real` (canonical): only inside a
/// configured repository root, and not inside a hidden directory there
/// (`~/code/.secrets`), so a request cannot make the server read any
/// directory of the machine.
fn may_register(roots: &[PathBuf], real: &std::path::Path) -> ApiResult<()> {
    if roots.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "{}: this server registers no repositories over HTTP; run `lore index {}` \
             or start `lore serve` with --repo-root DIR",
            real.display(),
            real.display()
        )));
    }
    let inside = roots.iter().find_map(|root| {
        let root = root.canonicalize().ok()?;
        real.strip_prefix(&root).ok().map(|rest| rest.to_owned())
    });
    match inside {
        Some(rest)
            if !rest
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.')) =>
        {
            Ok(())
        }
        Some(_) => Err(ApiError::Forbidden(format!(
            "{}: hidden directories are not registered over HTTP",
            real.display()
        ))),
        None => Err(ApiError::Forbidden(format!(
            "{}: outside the directories this server may register ({}); \
             add one with --repo-root DIR",
            real.display(),
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

async fn start_job(
    state: AppState,
    id: String,
    kind: JobKind,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let repo = state.registry.get(&id)?;
    let job = blocking({
        let state = state.clone();
        move || state.jobs.start(&state, repo, kind)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Starts the first index run of a repository (or brings it up to date).
#[utoipa::path(post, path = "/index/{repo}/initial", params(("repo" = String, Path, description = "Repository id")),
    responses((status = 202, body = Job), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn index_initial(
    State(state): State<AppState>,
    Path(repo): Path<String>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    start_job(state, repo, JobKind::Initial).await
}

/// Starts an incremental index run: only files changed since the last run.
#[utoipa::path(post, path = "/index/{repo}/diff", params(("repo" = String, Path, description = "Repository id")),
    responses((status = 202, body = Job), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn index_diff(
    State(state): State<AppState>,
    Path(repo): Path<String>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    start_job(state, repo, JobKind::Diff).await
}

/// The index of a repository: counts, commit, freshness, search signals,
/// and the current or last run.
#[utoipa::path(get, path = "/index/{repo}/status", params(("repo" = String, Path, description = "Repository id")),
    responses((status = 200, description = "Status as `lore status --json`, with `id`, `indexed` and `job`", body = Object), (status = 404, body = ErrorBody)))]
pub async fn index_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let repo = state.registry.get(&id)?;
        let job = state.jobs.current(&id);
        let mut value = match state.registry.lease(&id) {
            Ok(index) => {
                let mut v = index.status()?.to_json(false);
                v["indexed"] = json!(true);
                v
            }
            Err(lore_index::Error::NotIndexed(_)) => json!({"root": repo.root, "indexed": false}),
            Err(e) => return Err(e.into()),
        };
        value["id"] = json!(id);
        value["job"] = json!(job);
        Ok(Json(value))
    })
    .await
}

/// Live progress of the current or last index run, as server-sent events
/// (`event: progress`, data: a Job), ending when the run is over.
#[utoipa::path(get, path = "/index/{repo}/events", params(("repo" = String, Path, description = "Repository id")),
    responses((status = 200, description = "text/event-stream of Job objects", content_type = "text/event-stream"), (status = 404, body = ErrorBody)))]
pub async fn index_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    state.registry.get(&id)?;
    let Some(rx) = state.jobs.watch(&id) else {
        return Err(ApiError::NotFound(format!(
            "no index run of {id} yet: POST /index/{id}/initial starts one"
        )));
    };
    // Send the state at once, then every change, and stop after the end.
    let stream =
        futures_util::stream::unfold((rx, true, false), |(mut rx, first, over)| async move {
            if over {
                return None;
            }
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let job = rx.borrow_and_update().clone();
            let finished = job.finished();
            let event = Event::default()
                .event("progress")
                .json_data(&job)
                .unwrap_or_else(|_| Event::default().event("progress"));
            Some((Ok(event), (rx, false, finished)))
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A search.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// Repository id.
    pub repo_id: String,
    /// Words, names, or a question.
    pub query: String,
    /// Maximum results (default 10, at most 100).
    pub limit: Option<usize>,
    /// Only these languages (e.g. `python`, `rust`).
    #[serde(default)]
    pub langs: Vec<String>,
    /// Only paths matching this glob (e.g. `src/**/*.py`).
    pub path: Option<String>,
    /// `hybrid` (default), `lexical`, `vector` or `dense`.
    pub mode: Option<String>,
    /// Include each feature's part in every score.
    #[serde(default)]
    pub explain: bool,
}

/// A search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hit {
    /// The chunk: path, lines (1-based, inclusive), symbol, kind, language.
    #[serde(flatten)]
    pub at: Located,
    /// Score (higher is better).
    pub score: f32,
    /// Best-matching lines.
    pub snippet: String,
    /// Feature contributions (with `explain`).
    #[schema(value_type = Option<Vec<Object>>)]
    pub explain: Option<Value>,
}

/// Search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Results, best first.
    pub hits: Vec<Hit>,
    /// The mode used.
    pub mode: String,
    /// The commit of the index searched.
    pub commit: Option<String>,
    /// Time spent searching.
    pub took_ms: f64,
    /// When the repository compares two retrieval policies (`lore policy
    /// ab`), the id of this interleaved list: report what people open
    /// with `POST /search/click`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impression: Option<i64>,
}

/// Searches a repository's index (lexical, vectors, symbols and graph).
#[utoipa::path(post, path = "/search", request_body = SearchRequest,
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    payload: Result<Json<SearchRequest>, JsonRejection>,
) -> ApiResult<Json<SearchResponse>> {
    let req = body(payload)?;
    request::text(&req.query, "search query")?;
    let mode = request::mode(req.mode.as_deref().unwrap_or("hybrid"))?;
    let options = SearchOptions {
        limit: request::limit(req.limit.unwrap_or(10))?.min(100),
        langs: request::languages(&req.langs)?,
        path_glob: req.path.clone().filter(|p| !p.is_empty()),
        mode,
        explain: req.explain,
        max_per_file: None,
        all_features: false,
    };
    let slots = state.clone();
    let _running = slots
        .searches
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("search slots closed: {e}")))?;
    blocking(move || {
        let index = state.registry.lease(&req.repo_id)?;
        let started = Instant::now();
        // An A/B comparison interleaves the challenger's results.
        let challenger = lore_index::policy::Policies::load(index.data_dir())
            .ok()
            .and_then(|p| p.challenger(index.policy()));
        let (hits, impression) = match challenger {
            Some(challenger) if mode == lore_index::SearchMode::Hybrid => {
                let seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                let mut rng = lore_learn::bandit::Rng::new(seed);
                let teamed = index.search_ab(&req.query, &options, &challenger, &mut rng)?;
                let id = record_impression(
                    index.data_dir(),
                    &req.query,
                    index.policy().repository,
                    challenger.repository.unwrap_or(0),
                    &teamed,
                )?;
                (teamed.into_iter().map(|(h, _)| h).collect(), Some(id))
            }
            _ => (index.search(&req.query, &options)?, None),
        };
        let took_ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(Json(SearchResponse {
            impression,
            hits: hits
                .into_iter()
                .map(|h| Hit {
                    explain: h.explain.map(|e| json!(e)),
                    at: h.at,
                    score: h.score,
                    snippet: h.snippet,
                })
                .collect(),
            mode: mode.name().to_owned(),
            commit: index.indexed_commit().map(str::to_owned),
            took_ms,
        }))
    })
    .await
}

/// Stores an interleaved result list in the repository's history.
fn record_impression(
    data_dir: &std::path::Path,
    query: &str,
    a: Option<u32>,
    b: u32,
    teamed: &[(lore_index::SearchHit, lore_learn::interleave::Team)],
) -> ApiResult<i64> {
    use lore_core::history::{HistoryStore, Impression};
    let results: Vec<Value> = teamed
        .iter()
        .map(|(h, team)| {
            json!({
                "path": h.at.path, "start_line": h.at.start_line, "end_line": h.at.end_line,
                "team": team,
            })
        })
        .collect();
    let mut history = history_of(data_dir)?;
    Ok(history
        .add_impression(&Impression {
            id: 0,
            time: lore_core::time::now_ms() / 1000,
            query: query.to_owned(),
            a,
            b,
            results: Value::Array(results).to_string(),
            clicks: "[]".to_owned(),
        })
        .map_err(lore_index::Error::from)?)
}

/// The history of the repository whose data directory is `data_dir`.
fn history_of(data_dir: &std::path::Path) -> ApiResult<lore_store::SqliteHistory> {
    lore_store::SqliteHistory::open(&lore_index::Layout::new(data_dir).history_db())
        .map_err(|e| lore_index::Error::from(e).into())
}

/// What someone did with a result of an interleaved list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickRequest {
    /// Repository id.
    pub repo_id: String,
    /// The list (`impression` of the search response).
    pub impression: i64,
    /// The result's rank in the list, 0-based.
    pub rank: usize,
    /// `open` (default) or `up`.
    pub signal: Option<String>,
}

/// The comparison so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClickResponse {
    /// The list.
    pub impression: i64,
    /// Results acted on so far.
    pub clicks: usize,
}

/// Records that someone opened (or voted up) a result of an interleaved
/// list: the credit of an A/B comparison of retrieval policies.
#[utoipa::path(post, path = "/search/click", request_body = ClickRequest,
    responses((status = 200, body = ClickResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn search_click(
    State(state): State<AppState>,
    payload: Result<Json<ClickRequest>, JsonRejection>,
) -> ApiResult<Json<ClickResponse>> {
    use lore_core::history::HistoryStore;
    let req = body(payload)?;
    let signal = req.signal.clone().unwrap_or_else(|| "open".to_owned());
    if !matches!(signal.as_str(), "open" | "up") {
        return Err(ApiError::BadRequest(format!(
            "signal {signal:?}: expected open or up"
        )));
    }
    blocking(move || {
        let repo = state.registry.get(&req.repo_id)?;
        let data_dir = state.registry.home().repo_dir(&repo.root);
        let mut history = history_of(&data_dir)?;
        let Some(shown) = history
            .impression(req.impression)
            .map_err(lore_index::Error::from)?
        else {
            return Err(ApiError::NotFound(format!(
                "no interleaved result list {}",
                req.impression
            )));
        };
        let shown_len = serde_json::from_str::<Vec<Value>>(&shown.results).map_or(0, |r| r.len());
        if req.rank >= shown_len {
            return Err(ApiError::BadRequest(format!(
                "rank {}: list {} showed {shown_len} results",
                req.rank, req.impression
            )));
        }
        let mut clicks: Vec<Value> = serde_json::from_str(&shown.clicks).unwrap_or_default();
        let click = json!({ "rank": req.rank, "signal": signal });
        // The same act twice counts once.
        if !clicks.contains(&click) {
            clicks.push(click);
            history
                .set_clicks(shown.id, &Value::Array(clicks.clone()).to_string())
                .map_err(lore_index::Error::from)?;
        }
        Ok(Json(ClickResponse {
            impression: shown.id,
            clicks: clicks.len(),
        }))
    })
    .await
}

/// A question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// Repository id.
    pub repo_id: String,
    /// The question.
    pub question: String,
    /// Continue this conversation (a new one if absent).
    pub conversation_id: Option<i64>,
    /// Answer from the evidence alone, without a model.
    #[serde(default)]
    pub no_llm: bool,
    /// Refuse providers that are not on this machine.
    #[serde(default)]
    pub no_remote: bool,
    /// The model (overrides routing).
    pub model: Option<String>,
    /// Answer afresh even if the answer cache holds a valid answer.
    #[serde(default)]
    pub no_cache: bool,
}

/// A verified citation.
#[derive(Debug, Serialize, ToSchema)]
pub struct CitationOut {
    /// Evidence id as written in the answer (`[n]`).
    pub n: usize,
    /// The cited lines, the evidence's symbol and the commit it was read at.
    #[serde(flatten)]
    pub at: Located,
    /// The file changed since it was indexed.
    pub stale: bool,
}

/// An answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatResponse {
    /// Id for feedback.
    pub answer_id: i64,
    /// Conversation to continue with `conversation_id`.
    pub conversation_id: i64,
    /// The answer with `[n]` citations.
    pub answer: String,
    /// Verified citations.
    pub citations: Vec<CitationOut>,
    /// Citations removed because they did not match the evidence.
    #[schema(value_type = Vec<Object>)]
    pub rejected: Value,
    /// Version of the context policy.
    pub policy_version: u32,
    /// `llm` or `extractive`.
    pub mode: String,
    /// The model that answered.
    pub model: Option<String>,
    /// Tokens used.
    #[schema(value_type = Object)]
    pub tokens: Value,
    /// Cost in US dollars, when known.
    pub cost: Option<f64>,
    /// Wall time.
    pub latency_ms: u64,
    /// Why the answer is extractive although a model is configured.
    pub notice: Option<String>,
    /// Commit of the evidence.
    pub commit: String,
    /// The retrieval policy that ranked the evidence: `{version,
    /// repository}` (the repository's own trained version, if one is in
    /// force).
    #[schema(value_type = Object)]
    pub retrieval_policy: Value,
    /// Whether the answer came from the answer cache: `{hit, answer_id}`
    /// (the earlier answer it reuses).
    #[schema(value_type = Object)]
    pub cache: Value,
    /// How the answer was made: question as read, route, policy, every
    /// retrieval candidate with features, packed and cited.
    #[schema(value_type = Object)]
    pub explain: Value,
}

/// A conversation as recorded: every exchange with its citations and the
/// feedback given on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationResponse {
    /// The conversation.
    pub conversation_id: i64,
    /// Its exchanges, oldest first (those folded into a summary included).
    pub exchanges: Vec<Exchange>,
}

/// One recorded question and answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Exchange {
    /// Id for feedback.
    pub answer_id: i64,
    /// When it was asked (Unix seconds).
    pub time: i64,
    /// The question.
    pub question: String,
    /// The answer as shown, with `[n]` citations.
    pub answer: String,
    /// Verified citations.
    pub citations: Vec<CitationOut>,
    /// `llm` or `extractive`.
    pub mode: String,
    /// The model, for model answers.
    pub model: Option<String>,
    /// Commit the evidence was read at.
    pub commit: String,
    /// Anything the user should know about how it was answered.
    pub notice: Option<String>,
    /// Feedback given on it, oldest first.
    pub feedback: Vec<FeedbackOut>,
}

/// Feedback as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackOut {
    /// 1 up, -1 down, 0 a note only.
    pub vote: i8,
    /// The note, if any.
    pub note: Option<String>,
    /// When (Unix seconds).
    pub time: i64,
}

/// A recorded conversation, so a client (the web UI after a reload) can
/// show it again.
#[utoipa::path(get, path = "/conversations/{repo}/{id}",
    params(("repo" = String, Path, description = "Repository id"), ("id" = i64, Path, description = "Conversation id")),
    responses((status = 200, body = ConversationResponse), (status = 404, body = ErrorBody)))]
pub async fn conversation(
    State(state): State<AppState>,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> ApiResult<Json<ConversationResponse>> {
    let Path((repo_id, id)) = path?;
    blocking(move || {
        let repo = state.registry.get(&repo_id)?;
        let data_dir = state.registry.home().repo_dir(&repo.root);
        let history = lore_ask::asker::open_history(&data_dir)?;
        if history
            .conversation(id)
            .map_err(ApiError::internal)?
            .is_none()
        {
            return Err(ApiError::NotFound(format!(
                "no conversation {id} in the history of {repo_id}"
            )));
        }
        let mut exchanges = Vec::new();
        for a in history.exchanges(id).map_err(ApiError::internal)? {
            let citations: Vec<lore_ask::cite::Citation> =
                serde_json::from_str(&a.citations).unwrap_or_default();
            let feedback = history
                .feedback(a.id)
                .map_err(ApiError::internal)?
                .into_iter()
                .map(|f| FeedbackOut {
                    vote: f.vote,
                    note: f.note,
                    time: f.time,
                })
                .collect();
            exchanges.push(Exchange {
                answer_id: a.id,
                time: a.time,
                question: a.question,
                answer: a.answer,
                citations: citations
                    .into_iter()
                    .map(|c| CitationOut {
                        n: c.n,
                        at: Located {
                            commit: Some(a.commit.clone()),
                            ..c.at
                        },
                        stale: c.stale,
                    })
                    .collect(),
                mode: a.mode,
                model: a.model,
                commit: a.commit,
                notice: a.notice,
                feedback,
            });
        }
        Ok(Json(ConversationResponse {
            conversation_id: id,
            exchanges,
        }))
    })
    .await
}

/// Answers a question about a repository with verified file:line citations.
#[utoipa::path(post, path = "/chat", request_body = ChatRequest,
    responses((status = 200, body = ChatResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    payload: Result<Json<ChatRequest>, JsonRejection>,
) -> ApiResult<Json<ChatResponse>> {
    let req = body(payload)?;
    let user = who(&headers);
    if req.question.trim().is_empty() {
        return Err(ApiError::BadRequest("question is empty".into()));
    }
    let _turn = state.answers.enter().await?;
    let state = state.clone();
    blocking(move || {
        let index = state.registry.lease(&req.repo_id)?;
        let thread = req.conversation_id.map_or(Thread::New, Thread::Id);
        let mut asker = Asker::open(state.registry.home().path(), &index, thread)?;
        let request = AskRequest {
            no_llm: req.no_llm || state.config.no_llm,
            no_remote: req.no_remote,
            model: req.model.clone(),
            user: Some(user),
            no_cache: req.no_cache,
        };
        let asked = asker.ask(&index, &req.question, &request, &mut |_| {})?;
        let a = &asked.answer;
        state.metrics.answer(
            lore_ask::session::mode_name(a.mode),
            a.latency_ms as f64 / 1000.0,
            a.tokens.prompt,
            a.tokens.completion,
        );
        let mut explain = asked.explain_json();
        explain["policy"] = json!(a.policy);
        explain["model"] = json!(a.model);
        explain["tokens"] = json!(a.tokens);
        explain["cost"] = json!(a.cost);
        Ok(Json(ChatResponse {
            answer_id: asked.id,
            conversation_id: asker.conversation(),
            answer: a.text.clone(),
            citations: a
                .citations
                .iter()
                .map(|c| CitationOut {
                    n: c.n,
                    at: Located {
                        commit: Some(a.commit.clone()),
                        ..c.at.clone()
                    },
                    stale: c.stale,
                })
                .collect(),
            rejected: json!(a.rejected),
            policy_version: a.policy.version,
            mode: lore_ask::session::mode_name(a.mode).to_owned(),
            model: a.model.clone(),
            tokens: json!(a.tokens),
            cost: a.cost,
            latency_ms: a.latency_ms,
            notice: a.notice.clone(),
            commit: a.commit.clone(),
            retrieval_policy: json!(a.retrieval_policy),
            cache: json!({"hit": a.reused.is_some(), "answer_id": a.reused}),
            explain,
        }))
    })
    .await
}

/// Helpful or not.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    /// Helpful.
    Up,
    /// Not helpful.
    Down,
    /// No verdict (a note alone, or another signal).
    #[default]
    None,
}

/// A verdict on an answer, or something a person did with it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// Repository id.
    pub repo_id: String,
    /// The answer.
    pub answer_id: i64,
    /// `up`, `down` or `none`.
    #[serde(default)]
    pub vote: Vote,
    /// What the person did, when it is not a vote: `note`, `correct`,
    /// `wrong` (a citation marked wrong: its place in `correct_citations`),
    /// `open` (a citation opened), `copy` (code copied), `reask`,
    /// `follow-up`, `read-cited`. Defaults to the vote, else `correct`
    /// with corrected citations, else `note`.
    pub signal: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// Locations the answer should have cited: `[{path, start_line, end_line}]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub correct_citations: Option<Value>,
}

/// A stored verdict and the answer's reward with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackResponse {
    /// Id of the stored verdict.
    pub feedback_id: i64,
    /// The answer's reward now: `{value, people, counted, mood}`.
    #[schema(value_type = Object)]
    pub reward: Value,
}

/// Who gave feedback: the bearer token's holder (by a digest of the token:
/// one token, one person) or, without a token, the server's local user.
fn who(headers: &HeaderMap) -> String {
    match headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        Some(token) => format!(
            "token:{}",
            &lore_index::worker::sha256_hex(token.trim().as_bytes())[..12]
        ),
        None => lore_ask::feedback::local_user(),
    }
}

/// Stores a vote, a note, corrected citations or an implicit signal on an
/// answer; returns the answer's reward.
#[utoipa::path(post, path = "/feedback", request_body = FeedbackRequest,
    responses((status = 201, body = FeedbackResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn feedback(
    State(state): State<AppState>,
    headers: HeaderMap,
    payload: Result<Json<FeedbackRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<FeedbackResponse>)> {
    use lore_ask::feedback::{Given, Place};
    use lore_learn::reward::Signal;
    let req = body(payload)?;
    let correct: Vec<Place> = match &req.correct_citations {
        None => Vec::new(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
            ApiError::BadRequest(
                "correct_citations: give an array of {path, start_line, end_line}".into(),
            )
        })?,
    };
    let signal = match (&req.signal, req.vote) {
        (Some(name), _) => Signal::from_name(name).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "signal {name:?}: expected one of {}",
                Signal::ALL.map(Signal::name).join(", ")
            ))
        })?,
        (None, Vote::Up) => Signal::Up,
        (None, Vote::Down) => Signal::Down,
        (None, Vote::None) if !correct.is_empty() => Signal::Correct,
        (None, Vote::None) => Signal::Note,
    };
    let user = who(&headers);
    blocking(move || {
        let repo = state.registry.get(&req.repo_id)?;
        let data_dir = state.registry.home().repo_dir(&repo.root);
        let recorded = lore_ask::feedback::give(
            &data_dir,
            &Given {
                answer: req.answer_id,
                signal,
                note: req.note.clone(),
                correct,
                user,
            },
        )?;
        Ok((
            StatusCode::CREATED,
            Json(FeedbackResponse {
                feedback_id: recorded.feedback_id,
                reward: serde_json::to_value(&recorded.reward).map_err(ApiError::internal)?,
            }),
        ))
    })
    .await
}

/// Path of a file of a repository.
#[derive(Debug, Deserialize, IntoParams)]
pub struct FilePath {
    /// Repository id.
    pub repo: String,
    /// Path relative to the root.
    pub path: String,
}

/// A file of a repository, highlighted, for the code viewer. Only files in
/// the index are served.
#[utoipa::path(get, path = "/files/{repo}/{path}", params(FilePath, FileQuery),
    responses((status = 200, body = FileView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn file(
    State(state): State<AppState>,
    Path(FilePath { repo, path }): Path<FilePath>,
    query: Result<Query<FileQuery>, QueryRejection>,
) -> ApiResult<Json<FileView>> {
    let Query(query) = query?;
    blocking(move || {
        let index = state.registry.lease(&repo)?;
        Ok(Json(crate::files::view(&index, &repo, &path, &query)?))
    })
    .await
}

/// Removes a file or directory from every store of the repository's index
/// and keeps it out of later runs (`lore purge`); the index is rebuilt
/// without it.
#[utoipa::path(delete, path = "/files/{repo}/{path}", params(FilePath),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn purge_file(
    State(state): State<AppState>,
    Path(FilePath { repo, path }): Path<FilePath>,
) -> ApiResult<Json<Value>> {
    let relative = crate::security::relative_path(&path)?.to_owned();
    blocking(move || {
        let root = state.registry.get(&repo)?.root;
        let target = lore_core::path::under(&root, &relative);
        let report = lore_index::purge(
            state.registry.home(),
            &root,
            &[target],
            &lore_index::IndexConfig::default(),
            &(),
        )?;
        Ok(Json(json!(report)))
    })
    .await
}

/// The OpenAPI document.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Unknown routes.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "no route {}: GET /openapi.json lists the API",
        uri.path()
    ))
}

/// A known route called with the wrong method: 405 with a JSON body.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{method} is not allowed on {}: GET /openapi.json lists each route's methods",
        uri.path()
    ))
}
