//! JSON errors with a stable `code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vecshard_coordinator::{Error as CoordError, ErrorKind, TransportErrorKind};
use vecshard_shard::ErrorCode;

/// An HTTP error: a status and `{"error": {"code", "message"}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, code: code.into(), message: message.into() }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl From<CoordError> for ApiError {
    fn from(e: CoordError) -> ApiError {
        let status = match e.kind() {
            ErrorKind::BadInput(w) => match w.code {
                ErrorCode::KeyNotFound => StatusCode::NOT_FOUND,
                ErrorCode::NotInitialized => StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::AttributesTooLarge | ErrorCode::RequestTooLarge => {
                    StatusCode::PAYLOAD_TOO_LARGE
                }
                _ => StatusCode::BAD_REQUEST,
            },
            ErrorKind::Shard { error, .. } if error.kind == TransportErrorKind::Timeout => {
                StatusCode::GATEWAY_TIMEOUT
            }
            ErrorKind::Shard { .. } | ErrorKind::Incomplete { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ErrorKind::Unexpected { .. } => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { error: Inner { code: &self.code, message: &self.message } };
        (self.status, axum::Json(body)).into_response()
    }
}
