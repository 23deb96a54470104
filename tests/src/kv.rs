//! What the `/kv/v1/*` API answers: key-values, range results, errors ([`KvError`]), and the
//! newline-delimited JSON of a watch, read one line at a time by [`WatchStream`].

use std::time::Duration;

use bytes::{Buf, BytesMut};
use http::StatusCode;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug)]
pub enum KvError {
    /// The replica answered with a non-2xx status and this JSON (or text) body.
    Status(StatusCode, Value),
    /// No answer: connection reset, timeout, a broken answer. The outcome of a write is unknown.
    Transport(String),
    /// The request was never sent: the connection (or its TLS handshake) could not be set up,
    /// e.g. refused by a replica that is down. A write certainly did not happen.
    Refused(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvError::Status(status, body) => write!(f, "HTTP {status}: {body}"),
            KvError::Transport(e) => write!(f, "transport: {e}"),
            KvError::Refused(e) => write!(f, "not sent: {e}"),
        }
    }
}

impl std::error::Error for KvError {}

impl KvError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            KvError::Status(s, _) => Some(*s),
            KvError::Transport(_) | KvError::Refused(_) => None,
        }
    }

    /// The `error` field of a JSON error body (`Conflict`, `Unavailable`, `Expired`, ...).
    pub fn kind(&self) -> Option<&str> {
        match self {
            KvError::Status(_, body) => body.get("error").and_then(Value::as_str),
            KvError::Transport(_) | KvError::Refused(_) => None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Kv {
    pub key: String,
    pub value: String,
    pub create_revision: u64,
    pub mod_revision: u64,
    pub version: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RangeResult {
    pub revision: u64,
    pub kvs: Vec<Kv>,
    pub more: bool,
}

/// One line of a watch: an event (`type` PUT or DELETE) or a terminal error (`Expired` with the
/// compacted revision, or `Unavailable`).
#[derive(Clone, Debug, Deserialize)]
pub struct WatchLine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub revision: Option<u64>,
    pub kv: Option<Kv>,
    pub prev: Option<Kv>,
    pub error: Option<String>,
    pub compacted: Option<u64>,
}

/// What [`WatchStream::next`] found.
#[derive(Debug)]
pub enum Next {
    Line(Box<WatchLine>),
    /// The server ended the stream cleanly.
    End,
    /// Nothing arrived within the time limit (the stream is still open).
    Quiet,
}

pub struct WatchStream {
    body: Incoming,
    buffer: BytesMut,
}

impl WatchStream {
    pub(crate) fn new(body: Incoming) -> Self {
        WatchStream {
            body,
            buffer: BytesMut::new(),
        }
    }

    /// The next line, the end, or `Quiet` after `limit`; `Err` when the connection broke.
    pub async fn next(&mut self, limit: Duration) -> anyhow::Result<Next> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line = self.buffer.split_to(end + 1);
                let text = &line[..end];
                let parsed = serde_json::from_slice(text).map_err(|e| {
                    anyhow::anyhow!("bad watch line {:?}: {e}", String::from_utf8_lossy(text))
                })?;
                return Ok(Next::Line(Box::new(parsed)));
            }
            let frame = match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Ok(Some(frame)) => frame?,
                Ok(None) if self.buffer.is_empty() => return Ok(Next::End),
                Ok(None) => anyhow::bail!(
                    "watch ended mid-line: {:?}",
                    String::from_utf8_lossy(&self.buffer)
                ),
                Err(_) => return Ok(Next::Quiet),
            };
            if let Ok(mut data) = frame.into_data() {
                while data.has_remaining() {
                    let chunk = data.chunk().len();
                    self.buffer.extend_from_slice(data.chunk());
                    data.advance(chunk);
                }
            }
        }
    }

    /// The next line, which must come within `limit`.
    pub async fn line(&mut self, limit: Duration) -> anyhow::Result<WatchLine> {
        match self.next(limit).await? {
            Next::Line(line) => Ok(*line),
            other => anyhow::bail!("expected a watch line within {limit:?}, got {other:?}"),
        }
    }
}
