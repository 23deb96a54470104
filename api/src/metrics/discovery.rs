//! Discovery of `metrics.k8s.io/v1beta1`: kubectl top looks for the group in `/apis` (or
//! the aggregated `/apis`) before it asks for metrics. Two read-only resources, as
//! metrics-server registers them: `pods` (`PodMetrics`, namespaced) and `nodes`
//! (`NodeMetrics`), verbs `get` and `list`.

use serde_json::{Value, json};

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";
pub const GROUP_VERSION: &str = "metrics.k8s.io/v1beta1";

/// (plural, kind, namespaced) of the served metrics resources.
const RESOURCES: [(&str, &str, bool); 2] = [
    ("nodes", "NodeMetrics", false),
    ("pods", "PodMetrics", true),
];
const VERBS: [&str; 2] = ["get", "list"];

pub fn is_metrics_group(group: &str) -> bool {
    group == GROUP
}

/// The group's entry of an `APIGroupList`, or (`kind` set) its `APIGroup` document.
pub fn api_group(with_kind: bool) -> Value {
    let version = json!({"groupVersion": GROUP_VERSION, "version": VERSION});
    let mut group = json!({
        "name": GROUP,
        "versions": [version.clone()],
        "preferredVersion": version,
    });
    if with_kind && let Some(map) = group.as_object_mut() {
        map.insert("kind".into(), json!("APIGroup"));
        map.insert("apiVersion".into(), json!("v1"));
    }
    group
}

/// `GET /apis/metrics.k8s.io/v1beta1`.
pub fn resource_list() -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(|(plural, kind, namespaced)| {
            json!({
                "name": plural,
                "singularName": "",
                "namespaced": namespaced,
                "kind": kind,
                "verbs": VERBS,
            })
        })
        .collect();
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": resources,
    })
}

/// The group's `APIGroupDiscovery` in the aggregated `/apis`.
pub fn aggregated_group() -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(|(plural, kind, namespaced)| {
            json!({
                "resource": plural,
                "responseKind": {"group": GROUP, "version": VERSION, "kind": kind},
                "scope": if *namespaced { "Namespaced" } else { "Cluster" },
                "verbs": VERBS,
            })
        })
        .collect();
    json!({
        "metadata": {"name": GROUP, "creationTimestamp": null},
        "versions": [{"version": VERSION, "resources": resources, "freshness": "Current"}],
    })
}
