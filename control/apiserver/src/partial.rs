//! `PartialObjectMetadata` answers (kube-apiserver's `asPartialObjectMetadata` and
//! `asPartialObjectMetadataList`): an object's whole `metadata`, `managedFields` included (the
//! client drops what it does not want), under `meta.k8s.io/v1` or `v1beta1`. A list keeps its
//! `resourceVersion`, `continue` and `remainingItemCount`. Asking for one object's metadata as a
//! list, or a list's as one object, is 406 in kube-apiserver's words.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use skiff_api::resources::ResourceInfo;
use skiff_api::status::ApiError;

use super::negotiation::MetaVersion;

/// `{"kind":"PartialObjectMetadata","apiVersion":...,"metadata":...}` of `object` (a `Status`
/// passes unchanged, as kube-apiserver's `doTransformObject` lets it through).
pub(crate) fn object(version: MetaVersion, object: Value) -> Value {
    if object["kind"] == "Status" {
        return object;
    }
    let metadata = match object {
        Value::Object(mut fields) => fields.remove("metadata"),
        _ => None,
    };
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": version.api_version(),
        "metadata": metadata.unwrap_or_else(|| json!({})),
    })
}

/// A `PartialObjectMetadataList` of `items` with the list's `metadata`.
pub(crate) fn list(version: MetaVersion, items: Vec<Value>, list_meta: Value) -> Value {
    let items: Vec<Value> = items.into_iter().map(|i| object(version, i)).collect();
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": version.api_version(),
        "metadata": list_meta,
        "items": items,
    })
}

/// 406 for `as=PartialObjectMetadataList` on one object (`list_asked`) or
/// `as=PartialObjectMetadata` on a list.
pub(crate) fn wrong_shape(info: &ResourceInfo, list_asked: bool) -> ApiError {
    let message = if list_asked {
        format!(
            "you requested PartialObjectMetadataList, but the requested object is not a list ({})",
            go_type(info, false)
        )
    } else {
        format!(
            "you requested PartialObjectMetadata, but the requested object is a list ({})",
            go_type(info, true)
        )
    };
    ApiError::new(406, "NotAcceptable", message)
}

/// The Go type kube-apiserver names in those messages: the internal type of a built-in
/// (`*core.Pod`, `*apps.DeploymentList`: the package is the group's first label). skiff serves
/// no custom resources (kube-apiserver would say `*unstructured.Unstructured`).
fn go_type(info: &ResourceInfo, list: bool) -> String {
    let suffix = if list { "List" } else { "" };
    let package = match info.group.split('.').next() {
        Some("") | None => "core",
        Some(first) => first,
    };
    format!("*{package}.{}{suffix}", info.kind)
}

/// The `metadata` of an object's JSON, as JSON; `{}` for JSON without one. Only the metadata
/// is decoded: serde skips the other fields without building them.
pub(crate) fn metadata_json(object_json: &[u8]) -> Bytes {
    #[derive(Deserialize)]
    struct OnlyMetadata {
        metadata: Option<Value>,
    }
    match serde_json::from_slice::<OnlyMetadata>(object_json) {
        Ok(OnlyMetadata {
            metadata: Some(metadata @ Value::Object(_)),
        }) => Bytes::from(serde_json::to_vec(&metadata).unwrap_or_default()),
        _ => Bytes::from_static(b"{}"),
    }
}

/// `{"type":...,"object":{"kind":"PartialObjectMetadata",...,"metadata":<metadata>}}\n`.
pub(crate) fn watch_line(event_type: &str, version: MetaVersion, metadata: &[u8]) -> Bytes {
    let head = format!(
        "{{\"type\":\"{event_type}\",\"object\":{{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"{}\",\"metadata\":",
        version.api_version()
    );
    let mut line = Vec::with_capacity(head.len() + metadata.len() + 3);
    line.extend_from_slice(head.as_bytes());
    line.extend_from_slice(metadata);
    line.extend_from_slice(b"}}\n");
    Bytes::from(line)
}

#[cfg(test)]
#[path = "partial_tests.rs"]
mod tests;
