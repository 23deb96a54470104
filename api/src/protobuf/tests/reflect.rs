//! The reflective conversion the codec had before its plans (`DynamicMessage` <-> JSON), kept
//! as the oracle the plan-driven codec is checked against. Any Kubernetes message <-> its
//! JSON object, by reflection over the descriptors.
//!
//! Field names: Kubernetes' proto fields carry their JSON names (`generateName`,
//! `clusterIP`), so a field is found by its JSON key. Integers are JSON numbers (int64 too,
//! as Go's encoding/json writes them), bytes are base64, maps are objects; the types whose
//! JSON differs from their message are in `special`.
//!
//! Presence: Go's protobuf marshaller writes every non-pointer field, empty or not, so a
//! decoded message says nothing about whether the JSON would have omitted a zero value. A
//! singular empty string is dropped (Go's `omitempty` strings, which are nearly all of them:
//! `namespace`, `generateName`, `uid`); numbers, booleans and nested messages that were on
//! the wire are kept, because a pointer to zero (`replicas: 0`, `automountServiceAccountToken:
//! false`) means something, while a zero that Go would have omitted means the default either
//! way. JSON -> message writes exactly the fields the JSON has; unknown keys (`apiVersion`,
//! `kind`, fields newer than the vendored protos) are not part of the message.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage,
    Value as PValue,
};
use serde_json::{Map, Number, Value};

use super::super::ProtoError;
use super::super::plan::INLINE;
use super::super::special::{self, Special};

fn is_inline(field: &FieldDescriptor) -> bool {
    let parent = field.parent_message();
    INLINE
        .iter()
        .any(|(message, name)| *name == field.name() && *message == parent.full_name())
}

/// The JSON object (or, for the special types, the JSON value) of a message.
pub(super) fn to_json(msg: &DynamicMessage) -> Result<Value, ProtoError> {
    let desc = msg.descriptor();
    if let Some(kind) = Special::of(&desc) {
        return special::decode(kind, &prost::Message::encode_to_vec(msg));
    }
    let mut out = Map::new();
    for (field, value) in msg.fields() {
        let json = value_to_json(value).map_err(|e| e.within(field.name()))?;
        if is_inline(&field) {
            if let Value::Object(fields) = json {
                out.extend(fields);
            }
            continue;
        }
        let empty_string = matches!(&json, Value::String(s) if s.is_empty());
        if json.is_null() || (empty_string && !field.is_list() && !field.is_map()) {
            continue;
        }
        out.insert(field.name().to_owned(), json);
    }
    Ok(Value::Object(out))
}

fn value_to_json(value: &PValue) -> Result<Value, ProtoError> {
    Ok(match value {
        PValue::Bool(b) => Value::Bool(*b),
        PValue::I32(n) => Value::from(*n),
        PValue::I64(n) => Value::from(*n),
        PValue::U32(n) => Value::from(*n),
        PValue::U64(n) => Value::from(*n),
        PValue::F32(f) => Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number),
        PValue::F64(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        PValue::String(s) => Value::String(s.clone()),
        PValue::Bytes(b) => Value::String(STANDARD.encode(b)),
        PValue::EnumNumber(n) => Value::from(*n),
        PValue::Message(m) => to_json(m)?,
        PValue::List(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| value_to_json(v).map_err(|e| e.within(&format!("[{i}]"))))
                .collect::<Result<_, _>>()?,
        ),
        PValue::Map(entries) => {
            let mut out = Map::new();
            for (key, v) in entries {
                let key = map_key_string(key);
                let json = value_to_json(v).map_err(|e| e.within(&key))?;
                out.insert(key, json);
            }
            Value::Object(out)
        }
    })
}

