//! The replica calculator for Resource metrics (kube's pkg/controller/podautoscaler
//! replica_calculator.go, `GetResourceReplicas` and `GetRawResourceReplicas`): pods sorted
//! into ready, unready, missing a metric and ignored; a usage ratio against the target; no
//! change within the tolerance; missing pods assumed at the target when scaling down and
//! idle when scaling up, unready pods idle when scaling up; and no scale against the
//! direction the ratio says.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;

use super::{MetricProblem, PodUsage, Resource};
use crate::common::{is_terminating, secs};

/// kube's default `--horizontal-pod-autoscaler-tolerance`.
pub const TOLERANCE: f64 = 0.1;
/// `--horizontal-pod-autoscaler-cpu-initialization-period`, seconds.
pub const CPU_INITIALIZATION_PERIOD: i64 = 300;
/// `--horizontal-pod-autoscaler-initial-readiness-delay`, seconds.
pub const INITIAL_READINESS_DELAY: i64 = 30;

/// What one metric proposes: the replica count and the current value (utilization percent
/// for a Utilization target, and the average usage in milli-units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proposal {
    pub replicas: i32,
    pub utilization: Option<i32>,
    pub average_milli: i64,
}

/// A target: a percentage of the pods' requests, or an average value in base units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    Utilization(i32),
    AverageValue(f64),
}

/// Pods sorted by `groupPods`.
struct Groups {
    ready: usize,
    unready: BTreeSet<String>,
    missing: BTreeSet<String>,
}

impl Groups {
    /// Whether the usage ratio asks to scale up while some pods are unready (kube then
    /// counts those as using nothing).
    fn scale_up_with_unready(&self, usage_ratio: f64) -> bool {
        !self.unready.is_empty() && usage_ratio > 1.0
    }
}

/// Sorts `pods` as kube's `groupPods`: ready with a sample, unready (pending, or a CPU
/// sample from their start-up), missing a sample; terminating and failed pods are ignored.
fn group(
    pods: &[&Pod],
    usage: &BTreeMap<String, (f64, &PodUsage)>,
    resource: Resource,
    now: i64,
) -> Groups {
    let mut g = Groups {
        ready: 0,
        unready: BTreeSet::new(),
        missing: BTreeSet::new(),
    };
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let phase = status.phase.as_deref().unwrap_or("");
        if is_terminating(&pod.metadata) || phase == "Failed" {
            continue;
        }
        if phase == "Pending" {
            g.unready.insert(name);
            continue;
        }
        let Some((_, sample)) = usage.get(&name) else {
            g.missing.insert(name);
            continue;
        };
        if resource == Resource::Cpu && cpu_unready(pod, sample, now) {
            g.unready.insert(name);
            continue;
        }
        g.ready += 1;
    }
    g
}

/// Whether a CPU sample of `pod` is to be ignored as the pod's start-up.
fn cpu_unready(pod: &Pod, sample: &PodUsage, now: i64) -> bool {
    let status = pod.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Ready");
    let (Some(ready), Some(start)) = (ready, status.start_time.as_ref().map(secs)) else {
        return true;
    };
    let transition = ready.last_transition_time.as_ref().map_or(start, secs);
    if start + CPU_INITIALIZATION_PERIOD > now {
        ready.status == "False" || sample.timestamp < transition + sample.window
    } else {
        ready.status == "False" && start + INITIAL_READINESS_DELAY > transition
    }
}

/// The replicas `target` asks of `pods` (the target's, selected) given their usage of
/// `resource`, with `current` replicas now.
pub fn replicas(
    current: i32,
    target: Target,
    resource: Resource,
    pods: &[&Pod],
    samples: &[PodUsage],
    now: i64,
) -> Result<Proposal, MetricProblem> {
    let usage = usage_by_pod(samples, resource);
    if pods.is_empty() {
        return Err(MetricProblem::NoPods);
    }
    let groups = group(pods, &usage, resource, now);
    let mut values = counted_values(usage, pods, &groups);
    if values.is_empty() {
        return Err(MetricProblem::NoReadyMetrics);
    }
    let requests = match target {
        Target::Utilization(_) => Some(requests_of(pods, resource)?),
        Target::AverageValue(_) => None,
    };
    let ratio_of = |values: &BTreeMap<String, f64>| ratio(values, requests.as_ref(), target);
    let (usage_ratio, utilization, average) = ratio_of(&values);
    let proposal = |replicas| Proposal {
        replicas,
        utilization,
        average_milli: average,
    };
    if !groups.scale_up_with_unready(usage_ratio) && groups.missing.is_empty() {
        if (1.0 - usage_ratio).abs() <= TOLERANCE {
            return Ok(proposal(current));
        }
        return Ok(proposal(ceil(usage_ratio * groups.ready as f64)));
    }
    assume_unmeasured(&mut values, &groups, usage_ratio, target, requests.as_ref());
    let (new_ratio, _, _) = ratio_of(&values);
    Ok(proposal(rebalanced(
        current,
        usage_ratio,
        new_ratio,
        values.len(),
    )))
}

