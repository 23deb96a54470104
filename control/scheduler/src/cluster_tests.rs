//! The cache by event sequence: what waits, what each node counts, and assumptions through
//! bindings seen, failed bindings, node churn and relists.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::{Change, Cluster};

fn node(name: &str) -> Arc<Node> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .unwrap(),
    )
}

fn pod_with(uid: &str, extra: Value) -> Arc<Pod> {
    let mut v = json!({
        "metadata": {"name": uid, "namespace": "default", "uid": uid},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]}
    });
    if let (Some(base), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in more {
            match (base.get_mut(k), val) {
                (Some(Value::Object(b)), Value::Object(m)) => b.extend(m.clone()),
                _ => {
                    base.insert(k.clone(), val.clone());
                }
            }
        }
    }
    Arc::new(serde_json::from_value(v).unwrap())
}

fn waiting(uid: &str) -> Arc<Pod> {
    pod_with(uid, json!({}))
}

fn bound(uid: &str, node: &str) -> Arc<Pod> {
    pod_with(uid, json!({"spec": {"nodeName": node}}))
}

fn no_lists() -> (Vec<Arc<Node>>, Vec<Arc<Pod>>) {
    (Vec::new(), Vec::new())
}

/// (node name, pod count, milli-CPU requested) per node.
fn load(cluster: &Cluster) -> Vec<(String, usize, u64)> {
    let mut out: Vec<_> = (cluster.nodes().iter())
        .map(|n| (n.name().to_owned(), n.pod_count(), n.requested().milli_cpu))
        .collect();
    out.sort();
    out
}

fn pending(cluster: &Cluster) -> Vec<String> {
    let pods = cluster.pending();
    pods.iter().filter_map(|p| p.metadata.uid.clone()).collect()
}

#[test]
fn pods_wait_or_count_on_their_node() {
    let other = pod_with("other", json!({"spec": {"schedulerName": "other"}}));
    let done = pod_with(
        "done",
        json!({"spec": {"nodeName": "a"}, "status": {"phase": "Succeeded"}}),
    );
    let pods = [waiting("w"), bound("b", "a"), other, done];
    let cluster = Cluster::from_lists(&[node("a"), node("b")], &pods);
    assert_eq!(pending(&cluster), vec!["w"]);
    assert_eq!(
        load(&cluster),
        vec![("a".into(), 1, 100), ("b".into(), 0, 0)]
    );
}

#[test]
fn an_assumed_pod_counts_once_when_the_watch_shows_it_bound() {
    let mut cluster = Cluster::from_lists(&[node("a")], &[waiting("p")]);
    cluster.assume(waiting("p"), "a");
    assert!(pending(&cluster).is_empty());
    assert!(cluster.in_flight("p"));
    // An unrelated update of the still unbound pod keeps the assumption.
    cluster.apply(Change::Pod(waiting("p")), no_lists);
    assert_eq!(load(&cluster), vec![("a".into(), 1, 100)]);
    cluster.apply(Change::Pod(bound("p", "a")), no_lists);
    assert_eq!(load(&cluster), vec![("a".into(), 1, 100)]);
    assert!(!cluster.in_flight("p"), "seen bound: no longer assumed");
    cluster.unassume("p");
    assert_eq!(
        load(&cluster),
        vec![("a".into(), 1, 100)],
        "a late failure changes nothing"
    );
    cluster.apply(Change::PodGone("p".into()), no_lists);
    assert_eq!(load(&cluster), vec![("a".into(), 0, 0)]);
}

#[test]
fn a_failed_binding_puts_the_pod_back_in_the_queue() {
    let mut cluster = Cluster::from_lists(&[node("a")], &[waiting("p"), waiting("q")]);
    cluster.assume(waiting("p"), "a");
    cluster.assume(waiting("q"), "a");
    cluster.unassume("p");
    assert_eq!(pending(&cluster), vec!["p"]);
    assert_eq!(load(&cluster), vec![("a".into(), 1, 100)]);
    cluster.unassume_all();
    assert_eq!(pending(&cluster), vec!["p", "q"]);
    assert_eq!(load(&cluster), vec![("a".into(), 0, 0)]);
}

#[test]
fn a_pod_bound_elsewhere_moves_and_a_deleted_one_stops_waiting() {
    let mut cluster = Cluster::from_lists(&[node("a"), node("b")], &[waiting("p"), waiting("d")]);
    cluster.assume(waiting("p"), "a");
    cluster.apply(Change::Pod(bound("p", "b")), no_lists);
    assert_eq!(
        load(&cluster),
        vec![("a".into(), 0, 0), ("b".into(), 1, 100)]
    );
    let deleting = pod_with(
        "d",
        json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}),
    );
    cluster.apply(Change::Pod(deleting), no_lists);
    assert!(pending(&cluster).is_empty());
}

#[test]
fn pods_of_an_unknown_node_count_once_it_appears_and_survive_its_removal() {
    let mut cluster = Cluster::from_lists(&[node("a")], &[bound("p", "late"), bound("q", "a")]);
    assert_eq!(load(&cluster), vec![("a".into(), 1, 100)]);
    cluster.apply(Change::Node(node("late")), no_lists);
    assert_eq!(
        load(&cluster),
        vec![("a".into(), 1, 100), ("late".into(), 1, 100)]
    );
    cluster.apply(Change::NodeGone("a".into()), no_lists);
    assert_eq!(load(&cluster), vec![("late".into(), 1, 100)]);
    cluster.apply(Change::PodGone("q".into()), no_lists);
    cluster.apply(Change::Node(node("a")), no_lists);
    assert_eq!(
        load(&cluster),
        vec![("a".into(), 0, 0), ("late".into(), 1, 100)]
    );
    // A node changed in place keeps its pods.
    cluster.apply(Change::Node(node("late")), no_lists);
    assert_eq!(
        load(&cluster),
        vec![("a".into(), 0, 0), ("late".into(), 1, 100)]
    );
}

#[test]
fn a_relist_rebuilds_and_keeps_the_assumptions_of_unbound_pods() {
    let mut cluster = Cluster::from_lists(&[node("a")], &[waiting("p"), waiting("q")]);
    cluster.assume(waiting("p"), "a");
    cluster.assume(waiting("q"), "a");
    let lists = || {
        let pods = vec![waiting("p"), bound("q", "a"), waiting("r")];
        (vec![node("a"), node("b")], pods)
    };
    cluster.apply(Change::Relisted, lists);
    assert_eq!(pending(&cluster), vec!["r"]);
    assert!(cluster.in_flight("p"), "still assumed");
    assert!(!cluster.in_flight("q"), "bound in the list");
    assert_eq!(
        load(&cluster),
        vec![("a".into(), 2, 200), ("b".into(), 0, 0)]
    );
}
