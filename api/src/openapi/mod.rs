//! Minimal OpenAPI v3 documents (`/openapi/v3` and one per group/version). They exist so that
//! kubectl's field-validation check finds, for every kind, a `patch` operation carrying
//! `x-kubernetes-group-version-kind` and a `fieldValidation` query parameter: kubectl then sends
//! `fieldValidation=Strict` and leaves validation to the server. The documents carry no schemas
//! (k8s-openapi has none at runtime), so `kubectl explain` is not served, and patch operations
//! carry no `requestBody`, so client-side apply computes strategic merge patches from kubectl's
//! compiled-in types rather than from these documents.

mod paths;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::resources::{self, RESOURCES};

/// One served group/version document with its hash.
struct GroupVersionDoc {
    /// `api/v1` or `apis/apps/v1`: the key in the root document.
    path: String,
    doc: Value,
    hash: String,
}

/// The documents never change while a binary runs, so they are built once.
fn docs() -> &'static [GroupVersionDoc] {
    static DOCS: OnceLock<Vec<GroupVersionDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        std::iter::once(("", "v1"))
            .chain(resources::groups())
            .map(|(group, version)| {
                let doc = build(group, version);
                let path = if group.is_empty() {
                    format!("api/{version}")
                } else {
                    format!("apis/{group}/{version}")
                };
                GroupVersionDoc {
                    path,
                    hash: hash(&doc),
                    doc,
                }
            })
            .collect()
    })
}

/// The content hash kubectl caches a document under: upper-case hex SHA-256 of its JSON.
pub fn hash(doc: &Value) -> String {
    let bytes = serde_json::to_vec(doc).unwrap_or_default();
    hex::encode_upper(Sha256::digest(&bytes))
}

/// `GET /openapi/v3`: the index of group/version documents, each with its hash.
pub fn root() -> Value {
    let paths: Map<String, Value> = docs()
        .iter()
        .map(|d| {
            let url = format!("/openapi/v3/{}?hash={}", d.path, d.hash);
            (d.path.clone(), json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

/// `GET /openapi/v3/<path>` for `path` `api/v1` or `apis/apps/v1` (a leading `/`, a leading
/// `/openapi/v3/` and a `?hash=` query are ignored). `None` for a group/version not served.
pub fn group_version(path: &str) -> Option<Value> {
    let path = path.split('?').next().unwrap_or(path);
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("openapi/v3/").unwrap_or(path);
    let path = path.trim_end_matches('/');
    docs()
        .iter()
        .find(|d| d.path == path)
        .map(|d| d.doc.clone())
}

/// The document of one group/version: a `patch` operation (and the item path's parameters)
/// for every resource and every patchable subresource.
fn build(group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        paths::add_resource(&mut paths, r);
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{}.0-skiff", crate::discovery::MINOR)},
        "paths": paths,
        "components": {"schemas": {}},
    })
}
