//! One scheduling pass: every waiting pod, oldest first, placed against node states built
//! once from the caches (plus this scheduler's assumed bindings) and updated as each pod is
//! placed, so a pass costs O(pods + nodes) to set up and a sample of the nodes per pod.
//! Placed pods go to the bind pipeline at once; the pass does not wait for their bindings.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Node, Pod};
use tokio::sync::mpsc;

use crate::bind;
use crate::decide::place;
use crate::metrics::{Metrics, Outcome};
use crate::queue::{RequestMemo, node_states, pending, uid};

/// A placed pod on its way to `pods/binding`.
pub struct BindJob {
    pub pod: Arc<Pod>,
    pub node: String,
    /// When its decision started (the attempt's duration runs until its binding is answered).
    pub started: Instant,
    /// Its attempts so far, this one included.
    pub attempts: u32,
}

/// What the scheduler remembers between passes while it leads.
#[derive(Debug, Default)]
pub struct PassState {
    /// Bindings sent or in flight that the caches do not show yet: pod uid -> node.
    pub assumed: HashMap<String, String>,
    /// Attempts per waiting pod uid.
    attempts: HashMap<String, u32>,
    /// Where the next pod's search over the nodes starts.
    next_start: usize,
    /// Each cached pod's requests, parsed once.
    requests: RequestMemo,
}

impl PassState {
    /// Drops what the caches have overtaken: assumptions and attempt counts of pods that are
    /// bound in the cache, or gone.
    fn forget_settled(&mut self, pods: &[Arc<Pod>]) {
        let unbound: HashSet<&str> = pods
            .iter()
            .filter(|p| bind::is_unbound(p))
            .map(|p| uid(p))
            .collect();
        self.assumed
            .retain(|pod_uid, _| unbound.contains(pod_uid.as_str()));
        self.attempts
            .retain(|pod_uid, _| unbound.contains(pod_uid.as_str()));
        self.requests.forget_gone(pods);
    }
}

/// The pods that fit nowhere, with kube-scheduler's message for each.
pub type Unschedulable = Vec<(Arc<Pod>, String)>;

/// Places every waiting pod it can and sends each to `to_bind` (stopping if `leading` turns
/// false); returns the pods that fit nowhere.
pub fn one_pass(
    node_list: &[Arc<Node>],
    pod_list: &[Arc<Pod>],
    state: &mut PassState,
    to_bind: &mpsc::UnboundedSender<BindJob>,
    metrics: &Metrics,
    leading: impl Fn() -> bool,
) -> Unschedulable {
    let node_refs: Vec<&Node> = node_list.iter().map(AsRef::as_ref).collect();
    let pod_refs: Vec<&Pod> = pod_list.iter().map(AsRef::as_ref).collect();
    state.forget_settled(pod_list);
    let waiting = pending(pod_list, &state.assumed);
    metrics.pending(waiting.len(), 0);
    if waiting.is_empty() {
        // Nothing to place: pods bound by their creator (`spec.nodeName`) cost no node states.
        return Vec::new();
    }
    let mut nodes = node_states(&node_refs, &pod_refs, &state.assumed, &mut state.requests);
    let mut unschedulable = Vec::new();
    for pod in waiting {
        let started = Instant::now();
        let attempts = state.attempts.entry(uid(pod).to_owned()).or_insert(0);
        *attempts += 1;
        let attempts = *attempts;
        match place(pod, &nodes, state.next_start) {
            Ok(placement) => {
                state.next_start = (state.next_start + placement.examined) % nodes.len().max(1);
                let chosen = &mut nodes[placement.node];
                chosen.add(pod);
                let node = chosen.name().to_owned();
                if !leading() {
                    break;
                }
                state.assumed.insert(uid(pod).to_owned(), node.clone());
                let job = BindJob {
                    pod: Arc::clone(pod),
                    node,
                    started,
                    attempts,
                };
                if to_bind.send(job).is_err() {
                    break;
                }
            }
            Err(why) => {
                metrics.attempt(Outcome::Unschedulable, started.elapsed());
                unschedulable.push((Arc::clone(pod), why.to_string()));
            }
        }
    }
    metrics.pending(0, unschedulable.len());
    unschedulable
}

#[cfg(test)]
#[path = "pass_tests.rs"]
mod tests;
