//! Workload defaults: Deployment (replicas, rolling-update strategy, history, progress
//! deadline), ReplicaSet, DaemonSet (update strategy, history), ReplicationController (selector
//! from the template), Job (completions, parallelism, back-off, completion mode, suspend),
//! CronJob (concurrency, history limits) and HorizontalPodAutoscaler; templates get pod-spec
//! defaults.

use serde_json::{Value, json};

use super::{default_pod_spec, object, set};

fn default_template(spec: &mut Value) {
    if let Some(pod_spec) = object(spec, "template").and_then(|t| object(t, "spec")) {
        default_pod_spec(pod_spec);
    }
}

pub(crate) fn default_deployment(obj: &mut Value) {
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    set(spec, "replicas", 1.into());
    if let Some(strategy) = object(spec, "strategy") {
        set(strategy, "type", "RollingUpdate".into());
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = object(strategy, "rollingUpdate")
        {
            set(rolling, "maxUnavailable", "25%".into());
            set(rolling, "maxSurge", "25%".into());
        }
    }
    set(spec, "revisionHistoryLimit", 10.into());
    set(spec, "progressDeadlineSeconds", 600.into());
    default_template(spec);
}

pub(crate) fn default_replicaset(obj: &mut Value) {
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    set(spec, "replicas", 1.into());
    default_template(spec);
}

/// apps/v1 `SetDefaults_DaemonSet`: a RollingUpdate strategy with `maxUnavailable: 1` and
/// `maxSurge: 0`, ten revisions of history.
pub(crate) fn default_daemonset(obj: &mut Value) {
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    if let Some(strategy) = object(spec, "updateStrategy") {
        set(strategy, "type", "RollingUpdate".into());
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = object(strategy, "rollingUpdate")
        {
            set(rolling, "maxUnavailable", 1.into());
            set(rolling, "maxSurge", 0.into());
        }
    }
    set(spec, "revisionHistoryLimit", 10.into());
    default_template(spec);
}

/// core/v1 `SetDefaults_ReplicationController`: the template's labels become the selector
/// and the controller's own labels when those are empty; one replica.
pub(crate) fn default_replication_controller(obj: &mut Value) {
    let template_labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = template_labels {
        let empty = |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|m| m.is_empty());
        if let Some(spec) = object(obj, "spec")
            && empty(spec.get("selector"))
        {
            spec["selector"] = labels.clone();
        }
        if let Some(meta) = object(obj, "metadata")
            && empty(meta.get("labels"))
        {
            meta["labels"] = labels;
        }
    }
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    set(spec, "replicas", 1.into());
    // The template is a pointer in core/v1: a missing one stays missing (validation reports it).
    if spec.get("template").is_some_and(Value::is_object) {
        default_template(spec);
    }
}

pub(crate) fn default_job(obj: &mut Value) {
    let template_labels = obj.pointer("/spec/template/metadata/labels").cloned();
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    let unset = |s: &Value, k: &str| s.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        set(spec, "completions", 1.into());
    }
    set(spec, "parallelism", 1.into());
    set(spec, "backoffLimit", 6.into());
    set(spec, "completionMode", "NonIndexed".into());
    set(spec, "suspend", false.into());
    let replacement = if unset(spec, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    set(spec, "podReplacementPolicy", replacement.into());
    default_template(spec);
    // A job without labels takes its template's.
    if let Some(labels) = template_labels.filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        && let Some(meta) = object(obj, "metadata")
        && meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(|m| m.is_empty())
    {
        meta["labels"] = labels;
    }
}

pub(crate) fn default_cronjob(obj: &mut Value) {
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    set(spec, "concurrencyPolicy", "Allow".into());
    set(spec, "suspend", false.into());
    set(spec, "successfulJobsHistoryLimit", 3.into());
    set(spec, "failedJobsHistoryLimit", 1.into());
    if let Some(job_spec) = object(spec, "jobTemplate").and_then(|t| object(t, "spec")) {
        default_template(job_spec);
    }
}

pub(crate) fn default_hpa(obj: &mut Value) {
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    set(spec, "minReplicas", 1.into());
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        spec["metrics"] = json!([{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}
        }]);
    }
    if let Some(behavior) = spec.get_mut("behavior").filter(|b| b.is_object()) {
        let up = json!({
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}
            ]
        });
        let down = json!({
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]
        });
        for (dir, defaults) in [("scaleUp", up), ("scaleDown", down)] {
            if let Some(rules) = object(behavior, dir)
                && let Value::Object(d) = defaults
            {
                for (k, v) in d {
                    set(rules, &k, v);
                }
            }
        }
    }
}
