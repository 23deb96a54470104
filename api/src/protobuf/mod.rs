//! Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), converted to and
//! from the JSON objects the API server stores, so validation, defaulting, patch and storage
//! stay one code path whichever encoding a client speaks.
//!
//! The messages are Kubernetes' own `.proto` definitions (`proto/`, compiled by `build.rs`),
//! read through prost-reflect descriptors once into per-message plans (`plan`): one
//! conversion serves every kind, writing a JSON object's message bytes directly (`encode`)
//! and reading message bytes directly into JSON (`decode`), with Kubernetes' JSON rules for
//! the types whose JSON is not their message shape (Time, MicroTime, Duration, Quantity,
//! IntOrString, RawExtension, FieldsV1, string lists). No intermediate message is built: the
//! reflective `DynamicMessage` path this replaced spent most of a protobuf list's time
//! allocating and re-measuring nested messages.
//! kube-apiserver's envelope (`envelope`) wraps every object: the 4 bytes `k8s\0`, then a
//! `runtime.Unknown` naming the apiVersion and kind, whose `raw` is the object's message.
//! Watch streams are `WatchEvent` messages, each after its 4-byte big-endian length.
//!
//! # Layout
//! - `descriptors`: the descriptor pool, and which message an apiVersion/kind is.
//! - `plan`: each message's fields by number and name, worked out once; `wire`: varints,
//!   keys and length-delimited records, written and read in place.
//! - `encode`: JSON value -> message bytes; `decode`: message bytes -> JSON value;
//!   `special`: the types whose JSON is not their message shape; `duration`: Go's duration
//!   text.
//! - `transcode` (+ `transcode_values`, `order`): JSON text -> message bytes, the same bytes
//!   `encode` writes, read with serde_json's streaming deserializer and no `Value`; `stored`:
//!   the API server's stored objects and lists of them (their resourceVersion set) that way.
//! - `envelope`: the `k8s\0` + `Unknown` wrapping and the watch-event frames.
//! - `gnostic`: a Swagger 2.0 document as gnostic's `openapi.v2.Document` (`/openapi/v2`).

mod decode;
mod descriptors;
mod duration;
mod encode;
mod envelope;
mod gnostic;
mod order;
mod plan;
mod special;
mod stored;
#[cfg(test)]
mod tests;
mod transcode;
mod transcode_values;
mod wire;

pub use descriptors::{has_message, message_for};
pub use envelope::{decode_object, decode_watch_frame, encode_object, encode_watch_event};
pub use gnostic::openapi_v2_document;
pub use stored::{encode_stored_list, encode_stored_object};
pub use wire::WireError;

/// The media type of Kubernetes protobuf.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The media type of a protobuf watch stream.
pub const WATCH_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// Why a protobuf body could not be read or an object could not be written as protobuf.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("empty protobuf body")]
    Empty,
    #[error("the body does not start with the protobuf prefix \"k8s\\x00\"")]
    NoPrefix,
    #[error("malformed protobuf message {message}: {source}")]
    Malformed {
        message: String,
        #[source]
        source: WireError,
    },
    #[error("the protobuf envelope names no {0}")]
    MissingTypeMeta(&'static str),
    #[error("no protobuf message for kind {kind} in {api_version}")]
    NoMessage { api_version: String, kind: String },
    #[error("field {field}: {problem}")]
    Field { field: String, problem: String },
    #[error("truncated watch frame: {0}")]
    Truncated(String),
}

impl ProtoError {
    fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ProtoError::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// Prefixes the path of the enclosing field (`spec` + `replicas` -> `spec.replicas`).
    fn within(self, outer: &str) -> Self {
        match self {
            ProtoError::Field { field, problem } => ProtoError::Field {
                field: if field.is_empty() {
                    outer.to_owned()
                } else {
                    format!("{outer}.{field}")
                },
                problem,
            },
            other => other,
        }
    }
}

/// The `Accept` header asks for protobuf first (as client-go's typed clients do:
/// `application/vnd.kubernetes.protobuf, */*`).
pub fn accept_prefers_protobuf(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.trim().starts_with(CONTENT_TYPE))
}

/// The `Content-Type` is Kubernetes protobuf.
pub fn is_protobuf(content_type: &str) -> bool {
    content_type.trim().starts_with(CONTENT_TYPE)
}
