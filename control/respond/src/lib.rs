//! Response and request-body helpers shared by every handler: the peer API (`skiff-replica`),
//! the store's JSON API (`skiff-server`) and the Kubernetes API (`skiff-apiserver`). A leaf, so
//! that those crates share them without depending on one another.

#![deny(unreachable_pub)]

use std::convert::Infallible;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited, combinators::UnsyncBoxBody};
use hyper::body::Incoming;

/// Every handler answers with this body type, so streaming and plain answers mix.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub fn bytes(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

pub fn text(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let mut message = message.into();
    message.push('\n');
    bytes(status, "text/plain; charset=utf-8", message)
}

pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => bytes(status, "application/json", body),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the answer: {e}"),
        ),
    }
}

/// A JSON error body: `{"error": "...", "message": "..."}`.
pub fn json_error(
    status: StatusCode,
    error: &str,
    message: impl std::fmt::Display,
) -> Response<Body> {
    json(
        status,
        &serde_json::json!({ "error": error, "message": message.to_string() }),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("reading the request body: {0}")]
    Read(String),
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Read(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// Reads the whole body, refusing more than `limit` bytes.
pub async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge { limit }),
        Err(e) => Err(BodyError::Read(e.to_string())),
    }
}
