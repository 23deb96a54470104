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
    set(&mut doc, "swagger", string(document["swagger"].as_str().unwrap_or("2.0")))?;
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
        set(&mut definitions, "additional_properties", named_schemas(schemas)?)?;
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
        let problem = |e: ProtoError| e.within(key);
        match (key.as_str(), value) {
            ("$ref", Value::String(s)) => set(&mut out, "_ref", string(s))?,
            ("description" | "format" | "title" | "pattern" | "discriminator", Value::String(s)) => {
                set(&mut out, key, string(s))?;
            }
            ("type", Value::String(s)) => set(&mut out, "type", type_item(s)?)?,
            ("items", items) => {
                let mut item = message("ItemsItem")?;
                let list = match items {
                    Value::Array(many) => many.iter().map(schema).collect::<Result<Vec<_>, _>>(),
                    one => schema(one).map(|s| vec![s]),
                }
                .map_err(problem)?;
                set(&mut item, "schema", PValue::List(list.into_iter().map(PValue::Message).collect()))?;
                set(&mut out, "items", PValue::Message(item))?;
            }
            ("properties", Value::Object(properties)) => {
                let mut props = message("Properties")?;
                set(&mut props, "additional_properties", named_schemas(properties).map_err(problem)?)?;
                set(&mut out, "properties", PValue::Message(props))?;
            }
            ("additionalProperties", additional) => {
                let mut item = message("AdditionalPropertiesItem")?;
                match additional {
                    Value::Bool(b) => set(&mut item, "boolean", PValue::Bool(*b))?,
                    other => set(&mut item, "schema", PValue::Message(schema(other).map_err(problem)?))?,
                }
                set(&mut out, "additional_properties", PValue::Message(item))?;
            }
            ("allOf", Value::Array(all)) => {
                let all = all.iter().map(|s| schema(s).map(PValue::Message)).collect::<Result<_, _>>();
                set(&mut out, "all_of", PValue::List(all.map_err(problem)?))?;
            }
            ("required", Value::Array(names)) => {
                let names = names.iter().filter_map(Value::as_str).map(string).collect();
                set(&mut out, "required", PValue::List(names))?;
            }
            ("enum", Value::Array(values)) => {
                let values = values.iter().map(|v| any(v).map(PValue::Message)).collect::<Result<_, _>>()?;
                set(&mut out, "enum", PValue::List(values))?;
            }
            ("default" | "example", v) => set(&mut out, key, PValue::Message(any(v)?))?,
            ("minimum" | "maximum", Value::Number(n)) => set(&mut out, key, PValue::F64(n.as_f64().unwrap_or(0.0)))?,
            ("multipleOf", Value::Number(n)) => set(&mut out, "multiple_of", PValue::F64(n.as_f64().unwrap_or(0.0)))?,
            ("minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties", Value::Number(n)) => {
                set(&mut out, &snake(key), PValue::I64(n.as_i64().unwrap_or(0)))?;
            }
            ("uniqueItems" | "readOnly" | "exclusiveMinimum" | "exclusiveMaximum", Value::Bool(b)) => {
                set(&mut out, &snake(key), PValue::Bool(*b))?;
            }
            (x, v) if x.starts_with("x-") => {
                let mut named = message("NamedAny")?;
                set(&mut named, "name", string(x))?;
                set(&mut named, "value", PValue::Message(any(v)?))?;
                extensions.push(PValue::Message(named));
            }
            _ => {}
        }
    }
    if !extensions.is_empty() {
        set(&mut out, "vendor_extension", PValue::List(extensions))?;
    }
    Ok(out)
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
