//! The filters, in kube-scheduler's plugin order (NodeUnschedulable, TaintToleration,
//! NodeAffinity, NodeResourcesFit, InterPodAffinity); a node fails on the first that refuses
//! it, with that filter's reasons in kube-scheduler's words.

use std::fmt;

use k8s_openapi::api::core::v1::{Pod, Taint};

use super::NodeState;
use super::affinity;
use super::resources::Resources;
use super::taints::{self, UNSCHEDULABLE};

/// Why a node cannot take a pod.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Cordoned,
    UntoleratedTaint { key: String, value: String },
    NodeAffinity,
    Insufficient(&'static str),
    TooManyPods,
    AntiAffinity,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Cordoned => f.write_str("node(s) were unschedulable"),
            Reason::UntoleratedTaint { key, value } => {
                write!(f, "node(s) had untolerated taint {{{key}: {value}}}")
            }
            Reason::NodeAffinity => {
                f.write_str("node(s) didn't match Pod's node affinity/selector")
            }
            Reason::Insufficient(resource) => write!(f, "Insufficient {resource}"),
            Reason::TooManyPods => f.write_str("Too many pods"),
            Reason::AntiAffinity => f.write_str("node(s) didn't match pod anti-affinity rules"),
        }
    }
}

/// Whether `node` can take `pod`, which requests `wanted`; the reasons if not.
pub fn check(pod: &Pod, wanted: Resources, node: &NodeState) -> Result<(), Vec<Reason>> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let cordoned = node.node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
    if cordoned {
        let cordon = Taint {
            key: UNSCHEDULABLE.to_owned(),
            effect: "NoSchedule".to_owned(),
            ..Taint::default()
        };
        if !tolerations.iter().any(|t| taints::tolerates(t, &cordon)) {
            return Err(vec![Reason::Cordoned]);
        }
    }
    if let Some(taint) = taints::first_untolerated(&node.taints, tolerations) {
        return Err(vec![Reason::UntoleratedTaint {
            key: taint.key.clone(),
            value: taint.value.clone().unwrap_or_default(),
        }]);
    }
    if !affinity::node_matches(pod, &node.node) {
        return Err(vec![Reason::NodeAffinity]);
    }
    let missing = insufficient(wanted, node);
    if !missing.is_empty() {
        return Err(missing);
    }
    let may_conflict = node.has_anti_affinity() || affinity::has_anti_affinity(pod);
    if may_conflict && affinity::anti_affinity_conflict(pod, node.pods().map(AsRef::as_ref)) {
        return Err(vec![Reason::AntiAffinity]);
    }
    Ok(())
}

/// What the node lacks for `wanted` on top of the pods already there.
fn insufficient(wanted: Resources, node: &NodeState) -> Vec<Reason> {
    let allocatable = node.allocatable;
    let used = node.requested();
    let mut missing = Vec::new();
    if used.pods + 1 > allocatable.pods {
        missing.push(Reason::TooManyPods);
    }
    if wanted.milli_cpu > 0 && used.milli_cpu + wanted.milli_cpu > allocatable.milli_cpu {
        missing.push(Reason::Insufficient("cpu"));
    }
    if wanted.memory > 0 && used.memory + wanted.memory > allocatable.memory {
        missing.push(Reason::Insufficient("memory"));
    }
    missing
}
