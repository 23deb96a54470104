//! What the protobuf decoder can produce always passes the schema check: the API server relies
//! on it to skip `check_schema` for protobuf bodies. For every served kind, a message with
//! every field set (recursively, each special type in each of its shapes) decodes to an object
//! that `validate::check_schema` finds no unknown field and no wrong type in; and so does any
//! damaged real body that still decodes.

use std::collections::HashMap;

use proptest::prelude::*;
use prost_reflect::{DynamicMessage, Kind, MapKey, MessageDescriptor, Value as PValue};
use serde_json::{Value, json};

use super::super::special::{self, Special};
use super::super::{decode, decode_object, encode_object, message_for, plan};
use crate::resources::{RESOURCES, ResourceInfo};
use crate::validate::check_schema;

/// Nesting beyond this is not filled: Kubernetes' served kinds nest less deeply.
const MAX_FILL_DEPTH: usize = 24;

/// Which shape a special type takes where both exist (IntOrString: a number or a string).
#[derive(Clone, Copy)]
enum Shape {
    Numbers,
    Texts,
}

/// The JSON a special message holds in this test, for `special::encode`.
fn special_json(kind: Special, shape: Shape) -> Value {
    match (kind, shape) {
        (Special::Time, _) => json!("2026-12-05T17:00:01Z"),
        (Special::MicroTime, _) => json!("2026-12-05T17:00:01.123456Z"),
        (Special::Duration, _) => json!("1h2m3s"),
        (Special::Quantity, Shape::Numbers) => json!("2"),
        (Special::Quantity, Shape::Texts) => json!("100Mi"),
        (Special::IntOrString, Shape::Numbers) => json!(8080),
        (Special::IntOrString, Shape::Texts) => json!("http"),
        (Special::RawJson, _) => json!({"a": [1, "b"]}),
        (Special::StringList, _) => json!(["get", "list"]),
    }
}

/// One non-default value of `kind`, or `None` for a message already being filled (recursion).
fn value_of(kind: &Kind, shape: Shape, stack: &mut Vec<String>) -> Option<PValue> {
    Some(match kind {
        Kind::Bool => PValue::Bool(true),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => PValue::I32(3),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => PValue::I64(5),
        Kind::Uint32 | Kind::Fixed32 => PValue::U32(7),
        Kind::Uint64 | Kind::Fixed64 => PValue::U64(9),
        Kind::Float => PValue::F32(1.5),
        Kind::Double => PValue::F64(2.5),
        Kind::String => PValue::String("x".into()),
        Kind::Bytes => PValue::Bytes(b"bytes".to_vec().into()),
        Kind::Enum(e) => PValue::EnumNumber(e.default_value().number()),
        Kind::Message(desc) => PValue::Message(filled(desc, shape, stack)?),
    })
}

/// `desc` with every field set: one entry in each map, one item in each list.
fn filled(
    desc: &MessageDescriptor,
    shape: Shape,
    stack: &mut Vec<String>,
) -> Option<DynamicMessage> {
    if let Some(kind) = Special::of(desc) {
        let mut bytes = Vec::new();
        special::encode(kind, &special_json(kind, shape), &mut bytes).expect("special encodes");
        return Some(DynamicMessage::decode(desc.clone(), bytes.as_slice()).expect("decodes"));
    }
    let name = desc.full_name().to_owned();
    if stack.contains(&name) || stack.len() > MAX_FILL_DEPTH {
        return None;
    }
    stack.push(name);
    let mut msg = DynamicMessage::new(desc.clone());
    for field in desc.fields() {
        let value = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field has an entry message")
            };
            let value = value_of(&entry.map_entry_value_field().kind(), shape, stack);
            value.map(|v| PValue::Map(HashMap::from([(MapKey::String("k".into()), v)])))
        } else if field.is_list() {
            value_of(&field.kind(), shape, stack).map(|v| PValue::List(vec![v]))
        } else {
            value_of(&field.kind(), shape, stack)
        };
        if let Some(value) = value {
            msg.set_field(&field, value);
        }
    }
    stack.pop();
    Some(msg)
}

/// The object the decoder reads from a full message of `info`'s kind.
fn decoded_full(info: &ResourceInfo, shape: Shape) -> Value {
    let api_version = info.api_version();
    let desc = message_for(&api_version, info.kind).expect("a message");
    let full = filled(&desc, shape, &mut Vec::new()).expect("the kind itself is filled");
    let plans = plan::plans();
    let plan = plans.find(desc.full_name()).expect("planned");
    let bytes = prost::Message::encode_to_vec(&full);
    let mut object = decode::message(plans, plan, &bytes).expect("decodes");
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(info.kind);
    object
}

fn leaves(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.values().map(leaves).sum(),
        Value::Array(items) => items.iter().map(leaves).sum(),
        _ => 1,
    }
}

#[test]
fn every_field_a_protobuf_body_can_carry_passes_the_schema_check() {
    for info in RESOURCES {
        for shape in [Shape::Numbers, Shape::Texts] {
            let object = decoded_full(info, shape);
            assert!(leaves(&object) > 10, "{} decoded to {object}", info.kind);
            assert_eq!(check_schema(info, &object), Ok(Vec::new()), "{}", info.kind);
        }
    }
    let pod = RESOURCES
        .iter()
        .find(|i| i.group.is_empty() && i.kind == "Pod");
    let pod = decoded_full(pod.expect("Pods are served"), Shape::Numbers);
    assert!(leaves(&pod) > 500, "a full Pod has {} leaves", leaves(&pod));
}

proptest! {
    #[test]
    fn a_damaged_body_that_decodes_passes_the_schema_check(at in 4usize..4000, to in any::<u8>()) {
        let info = RESOURCES.iter().find(|i| i.group.is_empty() && i.kind == "Pod").expect("Pod");
        let mut body = encode_object(&decoded_full(info, Shape::Texts)).expect("encodes");
        let at = at % body.len();
        body[at] = to;
        if let Ok(object) = decode_object(&body)
            && object["kind"] == "Pod" && object["apiVersion"] == "v1"
        {
            prop_assert_eq!(check_schema(info, &object), Ok(Vec::new()));
        }
    }
}
