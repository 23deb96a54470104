//! The node lifecycle decision (kube-controller-manager's `nodelifecycle` controller and
//! its taint manager): Ready turns Unknown when the node's Lease is not renewed within the
//! grace period, the not-ready/unreachable (and unschedulable) taints follow the Ready
//! condition, and pods not tolerating a NoExecute taint are evicted after their toleration.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint, Toleration};
use k8s_openapi::jiff::Timestamp;

use crate::common::{is_pod_active, is_pod_ready, secs, time_at};
use skiff_api::node_match::tolerates;

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The two times the flags set (kube's `--node-monitor-grace-period` and the
/// `DefaultTolerationSeconds` admission plugin's 300 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLifecycleParams {
    /// Seconds without a Lease renewal before Ready becomes Unknown (kube 1.32: 50).
    pub grace_period_secs: i64,
    /// Toleration of not-ready/unreachable NoExecute for pods that declare none (300).
    pub default_toleration_secs: i64,
}

impl Default for NodeLifecycleParams {
    fn default() -> Self {
        NodeLifecycleParams {
            grace_period_secs: 50,
            default_toleration_secs: 300,
        }
    }
}

/// What to do for one Node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodePlan {
    /// The new `status.conditions`, when they change.
    pub conditions: Option<Vec<NodeCondition>>,
    /// The new `spec.taints`, when they change.
    pub taints: Option<Vec<Taint>>,
    /// Pods on the node whose Ready condition is to be set False (`MarkPodsNotReady`).
    pub mark_not_ready: Vec<String>,
    /// Pods to evict (delete) now.
    pub evict: Vec<String>,
    /// Look again after this many seconds (a grace period or a toleration runs out).
    pub requeue_after: Option<i64>,
}

/// Plans the Node's conditions, taints and evictions from its Lease and pods at `now`.
pub fn reconcile<P: std::borrow::Borrow<Pod>>(
    node: &Node,
    lease: Option<&Lease>,
    pods: &[P],
    now: Timestamp,
    p: NodeLifecycleParams,
) -> NodePlan {
    let now = now.as_second();
    let mut plan = NodePlan::default();
    let conds = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let new_conds = conditions(node, lease, &conds, now, p, &mut plan.requeue_after);
    // No Ready condition at all: a node that has not posted status yet and is still within
    // its grace period (past it, `conditions` adds Ready=Unknown). Not judged yet: no taint,
    // no pod marked, as Kubernetes leaves a new node alone for its startup grace period.
    let ready = new_conds
        .iter()
        .find(|c| c.type_ == "Ready")
        .map_or("", |c| c.status.as_str())
        .to_string();
    if new_conds != conds {
        plan.conditions = Some(new_conds);
    }
    let old_taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let unschedulable = node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    let taints = taints(&old_taints, &ready, unschedulable, now);
    let name = node.metadata.name.as_deref();
    let on_node: Vec<&Pod> = pods
        .iter()
        .map(std::borrow::Borrow::borrow)
        .filter(|pod: &&Pod| {
            pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == name && is_pod_active(pod)
        })
        .collect();
    if ready != "True" && !ready.is_empty() {
        plan.mark_not_ready = on_node
            .iter()
            .filter(|p| is_pod_ready(p))
            .filter_map(|p| p.metadata.name.clone())
            .collect();
    }
    evictions(&on_node, &taints, now, p.default_toleration_secs, &mut plan);
    if taints != old_taints {
        plan.taints = Some(taints);
    }
    plan
}

/// Pods whose eviction time has come go into `evict`; the soonest later one sets the
/// requeue.
fn evictions(pods: &[&Pod], taints: &[Taint], now: i64, default_secs: i64, plan: &mut NodePlan) {
    for pod in pods {
        match eviction_time(pod, taints, default_secs) {
            Some(t) if t <= now => plan
                .evict
                .push(pod.metadata.name.clone().unwrap_or_default()),
            Some(t) => {
                plan.requeue_after = Some(plan.requeue_after.map_or(t - now, |r| r.min(t - now)))
            }
            None => {}
        }
    }
}

