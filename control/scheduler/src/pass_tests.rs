//! One pass over a large cluster, with no API: every waiting pod is placed and handed to the
//! bind pipeline once, the placements spread, and a second pass sends nothing while the
//! bindings are assumed.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;
use tokio::sync::mpsc;

use super::{BindJob, PassState, one_pass};
use crate::cluster::Cluster;
use crate::metrics::{Metrics, Outcome};

fn node(i: usize) -> Arc<Node> {
    let name = format!("node-{i:04}");
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {
                "allocatable": {"cpu": "32", "memory": "64Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}]
            }
        }))
        .expect("a node"),
    )
}

fn pod(i: usize, cpu: &str) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": format!("pod-{i:05}"), "namespace": "default",
                         "uid": format!("uid-{i}"),
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "x.wasm",
                "resources": {"requests": {"cpu": cpu, "memory": "16Mi"}}}]}
        }))
        .expect("a pod"),
    )
}

fn drain(jobs: &mut mpsc::UnboundedReceiver<BindJob>) -> Vec<BindJob> {
    let mut all = Vec::new();
    while let Ok(job) = jobs.try_recv() {
        all.push(job);
    }
    all
}

#[test]
fn ten_thousand_pods_on_a_thousand_nodes_in_one_pass() {
    let nodes: Vec<Arc<Node>> = (0..1_000).map(node).collect();
    let pods: Vec<Arc<Pod>> = (0..10_000).map(|i| pod(i, "10m")).collect();
    let (to_bind, mut jobs) = mpsc::unbounded_channel();
    let metrics = Metrics::default();
    let mut state = PassState::default();
    let mut cluster = Cluster::from_lists(&nodes, &pods);
    let unschedulable = one_pass(&mut cluster, &mut state, &to_bind, &metrics, || true);
    assert!(unschedulable.is_empty());
    let sent = drain(&mut jobs);
    assert_eq!(sent.len(), 10_000);
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for job in &sent {
        *per_node.entry(job.node.clone()).or_default() += 1;
        assert_eq!(job.attempts, 1);
    }
    // Least allocated over a rotating sample of 420 nodes keeps the spread tight.
    assert_eq!(per_node.len(), 1_000, "every node got pods");
    let (least, most) = (per_node.values().min(), per_node.values().max());
    assert!(
        least >= Some(&8) && most <= Some(&12),
        "{least:?}..{most:?}"
    );
    // The bindings are assumed: a second pass over the same caches places nothing again.
    let again = one_pass(&mut cluster, &mut state, &to_bind, &metrics, || true);
    assert!(again.is_empty());
    assert!(drain(&mut jobs).is_empty());
    assert_eq!(metrics.attempts(Outcome::Unschedulable), 0);
}

#[test]
fn pods_that_fit_nowhere_are_returned_and_counted() {
    let nodes: Vec<Arc<Node>> = (0..3).map(node).collect();
    let pods = vec![pod(0, "64"), pod(1, "1")];
    let (to_bind, mut jobs) = mpsc::unbounded_channel();
    let metrics = Metrics::default();
    let mut state = PassState::default();
    let mut cluster = Cluster::from_lists(&nodes, &pods);
    let unschedulable = one_pass(&mut cluster, &mut state, &to_bind, &metrics, || true);
    let messages: Vec<&str> = unschedulable.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        vec!["0/3 nodes are available: 3 Insufficient cpu."]
    );
    assert_eq!(drain(&mut jobs).len(), 1);
    assert_eq!(metrics.attempts(Outcome::Unschedulable), 1);
    // Tried again in the next pass, as its second attempt.
    one_pass(&mut cluster, &mut state, &to_bind, &metrics, || true);
    assert_eq!(metrics.attempts(Outcome::Unschedulable), 2);
}

#[test]
fn nothing_is_sent_once_leadership_is_lost() {
    let nodes: Vec<Arc<Node>> = (0..3).map(node).collect();
    let pods: Vec<Arc<Pod>> = (0..5).map(|i| pod(i, "10m")).collect();
    let (to_bind, mut jobs) = mpsc::unbounded_channel();
    let mut state = PassState::default();
    let mut cluster = Cluster::from_lists(&nodes, &pods);
    one_pass(
        &mut cluster,
        &mut state,
        &to_bind,
        &Metrics::default(),
        || false,
    );
    assert!(drain(&mut jobs).is_empty());
    assert_eq!(cluster.pending().len(), 5, "nothing assumed");
}
