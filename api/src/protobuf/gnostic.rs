//! A Swagger 2.0 document as gnostic's `openapi.v2.Document`, the protobuf kube-apiserver
//! serves at `/openapi/v2` and kubectl (which asks for it only as protobuf) reads to validate
//! and to find the schema of a kind (through `x-kubernetes-group-version-kind`).
//!
//! gnostic's messages mirror the Swagger JSON field by field (snake_case names, `$ref` as
//! `_ref`); values of free form (`default`, `enum`, `example`, vendor extensions) are `Any`
//! messages carrying YAML, which is how kube-openapi reads them back.

use prost::Message;
use prost_reflect::{DynamicMessage, Value as PValue};
use serde_json::{Map, Value};

use super::ProtoError;
use super::descriptors::named;

const PACKAGE: &str = "openapi.v2";

fn message(name: &str) -> Result<DynamicMessage, ProtoError> {
    named(&format!("{PACKAGE}.{name}"))
        .map(DynamicMessage::new)
        .ok_or_else(|| ProtoError::field(name, "no such gnostic message"))
}

fn set(msg: &mut DynamicMessage, field: &str, value: PValue) -> Result<(), ProtoError> {
    msg.try_set_field_by_name(field, value)
        .map_err(|e| ProtoError::field(field, e.to_string()))
}

fn string(s: &str) -> PValue {
    PValue::String(s.to_owned())
}

/// `document` (Swagger 2.0 JSON: `swagger`, `info`, `definitions`) as gnostic protobuf.
pub fn openapi_v2_document(document: &Value) -> Result<Vec<u8>, ProtoError> {
    let mut doc = message("Document")?;
    set(
        &mut doc,
        "swagger",
        string(document["swagger"].as_str().unwrap_or("2.0")),
    )?;
    let mut info = message("Info")?;
    for field in ["title", "version"] {
        if let Some(text) = document["info"][field].as_str() {
            set(&mut info, field, string(text))?;
        }
    }
    set(&mut doc, "info", PValue::Message(info))?;
    set(&mut doc, "paths", PValue::Message(message("Paths")?))?;
    let mut definitions = message("Definitions")?;
    if let Some(Value::Object(schemas)) = document.get("definitions") {
        set(
            &mut definitions,
            "additional_properties",
            named_schemas(schemas)?,
        )?;
    }
    set(&mut doc, "definitions", PValue::Message(definitions))?;
    Ok(doc.encode_to_vec())
}

fn named_schemas(schemas: &Map<String, Value>) -> Result<PValue, ProtoError> {
    let mut named = Vec::with_capacity(schemas.len());
    for (name, json) in schemas {
        let mut entry = message("NamedSchema")?;
        set(&mut entry, "name", string(name))?;
        let value = schema(json).map_err(|e| e.within(name))?;
        set(&mut entry, "value", PValue::Message(value))?;
        named.push(PValue::Message(entry));
    }
    Ok(PValue::List(named))
}

/// A free-form value: an `Any` holding it as YAML.
fn any(json: &Value) -> Result<DynamicMessage, ProtoError> {
    let mut any = message("Any")?;
    let yaml = serde_yaml::to_string(json).map_err(|e| ProtoError::field("", e.to_string()))?;
    set(&mut any, "yaml", PValue::String(yaml))?;
    Ok(any)
}

/// One schema. Keys gnostic has no field for (OpenAPI 3's `nullable`) are left out.
fn schema(json: &Value) -> Result<DynamicMessage, ProtoError> {
    let mut out = message("Schema")?;
    let Value::Object(object) = json else {
        return Ok(out);
    };
    let mut extensions = Vec::new();
    for (key, value) in object {
        if key.starts_with("x-") {
            let mut named = message("NamedAny")?;
            set(&mut named, "name", string(key))?;
            set(&mut named, "value", PValue::Message(any(value)?))?;
            extensions.push(PValue::Message(named));
        } else if !nested(&mut out, key, value).map_err(|e| e.within(key))? {
            keyword(&mut out, key, value)?;
        }
    }
    if !extensions.is_empty() {
        set(&mut out, "vendor_extension", PValue::List(extensions))?;
    }
    Ok(out)
}

fn schemas(many: &[Value]) -> Result<PValue, ProtoError> {
    let list = many.iter().map(|s| schema(s).map(PValue::Message));
    Ok(PValue::List(list.collect::<Result<_, _>>()?))
}

/// The keywords holding schemas; false for any other.
fn nested(out: &mut DynamicMessage, key: &str, value: &Value) -> Result<bool, ProtoError> {
    match (key, value) {
        ("items", items) => {
            let mut item = message("ItemsItem")?;
            let list = match items {
                Value::Array(many) => schemas(many)?,
                one => PValue::List(vec![PValue::Message(schema(one)?)]),
            };
            set(&mut item, "schema", list)?;
            set(out, "items", PValue::Message(item))?;
        }
        ("properties", Value::Object(properties)) => {
            let mut props = message("Properties")?;
            set(
                &mut props,
                "additional_properties",
                named_schemas(properties)?,
            )?;
            set(out, "properties", PValue::Message(props))?;
        }
        ("additionalProperties", additional) => {
            let mut item = message("AdditionalPropertiesItem")?;
            match additional {
                Value::Bool(b) => set(&mut item, "boolean", PValue::Bool(*b))?,
                other => set(&mut item, "schema", PValue::Message(schema(other)?))?,
            }
            set(out, "additional_properties", PValue::Message(item))?;
        }
        ("allOf", Value::Array(all)) => set(out, "all_of", schemas(all)?)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The keywords holding strings, numbers, booleans and free-form values.
fn keyword(out: &mut DynamicMessage, key: &str, value: &Value) -> Result<(), ProtoError> {
    match (key, value) {
        ("$ref", Value::String(s)) => set(out, "_ref", string(s)),
        ("description" | "format" | "title" | "pattern" | "discriminator", Value::String(s)) => {
            set(out, key, string(s))
        }
        ("type", Value::String(s)) => set(out, "type", type_item(s)?),
        ("required", Value::Array(names)) => {
            let names = names.iter().filter_map(Value::as_str).map(string).collect();
            set(out, "required", PValue::List(names))
        }
        ("enum", Value::Array(values)) => {
            let values = values.iter().map(|v| any(v).map(PValue::Message));
            set(out, "enum", PValue::List(values.collect::<Result<_, _>>()?))
        }
        ("default" | "example", v) => set(out, key, PValue::Message(any(v)?)),
        ("minimum" | "maximum" | "multipleOf", Value::Number(n)) => {
            set(out, &snake(key), PValue::F64(n.as_f64().unwrap_or(0.0)))
        }
        (
            "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties",
            Value::Number(n),
        ) => set(out, &snake(key), PValue::I64(n.as_i64().unwrap_or(0))),
        ("uniqueItems" | "readOnly" | "exclusiveMinimum" | "exclusiveMaximum", Value::Bool(b)) => {
            set(out, &snake(key), PValue::Bool(*b))
        }
        _ => Ok(()),
    }
}

fn type_item(name: &str) -> Result<PValue, ProtoError> {
    let mut item = message("TypeItem")?;
    set(&mut item, "value", PValue::List(vec![string(name)]))?;
    Ok(PValue::Message(item))
}

/// `minLength` -> `min_length`.
fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 2);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
