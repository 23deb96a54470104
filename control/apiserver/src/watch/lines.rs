//! Watch lines that are not a stored object's shared rendering: events built for one watcher
//! (the initial ADDED events of a watch from the current state, BOOKMARK, ERROR), a Table row
//! for kubectl get -w, and protobuf frames.

use bytes::Bytes;
use serde_json::{Value, json};
use skiff_api::resources::ResourceInfo;
use skiff_api::status::ApiError;
use skiff_api::table::IncludeObject;

use super::super::Format;
use super::super::negotiation::MetaVersion;
use super::super::{meta, partial};

/// The line (or protobuf frame) of a built `{"type","object"}` event in `format`.
pub(super) fn built(info: &ResourceInfo, format: Format, event: Value) -> Bytes {
    let kind = event["type"].as_str().unwrap_or("MODIFIED").to_owned();
    let is_object = kind != "BOOKMARK" && kind != "ERROR";
    match format {
        Format::Table(include) if is_object => {
            table_line(info, include, &kind, event["object"].clone())
        }
        Format::Protobuf => protobuf_frame(&kind, &event["object"]),
        Format::Metadata {
            list: false,
            version,
        } if kind != "ERROR" => json_line(&as_metadata_event(event, version)),
        _ => json_line(&event),
    }
}

fn json_line(event: &Value) -> Bytes {
    let mut line = serde_json::to_vec(event).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// A built event (initial ADDED, BOOKMARK) with its object as `PartialObjectMetadata`.
fn as_metadata_event(mut event: Value, version: MetaVersion) -> Value {
    let object = event["object"].take();
    event["object"] = partial::object(version, object);
    event
}

/// A watch event whose object is a one-row Table (kubectl get -w).
pub(super) fn table_line(
    info: &ResourceInfo,
    include: IncludeObject,
    kind: &str,
    object: Value,
) -> Bytes {
    let rv = object["metadata"]["resourceVersion"].clone();
    let table = skiff_api::table::table(
        info,
        &[object],
        include,
        meta::now_unix(),
        json!({ "resourceVersion": rv }),
    );
    json_line(&json!({ "type": kind, "object": table }))
}

/// One protobuf watch frame; an object that cannot be encoded (stored data the messages
/// cannot hold) becomes an ERROR event, which ends the client's watch and makes it relist.
pub(crate) fn protobuf_frame(kind: &str, object: &Value) -> Bytes {
    match skiff_api::protobuf::encode_watch_event(kind, object) {
        Ok(frame) => Bytes::from(frame),
        Err(e) => {
            tracing::warn!("watch event not encodable as protobuf: {e}");
            let status = ApiError::internal(format!("cannot encode the object as protobuf: {e}"));
            skiff_api::protobuf::encode_watch_event("ERROR", &status.to_json())
                .map(Bytes::from)
                .unwrap_or_default()
        }
    }
}
