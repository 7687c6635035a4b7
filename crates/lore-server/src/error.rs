//! [`ApiError`]: the one error type of the API. 4xx bodies say what to fix;
//! 5xx are logged with their cause and answer with a generic body.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or a value is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// No or a wrong bearer token.
    #[error(
        "missing or wrong bearer token: send `Authorization: Bearer <token>` (the token is in LORE_HOME/server.token)"
    )]
    Unauthorized,
    /// The request names something the server may not show.
    #[error("{0}")]
    Forbidden(String),
    /// The request names something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request conflicts with the state (e.g. an index run is going on).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit.
    #[error("request body too large (limit {0} bytes)")]
    TooLarge(usize),
    /// Too many requests from this client.
    #[error("too many requests: retry after {0} s")]
    RateLimited(u64),
    /// The server is at its limit for this kind of request.
    #[error("{0}")]
    Busy(String),
    /// A failure of the server; the cause is logged, not returned.
    #[error("internal error")]
    Internal(String),
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong and, for 4xx, what to fix.
    pub error: String,
    /// HTTP status code.
    pub status: u16,
}

impl ApiError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// An internal error from anything displayable.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let body = ErrorBody {
            error: self.to_string(),
            status: status.as_u16(),
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited(after) = self
            && let Ok(value) = after.to_string().parse()
        {
            response.headers_mut().insert("retry-after", value);
        }
        if let ApiError::Busy(_) = self {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("2"));
        }
        if let ApiError::Unauthorized = self {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge(crate::BODY_LIMIT)
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::BadRequest(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            other => ApiError::BadRequest(format!("invalid JSON body: {}", other.body_text())),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::BadRequest(format!("invalid query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::BadRequest(format!("invalid path: {}", rejection.body_text()))
    }
}

/// Maps an index error: what the user can fix is a 4xx.
impl From<lore_index::Error> for ApiError {
    fn from(err: lore_index::Error) -> ApiError {
        use lore_index::Error as E;
        match err {
            E::NotIndexed(path) => ApiError::Conflict(format!(
                "{} is not indexed yet: POST /index/{{repo}}/initial",
                path.display()
            )),
            E::UnknownRepo(_) | E::UnknownFile(_) => ApiError::NotFound(err.to_string()),
            E::RootMissing(_) | E::NotADirectory(_) | E::Invalid(_) => {
                ApiError::BadRequest(err.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<lore_ask::Error> for ApiError {
    fn from(err: lore_ask::Error) -> ApiError {
        use lore_ask::Error as E;
        match err {
            E::Index(e) => e.into(),
            E::NoConversation(_) | E::NoAnswer(_) => ApiError::NotFound(err.to_string()),
            E::Config { .. } | E::RemoteRefused { .. } | E::Invalid(_) => {
                ApiError::BadRequest(err.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> ApiError {
        ApiError::internal(format!("worker task failed: {err}"))
    }
}
