//! Node lifecycle by table, with explicit times: Ready from the Lease, taints, evictions.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::{NodeLifecycleParams, NodePlan, TAINT_UNREACHABLE, reconcile};
use crate::testutil::{St, T0, at, from, pod, rfc3339};

fn node(ready: Option<&str>, taints: Value) -> Node {
    let mut v = json!({"metadata": {"name": "n1", "creationTimestamp": rfc3339(T0 - 1000)},
        "spec": {"taints": taints}, "status": {"conditions": [
            {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": rfc3339(T0)}]}});
    if let Some(s) = ready {
        v["status"]["conditions"]
            .as_array_mut()
            .expect("array")
            .push(json!({"type": "Ready", "status": s, "reason": "KubeletReady", "lastHeartbeatTime": rfc3339(T0 - 500)}));
    }
    from(v)
}

fn lease(renewed: i64) -> Lease {
    from(
        json!({"metadata": {"name": "n1", "namespace": "kube-node-lease"}, "spec": {"renewTime": format!("{}", at(renewed))}}),
    )
}

fn ready_of(plan: &NodePlan) -> Option<(String, String)> {
    let c = plan
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status.clone(), c.reason.clone().unwrap_or_default()))
}

fn taint_keys(plan: &NodePlan) -> Option<Vec<String>> {
    Some(
        plan.taints
            .as_ref()?
            .iter()
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect(),
    )
}

#[test]
fn ready_turns_unknown_after_the_grace_period() {
    let p = NodeLifecycleParams::default();
    // (Ready status, lease renewed at, now, new Ready (status, reason), requeue after)
    type Case<'a> = (
        Option<&'a str>,
        i64,
        i64,
        Option<(&'a str, &'a str)>,
        Option<i64>,
    );
    let table: Vec<Case> = vec![
        (Some("True"), T0, T0 + 10, None, Some(41)),
        (Some("True"), T0, T0 + 50, None, Some(1)),
        (
            Some("True"),
            T0,
            T0 + 51,
            Some(("Unknown", "NodeStatusUnknown")),
            None,
        ),
        (
            Some("False"),
            T0,
            T0 + 100,
            Some(("Unknown", "NodeStatusUnknown")),
            None,
        ),
        (
            None,
            T0 - 2000,
            T0 + 100,
            Some(("Unknown", "NodeStatusNeverUpdated")),
            None,
        ),
    ];
    for (i, (ready, renewed, now, want, requeue)) in table.into_iter().enumerate() {
        let plan = reconcile::<Pod>(
            &node(ready, json!([])),
            Some(&lease(renewed)),
            &[],
            at(now),
            p,
        );
        let want = want.map(|(s, r)| (s.to_string(), r.to_string()));
        assert_eq!(ready_of(&plan), want, "case {i}");
        if let Some(c) = plan
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
        {
            assert_eq!(c.last_transition_time, Some(crate::common::time_at(now)));
        }
        assert_eq!(
            plan.requeue_after.filter(|_| plan.evict.is_empty()),
            requeue,
            "case {i}"
        );
    }
    let stale = reconcile::<Pod>(
        &node(Some("True"), json!([])),
        Some(&lease(T0)),
        &[],
        at(T0 + 60),
        p,
    );
    let c = stale
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .expect("ready");
    assert_eq!(
        c.message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );
    let mem = stale
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "MemoryPressure")
        .expect("memory");
    assert_eq!(mem.status, "Unknown");
}

#[test]
fn taints_follow_the_ready_condition() {
    let p = NodeLifecycleParams::default();
    let unreachable = json!([{"key": TAINT_UNREACHABLE, "effect": "NoExecute", "timeAdded": rfc3339(T0)},
        {"key": TAINT_UNREACHABLE, "effect": "NoSchedule"}, {"key": "user", "effect": "NoSchedule"}]);
    // (Ready, existing taints, lease fresh?, new taints; None = unchanged)
    let table: Vec<(&str, Value, bool, Option<Vec<&str>>)> = vec![
        ("True", json!([]), true, None),
        (
            "False",
            json!([]),
            true,
            Some(vec![
                "node.kubernetes.io/not-ready:NoExecute",
                "node.kubernetes.io/not-ready:NoSchedule",
            ]),
        ),
        (
            "True",
            json!([]),
            false,
            Some(vec![
                "node.kubernetes.io/unreachable:NoExecute",
                "node.kubernetes.io/unreachable:NoSchedule",
            ]),
        ),
        ("Unknown", unreachable.clone(), false, None),
        ("True", unreachable, true, Some(vec!["user:NoSchedule"])),
    ];
    for (i, (ready, taints, fresh, want)) in table.into_iter().enumerate() {
        let renewed = if fresh { T0 + 90 } else { T0 };
        let plan = reconcile::<Pod>(
            &node(Some(ready), taints),
            Some(&lease(renewed)),
            &[],
            at(T0 + 100),
            p,
        );
        let want = want.map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(taint_keys(&plan), want, "case {i}");
    }
}

fn on_node(name: &str, tolerations: Value) -> Pod {
    let mut p = pod(name, json!({}), None, St::Ready(T0));
    let spec: Value = json!({"tolerations": tolerations});
    p.spec.as_mut().expect("spec").tolerations = from(spec["tolerations"].clone());
    p
}

#[test]
fn pods_are_evicted_after_their_toleration() {
    let p = NodeLifecycleParams {
        grace_period_secs: 50,
        default_toleration_secs: 300,
    };
    let tainted = json!([{"key": TAINT_UNREACHABLE, "effect": "NoExecute", "timeAdded": rfc3339(T0)},
        {"key": TAINT_UNREACHABLE, "effect": "NoSchedule"}]);
    let pods = vec![
        on_node("default", json!(null)),
        on_node(
            "short",
            json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]),
        ),
        on_node(
            "forever",
            json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]),
        ),
        on_node("all", json!([{"operator": "Exists"}])),
    ];
    // (now, evicted, requeue after)
    let table = [
        (T0 + 10, vec![], Some(20)),
        (T0 + 30, vec!["short"], Some(270)),
        (T0 + 300, vec!["default", "short"], None),
    ];
    for (now, evict, requeue) in table {
        let plan = reconcile(
            &node(Some("Unknown"), tainted.clone()),
            None,
            &pods,
            at(now),
            p,
        );
        assert_eq!(plan.evict, evict, "at +{}", now - T0);
        assert_eq!(plan.requeue_after, requeue, "at +{}", now - T0);
        assert_eq!(plan.mark_not_ready.len(), 4);
        // Applying the plan's conditions, the next plan changes neither conditions nor taints.
        let mut n = node(Some("Unknown"), tainted.clone());
        n.status.as_mut().expect("status").conditions = plan
            .conditions
            .clone()
            .or(n.status.as_ref().and_then(|s| s.conditions.clone()));
        let again = reconcile(&n, None, &pods, at(now), p);
        assert_eq!(
            (again.conditions.is_none(), again.taints.is_none()),
            (true, true),
            "at +{}",
            now - T0
        );
    }
    // A shorter default (a flag) evicts sooner.
    let quick = NodeLifecycleParams {
        grace_period_secs: 5,
        default_toleration_secs: 10,
    };
    let plan = reconcile(
        &node(Some("Unknown"), tainted),
        None,
        &pods,
        at(T0 + 10),
        quick,
    );
    assert_eq!(plan.evict, vec!["default"]);
}

