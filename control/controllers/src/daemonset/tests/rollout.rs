//! A whole rollout replayed sync by sync.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;

use super::{dp, ds, hash_of, node};
use crate::daemonset::{reconcile, target_node};
use crate::testutil::{T0, at};

/// A rollout replayed sync by sync over 5 nodes (pods become ready at once): never more than
/// `maxUnavailable` nodes without an available pod, and in the end every pod is new.
#[test]
fn a_rollout_keeps_its_budget_and_finishes() {
    for (surge, unavailable) in [(0, 1), (0, 2), (1, 0), (2, 0)] {
        let names = ["a", "b", "c", "d", "e"];
        let nodes: Vec<Node> = names
            .iter()
            .map(|n| node(n, json!({}), json!([])))
            .collect();
        let mut pods: Vec<Pod> = names
            .iter()
            .map(|n| dp(&format!("{n}-old"), n, "old", 0, true))
            .collect();
        let d = ds(
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}),
            json!(null),
        );
        let h = hash_of(&d);
        for round in 0..40 {
            let plan = reconcile(&d, &nodes, &pods, at(T0 + 100)).expect("plan");
            if plan.create.is_empty() && plan.delete.is_empty() {
                assert!(
                    pods.iter()
                        .all(|p| crate::daemonset::revision_of(p) == Some(h.as_str()))
                );
                assert_eq!(pods.len(), 5, "{surge}/{unavailable}");
                break;
            }
            assert!(round < 39, "{surge}/{unavailable}: no end");
            pods.retain(|p| !plan.delete.contains(&crate::daemonset::pod_name(p)));
            let without = names
                .iter()
                .filter(|n| !pods.iter().any(|p| target_node(p).as_deref() == Some(**n)))
                .count();
            assert!(
                without <= usize::try_from(unavailable).expect("n"),
                "{surge}/{unavailable}: {without} nodes without a pod"
            );
            for (k, p) in plan.create.iter().enumerate() {
                let n = target_node(p).expect("pinned");
                pods.push(dp(&format!("{n}-{round}-{k}"), &n, &h, round + 1, true));
            }
        }
    }
}
