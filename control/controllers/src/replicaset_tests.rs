//! The ReplicaSet decision by table.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::reconcile;
use crate::testutil::NO_PODS;
use crate::testutil::{St, T0, at, from, pod, terminating};

fn rs(replicas: i32, min_ready: i32) -> ReplicaSet {
    from(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": 3},
        "spec": {"replicas": replicas, "minReadySeconds": min_ready,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}},
                "spec": {"containers": [{"name": "c", "image": "x.wasm"}]}}}
    }))
}

fn owned(name: &str, st: St) -> Pod {
    pod(
        name,
        json!({"app": "web", "tier": "fe"}),
        Some("rs-uid"),
        st,
    )
}

#[test]
fn creates_and_deletes_to_match_replicas() {
    // (replicas, existing pods, pods to create, pods to delete)
    let table: Vec<(i32, Vec<Pod>, usize, Vec<&str>)> = vec![
        (3, vec![], 3, vec![]),
        (3, vec![owned("a", St::Ready(T0))], 2, vec![]),
        (
            1,
            vec![owned("a", St::Ready(T0)), owned("b", St::Unready)],
            0,
            vec!["b"],
        ),
        // Terminating and finished pods do not count: two more are needed.
        (
            2,
            vec![
                terminating(owned("a", St::Ready(T0))),
                owned("b", St::Succeeded),
                owned("c", St::Failed),
            ],
            2,
            vec![],
        ),
        // Unscheduled, then pending, then unready go first; the ready pod stays.
        (
            1,
            vec![
                owned("ready", St::Ready(T0)),
                owned("unready", St::Unready),
                owned("pending", St::Pending),
                owned("unsched", St::Unscheduled),
            ],
            0,
            vec!["unsched", "pending", "unready"],
        ),
        // Of two ready pods, the one ready for less time goes.
        (
            1,
            vec![
                owned("old", St::Ready(T0)),
                owned("new", St::Ready(T0 + 50)),
            ],
            0,
            vec!["new"],
        ),
        (0, vec![owned("a", St::Ready(T0))], 0, vec!["a"]),
    ];
    for (i, (replicas, pods, create, delete)) in table.into_iter().enumerate() {
        let plan = reconcile(&rs(replicas, 0), &pods, at(T0 + 100)).expect("plan");
        assert_eq!(plan.create.len(), create, "case {i}");
        assert_eq!(plan.delete, delete, "case {i}");
    }
}

#[test]
fn pod_deletion_cost_ranks_ready_pods() {
    let mut cheap = owned("cheap", St::Ready(T0));
    cheap.metadata.annotations =
        Some([(super::POD_DELETION_COST.to_string(), "-5".to_string())].into());
    let mut dear = owned("dear", St::Ready(T0 + 50));
    dear.metadata.annotations =
        Some([(super::POD_DELETION_COST.to_string(), "100".to_string())].into());
    let pods = vec![dear, owned("plain", St::Ready(T0 + 50)), cheap];
    let plan = reconcile(&rs(0, 0), &pods, at(T0 + 100)).expect("plan");
    assert_eq!(plan.delete, vec!["cheap", "plain", "dear"]);
}

#[test]
fn created_pods_carry_template_owner_and_generate_name() {
    let plan = reconcile(&rs(1, 0), NO_PODS, at(T0)).expect("plan");
    let p = &plan.create[0];
    assert_eq!(p.metadata.generate_name.as_deref(), Some("web-"));
    assert_eq!(p.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(
        p.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("tier"))
            .map(String::as_str),
        Some("fe")
    );
    let owner = &p.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("ReplicaSet", "rs-uid", Some(true))
    );
}

#[test]
fn adopts_orphans_and_releases_non_matching() {
    let pods = vec![
        pod("orphan", json!({"app": "web"}), None, St::Ready(T0)),
        pod(
            "strayed",
            json!({"app": "other"}),
            Some("rs-uid"),
            St::Ready(T0),
        ),
        pod(
            "foreign",
            json!({"app": "web"}),
            Some("other-uid"),
            St::Ready(T0),
        ),
        pod("unrelated", json!({"app": "db"}), None, St::Ready(T0)),
    ];
    let plan = reconcile(&rs(1, 0), &pods, at(T0)).expect("plan");
    assert_eq!(plan.adopt, vec!["orphan"]);
    assert_eq!(plan.release, vec!["strayed"]);
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.status.replicas, 1);
    // The adopted pod lacks the template's `tier` label: not fully labeled.
    assert_eq!(plan.status.fully_labeled_replicas, Some(0));
}

#[test]
fn status_counts_ready_and_available_with_min_ready_seconds() {
    let pods = vec![
        owned("a", St::Ready(T0)),
        owned("b", St::Ready(T0 + 25)),
        owned("c", St::Unready),
        terminating(owned("d", St::Ready(T0))),
    ];
    let plan = reconcile(&rs(3, 10), &pods, at(T0 + 30)).expect("plan");
    let s = plan.status;
    assert_eq!(
        (s.replicas, s.ready_replicas, s.available_replicas),
        (3, Some(2), Some(1))
    );
    assert_eq!(
        (s.fully_labeled_replicas, s.observed_generation),
        (Some(3), Some(3))
    );
}

#[test]
fn applying_the_plan_then_replanning_plans_nothing() {
    let mut pods = vec![pod(
        "orphan",
        json!({"app": "web", "tier": "fe"}),
        None,
        St::Ready(T0),
    )];
    for replicas in [4, 2, 0] {
        let plan = reconcile(&rs(replicas, 0), &pods, at(T0)).expect("plan");
        pods.retain(|p| {
            !plan
                .delete
                .contains(p.metadata.name.as_ref().expect("name"))
        });
        for p in &mut pods {
            if plan.adopt.contains(p.metadata.name.as_ref().expect("name")) {
                p.metadata.owner_references = Some(vec![crate::common::controller_owner(
                    "apps/v1",
                    "ReplicaSet",
                    "web",
                    "rs-uid",
                )]);
            }
        }
        for (i, mut p) in plan.create.into_iter().enumerate() {
            p.metadata.name = Some(format!("web-{replicas}-{i}"));
            pods.push(p);
        }
        let again = reconcile(&rs(replicas, 0), &pods, at(T0)).expect("plan");
        assert!(
            again.create.is_empty() && again.delete.is_empty(),
            "replicas {replicas}"
        );
        assert!(
            again.adopt.is_empty() && again.release.is_empty(),
            "replicas {replicas}"
        );
        assert_eq!(again.status.replicas, replicas);
    }
}

#[test]
fn a_deleting_replicaset_neither_adopts_nor_creates() {
    let mut set = rs(2, 0);
    set.metadata.deletion_timestamp = Some(crate::common::time_at(T0));
    let pods = vec![pod("orphan", json!({"app": "web"}), None, St::Ready(T0))];
    let plan = reconcile(&set, &pods, at(T0)).expect("plan");
    assert!(plan.adopt.is_empty() && plan.create.is_empty());
}
