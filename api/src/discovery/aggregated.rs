//! Aggregated discovery (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`): all of `/api` or all
//! of `/apis` in one document, so kubectl needs two requests instead of one per group/version.
//! Served only when the `Accept` header asks for it, and only with `CONTENT_TYPE`, which
//! kubectl checks exactly.

use serde_json::{Value, json};

use super::subresources;
use crate::resources::{self, RESOURCES, ResourceInfo};

/// The `Content-Type` of an aggregated discovery response; kubectl misreads the document as a
/// legacy one under any other.
pub const CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header asks for aggregated discovery v2 (kubectl's does, with the
/// legacy `application/json` as a fallback).
pub fn accepts_aggregated(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        params.contains(&"g=apidiscovery.k8s.io")
            && params.contains(&"v=v2")
            && params.contains(&"as=APIGroupDiscoveryList")
    })
}

/// `GET /api` (`core` true) or `GET /apis` (`core` false) as an `APIGroupDiscoveryList`.
pub fn aggregated(core: bool) -> Value {
    let groups: Vec<&str> = if core {
        vec![""]
    } else {
        resources::groups().into_iter().map(|(g, _)| g).collect()
    };
    let mut items: Vec<Value> = groups.into_iter().map(group_entry).collect();
    if !core {
        items.extend(crate::rbac::discovery::aggregated_groups());
        items.push(crate::metrics::aggregated_group());
    }
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// One `APIGroupDiscovery`: the group's versions, preferred first.
fn group_entry(group: &str) -> Value {
    let mut versions: Vec<&str> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        if !versions.contains(&r.version) {
            versions.push(r.version);
        }
    }
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|version| {
            let resources: Vec<Value> = RESOURCES
                .iter()
                .filter(|r| r.group == group && r.version == version)
                .map(resource_entry)
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// One `APIResourceDiscovery` with its subresources.
fn resource_entry(r: &ResourceInfo) -> Value {
    let subs: Vec<Value> = r
        .subresources
        .iter()
        .map(|sub| {
            let legacy = subresources::entry(r, sub);
            let group = legacy
                .get("group")
                .cloned()
                .unwrap_or_else(|| json!(r.group));
            let version = legacy
                .get("version")
                .cloned()
                .unwrap_or_else(|| json!(r.version));
            json!({
                "subresource": sub,
                "responseKind": {"group": group, "version": version, "kind": legacy["kind"]},
                "verbs": legacy["verbs"],
            })
        })
        .collect();
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs(),
    });
    if let Some(map) = entry.as_object_mut() {
        if !r.short_names.is_empty() {
            map.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            map.insert("categories".into(), json!(r.categories));
        }
        if !subs.is_empty() {
            map.insert("subresources".into(), Value::Array(subs));
        }
    }
    entry
}
