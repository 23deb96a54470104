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
mod resources;
mod score;
mod taints;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{Node, Pod};

pub use filter::Reason;
pub use resources::{Resources, pod_requests};

/// A node and the pods already bound to it that still hold resources (not Succeeded or
/// Failed).
#[derive(Clone, Debug)]
pub struct NodeState<'a> {
    pub node: &'a Node,
    pub pods: Vec<&'a Pod>,
}

impl NodeState<'_> {
    /// What the pods already there request, with their count.
    pub fn requested(&self) -> Resources {
        self.pods
            .iter()
            .map(|p| pod_requests(p))
            .fold(Resources::default(), |a, b| a + b)
    }

    fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }
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
pub fn schedule(pod: &Pod, nodes: &[NodeState<'_>]) -> Result<String, Unschedulable> {
    let mut reasons = BTreeMap::new();
    let mut feasible = Vec::new();
    for node in nodes {
        match filter::check(pod, node) {
            Ok(()) => feasible.push(node),
            Err(why) => {
                for reason in why {
                    *reasons.entry(reason).or_insert(0) += 1;
                }
            }
        }
    }
    let scores = score::scores(pod, &feasible);
    let best = feasible
        .iter()
        .zip(scores)
        .max_by(|(a, sa), (b, sb)| {
            sa.cmp(sb)
                .then_with(|| b.pods.len().cmp(&a.pods.len()))
                .then_with(|| b.name().cmp(a.name()))
        })
        .map(|(node, _)| node.name().to_owned());
    best.ok_or(Unschedulable {
        nodes: nodes.len(),
        reasons,
    })
}
