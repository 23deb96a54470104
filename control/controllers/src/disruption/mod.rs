//! The PodDisruptionBudget decision (kube-controller-manager's `disruption` controller,
//! pkg/controller/disruption/disruption.go): from a budget, the pods of its namespace and the
//! scale of their controllers, the status the eviction subresource spends: `expectedPods`,
//! `currentHealthy`, `desiredHealthy`, `disruptionsAllowed`, the `disruptedPods` still
//! awaiting deletion, `observedGeneration` and the `DisruptionAllowed` condition.
//!
//! The rules, as kube's `getExpectedPodCount`: `minAvailable: N` wants N healthy pods out of
//! the pods selected; `minAvailable: P%` and `maxUnavailable` (int or percent) count the
//! pods expected from the scale of the selected pods' controllers (a Deployment counts once
//! for all its ReplicaSets). A pod is healthy when Ready, not being deleted and not evicted in
//! the last two minutes (`DeletionTimeout`). A budget that cannot be computed (a bad
//! percentage, a pod whose controller has no scale) fails safe: no disruption allowed,
//! condition reason `SyncFailed`.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use skiff_api::selector::LabelSelector;

use crate::Error;
use crate::common::{controller_ref, is_pod_ready, is_terminating, labels_of, secs, time_at};

/// kube's `DeletionTimeout`: an evicted pod not deleted within this many seconds counts again.
pub const DELETION_TIMEOUT: i64 = 120;
/// The condition the eviction subresource and `kubectl describe` read.
pub const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";

/// The scale behind one controller reference: the uid of the object whose `replicas` count
/// (a Deployment for its ReplicaSets) and that count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerScale {
    pub uid: String,
    pub replicas: i32,
}

/// What the I/O layer should report besides the status (kube's events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisruptionNote {
    /// The selector matches no pod (`NoPods`).
    NoPods,
    /// Pods without a controller, which a percentage or maxUnavailable cannot count
    /// (`UnmanagedPods`).
    UnmanagedPods(Vec<String>),
    /// The budget could not be computed (`CalculateExpectedPodCountFailed`): the reason.
    Failed(String),
    /// An evicted pod was not deleted in time (`NotDeleted`), by name.
    NotDeleted(String),
}

/// The status to write, when to look again, what to report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DisruptionDecision {
    pub status: PodDisruptionBudgetStatus,
    /// The earliest time (seconds) an entry of `disruptedPods` expires, if any.
    pub recheck_at: Option<i64>,
    pub notes: Vec<DisruptionNote>,
}

/// The pods of `pods` (one namespace) that `pdb` selects: in policy/v1 an empty selector
/// selects every pod and a missing one none.
pub fn selected<'a>(
    pdb: &PodDisruptionBudget,
    pods: &'a [impl std::borrow::Borrow<Pod>],
) -> Result<Vec<&'a Pod>, Error> {
    let Some(sel) = pdb.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return Ok(Vec::new());
    };
    let sel = LabelSelector::from_k8s(sel)?;
    Ok(pods
        .iter()
        .map(std::borrow::Borrow::borrow)
        .filter(|p: &&Pod| p.metadata.namespace == pdb.metadata.namespace)
        .filter(|p| sel.matches(&labels_of(&p.metadata)))
        .collect())
}

/// Decides the status of `pdb` at `now` (seconds) given the pods of its namespace and the
/// scale behind each controller uid those pods name (missing: a controller without scale).
pub fn reconcile(
    pdb: &PodDisruptionBudget,
    pods: &[impl std::borrow::Borrow<Pod>],
    scales: &BTreeMap<String, ControllerScale>,
    now: i64,
) -> DisruptionDecision {
    let mut notes = Vec::new();
    let old = pdb.status.clone().unwrap_or_default();
    let (pods, expected, desired) = match selected_and_expected(pdb, pods, scales, &mut notes) {
        Ok(counted) => counted,
        Err(e) => {
            notes.push(DisruptionNote::Failed(e.to_string()));
            return DisruptionDecision {
                status: fail_safe(pdb, old, &e.to_string(), now),
                recheck_at: None,
                notes,
            };
        }
    };
    let (disrupted, recheck_at, not_deleted) = disrupted_pods(&old, &pods, now);
    notes.extend(not_deleted.into_iter().map(DisruptionNote::NotDeleted));
    let healthy = count_healthy(&pods, &disrupted, now);
    let allowed = if expected <= 0 {
        0
    } else {
        (healthy - desired).max(0)
    };
    let status = PodDisruptionBudgetStatus {
        current_healthy: healthy,
        desired_healthy: desired,
        expected_pods: expected,
        disruptions_allowed: allowed,
        disrupted_pods: (!disrupted.is_empty()).then_some(disrupted),
        observed_generation: pdb.metadata.generation,
        conditions: old.conditions.clone(),
    };
    DisruptionDecision {
        status: with_sufficiency(status, pdb.metadata.generation, now),
        recheck_at,
        notes,
    }
}

/// The pods `pdb` selects, `expectedPods` and `desiredHealthy`; notes a budget that selects
/// no pod and the pods no controller counts.
fn selected_and_expected<'a>(
    pdb: &PodDisruptionBudget,
    pods: &'a [impl std::borrow::Borrow<Pod>],
    scales: &BTreeMap<String, ControllerScale>,
    notes: &mut Vec<DisruptionNote>,
) -> Result<(Vec<&'a Pod>, i32, i32), Error> {
    let pods = selected(pdb, pods)?;
    if pods.is_empty() {
        notes.push(DisruptionNote::NoPods);
    }
    let (expected, desired, unmanaged) = expected_count(pdb, &pods, scales)?;
    if !unmanaged.is_empty() {
        notes.push(DisruptionNote::UnmanagedPods(unmanaged));
    }
    Ok((pods, expected, desired))
}

