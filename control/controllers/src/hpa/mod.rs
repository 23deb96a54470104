//! The HorizontalPodAutoscaler decision (kube-controller-manager's `podautoscaler`
//! controller, autoscaling/v2, Resource metrics): from the target's scale, its pods, their
//! `metrics.k8s.io` usage and the recent recommendations, the replica count to set and the
//! status (`currentReplicas`, `desiredReplicas`, `currentMetrics`, `lastScaleTime`, the
//! AbleToScale, ScalingActive and ScalingLimited conditions) and the events to record.
//!
//! - `calculator`: one metric's proposal (tolerance, missing and unready pods).
//! - `normalize`: stabilization windows and the min/max/rate limits.
//! - `behavior`: `spec.behavior`'s scaling policies, `selectPolicy` and the scale events
//!   they count.
//! - `status`: the conditions, current metrics and messages in kube's words.
//!
//! Deviations: Pods, Object, External and ContainerResource metrics are refused as
//! unsupported.

mod behavior;
mod calculator;
mod normalize;
mod status;

#[cfg(test)]
mod tests;

use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerStatus, MetricSpec, MetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use skiff_api::selector::LabelSelector;

pub use behavior::ScaleEvent;
pub use calculator::{CPU_INITIALIZATION_PERIOD, Proposal, TOLERANCE, Target};
pub use normalize::{DOWNSCALE_WINDOW, Recommendation};
pub use status::HpaEvent;
use status::{Conditions, Note};

/// A resource the metrics API reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    /// Its name in requests and in metric specs.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }
}

/// One pod's usage from `metrics.k8s.io` PodMetrics: summed over its containers, in cores and
/// bytes (`None` when a container lacks the resource); sample time and window in seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct PodUsage {
    pub pod: String,
    pub timestamp: i64,
    pub window: i64,
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
}

impl PodUsage {
    fn usage(&self, r: Resource) -> Option<f64> {
        match r {
            Resource::Cpu => self.cpu,
            Resource::Memory => self.memory,
        }
    }
}

/// Why a metric gave no proposal (kube's messages).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetricProblem {
    #[error("unable to get metrics for resource {}: {why}", resource.name())]
    Unavailable { resource: Resource, why: String },
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    #[error("did not receive metrics for targeted pods (pods might be unready)")]
    NoReadyMetrics,
    #[error("missing request for {} in container {container} of Pod {pod}", resource.name())]
    MissingRequest {
        resource: Resource,
        container: String,
        pod: String,
    },
}

/// The target's `/scale`: `spec.replicas` and `status.selector`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetScale {
    pub replicas: i32,
    pub selector: String,
}

/// What one reconcile knows.
#[derive(Clone, Copy, Debug)]
pub struct HpaInput<'a> {
    /// The target's scale, or why it could not be read.
    pub scale: Result<&'a TargetScale, &'a str>,
    /// The pods of the HPA's namespace (borrowed from the shared cache, never copied).
    pub pods: &'a [&'a Pod],
    /// Every pod's usage, or why the metrics API did not answer.
    pub metrics: Result<&'a [PodUsage], &'a str>,
    /// The recommendations remembered from earlier reconciles.
    pub history: &'a [Recommendation],
    /// The scale changes remembered from earlier reconciles (only with `behavior`).
    pub scale_events: &'a [ScaleEvent],
    /// Seconds since the epoch.
    pub now: i64,
}

/// What to do: scale the target, write the status, remember, record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HpaDecision {
    pub scale_to: Option<i32>,
    pub status: HorizontalPodAutoscalerStatus,
    pub recommendations: Vec<Recommendation>,
    pub scale_events: Vec<ScaleEvent>,
    pub events: Vec<HpaEvent>,
}

/// Decides one HorizontalPodAutoscaler (kube's `reconcileAutoscaler`).
pub fn reconcile(hpa: &HorizontalPodAutoscaler, input: HpaInput) -> HpaDecision {
    let old = hpa.status.clone().unwrap_or_default();
    let mut conds = Conditions::new(old.conditions.clone().unwrap_or_default(), input.now);
    let mut out = HpaDecision {
        recommendations: input.history.to_vec(),
        scale_events: input.scale_events.to_vec(),
        ..HpaDecision::default()
    };
    let scale = match input.scale {
        Ok(scale) => scale,
        Err(why) => {
            let message =
                format!("the HPA controller was unable to get the target's current scale: {why}");
            conds.set("AbleToScale", ("False", "FailedGetScale"), &message);
            out.events
                .push(HpaEvent::warning("FailedGetScale", why.to_owned()));
            let replicas = (old.current_replicas, old.desired_replicas);
            let metrics = old.current_metrics.clone();
            return finish(hpa, &old, (out, conds), replicas, metrics);
        }
    };
    conds.set(
        "AbleToScale",
        ("True", "SucceededGetScale"),
        "the HPA controller was able to get the target's current scale",
    );
    let spec = hpa.spec.clone().unwrap_or_default();
    let (current, min) = (scale.replicas, spec.min_replicas.unwrap_or(1));
    if current == 0 && min != 0 {
        conds.set(
            "ScalingActive",
            ("False", "ScalingDisabled"),
            "scaling is disabled since the replica count of the target is zero",
        );
        return finish(hpa, &old, (out, conds), (Some(current), 0), None);
    }
    let (desired, reason, metrics) = match out_of_bounds(current, min, spec.max_replicas) {
        Some((desired, reason)) => (desired, reason.to_owned(), None),
        None => match from_metrics(hpa, scale, &input, &mut conds, &mut out) {
            Ok((desired, reason, statuses)) => (desired, reason, Some(statuses)),
            Err(statuses) => {
                let replicas = (Some(current), old.desired_replicas);
                return finish(hpa, &old, (out, conds), replicas, Some(statuses));
            }
        },
    };
    let out = finish(hpa, &old, (out, conds), (Some(current), desired), metrics);
    if desired == current {
        return out;
    }
    let mut out = rescaled(out, desired, &reason, input.now);
    if let Some((up, down)) = behavior::rules(hpa) {
        let (events, change) = (input.scale_events, (current, desired));
        out.scale_events = behavior::remember(events, (&up, &down), change, input.now);
    }
    out
}

