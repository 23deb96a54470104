//! OpenAPI v3 documents: `/openapi/v3` (the index) and one per group/version. They serve two
//! uses of kubectl:
//! - the field-validation check of `apply`/`create` finds, for every kind, a `patch` operation
//!   carrying `x-kubernetes-group-version-kind` and a `fieldValidation` query parameter, so
//!   kubectl sends `fieldValidation=Strict` and leaves validation to the server (`paths`);
//! - `kubectl explain` finds the schema tagged with the kind's group/version/kind in
//!   `components.schemas` and follows its `$ref`s for field types and descriptions (`schemas`).
//!
//! Patch operations carry no `requestBody`, so client-side apply computes strategic merge
//! patches from kubectl's compiled-in types rather than from these schemas (which carry no patch
//! strategies). The documents never change while a binary runs: they are built and serialised
//! once, on first use, and each carries the hash of its bytes.

mod paths;
mod schemas;
#[cfg(test)]
mod tests;
mod v2;

pub use v2::{PROTOBUF_CONTENT_TYPE as V2_PROTOBUF_CONTENT_TYPE, V2Document, v2};

use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::resources::{self, RESOURCES};

/// One served document, serialised, with its hash.
#[derive(Debug)]
pub struct Document {
    /// `api/v1` or `apis/apps/v1` (the key in the index); empty for the index itself.
    pub path: String,
    /// The document as JSON.
    pub json: Vec<u8>,
    /// [`hash`] of `json`: what the index's URLs carry and what the ETag is.
    pub hash: String,
}

impl Document {
    /// The URL the index gives for this document: `/openapi/v3/<path>?hash=<hash>`.
    pub fn url(&self) -> String {
        format!("/openapi/v3/{}?hash={}", self.path, self.hash)
    }

    fn new(path: String, doc: &Value) -> Document {
        let json = serde_json::to_vec(doc).unwrap_or_default();
        Document {
            path,
            hash: hash(&json),
            json,
        }
    }
}

struct Documents {
    root: Document,
    group_versions: Vec<Document>,
}

fn documents() -> &'static Documents {
    static DOCS: OnceLock<Documents> = OnceLock::new();
    DOCS.get_or_init(|| {
        let group_versions: Vec<Document> = std::iter::once(("", "v1"))
            .chain(resources::groups())
            .map(|(group, version)| {
                let path = if group.is_empty() {
                    format!("api/{version}")
                } else {
                    format!("apis/{group}/{version}")
                };
                Document::new(path, &build(group, version))
            })
            .collect();
        let paths: Map<String, Value> = group_versions
            .iter()
            .map(|d| (d.path.clone(), json!({"serverRelativeURL": d.url()})))
            .collect();
        Documents {
            root: Document::new(String::new(), &json!({"paths": paths})),
            group_versions,
        }
    })
}

/// The content hash kubectl caches a document under: upper-case hex SHA-256 of its bytes.
pub fn hash(json: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(json))
}

/// `GET /openapi/v3`: the index of group/version documents, each URL with its hash.
pub fn root() -> &'static Document {
    &documents().root
}

/// `GET /openapi/v3/<path>` for `path` `api/v1` or `apis/apps/v1` (a leading `/`, a leading
/// `/openapi/v3/` and a `?hash=` query are ignored). `None` for a group/version not served.
pub fn group_version(path: &str) -> Option<&'static Document> {
    let path = path.split('?').next().unwrap_or(path);
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("openapi/v3/").unwrap_or(path);
    let path = path.trim_end_matches('/');
    documents().group_versions.iter().find(|d| d.path == path)
}

/// The document of one group/version: a `patch` operation (and the item path's parameters)
/// for every resource and every patchable subresource, and the schemas of their kinds.
fn build(group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    let mut kinds = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        paths::add_resource(&mut paths, r);
        for gvk in paths::kinds(r) {
            if !kinds.contains(&gvk) {
                kinds.push(gvk);
            }
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{}.0-skiff", crate::discovery::MINOR)},
        "paths": paths,
        "components": {"schemas": schemas::components(&kinds)},
    })
}