/// `status` with `DisruptionAllowed`: True (`SufficientPods`) when it allows a disruption,
/// else False (`InsufficientPods`).
fn with_sufficiency(
    status: PodDisruptionBudgetStatus,
    generation: Option<i64>,
    now: i64,
) -> PodDisruptionBudgetStatus {
    let (cond_status, reason) = if status.disruptions_allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    with_condition(status, generation, (cond_status, reason, ""), now)
}

/// `getExpectedPodCount`: (expectedPods, desiredHealthy, unmanaged pod names).
fn expected_count(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    scales: &BTreeMap<String, ControllerScale>,
) -> Result<(i32, i32, Vec<String>), Error> {
    let spec = pdb.spec.clone().unwrap_or_default();
    let pod_count = i32::try_from(pods.len()).unwrap_or(i32::MAX);
    if let Some(max_unavailable) = &spec.max_unavailable {
        let (expected, unmanaged) = expected_scale(pods, scales)?;
        let max = crate::common::scaled_value(max_unavailable, expected, true)?;
        return Ok((expected, (expected - max).max(0), unmanaged));
    }
    match &spec.min_available {
        Some(IntOrString::Int(n)) => Ok((pod_count, *n, Vec::new())),
        Some(percent @ IntOrString::String(_)) => {
            let (expected, unmanaged) = expected_scale(pods, scales)?;
            let min = crate::common::scaled_value(percent, expected, true)?;
            Ok((expected, min, unmanaged))
        }
        None => Ok((pod_count, 0, Vec::new())),
    }
}

/// `getExpectedScale`: the sum of the scales of the pods' controllers, each counted once;
/// pods without a controller are listed, a controller without scale is an error.
fn expected_scale(
    pods: &[&Pod],
    scales: &BTreeMap<String, ControllerScale>,
) -> Result<(i32, Vec<String>), Error> {
    let mut counted: BTreeMap<&str, i32> = BTreeMap::new();
    let mut unmanaged = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(owner) = controller_ref(&pod.metadata) else {
            unmanaged.push(name);
            continue;
        };
        let scale = scales.get(&owner.uid).ok_or(Error::NoScale {
            pod: name,
            kind: owner.kind.clone(),
        })?;
        counted.insert(&scale.uid, scale.replicas);
    }
    Ok((counted.values().copied().sum(), unmanaged))
}

/// `buildDisruptedPodMap`: the evictions still awaiting their pod's deletion, the earliest
/// expiry among them, and the pods whose eviction expired undeleted.
fn disrupted_pods(
    old: &PodDisruptionBudgetStatus,
    pods: &[&Pod],
    now: i64,
) -> (BTreeMap<String, Time>, Option<i64>, Vec<String>) {
    let (mut kept, mut recheck, mut expired) = (BTreeMap::new(), None::<i64>, Vec::new());
    let Some(recorded) = &old.disrupted_pods else {
        return (kept, recheck, expired);
    };
    for pod in pods.iter().filter(|p| !is_terminating(&p.metadata)) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(when) = recorded.get(&name) else {
            continue;
        };
        let expires = secs(when) + DELETION_TIMEOUT;
        if expires < now {
            expired.push(name);
        } else {
            recheck = Some(recheck.map_or(expires, |r| r.min(expires)));
            kept.insert(name, when.clone());
        }
    }
    (kept, recheck, expired)
}

/// `countHealthyPods`: Ready, not being deleted, not evicted within the deletion timeout.
fn count_healthy(pods: &[&Pod], disrupted: &BTreeMap<String, Time>, now: i64) -> i32 {
    let healthy = pods
        .iter()
        .filter(|p| !is_terminating(&p.metadata))
        .filter(|p| {
            let name = p.metadata.name.as_deref().unwrap_or_default();
            disrupted
                .get(name)
                .is_none_or(|t| secs(t) + DELETION_TIMEOUT <= now)
        })
        .filter(|p| is_pod_ready(p))
        .count();
    i32::try_from(healthy).unwrap_or(i32::MAX)
}

/// `failSafe`: no disruption allowed, the condition False with reason `SyncFailed`.
fn fail_safe(
    pdb: &PodDisruptionBudget,
    mut status: PodDisruptionBudgetStatus,
    why: &str,
    now: i64,
) -> PodDisruptionBudgetStatus {
    status.disruptions_allowed = 0;
    with_condition(
        status,
        pdb.metadata.generation,
        ("False", "SyncFailed", why),
        now,
    )
}

/// `apimeta.SetStatusCondition` of `DisruptionAllowed`: the transition time moves only when
/// the status changes.
fn with_condition(
    mut status: PodDisruptionBudgetStatus,
    generation: Option<i64>,
    (cond_status, reason, message): (&str, &str, &str),
    now: i64,
) -> PodDisruptionBudgetStatus {
    let mut conditions = status.conditions.take().unwrap_or_default();
    let previous = conditions
        .iter()
        .position(|c| c.type_ == DISRUPTION_ALLOWED);
    let since = previous
        .map(|i| &conditions[i])
        .filter(|c| c.status == cond_status)
        .map_or_else(|| time_at(now), |c| c.last_transition_time.clone());
    let condition = Condition {
        type_: DISRUPTION_ALLOWED.into(),
        status: cond_status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: since,
    };
    match previous {
        Some(i) => conditions[i] = condition,
        None => conditions.push(condition),
    }
    status.conditions = Some(conditions);
    status
}
