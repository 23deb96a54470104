//! HorizontalPodAutoscaler decisions when the metrics API or the target's scale is missing:
//! the conditions and events kube's controller writes.

use super::*;

#[test]
fn missing_metrics_api_and_scale() {
    let pods = [pod("a", "Running", true)];
    let scale = TargetScale {
        replicas: 2,
        selector: "app=web".into(),
    };
    let why = "the server could not find the requested resource (get pods.metrics.k8s.io)";
    let h = hpa(cpu(50), Value::Null);
    let d = reconcile(
        &h,
        HpaInput {
            scale: Ok(&scale),
            pods: &pods.iter().collect::<Vec<_>>(),
            metrics: Err(why),
            history: &[],
            scale_events: &[],
            now: T0,
        },
    );
    assert_eq!(d.scale_to, None);
    assert_eq!(
        condition(&d, "ScalingActive"),
        ("False".into(), "FailedGetResourceMetric".into())
    );
    assert_eq!(
        condition(&d, "AbleToScale"),
        ("True".into(), "SucceededGetScale".into())
    );
    assert_eq!(d.status.current_replicas, Some(2));
    let reasons: Vec<&str> = d.events.iter().map(|e| e.reason).collect();
    assert_eq!(
        reasons,
        ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]
    );
    assert!(
        d.events[0]
            .message
            .contains("unable to get metrics for resource cpu"),
        "{:?}",
        d.events
    );
    // No scale: AbleToScale False.
    let d = reconcile(
        &h,
        HpaInput {
            scale: Err("deployments.apps \"web\" not found"),
            pods: &pods.iter().collect::<Vec<_>>(),
            metrics: Err(why),
            history: &[],
            scale_events: &[],
            now: T0,
        },
    );
    assert_eq!(
        condition(&d, "AbleToScale"),
        ("False".into(), "FailedGetScale".into())
    );
    // A target at zero replicas disables scaling; one under minReplicas is raised to it.
    let zero = TargetScale {
        replicas: 0,
        selector: "app=web".into(),
    };
    let d = reconcile(
        &h,
        HpaInput {
            scale: Ok(&zero),
            pods: &pods.iter().collect::<Vec<_>>(),
            metrics: Err(why),
            history: &[],
            scale_events: &[],
            now: T0,
        },
    );
    assert_eq!(
        condition(&d, "ScalingActive"),
        ("False".into(), "ScalingDisabled".into())
    );
    let mut raised = hpa(cpu(50), Value::Null);
    raised.spec.as_mut().expect("spec").min_replicas = Some(3);
    let d = reconcile(
        &raised,
        HpaInput {
            scale: Ok(&scale),
            pods: &pods.iter().collect::<Vec<_>>(),
            metrics: Err(why),
            history: &[],
            scale_events: &[],
            now: T0,
        },
    );
    assert_eq!(d.scale_to, Some(3));
    // A container without a CPU request cannot be measured by utilization.
    let mut bare = pod("a", "Running", true);
    bare.spec.as_mut().expect("spec").containers[0].resources = None;
    let d = decide(&h, 1, &[bare], &[usage("a", 10.0)]);
    assert_eq!(
        condition(&d, "ScalingActive"),
        ("False".into(), "FailedGetResourceMetric".into())
    );
}
