//! Taints and tolerations, and the taints a node is treated as having: kube-scheduler sees a
//! node that is not Ready or is cordoned through the taints the node lifecycle controller
//! puts on it (`node.kubernetes.io/not-ready`, `unreachable`, `unschedulable`); skiff's
//! scheduler derives them from the node itself too, so a node is never chosen in the moment
//! before the controller has tainted it.

use k8s_openapi::api::core::v1::{Node, Taint, Toleration};
use skiff_api::node_match::ready_status;
pub use skiff_api::node_match::tolerates;

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The first taint with a scheduling effect (NoSchedule, NoExecute) that no toleration
/// tolerates.
pub fn first_untolerated<'t>(taints: &'t [Taint], tolerations: &[Toleration]) -> Option<&'t Taint> {
    taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

/// The node's taints, plus the ones its readiness implies and it does not carry yet: Ready
/// False is `not-ready`, Unknown or missing is `unreachable`. (A cordon has its own filter and
/// message, as kube-scheduler's `NodeUnschedulable` plugin.)
pub fn effective_taints(node: &Node) -> Vec<Taint> {
    let mut taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let mut implied = |key: &str| {
        if !taints.iter().any(|t| t.key == key) {
            taints.push(Taint {
                key: key.to_owned(),
                effect: "NoSchedule".to_owned(),
                ..Taint::default()
            });
        }
    };
    match ready_status(node) {
        Some("True") => {}
        Some("False") => implied(NOT_READY),
        _ => implied(UNREACHABLE),
    }
    taints
}
