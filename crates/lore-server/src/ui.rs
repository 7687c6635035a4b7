//! The web UI: one HTML shell with a hand-written script and stylesheet,
//! embedded in the binary. The script renders from the JSON API; no build
//! step, no third-party code.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

const INDEX: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const APP_CSS: &str = include_str!("../ui/app.css");
const FAVICON: &str = include_str!("../ui/favicon.svg");

/// The shell, carrying this run's CSRF token for the script to send back.
pub async fn index(State(state): State<AppState>) -> Html<String> {
    Html(INDEX.replacen(
        "<meta charset=\"utf-8\">",
        &format!(
            "<meta charset=\"utf-8\">\n<meta name=\"lore-csrf\" content=\"{}\">",
            state.csrf
        ),
        1,
    ))
}

/// A static asset.
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return ApiError::NotFound(format!("no asset {name:?}")).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The icon browsers ask for at `/favicon.ico` (SVG, which they accept there).
pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}
