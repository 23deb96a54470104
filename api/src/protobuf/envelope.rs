//! kube-apiserver's protobuf envelope (apimachinery `runtime/serializer/protobuf`): the magic
//! `k8s\0`, then a `runtime.Unknown` whose `typeMeta` names the apiVersion and kind and whose
//! `raw` is the object's own message. A watch stream (the same package's
//! `LengthDelimitedFramer` around the raw serializer) is a sequence of `meta.v1.WatchEvent`
//! messages, each after its length as 4 big-endian bytes, whose `object.raw` is an enveloped
//! object. These wrappers are written and read field by field (`Unknown`: `typeMeta` 1 with
//! `apiVersion` 1 and `kind` 2, `raw` 2, `contentEncoding` 3, `contentType` 4; `WatchEvent`:
//! `type` 1, `object` 2 with `raw` 1); the object inside goes through its plan.

use std::sync::{OnceLock, PoisonError, RwLock};

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::descriptors::message_for;
use super::plan::plans;
use super::wire::{self, Reader, Wire, WireError};
use super::{ProtoError, decode, encode};

/// The 4 bytes every protobuf-encoded object starts with.
pub(super) const PREFIX: &[u8] = b"k8s\0";

/// The fields of `bytes` (a message named `message`) as (number, length-delimited bytes);
/// other wire types are skipped.
fn records<'a>(message: &str, bytes: &'a [u8]) -> Result<Vec<(u32, &'a [u8])>, ProtoError> {
    let mut out = Vec::with_capacity(4);
    for record in Reader::new(bytes) {
        match record {
            Ok((number, Wire::Len(b))) => out.push((number, b)),
            Ok(_) => {}
            Err(source) => {
                return Err(ProtoError::Malformed {
                    message: message.to_owned(),
                    source,
                });
            }
        }
    }
    Ok(out)
}

/// The last length-delimited field `number` of `records`.
fn field<'a>(records: &[(u32, &'a [u8])], number: u32) -> Option<&'a [u8]> {
    records
        .iter()
        .rev()
        .find(|(n, _)| *n == number)
        .map(|(_, b)| *b)
}

fn text(bytes: Option<&[u8]>) -> Result<String, ProtoError> {
    let text = wire::text(bytes.unwrap_or_default()).map_err(|source| ProtoError::Malformed {
        message: "k8s.io.apimachinery.pkg.runtime.TypeMeta".into(),
        source,
    })?;
    Ok(text.to_owned())
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
    let unknown = records("k8s.io.apimachinery.pkg.runtime.Unknown", data)?;
    let type_meta = field(&unknown, 1).ok_or(ProtoError::MissingTypeMeta("apiVersion"))?;
    let type_meta = records("k8s.io.apimachinery.pkg.runtime.TypeMeta", type_meta)?;
    let (api_version, kind) = (text(field(&type_meta, 1))?, text(field(&type_meta, 2))?);
    if kind.is_empty() {
        return Err(ProtoError::MissingTypeMeta("kind"));
    }
    if api_version.is_empty() {
        return Err(ProtoError::MissingTypeMeta("apiVersion"));
    }
    let plan = plan_of(&api_version, &kind)?;
    let raw = field(&unknown, 2).unwrap_or_default();
    let mut object = decode::message(plans(), plan, raw).map_err(|e| match e {
        ProtoError::Malformed { source, .. } => ProtoError::Malformed {
            message: kind.clone(),
            source,
        },
        other => other,
    })?;
    if let Value::Object(map) = &mut object {
        map.insert("apiVersion".into(), Value::String(api_version));
        map.insert("kind".into(), Value::String(kind));
    }
    Ok(object)
}

