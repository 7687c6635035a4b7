//! Change intelligence over HTTP: `POST /impact`.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::Deserialize;
use serde_json::Value;

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
