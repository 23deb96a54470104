//! The HPA's status pieces: conditions set as kube's `setCondition` (the transition time
//! moves only when the status does), events, and every metric's proposal with its
//! `currentMetrics` entry and the ScalingActive condition (`computeReplicasForMetrics`).

use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscalerCondition, MetricSpec, MetricStatus, MetricValueStatus,
    ResourceMetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use skiff_api::validate::quantity::parse_quantity;

use super::calculator::{Proposal, Target, replicas};
use super::{HpaInput, MetricProblem, Resource};
use crate::common::time_at;

/// An Event to record on the HPA: type, reason, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpaEvent {
    pub type_: &'static str,
    pub reason: &'static str,
    pub message: String,
}

impl HpaEvent {
    pub(super) fn normal(reason: &'static str, message: String) -> HpaEvent {
        HpaEvent {
            type_: "Normal",
            reason,
            message,
        }
    }
    pub(super) fn warning(reason: &'static str, message: String) -> HpaEvent {
        HpaEvent {
            type_: "Warning",
            reason,
            message,
        }
    }
}

/// The HPA's conditions, being updated at `now`.
pub(super) struct Conditions {
    list: Vec<HorizontalPodAutoscalerCondition>,
    now: i64,
}

impl Conditions {
    pub(super) fn new(list: Vec<HorizontalPodAutoscalerCondition>, now: i64) -> Conditions {
        Conditions { list, now }
    }

    pub(super) fn set(&mut self, type_: &str, (status, reason): (&str, &str), message: &str) {
        let since = self
            .list
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| time_at(self.now));
        let cond = HorizontalPodAutoscalerCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_transition_time: Some(since),
        };
        match self.list.iter_mut().find(|c| c.type_ == type_) {
            Some(c) => *c = cond,
            None => self.list.push(cond),
        }
    }

    pub(super) fn into_vec(self) -> Vec<HorizontalPodAutoscalerCondition> {
        self.list
    }
}

/// All metrics invalid (or some, while the valid ones would scale down): the events and
/// the statuses of the valid ones.
pub(super) struct Note {
    pub(super) events: Vec<HpaEvent>,
    pub(super) statuses: Vec<MetricStatus>,
}

/// One metric: its resource, target and name in messages, or why it is unusable.
fn parse_spec(spec: &MetricSpec) -> Result<(Resource, Target, String), (&'static str, String)> {
    let Some(source) = spec.resource.as_ref().filter(|_| spec.type_ == "Resource") else {
        return Err((
            "InvalidMetricSourceType",
            format!("unknown metric source type {:?}", spec.type_),
        ));
    };
    let resource = match source.name.as_str() {
        "cpu" => Resource::Cpu,
        "memory" => Resource::Memory,
        other => {
            return Err((
                "FailedGetResourceMetric",
                format!("failed to get {other} utilization: unsupported resource {other}"),
            ));
        }
    };
    let r = resource.name();
    let t = &source.target;
    match (t.average_utilization, t.average_value.as_ref()) {
        (Some(u), _) => Ok((resource, Target::Utilization(u), format!("{r} resource utilization (percentage of request)"))),
        (None, Some(v)) => match parse_quantity(&v.0) {
            Some(v) => Ok((resource, Target::AverageValue(v), format!("{r} resource"))),
            None => Err(("FailedGetResourceMetric", format!("invalid average value {:?}", v.0))),
        },
        (None, None) => Err((
            "FailedGetResourceMetric",
            "invalid resource metric source: neither a utilization target nor a value target was set".into(),
        )),
    }
}

/// A proposal as a `currentMetrics` entry.
fn metric_status(resource: Resource, p: &Proposal) -> MetricStatus {
    let milli = p.average_milli;
    let value = if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else {
        format!("{milli}m")
    };
    MetricStatus {
        type_: "Resource".into(),
        resource: Some(ResourceMetricStatus {
            name: resource.name().into(),
            current: MetricValueStatus {
                average_utilization: p.utilization,
                average_value: Some(Quantity(value)),
                value: None,
            },
        }),
        ..MetricStatus::default()
    }
}