/// Each pod's sample of `resource` (its usage and the sample), by pod name.
fn usage_by_pod(samples: &[PodUsage], resource: Resource) -> BTreeMap<String, (f64, &PodUsage)> {
    samples
        .iter()
        .filter_map(|s| Some((s.pod.clone(), (s.usage(resource)?, s))))
        .collect()
}

/// Records the usage assumed for the pods without a counted sample: a pod missing one uses
/// its request (or the target value) when scaling down and nothing when scaling up; an
/// unready pod uses nothing when scaling up.
fn assume_unmeasured(
    values: &mut BTreeMap<String, f64>,
    groups: &Groups,
    usage_ratio: f64,
    target: Target,
    requests: Option<&BTreeMap<String, f64>>,
) {
    for name in &groups.missing {
        let assumed = match (usage_ratio < 1.0, target, requests) {
            (false, _, _) => 0.0,
            (true, Target::Utilization(_), Some(r)) => r.get(name).copied().unwrap_or(0.0),
            (true, Target::AverageValue(v), _) => v,
            (true, Target::Utilization(_), None) => 0.0,
        };
        values.insert(name.clone(), assumed);
    }
    if groups.scale_up_with_unready(usage_ratio) {
        for name in &groups.unready {
            values.insert(name.clone(), 0.0);
        }
    }
}

/// The usage of the pods that count: alive, ready, not being deleted, not failed.
fn counted_values(
    mut usage: BTreeMap<String, (f64, &PodUsage)>,
    pods: &[&Pod],
    groups: &Groups,
) -> BTreeMap<String, f64> {
    let live: BTreeSet<String> = pods
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    usage.retain(|name, _| live.contains(name) && !groups.unready.contains(name));
    // Ignored pods (deleting, failed) keep no sample either.
    usage.retain(|name, _| {
        pods.iter().any(|p| {
            p.metadata.name.as_deref() == Some(name)
                && !is_terminating(&p.metadata)
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Failed")
        })
    });
    usage.into_iter().map(|(k, (v, _))| (k, v)).collect()
}

/// The replica count after assuming usage for pods without one: unchanged when the new
/// ratio is within tolerance, flips direction, or would move against the measured ratio.
fn rebalanced(current: i32, usage_ratio: f64, new_ratio: f64, pods: usize) -> i32 {
    let flips = (usage_ratio < 1.0 && new_ratio > 1.0) || (usage_ratio > 1.0 && new_ratio < 1.0);
    if (1.0 - new_ratio).abs() <= TOLERANCE || flips {
        return current;
    }
    let new_replicas = ceil(new_ratio * pods as f64);
    if (new_ratio < 1.0 && new_replicas > current) || (new_ratio > 1.0 && new_replicas < current) {
        return current;
    }
    new_replicas
}

fn ceil(x: f64) -> i32 {
    // Replica counts are small; the saturating cast is the bound.
    x.ceil() as i32
}

/// The usage ratio, the utilization (percent) and the average usage (milli-units) of
/// `values` (`GetResourceUtilizationRatio` / `GetMetricUsageRatio`).
fn ratio(
    values: &BTreeMap<String, f64>,
    requests: Option<&BTreeMap<String, f64>>,
    target: Target,
) -> (f64, Option<i32>, i64) {
    let total: f64 = values.values().sum();
    let average = total / values.len().max(1) as f64;
    let average_milli = (average * 1000.0).round() as i64;
    match (target, requests) {
        (Target::Utilization(t), Some(requests)) => {
            let requested: f64 = values.keys().filter_map(|k| requests.get(k)).sum();
            let utilization = if requested > 0.0 {
                (total * 100.0 / requested).floor()
            } else {
                0.0
            };
            let ratio = utilization / f64::from(t.max(1));
            (ratio, Some(utilization as i32), average_milli)
        }
        (Target::AverageValue(v), _) if v > 0.0 => (average / v, None, average_milli),
        _ => (0.0, None, average_milli),
    }
}

/// `calculatePodRequests`: each pod's summed container requests of `resource`; a container
/// without one makes utilization meaningless.
fn requests_of(pods: &[&Pod], resource: Resource) -> Result<BTreeMap<String, f64>, MetricProblem> {
    let mut out = BTreeMap::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let mut sum = 0.0;
        for c in pod
            .spec
            .as_ref()
            .map(|s| s.containers.as_slice())
            .unwrap_or_default()
        {
            let request = c
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get(resource.name()))
                .and_then(|q| skiff_api::validate::quantity::parse_quantity(&q.0));
            sum += request.ok_or_else(|| MetricProblem::MissingRequest {
                resource,
                container: c.name.clone(),
                pod: name.clone(),
            })?;
        }
        out.insert(name, sum);
    }
    Ok(out)
}
