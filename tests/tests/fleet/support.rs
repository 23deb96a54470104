//! Pods and Deployments of the example guests, and reading pods from kubectl's JSON.

use std::time::Duration;

use serde_json::{Value, json};
use skiff_tests::fleet::example;

/// Every test's bound.
pub const LIMIT: Duration = Duration::from_secs(300);
/// How long one condition may take to hold.
pub const WAIT: Duration = Duration::from_secs(60);

/// The http-server example's container, Ready once it answers `/healthz`.
pub fn web_container() -> anyhow::Result<Value> {
    Ok(json!({
        "name": "web", "image": example("http-server")?, "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1},
    }))
}

/// A pod of the http-server example bound to `node`.
pub fn web_pod(name: &str, node: &str) -> anyhow::Result<Value> {
    Ok(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 2,
                 "containers": [web_container()?]},
    }))
}

/// A Deployment `name` of `replicas` http-server pods (label `app=<name>`).
pub fn web_deployment(name: &str, replicas: u32) -> anyhow::Result<Value> {
    Ok(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [web_container()?]},
            },
        },
    }))
}

/// Whether the pod is Running with every container ready.
pub fn running_and_ready(pod: &Value) -> bool {
    let ready = pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    });
    pod["status"]["phase"] == "Running" && ready && pod["metadata"]["deletionTimestamp"].is_null()
}

/// The pod's name and node.
pub fn name_and_node(pod: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&pod["metadata"]["name"]),
        text(&pod["spec"]["nodeName"]),
    )
}
