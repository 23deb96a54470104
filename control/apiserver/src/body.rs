//! Request bodies: JSON, YAML or protobuf decoded into one JSON object, and what the schema
//! check can still find in each.

use serde_json::Value;
use skiff_api::protobuf;
use skiff_api::status::ApiError;

/// Decodes a JSON, YAML or protobuf body into an object.
pub(crate) fn decode_body(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    let value: Value = if protobuf::is_protobuf(content_type) {
        decode_protobuf(body, content_type)?
    } else if content_type.contains("yaml") {
        serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON body: {e}")))?
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    Ok(value)
}

/// What the schema check (`check_schema`) can still find in a decoded body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodySchema {
    /// JSON or YAML: any key with any type; the check runs.
    Unchecked,
    /// Decoded from protobuf by the kind's own message: only the kind's fields, each of its
    /// own type, so the check would find nothing (skiff-api's test
    /// `every_field_a_protobuf_body_can_carry_passes_the_schema_check`). kube-apiserver has no
    /// unknown fields to report for protobuf either: its decoder drops them.
    ByDecoder,
}

impl BodySchema {
    /// How a body of `content_type` was decoded by [`decode_body`].
    pub(crate) fn of(content_type: &str) -> BodySchema {
        if protobuf::is_protobuf(content_type) {
            BodySchema::ByDecoder
        } else {
            BodySchema::Unchecked
        }
    }
}

/// A protobuf body as the JSON object the JSON path would have decoded: a malformed body is
/// 400, a kind without a message (a custom resource) 415, as kube-apiserver answers.
fn decode_protobuf(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    protobuf::decode_object(body).map_err(|e| match e {
        protobuf::ProtoError::NoMessage { .. } => ApiError::unsupported_media_type(content_type),
        other => ApiError::bad_request(format!("error decoding protobuf body: {other}")),
    })
}

/// The `DeleteOptions` of a delete's body: JSON, or protobuf (client-go's typed clients send
/// it so); a body that is neither is ignored, as before, unless it claims to be protobuf.
pub(crate) fn decode_delete_options(
    body: &[u8],
    content_type: &str,
) -> Result<Option<Value>, ApiError> {
    if protobuf::is_protobuf(content_type) {
        return decode_protobuf(body, content_type).map(Some);
    }
    Ok(serde_json::from_slice(body).ok())
}
