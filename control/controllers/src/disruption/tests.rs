//! Tables of PodDisruptionBudgets, pods and controller scales against the status decided.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::{Value, json};

use super::{ControllerScale, DisruptionNote, reconcile};
use crate::testutil::{St, T0, from, pod, rfc3339, terminating};

fn pdb(spec: Value, status: Value) -> PodDisruptionBudget {
    from(json!({
        "metadata": {"name": "b", "namespace": "default", "uid": "pdb", "generation": 2},
        "spec": spec, "status": status,
    }))
}

fn web(name: &str, owner: Option<&str>, st: St) -> Pod {
    pod(name, json!({"app": "web"}), owner, st)
}

/// Three ready pods of ReplicaSet `rs1` (replicas 4, so one is missing), one unready.
fn pods() -> Vec<Pod> {
    vec![
        web("a", Some("rs1"), St::Ready(T0)),
        web("b", Some("rs1"), St::Ready(T0)),
        web("c", Some("rs1"), St::Ready(T0)),
        web("d", Some("rs1"), St::Unready),
        pod("other", json!({"app": "db"}), Some("rs9"), St::Ready(T0)),
    ]
}

fn scales(replicas: i32) -> BTreeMap<String, ControllerScale> {
    BTreeMap::from([(
        "rs1".to_string(),
        ControllerScale {
            uid: "deploy1".into(),
            replicas,
        },
    )])
}

/// (expected, desired, healthy, allowed, condition reason) for a spec over [`pods`].
fn counts(spec: Value, replicas: i32) -> (i32, i32, i32, i32, String) {
    let d = reconcile(&pdb(spec, json!({})), &pods(), &scales(replicas), T0);
    let s = d.status;
    let reason = s.conditions.unwrap_or_default()[0].reason.clone();
    (
        s.expected_pods,
        s.desired_healthy,
        s.current_healthy,
        s.disruptions_allowed,
        reason,
    )
}

#[test]
fn min_available_and_max_unavailable_table() {
    let sel = json!({"matchLabels": {"app": "web"}});
    let sufficient = "SufficientPods".to_string();
    let insufficient = "InsufficientPods".to_string();
    let table = [
        // minAvailable as a number counts the selected pods, not the scale.
        (
            json!({"selector": sel, "minAvailable": 2}),
            5,
            (4, 2, 3, 1, &sufficient),
        ),
        (
            json!({"selector": sel, "minAvailable": 3}),
            5,
            (4, 3, 3, 0, &insufficient),
        ),
        (
            json!({"selector": sel, "minAvailable": 9}),
            5,
            (4, 9, 3, 0, &insufficient),
        ),
        // A percentage counts the controller's scale, rounding up.
        (
            json!({"selector": sel, "minAvailable": "50%"}),
            5,
            (5, 3, 3, 0, &insufficient),
        ),
        (
            json!({"selector": sel, "minAvailable": "40%"}),
            5,
            (5, 2, 3, 1, &sufficient),
        ),
        // maxUnavailable (int or percent, rounding up) against the scale.
        (
            json!({"selector": sel, "maxUnavailable": 1}),
            4,
            (4, 3, 3, 0, &insufficient),
        ),
        (
            json!({"selector": sel, "maxUnavailable": 2}),
            4,
            (4, 2, 3, 1, &sufficient),
        ),
        (
            json!({"selector": sel, "maxUnavailable": "30%"}),
            4,
            (4, 2, 3, 1, &sufficient),
        ),
        (
            json!({"selector": sel, "maxUnavailable": 9}),
            4,
            (4, 0, 3, 3, &sufficient),
        ),
        // An empty selector selects every pod of the namespace; a missing one none.
        (
            json!({"selector": {}, "minAvailable": 2}),
            5,
            (5, 2, 4, 2, &sufficient),
        ),
        (json!({"minAvailable": 0}), 5, (0, 0, 0, 0, &insufficient)),
    ];
    for (spec, replicas, (expected, desired, healthy, allowed, reason)) in table {
        let got = counts(spec.clone(), replicas);
        assert_eq!(
            got,
            (expected, desired, healthy, allowed, reason.clone()),
            "{spec}"
        );
    }
}

