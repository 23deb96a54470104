//! What the scheduler works on in one pass, computed from its caches: the pods waiting for a
//! node (in creation order), and each node with the pods already on it, counting the bindings
//! this process made that its caches have not shown yet (kube-scheduler's "assumed" pods).
//! Pure functions of the cached objects.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::decide::NodeState;

/// The `schedulerName` skiff answers to, as kube-scheduler does.
pub const DEFAULT_SCHEDULER: &str = "default-scheduler";

/// Pods that need a node from this scheduler: unbound, not being deleted, not finished, and
/// naming no other scheduler; oldest first.
pub fn pending<'a>(pods: &'a [Arc<Pod>], assumed: &HashMap<String, String>) -> Vec<&'a Arc<Pod>> {
    let mut waiting: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| {
            let spec = p.spec.as_ref();
            let unbound = spec.is_none_or(|s| s.node_name.as_deref().unwrap_or("").is_empty());
            let ours = spec
                .and_then(|s| s.scheduler_name.as_deref())
                .is_none_or(|n| n == DEFAULT_SCHEDULER);
            unbound
                && ours
                && p.metadata.deletion_timestamp.is_none()
                && !finished(p)
                && !assumed.contains_key(uid(p))
        })
        .collect();
    waiting.sort_by(|a, b| {
        (a.metadata.creation_timestamp.as_ref())
            .cmp(&b.metadata.creation_timestamp.as_ref())
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    waiting
}

/// Every node with the pods bound to it, plus `assumed` (pod uid -> node) bindings the caches
/// do not show yet.
pub fn node_states<'a>(
    nodes: &'a [&'a Node],
    pods: &'a [&'a Pod],
    assumed: &HashMap<String, String>,
) -> Vec<NodeState<'a>> {
    let mut by_node: HashMap<&str, Vec<&'a Pod>> = HashMap::new();
    // A pod being deleted still holds its node's resources until it is gone.
    for pod in pods.iter().copied().filter(|p| !finished(p)) {
        let bound = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
        let node = bound
            .filter(|n| !n.is_empty())
            .or_else(|| assumed.get(uid(pod)).map(String::as_str));
        if let Some(node) = node {
            by_node.entry(node).or_default().push(pod);
        }
    }
    nodes
        .iter()
        .map(|node| {
            let name = node.metadata.name.as_deref().unwrap_or("");
            NodeState::new(node, by_node.remove(name).unwrap_or_default())
        })
        .collect()
}

/// Succeeded or Failed: its containers hold nothing any more.
fn finished(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed"))
}

pub fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}
