//! Tests of validation, defaulting and strict field checking: fixtures shaped like what kubectl
//! sends, and helpers to derive bad variants from them.

mod defaults;
mod fuzz;
mod rules;
mod rules_controllers;
mod rules_network;
mod rules_pod;
mod rules_pod_more;
mod rules_policy;
mod rules_rbac;
mod rules_service;
mod rules_workloads;
mod schema;
mod update;

use serde_json::{Value, json};

use crate::resources::{RESOURCES, ResourceInfo};

pub(super) fn info(kind: &str) -> &'static ResourceInfo {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind)
        .expect("served kind")
}

/// `v` with the value at JSON pointer `ptr` replaced (parents created as objects).
pub(super) fn with(mut v: Value, ptr: &str, new: Value) -> Value {
    let mut at = &mut v;
    for seg in ptr.split('/').skip(1) {
        at = match at {
            Value::Array(a) => {
                let i: usize = seg.parse().expect("index");
                if i == a.len() {
                    a.push(Value::Null);
                }
                &mut a[i]
            }
            other => {
                if !other.is_object() {
                    *other = json!({});
                }
                other
                    .as_object_mut()
                    .expect("object")
                    .entry(seg.replace("~1", "/"))
                    .or_insert(Value::Null)
            }
        };
    }
    *at = new;
    v
}

/// `v` without the field at `ptr`.
pub(super) fn without(mut v: Value, ptr: &str) -> Value {
    let (parent, last) = ptr.rsplit_once('/').expect("pointer");
    if let Some(m) = v.pointer_mut(parent).and_then(Value::as_object_mut) {
        m.remove(last);
    }
    v
}

pub(super) fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "containers": [{
                "name": "app",
                "image": "registry.local/hello:1.0",
                "ports": [{"containerPort": 8080, "name": "http"}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": 1, "memory": "128Mi"}},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}]
            }],
            "volumes": [{"name": "config", "configMap": {"name": "app-config"}}]
        }
    })
}

pub(super) fn template() -> Value {
    let p = pod();
    json!({"metadata": {"labels": {"app": "web"}}, "spec": p["spec"]})
}

pub(super) fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template()}
    })
}

pub(super) fn replicaset() -> Value {
    without(
        with(deployment(), "/kind", json!("ReplicaSet")),
        "/spec/strategy",
    )
}

pub(super) fn job() -> Value {
    let tpl = with(template(), "/spec/restartPolicy", json!("Never"));
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"}, "spec": {"template": tpl}})
}

pub(super) fn cronjob() -> Value {
    let tpl = with(template(), "/spec/restartPolicy", json!("OnFailure"));
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": tpl}}}
    })
}

pub(super) fn service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    })
}

pub(super) fn configmap() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"}, "data": {"app.yaml": "x: 1", "LOG_LEVEL": "debug"}})
}

pub(super) fn secret() -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"password": "aHVudGVyMg=="}})
}

pub(super) fn hpa() -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5}
    })
}

pub(super) fn namespace() -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
}
