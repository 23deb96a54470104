//! `spec.behavior` (autoscaling/v2): the scaling rules of each direction, their policies and
//! the rate they allow, as kube-controller-manager's horizontal.go applies them
//! (`convertDesiredReplicasWithBehaviorRate`, `calculateScaleUpLimitWithScalingRules`,
//! `calculateScaleDownLimitWithBehaviors`, `getReplicasChangePerPeriod`, `storeScaleEvent`).
//! Rules missing a field get the API's defaults (`GenerateHPAScaleUpRules`,
//! `GenerateHPAScaleDownRules`): up, no window, the larger of 4 pods and 100% per 15 s;
//! down, the controller's window (300 s), 100% per 15 s.

use k8s_openapi::api::autoscaling::v2::{HPAScalingRules, HorizontalPodAutoscaler};

use super::normalize::DOWNSCALE_WINDOW;

/// A change of the target's scale the controller made: `change` replicas (positive up,
/// negative down) at `at`, seconds since the epoch. Kept for the policies' periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    pub at: i64,
    pub change: i32,
}

/// `selectPolicy`: which policy's limit wins, or no scaling in that direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// The policy that allows the largest change (the default).
    Max,
    /// The policy that allows the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// One `HPAScalingPolicy`: at most `value` pods or percent per `period` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub percent: bool,
    pub value: i32,
    pub period: i64,
}

/// One direction's `HPAScalingRules`, defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub window: i64,
    pub select: Select,
    pub policies: Vec<Policy>,
}

/// The scale-up and scale-down rules, or `None` when the HPA has no `behavior` (kube then
/// takes the older path: downscale window only, scale-up limit of max(2x, 4)).
pub fn rules(hpa: &HorizontalPodAutoscaler) -> Option<(Rules, Rules)> {
    let behavior = hpa.spec.as_ref()?.behavior.as_ref()?;
    let up_default = [(false, 4, 15), (true, 100, 15)];
    let up = direction(behavior.scale_up.as_ref(), 0, &up_default);
    let down = direction(
        behavior.scale_down.as_ref(),
        DOWNSCALE_WINDOW,
        &[(true, 100, 15)],
    );
    Some((up, down))
}

fn direction(rules: Option<&HPAScalingRules>, window: i64, policies: &[(bool, i32, i64)]) -> Rules {
    let select = match rules.and_then(|r| r.select_policy.as_deref()) {
        Some("Disabled") => Select::Disabled,
        Some("Min") => Select::Min,
        _ => Select::Max,
    };
    let policies = match rules.and_then(|r| r.policies.as_ref()) {
        Some(given) => given
            .iter()
            .filter_map(|p| {
                let percent = match p.type_.as_str() {
                    "Percent" => true,
                    "Pods" => false,
                    _ => return None,
                };
                Some(Policy {
                    percent,
                    value: p.value,
                    period: i64::from(p.period_seconds),
                })
            })
            .collect(),
        None => policies
            .iter()
            .map(|&(percent, value, period)| Policy {
                percent,
                value,
                period,
            })
            .collect(),
    };
    Rules {
        window: rules
            .and_then(|r| r.stabilization_window_seconds)
            .map_or(window, i64::from),
        select,
        policies,
    }
}

/// The replicas added (`up`) or removed in the last `period` seconds.
fn changed_in_period(events: &[ScaleEvent], period: i64, now: i64, up: bool) -> i64 {
    events
        .iter()
        .filter(|e| e.at > now - period && (e.change > 0) == up)
        .map(|e| i64::from(e.change.unsigned_abs()))
        .sum()
}

/// The replica count at the start of the policy's period.
fn period_start(current: i32, events: &[ScaleEvent], policy: &Policy, now: i64) -> i64 {
    i64::from(current) - changed_in_period(events, policy.period, now, true)
        + changed_in_period(events, policy.period, now, false)
}

fn clamp(n: i64) -> i32 {
    i32::try_from(n.clamp(i64::from(i32::MIN), i64::from(i32::MAX))).unwrap_or(i32::MAX)
}

/// The most replicas the scale-up rules allow now (`current` when disabled).
pub fn scale_up_limit(current: i32, events: &[ScaleEvent], rules: &Rules, now: i64) -> i32 {
    let proposals = rules.policies.iter().map(|p| {
        let start = period_start(current, events, p, now);
        if p.percent {
            (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
        } else {
            start + i64::from(p.value)
        }
    });
    let limit = match rules.select {
        Select::Disabled => return current,
        Select::Min => proposals.min().unwrap_or(i64::from(i32::MAX)),
        Select::Max => proposals.max().unwrap_or(i64::from(i32::MIN)),
    };
    clamp(limit)
}

/// The fewest replicas the scale-down rules allow now (`current` when disabled).
pub fn scale_down_limit(current: i32, events: &[ScaleEvent], rules: &Rules, now: i64) -> i32 {
    let proposals = rules.policies.iter().map(|p| {
        let start = period_start(current, events, p, now);
        if p.percent {
            (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64
        } else {
            start - i64::from(p.value)
        }
    });
    let limit = match rules.select {
        Select::Disabled => return current,
        Select::Min => proposals.max().unwrap_or(i64::from(i32::MIN)),
        Select::Max => proposals.min().unwrap_or(i64::from(i32::MAX)),
    };
    clamp(limit)
}

/// A limit on the replica count: value, ScalingLimited reason and message.
pub type Limited = (i32, &'static str, &'static str);

/// `convertDesiredReplicasWithBehaviorRate`: `desired` bounded by minReplicas, maxReplicas
/// and what the rules of its direction allow.
pub fn rate_limited(
    (current, desired): (i32, i32),
    (min, max): (i32, i32),
    (up, down): (&Rules, &Rules),
    events: &[ScaleEvent],
    now: i64,
) -> Limited {
    if desired > current {
        let limit = scale_up_limit(current, events, up, now).max(current);
        let allowed = if max > limit {
            (
                limit,
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
        if desired > allowed.0 {
            return allowed;
        }
    } else if desired < current {
        let limit = scale_down_limit(current, events, down, now).min(current);
        let allowed = if min < limit {
            (
                limit,
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
            )
        } else {
            (
                min,
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            )
        };
        if desired < allowed.0 {
            return allowed;
        }
    }
    (
        desired,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    )
}

/// `storeScaleEvent`: the events to keep after a rescale from `from` to `to` at `now`, those
/// older than the longest policy period of the direction dropped.
pub fn remember(
    events: &[ScaleEvent],
    (up, down): (&Rules, &Rules),
    (from, to): (i32, i32),
    now: i64,
) -> Vec<ScaleEvent> {
    let rules = if to > from { up } else { down };
    let longest = rules.policies.iter().map(|p| p.period).max().unwrap_or(0);
    let going_up = to > from;
    let mut kept: Vec<ScaleEvent> = events
        .iter()
        .copied()
        .filter(|e| (e.change > 0) != going_up || e.at > now - longest)
        .collect();
    if to != from {
        kept.push(ScaleEvent {
            at: now,
            change: to.saturating_sub(from),
        });
    }
    kept
}
