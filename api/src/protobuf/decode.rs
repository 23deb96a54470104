//! A message's bytes -> its JSON object, read record by record by the message's plan
//! (`plan`), building the JSON value directly.
//!
//! Presence: Go's protobuf marshaller writes every non-pointer field, empty or not, so a
//! decoded message says nothing about whether the JSON would have omitted a zero value. A
//! singular empty string is dropped (Go's `omitempty` strings, which are nearly all of them:
//! `namespace`, `generateName`, `uid`); numbers, booleans and nested messages that were on
//! the wire are kept, because a pointer to zero (`replicas: 0`, `automountServiceAccountToken:
//! false`) means something, while a zero that Go would have omitted means the default either
//! way. A singular field written twice keeps the last value (a message's are merged); records
//! of fields the message does not have are skipped.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Number, Value};

use super::ProtoError;
use super::encode::wire_type;
use super::plan::{FieldPlan, Plans, Scalar, Shape, Type};
use super::special;
use super::wire::{self, Reader, Wire, WireError};

/// Nesting beyond this is refused (Kubernetes' own messages nest far less).
const MAX_DEPTH: usize = 100;

/// The JSON of the message `plan` in `bytes`.
pub(super) fn message(plans: &Plans, plan: usize, bytes: &[u8]) -> Result<Value, ProtoError> {
    message_at(plans, plan, bytes, 0)
}

fn message_at(plans: &Plans, plan: usize, bytes: &[u8], depth: usize) -> Result<Value, ProtoError> {
    if depth > MAX_DEPTH {
        return Err(WireError::TooDeep(MAX_DEPTH).into());
    }
    let msg = plans.get(plan);
    if let Some(kind) = msg.special {
        return special::decode(kind, bytes);
    }
    let mut out = Map::new();
    for record in Reader::new(bytes) {
        let (number, value) = record?;
        let Some(field) = msg.by_number(number) else {
            continue;
        };
        read_field(plans, field, value, depth, &mut out).map_err(|e| e.within(&field.name))?;
    }
    Ok(Value::Object(out))
}

fn read_field(
    plans: &Plans,
    field: &FieldPlan,
    value: Wire<'_>,
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), ProtoError> {
    match field.shape {
        Shape::Single => {
            let json = one(plans, field.ty, value, field.number, depth)?;
            single_value(field, json, out);
        }
        Shape::List { .. } => {
            // One search of the map for a list already begun; a new one is inserted after
            // its first record is read (its name cloned once).
            let (mut fresh, mut absent) = (Vec::new(), false);
            let items = match out.get_mut(&field.name) {
                Some(Value::Array(items)) => items,
                Some(_) => return Ok(()),
                None => {
                    absent = true;
                    &mut fresh
                }
            };
            list_items(plans, field, value, depth, items)?;
            if absent {
                out.insert(field.name.clone(), Value::Array(fresh));
            }
        }
        Shape::Map { key } => {
            let Wire::Len(entry) = value else {
                return Err(WireError::WrongWireType(field.number).into());
            };
            let (k, v) = map_entry(plans, key, field.ty, entry, depth)?;
            match out.get_mut(&field.name) {
                Some(Value::Object(map)) => {
                    map.insert(k, v);
                }
                Some(_) => {}
                None => {
                    let mut map = Map::new();
                    map.insert(k, v);
                    out.insert(field.name.clone(), Value::Object(map));
                }
            }
        }
    }
    Ok(())
}

/// A singular field's value into `out`: an inline message's fields are `out`'s own, an
/// empty string is no value, a message written again is merged into the earlier one.
fn single_value(field: &FieldPlan, json: Value, out: &mut Map<String, Value>) {
    if field.inline {
        if let Value::Object(fields) = json {
            out.extend(fields);
        }
        return;
    }
    match json {
        Value::Null => {}
        Value::String(s) if s.is_empty() => {
            out.remove(&field.name);
        }
        // Inserted first (one search of the map): a message written twice is rare,
        // and then the earlier one's fields go under the later one's.
        Value::Object(after) => {
            let earlier = out.insert(field.name.clone(), Value::Object(after));
            if let (Some(Value::Object(mut before)), Some(Value::Object(after))) =
                (earlier, out.get_mut(&field.name))
            {
                before.extend(std::mem::take(after));
                *after = before;
            }
        }
        json => {
            out.insert(field.name.clone(), json);
        }
    }
}

/// The items of one record of a repeated field: one value, or a packed run of scalars.
fn list_items(
    plans: &Plans,
    field: &FieldPlan,
    value: Wire<'_>,
    depth: usize,
    items: &mut Vec<Value>,
) -> Result<(), ProtoError> {
    match (field.ty, value) {
        (Type::Scalar(s), Wire::Len(packed)) if wire_type(s) != wire::LEN => {
            let mut rest = packed;
            while !rest.is_empty() {
                let (item, tail) = packed_scalar(s, rest, field.number)?;
                items.push(item);
                rest = tail;
            }
        }
        (ty, value) => items.push(one(plans, ty, value, field.number, depth)?),
    }
    Ok(())
}

