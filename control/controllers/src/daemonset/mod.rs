//! The DaemonSet decision (kube-controller-manager's `daemon` controller): claim pods as a
//! ReplicaSet does, one pod on every node that should run one (`placement`), none on the
//! others, failed pods replaced, extra pods on a node removed, old pods replaced by the
//! RollingUpdate rules (`rolling`: maxUnavailable, or maxSurge) or only when deleted
//! (OnDelete), and the status.
//!
//! The template history is kept as apps/v1 ControllerRevisions (`history`), which
//! `kubectl rollout history|undo ds` read and apply. Deviations from Kubernetes: failed pods
//! are deleted without kube's per-node back-off.

pub mod history;
mod placement;
mod rolling;
mod status;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;

use crate::Error;
use crate::common::{
    controller_owner, is_pod_failed, is_terminating, name_of, pod_from_template, selector_of,
    uid_of,
};
use crate::deployment::template_hash;
pub use placement::{Fit, daemon_tolerations, fit, target_node};

/// The label holding the revision (template hash) a daemon pod was made from.
pub const REVISION_HASH: &str = "controller-revision-hash";
/// The deprecated label holding the DaemonSet's generation when the pod was made.
pub const TEMPLATE_GENERATION: &str = "pod-template-generation";

/// What to do for one DaemonSet. Applying it and planning again plans nothing new.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DaemonSetPlan {
    /// Pods to create, one per node named in its node affinity.
    pub create: Vec<Pod>,
    /// Pods to delete.
    pub delete: Vec<String>,
    pub adopt: Vec<String>,
    pub release: Vec<String>,
    pub status: DaemonSetStatus,
}

/// What one sync works from: the DaemonSet's facts, its pods by node, the nodes.
struct Sync<'a> {
    ds: &'a DaemonSet,
    hash: String,
    nodes: Vec<(&'a Node, Fit)>,
    by_node: BTreeMap<String, Vec<&'a Pod>>,
    now: i64,
}

/// Plans `ds` given all nodes and the pods of its namespace, at `now`, with the revision
/// hash computed from its template (see [`reconcile_at`]).
pub fn reconcile(
    ds: &DaemonSet,
    nodes: &[Node],
    pods: &[impl std::borrow::Borrow<Pod>],
    now: Timestamp,
) -> Result<DaemonSetPlan, Error> {
    let hash = template_hash(
        &ds.spec.clone().unwrap_or_default().template,
        ds.status.as_ref().and_then(|s| s.collision_count),
    );
    reconcile_at(ds, nodes, pods, now, &hash)
}

/// Plans `ds` as [`reconcile`] does, its pods of revision `hash` (the `controller-revision-hash`
/// label of its current ControllerRevision, see [`history`]) being the new ones.
pub fn reconcile_at(
    ds: &DaemonSet,
    nodes: &[Node],
    pods: &[impl std::borrow::Borrow<Pod>],
    now: Timestamp,
    hash: &str,
) -> Result<DaemonSetPlan, Error> {
    let uid = uid_of(&ds.metadata, "DaemonSet")?;
    let spec = ds.spec.as_ref().ok_or(Error::MissingField {
        kind: "DaemonSet",
        field: "spec",
    })?;
    let selector = selector_of(Some(&spec.selector), "DaemonSet")?;
    let claimed = crate::replicaset::claim(
        uid,
        is_terminating(&ds.metadata),
        &selector,
        pods.iter().map(std::borrow::Borrow::borrow),
    );
    let template_spec = spec.template.spec.clone().unwrap_or_default();
    let mut sync = Sync {
        ds,
        hash: hash.to_owned(),
        nodes: nodes.iter().map(|n| (n, fit(&template_spec, n))).collect(),
        by_node: BTreeMap::new(),
        now: now.as_second(),
    };
    let mut plan = DaemonSetPlan {
        adopt: claimed.adopt,
        release: claimed.release,
        ..DaemonSetPlan::default()
    };
    for pod in claimed.owned {
        match target_node(pod) {
            Some(node) => sync.by_node.entry(node).or_default().push(pod),
            // Pinned to no node: not one of ours to keep.
            None => plan.delete.push(pod_name(pod)),
        }
    }
    for pods in sync.by_node.values_mut() {
        pods.sort_by_key(|p| (p.metadata.creation_timestamp.clone(), pod_name(p)));
    }
    plan.status = status::compute(&sync);
    if is_terminating(&ds.metadata) {
        return Ok(plan);
    }
    let (to_create, mut to_delete) = manage(&sync);
    let (surge_nodes, old) = rolling::update(&sync, &to_create, &to_delete)?;
    to_delete.extend(old);
    plan.delete.extend(to_delete);
    let all: BTreeSet<String> = to_create.into_iter().chain(surge_nodes).collect();
    plan.create = all
        .iter()
        .map(|node| new_pod(&sync, uid, node))
        .collect::<Result<_, _>>()?;
    Ok(plan)
}

fn pod_name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

fn revision_of(p: &Pod) -> Option<&str> {
    p.metadata
        .labels
        .as_ref()?
        .get(REVISION_HASH)
        .map(String::as_str)
}

/// `manage` / `podsShouldBeOnNode`: the nodes that need a pod and the pods to delete.
fn manage(sync: &Sync) -> (Vec<String>, Vec<String>) {
    let (mut create, mut delete) = (Vec::new(), Vec::new());
    let node_names: BTreeSet<String> = sync
        .nodes
        .iter()
        .filter_map(|(n, _)| n.metadata.name.clone())
        .collect();
    for (node, pods) in &sync.by_node {
        if !node_names.contains(node) {
            delete.extend(
                pods.iter()
                    .filter(|p| !is_terminating(&p.metadata))
                    .map(|p| pod_name(p)),
            );
        }
    }
    for (node, fit) in &sync.nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let pods = sync
            .by_node
            .get(&name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if fit.should_run && pods.is_empty() {
            create.push(name);
        } else if !fit.should_continue {
            delete.extend(
                pods.iter()
                    .filter(|p| !is_terminating(&p.metadata))
                    .map(|p| pod_name(p)),
            );
        } else {
            let live: Vec<&Pod> = pods
                .iter()
                .copied()
                .filter(|p| !is_terminating(&p.metadata))
                .collect();
            let (failed, running): (Vec<&Pod>, Vec<&Pod>) =
                live.iter().partition(|p| is_pod_failed(p));
            delete.extend(failed.iter().map(|p| pod_name(p)));
            // A node whose only pods failed gets a new one once they are gone.
            delete.extend(rolling::extra_pods(sync, &running));
        }
    }
    (create, delete)
}

/// The pod for `node`: the template, the revision and generation labels, the daemon
/// tolerations and the affinity pinning it to the node.
fn new_pod(sync: &Sync, uid: &str, node: &str) -> Result<Pod, Error> {
    let ds = sync.ds;
    let name = name_of(&ds.metadata, "DaemonSet")?;
    let template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let owner = controller_owner("apps/v1", "DaemonSet", name, uid);
    let mut pod = pod_from_template(
        &template,
        ds.metadata.namespace.as_deref(),
        format!("{name}-"),
        owner,
    );
    let labels = pod.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(REVISION_HASH.into(), sync.hash.clone());
    if let Some(g) = ds.metadata.generation {
        labels.insert(TEMPLATE_GENERATION.into(), g.to_string());
    }
    placement::pin_to_node(pod.spec.get_or_insert_with(Default::default), node);
    Ok(pod)
}
