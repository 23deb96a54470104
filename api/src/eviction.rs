//! The decisions of `pods/eviction`, as kube-apiserver's `EvictionREST` makes them
//! (pkg/registry/core/pod/storage/eviction.go): which pods skip the disruption budget, which
//! PodDisruptionBudgets cover a pod, and the check-and-decrement of a budget's
//! `status.disruptionsAllowed`. Pure functions: the API server reads and writes the objects.
//!
//! Maintaining a budget's status (`currentHealthy`, `desiredHealthy`, `disruptionsAllowed`,
//! expiring `disruptedPods`) is the disruption controller's job, not the API server's.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use serde_json::{Value, json};

use crate::selector::LabelSelector;
use crate::status::{ApiError, FieldError};

/// kube-apiserver's `MaxDisruptedPodSize`: more evictions than this not yet confirmed by the
/// disruption controller are refused.
pub const MAX_DISRUPTED_PODS: usize = 2000;

/// The message of an eviction refused by a budget (429 TooManyRequests).
pub const VIOLATES_BUDGET: &str =
    "Cannot evict pod as it would violate the pod's disruption budget.";

/// The message when a pod is covered by several budgets (500, as kube-apiserver answers).
pub const SEVERAL_BUDGETS: &str = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn deleting(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp")
        .is_some_and(Value::is_string)
}

/// `canIgnorePDB`: a finished, pending or already deleting pod is deleted without a budget check.
pub fn can_ignore_budget(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending") || deleting(pod)
}

/// `shouldEnforceResourceVersion`: the delete of a live pod is pinned to the version read, so
/// the pod cannot have become ready (and counted by the budget) in between.
pub fn pins_resource_version(pod: &Value) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && !deleting(pod)
}

/// `podutil.IsPodReady`: the pod's Ready condition is True.
pub fn pod_is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The budgets among `budgets` that cover `pod`: same namespace, and a selector that is valid,
/// not empty and matches the pod's labels (a nil or empty selector matches nothing here).
pub fn covering_budgets<'a>(pod: &Value, budgets: &'a [Value]) -> Vec<&'a Value> {
    let namespace = pod.pointer("/metadata/namespace");
    budgets
        .iter()
        .filter(|b| b.pointer("/metadata/namespace") == namespace)
        .filter(|b| {
            let Some(selector) = b.pointer("/spec/selector") else {
                return false;
            };
            let parsed = serde_json::from_value::<meta::LabelSelector>(selector.clone())
                .ok()
                .and_then(|s| LabelSelector::from_k8s(&s).ok());
            parsed.is_some_and(|s| !s.is_empty() && s.matches_object(pod))
        })
        .collect()
}

/// A pod that is not ready is evicted without spending the budget when the budget says
/// `AlwaysAllow`, or (the default `IfHealthyBudget`) when the budget is healthy without it.
pub fn unready_pod_skips_budget(pod: &Value, budget: &Value) -> bool {
    if pod_is_ready(pod) {
        return false;
    }
    let policy = budget
        .pointer("/spec/unhealthyPodEvictionPolicy")
        .and_then(Value::as_str);
    let status = |f: &str| budget["status"][f].as_i64().unwrap_or(0);
    policy == Some("AlwaysAllow")
        || (status("currentHealthy") >= status("desiredHealthy") && status("desiredHealthy") > 0)
}

/// `checkAndDecrement`: the budget with one disruption spent and `pod_name` recorded in
/// `status.disruptedPods` at `now` (RFC 3339), or the refusal. The caller stores it through
/// the status subresource with the budget's resourceVersion (and stores nothing on a dry run).
#[allow(
    clippy::result_large_err,
    reason = "the refusal is the Status the API server answers with, built once per eviction"
)]
pub fn spend_disruption(budget: &Value, pod_name: &str, now: &str) -> Result<Value, ApiError> {
    let name = budget
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let status = &budget["status"];
    let int = |f: &str| status[f].as_i64().unwrap_or(0);
    let generation = budget["metadata"]["generation"].as_i64().unwrap_or(0);
    if int("observedGeneration") < generation {
        return Err(too_many_requests(format!(
            "The disruption budget {name} is still being processed by the server."
        )));
    }
    let allowed = int("disruptionsAllowed");
    if allowed < 0 {
        return Err(budget_forbidden(
            name,
            "pdb disruptions allowed is negative",
        ));
    }
    let disrupted = status["disruptedPods"].as_object().map_or(0, |m| m.len());
    if disrupted > MAX_DISRUPTED_PODS {
        return Err(budget_forbidden(
            name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        return Err(too_many_requests(format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            int("desiredHealthy"),
            int("currentHealthy")
        )));
    }
    let mut spent = budget.clone();
    spent["status"]["disruptionsAllowed"] = json!(allowed - 1);
    if allowed - 1 == 0 {
        set_insufficient_pods(&mut spent, now);
    }
    let mut pods: BTreeMap<String, Value> = spent["status"]["disruptedPods"]
        .as_object()
        .map(|m| m.clone().into_iter().collect())
        .unwrap_or_default();
    pods.insert(pod_name.to_owned(), json!(now));
    spent["status"]["disruptedPods"] = json!(pods);
    Ok(spent)
}

/// `UpdateDisruptionAllowedCondition` for a budget with no disruption left: the
/// `DisruptionAllowed` condition False with reason `InsufficientPods`.
fn set_insufficient_pods(budget: &mut Value, now: &str) {
    let observed = budget["status"]["observedGeneration"].clone();
    let conditions = &mut budget["status"]["conditions"];
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    let Some(list) = conditions.as_array_mut() else {
        return;
    };
    let fresh = json!({
        "type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
        "message": "", "observedGeneration": observed, "lastTransitionTime": now,
    });
    match list.iter_mut().find(|c| c["type"] == "DisruptionAllowed") {
        Some(c) => {
            if c["status"] == "False" {
                // apimeta.SetStatusCondition keeps the transition time when the status stays.
                let since = c["lastTransitionTime"].clone();
                *c = fresh;
                c["lastTransitionTime"] = since;
            } else {
                *c = fresh;
            }
        }
        None => list.push(fresh),
    }
}

/// A pod covered by several budgets: kube-apiserver answers a 500 Status with no reason.
pub fn several_budgets() -> ApiError {
    ApiError::new(500, "", SEVERAL_BUDGETS)
}

/// 429 TooManyRequests with the budget's reason as a `DisruptionBudget` cause.
pub fn too_many_requests(cause: String) -> ApiError {
    let mut e = ApiError::new(429, "TooManyRequests", VIOLATES_BUDGET);
    e.causes.push(FieldError {
        field: String::new(),
        kind: "DisruptionBudget",
        message: cause,
    });
    e
}

fn budget_forbidden(name: &str, why: &str) -> ApiError {
    let mut e = ApiError::forbidden(format!(
        "poddisruptionbudget.policy \"{name}\" is forbidden: {why}"
    ));
    e.kind = Some("poddisruptionbudget".into());
    e.group = Some("policy".into());
    e.name = Some(name.to_owned());
    e
}

#[cfg(test)]
mod tests;
