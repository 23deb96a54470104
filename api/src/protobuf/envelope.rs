//! kube-apiserver's protobuf envelope (apimachinery `runtime/serializer/protobuf`): the magic
//! `k8s\0`, then a `runtime.Unknown` whose `typeMeta` names the apiVersion and kind and whose
//! `raw` is the object's own message. A watch stream (the same package's
//! `LengthDelimitedFramer` around the raw serializer) is a sequence of `meta.v1.WatchEvent`
//! messages, each after its length as 4 big-endian bytes, whose `object.raw` is an enveloped
//! object.

use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, Value as PValue};
use serde_json::Value;

use super::ProtoError;
use super::descriptors::{META_V1, RUNTIME, message_for, named};
use super::json;

/// The 4 bytes every protobuf-encoded object starts with.
pub(super) const PREFIX: &[u8] = b"k8s\0";

/// An apimachinery message: `runtime` and `meta.v1` are in every descriptor set build.rs
/// compiles, so a miss is a build defect every test shows.
fn descriptor(full_name: &str) -> MessageDescriptor {
    named(full_name).expect("apimachinery message compiled in")
}

fn decode_message(desc: MessageDescriptor, bytes: &[u8]) -> Result<DynamicMessage, ProtoError> {
    let message = desc.full_name().to_owned();
    DynamicMessage::decode(desc, bytes).map_err(|source| ProtoError::Malformed { message, source })
}

fn text(msg: &DynamicMessage, field: &str) -> String {
    match msg.get_field_by_name(field).as_deref() {
        Some(PValue::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// The object in an enveloped protobuf body, as the JSON object the API server stores
/// (with its `apiVersion` and `kind`).
pub fn decode_object(body: &[u8]) -> Result<Value, ProtoError> {
    let data = match body.strip_prefix(PREFIX) {
        _ if body.is_empty() => return Err(ProtoError::Empty),
        None => return Err(ProtoError::NoPrefix),
        Some([]) => return Err(ProtoError::Empty),
        Some(data) => data,
    };
    let unknown = decode_message(descriptor(&format!("{RUNTIME}.Unknown")), data)?;
    let type_meta = match unknown.get_field_by_name("typeMeta").as_deref() {
        Some(PValue::Message(m)) => m.clone(),
        _ => return Err(ProtoError::MissingTypeMeta("apiVersion")),
    };
    let (api_version, kind) = (text(&type_meta, "apiVersion"), text(&type_meta, "kind"));
    if kind.is_empty() {
        return Err(ProtoError::MissingTypeMeta("kind"));
    }
    if api_version.is_empty() {
        return Err(ProtoError::MissingTypeMeta("apiVersion"));
    }
    let desc = message_for(&api_version, &kind).ok_or_else(|| ProtoError::NoMessage {
        api_version: api_version.clone(),
        kind: kind.clone(),
    })?;
    let raw = match unknown.get_field_by_name("raw").as_deref() {
        Some(PValue::Bytes(raw)) => raw.clone(),
        _ => bytes::Bytes::new(),
    };
    let mut object = json::to_json(&decode_message(desc, &raw)?)?;
    if let Value::Object(map) = &mut object {
        map.insert("apiVersion".into(), Value::String(api_version));
        map.insert("kind".into(), Value::String(kind));
    }
    Ok(object)
}

/// `object` (which names its `apiVersion` and `kind`) as an enveloped protobuf body.
pub fn encode_object(object: &Value) -> Result<Vec<u8>, ProtoError> {
    let api_version = object["apiVersion"]
        .as_str()
        .ok_or(ProtoError::MissingTypeMeta("apiVersion"))?;
    let kind = object["kind"]
        .as_str()
        .ok_or(ProtoError::MissingTypeMeta("kind"))?;
    let desc = message_for(api_version, kind).ok_or_else(|| ProtoError::NoMessage {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
    })?;
    let raw = json::from_json(&desc, object)?.encode_to_vec();
    let mut type_meta = DynamicMessage::new(descriptor(&format!("{RUNTIME}.TypeMeta")));
    set(
        &mut type_meta,
        "apiVersion",
        PValue::String(api_version.to_owned()),
    )?;
    set(&mut type_meta, "kind", PValue::String(kind.to_owned()))?;
    let mut unknown = DynamicMessage::new(descriptor(&format!("{RUNTIME}.Unknown")));
    set(&mut unknown, "typeMeta", PValue::Message(type_meta))?;
    set(&mut unknown, "raw", PValue::Bytes(raw.into()))?;
    // kube-apiserver writes both, empty (gogo-protobuf writes every non-pointer field).
    set(
        &mut unknown,
        "contentEncoding",
        PValue::String(String::new()),
    )?;
    set(&mut unknown, "contentType", PValue::String(String::new()))?;
    let mut body = Vec::with_capacity(PREFIX.len() + unknown.encoded_len());
    body.extend_from_slice(PREFIX);
    unknown
        .encode(&mut body)
        .map_err(|e| ProtoError::field("", e.to_string()))?;
    Ok(body)
}

/// Sets a field of an apimachinery message.
fn set(msg: &mut DynamicMessage, field: &str, value: PValue) -> Result<(), ProtoError> {
    msg.try_set_field_by_name(field, value)
        .map_err(|e| ProtoError::field(field, e.to_string()))
}

/// One frame of a protobuf watch stream: the `WatchEvent` of `event_type` (`ADDED`, ...)
/// carrying `object`, after its 4-byte big-endian length.
pub fn encode_watch_event(event_type: &str, object: &Value) -> Result<Vec<u8>, ProtoError> {
    let raw = encode_object(object)?;
    let mut extension = DynamicMessage::new(descriptor(&format!("{RUNTIME}.RawExtension")));
    set(&mut extension, "raw", PValue::Bytes(raw.into()))?;
    let mut event = DynamicMessage::new(descriptor(&format!("{META_V1}.WatchEvent")));
    set(&mut event, "type", PValue::String(event_type.to_owned()))?;
    set(&mut event, "object", PValue::Message(extension))?;
    let len = event.encoded_len();
    let prefix = u32::try_from(len)
        .map_err(|_| ProtoError::field("", format!("watch event of {len} bytes")))?;
    let mut frame = Vec::with_capacity(4 + len);
    frame.extend_from_slice(&prefix.to_be_bytes());
    event
        .encode(&mut frame)
        .map_err(|e| ProtoError::field("", e.to_string()))?;
    Ok(frame)
}

/// The first frame of a protobuf watch stream: its event type, its object, and the bytes
/// after it.
pub fn decode_watch_frame(stream: &[u8]) -> Result<(String, Value, &[u8]), ProtoError> {
    let (len, rest) = stream
        .split_first_chunk::<4>()
        .ok_or_else(|| ProtoError::Truncated(format!("{} bytes of a length", stream.len())))?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(ProtoError::Truncated(format!(
            "{} of {len} bytes",
            rest.len()
        )));
    }
    let (frame, rest) = rest.split_at(len);
    let event = decode_message(descriptor(&format!("{META_V1}.WatchEvent")), frame)?;
    let raw = match event.get_field_by_name("object").as_deref() {
        Some(PValue::Message(ext)) => match ext.get_field_by_name("raw").as_deref() {
            Some(PValue::Bytes(raw)) => raw.clone(),
            _ => bytes::Bytes::new(),
        },
        _ => bytes::Bytes::new(),
    };
    Ok((text(&event, "type"), decode_object(&raw)?, rest))
}
