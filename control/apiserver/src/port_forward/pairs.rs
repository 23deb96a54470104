//! The kubelet's port-forward stream protocol (`portforward.k8s.io`), decided without I/O:
//! each forwarded connection is a pair of streams, a data stream and an error stream, both
//! naming the remote `port` and the same `requestID`. [`classify`] checks a new stream's
//! headers as the kubelet's `httpStreamReceived` does, in its words; [`Pairs`] matches the
//! two halves and gives up on a half whose partner does not come in time.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::spdy::Headers;

/// The kubelet's `streamCreationTimeout`: the second stream of a pair must come this soon.
pub(super) const PAIR_TIMEOUT: Duration = Duration::from_secs(30);

/// Which half of a pair a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Data,
    Error,
}

/// What a stream's headers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StreamRequest {
    pub(super) request_id: String,
    pub(super) kind: Kind,
    pub(super) port: u16,
}

/// Checks a new stream's headers (`port`, `streamType`, `requestID`); the error says why it
/// is refused. A stream without `requestID` (clients before Kubernetes 1.6) gets the id the
/// kubelet derives from its stream id: an error stream's own id, a data stream's id less 2.
pub(super) fn classify(headers: &Headers, stream_id: u32) -> Result<StreamRequest, String> {
    let port = headers
        .get("port")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| "\"port\" header is required".to_owned())?;
    let port: u16 = port
        .parse()
        .map_err(|e| format!("unable to parse \"{port}\" as a port: {e}"))?;
    if port < 1 {
        return Err(format!("port \"{port}\" must be > 0"));
    }
    let kind = match headers.get("streamType").filter(|t| !t.is_empty()) {
        None => return Err("\"streamType\" header is required".to_owned()),
        Some("data") => Kind::Data,
        Some("error") => Kind::Error,
        Some(other) => return Err(format!("invalid stream type \"{other}\"")),
    };
    let request_id = match headers.get("requestID").filter(|r| !r.is_empty()) {
        Some(id) => id.to_owned(),
        None if kind == Kind::Error => stream_id.to_string(),
        None => stream_id.saturating_sub(2).to_string(),
    };
    Ok(StreamRequest {
        request_id,
        kind,
        port,
    })
}

/// One half waiting for its partner.
struct Waiting<T> {
    kind: Kind,
    port: u16,
    stream: T,
    since: Instant,
}

/// What adding a stream did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Added<T> {
    /// Both halves are here: forward `port`.
    Complete { data: T, error: T, port: u16 },
    /// The first half; its partner is awaited.
    Waiting,
    /// A second stream of the same type for one request: refused with this message.
    Duplicate { stream: T, message: String },
}

/// Halves waiting for their partner, by request id.
pub(super) struct Pairs<T> {
    waiting: HashMap<String, Waiting<T>>,
}

impl<T> Pairs<T> {
    pub(super) fn new() -> Pairs<T> {
        Pairs {
            waiting: HashMap::new(),
        }
    }

    /// Adds a stream the client opened at `now`.
    pub(super) fn add(&mut self, request: StreamRequest, stream: T, now: Instant) -> Added<T> {
        let Some(first) = self.waiting.remove(&request.request_id) else {
            let waiting = Waiting {
                kind: request.kind,
                port: request.port,
                stream,
                since: now,
            };
            self.waiting.insert(request.request_id, waiting);
            return Added::Waiting;
        };
        if first.kind == request.kind {
            let which = if request.kind == Kind::Data {
                "data"
            } else {
                "error"
            };
            let message = format!(
                "error processing stream for request {}: {which} stream already assigned",
                request.request_id
            );
            self.waiting.insert(request.request_id, first);
            return Added::Duplicate { stream, message };
        }
        let (data, error) = match request.kind {
            Kind::Data => (stream, first.stream),
            Kind::Error => (first.stream, stream),
        };
        // The kubelet forwards the data stream's port.
        let port = if request.kind == Kind::Data {
            request.port
        } else {
            first.port
        };
        Added::Complete { data, error, port }
    }

    /// Removes the halves that waited longer than `timeout` at `now`, with their request ids.
    pub(super) fn expire(&mut self, now: Instant, timeout: Duration) -> Vec<(String, Kind, T)> {
        let late: Vec<String> = self
            .waiting
            .iter()
            .filter(|(_, w)| now.duration_since(w.since) >= timeout)
            .map(|(id, _)| id.clone())
            .collect();
        late.into_iter()
            .filter_map(|id| self.waiting.remove(&id).map(|w| (id, w.kind, w.stream)))
            .collect()
    }

    /// How many halves wait.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests;
