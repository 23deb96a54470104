//! The DaemonSet decision by table: placement, what each sync creates and deletes, the
//! status, rolling updates with maxUnavailable and maxSurge; and a whole rollout replayed,
//! never over its unavailability budget, ending with every node updated.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

mod history;
mod placement;
mod rollout;

use super::{REVISION_HASH, reconcile, target_node};
use crate::deployment::template_hash;
use crate::testutil::{NO_PODS, T0, at, from, rfc3339};

pub(super) fn ds(strategy: Value, node_selector: Value) -> DaemonSet {
    from(json!({
        "metadata": {"name": "agent", "namespace": "kube-system", "uid": "ds-uid", "generation": 2},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "updateStrategy": strategy,
            "template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"nodeSelector": node_selector,
                    "containers": [{"name": "c", "image": "agent.wasm"}]}}}
    }))
}

pub(super) fn hash_of(d: &DaemonSet) -> String {
    template_hash(&d.spec.as_ref().expect("spec").template, None)
}

pub(super) fn node(name: &str, labels: Value, taints: Value) -> Node {
    from(json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}))
}

fn nodes3() -> Vec<Node> {
    ["a", "b", "c"]
        .iter()
        .map(|n| node(n, json!({}), json!([])))
        .collect()
}

/// A pod of the DaemonSet on `node`, of revision `rev`, created at T0 + `age`, ready or not.
pub(super) fn dp(name: &str, node: &str, rev: &str, age: i64, ready: bool) -> Pod {
    let cond = if ready { "True" } else { "False" };
    from(json!({
        "metadata": {"name": name, "namespace": "kube-system", "uid": format!("uid-{name}"),
            "creationTimestamp": rfc3339(T0 + age),
            "labels": {"app": "agent", REVISION_HASH: rev},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                "uid": "ds-uid", "controller": true}]},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "agent.wasm"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": cond,
            "lastTransitionTime": rfc3339(T0)}]}
    }))
}

/// What one sync plans: nodes created on, pods deleted, (desired, current, ready, updated,
/// misscheduled).
fn run(d: &DaemonSet, nodes: &[Node], pods: &[Pod]) -> (Vec<String>, Vec<String>, [i32; 5]) {
    let plan = reconcile(d, nodes, pods, at(T0 + 100)).expect("plan");
    let mut created: Vec<String> = plan.create.iter().filter_map(target_node).collect();
    created.sort();
    let mut deleted = plan.delete.clone();
    deleted.sort();
    let s = plan.status;
    let counts = [
        s.desired_number_scheduled,
        s.current_number_scheduled,
        s.number_ready,
        s.updated_number_scheduled.unwrap_or(0),
        s.number_misscheduled,
    ];
    (created, deleted, counts)
}

