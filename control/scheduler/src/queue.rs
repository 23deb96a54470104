//! Which pods the scheduler works on: the ones waiting for a node from it (unbound, not being
//! deleted, not finished, naming no other scheduler), and the ones that hold a node's
//! resources. Pure functions of one Pod.

use k8s_openapi::api::core::v1::Pod;

/// The `schedulerName` skiff answers to, as kube-scheduler does.
pub const DEFAULT_SCHEDULER: &str = "default-scheduler";

/// Whether `pod` waits for a node from this scheduler.
pub fn waits(pod: &Pod) -> bool {
    let ours = pod
        .spec
        .as_ref()
        .and_then(|s| s.scheduler_name.as_deref())
        .is_none_or(|n| n == DEFAULT_SCHEDULER);
    bound_node(pod).is_none() && ours && pod.metadata.deletion_timestamp.is_none() && !finished(pod)
}

/// The node `pod` is bound to, if any.
pub fn bound_node(pod: &Pod) -> Option<&str> {
    let node = pod.spec.as_ref()?.node_name.as_deref()?;
    (!node.is_empty()).then_some(node)
}

/// Succeeded or Failed: its containers hold nothing any more. (A pod being deleted still
/// holds its node's resources until it is gone.)
pub fn finished(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed"))
}

pub fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

/// Oldest first (creation time, then name), the order kube-scheduler's queue pops.
pub fn oldest_first(pods: &mut [std::sync::Arc<Pod>]) {
    pods.sort_by(|a, b| {
        (a.metadata.creation_timestamp.as_ref())
            .cmp(&b.metadata.creation_timestamp.as_ref())
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn which_pods_wait_for_this_scheduler() {
        let cases = [
            (json!({"spec": {"containers": []}}), true),
            (json!({"spec": {"containers": [], "nodeName": ""}}), true),
            (json!({"spec": {"containers": [], "nodeName": "n"}}), false),
            (
                json!({"spec": {"containers": [], "schedulerName": "default-scheduler"}}),
                true,
            ),
            (
                json!({"spec": {"containers": [], "schedulerName": "other"}}),
                false,
            ),
            (
                json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
                    "spec": {"containers": []}}),
                false,
            ),
            (
                json!({"spec": {"containers": []}, "status": {"phase": "Failed"}}),
                false,
            ),
            (
                json!({"spec": {"containers": []}, "status": {"phase": "Pending"}}),
                true,
            ),
        ];
        for (value, want) in cases {
            assert_eq!(waits(&pod(value.clone())), want, "{value}");
        }
    }
}
