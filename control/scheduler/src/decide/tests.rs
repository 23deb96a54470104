//! The decision by table: nodes and a pod in, a node name or kube-scheduler's message out.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::{NodeState, Resources, pod_requests, schedule};

pub(super) fn node(name: &str, cpu: &str, memory: &str, pods: u32) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods.to_string()},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    })
}

pub(super) fn pod(cpu: &str, memory: &str) -> Value {
    json!({
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "x.wasm",
            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}
    })
}

fn with(mut base: Value, path: &[&str], value: Value) -> Value {
    let mut at = &mut base;
    for key in &path[..path.len() - 1] {
        at = at
            .as_object_mut()
            .expect("an object")
            .entry(key.to_string())
            .or_insert_with(|| json!({}));
    }
    at[path[path.len() - 1]] = value;
    base
}

pub(super) fn nodes(values: &[Value]) -> Vec<Node> {
    values
        .iter()
        .map(|v| serde_json::from_value(v.clone()).expect("a node"))
        .collect()
}

pub(super) fn as_pod(v: Value) -> Pod {
    serde_json::from_value(v).expect("a pod")
}

/// Runs the decision with `existing[i]` pods bound to node `i`.
fn decide(pod: &Value, node_values: &[Value], existing: &[Vec<Value>]) -> Result<String, String> {
    let nodes = nodes(node_values);
    let bound: Vec<Vec<Pod>> = (0..nodes.len())
        .map(|i| {
            existing
                .get(i)
                .into_iter()
                .flatten()
                .cloned()
                .map(as_pod)
                .collect()
        })
        .collect();
    let states: Vec<NodeState> = nodes
        .iter()
        .zip(&bound)
        .map(|(node, pods)| NodeState::with_pods(node, &pods.iter().collect::<Vec<_>>()))
        .collect();
    schedule(&as_pod(pod.clone()), &states).map_err(|e| e.to_string())
}

#[test]
fn picks_the_least_allocated_node() {
    let busy = vec![pod("1500m", "1Gi")];
    let got = decide(
        &pod("100m", "64Mi"),
        &[node("a", "2", "4Gi", 110), node("b", "2", "4Gi", 110)],
        &[busy],
    );
    assert_eq!(got, Ok("b".into()));
}

#[test]
fn explains_in_kube_schedulers_words() {
    let far = with(
        node("b", "8", "8Gi", 110),
        &["metadata", "labels", "zone"],
        json!("far"),
    );
    let far2 = with(
        node("c", "8", "8Gi", 110),
        &["metadata", "labels", "zone"],
        json!("far"),
    );
    let near = with(
        node("a", "8", "1Gi", 110),
        &["metadata", "labels", "zone"],
        json!("near"),
    );
    let wants_near = with(
        pod("100m", "2Gi"),
        &["spec", "nodeSelector"],
        json!({"zone": "near"}),
    );
    assert_eq!(
        decide(&wants_near, &[near, far, far2], &[]),
        Err(
            "0/3 nodes are available: 1 Insufficient memory, 2 node(s) didn't match Pod's node \
             affinity/selector."
                .into()
        )
    );
}

#[test]
fn no_nodes_at_all() {
    assert_eq!(
        decide(&pod("1", "1Mi"), &[], &[]),
        Err("no nodes available to schedule pods".into())
    );
}

#[test]
fn cordoned_nodes_are_skipped_unless_tolerated() {
    let cordoned = with(
        node("a", "8", "8Gi", 110),
        &["spec", "unschedulable"],
        json!(true),
    );
    assert_eq!(
        decide(&pod("1", "1Mi"), std::slice::from_ref(&cordoned), &[]),
        Err("0/1 nodes are available: 1 node(s) were unschedulable.".into())
    );
    let tolerant = with(
        pod("1", "1Mi"),
        &["spec", "tolerations"],
        json!([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]),
    );
    assert_eq!(decide(&tolerant, &[cordoned], &[]), Ok("a".into()));
}

#[test]
fn taints_and_tolerations() {
    let tainted = |effect: &str| {
        with(
            node("a", "8", "8Gi", 110),
            &["spec", "taints"],
            json!([{"key": "edge", "value": "yes", "effect": effect}]),
        )
    };
    let table: [(&str, Value, Result<String, String>); 6] = [
        (
            "NoSchedule, no toleration",
            json!([]),
            Err("0/1 nodes are available: 1 node(s) had untolerated taint {edge: yes}.".into()),
        ),
        (
            "NoSchedule, Equal",
            json!([{"key": "edge", "value": "yes"}]),
            Ok("a".into()),
        ),
        (
            "NoSchedule, wrong value",
            json!([{"key": "edge", "value": "no"}]),
            Err("0/1 nodes are available: 1 node(s) had untolerated taint {edge: yes}.".into()),
        ),
        (
            "NoSchedule, Exists",
            json!([{"key": "edge", "operator": "Exists"}]),
            Ok("a".into()),
        ),
        (
            "NoSchedule, wildcard",
            json!([{"operator": "Exists"}]),
            Ok("a".into()),
        ),
        (
            "NoSchedule, other effect",
            json!([{"key": "edge", "operator": "Exists", "effect": "NoExecute"}]),
            Err("0/1 nodes are available: 1 node(s) had untolerated taint {edge: yes}.".into()),
        ),
    ];
    for (case, tolerations, want) in table {
        let p = with(pod("1", "1Mi"), &["spec", "tolerations"], tolerations);
        assert_eq!(decide(&p, &[tainted("NoSchedule")], &[]), want, "{case}");
    }
    assert_eq!(
        decide(&pod("1", "1Mi"), &[tainted("PreferNoSchedule")], &[]),
        Ok("a".into())
    );
}

