//! The scheduler's cache of the cluster, kube-scheduler's `Cache` and queue in one: every node
//! with the pods counted on it ([`NodeState`]), the pods waiting for a node, and the bindings
//! this scheduler made that the watch has not shown yet ("assumed" pods). It changes one
//! object at a time as the watch events arrive ([`Change`]), so a pass costs the waiting pods
//! times the node sample, not the cluster's size: with 10,000 pods cached, rebuilding the
//! node states from every pod at each pass was a third of the scheduler's process.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::decide::NodeState;
use crate::queue::{bound_node, finished, oldest_first, uid, waits};

/// One watch event, as the scheduler's cache takes it.
#[derive(Debug)]
pub enum Change {
    Node(Arc<Node>),
    NodeGone(String),
    Pod(Arc<Pod>),
    /// The pod of this uid left the API.
    PodGone(String),
    /// A watch listed again: rebuild from the reflectors' stores.
    Relisted,
}

/// Where a counted pod is counted.
#[derive(Clone, Debug)]
struct Spot {
    node: String,
    /// Bound by this scheduler, not yet seen bound on the watch.
    assumed: bool,
}

#[derive(Debug, Default)]
pub struct Cluster {
    nodes: Vec<NodeState>,
    /// Index in `nodes` by node name.
    by_name: HashMap<String, usize>,
    /// Pods bound to a node the cache has no Node for (yet): node name -> uid -> pod.
    homeless: HashMap<String, HashMap<String, Arc<Pod>>>,
    /// Where each counted pod is, by uid.
    spots: HashMap<String, Spot>,
    /// Pods waiting for a node from this scheduler, by uid.
    waiting: HashMap<String, Arc<Pod>>,
}

impl Cluster {
    /// The cache of `nodes` and `pods`, with no assumption.
    pub fn from_lists(nodes: &[Arc<Node>], pods: &[Arc<Pod>]) -> Self {
        let mut cluster = Cluster::default();
        for node in nodes {
            cluster.set_node(node.clone());
        }
        for pod in pods {
            cluster.set_pod(pod.clone());
        }
        cluster
    }

    /// Takes one watch event; `Relisted` rebuilds from `lists` (the reflectors' stores),
    /// keeping the assumptions of pods still unbound.
    pub fn apply(
        &mut self,
        change: Change,
        lists: impl FnOnce() -> (Vec<Arc<Node>>, Vec<Arc<Pod>>),
    ) {
        match change {
            Change::Node(node) => self.set_node(node),
            Change::NodeGone(name) => self.remove_node(&name),
            Change::Pod(pod) => self.set_pod(pod),
            Change::PodGone(pod_uid) => {
                self.forget(&pod_uid);
            }
            Change::Relisted => {
                let (nodes, pods) = lists();
                let assumed: Vec<(String, String)> = (self.spots.iter())
                    .filter(|(_, s)| s.assumed)
                    .map(|(u, s)| (u.clone(), s.node.clone()))
                    .collect();
                *self = Cluster::from_lists(&nodes, &pods);
                for (pod_uid, node) in assumed {
                    if let Some(pod) = self.waiting.get(&pod_uid).cloned() {
                        self.assume(pod, &node);
                    }
                }
            }
        }
    }