/// One value: a nested message's JSON or a scalar's.
fn one(
    plans: &Plans,
    ty: Type,
    value: Wire<'_>,
    number: u32,
    depth: usize,
) -> Result<Value, ProtoError> {
    match (ty, value) {
        (Type::Message(m), Wire::Len(bytes)) => message_at(plans, m, bytes, depth + 1),
        (Type::Scalar(s), value) => scalar(s, value, number),
        _ => Err(WireError::WrongWireType(number).into()),
    }
}

/// A map entry: its key (field 1) and value (field 2), each its type's zero when absent.
fn map_entry(
    plans: &Plans,
    key: Scalar,
    ty: Type,
    entry: &[u8],
    depth: usize,
) -> Result<(String, Value), ProtoError> {
    let (mut k, mut v) = (None, None);
    for record in Reader::new(entry) {
        match record? {
            (1, value) => k = Some(scalar(key, value, 1)?),
            (2, value) => v = Some(one(plans, ty, value, 2, depth)?),
            _ => {}
        }
    }
    let k = match k {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let v = match (v, ty) {
        (Some(v), _) => v,
        (None, Type::Message(m)) => message_at(plans, m, &[], depth + 1)?,
        (None, Type::Scalar(s)) => zero(s),
    };
    Ok((k, v))
}

fn zero(s: Scalar) -> Value {
    match s {
        Scalar::String | Scalar::Bytes => Value::String(String::new()),
        Scalar::Bool => Value::Bool(false),
        _ => Value::from(0),
    }
}

/// One scalar of a packed list and the bytes after it.
fn packed_scalar(s: Scalar, bytes: &[u8], number: u32) -> Result<(Value, &[u8]), ProtoError> {
    let width = match wire_type(s) {
        wire::FIXED32 => Some(4),
        wire::FIXED64 => Some(8),
        _ => None,
    };
    let (value, rest) = match width {
        Some(n) if bytes.len() >= n => {
            let (head, tail) = bytes.split_at(n);
            let mut le = [0u8; 8];
            le[..n].copy_from_slice(head);
            let raw = u64::from_le_bytes(le);
            let value = if n == 4 {
                Wire::Fixed32(raw as u32)
            } else {
                Wire::Fixed64(raw)
            };
            (value, tail)
        }
        Some(_) => return Err(WireError::Truncated.into()),
        None => {
            let (n, tail) = wire::varint(bytes)?;
            (Wire::Varint(n), tail)
        }
    };
    Ok((scalar(s, value, number)?, rest))
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "protobuf's own conversions: an int32 is the low 32 bits of its varint"
)]
fn scalar(s: Scalar, value: Wire<'_>, number: u32) -> Result<Value, ProtoError> {
    let float = |f: f64| Number::from_f64(f).map_or(Value::Null, Value::Number);
    Ok(match (s, value) {
        (Scalar::Bool, Wire::Varint(n)) => Value::Bool(n != 0),
        (Scalar::Int32 | Scalar::Enum, Wire::Varint(n)) => Value::from(n as i32),
        (Scalar::Int64, Wire::Varint(n)) => Value::from(n as i64),
        (Scalar::Uint32, Wire::Varint(n)) => Value::from(n as u32),
        (Scalar::Uint64, Wire::Varint(n)) => Value::from(n),
        (Scalar::Sint32, Wire::Varint(n)) => {
            let n = n as u32;
            Value::from((n >> 1) as i32 ^ -((n & 1) as i32))
        }
        (Scalar::Sint64, Wire::Varint(n)) => Value::from((n >> 1) as i64 ^ -((n & 1) as i64)),
        (Scalar::Fixed32, Wire::Fixed32(n)) => Value::from(n),
        (Scalar::Sfixed32, Wire::Fixed32(n)) => Value::from(n as i32),
        (Scalar::Float, Wire::Fixed32(n)) => float(f64::from(f32::from_bits(n))),
        (Scalar::Fixed64, Wire::Fixed64(n)) => Value::from(n),
        (Scalar::Sfixed64, Wire::Fixed64(n)) => Value::from(n as i64),
        (Scalar::Double, Wire::Fixed64(n)) => float(f64::from_bits(n)),
        (Scalar::String, Wire::Len(bytes)) => Value::String(wire::text(bytes)?.to_owned()),
        (Scalar::Bytes, Wire::Len(bytes)) => Value::String(STANDARD.encode(bytes)),
        _ => return Err(WireError::WrongWireType(number).into()),
    })
}
