//! [`NodeState`]: a node with the pods bound to it, and what the filters and scores read from
//! them computed once (allocatable, the sum of requests, effective taints, pods per owner,
//! how many pods there carry anti-affinity terms), as kube-scheduler's `NodeInfo` caches
//! them, so deciding one pod parses no quantity and walks no pod list. A state is kept
//! across passes and changed one pod at a time ([`NodeState::add`], [`NodeState::remove`]),
//! as the watch events arrive (see `cluster.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use super::affinity;
use super::resources::{Resources, node_allocatable, pod_requests};
use super::score::controller_uid;
use super::taints;

/// A pod counted on a node, with what it requests.
#[derive(Clone, Debug)]
struct Held {
    pod: Arc<Pod>,
    requests: Resources,
}

/// A node and the pods bound to it that still hold resources (not Succeeded or Failed).
#[derive(Clone, Debug)]
pub struct NodeState {
    pub node: Arc<Node>,
    /// By pod uid (a pod without one gets a key of its own).
    pods: HashMap<String, Held>,
    /// The node's allocatable resources, parsed once per node change.
    pub(super) allocatable: Resources,
    /// What the pods on it request, with their count.
    requested: Resources,
    /// Its taints plus the ones its readiness implies.
    pub(super) taints: Vec<Taint>,
    /// How many of its pods each controller (by uid) owns.
    pub(super) owners: HashMap<String, u64>,
    /// How many pods on it have required anti-affinity terms (while none do, only the
    /// incoming pod's own terms need checking).
    anti_affinity: usize,
    /// Keys given to pods without a uid.
    anonymous: u64,
}

impl NodeState {
    /// A node with no pods counted yet.
    pub fn new(node: Arc<Node>) -> Self {
        NodeState {
            allocatable: node_allocatable(&node),
            taints: taints::effective_taints(&node),
            node,
            pods: HashMap::new(),
            requested: Resources::default(),
            owners: HashMap::new(),
            anti_affinity: 0,
            anonymous: 0,
        }
    }

    /// The node with `pods` counted (the tests' and one-off callers' constructor).
    pub fn with_pods(node: &Node, pods: &[&Pod]) -> Self {
        let mut state = NodeState::new(Arc::new(node.clone()));
        for pod in pods {
            state.add(Arc::new((*pod).clone()));
        }
        state
    }

    /// The node object changed (labels, taints, readiness, allocatable); its pods stay.
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.allocatable = node_allocatable(&node);
        self.taints = taints::effective_taints(&node);
        self.node = node;
    }

    /// Counts `pod` as bound here (a binding made, or assumed by this scheduler).
    pub fn add(&mut self, pod: Arc<Pod>) {
        let requests = pod_requests(&pod);
        self.add_with(pod, requests);
    }

    /// [`NodeState::add`] with the pod's requests already computed. A pod counted already
    /// (same uid) is replaced.
    pub fn add_with(&mut self, pod: Arc<Pod>, requests: Resources) {
        let key = match pod.metadata.uid.as_deref() {
            Some(uid) if !uid.is_empty() => uid.to_owned(),
            _ => {
                self.anonymous += 1;
                format!("#{}", self.anonymous)
            }
        };
        self.remove(&key);
        self.requested = self.requested + requests;
        if let Some(owner) = controller_uid(&pod) {
            *self.owners.entry(owner.to_owned()).or_insert(0) += 1;
        }
        self.anti_affinity += usize::from(affinity::has_anti_affinity(&pod));
        self.pods.insert(key, Held { pod, requests });
    }

    /// Stops counting the pod of `uid`; the pod if it was counted.
    pub fn remove(&mut self, uid: &str) -> Option<Arc<Pod>> {
        let held = self.pods.remove(uid)?;
        self.requested = self.requested - held.requests;
        if let Some(owner) = controller_uid(&held.pod)
            && let Some(count) = self.owners.get_mut(owner)
        {
            *count -= 1;
            if *count == 0 {
                self.owners.remove(owner);
            }
        }
        self.anti_affinity -= usize::from(affinity::has_anti_affinity(&held.pod));
        Some(held.pod)
    }

    /// The pods counted here, in no particular order.
    pub fn pods(&self) -> impl Iterator<Item = &Arc<Pod>> {
        self.pods.values().map(|h| &h.pod)
    }

    /// Takes every pod counted here out (the node is gone).
    pub fn take_pods(&mut self) -> Vec<Arc<Pod>> {
        self.requested = Resources::default();
        self.owners.clear();
        self.anti_affinity = 0;
        self.pods.drain().map(|(_, h)| h.pod).collect()
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Whether some pod here has required anti-affinity terms.
    pub(super) fn has_anti_affinity(&self) -> bool {
        self.anti_affinity > 0
    }

    /// What the pods already there request, with their count.
    pub fn requested(&self) -> Resources {
        self.requested
    }

    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }
}
