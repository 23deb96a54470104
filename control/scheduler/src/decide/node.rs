//! [`NodeState`]: a node with the pods bound to it, and what the filters and scores read from
//! them computed once (allocatable, the sum of requests, effective taints, pods per owner,
//! whether any pod there carries anti-affinity terms), as kube-scheduler's `NodeInfo` caches
//! them, so deciding one pod parses no quantity and walks no pod list.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use super::affinity;
use super::resources::{Resources, node_allocatable, pod_requests};
use super::score::controller_uid;
use super::taints;

/// A node and the pods already bound to it that still hold resources (not Succeeded or
/// Failed). Build it with [`NodeState::new`]; [`NodeState::add`] counts one more pod.
#[derive(Clone, Debug)]
pub struct NodeState<'a> {
    pub node: &'a Node,
    pub pods: Vec<&'a Pod>,
    /// The node's allocatable resources, parsed once.
    pub(super) allocatable: Resources,
    /// What the pods on it request, with their count.
    requested: Resources,
    /// Its taints plus the ones its readiness implies.
    pub(super) taints: Vec<Taint>,
    /// How many of its pods each controller (by uid) owns.
    pub(super) owners: HashMap<&'a str, u64>,
    /// Whether some pod on it has required anti-affinity terms (else only the incoming pod's
    /// own terms need checking).
    pub(super) anti_affinity: bool,
}

impl<'a> NodeState<'a> {
    pub fn new(node: &'a Node, pods: Vec<&'a Pod>) -> Self {
        let mut state = NodeState {
            node,
            pods: Vec::with_capacity(pods.len()),
            allocatable: node_allocatable(node),
            requested: Resources::default(),
            taints: taints::effective_taints(node),
            owners: HashMap::new(),
            anti_affinity: false,
        };
        for pod in pods {
            state.add(pod);
        }
        state
    }

    /// Counts `pod` as bound here (a binding made, or assumed by this scheduler).
    pub fn add(&mut self, pod: &'a Pod) {
        self.add_with(pod, pod_requests(pod));
    }

    /// [`NodeState::add`] with the pod's requests already computed.
    pub fn add_with(&mut self, pod: &'a Pod, requests: Resources) {
        self.requested = self.requested + requests;
        if let Some(owner) = controller_uid(pod) {
            *self.owners.entry(owner).or_insert(0) += 1;
        }
        self.anti_affinity |= affinity::has_anti_affinity(pod);
        self.pods.push(pod);
    }

    /// What the pods already there request, with their count.
    pub fn requested(&self) -> Resources {
        self.requested
    }

    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }
}
