//! The ReplicaSet decision (kube-controller-manager's `replicaset` controller): claim pods by
//! selector and controller reference, create or delete pods to match `replicas`, and the status.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use k8s_openapi::Metadata;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

use crate::Error;
use crate::common::{
    controller_owner, controller_ref, is_pod_active, is_pod_available, is_pod_ready,
    is_terminating, labels_of, name_of, phase_rank, pod_from_template, ready_since, restart_count,
    secs, selector_of, uid_of,
};

/// At most this many pods are created or deleted by one plan (`BurstReplicas`, 500 in
/// kube-controller-manager), so a huge scale-up goes out in bounded batches.
pub const BURST_REPLICAS: usize = 500;

/// What to do for one ReplicaSet. Applying it and planning again plans nothing new.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicaSetPlan {
    /// Pods to create (with `generateName`, the template and the controller reference).
    pub create: Vec<Pod>,
    /// Names of owned active pods to delete, in kube's deletion preference order.
    pub delete: Vec<String>,
    /// Names of orphan pods matching the selector: add the controller reference.
    pub adopt: Vec<String>,
    /// Names of owned pods that no longer match: remove the controller reference.
    pub release: Vec<String>,
    /// The status to write (`observedGeneration` included).
    pub status: ReplicaSetStatus,
}

/// Which objects the owner has after claiming, and what claiming changes.
#[derive(Debug)]
pub struct Claimed<'a, T> {
    pub owned: Vec<&'a T>,
    pub adopt: Vec<String>,
    pub release: Vec<String>,
}

/// Claims objects as `ControllerRefManager.ClaimObject` does (pods for a ReplicaSet,
/// ReplicaSets for a Deployment): owned and matching are kept, owned and not matching are
/// released, orphans matching are adopted (not while either side is being deleted), objects
/// of another controller are left alone.
pub fn claim<'a, T: Metadata<Ty = ObjectMeta>>(
    owner_uid: &str,
    owner_terminating: bool,
    selector: &skiff_api::selector::LabelSelector,
    objects: impl IntoIterator<Item = &'a T>,
) -> Claimed<'a, T> {
    let mut out = Claimed {
        owned: Vec::new(),
        adopt: Vec::new(),
        release: Vec::new(),
    };
    for obj in objects {
        let meta = obj.metadata();
        let matches = selector.matches(&labels_of(meta));
        let name = meta.name.clone().unwrap_or_default();
        match controller_ref(meta) {
            Some(r) if r.uid == owner_uid => {
                if matches {
                    out.owned.push(obj);
                } else if !is_terminating(meta) {
                    out.release.push(name);
                }
            }
            Some(_) => {}
            None => {
                if matches && !owner_terminating && !is_terminating(meta) {
                    out.adopt.push(name);
                    out.owned.push(obj);
                }
            }
        }
    }
    out
}

/// Plans the pods of `rs` given the pods of its namespace (owned or not) at `now`: owned
/// values, or the shared cache's `Arc`s, which are never copied.
pub fn reconcile(
    rs: &ReplicaSet,
    pods: &[impl Borrow<Pod>],
    now: Timestamp,
) -> Result<ReplicaSetPlan, Error> {
    let name = name_of(&rs.metadata, "ReplicaSet")?;
    let uid = uid_of(&rs.metadata, "ReplicaSet")?;
    let spec = rs.spec.as_ref().ok_or(Error::MissingField {
        kind: "ReplicaSet",
        field: "spec",
    })?;
    let selector = selector_of(Some(&spec.selector), "ReplicaSet")?;
    let deleting = is_terminating(&rs.metadata);
    let claimed = claim(uid, deleting, &selector, pods.iter().map(Borrow::borrow));
    let active: Vec<&Pod> = claimed
        .owned
        .iter()
        .copied()
        .filter(|p| is_pod_active(p))
        .collect();
    let want = usize::try_from(spec.replicas.unwrap_or(1)).unwrap_or(0);
    let mut plan = ReplicaSetPlan {
        adopt: claimed.adopt,
        release: claimed.release,
        status: status(rs, &active, now.as_second()),
        ..ReplicaSetPlan::default()
    };
    if deleting {
        return Ok(plan);
    }
    if active.len() < want {
        let template = spec.template.clone().unwrap_or_default();
        let owner = controller_owner("apps/v1", "ReplicaSet", name, uid);
        let count = (want - active.len()).min(BURST_REPLICAS);
        let ns = rs.metadata.namespace.as_deref();
        plan.create = (0..count)
            .map(|_| pod_from_template(&template, ns, format!("{name}-"), owner.clone()))
            .collect();
    } else if active.len() > want {
        let count = (active.len() - want).min(BURST_REPLICAS);
        plan.delete = deletion_order(&active).into_iter().take(count).collect();
    }
    Ok(plan)
}

/// Active pods, most preferred for deletion first (`ActivePodsWithRanks`): unscheduled before
/// scheduled, Pending before Unknown before Running, not ready before ready, lower
/// `pod-deletion-cost` first, more sibling pods on the same node first, ready for less time
/// first, more restarts first, newer first.
pub fn deletion_order(active: &[&Pod]) -> Vec<String> {
    let mut on_node: BTreeMap<&str, i64> = BTreeMap::new();
    for p in active {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            *on_node.entry(n).or_default() += 1;
        }
    }
    let mut keyed: Vec<_> = active
        .iter()
        .map(|p| {
            let node = p.spec.as_ref().and_then(|s| s.node_name.as_deref());
            let colocated = node.and_then(|n| on_node.get(n)).copied().unwrap_or(0);
            let created = p.metadata.creation_timestamp.as_ref().map_or(0, secs);
            let key = (
                node.is_some(),
                phase_rank(p),
                is_pod_ready(p),
                deletion_cost(p),
                -colocated,
                std::cmp::Reverse(ready_since(p)),
                -restart_count(p),
                -created,
            );
            (key, p.metadata.name.clone().unwrap_or_default())
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, name)| name).collect()
}

/// The annotation that ranks pods for scale-down (lower goes first).
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The pod's deletion cost (0 when absent or not an int32).
fn deletion_cost(p: &Pod) -> i32 {
    let annotations = p.metadata.annotations.as_ref();
    annotations
        .and_then(|a| a.get(POD_DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The status from the active claimed pods (`calculateStatus`).
fn status(rs: &ReplicaSet, active: &[&Pod], now: i64) -> ReplicaSetStatus {
    let spec = rs.spec.as_ref();
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .map(labels_of)
        .unwrap_or_default();
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(active.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let fully = |p: &Pod| {
        let l = labels_of(&p.metadata);
        template_labels.iter().all(|(k, v)| l.get(k) == Some(v))
    };
    ReplicaSetStatus {
        replicas: count(&|_| true),
        fully_labeled_replicas: Some(count(&fully)),
        ready_replicas: Some(count(&is_pod_ready)),
        available_replicas: Some(count(&|p| is_pod_available(p, min_ready, now))),
        observed_generation: rs.metadata.generation,
        conditions: rs.status.as_ref().and_then(|s| s.conditions.clone()),
        terminating_replicas: None,
    }
}

#[cfg(test)]
#[path = "replicaset_tests.rs"]
mod tests;