    fn set_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        if let Some(&i) = self.by_name.get(&name) {
            self.nodes[i].set_node(node);
            return;
        }
        let mut state = NodeState::new(node);
        for (_, pod) in self.homeless.remove(&name).unwrap_or_default() {
            state.add(pod);
        }
        self.by_name.insert(name, self.nodes.len());
        self.nodes.push(state);
    }

    fn remove_node(&mut self, name: &str) {
        let Some(i) = self.by_name.remove(name) else {
            return;
        };
        let mut gone = self.nodes.swap_remove(i);
        if let Some(moved) = self.nodes.get(i) {
            self.by_name.insert(moved.name().to_owned(), i);
        }
        let pods = gone
            .take_pods()
            .into_iter()
            .map(|p| (uid(&p).to_owned(), p));
        self.homeless.insert(name.to_owned(), pods.collect());
    }

    /// A pod was added or changed.
    fn set_pod(&mut self, pod: Arc<Pod>) {
        let pod_uid = uid(&pod).to_owned();
        if pod_uid.is_empty() {
            return;
        }
        if let Some(spot) = self.spots.get(&pod_uid).cloned()
            && spot.assumed
            && waits(&pod)
        {
            // Still unbound on the watch: the binding is on its way; keep the assumption.
            self.count(pod, &spot.node, true);
            return;
        }
        self.forget(&pod_uid);
        match bound_node(&pod) {
            Some(node) if !finished(&pod) => {
                let node = node.to_owned();
                self.count(pod, &node, false);
            }
            Some(_) => {}
            None if waits(&pod) => {
                self.waiting.insert(pod_uid, pod);
            }
            None => {}
        }
    }

    /// Counts `pod` on `node` (known or not yet).
    fn count(&mut self, pod: Arc<Pod>, node: &str, assumed: bool) {
        let pod_uid = uid(&pod).to_owned();
        let spot = Spot {
            node: node.to_owned(),
            assumed,
        };
        self.spots.insert(pod_uid.clone(), spot);
        match self.by_name.get(node) {
            Some(&i) => self.nodes[i].add(pod),
            None => {
                self.homeless
                    .entry(node.to_owned())
                    .or_default()
                    .insert(pod_uid, pod);
            }
        }
    }

    /// Stops counting or waiting for the pod of `pod_uid`; the pod if it was known.
    fn forget(&mut self, pod_uid: &str) -> Option<Arc<Pod>> {
        if let Some(pod) = self.waiting.remove(pod_uid) {
            return Some(pod);
        }
        let spot = self.spots.remove(pod_uid)?;
        match self.by_name.get(&spot.node) {
            Some(&i) => self.nodes[i].remove(pod_uid),
            None => {
                let homeless = self.homeless.get_mut(&spot.node)?;
                let pod = homeless.remove(pod_uid);
                if homeless.is_empty() {
                    self.homeless.remove(&spot.node);
                }
                pod
            }
        }
    }

    /// This scheduler bound `pod` to `node`: count it there until the watch says more.
    pub fn assume(&mut self, pod: Arc<Pod>, node: &str) {
        self.waiting.remove(uid(&pod));
        self.count(pod, node, true);
    }

    /// The binding of `pod_uid` failed: it waits again (if it still waits at all).
    pub fn unassume(&mut self, pod_uid: &str) {
        if !self.spots.get(pod_uid).is_some_and(|s| s.assumed) {
            return;
        }
        if let Some(pod) = self.forget(pod_uid)
            && waits(&pod)
        {
            self.waiting.insert(pod_uid.to_owned(), pod);
        }
    }

    /// Drops every assumption (leadership lost: another scheduler decides now).
    pub fn unassume_all(&mut self) {
        let assumed: Vec<String> = (self.spots.iter())
            .filter(|(_, s)| s.assumed)
            .map(|(u, _)| u.clone())
            .collect();
        for pod_uid in assumed {
            self.unassume(&pod_uid);
        }
    }

    /// The waiting pods, oldest first.
    pub fn pending(&self) -> Vec<Arc<Pod>> {
        let mut pods: Vec<Arc<Pod>> = self.waiting.values().cloned().collect();
        oldest_first(&mut pods);
        pods
    }

    /// Whether the pod of `pod_uid` waits or is assumed (not yet seen bound).
    pub fn in_flight(&self, pod_uid: &str) -> bool {
        self.waiting.contains_key(pod_uid) || self.spots.get(pod_uid).is_some_and(|s| s.assumed)
    }

    pub fn nodes(&self) -> &[NodeState] {
        &self.nodes
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
