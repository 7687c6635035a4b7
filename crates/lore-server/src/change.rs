//! Change intelligence over HTTP: `POST /impact`, `POST /diagnose`,
//! `POST /review`.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::blocking;
use crate::error::{ApiError, ApiResult};

/// `POST /impact`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactRequest {
    repo_id: String,
    /// A symbol (`name`, `Class.method`, `path:name`), a path or a commit
    /// range (`FROM..TO`).
    target: String,
    /// Caller hops to follow (default 2).
    #[serde(default)]
    depth: Option<u32>,
    /// Files listed at most (default 20, at most 200).
    #[serde(default)]
    limit: Option<usize>,
}

/// What else may have to change if the target changes.
#[utoipa::path(post, path = "/impact", request_body(content = Object, description = "`{repo_id, target, depth?, limit?}`"),
    responses((status = 200, description = "`{target, files: [{path, score, reasons}], symbols: [{path, start_line, end_line, symbol, distance, edge}], tests, uncertain}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn impact(
    State(state): State<AppState>,
    payload: Result<Json<ImpactRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(req) = payload?;
    let depth = req.depth.unwrap_or(2);
    if !(1..=6).contains(&depth) {
        return Err(ApiError::BadRequest(format!(
            "depth {depth}: expected 1 to 6"
        )));
    }
    let opts = lore_index::impact::ImpactOptions {
        depth,
        limit: req.limit.unwrap_or(20).clamp(1, 200),
    };
    blocking(move || {
        let index = state.registry.lease(&req.repo_id)?;
        let result = lore_index::impact::impact(&index, &req.target, &opts)?;
        Ok(Json(
            serde_json::to_value(result).map_err(ApiError::internal)?,
        ))
    })
    .await
}

/// `POST /diagnose`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseRequest {
    repo_id: String,
    /// The symptom: an error message, an exception, a log line, a stack
    /// trace, plain words.
    symptom: String,
    /// Places listed at most (default 10, at most 100).
    #[serde(default)]
    limit: Option<usize>,
    /// Also have the configured provider write a hypothesis over the
    /// places (citations verified); the response is then `{places,
    /// hypothesis}` (`hypothesis` null without a provider).
    #[serde(default)]
    hypothesis: bool,
}

/// Where to look for the bug behind a symptom.
#[utoipa::path(post, path = "/diagnose", request_body(content = Object, description = "`{repo_id, symptom, limit?, hypothesis?}`"),
    responses((status = 200, description = "`[{path, start_line, end_line, symbol, score, evidence: [{kind, detail, at}]}]`, likeliest first; with `hypothesis: true`, `{places: [...], hypothesis: {text, citations, rejected, model} | null | {not_written}}`", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn diagnose(
    State(state): State<AppState>,
    payload: Result<Json<DiagnoseRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(req) = payload?;
    if req.symptom.len() > 64 * 1024 {
        return Err(ApiError::BadRequest(format!(
            "symptom of {} bytes: at most 64 KiB",
            req.symptom.len()
        )));
    }
    let opts = lore_index::diagnose::DiagnoseOptions {
        limit: req.limit.unwrap_or(10).clamp(1, 100),
    };
    blocking(move || {
        let index = state.registry.lease(&req.repo_id)?;
        let places = lore_index::diagnose::diagnose(&index, &req.symptom, &opts)?;
        if !req.hypothesis {
            return Ok(Json(
                serde_json::to_value(places).map_err(ApiError::internal)?,
            ));
        }
        let config = lore_ask::asker::load_config(state.registry.home().path())
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let hypothesis = match config.provider(&lore_ask::asker::env) {
            Ok(Some(provider)) if !places.is_empty() => {
                let provider = lore_ask::provider::open(provider);
                match lore_ask::written::hypothesis(
                    &index,
                    provider.as_ref(),
                    &config,
                    &req.symptom,
                    &places,
                ) {
                    Ok(Ok(w)) => serde_json::to_value(w).map_err(ApiError::internal)?,
                    Ok(Err(why)) => json!({ "not_written": why.to_string() }),
                    Err(e) => json!({ "not_written": e.to_string() }),
                }
            }
            Ok(_) => Value::Null,
            Err(e) => json!({ "not_written": e.to_string() }),
        };
        Ok(Json(json!({ "places": places, "hypothesis": hypothesis })))
    })
    .await
}

/// `POST /review`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    repo_id: String,
    /// `FROM..TO` or one commit (default `HEAD`, the last commit).
    #[serde(default)]
    range: Option<String>,
    /// The staged changes instead of a range.
    #[serde(default)]
    staged: bool,
    /// `json` (default) or `sarif`.
    #[serde(default)]
    format: Option<String>,
    /// Never ask the configured provider for comments.
    #[serde(default)]
    no_llm: bool,
}

/// Lore's rules on the lines a change added, less findings like dismissed
/// ones.
#[utoipa::path(post, path = "/review", request_body(content = Object, description = "`{repo_id, range?, staged?, format?: json|sarif, no_llm?}`"),
    responses((status = 200, description = "`{from, to, files, added_lines, findings, suppressed}`, or a SARIF 2.1.0 log", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    payload: Result<Json<ReviewRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(req) = payload?;
    let sarif = match req.format.as_deref() {
        None | Some("json") => false,
        Some("sarif") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format {other:?}: expected json or sarif"
            )));
        }
    };
    let change = if req.staged {
        lore_index::review::Change::Staged
    } else {
        lore_index::review::Change::parse(req.range.as_deref().unwrap_or("HEAD"))?
    };
    blocking(move || {
        let (index, config) = crate::thinker::risk_inputs(&state, &req.repo_id)?;
        let queue = lore_store::SqliteJobs::open(&state.registry.home().thinker_db())
            .map_err(ApiError::internal)?;
        let dismissed = lore_index::findings::dismissed(&queue, &req.repo_id)?;
        let mut result = lore_index::review::review(&index, &change, &config, &dismissed)?;
        if !req.no_llm {
            // A provider that cannot be reached leaves the rule findings.
            lore_ask::written::review_comments(
                state.registry.home().path(),
                &index,
                &change,
                &config,
                &dismissed,
                &mut result,
            )
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        }
        let value = if sarif {
            lore_index::findings::to_sarif(&result.findings, env!("CARGO_PKG_VERSION"))
        } else {
            serde_json::to_value(result).map_err(ApiError::internal)?
        };
        Ok(Json(value))
    })
    .await
}
