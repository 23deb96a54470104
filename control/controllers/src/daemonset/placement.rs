//! Where a DaemonSet's pods belong (`NodeShouldRunDaemonPod`) and the pod for one node
//! (`NewPod` plus `ReplaceDaemonSetPodNodeNameNodeAffinity`): the template's `nodeSelector`
//! and required node affinity, the node's NoSchedule/NoExecute taints against the template's
//! tolerations plus those kube adds to every daemon pod, and a pod pinned to its node by a
//! required node affinity on `metadata.name` (the scheduler binds it).
//!
//! Node matching and tolerations are `skiff_api::node_match`, which the scheduler shares.

use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Taint, Toleration,
};

use skiff_api::node_match::{self, tolerates};

/// Where a DaemonSet's pod stands with a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    /// A pod should be created there.
    pub should_run: bool,
    /// A pod already there may stay (only an untolerated NoExecute taint or a selector that
    /// no longer matches sends it away).
    pub should_continue: bool,
}

/// The tolerations kube adds to every daemon pod (`AddOrUpdateDaemonPodTolerations`), so a
/// daemon keeps running on a node that is not ready, unreachable or under pressure.
pub fn daemon_tolerations(host_network: bool) -> Vec<Toleration> {
    let mut keys = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        keys.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    keys.into_iter()
        .map(|(key, effect)| Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()),
            ..Toleration::default()
        })
        .collect()
}

/// The template's tolerations with the daemon ones added (those already there are kept).
pub fn with_daemon_tolerations(spec: &PodSpec) -> Vec<Toleration> {
    let mut all = spec.tolerations.clone().unwrap_or_default();
    for t in daemon_tolerations(spec.host_network.unwrap_or(false)) {
        if !all.iter().any(|o| o.key == t.key && o.effect == t.effect) {
            all.push(t);
        }
    }
    all
}

/// Whether a pod of `spec` should run on, or stay on, `node`.
pub fn fit(spec: &PodSpec, node: &Node) -> Fit {
    if !node_match::spec_selects_node(spec, node) {
        return Fit {
            should_run: false,
            should_continue: false,
        };
    }
    let tolerations = with_daemon_tolerations(spec);
    let taints: &[Taint] = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    let untolerated = |effects: &[&str]| {
        taints
            .iter()
            .filter(|t| effects.contains(&t.effect.as_str()))
            .any(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
    };
    Fit {
        should_run: !untolerated(&["NoSchedule", "NoExecute"]),
        should_continue: !untolerated(&["NoExecute"]),
    }
}

/// The node a daemon pod is for: its `nodeName` once bound, else the `metadata.name` its
/// required node affinity pins it to (`util.GetTargetNodeName`).
pub fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.clone().filter(|n| !n.is_empty()) {
        return Some(n);
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == "metadata.name" && r.operator == "In")
        .and_then(|r| r.values.as_ref()?.first().cloned())
}

/// Pins `spec` to `node`: its required node affinity becomes one term on `metadata.name`
/// (the template's own selection was checked by [`fit`]), and the daemon tolerations are set.
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    spec.tolerations = Some(with_daemon_tolerations(spec));
    let term = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec![node.into()]),
        }]),
        match_expressions: None,
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![term],
    });
}
