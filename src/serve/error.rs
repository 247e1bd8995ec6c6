//! The one HTTP error type: every refusal and failure of the server is a
//! status and a one-line message, made from the typed errors below it.

use super::style::StyleError;
use super::worker::WorkerError;
use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A 4xx or 5xx with a one-line message.
#[derive(Debug, Clone)]
pub struct HttpError(pub StatusCode, pub String);

impl HttpError {
    pub fn bad_request(msg: impl Into<String>) -> HttpError {
        HttpError(StatusCode::BAD_REQUEST, msg.into())
    }

    pub fn internal(msg: impl std::fmt::Display) -> HttpError {
        HttpError(StatusCode::INTERNAL_SERVER_ERROR, msg.to_string())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", self.1),
        )
            .into_response()
    }
}

/// Why a tile could not be made. Cloned to every request waiting for the
/// same tile, so it holds messages rather than the sources.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TileError {
    #[error("filter: {0}")]
    Scene(String),
    #[error("render failed: {0}")]
    Render(#[from] WorkerError),
    #[error("encoding failed: {0}")]
    Encode(String),
    #[error("the tile's task failed: {0}")]
    Task(String),
}

impl From<StoreError> for TileError {
    fn from(e: StoreError) -> TileError {
        TileError::Scene(e.to_string())
    }
}

impl From<&TileError> for HttpError {
    fn from(e: &TileError) -> HttpError {
        let status = match e {
            TileError::Render(WorkerError::Stopped) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        HttpError(status, e.to_string())
    }
}

impl From<StyleError> for HttpError {
    fn from(e: StyleError) -> HttpError {
        HttpError::bad_request(e.to_string())
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> HttpError {
        HttpError::internal(e)
    }
}

/// A refusal sent before the request body was read: the connection is
/// closed after it (the rest of the body is read and dropped by
/// `listen`, so that the client sees this answer rather than a reset).
pub fn refusal(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut res = HttpError(status, msg.into()).into_response();
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}
