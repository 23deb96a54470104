//! What the scheduler works on in one pass, computed from its caches: the pods waiting for a
//! node (in creation order), and each node with the pods already on it, counting the bindings
//! this process made that its caches have not shown yet (kube-scheduler's "assumed" pods).
//! Pure functions of the cached objects.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::decide::{NodeState, Resources, pod_requests};

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
/// do not show yet. Each pod's requests come from `memo`, so a pass parses only new pods.
pub fn node_states<'a>(
    nodes: &'a [&'a Node],
    pods: &'a [&'a Pod],
    assumed: &HashMap<String, String>,
    memo: &mut RequestMemo,
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
            let mut state = NodeState::new(node, Vec::new());
            for pod in by_node.remove(name).unwrap_or_default() {
                state.add_with(pod, memo.requests(pod));
            }
            state
        })
        .collect()
}

/// Each cached pod's requests, parsed once (a pod's requests never change after it is
/// created; kube-scheduler's cache keeps them per pod the same way).
#[derive(Debug, Default)]
pub struct RequestMemo {
    by_uid: HashMap<String, Resources>,
}

impl RequestMemo {
    /// `pod`'s requests, parsed at its first sight.
    pub fn requests(&mut self, pod: &Pod) -> Resources {
        let key = uid(pod);
        if let Some(known) = self.by_uid.get(key) {
            return *known;
        }
        let parsed = pod_requests(pod);
        if !key.is_empty() {
            self.by_uid.insert(key.to_owned(), parsed);
        }
        parsed
    }

    /// Forgets pods no longer cached, once the memo holds twice as many as the cache (so the
    /// sweep costs O(1) per pass on average).
    pub fn forget_gone(&mut self, pods: &[Arc<Pod>]) {
        if self.by_uid.len() <= 2 * pods.len() + 64 {
            return;
        }
        let cached: std::collections::HashSet<&str> = pods.iter().map(|p| uid(p)).collect();
        self.by_uid
            .retain(|pod_uid, _| cached.contains(pod_uid.as_str()));
    }
}

/// Succeeded or Failed: its containers hold nothing any more.
fn finished(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed"))
}

pub fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(uid: &str, cpu: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": uid, "uid": uid},
                "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
            }))
            .unwrap(),
        )
    }

    #[test]
    fn the_memo_parses_each_pod_once_and_forgets_gone_ones() {
        let mut memo = RequestMemo::default();
        let pods: Vec<Arc<Pod>> = (0..100).map(|i| pod(&format!("p{i}"), "250m")).collect();
        for p in &pods {
            assert_eq!(memo.requests(p), pod_requests(p));
        }
        assert_eq!(memo.by_uid.len(), 100);
        // A pod's requests are taken from the memo, not parsed again.
        let same_uid_other_spec = pod("p0", "2");
        assert_eq!(memo.requests(&same_uid_other_spec).milli_cpu, 250);
        memo.forget_gone(&pods[..20]);
        assert_eq!(memo.by_uid.len(), 100, "swept only once twice the cache");
        memo.forget_gone(&pods[..1]);
        assert_eq!(memo.by_uid.len(), 1);
        memo.forget_gone(&[]);
        assert_eq!(memo.by_uid.len(), 1, "65 or fewer entries are never swept");
    }
}