/// A target outside `[min, max]` goes to the nearer bound, whatever the metrics say.
fn out_of_bounds(current: i32, min: i32, max: i32) -> Option<(i32, &'static str)> {
    if current > max {
        Some((max, "Current number of replicas above Spec.MaxReplicas"))
    } else if current < min {
        Some((min, "Current number of replicas below Spec.MinReplicas"))
    } else {
        None
    }
}

/// The decision with its status written: `(current, desired)` replicas and the metrics.
fn finish(
    hpa: &HorizontalPodAutoscaler,
    old: &HorizontalPodAutoscalerStatus,
    (mut out, conds): (HpaDecision, Conditions),
    (current, desired): (Option<i32>, i32),
    metrics: Option<Vec<MetricStatus>>,
) -> HpaDecision {
    out.status = HorizontalPodAutoscalerStatus {
        conditions: Some(conds.into_vec()),
        current_metrics: metrics,
        current_replicas: current,
        desired_replicas: desired,
        last_scale_time: old.last_scale_time.clone(),
        observed_generation: hpa.metadata.generation,
    };
    out
}

/// The metrics' proposal, stabilized and limited: (replicas, rescale reason, current
/// metrics), or the current metrics when no replica count could be computed.
fn from_metrics(
    hpa: &HorizontalPodAutoscaler,
    scale: &TargetScale,
    input: &HpaInput,
    conds: &mut Conditions,
    out: &mut HpaDecision,
) -> Result<(i32, String, Vec<MetricStatus>), Vec<MetricStatus>> {
    let spec = hpa.spec.clone().unwrap_or_default();
    let current = scale.replicas;
    let selected = selected_pods(scale, input.pods);
    let specs = metric_specs(&spec.metrics);
    let (proposed, metric, statuses, notes) =
        match status::from_metrics(&specs, current, &selected, input, conds) {
            Ok(found) => found,
            Err(Note { events, statuses }) => {
                out.events.extend(events);
                return Err(statuses);
            }
        };
    out.events.extend(notes);
    let n = normalize::normalize(
        hpa,
        normalize::Normalizing {
            current,
            proposed,
            history: input.history,
            events: input.scale_events,
            now: input.now,
        },
    );
    let (able, limited) = (n.able_to_scale, n.scaling_limited);
    conds.set("AbleToScale", (able.0, able.1), able.2);
    conds.set("ScalingLimited", (limited.0, limited.1), limited.2);
    out.recommendations = n.recommendations;
    let reason = if n.replicas > current {
        format!("{metric} above target")
    } else {
        "All metrics below target".to_owned()
    };
    Ok((n.replicas, reason, statuses))
}

/// A decision that changes the target's scale: `scale_to`, `lastScaleTime`, the
/// SucceededRescale condition and the SuccessfulRescale event.
fn rescaled(mut out: HpaDecision, desired: i32, reason: &str, now: i64) -> HpaDecision {
    out.scale_to = Some(desired);
    out.status.last_scale_time = Some(crate::common::time_at(now));
    let mut conds = Conditions::new(out.status.conditions.take().unwrap_or_default(), now);
    let message = format!("the HPA controller was able to update the target scale to {desired}");
    conds.set("AbleToScale", ("True", "SucceededRescale"), &message);
    out.status.conditions = Some(conds.into_vec());
    out.events.push(HpaEvent::normal(
        "SuccessfulRescale",
        format!("New size: {desired}; reason: {reason}"),
    ));
    out
}

/// The metrics of the spec; none means CPU at 80% utilization (the API's default).
fn metric_specs(metrics: &Option<Vec<MetricSpec>>) -> Vec<MetricSpec> {
    match metrics {
        Some(m) if !m.is_empty() => m.clone(),
        _ => vec![serde_json::from_value(serde_json::json!({"type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}))
        .unwrap_or_default()],
    }
}

/// The pods the scale's selector selects (none when it does not parse).
fn selected_pods<'a>(scale: &TargetScale, pods: &[&'a Pod]) -> Vec<&'a Pod> {
    let Ok(sel) = LabelSelector::parse(&scale.selector) else {
        return Vec::new();
    };
    if sel.is_empty() {
        return Vec::new();
    }
    pods.iter()
        .copied()
        .filter(|p| sel.matches(&crate::common::labels_of(&p.metadata)))
        .collect()
}
