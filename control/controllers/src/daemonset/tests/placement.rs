//! Where daemon pods belong, by table: selectors, affinity, taints and the daemon tolerations.

use k8s_openapi::api::core::v1::PodSpec;
use serde_json::{Value, json};

use super::node;
use crate::daemonset::fit;
use crate::testutil::from;

#[test]
fn placement_table() {
    let spec = |v: Value| -> PodSpec { from(v) };
    let plain = json!({"containers": []});
    let taint = |key: &str, effect: &str| json!([{"key": key, "effect": effect}]);
    // (pod spec, node labels, node taints, should run, should continue)
    let table = vec![
        (plain.clone(), json!({}), json!([]), true, true),
        (
            json!({"containers": [], "nodeSelector": {"role": "edge"}}),
            json!({}),
            json!([]),
            false,
            false,
        ),
        (
            json!({"containers": [], "nodeSelector": {"role": "edge"}}),
            json!({"role": "edge"}),
            json!([]),
            true,
            true,
        ),
        (
            json!({"containers": [], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}]}}}}),
            json!({"zone": "z2"}),
            json!([]),
            false,
            false,
        ),
        (
            plain.clone(),
            json!({}),
            taint("dedicated", "NoSchedule"),
            false,
            true,
        ),
        (
            plain.clone(),
            json!({}),
            taint("dedicated", "NoExecute"),
            false,
            false,
        ),
        (
            plain.clone(),
            json!({}),
            taint("dedicated", "PreferNoSchedule"),
            true,
            true,
        ),
        // The tolerations kube gives every daemon pod.
        (
            plain.clone(),
            json!({}),
            taint("node.kubernetes.io/not-ready", "NoExecute"),
            true,
            true,
        ),
        (
            plain.clone(),
            json!({}),
            taint("node.kubernetes.io/unreachable", "NoExecute"),
            true,
            true,
        ),
        (
            plain.clone(),
            json!({}),
            taint("node.kubernetes.io/unschedulable", "NoSchedule"),
            true,
            true,
        ),
        (
            plain.clone(),
            json!({}),
            taint("node.kubernetes.io/network-unavailable", "NoSchedule"),
            false,
            true,
        ),
        (
            json!({"containers": [], "hostNetwork": true}),
            json!({}),
            taint("node.kubernetes.io/network-unavailable", "NoSchedule"),
            true,
            true,
        ),
        (
            json!({"containers": [], "tolerations": [{"key": "dedicated", "operator": "Exists"}]}),
            json!({}),
            taint("dedicated", "NoExecute"),
            true,
            true,
        ),
    ];
    for (i, (s, labels, taints, run, cont)) in table.into_iter().enumerate() {
        let f = fit(&spec(s), &node("n", labels, taints));
        assert_eq!((f.should_run, f.should_continue), (run, cont), "case {i}");
    }
}