/// The plan of an apiVersion/kind, remembered once found: every request body and answer
/// asks, and working it out formats the message's full name and looks it up twice. Only
/// kinds with a message are remembered, so the table is bounded by the descriptor pool.
#[allow(
    clippy::disallowed_methods,
    reason = "skiff-api depends on no other workspace crate (tests/tests/architecture/deps.rs), \
              so not on skiff_sync; poisoning is recovered from as skiff_sync does, and the \
              table is only ever added to, so a panic cannot leave it half-updated"
)]
pub(super) fn plan_of(api_version: &str, kind: &str) -> Result<usize, ProtoError> {
    type Known = FxHashMap<String, FxHashMap<String, usize>>;
    static KNOWN: OnceLock<RwLock<Known>> = OnceLock::new();
    let known = KNOWN.get_or_init(RwLock::default);
    let remembered = known
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(api_version)
        .and_then(|kinds| kinds.get(kind).copied());
    if let Some(plan) = remembered {
        return Ok(plan);
    }
    let plan = message_for(api_version, kind)
        .and_then(|desc| plans().find(desc.full_name()))
        .ok_or_else(|| ProtoError::NoMessage {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
        })?;
    known
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(api_version.to_owned())
        .or_default()
        .insert(kind.to_owned(), plan);
    Ok(plan)
}

/// `object` (which names its `apiVersion` and `kind`) as an enveloped protobuf body.
pub fn encode_object(object: &Value) -> Result<Vec<u8>, ProtoError> {
    let mut body = Vec::with_capacity(1024);
    append_object(object, &mut body)?;
    Ok(body)
}

fn append_object(object: &Value, buf: &mut Vec<u8>) -> Result<(), ProtoError> {
    let api_version = object["apiVersion"]
        .as_str()
        .ok_or(ProtoError::MissingTypeMeta("apiVersion"))?;
    let kind = object["kind"]
        .as_str()
        .ok_or(ProtoError::MissingTypeMeta("kind"))?;
    let plan = plan_of(api_version, kind)?;
    let raw = begin_body(buf, api_version, kind);
    encode::message(plans(), plan, object, buf)?;
    end_body(buf, raw);
    Ok(())
}

/// Writes the prefix and the `Unknown` up to its `raw`, whose placeholder it returns: the
/// object's message goes next.
pub(super) fn begin_body(buf: &mut Vec<u8>, api_version: &str, kind: &str) -> usize {
    buf.extend_from_slice(PREFIX);
    let type_meta = wire::begin(buf, 1);
    wire::put_bytes(buf, 1, api_version.as_bytes());
    wire::put_bytes(buf, 2, kind.as_bytes());
    wire::end(buf, type_meta);
    wire::begin(buf, 2)
}

/// Ends the `raw` that `begin_body` started, and the `Unknown`.
pub(super) fn end_body(buf: &mut Vec<u8>, raw: usize) {
    wire::end(buf, raw);
    // kube-apiserver writes both, empty (gogo-protobuf writes every non-pointer field).
    wire::put_bytes(buf, 3, b"");
    wire::put_bytes(buf, 4, b"");
}

/// One frame of a protobuf watch stream: the `WatchEvent` of `event_type` (`ADDED`, ...)
/// carrying `object`, after its 4-byte big-endian length.
pub fn encode_watch_event(event_type: &str, object: &Value) -> Result<Vec<u8>, ProtoError> {
    let mut frame = Vec::with_capacity(1024);
    frame.extend_from_slice(&[0; 4]);
    wire::put_bytes(&mut frame, 1, event_type.as_bytes());
    let extension = wire::begin(&mut frame, 2);
    let raw = wire::begin(&mut frame, 1);
    append_object(object, &mut frame)?;
    wire::end(&mut frame, raw);
    wire::end(&mut frame, extension);
    let len = frame.len() - 4;
    let prefix = u32::try_from(len)
        .map_err(|_| ProtoError::field("", format!("watch event of {len} bytes")))?;
    frame[..4].copy_from_slice(&prefix.to_be_bytes());
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
    let event = records("k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent", frame)?;
    let extension = field(&event, 2).unwrap_or_default();
    let extension = records("k8s.io.apimachinery.pkg.runtime.RawExtension", extension)?;
    let raw = field(&extension, 1).unwrap_or_default();
    let event_type = wire::text(field(&event, 1).unwrap_or_default()).map_err(|source| {
        ProtoError::Malformed {
            message: "k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent".into(),
            source,
        }
    })?;
    Ok((event_type.to_owned(), decode_object(raw)?, rest))
}

impl From<WireError> for ProtoError {
    fn from(source: WireError) -> Self {
        ProtoError::Malformed {
            message: String::new(),
            source,
        }
    }
}