/// One metric's proposal with its resource and its name in messages, or the event reason
/// and message saying why the metric gives none.
fn propose(
    spec: &MetricSpec,
    current: i32,
    pods: &[&Pod],
    input: &HpaInput,
) -> Result<(Resource, Proposal, String), (&'static str, String)> {
    parse_spec(spec).and_then(|(resource, target, name)| {
        let usage = input.metrics.map_err(|why| MetricProblem::Unavailable {
            resource,
            why: why.to_owned(),
        });
        let what = match target {
            Target::Utilization(_) => "utilization",
            Target::AverageValue(_) => "usage",
        };
        usage
            .and_then(|u| replicas(current, target, resource, pods, u, input.now))
            .map(|p| (resource, p, name))
            .map_err(|e| {
                (
                    "FailedGetResourceMetric",
                    format!("failed to get {} {what}: {e}", resource.name()),
                )
            })
    })
}

/// `message` as the summary of invalid metrics names it: prefixed with the resource whose
/// value could not be had, when the spec names one.
fn wrapped_error(spec: &MetricSpec, message: &str) -> String {
    match spec.resource.as_ref() {
        Some(r) => format!("failed to get {} resource metric value: {message}", r.name),
        None => message.to_owned(),
    }
}

/// The first unusable metric: the event reason, its message and the message as wrapped
/// for the summary.
type FirstError = (&'static str, String, String);

/// Sets ScalingActive False for the `first` unusable metric and answers the
/// FailedComputeMetricsReplicas event counting `invalid` of `total` metrics.
fn invalid_metrics(
    conds: &mut Conditions,
    (reason, message, wrapped): FirstError,
    invalid: usize,
    total: usize,
) -> HpaEvent {
    conds.set(
        "ScalingActive",
        ("False", reason),
        &format!("the HPA was unable to compute the replica count: {message}"),
    );
    let summary =
        format!("invalid metrics ({invalid} invalid out of {total}), first error is: {wrapped}");
    HpaEvent::warning("FailedComputeMetricsReplicas", summary)
}

/// Every metric's proposal; the highest wins (kube's `computeReplicasForMetrics`). Sets
/// ScalingActive; answers (replicas, metric name, statuses, events) or the failure.
pub(super) fn from_metrics(
    specs: &[MetricSpec],
    current: i32,
    pods: &[&Pod],
    input: &HpaInput,
    conds: &mut Conditions,
) -> Result<(i32, String, Vec<MetricStatus>, Vec<HpaEvent>), Note> {
    let (mut best, mut statuses, mut events) = (None::<(i32, String)>, Vec::new(), Vec::new());
    let (mut invalid, mut first) = (0, None::<FirstError>);
    for spec in specs {
        match propose(spec, current, pods, input) {
            Ok((resource, p, name)) => {
                statuses.push(metric_status(resource, &p));
                if best.as_ref().is_none_or(|(r, _)| p.replicas > *r) {
                    best = Some((p.replicas, name));
                }
            }
            Err((reason, message)) => {
                events.push(HpaEvent::warning(reason, message.clone()));
                let wrapped = wrapped_error(spec, &message);
                first.get_or_insert((reason, message, wrapped));
                invalid += 1;
            }
        }
    }
    let proposed = best.as_ref().map_or(0, |(r, _)| *r);
    if let Some(first) = first.filter(|_| invalid >= specs.len() || proposed < current) {
        events.push(invalid_metrics(conds, first, invalid, specs.len()));
        return Err(Note { events, statuses });
    }
    let (replicas, name) = best.unwrap_or((current, String::new()));
    conds.set(
        "ScalingActive",
        ("True", "ValidMetricFound"),
        &format!("the HPA was able to successfully calculate a replica count from {name}"),
    );
    Ok((replicas, name, statuses, events))
}
