//! Pod and pod-spec defaults: restart and DNS policies, grace period, scheduler, security
//! context, service links and priority (pods only), and per container the pull policy,
//! termination message, resources, port protocols and probe timings; volume sources and modes.

use serde_json::{Value, json};

use super::{items, object, set};

/// Defaults of a Pod object (its spec's, plus those only pods get).
pub(crate) fn default_pod(obj: &mut Value) {
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    default_pod_spec(spec);
    set(spec, "enableServiceLinks", true.into());
    // The Priority admission plugin: no priority class means priority 0.
    if spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        set(spec, "priority", 0.into());
    }
    set(spec, "preemptionPolicy", "PreemptLowerPriority".into());
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["containers", "initContainers"] {
        for c in items(spec, list) {
            requests_from_limits(c);
            if host_network {
                for p in items(c, "ports") {
                    if let Some(cp) = p.get("containerPort").cloned() {
                        set(p, "hostPort", cp);
                    }
                }
            }
        }
    }
}

/// Missing requests default to the limits (pods only, not templates).
fn requests_from_limits(c: &mut Value) {
    let Some(limits) = c
        .pointer("/resources/limits")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let Some(requests) = object(c, "resources").and_then(|r| object(r, "requests")) else {
        return;
    };
    for (k, v) in limits {
        set(requests, &k, v);
    }
}

/// Defaults of a pod spec, wherever it is (pods and templates).
pub(crate) fn default_pod_spec(spec: &mut Value) {
    set(spec, "dnsPolicy", "ClusterFirst".into());
    set(spec, "restartPolicy", "Always".into());
    set(spec, "securityContext", json!({}));
    set(spec, "terminationGracePeriodSeconds", 30.into());
    set(spec, "schedulerName", "default-scheduler".into());
    for list in ["containers", "initContainers"] {
        for c in items(spec, list) {
            default_container(c);
        }
    }
    for v in items(spec, "volumes") {
        default_volume(v);
    }
}

/// The tag an image reference pulls: `nginx` -> `latest`, `nginx:1.27` -> `1.27`, by digest -> none.
pub(crate) fn image_tag(image: &str) -> &str {
    let (name, digest) = match image.split_once('@') {
        Some((n, _)) => (n, true),
        None => (image, false),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) => tag,
        None if digest => "",
        None => "latest",
    }
}

fn default_container(c: &mut Value) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let policy = if image_tag(image) == "latest" {
        "Always"
    } else {
        "IfNotPresent"
    };
    set(c, "imagePullPolicy", policy.into());
    set(c, "terminationMessagePath", "/dev/termination-log".into());
    set(c, "terminationMessagePolicy", "File".into());
    set(c, "resources", json!({}));
    for p in items(c, "ports") {
        set(p, "protocol", "TCP".into());
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(pr) = c.get_mut(probe).filter(|p| p.is_object()) {
            set(pr, "timeoutSeconds", 1.into());
            set(pr, "periodSeconds", 10.into());
            set(pr, "successThreshold", 1.into());
            set(pr, "failureThreshold", 3.into());
            if let Some(get) = pr.get_mut("httpGet").filter(|g| g.is_object()) {
                set(get, "path", "/".into());
                set(get, "scheme", "HTTP".into());
            }
        }
    }
    for e in items(c, "env") {
        if let Some(field_ref) = e
            .pointer_mut("/valueFrom/fieldRef")
            .filter(|f| f.is_object())
        {
            set(field_ref, "apiVersion", "v1".into());
        }
    }
}

fn default_volume(v: &mut Value) {
    let has_source = v
        .as_object()
        .is_some_and(|m| m.iter().any(|(k, val)| k != "name" && !val.is_null()));
    if !has_source {
        set(v, "emptyDir", json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = v.get_mut(source).filter(|s| s.is_object()) {
            set(s, "defaultMode", 420.into());
        }
    }
    if let Some(h) = v.get_mut("hostPath").filter(|h| h.is_object()) {
        set(h, "type", "".into());
    }
}
