//! One scheduling pass: every waiting pod, oldest first, placed against the node states of the
//! scheduler's cache (`cluster.rs`, kept up to date by the watch events, with this
//! scheduler's assumed bindings), each placed pod assumed on its node at once, so a pass
//! costs a sample of the nodes per waiting pod and nothing per pod already bound.
//! Placed pods go to the bind pipeline at once; the pass does not wait for their bindings.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use tokio::sync::mpsc;

use crate::cluster::Cluster;
use crate::decide::place;
use crate::metrics::{Metrics, Outcome};
use crate::queue::uid;

/// A placed pod on its way to `pods/binding`.
pub struct BindJob {
    pub pod: Arc<Pod>,
    pub node: String,
    /// When its decision started (the attempt's duration runs until its binding is answered).
    pub started: Instant,
    /// Its attempts so far, this one included.
    pub attempts: u32,
}

/// What the scheduler remembers between passes while it leads, besides its cache.
#[derive(Debug, Default)]
pub struct PassState {
    /// Attempts per waiting (or assumed) pod uid.
    attempts: HashMap<String, u32>,
    /// Where the next pod's search over the nodes starts.
    next_start: usize,
}

/// The pods that fit nowhere, with kube-scheduler's message for each.
pub type Unschedulable = Vec<(Arc<Pod>, String)>;

/// Places every waiting pod it can, assumes it on its node and sends it to `to_bind`
/// (stopping if `leading` turns false); returns the pods that fit nowhere.
pub fn one_pass(
    cluster: &mut Cluster,
    state: &mut PassState,
    to_bind: &mpsc::UnboundedSender<BindJob>,
    metrics: &Metrics,
    leading: impl Fn() -> bool,
) -> Unschedulable {
    // Attempt counts of pods bound or gone since are done with.
    state
        .attempts
        .retain(|pod_uid, _| cluster.in_flight(pod_uid));
    let waiting = cluster.pending();
    metrics.pending(waiting.len(), 0);
    let mut unschedulable = Vec::new();
    for pod in waiting {
        let started = Instant::now();
        let attempts = state.attempts.entry(uid(&pod).to_owned()).or_insert(0);
        *attempts += 1;
        let attempts = *attempts;
        let nodes = cluster.nodes();
        match place(&pod, nodes, state.next_start) {
            Ok(placement) => {
                state.next_start = (state.next_start + placement.examined) % nodes.len().max(1);
                let node = nodes[placement.node].name().to_owned();
                if !leading() {
                    break;
                }
                cluster.assume(pod.clone(), &node);
                let job = BindJob {
                    pod,
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
                unschedulable.push((pod, why.to_string()));
            }
        }
    }
    metrics.pending(0, unschedulable.len());
    unschedulable
}

#[cfg(test)]
#[path = "pass_tests.rs"]
mod tests;
