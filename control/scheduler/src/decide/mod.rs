//! The scheduling decision: a pod and the nodes (with the pods already bound to each) in, a
//! node name or kube-scheduler's "0/N nodes are available: ..." out. Pure: no I/O, no clock.
//!
//! - `resources`: requests and allocatable in comparable units.
//! - `taints`: tolerations, and the taints a node's readiness implies.
//! - `affinity`: node selector and affinity, pod anti-affinity on the hostname.
//! - `filter`: which nodes can take the pod, and why the others cannot.
//! - `score`: which of those is best.

mod affinity;
mod filter;
mod node;
mod resources;
#[cfg(test)]
mod sample_tests;
mod score;
mod taints;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::Pod;

pub use filter::Reason;
pub use node::NodeState;
pub use resources::{Resources, pod_requests};

/// kube-scheduler's `minFeasibleNodesToFind`: below this many nodes every node is checked.
const MIN_FEASIBLE_NODES: usize = 100;
/// kube-scheduler's `minFeasibleNodesPercentageToFind`.
const MIN_FEASIBLE_PERCENTAGE: usize = 5;

/// How many feasible nodes to find before scoring, out of `all`: kube-scheduler's adaptive
/// `percentageOfNodesToScore` (50% minus 1% per 125 nodes, at least 5%, and at least 100
/// nodes), from `numFeasibleNodesToFind` in kubernetes `pkg/scheduler/schedule_one.go`.
pub fn feasible_nodes_to_find(all: usize) -> usize {
    if all < MIN_FEASIBLE_NODES {
        return all;
    }
    let percentage = 50usize
        .saturating_sub(all / 125)
        .max(MIN_FEASIBLE_PERCENTAGE);
    (all * percentage / 100).max(MIN_FEASIBLE_NODES)
}

/// Where a pod goes: the index of the chosen node in the slice given, and how many nodes were
/// looked at (the next pod's search starts after them, as kube-scheduler's
/// `nextStartNodeIndex` does, so the sample rotates over the cluster).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub node: usize,
    pub examined: usize,
}

/// Why no node can take a pod: how many nodes were looked at and how many gave each reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unschedulable {
    pub nodes: usize,
    pub reasons: BTreeMap<Reason, usize>,
}

impl fmt::Display for Unschedulable {
    /// kube-scheduler's words: `0/3 nodes are available: 1 Insufficient memory, 2 node(s)
    /// didn't match Pod's node affinity/selector.` (each "count reason" sorted as text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes == 0 {
            return f.write_str("no nodes available to schedule pods");
        }
        let mut parts: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        parts.sort();
        write!(
            f,
            "0/{} nodes are available: {}.",
            self.nodes,
            parts.join(", ")
        )
    }
}

/// The node `pod` should go to, or why none can take it. Ties go to the node with fewer pods,
/// then to the first name, so the choice is deterministic.
pub fn schedule(pod: &Pod, nodes: &[NodeState]) -> Result<String, Unschedulable> {
    place(pod, nodes, 0).map(|p| nodes[p.node].name().to_owned())
}

/// Like [`schedule`], but looks at the nodes from index `start` on (wrapping) and stops once
/// [`feasible_nodes_to_find`] of them can take the pod; the best of those wins. A pod that
/// fits nowhere has looked at every node, so its reasons count them all.
pub fn place(pod: &Pod, nodes: &[NodeState], start: usize) -> Result<Placement, Unschedulable> {
    let wanted = pod_requests(pod);
    let enough = feasible_nodes_to_find(nodes.len());
    let mut reasons = BTreeMap::new();
    let mut feasible: Vec<(usize, &NodeState)> = Vec::new();
    let mut examined = 0;
    let offset = if nodes.is_empty() {
        0
    } else {
        start % nodes.len()
    };
    for i in (offset..nodes.len()).chain(0..offset) {
        if feasible.len() >= enough {
            break;
        }
        examined += 1;
        match filter::check(pod, wanted, &nodes[i]) {
            Ok(()) => feasible.push((i, &nodes[i])),
            Err(why) => {
                for reason in why {
                    *reasons.entry(reason).or_insert(0) += 1;
                }
            }
        }
    }
    let candidates: Vec<&NodeState> = feasible.iter().map(|(_, n)| *n).collect();
    let scores = score::scores(pod, wanted, &candidates);
    let best = feasible
        .iter()
        .zip(scores)
        .max_by(|((_, a), sa), ((_, b), sb)| {
            sa.cmp(sb)
                .then_with(|| b.pod_count().cmp(&a.pod_count()))
                .then_with(|| b.name().cmp(a.name()))
        })
        .map(|((i, _), _)| Placement { node: *i, examined });
    best.ok_or(Unschedulable {
        nodes: nodes.len(),
        reasons,
    })
}
