//! The node sample by table: how many feasible nodes a pod's search looks for, where it
//! starts, and that a placement counts against the next pod's choice.

use super::tests::{as_pod, node, nodes, pod};
use super::{NodeState, Placement, feasible_nodes_to_find, place};
use std::sync::Arc;

#[test]
fn feasible_nodes_follow_kube_schedulers_percentages() {
    // numFeasibleNodesToFind with percentageOfNodesToScore unset.
    let cases = [
        (0, 0),
        (3, 3),
        (99, 99),
        (100, 100),
        (150, 100),
        (1_000, 420),
        (5_000, 500),
        (6_000, 300),
        (20_000, 1_000),
    ];
    for (all, want) in cases {
        assert_eq!(feasible_nodes_to_find(all), want, "{all} nodes");
    }
}

fn cluster(n: usize) -> Vec<k8s_openapi::api::core::v1::Node> {
    let values: Vec<_> = (0..n)
        .map(|i| node(&format!("n{i:04}"), "4", "8Gi", 110))
        .collect();
    nodes(&values)
}

#[test]
fn a_large_cluster_is_sampled_from_the_start_index() {
    let all = cluster(1_000);
    let states: Vec<NodeState> = all.iter().map(|n| NodeState::with_pods(n, &[])).collect();
    let p = as_pod(pod("100m", "64Mi"));
    // Every node is equally good, so the tie goes to the first name among the 420 looked at.
    let cases = [(0, 0), (500, 500), (900, 0), (1_300, 300)];
    for (start, want) in cases {
        let got = place(&p, &states, start).expect("a node");
        assert_eq!(
            got,
            Placement {
                node: want,
                examined: 420
            },
            "start {start}"
        );
    }
}

#[test]
fn a_small_cluster_is_searched_whole_from_any_start() {
    let all = cluster(3);
    let states: Vec<NodeState> = all.iter().map(|n| NodeState::with_pods(n, &[])).collect();
    let p = as_pod(pod("100m", "64Mi"));
    for start in 0..5 {
        let got = place(&p, &states, start).expect("a node");
        assert_eq!(
            got,
            Placement {
                node: 0,
                examined: 3
            },
            "start {start}"
        );
    }
}

#[test]
fn a_placed_pod_counts_against_the_next_choice() {
    let all = cluster(2);
    let placed: Vec<_> = (0..4).map(|_| as_pod(pod("1", "1Gi"))).collect();
    let mut states: Vec<NodeState> = all.iter().map(|n| NodeState::with_pods(n, &[])).collect();
    let mut chosen = Vec::new();
    for p in &placed {
        let at = place(p, &states, 0).expect("a node").node;
        states[at].add(Arc::new(p.clone()));
        chosen.push(at);
    }
    assert_eq!(chosen, vec![0, 1, 0, 1]);
    let full = as_pod(pod("1", "1Gi"));
    assert_eq!(place(&full, &states, 0).map(|p| p.node), Ok(0));
    let too_big = as_pod(pod("3", "1Gi"));
    let why = place(&too_big, &states, 0)
        .expect_err("no room")
        .to_string();
    assert_eq!(why, "0/2 nodes are available: 2 Insufficient cpu.");
}
