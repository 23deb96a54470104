//! `spec.behavior` by table: each policy's limit, `selectPolicy`, the periods the remembered
//! scale events count in, the limits' reasons, and whole decisions with policies and windows.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use serde_json::{Value, json};

use super::super::behavior::{self, Rules, ScaleEvent};
use super::super::{HpaDecision, HpaInput, PodUsage, Recommendation, TargetScale, reconcile};
use super::{condition, cpu, hpa, pod, usage};
use crate::testutil::T0;

fn rules_of(behavior: Value) -> (Rules, Rules) {
    behavior::rules(&hpa(cpu(50), behavior)).expect("behavior given")
}

fn ev(ago: i64, change: i32) -> ScaleEvent {
    ScaleEvent {
        at: T0 - ago,
        change,
    }
}

#[test]
fn policy_limits_table() {
    let pods_and_percent = |select: &str| {
        json!({"scaleUp": {"selectPolicy": select, "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"selectPolicy": select, "policies": [
            {"type": "Pods", "value": 1, "periodSeconds": 60},
            {"type": "Percent", "value": 10, "periodSeconds": 60}]}})
    };
    // (behavior, current, events, scale-up limit, scale-down limit)
    let table: Vec<(Value, i32, Vec<ScaleEvent>, i32, i32)> = vec![
        // The API's defaults: max(+4, +100%) up, -100% down.
        (json!({}), 1, vec![], 5, 0),
        (json!({}), 10, vec![], 20, 0),
        (pods_and_percent("Max"), 10, vec![], 20, 9),
        (pods_and_percent("Max"), 50, vec![], 100, 45),
        (pods_and_percent("Min"), 10, vec![], 14, 9),
        (pods_and_percent("Min"), 50, vec![], 54, 49),
        (pods_and_percent("Disabled"), 10, vec![], 10, 10),
        // 6 added 10 s ago: the period started at 4, so at most 8 (below current: no more);
        // down counts from 4 too (4 - 1, 4 - 10%).
        (pods_and_percent("Max"), 10, vec![ev(10, 6)], 8, 3),
        // ... but 20 s ago is outside the 15 s period of the scale-up policies.
        (pods_and_percent("Max"), 10, vec![ev(20, 6)], 20, 3),
        // 2 removed 30 s ago: the 60 s period started at 12, so 11 (and 12 - 10% = 10.8 -> 10).
        // (outside the scale-up policies' 15 s period: up from 10).
        (pods_and_percent("Min"), 10, vec![ev(30, -2)], 14, 11),
        (pods_and_percent("Max"), 10, vec![ev(30, -2)], 20, 10),
        // Percent down truncates: 15 - 10% = 13.5 -> 13.
        (
            json!({"scaleDown": {"policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}),
            15,
            vec![],
            30,
            13,
        ),
        // Percent up rounds up: 3 + 50% = 4.5 -> 5.
        (
            json!({"scaleUp": {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}}),
            3,
            vec![],
            5,
            0,
        ),
    ];
    for (i, (b, current, events, up_limit, down_limit)) in table.into_iter().enumerate() {
        let (up, down) = rules_of(b);
        assert_eq!(
            behavior::scale_up_limit(current, &events, &up, T0),
            up_limit,
            "row {i}: scale-up limit"
        );
        assert_eq!(
            behavior::scale_down_limit(current, &events, &down, T0),
            down_limit,
            "row {i}: scale-down limit"
        );
    }
}

#[test]
fn rate_limited_reasons_table() {
    let one_pod = json!({
        "scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
        "scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}});
    let (up, down) = rules_of(one_pod);
    // ((current, desired), (min, max), events, (replicas, reason))
    let table = [
        ((4, 8), (1, 10), vec![], (5, "ScaleUpLimit")),
        ((4, 8), (1, 5), vec![], (5, "TooManyReplicas")),
        ((4, 5), (1, 10), vec![], (5, "DesiredWithinRange")),
        ((4, 5), (1, 10), vec![ev(30, 1)], (4, "ScaleUpLimit")),
        ((4, 1), (1, 10), vec![], (3, "ScaleDownLimit")),
        ((4, 1), (4, 10), vec![], (4, "TooFewReplicas")),
        ((4, 3), (1, 10), vec![ev(30, -1)], (4, "ScaleDownLimit")),
        ((4, 4), (1, 10), vec![ev(1, 3)], (4, "DesiredWithinRange")),
    ];
    for (i, (change, bounds, events, (want, reason))) in table.into_iter().enumerate() {
        let got = behavior::rate_limited(change, bounds, (&up, &down), &events, T0);
        assert_eq!((got.0, got.1), (want, reason), "row {i}");
    }
}

fn decide_with(
    h: &HorizontalPodAutoscaler,
    milli: f64,
    history: &[Recommendation],
    events: &[ScaleEvent],
) -> HpaDecision {
    let pods: Vec<_> = (0..4)
        .map(|i| pod(&format!("p{i}"), "Running", true))
        .collect();
    let samples: Vec<PodUsage> = (0..4).map(|i| usage(&format!("p{i}"), milli)).collect();
    let scale = TargetScale {
        replicas: 4,
        selector: "app=web".into(),
    };
    reconcile(
        h,
        HpaInput {
            scale: Ok(&scale),
            pods: &pods.iter().collect::<Vec<_>>(),
            metrics: Ok(&samples),
            history,
            scale_events: events,
            now: T0,
        },
    )
}

#[test]
fn decisions_with_behavior() {
    let slow_up =
        json!({"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}});
    // 4 pods at 100% against 50%: 8 wanted, one pod per minute allowed.
    let d = decide_with(&hpa(cpu(50), slow_up.clone()), 100.0, &[], &[]);
    assert_eq!(d.scale_to, Some(5));
    assert_eq!(
        condition(&d, "ScalingLimited"),
        ("True".into(), "ScaleUpLimit".into())
    );
    assert_eq!(d.scale_events, vec![ev(0, 1)], "the rescale is remembered");
    // One pod was added 30 s ago: nothing more this minute.
    let d = decide_with(&hpa(cpu(50), slow_up.clone()), 100.0, &[], &[ev(30, 1)]);
    assert_eq!((d.scale_to, d.status.desired_replicas), (None, 4));
    // Without behavior the old rule holds (max(2x, 4)) and no scale event is kept.
    let d = decide_with(&hpa(cpu(50), Value::Null), 100.0, &[], &[]);
    assert_eq!((d.scale_to, d.scale_events.len()), (Some(8), 0));
    // Scale-down disabled: idle pods keep all 4.
    let no_down =
        json!({"scaleDown": {"selectPolicy": "Disabled", "stabilizationWindowSeconds": 0}});
    let d = decide_with(&hpa(cpu(50), no_down), 1.0, &[], &[]);
    assert_eq!(d.scale_to, None);
    assert_eq!(
        condition(&d, "ScalingLimited"),
        ("True".into(), "ScaleDownLimit".into())
    );
    // A scale-up window of 60 s with 4 recommended 30 s ago: the lowest recent one wins.
    let up_window = json!({"scaleUp": {"stabilizationWindowSeconds": 60}});
    let four = [Recommendation {
        at: T0 - 30,
        replicas: 4,
    }];
    let d = decide_with(&hpa(cpu(50), up_window.clone()), 100.0, &four, &[]);
    assert_eq!(d.scale_to, None);
    assert_eq!(
        condition(&d, "AbleToScale"),
        ("True".into(), "ScaleUpStabilized".into())
    );
    // Past the window it scales (default policies: 4 -> 8).
    let old = [Recommendation {
        at: T0 - 90,
        replicas: 4,
    }];
    let d = decide_with(&hpa(cpu(50), up_window), 100.0, &old, &[]);
    assert_eq!(d.scale_to, Some(8));
    // Scale down by at most 1 pod a minute, window 0: 4 -> 3.
    let slow_down = json!({"scaleDown": {"stabilizationWindowSeconds": 0,
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}});
    let d = decide_with(&hpa(cpu(50), slow_down), 1.0, &[], &[]);
    assert_eq!(d.scale_to, Some(3));
    assert_eq!(d.scale_events, vec![ev(0, -1)]);
}

#[test]
fn remembered_events_are_pruned_per_direction() {
    let (up, down) = rules_of(json!({
        "scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
        "scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 600}]}}));
    let events = [ev(120, 1), ev(30, 1), ev(120, -1)];
    let kept = behavior::remember(&events, (&up, &down), (4, 5), T0);
    assert_eq!(kept, vec![ev(30, 1), ev(120, -1), ev(0, 1)]);
    let kept = behavior::remember(&events, (&up, &down), (5, 4), T0);
    assert_eq!(
        kept,
        events
            .iter()
            .copied()
            .chain([ev(0, -1)])
            .collect::<Vec<_>>()
    );
}
