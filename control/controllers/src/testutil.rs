//! Test fixtures: objects built from JSON, pods in given states, fixed times.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

/// 2026-01-01T00:00:00Z, the tests' reference clock.
/// No pods: the decisions take any `Borrow<Pod>`, so an empty list names its type.
pub const NO_PODS: &[Pod] = &[];

pub const T0: i64 = 1_767_225_600;

pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).expect("in range")
}

pub fn rfc3339(secs: i64) -> String {
    at(secs).to_string()
}

pub fn from<T: k8s_openapi::serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("a valid object")
}

/// A pod's state for the tables.
#[derive(Clone, Copy, Debug)]
pub enum St {
    /// Pending, no node.
    Unscheduled,
    /// Pending on a node.
    Pending,
    /// Running, not ready.
    Unready,
    /// Running and ready since the given time.
    Ready(i64),
    Succeeded,
    Failed,
}

/// A pod named `name` with `labels`, owned (controller) by `owner_uid` if given.
pub fn pod(name: &str, labels: Value, owner_uid: Option<&str>, st: St) -> Pod {
    let (phase, node, ready): (&str, Option<&str>, Option<i64>) = match st {
        St::Unscheduled => ("Pending", None, None),
        St::Pending => ("Pending", Some("n1"), None),
        St::Unready => ("Running", Some("n1"), None),
        St::Ready(t) => ("Running", Some("n1"), Some(t)),
        St::Succeeded => ("Succeeded", Some("n1"), None),
        St::Failed => ("Failed", Some("n1"), None),
    };
    let mut v = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
            "labels": labels, "creationTimestamp": rfc3339(T0)},
        "spec": {"containers": [{"name": "c", "image": "x.wasm"}]},
        "status": {"phase": phase}
    });
    if let Some(n) = node {
        v["spec"]["nodeName"] = json!(n);
    }
    if let Some(t) = ready {
        v["status"]["conditions"] =
            json!([{"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(t)}]);
    }
    if let Some(uid) = owner_uid {
        v["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": "owner", "uid": uid, "controller": true, "blockOwnerDeletion": true}]);
    }
    from(v)
}

/// Marks a pod as being deleted.
pub fn terminating(mut p: Pod) -> Pod {
    p.metadata.deletion_timestamp = Some(crate::common::time_at(T0));
    p
}
