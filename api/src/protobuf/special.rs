//! The messages whose JSON is not their message shape, as apimachinery's own marshallers
//! write them: `Time` (RFC 3339 seconds, UTC), `MicroTime` (microseconds), `Duration` (Go's
//! `1h2m3s`), `Quantity` (its string), `IntOrString` (a number or a string), `RawExtension`
//! and `FieldsV1` (embedded JSON), and the string-list types (`ExtraValue`, `Verbs`: arrays).

use prost_reflect::MessageDescriptor;
use serde_json::Value;

use super::ProtoError;
use super::descriptors::{META_V1, RUNTIME};
use super::duration;
use super::wire::{self, Reader, Wire};

const QUANTITY: &str = "k8s.io.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Special {
    Time,
    MicroTime,
    Duration,
    Quantity,
    IntOrString,
    /// Embedded JSON bytes (`raw`, or FieldsV1's `Raw`).
    RawJson,
    /// An array of strings in `items`.
    StringList,
}

impl Special {
    pub(super) fn of(desc: &MessageDescriptor) -> Option<Special> {
        let name = desc.full_name();
        if let Some(meta) = name.strip_prefix(META_V1).and_then(|n| n.strip_prefix('.')) {
            return match meta {
                "Time" => Some(Special::Time),
                "MicroTime" => Some(Special::MicroTime),
                "Duration" => Some(Special::Duration),
                "FieldsV1" => Some(Special::RawJson),
                "Verbs" => Some(Special::StringList),
                _ => None,
            };
        }
        match name {
            QUANTITY => Some(Special::Quantity),
            INT_OR_STRING => Some(Special::IntOrString),
            _ if name == format!("{RUNTIME}.RawExtension") => Some(Special::RawJson),
            _ if name.ends_with(".ExtraValue") => Some(Special::StringList),
            _ => None,
        }
    }
}

// Field numbers of the special messages (checked against the descriptors by
// `tests::special_field_numbers_are_the_protos`): Time and MicroTime `seconds` 1, `nanos` 2;
// Duration `duration` 1; Quantity `string` 1; IntOrString `type` 1, `intVal` 2, `strVal` 3;
// RawExtension `raw` and FieldsV1 `Raw` 1; Verbs and ExtraValue `items` 1.

/// The JSON of a special message's bytes; `Null` for a zero time (which Go writes as `null`)
/// and for empty embedded JSON.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "protobuf's own conversions: an int32 is the low 32 bits of its varint"
)]
pub(super) fn decode(kind: Special, bytes: &[u8]) -> Result<Value, ProtoError> {
    let (mut ints, mut seen_first) = ([0i64; 3], false);
    let mut texts: [&[u8]; 3] = [&[], &[], &[]];
    let mut items = Vec::new();
    for record in Reader::new(bytes) {
        let (number, value) = record?;
        let slot = (number as usize).wrapping_sub(1);
        match value {
            Wire::Varint(n) if slot < 3 => {
                ints[slot] = if kind == Special::IntOrString && number == 2 {
                    i64::from(n as i32)
                } else {
                    n as i64
                };
                seen_first |= number == 1;
            }
            Wire::Len(b) if kind == Special::StringList && number == 1 => {
                items.push(Value::String(wire::text(b)?.to_owned()));
            }
            Wire::Len(b) if slot < 3 => texts[slot] = b,
            _ => {}
        }
    }
    Ok(match kind {
        Special::Time | Special::MicroTime => {
            let (seconds, nanos) = (ints[0], ints[1]);
            if seconds == 0 && nanos == 0 && !seen_first {
                return Ok(Value::Null);
            }
            Value::String(format_time(seconds, nanos, kind == Special::MicroTime)?)
        }
        Special::Duration => Value::String(duration::format(ints[0])),
        Special::Quantity => Value::String(wire::text(texts[0])?.to_owned()),
        Special::IntOrString if ints[0] == 1 => Value::String(wire::text(texts[2])?.to_owned()),
        Special::IntOrString => Value::from(ints[1]),
        Special::RawJson if texts[0].is_empty() => Value::Null,
        Special::RawJson => raw_to_json(texts[0])?,
        Special::StringList => Value::Array(items),
    })
}

/// Embedded bytes: JSON as Kubernetes stores it, or an enveloped protobuf object (a watch
/// event's object).
fn raw_to_json(raw: &[u8]) -> Result<Value, ProtoError> {
    if raw.starts_with(super::envelope::PREFIX) {
        return super::envelope::decode_object(raw);
    }
    serde_json::from_slice(raw)
        .map_err(|e| ProtoError::field("", format!("embedded object is not JSON: {e}")))
}

/// Appends the special message for `json` to `buf`.
pub(super) fn encode(kind: Special, json: &Value, buf: &mut Vec<u8>) -> Result<(), ProtoError> {
    let wrong = |what: &str| ProtoError::field("", format!("expected {what}, got {json}"));
    let varint = |buf: &mut Vec<u8>, number: u32, n: i64| {
        wire::put_key(buf, number, wire::VARINT);
        wire::put_varint(buf, n as u64);
    };
    match kind {
        Special::Time | Special::MicroTime => {
            let text = json.as_str().ok_or_else(|| wrong("an RFC 3339 time"))?;
            let ts: jiff::Timestamp = text
                .parse()
                .map_err(|e| ProtoError::field("", format!("invalid time {text:?}: {e}")))?;
            varint(buf, 1, ts.as_second());
            varint(buf, 2, i64::from(ts.subsec_nanosecond()));
        }
        Special::Duration => {
            let text = json.as_str().ok_or_else(|| wrong("a duration"))?;
            let nanos = duration::parse(text)
                .ok_or_else(|| ProtoError::field("", format!("invalid duration {text:?}")))?;
            varint(buf, 1, nanos);
        }
        Special::Quantity => match json {
            Value::String(s) => wire::put_bytes(buf, 1, s.as_bytes()),
            Value::Number(n) => wire::put_bytes(buf, 1, n.to_string().as_bytes()),
            _ => return Err(wrong("a quantity")),
        },
        Special::IntOrString => match json {
            Value::String(s) => {
                varint(buf, 1, 1);
                wire::put_bytes(buf, 3, s.as_bytes());
            }
            Value::Number(n) => {
                let n = n.as_i64().and_then(|n| i32::try_from(n).ok());
                varint(buf, 1, 0);
                varint(
                    buf,
                    2,
                    i64::from(n.ok_or_else(|| wrong("a 32-bit integer"))?),
                );
            }
            _ => return Err(wrong("an integer or a string")),
        },
        Special::RawJson => {
            let raw = serde_json::to_vec(json).unwrap_or_default();
            wire::put_bytes(buf, 1, &raw);
        }
        Special::StringList => {
            let items = json
                .as_array()
                .ok_or_else(|| wrong("an array of strings"))?;
            for item in items {
                let text = item.as_str().ok_or_else(|| wrong("an array of strings"))?;
                wire::put_bytes(buf, 1, text.as_bytes());
            }
        }
    }
    Ok(())
}

/// `2006-01-02T15:04:05Z`, or with `.000000` microseconds for a MicroTime.
fn format_time(seconds: i64, nanos: i64, micro: bool) -> Result<String, ProtoError> {
    let nanos = i32::try_from(nanos).unwrap_or(0);
    let ts = jiff::Timestamp::new(seconds, nanos)
        .map_err(|e| ProtoError::field("", format!("time out of range: {e}")))?;
    let whole = ts.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    Ok(if micro {
        format!("{whole}.{:06}Z", ts.subsec_microsecond())
    } else {
        format!("{whole}Z")
    })
}
