//! Defaults of Service (type, affinity, port protocols and target ports, traffic policies, IP
//! families), Namespace (finalizer, phase, name label), Endpoints, EndpointSlice and Node.

use serde_json::{Value, json};

use super::{items, object, set};

pub(crate) fn default_service(obj: &mut Value) {
    let Some(spec) = object(obj, "spec") else {
        return;
    };
    set(spec, "type", "ClusterIP".into());
    set(spec, "sessionAffinity", "None".into());
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            if let Some(m) = spec.as_object_mut() {
                m.remove("sessionAffinityConfig");
            }
        }
        Some("ClientIP") => {
            if let Some(client) =
                object(spec, "sessionAffinityConfig").and_then(|c| object(c, "clientIP"))
            {
                set(client, "timeoutSeconds", 10800.into());
            }
        }
        _ => {}
    }
    for p in items(spec, "ports") {
        set(p, "protocol", "TCP".into());
        let missing = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(v) => v.as_i64() == Some(0),
        };
        if missing && let Some(port) = p.get("port").cloned() {
            p["targetPort"] = port;
        }
    }
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if ty == "NodePort" || ty == "LoadBalancer" || (ty == "ClusterIP" && has_external_ips) {
        set(spec, "externalTrafficPolicy", "Cluster".into());
    }
    if matches!(ty.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        set(spec, "internalTrafficPolicy", "Cluster".into());
        set(spec, "ipFamilyPolicy", "SingleStack".into());
        set(spec, "ipFamilies", json!(["IPv4"]));
    }
    if ty == "LoadBalancer" {
        set(spec, "allocateLoadBalancerNodePorts", true.into());
    }
}

pub(crate) fn default_namespace(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !name.is_empty()
        && let Some(labels) = object(obj, "metadata").and_then(|m| object(m, "labels"))
    {
        labels["kubernetes.io/metadata.name"] = name.into();
    }
    if let Some(spec) = object(obj, "spec") {
        set(spec, "finalizers", json!(["kubernetes"]));
    }
    if let Some(status) = object(obj, "status") {
        set(status, "phase", "Active".into());
    }
}

pub(crate) fn default_endpoints(obj: &mut Value) {
    for subset in items(obj, "subsets") {
        for p in items(subset, "ports") {
            set(p, "protocol", "TCP".into());
        }
    }
}

pub(crate) fn default_endpointslice(obj: &mut Value) {
    for p in items(obj, "ports") {
        set(p, "protocol", "TCP".into());
        set(p, "name", "".into());
    }
}

pub(crate) fn default_node(obj: &mut Value) {
    let Some(capacity) = obj
        .pointer("/status/capacity")
        .filter(|c| c.is_object())
        .cloned()
    else {
        return;
    };
    if let Some(status) = object(obj, "status") {
        set(status, "allocatable", capacity);
    }
}