#[test]
fn a_cordoned_node_gets_the_unschedulable_taint() {
    let mut n = node(Some("True"), json!([]));
    n.spec.as_mut().expect("spec").unschedulable = Some(true);
    let plan = reconcile::<Pod>(
        &n,
        Some(&lease(T0 + 90)),
        &[],
        at(T0 + 100),
        NodeLifecycleParams::default(),
    );
    assert_eq!(
        taint_keys(&plan),
        Some(vec![
            "node.kubernetes.io/unschedulable:NoSchedule".to_string()
        ])
    );
}

#[test]
fn a_new_node_is_left_alone_until_its_grace_period_ends() {
    let p = NodeLifecycleParams::default();
    let bound = pod("p1", json!({}), None, St::Ready(T0 - 100));
    // Created at T0, never posted a Ready condition, no Lease.
    let fresh = from::<Node>(json!({"metadata": {"name": "n1", "creationTimestamp": rfc3339(T0)}}));
    let early = reconcile(&fresh, None, std::slice::from_ref(&bound), at(T0 + 10), p);
    assert_eq!(early.taints, None, "no taint within the grace period");
    assert!(early.mark_not_ready.is_empty() && early.evict.is_empty());
    assert_eq!(early.requeue_after, Some(41));
    let late = reconcile(&fresh, None, &[bound], at(T0 + 51), p);
    assert_eq!(
        ready_of(&late),
        Some(("Unknown".into(), "NodeStatusNeverUpdated".into()))
    );
    assert_eq!(
        taint_keys(&late),
        Some(vec![
            format!("{TAINT_UNREACHABLE}:NoExecute"),
            format!("{TAINT_UNREACHABLE}:NoSchedule")
        ])
    );
    assert_eq!(late.mark_not_ready, vec!["p1".to_owned()]);
}