#[test]
fn sync_table() {
    let rolling = |surge: i32, unavailable: i32| json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}});
    let d = ds(json!(null), json!(null));
    let h = hash_of(&d);
    let fresh = |n: &str, age| dp(&format!("{n}{age}"), n, &h, age, true);
    let old = |n: &str| dp(&format!("{n}-old"), n, "old", 0, true);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    type Case = (
        DaemonSet,
        Vec<Node>,
        Vec<Pod>,
        Vec<String>,
        Vec<String>,
        [i32; 5],
    );
    let table: Vec<Case> = vec![
        (
            d.clone(),
            nodes3(),
            vec![],
            s(&["a", "b", "c"]),
            s(&[]),
            [3, 0, 0, 0, 0],
        ),
        (
            d.clone(),
            nodes3(),
            vec![fresh("a", 0), fresh("b", 0), fresh("c", 0)],
            s(&[]),
            s(&[]),
            [3, 3, 3, 3, 0],
        ),
        // Selected out: the pod on c goes and counts as misscheduled meanwhile.
        (
            ds(json!(null), json!({"role": "edge"})),
            vec![
                node("a", json!({"role": "edge"}), json!([])),
                node("c", json!({}), json!([])),
            ],
            vec![fresh("c", 0)],
            s(&["a"]),
            s(&["c0"]),
            [1, 0, 0, 0, 1],
        ),
        // Two pods on a node: the younger goes. A failed pod goes. A gone node's pod goes.
        (
            d.clone(),
            nodes3(),
            vec![fresh("a", 0), fresh("a", 5), fresh("b", 0), fresh("c", 0)],
            s(&[]),
            s(&["a5"]),
            [3, 3, 3, 3, 0],
        ),
        (
            d.clone(),
            nodes3(),
            vec![
                fresh("a", 0),
                {
                    let mut p = dp("b0", "b", &h, 0, false);
                    p.status.as_mut().expect("status").phase = Some("Failed".into());
                    p
                },
                fresh("c", 0),
                fresh("gone", 0),
            ],
            s(&[]),
            s(&["b0", "gone0"]),
            [3, 3, 2, 3, 0],
        ),
        // Rolling, maxUnavailable 1: one old pod at a time, none while a node lacks its pod.
        (
            ds(rolling(0, 1), json!(null)),
            nodes3(),
            vec![old("a"), old("b"), old("c")],
            s(&[]),
            s(&["a-old"]),
            [3, 3, 3, 0, 0],
        ),
        (
            ds(rolling(0, 1), json!(null)),
            nodes3(),
            vec![old("b"), old("c")],
            s(&["a"]),
            s(&[]),
            [3, 2, 2, 0, 0],
        ),
        (
            ds(rolling(0, 2), json!(null)),
            nodes3(),
            vec![old("a"), old("b"), old("c")],
            s(&[]),
            s(&["a-old", "b-old"]),
            [3, 3, 3, 0, 0],
        ),
        // A node the pods do not tolerate (NoSchedule), without a pod, does not hold it up.
        (
            ds(rolling(0, 1), json!(null)),
            vec![
                node("a", json!({}), json!([])),
                node(
                    "t",
                    json!({}),
                    json!([{"key": "k", "effect": "NoSchedule"}]),
                ),
            ],
            vec![old("a")],
            s(&[]),
            s(&["a-old"]),
            [1, 1, 1, 0, 0],
        ),
        // An unavailable old pod is replaced whatever the budget.
        (
            ds(rolling(0, 1), json!(null)),
            nodes3(),
            vec![old("a"), dp("b-old", "b", "old", 0, false), old("c")],
            s(&[]),
            s(&["a-old", "b-old"]),
            [3, 3, 2, 0, 0],
        ),
        // Surge 1: a new pod beside the old on one node; once available the old one goes,
        // and the next node surges.
        (
            ds(rolling(1, 0), json!(null)),
            nodes3(),
            vec![old("a"), old("b"), old("c")],
            s(&["a"]),
            s(&[]),
            [3, 3, 3, 0, 0],
        ),
        (
            ds(rolling(1, 0), json!(null)),
            nodes3(),
            vec![old("a"), fresh("a", 10), old("b"), old("c")],
            s(&["b"]),
            s(&["a-old"]),
            [3, 3, 3, 0, 0],
        ),
        (
            ds(json!({"type": "OnDelete"}), json!(null)),
            nodes3(),
            vec![old("a"), old("b"), old("c")],
            s(&[]),
            s(&[]),
            [3, 3, 3, 0, 0],
        ),
    ];
    for (i, (d, nodes, pods, create, delete, counts)) in table.into_iter().enumerate() {
        assert_eq!(run(&d, &nodes, &pods), (create, delete, counts), "case {i}");
    }
}

#[test]
fn created_pods_are_pinned_labelled_and_tolerate_what_daemons_tolerate() {
    let d = ds(json!(null), json!(null));
    let plan = reconcile(&d, &nodes3()[..1], NO_PODS, at(T0)).expect("plan");
    let p = &plan.create[0];
    assert_eq!(target_node(p).as_deref(), Some("a"));
    assert_eq!(p.spec.as_ref().and_then(|s| s.node_name.clone()), None);
    let labels = p.metadata.labels.clone().expect("labels");
    assert_eq!(labels.get(REVISION_HASH), Some(&hash_of(&d)));
    assert_eq!(
        labels.get("pod-template-generation").map(String::as_str),
        Some("2")
    );
    let tolerations = p
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .expect("tolerations");
    assert_eq!(tolerations.len(), 6);
    assert_eq!(p.metadata.generate_name.as_deref(), Some("agent-"));
}
