//! A JSON object -> its message's bytes, written straight into one buffer by the message's
//! plan (`plan`): the object's keys are matched to fields by name, written in field-number
//! order as Go writes them, nested messages in place. Integers are JSON numbers (int64 too),
//! bytes base64, maps objects; the special types (`special`) have their own JSON. Keys the
//! message has no field for (`apiVersion`, `kind`, fields newer than the protos) are left
//! out, and so are nulls.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use smallvec::SmallVec;

use super::ProtoError;
use super::plan::{FieldPlan, Plans, Scalar, Shape, Type};
use super::special;
use super::wire::{self, FIXED32, FIXED64, LEN, VARINT};

/// Appends the message `plan` holding what `json` says to `buf`.
pub(super) fn message(
    plans: &Plans,
    plan: usize,
    json: &Value,
    buf: &mut Vec<u8>,
) -> Result<(), ProtoError> {
    let msg = plans.get(plan);
    if let Some(kind) = msg.special {
        return special::encode(kind, json, buf);
    }
    let Value::Object(object) = json else {
        return Err(ProtoError::field("", "expected an object"));
    };
    // On the stack for the objects Kubernetes has (a Container has ~25 keys at most set).
    let mut present: SmallVec<[(&FieldPlan, Option<&Value>); 24]> = SmallVec::new();
    for (name, value) in object {
        match msg.by_name(name) {
            Some(field) if !field.inline && !value.is_null() => present.push((field, Some(value))),
            _ => {}
        }
    }
    if msg.has_inline {
        present.extend(msg.fields.iter().filter(|f| f.inline).map(|f| (f, None)));
    }
    present.sort_unstable_by_key(|(field, _)| field.number);
    for (field, value) in present {
        match value {
            Some(value) => {
                field_value(plans, field, value, buf).map_err(|e| e.within(&field.name))?
            }
            // An embedded struct: its fields are this object's.
            None => nested(plans, field, json, buf)?,
        }
    }
    Ok(())
}

fn nested(
    plans: &Plans,
    field: &FieldPlan,
    json: &Value,
    buf: &mut Vec<u8>,
) -> Result<(), ProtoError> {
    let Type::Message(m) = field.ty else {
        return Err(ProtoError::field("", "an inline field that is no message"));
    };
    let at = wire::begin(buf, field.number);
    message(plans, m, json, buf)?;
    wire::end(buf, at);
    Ok(())
}

pub(super) fn field_value(
    plans: &Plans,
    field: &FieldPlan,
    json: &Value,
    buf: &mut Vec<u8>,
) -> Result<(), ProtoError> {
    match field.shape {
        Shape::Single => one(plans, field.number, field.ty, json, buf),
        Shape::List { packed } => {
            let Value::Array(items) = json else {
                return Err(ProtoError::field("", "expected an array"));
            };
            let packed_at = match (packed, field.ty) {
                (true, Type::Scalar(_)) => Some(wire::begin(buf, field.number)),
                _ => None,
            };
            for (i, item) in items.iter().enumerate() {
                let written = match (packed_at, field.ty) {
                    (Some(_), Type::Scalar(s)) => scalar_bare(s, item, buf),
                    _ => one(plans, field.number, field.ty, item, buf),
                };
                written.map_err(|e| e.within(&format!("[{i}]")))?;
            }
            if let Some(at) = packed_at {
                wire::end(buf, at);
            }
            Ok(())
        }
        Shape::Map { key } => {
            let Value::Object(entries) = json else {
                return Err(ProtoError::field("", "expected an object"));
            };
            if key != Scalar::String {
                return Err(ProtoError::field("", "a map whose keys are not strings"));
            }
            for (k, v) in entries {
                let at = wire::begin(buf, field.number);
                wire::put_bytes(buf, 1, k.as_bytes());
                one(plans, 2, field.ty, v, buf).map_err(|e| e.within(k))?;
                wire::end(buf, at);
            }
            Ok(())
        }
    }
}