/// The conditions after the grace-period check: stale ones turn Unknown.
fn conditions(
    node: &Node,
    lease: Option<&Lease>,
    conds: &[NodeCondition],
    now: i64,
    p: NodeLifecycleParams,
    requeue: &mut Option<i64>,
) -> Vec<NodeCondition> {
    let ready = conds.iter().find(|c| c.type_ == "Ready");
    let heartbeat = [
        lease
            .and_then(|l| l.spec.as_ref()?.renew_time.as_ref())
            .map(|t| t.0.as_second()),
        ready.and_then(|c| c.last_heartbeat_time.as_ref()).map(secs),
        node.metadata.creation_timestamp.as_ref().map(secs),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(now);
    let stale_at = heartbeat + p.grace_period_secs;
    if now <= stale_at {
        *requeue = Some(stale_at - now + 1);
        return conds.to_vec();
    }
    let mut out = conds.to_vec();
    let (reason, message) = if ready.is_none() {
        (
            "NodeStatusNeverUpdated",
            "Kubelet never posted node status.",
        )
    } else {
        ("NodeStatusUnknown", "Kubelet stopped posting node status.")
    };
    if ready.is_none() {
        out.push(NodeCondition {
            type_: "Ready".into(),
            status: String::new(),
            ..NodeCondition::default()
        });
    }
    for c in out.iter_mut().filter(|c| {
        matches!(
            c.type_.as_str(),
            "Ready" | "MemoryPressure" | "DiskPressure" | "PIDPressure"
        )
    }) {
        if c.status != "Unknown" {
            c.status = "Unknown".into();
            c.reason = Some(reason.into());
            c.message = Some(message.into());
            c.last_transition_time = Some(time_at(now));
        }
    }
    out
}

/// The taints for a Ready status: not-ready for False, unreachable for Unknown (NoExecute
/// and NoSchedule), unschedulable for a cordoned node; others kept as they are.
fn taints(old: &[Taint], ready: &str, unschedulable: bool, now: i64) -> Vec<Taint> {
    let managed = [TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE];
    let mut want: Vec<(&str, &str)> = match ready {
        // Ready, or not judged yet (no Ready condition within the grace period).
        "True" | "" => vec![],
        "False" => vec![
            (TAINT_NOT_READY, "NoExecute"),
            (TAINT_NOT_READY, "NoSchedule"),
        ],
        _ => vec![
            (TAINT_UNREACHABLE, "NoExecute"),
            (TAINT_UNREACHABLE, "NoSchedule"),
        ],
    };
    if unschedulable {
        want.push((TAINT_UNSCHEDULABLE, "NoSchedule"));
    }
    let mut out: Vec<Taint> = old
        .iter()
        .filter(|t| {
            !managed.contains(&t.key.as_str())
                || want.contains(&(t.key.as_str(), t.effect.as_str()))
        })
        .cloned()
        .collect();
    for (key, effect) in want {
        if !out.iter().any(|t| t.key == key && t.effect == effect) {
            let time_added = (effect == "NoExecute").then(|| time_at(now));
            out.push(Taint {
                key: key.into(),
                effect: effect.into(),
                time_added,
                value: None,
            });
        }
    }
    out
}

/// When the pod is to be evicted for the node's NoExecute taints: at once for a taint it
/// does not tolerate, else after the shortest finite `tolerationSeconds` among the matching
/// tolerations (`getMinTolerationTime`), never if they all tolerate forever. Pods without a
/// not-ready/unreachable toleration get the default one, as the `DefaultTolerationSeconds`
/// admission plugin would have added it.
fn eviction_time(pod: &Pod, taints: &[Taint], default_secs: i64) -> Option<i64> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut at: Option<i64> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let added = taint.time_added.as_ref().map_or(i64::MIN / 2, secs);
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        let allowed = if !matching.is_empty() {
            matching
                .iter()
                .filter_map(|t| t.toleration_seconds)
                .map(|s| s.max(0))
                .min()
        } else if taint.key == TAINT_NOT_READY || taint.key == TAINT_UNREACHABLE {
            Some(default_secs)
        } else {
            Some(0)
        };
        if let Some(s) = allowed {
            at = Some(at.map_or(added + s, |a| a.min(added + s)));
        }
    }
    at
}

#[cfg(test)]
#[path = "node_lifecycle_tests.rs"]
mod tests;