#[test]
fn status_carries_generation_and_a_stable_condition() {
    let spec = json!({"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 2});
    let first = reconcile(&pdb(spec.clone(), json!({})), &pods(), &scales(4), T0 + 5);
    assert_eq!(first.status.observed_generation, Some(2));
    let cond = &first.status.conditions.clone().unwrap_or_default()[0];
    assert_eq!(
        (cond.type_.as_str(), cond.status.as_str()),
        ("DisruptionAllowed", "True")
    );
    assert_eq!(cond.last_transition_time.0.as_second(), T0 + 5);
    // Deciding again later on the written status keeps it (idempotent, same transition time).
    let written = serde_json::to_value(&first.status).unwrap_or_default();
    let again = reconcile(&pdb(spec, written), &pods(), &scales(4), T0 + 60);
    assert_eq!(again.status, first.status);
    assert!(again.notes.is_empty(), "{:?}", again.notes);
}

#[test]
fn evicted_and_terminating_pods_do_not_count_as_healthy() {
    let spec = json!({"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 1});
    let mut ps = pods();
    ps[2] = terminating(ps[2].clone());
    // "a" was evicted 30 s ago and is still there; "gone" no longer exists; "b" 3 min ago.
    let status = json!({"disruptedPods": {"a": rfc3339(T0 - 30), "gone": rfc3339(T0 - 30),
                                          "b": rfc3339(T0 - 180)}});
    let d = reconcile(&pdb(spec, status), &ps, &scales(4), T0);
    assert_eq!(d.status.current_healthy, 1, "only b counts");
    assert_eq!(d.status.disruptions_allowed, 0);
    let kept: Vec<&String> = d
        .status
        .disrupted_pods
        .iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kept, ["a"]);
    assert_eq!(d.recheck_at, Some(T0 - 30 + super::DELETION_TIMEOUT));
    assert_eq!(d.notes, [DisruptionNote::NotDeleted("b".into())]);
}

#[test]
fn uncountable_budgets_fail_safe() {
    let sel = json!({"matchLabels": {"app": "web"}});
    let allowed = json!({"disruptionsAllowed": 3, "currentHealthy": 3});
    // A pod whose controller has no scale (a DaemonSet, say): no disruption allowed.
    let d = reconcile(
        &pdb(
            json!({"selector": sel, "maxUnavailable": 1}),
            allowed.clone(),
        ),
        &pods(),
        &BTreeMap::new(),
        T0,
    );
    assert_eq!(d.status.disruptions_allowed, 0);
    let cond = &d.status.conditions.clone().unwrap_or_default()[0];
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("False", "SyncFailed")
    );
    assert!(
        cond.message.contains("found no controllers"),
        "{}",
        cond.message
    );
    assert!(matches!(d.notes.as_slice(), [DisruptionNote::Failed(_)]));
    // A percentage that is not one.
    let d = reconcile(
        &pdb(json!({"selector": sel, "minAvailable": "half"}), allowed),
        &pods(),
        &scales(4),
        T0,
    );
    assert_eq!(d.status.disruptions_allowed, 0);
}

#[test]
fn unmanaged_and_missing_pods_are_reported() {
    let sel = json!({"matchLabels": {"app": "web"}});
    let mut ps = pods();
    ps.push(web("loose", None, St::Ready(T0)));
    let d = reconcile(
        &pdb(json!({"selector": sel, "maxUnavailable": 1}), json!({})),
        &ps,
        &scales(4),
        T0,
    );
    assert_eq!(
        d.notes,
        [DisruptionNote::UnmanagedPods(vec!["loose".into()])]
    );
    assert_eq!((d.status.expected_pods, d.status.current_healthy), (4, 4));
    let none = reconcile(
        &pdb(
            json!({"selector": {"matchLabels": {"app": "x"}}, "minAvailable": 1}),
            json!({}),
        ),
        &ps,
        &scales(4),
        T0,
    );
    assert_eq!(none.notes, [DisruptionNote::NoPods]);
    assert_eq!(none.status.disruptions_allowed, 0);
}
