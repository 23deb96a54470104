//! kube-apiserver's defaulting (pkg/apis/*/v1/defaults.go and the create strategies) for the
//! kinds skiff serves, applied in place to JSON objects. Objects of the wrong shape are left
//! alone where they are wrong: `check_schema` reports those.

mod config;
pub(super) mod pod;
mod service;
mod workloads;

use serde_json::{Map, Value};

use crate::resources::ResourceInfo;

pub(crate) use pod::{default_pod, default_pod_spec};

/// See [`super::apply_defaults`].
pub(crate) fn apply(info: &ResourceInfo, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match (info.group, info.kind) {
        ("", "Pod") => default_pod(obj),
        ("", "Service") => service::default_service(obj),
        ("", "Namespace") => service::default_namespace(obj),
        ("", "Secret") => config::default_secret(obj),
        ("", "Endpoints") => service::default_endpoints(obj),
        ("", "Node") => service::default_node(obj),
        ("discovery.k8s.io", "EndpointSlice") => service::default_endpointslice(obj),
        ("apps", "Deployment") => workloads::default_deployment(obj),
        ("apps", "ReplicaSet") => workloads::default_replicaset(obj),
        ("apps", "DaemonSet") => workloads::default_daemonset(obj),
        ("", "ReplicationController") => workloads::default_replication_controller(obj),
        ("networking.k8s.io", "NetworkPolicy") => {
            super::network_policy::default_network_policy(obj)
        }
        ("batch", "Job") => workloads::default_job(obj),
        ("batch", "CronJob") => workloads::default_cronjob(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => workloads::default_hpa(obj),
        _ => {}
    }
}

/// Sets `obj[key]` when it is absent, null or (for string defaults) the empty string, as Go's
/// zero-value checks do. Does nothing when `obj` is not an object.
pub(crate) fn set(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut() {
        let unset = match m.get(key) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty() && value.is_string(),
            Some(_) => false,
        };
        if unset {
            m.insert(key.to_owned(), value);
        }
    }
}

/// `obj[key]` as an object, created empty when absent or null; `None` when either is not an object.
pub(crate) fn object<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let m = obj.as_object_mut()?;
    let slot = m.entry(key.to_owned()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.is_object().then_some(slot)
}

/// The objects of the array `obj[key]` (none when absent or not an array).
pub(crate) fn items<'a>(obj: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    obj.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|a| a.iter_mut())
        .filter(|v| v.is_object())
}
