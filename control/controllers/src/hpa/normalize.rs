//! From the metrics' proposal to the replicas to set (kube's `normalizeDesiredReplicas` and
//! `stabilizeRecommendationWithBehaviors` in horizontal.go): the recommendation is kept
//! between the lowest recent one (scale-up window, default 0 s) and the highest recent one
//! (scale-down window, default 300 s, `behavior.scaleDown.stabilizationWindowSeconds`), then
//! bounded by minReplicas, maxReplicas and the scale-up rate (twice the current count, at
//! least 4). Scaling policies (`behavior.*.policies`) are not applied.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

/// kube's `--horizontal-pod-autoscaler-downscale-stabilization`, seconds.
pub const DOWNSCALE_WINDOW: i64 = 300;

/// A recommendation the controller made, remembered for the stabilization windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recommendation {
    pub at: i64,
    pub replicas: i32,
}

/// A condition to set: status, reason, message.
pub type Cond = (&'static str, &'static str, &'static str);

/// The normalized replica count, the AbleToScale and ScalingLimited conditions, and the
/// recommendations to remember.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalized {
    pub replicas: i32,
    pub able_to_scale: Cond,
    pub scaling_limited: Cond,
    pub recommendations: Vec<Recommendation>,
}

fn windows(hpa: &HorizontalPodAutoscaler) -> (i64, i64) {
    let behavior = hpa.spec.as_ref().and_then(|s| s.behavior.as_ref());
    let window = |rules: Option<&k8s_openapi::api::autoscaling::v2::HPAScalingRules>, default| {
        rules
            .and_then(|r| r.stabilization_window_seconds)
            .map_or(default, i64::from)
    };
    (
        window(behavior.and_then(|b| b.scale_up.as_ref()), 0),
        window(
            behavior.and_then(|b| b.scale_down.as_ref()),
            DOWNSCALE_WINDOW,
        ),
    )
}

/// Stabilizes `proposed` against `history` at `now`, then applies the limits.
pub fn normalize(
    hpa: &HorizontalPodAutoscaler,
    current: i32,
    proposed: i32,
    history: &[Recommendation],
    now: i64,
) -> Normalized {
    let (up_window, down_window) = windows(hpa);
    let (mut up, mut down) = (proposed, proposed);
    for rec in history {
        if rec.at > now - up_window {
            up = up.min(rec.replicas);
        }
        if rec.at > now - down_window {
            down = down.max(rec.replicas);
        }
    }
    let stabilized = current.max(up).min(down);
    let keep_for = up_window.max(down_window);
    let mut recommendations: Vec<Recommendation> = history
        .iter()
        .copied()
        .filter(|r| r.at > now - keep_for)
        .collect();
    recommendations.push(Recommendation {
        at: now,
        replicas: proposed,
    });
    let able_to_scale = if stabilized == proposed {
        (
            "True",
            "ReadyForNewScale",
            "recommended size matches current size",
        )
    } else if proposed >= current {
        (
            "True",
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation",
        )
    } else {
        (
            "True",
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        )
    };
    let (replicas, reason, message) = limits(hpa, current, stabilized);
    let limited = if replicas == stabilized {
        "False"
    } else {
        "True"
    };
    Normalized {
        replicas,
        able_to_scale,
        scaling_limited: (limited, reason, message),
        recommendations,
    }
}

/// `convertDesiredReplicasWithRules`: minReplicas, maxReplicas and the scale-up limit.
fn limits(
    hpa: &HorizontalPodAutoscaler,
    current: i32,
    desired: i32,
) -> (i32, &'static str, &'static str) {
    let spec = hpa.spec.clone().unwrap_or_default();
    let min = spec.min_replicas.unwrap_or(1);
    let scale_up_limit = current.saturating_mul(2).max(4);
    let (max, max_reason, max_message) = if spec.max_replicas > scale_up_limit {
        (
            scale_up_limit,
            "ScaleUpLimit",
            "the desired replica count is increasing faster than the maximum scale rate",
        )
    } else {
        (
            spec.max_replicas,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
        )
    };
    if desired < min {
        (
            min,
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
        )
    } else if desired > max {
        (max, max_reason, max_message)
    } else {
        (
            desired,
            "DesiredWithinRange",
            "the desired count is within the acceptable range",
        )
    }
}