#[test]
fn a_node_that_is_not_ready_is_tainted() {
    let not_ready = with(
        node("a", "8", "8Gi", 110),
        &["status", "conditions"],
        json!([{"type": "Ready", "status": "False"}]),
    );
    let unknown = with(
        node("b", "8", "8Gi", 110),
        &["status", "conditions"],
        json!([]),
    );
    assert_eq!(
        decide(&pod("1", "1Mi"), &[not_ready, unknown], &[]),
        Err("0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, \
             1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }."
            .into())
    );
}

#[test]
fn resources_count_the_pods_already_there() {
    let full = vec![pod("0", "0"), pod("0", "0")];
    assert_eq!(
        decide(&pod("100m", "1Mi"), &[node("a", "8", "8Gi", 2)], &[full]),
        Err("0/1 nodes are available: 1 Too many pods.".into())
    );
    let heavy = vec![pod("7", "7Gi")];
    assert_eq!(
        decide(&pod("2", "2Gi"), &[node("a", "8", "8Gi", 110)], &[heavy]),
        Err("0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.".into())
    );
}

#[test]
fn required_node_affinity_operators() {
    let labelled = with(
        node("edge-7", "8", "8Gi", 110),
        &["metadata", "labels"],
        json!({"tier": "edge", "gen": "7"}),
    );
    let term = |expr: Value| {
        with(
            pod("1", "1Mi"),
            &["spec", "affinity"],
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                {"nodeSelectorTerms": [expr]}}}),
        )
    };
    let table = [
        (
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["edge", "x"]}]}),
            true,
        ),
        (
            json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["edge"]}]}),
            false,
        ),
        (
            json!({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}),
            true,
        ),
        (
            json!({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}),
            false,
        ),
        (
            json!({"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["6"]}]}),
            true,
        ),
        (
            json!({"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["6"]}]}),
            false,
        ),
        (
            json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["edge-7"]}]}),
            true,
        ),
        (json!({}), false),
    ];
    for (expr, fits) in table {
        let got = decide(&term(expr.clone()), std::slice::from_ref(&labelled), &[]);
        assert_eq!(got.is_ok(), fits, "{expr}: {got:?}");
    }
}

#[test]
fn pod_anti_affinity_on_the_hostname_both_ways() {
    let web = with(
        pod("0", "0"),
        &["metadata", "labels"],
        json!({"app": "web"}),
    );
    let anti = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}]}});
    let new_web = with(web.clone(), &["spec", "affinity"], anti.clone());
    let two = [node("a", "8", "8Gi", 110), node("b", "8", "8Gi", 110)];
    assert_eq!(decide(&new_web, &two, &[vec![web.clone()]]), Ok("b".into()));
    assert_eq!(
        decide(&new_web, &two, &[vec![web.clone()], vec![web.clone()]]),
        Err("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.".into())
    );
    // An existing pod's anti-affinity keeps a matching newcomer away too.
    let guarded = with(web.clone(), &["spec", "affinity"], anti);
    assert_eq!(decide(&web, &two, &[vec![guarded]]), Ok("b".into()));
}

#[test]
fn preferred_affinity_and_owner_spread() {
    let ssd = with(
        node("b", "8", "8Gi", 110),
        &["metadata", "labels", "disk"],
        json!("ssd"),
    );
    let prefers = with(
        pod("100m", "1Mi"),
        &["spec", "affinity"],
        json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 50, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}),
    );
    assert_eq!(
        decide(&prefers, &[node("a", "8", "8Gi", 110), ssd], &[]),
        Ok("b".into())
    );

    let owned = with(
        pod("100m", "1Mi"),
        &["metadata", "ownerReferences"],
        json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", "controller": true}]),
    );
    let two = [node("a", "8", "8Gi", 110), node("b", "8", "8Gi", 110)];
    assert_eq!(decide(&owned, &two, &[vec![owned.clone()]]), Ok("b".into()));
}

#[test]
fn init_containers_count_at_their_largest() {
    let p = with(
        pod("100m", "10Mi"),
        &["spec", "initContainers"],
        json!([{"name": "i", "image": "i.wasm", "resources": {"requests": {"cpu": "1", "memory": "1Mi"}}}]),
    );
    assert_eq!(
        pod_requests(&as_pod(p)),
        Resources {
            milli_cpu: 1000,
            memory: 10 * 1024 * 1024,
            pods: 1
        }
    );
}
