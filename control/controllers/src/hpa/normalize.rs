//! From the metrics' proposal to the replicas to set (kube's `normalizeDesiredReplicas` and
//! `stabilizeRecommendationWithBehaviors` in horizontal.go): the recommendation is kept
//! between the lowest recent one (scale-up window, default 0 s) and the highest recent one
//! (scale-down window, default 300 s, `behavior.scaleDown.stabilizationWindowSeconds`), then
//! bounded by minReplicas, maxReplicas and the scale-up rate: without `behavior`, twice the
//! current count (at least 4); with it, its policies (`behavior`).

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use super::behavior::{self, Limited, ScaleEvent};

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

/// What normalizing reads: the current and proposed replicas, the remembered
/// recommendations and scale events, and the time.
#[derive(Clone, Copy, Debug)]
pub struct Normalizing<'a> {
    pub current: i32,
    pub proposed: i32,
    pub history: &'a [Recommendation],
    pub events: &'a [ScaleEvent],
    pub now: i64,
}

/// Stabilizes the proposal against the history, then applies the limits: with `behavior`,
/// kube's `normalizeDesiredReplicasWithBehaviors` (both windows, the policies' rates);
/// without, `normalizeDesiredReplicas` (the downscale window, max(2x, 4) up).
pub fn normalize(hpa: &HorizontalPodAutoscaler, n: Normalizing) -> Normalized {
    let spec = hpa.spec.clone().unwrap_or_default();
    let bounds = (spec.min_replicas.unwrap_or(1), spec.max_replicas);
    let rules = behavior::rules(hpa);
    let (up_window, down_window) = rules
        .as_ref()
        .map_or((0, DOWNSCALE_WINDOW), |(up, down)| (up.window, down.window));
    let (mut up, mut down) = (n.proposed, n.proposed);
    for rec in n.history {
        if rec.at > n.now - up_window {
            up = up.min(rec.replicas);
        }
        if rec.at > n.now - down_window {
            down = down.max(rec.replicas);
        }
    }
    let stabilized = match rules {
        Some(_) => n.current.max(up).min(down),
        None => down,
    };
    let keep_for = up_window.max(down_window);
    let mut recommendations: Vec<Recommendation> = n
        .history
        .iter()
        .copied()
        .filter(|r| r.at > n.now - keep_for)
        .collect();
    recommendations.push(Recommendation {
        at: n.now,
        replicas: n.proposed,
    });
    let able_to_scale = stabilized_condition(rules.is_some(), (n.current, n.proposed), stabilized);
    let (replicas, reason, message) = match &rules {
        Some((up, down)) => {
            behavior::rate_limited((n.current, stabilized), bounds, (up, down), n.events, n.now)
        }
        None => limits(bounds, n.current, stabilized),
    };
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

/// The AbleToScale condition after stabilizing (without `behavior`, only the downscale
/// window applies, and kube words every change as that).
fn stabilized_condition(behavior: bool, (current, proposed): (i32, i32), stabilized: i32) -> Cond {
    if stabilized == proposed {
        (
            "True",
            "ReadyForNewScale",
            "recommended size matches current size",
        )
    } else if behavior && proposed >= current {
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
    }
}

/// `convertDesiredReplicasWithRules`: minReplicas, maxReplicas and the scale-up limit.
fn limits((min, max): (i32, i32), current: i32, desired: i32) -> Limited {
    let scale_up_limit = current.saturating_mul(2).max(4);
    let (max, max_reason, max_message) = if max > scale_up_limit {
        (
            scale_up_limit,
            "ScaleUpLimit",
            "the desired replica count is increasing faster than the maximum scale rate",
        )
    } else {
        (
            max,
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
