//! Scores for the nodes that passed the filters, each 0-100 and summed: least allocated (the
//! share of cpu and memory left after placing the pod, as `NodeResourcesFit`'s default
//! strategy), preferred node affinity (the matched weight against the best node's), and spread
//! (fewer pods of the same owner on the node is better, as `PodTopologySpread`'s default
//! hostname constraint prefers).

use k8s_openapi::api::core::v1::Pod;

use super::NodeState;
use super::affinity;
use super::resources::Resources;

/// The total score of every candidate, in the candidates' order.
pub fn scores(pod: &Pod, wanted: Resources, candidates: &[&NodeState]) -> Vec<u64> {
    let owner = controller_uid(pod);
    let preferences = affinity::has_preferred_terms(pod);
    let weights: Vec<i64> = candidates
        .iter()
        .map(|n| {
            if preferences {
                affinity::preferred_weight(pod, &n.node)
            } else {
                0
            }
        })
        .collect();
    let best_weight = weights.iter().copied().max().unwrap_or(0);
    let same_owner: Vec<u64> = candidates
        .iter()
        .map(|n| owner.and_then(|o| n.owners.get(o)).copied().unwrap_or(0))
        .collect();
    let most = same_owner.iter().copied().max().unwrap_or(0);
    candidates
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let affinity = if best_weight > 0 {
                (weights[i].max(0) as u64) * 100 / best_weight as u64
            } else {
                0
            };
            let spread = ((most - same_owner[i]) * 100)
                .checked_div(most)
                .unwrap_or(100);
            least_allocated(wanted, node) + affinity + spread
        })
        .collect()
}

/// 0-100: the mean of the free shares of cpu and memory once the pod is placed.
fn least_allocated(wanted: Resources, node: &NodeState) -> u64 {
    let allocatable = node.allocatable;
    let after = node.requested() + wanted;
    let free = |total: u64, used: u64| {
        (total.saturating_sub(used) * 100)
            .checked_div(total)
            .unwrap_or(0)
    };
    (free(allocatable.milli_cpu, after.milli_cpu) + free(allocatable.memory, after.memory)) / 2
}

/// The uid of the pod's controlling owner (its ReplicaSet, Job, ...), if any.
pub(super) fn controller_uid(pod: &Pod) -> Option<&str> {
    pod.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}
