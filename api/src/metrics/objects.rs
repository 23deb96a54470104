//! `PodMetrics`, `NodeMetrics` and their lists, from an agent's [`NodeSummary`] and the
//! stored Pod or Node (name, namespace, labels), as metrics-server serves them: the
//! summary's time is the `timestamp` (the end of the window), `creationTimestamp` is when
//! the object was made (`now`), and labels come from the pod or node.

use serde_json::{Value, json};

use super::discovery::GROUP_VERSION;
use super::quantity::{cpu_quantity, go_duration, memory_quantity};
use super::summary::{CpuStats, MemoryStats, NodeSummary, PodStats};

fn usage(cpu: CpuStats, memory: MemoryStats) -> Value {
    json!({
        "cpu": cpu_quantity(cpu.usage_nano_cores),
        "memory": memory_quantity(memory.working_set_bytes),
    })
}

/// The metadata of a metrics object for `object` (a Pod or a Node).
fn metadata(object: &Value, now: &str) -> Value {
    let mut meta = json!({
        "name": object["metadata"]["name"],
        "creationTimestamp": now,
    });
    if let Some(map) = meta.as_object_mut() {
        if let Some(namespace) = object["metadata"]["namespace"].as_str() {
            map.insert("namespace".into(), json!(namespace));
        }
        if let Some(labels) = object["metadata"]["labels"].as_object() {
            map.insert("labels".into(), Value::Object(labels.clone()));
        }
    }
    meta
}

/// The `PodMetrics` of `pod` from its stats in `summary`.
pub fn pod_metrics(pod: &Value, stats: &PodStats, summary: &NodeSummary, now: &str) -> Value {
    let containers: Vec<Value> = stats
        .containers
        .iter()
        .map(|c| json!({"name": c.name, "usage": usage(c.cpu, c.memory)}))
        .collect();
    json!({
        "kind": "PodMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": metadata(pod, now),
        "timestamp": summary.time,
        "window": go_duration(summary.window_seconds),
        "containers": containers,
    })
}

/// The `NodeMetrics` of `node` from its agent's `summary`.
pub fn node_metrics(node: &Value, summary: &NodeSummary, now: &str) -> Value {
    json!({
        "kind": "NodeMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": metadata(node, now),
        "timestamp": summary.time,
        "window": go_duration(summary.window_seconds),
        "usage": usage(summary.node.cpu, summary.node.memory),
    })
}

/// A `PodMetricsList` or `NodeMetricsList` (`kind` is the item kind).
pub fn metrics_list(kind: &str, items: Vec<Value>) -> Value {
    json!({
        "kind": format!("{kind}List"),
        "apiVersion": GROUP_VERSION,
        "metadata": {},
        "items": items,
    })
}
