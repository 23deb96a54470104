//! Rules for workload kinds: Deployment and ReplicaSet (replicas, selector matching the
//! template, rolling-update strategy), Job, CronJob and HorizontalPodAutoscaler.

use serde_json::Value;

use super::field::{
    check_enum, check_min, child, int_of, invalid, invalid_str, present, required, str_of,
    unsupported,
};
use super::meta::{selector_is_empty, selector_matches, validate_selector};
use super::pod::validate_template;
use crate::status::FieldError;

const PERCENT_MSG: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

fn spec(obj: &Value) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// `spec.selector` (required when `selector_required`) and `spec.template`, which the selector
/// must match. An empty selector is refused "for `owner`" (kube-apiserver says `deployment` for
/// Deployments, ReplicaSets and Jobs alike, `daemonset` for DaemonSets).
pub(crate) fn selector_and_template(
    spec: &Value,
    path: &str,
    selector_required: bool,
    owner: &str,
    errs: &mut Vec<FieldError>,
) {
    let tpl_path = child(path, "template");
    let tpl = spec.get("template").unwrap_or(&Value::Null);
    validate_template(tpl, &tpl_path, errs);
    let sel_path = child(path, "selector");
    let Some(sel) = present(spec, "selector") else {
        if selector_required {
            errs.push(required(sel_path));
        }
        return;
    };
    if selector_is_empty(sel) {
        errs.push(invalid(
            sel_path,
            sel,
            &format!("empty selector is invalid for {owner}"),
        ));
        return;
    }
    validate_selector(sel, &sel_path, errs);
    let labels = tpl
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .unwrap_or(&Value::Null);
    if tpl.is_object() && !selector_matches(sel, labels) {
        errs.push(invalid(
            child(&tpl_path, "metadata.labels"),
            labels,
            "`selector` does not match template `labels`",
        ));
    }
}

/// The restart policy a workload's template must have.
pub(crate) fn template_restart_policy(
    spec: &Value,
    path: &str,
    allowed: &[&str],
    errs: &mut Vec<FieldError>,
) {
    let rp = spec.pointer("/template/spec/restartPolicy");
    if let Some(v) = rp.filter(|v| !v.as_str().is_some_and(|s| allowed.contains(&s))) {
        errs.push(unsupported(
            child(path, "template.spec.restartPolicy"),
            v,
            allowed,
        ));
    }
}

pub(crate) fn validate_deployment(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = spec(obj);
    for f in [
        "replicas",
        "revisionHistoryLimit",
        "minReadySeconds",
        "progressDeadlineSeconds",
    ] {
        check_min(errs, spec, "spec", f, 0);
    }
    if let (Some(deadline), Some(ready)) = (
        int_of(spec, "progressDeadlineSeconds"),
        int_of(spec, "minReadySeconds"),
    ) && deadline <= ready
    {
        errs.push(invalid(
            "spec.progressDeadlineSeconds",
            &deadline.into(),
            "must be greater than minReadySeconds",
        ));
    }
    selector_and_template(spec, "spec", true, "deployment", errs);
    template_restart_policy(spec, "spec", &["Always"], errs);
    let strategy = spec.get("strategy").unwrap_or(&Value::Null);
    check_enum(
        errs,
        strategy,
        "spec.strategy",
        "type",
        &["Recreate", "RollingUpdate"],
    );
    let rolling = present(strategy, "rollingUpdate");
    if str_of(strategy, "type") == Some("Recreate") && rolling.is_some() {
        errs.push(forbidden_rolling());
    }
    if let Some(ru) = rolling {
        let path = "spec.strategy.rollingUpdate";
        let unavailable = int_or_percent(ru, path, "maxUnavailable", errs);
        let surge = int_or_percent(ru, path, "maxSurge", errs);
        if let (Some((u, true)), _) = (&unavailable, &surge)
            && *u > 100
        {
            errs.push(invalid(
                child(path, "maxUnavailable"),
                &ru["maxUnavailable"],
                "must not be greater than 100%",
            ));
        }
        if matches!(unavailable, Some((0, _))) && matches!(surge, Some((0, _))) {
            errs.push(invalid(
                child(path, "maxUnavailable"),
                &ru["maxUnavailable"],
                "may not be 0 when `maxSurge` is 0",
            ));
        }
    }
}

fn forbidden_rolling() -> FieldError {
    super::field::forbidden(
        "spec.strategy.rollingUpdate",
        "may not be specified when strategy `type` is 'Recreate'",
    )
}

/// An IntOrString that is a count or a percentage: `(value, is_percent)`.
pub(crate) fn int_or_percent(
    obj: &Value,
    parent: &str,
    name: &str,
    errs: &mut Vec<FieldError>,
) -> Option<(i64, bool)> {
    let v = present(obj, name)?;
    let path = child(parent, name);
    let parsed = match v {
        Value::String(s) => s
            .strip_suffix('%')
            .filter(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .map(|n| (n, true)),
        _ => v.as_i64().map(|n| (n, false)),
    };
    match parsed {
        None => errs.push(invalid_str(path, v.as_str().unwrap_or(""), PERCENT_MSG)),
        Some((n, _)) if n < 0 => errs.push(invalid(path, v, "must be greater than or equal to 0")),
        Some(_) => {}
    }
    parsed
}

pub(crate) fn validate_replicaset(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = spec(obj);
    check_min(errs, spec, "spec", "replicas", 0);
    check_min(errs, spec, "spec", "minReadySeconds", 0);
    selector_and_template(spec, "spec", true, "deployment", errs);
    template_restart_policy(spec, "spec", &["Always"], errs);
}
