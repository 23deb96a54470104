//! HorizontalPodAutoscaler decisions by table: the replica calculator's tolerance, missing
//! and unready pods, AverageValue targets, the stabilization window, the limits, and the
//! conditions and events when the metrics API or the scale is missing.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::{HpaDecision, HpaInput, PodUsage, Recommendation, TargetScale, reconcile};
use crate::testutil::{T0, from, rfc3339};

/// A pod of the target, requesting 100m CPU and 100Mi; started long ago, ready (since a
/// while) or not (ever: its Ready condition turned False just after it started).
fn pod(name: &str, phase: &str, ready: bool) -> Pod {
    let since = if ready { T0 - 3000 } else { T0 - 3590 };
    from(json!({
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "x.wasm",
            "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}}]},
        "status": {"phase": phase, "startTime": rfc3339(T0 - 3600),
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                "lastTransitionTime": rfc3339(since)}]}
    }))
}

fn usage(name: &str, cpu_milli: f64) -> PodUsage {
    PodUsage {
        pod: name.into(),
        timestamp: T0 - 10,
        window: 30,
        cpu: Some(cpu_milli / 1000.0),
        memory: Some(50.0 * 1024.0 * 1024.0),
    }
}

fn hpa(metrics: Value, behavior: Value) -> HorizontalPodAutoscaler {
    from(json!({
        "metadata": {"name": "web", "namespace": "default", "generation": 1},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 10, "metrics": metrics, "behavior": behavior}
    }))
}

fn cpu(target: i32) -> Value {
    json!([{"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": target}}}])
}

fn decide(
    h: &HorizontalPodAutoscaler,
    replicas: i32,
    pods: &[Pod],
    samples: &[PodUsage],
) -> HpaDecision {
    let scale = TargetScale {
        replicas,
        selector: "app=web".into(),
    };
    reconcile(
        h,
        HpaInput {
            scale: Ok(&scale),
            pods: &pods.iter().collect::<Vec<_>>(),
            metrics: Ok(samples),
            history: &[],
            scale_events: &[],
            now: T0,
        },
    )
}

fn condition(d: &HpaDecision, type_: &str) -> (String, String) {
    let c = d
        .status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
        .expect("condition");
    (c.status.clone(), c.reason.clone().unwrap_or_default())
}

#[test]
fn cpu_utilization_table() {
    let running = |n: &str| pod(n, "Running", true);
    let two = [running("a"), running("b")];
    // (target %, pods, samples in millicores, current) -> desired
    type Case = (i32, Vec<Pod>, Vec<PodUsage>, i32, i32);
    let table: Vec<Case> = vec![
        // 100% of request against 50%: double.
        (
            50,
            two.to_vec(),
            vec![usage("a", 100.0), usage("b", 100.0)],
            2,
            4,
        ),
        // 54% against 50%: within the 0.1 tolerance, no change.
        (
            50,
            two.to_vec(),
            vec![usage("a", 54.0), usage("b", 54.0)],
            2,
            2,
        ),
        // 10% against 50%: one pod is enough.
        (
            50,
            two.to_vec(),
            vec![usage("a", 10.0), usage("b", 10.0)],
            2,
            1,
        ),
        // A pod without metrics while scaling up counts as idle: 200% on a, 0 on b -> 100%.
        (50, two.to_vec(), vec![usage("a", 200.0)], 2, 4),
        // ... and while scaling down counts at its request: 10% on a, 100% on b -> 55%: no change.
        (50, two.to_vec(), vec![usage("a", 10.0)], 2, 2),
        // A never-ready pod's sample is ignored; scaling up it counts as idle: 300% on a -> 150%.
        (
            100,
            vec![running("a"), pod("b", "Running", false)],
            vec![usage("a", 300.0), usage("b", 300.0)],
            2,
            3,
        ),
        // A pending pod is unready too; failed pods are ignored.
        (
            50,
            vec![
                running("a"),
                pod("p", "Pending", false),
                pod("f", "Failed", false),
            ],
            vec![usage("a", 100.0)],
            3,
            3,
        ),
    ];
    for (i, (target, pods, samples, current, desired)) in table.into_iter().enumerate() {
        let d = decide(&hpa(cpu(target), Value::Null), current, &pods, &samples);
        assert_eq!(
            d.status.desired_replicas, desired,
            "case {i}: {:?}",
            d.status.conditions
        );
        assert_eq!(
            d.scale_to,
            (desired != current).then_some(desired),
            "case {i}"
        );
    }
}

