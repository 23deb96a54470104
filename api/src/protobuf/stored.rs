//! Objects as the API server stores them (JSON text without `metadata.resourceVersion`,
//! which is the key's revision) straight to enveloped protobuf bodies, through `transcode`:
//! the bytes `encode_object` writes for the object read back with its resourceVersion set,
//! without building that object as a `Value`. An error means "take the `Value` path", which
//! answers the same bytes or the same error.

use serde_json::Value;

use super::envelope::{begin_body, end_body, plan_of};
use super::plan::{Shape, Type, plans};
use super::transcode::{self, Role};
use super::{ProtoError, encode, wire};

/// The stored object `json` (which must name `api_version` and `kind`) at `revision`, as
/// `encode_object` writes it once its `metadata.resourceVersion` is `revision`.
pub fn encode_stored_object(
    api_version: &str,
    kind: &str,
    json: &[u8],
    revision: u64,
) -> Result<Vec<u8>, ProtoError> {
    let plan = plan_of(api_version, kind)?;
    let mut buf = Vec::with_capacity(json.len() / 2 + 64);
    let raw = begin_body(&mut buf, api_version, kind);
    let role = Role::Object {
        type_meta: Some((api_version, kind)),
        revision,
    };
    transcode::message(plan, json, role, &mut buf)?;
    end_body(&mut buf, raw);
    Ok(buf)
}

/// The list `list_kind` of the stored objects `items` (JSON text, revision) with `list_meta`,
/// as `encode_object` writes `{"apiVersion", "kind", "metadata": list_meta, "items"}` with
/// each item's resourceVersion set.
pub fn encode_stored_list<'a>(
    api_version: &str,
    list_kind: &str,
    list_meta: &Value,
    items: impl IntoIterator<Item = (&'a [u8], u64)>,
) -> Result<Vec<u8>, ProtoError> {
    let plan = plan_of(api_version, list_kind)?;
    let list = plans().get(plan);
    let (Some(meta), Some(item_field)) = (list.by_name("metadata"), list.by_name("items")) else {
        return Err(ProtoError::field("", "a list without metadata or items"));
    };
    let (Shape::List { .. }, Type::Message(item_plan)) = (item_field.shape, item_field.ty) else {
        return Err(ProtoError::field("items", "not a list of messages"));
    };
    if meta.number >= item_field.number {
        return Err(ProtoError::field("", "a list's items before its metadata"));
    }
    let items = items.into_iter();
    let mut buf = Vec::with_capacity(1024 + items.size_hint().0 * 512);
    let raw = begin_body(&mut buf, api_version, list_kind);
    if !list_meta.is_null() {
        encode::field_value(plans(), meta, list_meta, &mut buf)
            .map_err(|e| e.within("metadata"))?;
    }
    for (json, revision) in items {
        let at = wire::begin(&mut buf, item_field.number);
        let role = Role::Object {
            type_meta: None,
            revision,
        };
        transcode::message(item_plan, json, role, &mut buf).map_err(|e| e.within("items"))?;
        wire::end(&mut buf, at);
    }
    end_body(&mut buf, raw);
    Ok(buf)
}
