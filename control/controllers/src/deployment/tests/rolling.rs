//! Rolling updates: steps under every maxSurge/maxUnavailable mix, unready pods and the
//! progress deadline, unhealthy old pods, scaling mid-rollout.

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::{World, progressing_reason, rolling};
use crate::common::time_at;
use crate::deployment::reconcile;
use crate::testutil::{St, T0, at, pod};

#[test]
fn rolling_update_steps_under_surge_and_unavailable_mixes() {
    // (replicas, maxSurge, maxUnavailable, (old, new) after each plan)
    type Case = (i32, Value, Value, Vec<(i32, i32)>);
    let table: Vec<Case> = vec![
        (
            3,
            json!(1),
            json!(0),
            vec![(3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)],
        ),
        (
            3,
            json!(0),
            json!(1),
            vec![(2, 0), (2, 1), (1, 1), (1, 2), (0, 2), (0, 3)],
        ),
        (
            4,
            json!("25%"),
            json!("25%"),
            vec![(3, 1), (3, 2), (1, 2), (1, 4), (0, 4)],
        ),
        (3, json!("100%"), json!(0), vec![(3, 3), (0, 3)]),
        (3, json!(0), json!("100%"), vec![(0, 0), (0, 3)]),
        // 10% of 3 rounds to 0 unavailable; with no surge one pod may still go (fenceposts).
        (
            3,
            json!(0),
            json!("10%"),
            vec![(2, 0), (2, 1), (1, 1), (1, 2), (0, 2), (0, 3)],
        ),
        // 10% of 3 rounds up to 1 surge.
        (
            3,
            json!("10%"),
            json!(0),
            vec![(3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)],
        ),
        (2, json!(2), json!(2), vec![(0, 2)]),
    ];
    for (i, (replicas, surge, unav, want)) in table.into_iter().enumerate() {
        let strategy = rolling(surge, unav);
        let mut w = World::rolled_out(replicas, strategy.clone());
        let ctx = crate::deployment::Ctx::new(&w.d).expect("ctx");
        let mut steps = vec![];
        for _ in 0..20 {
            let plan = w.plan();
            if plan.create.is_none() && plan.update.is_empty() {
                break;
            }
            w.apply(plan);
            let (old, new) = w.sizes();
            assert!(
                old + new <= replicas + ctx.max_surge,
                "case {i}: surge exceeded at {:?}",
                (old, new)
            );
            assert!(
                w.available() >= replicas - ctx.max_unavailable,
                "case {i}: under minimum at {:?}",
                (old, new)
            );
            steps.push((old, new));
        }
        assert_eq!(steps, want, "case {i}");
        let done = w.plan();
        assert_eq!(
            progressing_reason(&done).as_deref(),
            Some("NewReplicaSetAvailable"),
            "case {i}"
        );
    }
}

#[test]
fn unready_new_pods_stall_the_rollout_then_exceed_the_deadline() {
    for (surge, unav, want) in [(json!(1), json!(0), (3, 1)), (json!(0), json!(1), (2, 1))] {
        let mut w = World::rolled_out(3, rolling(surge, unav));
        w.ready = false;
        for _ in 0..5 {
            let plan = w.plan();
            w.apply(plan);
        }
        assert_eq!(w.sizes(), want);
        assert!(w.available() >= 2);
        let plan = w.plan();
        assert!(plan.create.is_none() && plan.update.is_empty());
        assert_eq!(
            progressing_reason(&plan).as_deref(),
            Some("ReplicaSetUpdated")
        );
        // kube counts the ReplicaSets' spec.replicas (4 or 3) minus the available (3 or 2).
        assert_eq!(plan.status.unavailable_replicas, Some(1));
        w.now += 601;
        let late = w.plan();
        assert_eq!(
            progressing_reason(&late).as_deref(),
            Some("ProgressDeadlineExceeded")
        );
        let cond = late
            .status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Available")
            .expect("available");
        assert_eq!(cond.reason.as_deref(), Some("MinimumReplicasAvailable"));
    }
}

#[test]
fn unhealthy_old_replicas_are_scaled_down_first() {
    let mut w = World::rolled_out(3, rolling(json!(0), json!(1)));
    let old = &mut w.rss[0];
    old.status.as_mut().expect("status").available_replicas = Some(1);
    // One pod may go (3 pods - 2 minimum available): an unhealthy one, though only one of
    // the three is available, so the healthy one is not touched.
    let plan = w.plan();
    assert_eq!(
        plan.update.iter().map(|u| u.replicas).collect::<Vec<_>>(),
        vec![2]
    );
    w.ready = false;
    w.apply(plan);
    // The next step scales the new set up to the 3 allowed, and the old set no further: 1
    // available is already under the minimum.
    let old_name = w.rss[0].metadata.name.clone().expect("name");
    let next = w.plan();
    assert!(
        next.update
            .iter()
            .all(|u| u.name != old_name || u.replicas == 2)
    );
    assert_eq!(
        next.update.iter().map(|u| u.replicas).collect::<Vec<_>>(),
        vec![1]
    );
}

#[test]
fn scaling_during_a_rollout_is_proportional() {
    let mut w = World::rolled_out(4, rolling(json!("25%"), json!("25%")));
    let plan = w.plan();
    w.apply(plan);
    assert_eq!(w.sizes(), (3, 1));
    w.d.spec.as_mut().expect("spec").replicas = Some(8);
    let plan = w.plan();
    w.apply(plan);
    // 10 allowed (8 + 25% surge): the old set scales 3 -> 6 (+ leftover 2), the new 1 -> 2.
    assert_eq!(w.sizes(), (8, 2));
    w.converge(30);
    assert_eq!(w.sizes(), (0, 8));
}

#[test]
fn recreate_scales_old_to_zero_waits_for_pods_then_creates_new() {
    let mut w = World::rolled_out(3, json!({"type": "Recreate"}));
    let plan = w.plan();
    assert!(plan.create.is_none());
    w.apply(plan);
    assert_eq!(w.sizes(), (0, 0));
    let old_uid = w.rss[0].metadata.uid.clone().expect("uid");
    let mut lingering = pod(
        "old-1",
        json!({"app": "web"}),
        Some(&old_uid),
        St::Ready(T0),
    );
    lingering.metadata.deletion_timestamp = Some(time_at(T0));
    let waiting = reconcile(&w.d, &w.rss, &[lingering], at(w.now)).expect("plan");
    assert!(waiting.create.is_none() && waiting.update.is_empty());
    let finished: Pod = pod(
        "old-2",
        json!({"app": "web"}),
        Some(&old_uid),
        St::Succeeded,
    );
    let go = reconcile(&w.d, &w.rss, &[finished], at(w.now)).expect("plan");
    assert_eq!(
        go.create
            .as_ref()
            .and_then(|r| r.spec.as_ref())
            .and_then(|s| s.replicas),
        Some(3)
    );
    w.apply(go);
    w.converge(5);
    assert_eq!(w.sizes(), (0, 3));
}
