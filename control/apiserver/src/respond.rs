//! Content negotiation and answers: JSON or protobuf objects and lists, kubectl Tables, watch
//! streams, `Status` errors, and `Warning` headers for unknown fields.
//!
//! Protobuf is answered when the client's `Accept` asks for it first (client-go's typed
//! clients) and the object's kind has a message; otherwise JSON, as kube-apiserver answers a
//! Table or a custom resource. client-go decodes whichever the `Content-Type` says.

use std::convert::Infallible;

use bytes::Bytes;
use futures::Stream;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::Value;
use skiff_api::protobuf;
use skiff_api::status::ApiError;
use skiff_api::table::{self, IncludeObject};

use super::Format;
use super::negotiation::{self, Transform};
use super::partial;
use super::request::{ResourceRequest, Verb};
use super::writes::Written;
use skiff_respond::{self as http_respond, Body};

/// The request's `Accept` header ("" without one).
pub(crate) fn accept(request: &Request<Incoming>) -> &str {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The answer's format, from `Accept` as `negotiation::choose` reads it: a Table (kubectl
/// get) for a read without subresource, `PartialObjectMetadata` for any verb, protobuf or
/// JSON. PartialObjectMetadata asked for in protobuf is answered in JSON (its
/// `Content-Type` says so; client-go and kube-rs decode what it says). 406 when no clause
/// of `Accept` can be answered, except on the streams (`log`, `exec`, `attach`), whose
/// answers are not objects (kube-apiserver serves `kubectl logs`' `text/plain` too).
pub(crate) fn negotiate(
    request: &Request<Incoming>,
    resource: &ResourceRequest,
) -> Result<Format, ApiError> {
    let streams = matches!(
        resource.subresource.as_deref(),
        Some("log" | "exec" | "attach")
    );
    let choice = match negotiation::choose(accept(request)) {
        Some(choice) => choice,
        None if streams => negotiation::Choice::JSON,
        None => {
            return Err(ApiError::new(
                406,
                "NotAcceptable",
                negotiation::NOT_ACCEPTABLE,
            ));
        }
    };
    let reading = matches!(resource.verb, Verb::Get | Verb::List | Verb::Watch);
    Ok(match choice.transform {
        Some((Transform::Table, _)) if reading && resource.subresource.is_none() => {
            let include = match resource.query.include_object.as_deref() {
                Some("None") => IncludeObject::None,
                Some("Object") => IncludeObject::Object,
                _ => IncludeObject::Metadata,
            };
            Format::Table(include)
        }
        Some((Transform::Metadata, version)) => Format::Metadata {
            list: false,
            version,
        },
        Some((Transform::MetadataList, version)) => Format::Metadata {
            list: true,
            version,
        },
        _ if choice.protobuf => Format::Protobuf,
        _ => Format::Json,
    })
}

/// A `Status` error, in protobuf if the client asked for it first.
pub(crate) fn status(e: &ApiError, protobuf: bool) -> Response<Body> {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let format = if protobuf {
        Format::Protobuf
    } else {
        Format::Json
    };
    encoded(code, format, &e.to_json())
}

/// `value` as JSON, or as protobuf when asked for and its kind has a message.
fn encoded(code: StatusCode, format: Format, value: &Value) -> Response<Body> {
    if let Format::Protobuf = format {
        match protobuf::encode_object(value) {
            Ok(bytes) => return http_respond::bytes(code, protobuf::CONTENT_TYPE, bytes),
            Err(protobuf::ProtoError::NoMessage { .. }) => {}
            Err(e) => tracing::warn!("answering JSON: cannot encode as protobuf: {e}"),
        }
    }
    http_respond::json(code, value)
}

pub(crate) fn object(
    code: StatusCode,
    resource: &ResourceRequest,
    format: Format,
    obj: Value,
) -> Response<Body> {
    match format {
        Format::Table(include) => {
            let list_meta = serde_json::json!({ "resourceVersion": obj["metadata"]["resourceVersion"].clone() });
            let table = table::table(
                resource.info,
                &[obj],
                include,
                super::meta::now_unix(),
                list_meta,
            );
            http_respond::json(code, &table)
        }
        Format::Metadata { list: true, .. } if obj["kind"] != "Status" => {
            status(&partial::wrong_shape(resource.info, true), false)
        }
        Format::Metadata { version, .. } => {
            http_respond::json(code, &partial::object(version, obj))
        }
        Format::Json | Format::Protobuf => encoded(code, format, &obj),
    }
}

pub(crate) fn list(
    resource: &ResourceRequest,
    format: Format,
    items: Vec<Value>,
    list_meta: Value,
) -> Response<Body> {
    match format {
        Format::Table(include) => {
            let table = table::table(
                resource.info,
                &items,
                include,
                super::meta::now_unix(),
                list_meta,
            );
            http_respond::json(StatusCode::OK, &table)
        }
        Format::Metadata {
            list: true,
            version,
        } => http_respond::json(StatusCode::OK, &partial::list(version, items, list_meta)),
        Format::Metadata { list: false, .. } => {
            status(&partial::wrong_shape(resource.info, false), false)
        }
        Format::Json | Format::Protobuf => encoded(
            StatusCode::OK,
            format,
            &super::reads::list_object(resource.info, items, list_meta),
        ),
    }
}

pub(crate) fn written(
    resource: &ResourceRequest,
    format: Format,
    written: Written,
) -> Response<Body> {
    let code = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = object(code, resource, format, written.object);
    for warning in written.warnings {
        // RFC 7234 warn-code 299 with an unknown agent, as kube-apiserver sends them.
        let text = format!("299 - \"{}\"", warning.replace('"', "'"));
        if let Ok(value) = header::HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

/// A watch stream: newline-delimited JSON, or length-prefixed protobuf `WatchEvent`s.
pub(crate) fn stream(
    format: Format,
    events: impl Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static,
) -> Response<Body> {
    let mut response = Response::new(StreamBody::new(events).boxed_unsync());
    let headers = response.headers_mut();
    let content_type = match format {
        Format::Protobuf => protobuf::WATCH_CONTENT_TYPE,
        Format::Json | Format::Table(_) | Format::Metadata { .. } => "application/json",
    };
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache, private"),
    );
    response
}
