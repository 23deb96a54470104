//! `/openapi/v2`: the Swagger 2.0 document older kubectls (before 1.27, such as Debian's 1.20)
//! validate and apply with, built from the same schemas as the v3 documents. kubectl asks for
//! it only as protobuf (gnostic's `openapi.v2.Document`); JSON is served to anyone else.
//!
//! The definitions are the union of every group/version document's `components.schemas`, with
//! their `$ref`s pointed at `#/definitions/` and a described `$ref` taken back out of the
//! `allOf` OpenAPI 3 needs (Swagger 2 ignores a `$ref`'s siblings, which is what
//! kube-apiserver's v2 document relies on). It has no paths: kubectl reads only definitions.
//!
//! A kubectl that finds a kind here computes `apply`'s strategic merge patch from this schema
//! instead of its compiled-in types (kubectl 1.32 too), so every list the server's merge-key
//! table merges carries kube-apiserver's `x-kubernetes-patch-strategy` and
//! `x-kubernetes-patch-merge-key`; without them kubectl would send such lists whole.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::{documents, hash};
use crate::patch::{ListStrategy, list_strategy};

/// Deepest field path followed from a kind (a Pod template in a CronJob is 8 deep).
const MAX_DEPTH: usize = 16;

/// The media type of the protobuf answer, as kube-openapi's handler sends it. kubectl asks for
/// `...spec.v2@v1.0+protobuf`, but an `@` is not valid in a Content-Type and client-go refuses
/// an answer that has one.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The v2 document, as JSON and as protobuf, with the hash of the JSON (the ETag).
#[derive(Debug)]
pub struct V2Document {
    pub json: Vec<u8>,
    pub protobuf: Vec<u8>,
    pub hash: String,
}

/// The document, built once.
pub fn v2() -> &'static V2Document {
    static DOC: OnceLock<V2Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let swagger = swagger();
        let json = serde_json::to_vec(&swagger).unwrap_or_default();
        // A schema gnostic cannot hold is a defect the tests catch; serve an empty document
        // rather than none.
        let protobuf = crate::protobuf::openapi_v2_document(&swagger).unwrap_or_default();
        V2Document {
            hash: hash(&json),
            json,
            protobuf,
        }
    })
}

fn swagger() -> Value {
    let mut definitions = Map::new();
    for doc in &documents().group_versions {
        let Ok(parsed) = serde_json::from_slice::<Value>(&doc.json) else {
            continue;
        };
        if let Some(Value::Object(schemas)) = parsed.pointer("/components/schemas") {
            for (name, schema) in schemas {
                definitions
                    .entry(name.clone())
                    .or_insert_with(|| to_v2(schema.clone()));
            }
        }
    }
    add_patch_extensions(&mut definitions);
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{}.0-skiff", crate::discovery::MINOR)},
        "paths": {},
        "definitions": definitions,
    })
}

/// One OpenAPI 3 schema as Swagger 2: `$ref`s to `#/definitions/`, `allOf: [{$ref}]` back to
/// a plain `$ref`, `nullable` (no Swagger 2 keyword) dropped.
fn to_v2(schema: Value) -> Value {
    match schema {
        Value::Object(mut map) => {
            map.remove("nullable");
            if let Some(Value::Array(all)) = map.get("allOf")
                && let [one] = all.as_slice()
                && let Some(reference) = one.get("$ref").cloned()
            {
                map.remove("allOf");
                map.insert("$ref".into(), reference);
            }
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                *reference = reference.replace("#/components/schemas/", "#/definitions/");
            }
            Value::Object(map.into_iter().map(|(k, v)| (k, to_v2(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(to_v2).collect()),
        other => other,
    }
}

/// A list property to mark: (definition, property, strategy).
type Mark = (String, String, ListStrategy);

/// Marks, on the definition that holds them, the lists of each kind that the merge-key table
/// merges, walking from the kind's schema through `$ref`s with the field path so far.
fn add_patch_extensions(definitions: &mut Map<String, Value>) {
    let kinds: Vec<(String, String)> = definitions
        .iter()
        .filter_map(|(name, schema)| {
            let kind = schema["x-kubernetes-group-version-kind"][0]["kind"].as_str()?;
            Some((name.clone(), kind.to_owned()))
        })
        .collect();
    let mut marks = Vec::new();
    for (name, kind) in kinds {
        walk(definitions, &name, &kind, &mut Vec::new(), &mut marks);
    }
    for (definition, property, strategy) in marks {
        let Some(Value::Object(schema)) = definitions
            .get_mut(&definition)
            .and_then(|d| d.pointer_mut(&format!("/properties/{property}")))
        else {
            continue;
        };
        schema.insert("x-kubernetes-patch-strategy".into(), json!("merge"));
        if let ListStrategy::MergeByKey(key) = strategy {
            schema.insert("x-kubernetes-patch-merge-key".into(), json!(key));
        }
    }
}

fn walk(
    definitions: &Map<String, Value>,
    definition: &str,
    kind: &str,
    path: &mut Vec<String>,
    marks: &mut Vec<Mark>,
) {
    let properties = definitions
        .get(definition)
        .and_then(|d| d.get("properties"))
        .and_then(Value::as_object);
    let Some(properties) = properties.filter(|_| path.len() < MAX_DEPTH) else {
        return;
    };
    for (property, schema) in properties {
        path.push(property.clone());
        let is_list = schema["type"] == "array";
        if is_list {
            let names: Vec<&str> = path.iter().map(String::as_str).collect();
            let strategy = list_strategy(kind, &names);
            if strategy != ListStrategy::Replace {
                marks.push((definition.to_owned(), property.clone(), strategy));
            }
        }
        let element = if is_list { &schema["items"] } else { schema };
        if let Some(target) = element["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/definitions/"))
        {
            walk(definitions, target, kind, path, marks);
        }
        path.pop();
    }
}