#[test]
fn average_value_and_memory_targets() {
    let pods = [pod("a", "Running", true), pod("b", "Running", true)];
    let samples = [usage("a", 200.0), usage("b", 200.0)];
    let avg = json!([{"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "AverageValue", "averageValue": "100m"}}}]);
    let d = decide(&hpa(avg, Value::Null), 2, &pods, &samples);
    assert_eq!(d.status.desired_replicas, 4);
    let current = &d.status.current_metrics.clone().unwrap_or_default()[0];
    let value = current
        .resource
        .as_ref()
        .map(|r| r.current.average_value.clone());
    assert_eq!(value.flatten().map(|q| q.0), Some("200m".into()));
    // 50Mi used of 100Mi requested against 25%: twice as many.
    let mem = json!([{"type": "Resource", "resource": {"name": "memory",
        "target": {"type": "Utilization", "averageUtilization": 25}}}]);
    let d = decide(&hpa(mem, Value::Null), 2, &pods, &samples);
    assert_eq!(d.status.desired_replicas, 4);
    let cur = d.status.current_metrics.clone().unwrap_or_default();
    assert_eq!(
        cur[0]
            .resource
            .as_ref()
            .and_then(|r| r.current.average_utilization),
        Some(50)
    );
}

#[test]
fn limits_and_the_scale_down_window() {
    let pods: Vec<Pod> = (0..4)
        .map(|i| pod(&format!("p{i}"), "Running", true))
        .collect();
    let hot: Vec<PodUsage> = (0..4).map(|i| usage(&format!("p{i}"), 500.0)).collect();
    // 1000% against 50%: 40 wanted, max 10.
    let d = decide(&hpa(cpu(50), Value::Null), 4, &pods, &hot);
    assert_eq!(
        d.status.desired_replicas, 8,
        "the scale-up rate limits first (2 x 4)"
    );
    assert_eq!(
        condition(&d, "ScalingLimited"),
        ("True".into(), "ScaleUpLimit".into())
    );
    let d = decide(&hpa(cpu(50), Value::Null), 8, &pods, &hot);
    assert_eq!(
        condition(&d, "ScalingLimited"),
        ("True".into(), "TooManyReplicas".into())
    );
    assert_eq!(d.status.desired_replicas, 10);
    // Idle pods would scale down to 1, but 4 was recommended 100 s ago: stay at 4.
    let idle: Vec<PodUsage> = (0..4).map(|i| usage(&format!("p{i}"), 1.0)).collect();
    let scale = TargetScale {
        replicas: 4,
        selector: "app=web".into(),
    };
    let history = [Recommendation {
        at: T0 - 100,
        replicas: 4,
    }];
    let at = |h: &HorizontalPodAutoscaler, now| {
        reconcile(
            h,
            HpaInput {
                scale: Ok(&scale),
                pods: &pods.iter().collect::<Vec<_>>(),
                metrics: Ok(&idle),
                history: &history,
                scale_events: &[],
                now,
            },
        )
    };
    let d = at(&hpa(cpu(50), Value::Null), T0);
    assert_eq!((d.status.desired_replicas, d.scale_to), (4, None));
    assert_eq!(
        condition(&d, "AbleToScale"),
        ("True".into(), "ScaleDownStabilized".into())
    );
    assert_eq!(
        d.recommendations.len(),
        2,
        "the new recommendation is remembered"
    );
    // Past the window, or with a window of 60 s, it scales down.
    let d = at(&hpa(cpu(50), Value::Null), T0 + 300);
    assert_eq!(d.scale_to, Some(1));
    let short = json!({"scaleDown": {"stabilizationWindowSeconds": 60}});
    let d = at(&hpa(cpu(50), short), T0);
    assert_eq!(d.scale_to, Some(1));
    assert_eq!(
        condition(&d, "AbleToScale"),
        ("True".into(), "SucceededRescale".into())
    );
    assert!(
        d.events.iter().any(|e| e.reason == "SuccessfulRescale"
            && e.message == "New size: 1; reason: All metrics below target"),
        "{:?}",
        d.events
    );
}

mod behavior;
mod missing;
