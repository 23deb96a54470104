//! Rules for the pod controllers beside Deployments: DaemonSet (selector matching the template,
//! update strategy), ReplicationController (a map selector), ControllerRevision (the history a
//! DaemonSet's rollout keeps) and the policy group's PodDisruptionBudget, as kube-apiserver's
//! `apps/validation`, `core/validation` and `policy/validation` check them.

use serde_json::Value;

use super::field::{
    check_min, child, forbidden, invalid, map_of, present, required, required_because, str_of,
    unsupported,
};
use super::meta::{validate_labels, validate_selector};
use super::pod::validate_template;
use super::workloads::{int_or_percent, selector_and_template, template_restart_policy};
use crate::status::FieldError;

fn spec(obj: &Value) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

pub(crate) fn validate_daemonset(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = spec(obj);
    selector_and_template(spec, "spec", true, "daemonset", errs);
    template_restart_policy(spec, "spec", &["Always"], errs);
    if let Some(v) = spec.pointer("/template/spec/activeDeadlineSeconds")
        && !v.is_null()
    {
        errs.push(invalid(
            "spec.template.spec.activeDeadlineSeconds",
            v,
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    check_min(errs, spec, "spec", "minReadySeconds", 0);
    check_min(errs, spec, "spec", "revisionHistoryLimit", 0);
    let strategy = spec.get("updateStrategy").unwrap_or(&Value::Null);
    let path = "spec.updateStrategy";
    match str_of(strategy, "type") {
        Some("OnDelete") => {}
        Some("RollingUpdate") => match present(strategy, "rollingUpdate") {
            None => errs.push(required(child(path, "rollingUpdate"))),
            Some(rolling) => rolling_update(rolling, &child(path, "rollingUpdate"), errs),
        },
        _ => errs.push(unsupported(path, strategy, &["RollingUpdate", "OnDelete"])),
    }
}

/// `maxUnavailable` and `maxSurge`: counts or percentages up to 100%, exactly one non-zero.
fn rolling_update(rolling: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let unavailable = bounded_int_or_percent(rolling, path, "maxUnavailable", errs);
    let surge = bounded_int_or_percent(rolling, path, "maxSurge", errs);
    let (has_unavailable, has_surge) = (unavailable.unwrap_or(0) != 0, surge.unwrap_or(0) != 0);
    if has_unavailable && has_surge {
        errs.push(invalid(
            child(path, "maxSurge"),
            &rolling["maxSurge"],
            "may not be set when maxUnavailable is non-zero",
        ));
    } else if !has_unavailable && !has_surge {
        errs.push(required_because(
            child(path, "maxUnavailable"),
            "cannot be 0 when maxSurge is 0",
        ));
    }
}

/// An int-or-percent field that is not negative and not over 100%; its number when valid.
fn bounded_int_or_percent(
    obj: &Value,
    parent: &str,
    name: &str,
    errs: &mut Vec<FieldError>,
) -> Option<i64> {
    let (n, percent) = int_or_percent(obj, parent, name, errs)?;
    if percent && n > 100 {
        errs.push(invalid(
            child(parent, name),
            &obj[name],
            "must not be greater than 100%",
        ));
    }
    Some(n)
}

pub(crate) fn validate_replication_controller(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = spec(obj);
    check_min(errs, spec, "spec", "minReadySeconds", 0);
    check_min(errs, spec, "spec", "replicas", 0);
    let selector = spec.get("selector").unwrap_or(&Value::Null);
    if map_of(spec, "selector").next().is_none() {
        errs.push(required("spec.selector"));
    } else {
        validate_labels(Some(selector), "spec.selector", errs);
    }
    let Some(template) = present(spec, "template") else {
        errs.push(required("spec.template"));
        return;
    };
    let labels = template.pointer("/metadata/labels").unwrap_or(&Value::Null);
    let matches = map_of(spec, "selector").all(|(k, v)| labels.get(k) == Some(v));
    if !matches {
        errs.push(invalid(
            "spec.template.metadata.labels",
            labels,
            "`selector` does not match template `labels`",
        ));
    }
    validate_template(template, "spec.template", errs);
    template_restart_policy(spec, "spec", &["Always"], errs);
    if template
        .pointer("/spec/activeDeadlineSeconds")
        .is_some_and(|v| !v.is_null())
    {
        errs.push(forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicationController is not Supported",
        ));
    }
}

pub(crate) fn validate_controller_revision(obj: &Value, errs: &mut Vec<FieldError>) {
    if present(obj, "data").is_none() {
        errs.push(required_because("data", "data is mandatory"));
    }
    check_min(errs, obj, "", "revision", 0);
}

pub(crate) fn validate_pod_disruption_budget(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = spec(obj);
    if present(spec, "minAvailable").is_some() && present(spec, "maxUnavailable").is_some() {
        errs.push(invalid(
            "spec",
            spec,
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for field in ["minAvailable", "maxUnavailable"] {
        bounded_int_or_percent(spec, "spec", field, errs);
    }
    if let Some(selector) = present(spec, "selector") {
        validate_selector(selector, "spec.selector", errs);
    }
    if let Some(policy) = present(spec, "unhealthyPodEvictionPolicy")
        && !matches!(policy.as_str(), Some("AlwaysAllow" | "IfHealthyBudget"))
    {
        errs.push(unsupported(
            "spec.unhealthyPodEvictionPolicy",
            policy,
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
}

/// The annotation apps/v1 DaemonSets carry their internal `spec.templateGeneration` in.
pub const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// kube-apiserver's DaemonSet strategy: `templateGeneration` starts at 1 on create (a larger
/// value given is kept) and goes up by one on every update that changes `spec.template`.
/// skiff keeps it server-owned on update: a value the caller sent is replaced by the rule.
pub(crate) fn stamp_template_generation(old: Option<&Value>, new: &mut Value) {
    let of = |obj: &Value| {
        obj.pointer("/metadata/annotations")
            .and_then(|a| a.get(TEMPLATE_GENERATION))
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i64>().ok())
    };
    let generation = match old {
        None => of(new).filter(|g| *g >= 1).unwrap_or(1),
        Some(old) => {
            let before = of(old).unwrap_or(1);
            let template = |o: &Value| o.pointer("/spec/template").cloned();
            if template(old) == template(new) {
                before
            } else {
                before + 1
            }
        }
    };
    let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if annotations.is_null() {
        *annotations = Value::Object(serde_json::Map::new());
    }
    if let Some(map) = annotations.as_object_mut() {
        map.insert(TEMPLATE_GENERATION.into(), generation.to_string().into());
    }
}