/// One value of field `number`: a nested message, or a scalar with its key.
fn one(
    plans: &Plans,
    number: u32,
    ty: Type,
    json: &Value,
    buf: &mut Vec<u8>,
) -> Result<(), ProtoError> {
    match ty {
        Type::Message(m) => {
            let at = wire::begin(buf, number);
            message(plans, m, json, buf)?;
            wire::end(buf, at);
            Ok(())
        }
        Type::Scalar(s) => {
            wire::put_key(buf, number, wire_type(s));
            scalar_bare(s, json, buf)
        }
    }
}

pub(super) fn wire_type(s: Scalar) -> u8 {
    match s {
        Scalar::Fixed64 | Scalar::Sfixed64 | Scalar::Double => FIXED64,
        Scalar::Fixed32 | Scalar::Sfixed32 | Scalar::Float => FIXED32,
        Scalar::String | Scalar::Bytes => LEN,
        _ => VARINT,
    }
}

/// A scalar's bytes without its key (a length first for strings and bytes).
pub(super) fn scalar_bare(s: Scalar, json: &Value, buf: &mut Vec<u8>) -> Result<(), ProtoError> {
    let wrong = |what: &str| ProtoError::field("", format!("expected {what}, got {json}"));
    let int = || json.as_i64().ok_or_else(|| wrong("an integer"));
    let int32 = || i32::try_from(int()?).map_err(|_| wrong("a 32-bit integer"));
    let uint = || json.as_u64().ok_or_else(|| wrong("a non-negative integer"));
    let uint32 = || u32::try_from(uint()?).map_err(|_| wrong("a 32-bit integer"));
    let float = || json.as_f64().ok_or_else(|| wrong("a number"));
    match s {
        Scalar::String => {
            let text = json.as_str().ok_or_else(|| wrong("a string"))?;
            wire::put_varint(buf, text.len() as u64);
            buf.extend_from_slice(text.as_bytes());
        }
        Scalar::Bytes => {
            let text = json.as_str().ok_or_else(|| wrong("a base64 string"))?;
            let bytes = STANDARD
                .decode(text)
                .map_err(|e| ProtoError::field("", format!("invalid base64: {e}")))?;
            wire::put_varint(buf, bytes.len() as u64);
            buf.extend_from_slice(&bytes);
        }
        Scalar::Bool => wire::put_varint(
            buf,
            u64::from(json.as_bool().ok_or_else(|| wrong("a boolean"))?),
        ),
        // Negative int32s are sign-extended to 10 bytes, as protobuf writes them.
        Scalar::Int32 => wire::put_varint(buf, i64::from(int32()?) as u64),
        Scalar::Int64 => wire::put_varint(buf, int()? as u64),
        Scalar::Uint32 => wire::put_varint(buf, u64::from(uint32()?)),
        Scalar::Uint64 => wire::put_varint(buf, uint()?),
        Scalar::Sint32 => {
            let n = int32()?;
            wire::put_varint(buf, u64::from(((n << 1) ^ (n >> 31)) as u32));
        }
        Scalar::Sint64 => {
            let n = int()?;
            wire::put_varint(buf, ((n << 1) ^ (n >> 63)) as u64);
        }
        Scalar::Fixed32 => buf.extend_from_slice(&uint32()?.to_le_bytes()),
        Scalar::Sfixed32 => buf.extend_from_slice(&int32()?.to_le_bytes()),
        Scalar::Fixed64 => buf.extend_from_slice(&uint()?.to_le_bytes()),
        Scalar::Sfixed64 => buf.extend_from_slice(&int()?.to_le_bytes()),
        Scalar::Double => buf.extend_from_slice(&float()?.to_le_bytes()),
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a float field holds a float: the precision a float32 has is what it keeps"
        )]
        Scalar::Float => buf.extend_from_slice(&(float()? as f32).to_le_bytes()),
        Scalar::Enum => return Err(wrong("no enum (Kubernetes messages have none)")),
    }
    Ok(())
}