fn map_key_string(key: &MapKey) -> String {
    match key {
        MapKey::String(s) => s.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}

/// The message `desc` holding what `json` says.
pub(super) fn from_json(
    desc: &MessageDescriptor,
    json: &Value,
) -> Result<DynamicMessage, ProtoError> {
    if let Some(kind) = Special::of(desc) {
        let mut bytes = Vec::new();
        special::encode(kind, json, &mut bytes)?;
        return DynamicMessage::decode(desc.clone(), bytes.as_slice())
            .map_err(|e| ProtoError::field("", e.to_string()));
    }
    let Value::Object(object) = json else {
        return Err(ProtoError::field(
            "",
            format!("expected an object for {}", desc.name()),
        ));
    };
    let mut msg = DynamicMessage::new(desc.clone());
    for (name, value) in object {
        if value.is_null() {
            continue;
        }
        let Some(field) = desc.get_field_by_name(name) else {
            continue;
        };
        let value = field_value(&field, value).map_err(|e| e.within(name))?;
        msg.try_set_field(&field, value)
            .map_err(|e| ProtoError::field(name.as_str(), e.to_string()))?;
    }
    for field in desc.fields().filter(is_inline) {
        if let Kind::Message(inline) = field.kind() {
            let value = PValue::Message(from_json(&inline, json)?);
            msg.try_set_field(&field, value)
                .map_err(|e| ProtoError::field(field.name(), e.to_string()))?;
        }
    }
    Ok(msg)
}

fn field_value(field: &FieldDescriptor, json: &Value) -> Result<PValue, ProtoError> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return Err(ProtoError::field(
                "",
                "a map field without an entry message",
            ));
        };
        let Value::Object(object) = json else {
            return Err(ProtoError::field("", "expected an object"));
        };
        let value_kind = entry.map_entry_value_field().kind();
        let mut out = HashMap::with_capacity(object.len());
        for (key, v) in object {
            let v = scalar_or_message(&value_kind, v).map_err(|e| e.within(key))?;
            out.insert(MapKey::String(key.clone()), v);
        }
        return Ok(PValue::Map(out));
    }
    if field.is_list() {
        let Value::Array(items) = json else {
            return Err(ProtoError::field("", "expected an array"));
        };
        let kind = field.kind();
        let items = items
            .iter()
            .enumerate()
            .map(|(i, v)| scalar_or_message(&kind, v).map_err(|e| e.within(&format!("[{i}]"))))
            .collect::<Result<_, _>>()?;
        return Ok(PValue::List(items));
    }
    scalar_or_message(&field.kind(), json)
}

fn scalar_or_message(kind: &Kind, json: &Value) -> Result<PValue, ProtoError> {
    let wrong = |what: &str| ProtoError::field("", format!("expected {what}, got {json}"));
    let int = || json.as_i64().ok_or_else(|| wrong("an integer"));
    let uint = || json.as_u64().ok_or_else(|| wrong("a non-negative integer"));
    Ok(match kind {
        Kind::Message(m) => PValue::Message(from_json(m, json)?),
        Kind::String => PValue::String(json.as_str().ok_or_else(|| wrong("a string"))?.to_owned()),
        Kind::Bytes => {
            let text = json.as_str().ok_or_else(|| wrong("a base64 string"))?;
            let bytes = STANDARD
                .decode(text)
                .map_err(|e| ProtoError::field("", format!("invalid base64: {e}")))?;
            PValue::Bytes(bytes.into())
        }
        Kind::Bool => PValue::Bool(json.as_bool().ok_or_else(|| wrong("a boolean"))?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            PValue::I32(i32::try_from(int()?).map_err(|_| wrong("a 32-bit integer"))?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => PValue::I64(int()?),
        Kind::Uint32 | Kind::Fixed32 => {
            PValue::U32(u32::try_from(uint()?).map_err(|_| wrong("a 32-bit integer"))?)
        }
        Kind::Uint64 | Kind::Fixed64 => PValue::U64(uint()?),
        Kind::Double => PValue::F64(json.as_f64().ok_or_else(|| wrong("a number"))?),
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a float field holds a float: the precision a float32 has is what it keeps"
        )]
        Kind::Float => PValue::F32(json.as_f64().ok_or_else(|| wrong("a number"))? as f32),
        Kind::Enum(_) => return Err(wrong("no enum (Kubernetes messages have none)")),
    })
}
