//! Helpers every controller shares: pod state (active, ready, available), owner references,
//! selectors, int-or-percent values and times as seconds.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector as K8sSelector, ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use skiff_api::selector::LabelSelector;

use crate::Error;

/// Seconds since the Unix epoch of a Kubernetes time.
pub fn secs(t: &Time) -> i64 {
    t.0.as_second()
}

/// A Kubernetes time at `secs` seconds since the epoch (clamped into jiff's range).
pub fn time_at(secs: i64) -> Time {
    let clamped = secs.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Time(Timestamp::from_second(clamped).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// The labels of an object, empty when it has none.
pub fn labels_of(meta: &ObjectMeta) -> BTreeMap<String, String> {
    meta.labels.clone().unwrap_or_default()
}

/// The object's name, or an error naming the kind.
pub fn name_of<'a>(meta: &'a ObjectMeta, kind: &'static str) -> Result<&'a str, Error> {
    meta.name.as_deref().ok_or(Error::MissingField {
        kind,
        field: "metadata.name",
    })
}

/// The object's uid, or an error naming the kind.
pub fn uid_of<'a>(meta: &'a ObjectMeta, kind: &'static str) -> Result<&'a str, Error> {
    meta.uid.as_deref().ok_or(Error::MissingField {
        kind,
        field: "metadata.uid",
    })
}

/// A workload's selector, parsed; a missing one is an error (workloads require it).
pub fn selector_of(sel: Option<&K8sSelector>, kind: &'static str) -> Result<LabelSelector, Error> {
    let sel = sel.ok_or(Error::MissingSelector { kind })?;
    Ok(LabelSelector::from_k8s(sel)?)
}

/// The owner reference with `controller: true`, if any.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// A controller owner reference, as kube-controller-manager writes it on children.
pub fn controller_owner(api_version: &str, kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        uid: uid.to_string(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Whether the object is being deleted.
pub fn is_terminating(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Not finished (Succeeded/Failed) and not being deleted: `controller.IsPodActive`.
pub fn is_pod_active(pod: &Pod) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && !is_terminating(&pod.metadata)
}

/// The pod's phase is Succeeded.
pub fn is_pod_succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

/// The pod's phase is Failed.
pub fn is_pod_failed(pod: &Pod) -> bool {
    phase(pod) == "Failed"
}

/// The pod's phase as a rank for deletion order: Pending < Unknown < Running.
pub fn phase_rank(pod: &Pod) -> u8 {
    match phase(pod) {
        "Pending" | "" => 0,
        "Unknown" => 1,
        _ => 2,
    }
}

/// When the pod's Ready condition turned True, if it is True.
pub fn ready_since(pod: &Pod) -> Option<i64> {
    let cond = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?;
    Some(cond.last_transition_time.as_ref().map_or(i64::MIN, secs))
}

/// The pod's Ready condition is True.
pub fn is_pod_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` at `now`: `podutil.IsPodAvailable`.
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: i64) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(since) => since.saturating_add(i64::from(min_ready_seconds)) <= now,
    }
}

/// The sum of the pod's container restart counts.
pub fn restart_count(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

/// Resolves an int-or-percent against `total`, rounding percentages up or down
/// (`intstr.GetScaledValueFromIntOrPercent`).
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> Result<i32, Error> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let bad = || Error::IntOrPercent { value: s.clone() };
            let pct: i64 = s
                .strip_suffix('%')
                .ok_or_else(bad)?
                .parse()
                .map_err(|_| bad())?;
            let product = pct * i64::from(total);
            let value = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(value).map_err(|_| bad())
        }
    }
}

/// A pod built from a template, as `controller.GetPodFromTemplate` does: the template's
/// labels, annotations, finalizers and spec, a `generateName`, and the controller reference.
pub fn pod_from_template(
    template: &PodTemplateSpec,
    namespace: Option<&str>,
    generate_name: String,
    owner: OwnerReference,
) -> Pod {
    let tmeta = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: namespace.map(str::to_string),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}
