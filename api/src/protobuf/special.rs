//! The messages whose JSON is not their message shape, as apimachinery's own marshallers
//! write them: `Time` (RFC 3339 seconds, UTC), `MicroTime` (microseconds), `Duration` (Go's
//! `1h2m3s`), `Quantity` (its string), `IntOrString` (a number or a string), `RawExtension`
//! and `FieldsV1` (embedded JSON), and the string-list types (`ExtraValue`, `Verbs`: arrays).

use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value as PValue};
use serde_json::Value;

use super::ProtoError;
use super::descriptors::{META_V1, RUNTIME};
use super::duration;

const QUANTITY: &str = "k8s.io.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Special {
    Time,
    MicroTime,
    Duration,
    Quantity,
    IntOrString,
    /// Embedded JSON bytes in the named field.
    RawJson(&'static str),
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
                "FieldsV1" => Some(Special::RawJson("Raw")),
                "Verbs" => Some(Special::StringList),
                _ => None,
            };
        }
        match name {
            QUANTITY => Some(Special::Quantity),
            INT_OR_STRING => Some(Special::IntOrString),
            _ if name == format!("{RUNTIME}.RawExtension") => Some(Special::RawJson("raw")),
            _ if name.ends_with(".ExtraValue") => Some(Special::StringList),
            _ => None,
        }
    }
}

fn get<'m>(msg: &'m DynamicMessage, field: &str) -> Option<std::borrow::Cow<'m, PValue>> {
    msg.descriptor()
        .get_field_by_name(field)
        .filter(|f| msg.has_field(f))
        .map(|f| msg.get_field(&f))
}

fn int(msg: &DynamicMessage, field: &str) -> i64 {
    match get(msg, field).as_deref() {
        Some(PValue::I64(n)) => *n,
        Some(PValue::I32(n)) => i64::from(*n),
        _ => 0,
    }
}

/// The JSON of a special message; `Null` for a zero time (which Go writes as `null`).
pub(super) fn to_json(kind: Special, msg: &DynamicMessage) -> Result<Value, ProtoError> {
    let text = |field: &str| match get(msg, field).as_deref() {
        Some(PValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    Ok(match kind {
        Special::Time | Special::MicroTime => {
            let (seconds, nanos) = (int(msg, "seconds"), int(msg, "nanos"));
            if seconds == 0 && nanos == 0 && get(msg, "seconds").is_none() {
                return Ok(Value::Null);
            }
            Value::String(format_time(seconds, nanos, kind == Special::MicroTime)?)
        }
        Special::Duration => Value::String(duration::format(int(msg, "duration"))),
        Special::Quantity => Value::String(text("string")),
        Special::IntOrString if int(msg, "type") == 1 => Value::String(text("strVal")),
        Special::IntOrString => Value::from(int(msg, "intVal")),
        Special::RawJson(field) => match get(msg, field).as_deref() {
            Some(PValue::Bytes(raw)) if !raw.is_empty() => raw_to_json(raw)?,
            _ => Value::Null,
        },
        Special::StringList => match get(msg, "items").as_deref() {
            Some(PValue::List(items)) => Value::Array(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(|s| Value::String(s.to_owned())))
                    .collect(),
            ),
            _ => Value::Array(Vec::new()),
        },
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

/// The special message `desc` for `json`.
pub(super) fn from_json(
    kind: Special,
    desc: &MessageDescriptor,
    json: &Value,
) -> Result<DynamicMessage, ProtoError> {
    let mut msg = DynamicMessage::new(desc.clone());
    let wrong = |what: &str| ProtoError::field("", format!("expected {what}, got {json}"));
    let mut set = |field: &str, value: PValue| {
        msg.try_set_field_by_name(field, value)
            .map_err(|e| ProtoError::field(field, e.to_string()))
    };
    match kind {
        Special::Time | Special::MicroTime => {
            let text = json.as_str().ok_or_else(|| wrong("an RFC 3339 time"))?;
            let ts: jiff::Timestamp = text
                .parse()
                .map_err(|e| ProtoError::field("", format!("invalid time {text:?}: {e}")))?;
            set("seconds", PValue::I64(ts.as_second()))?;
            set("nanos", PValue::I32(ts.subsec_nanosecond()))?;
        }
        Special::Duration => {
            let text = json.as_str().ok_or_else(|| wrong("a duration"))?;
            let nanos = duration::parse(text)
                .ok_or_else(|| ProtoError::field("", format!("invalid duration {text:?}")))?;
            set("duration", PValue::I64(nanos))?;
        }
        Special::Quantity => {
            let text = match json {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(wrong("a quantity")),
            };
            set("string", PValue::String(text))?;
        }
        Special::IntOrString => match json {
            Value::String(s) => {
                set("type", PValue::I64(1))?;
                set("strVal", PValue::String(s.clone()))?;
            }
            Value::Number(n) => {
                let n = n.as_i64().and_then(|n| i32::try_from(n).ok());
                set("type", PValue::I64(0))?;
                set(
                    "intVal",
                    PValue::I32(n.ok_or_else(|| wrong("a 32-bit integer"))?),
                )?;
            }
            _ => return Err(wrong("an integer or a string")),
        },
        Special::RawJson(field) => {
            let raw = serde_json::to_vec(json).unwrap_or_default();
            set(field, PValue::Bytes(raw.into()))?;
        }
        Special::StringList => {
            let items = json
                .as_array()
                .ok_or_else(|| wrong("an array of strings"))?;
            let items = items
                .iter()
                .map(|v| v.as_str().map(|s| PValue::String(s.to_owned())))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| wrong("an array of strings"))?;
            set("items", PValue::List(items))?;
        }
    }
    Ok(msg)
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
