//! The downward API: pod fields (`metadata.name`, `metadata.labels['x']`, `status.podIP`,
//! ...) and container resources (`limits.memory` with a divisor) as text.

use super::PodFacts;
use super::errors::ConfigError;
use super::quantity::parse_milli;
use skiff_api::k8s_openapi::api::core::v1::{Pod, ResourceFieldSelector};
use std::collections::BTreeMap;

/// The text of a `fieldRef` path.
pub fn field_value(pod: &Pod, path: &str, facts: &PodFacts) -> Result<String, ConfigError> {
    let meta = &pod.metadata;
    let empty = BTreeMap::new();
    let labels = meta.labels.as_ref().unwrap_or(&empty);
    let annotations = meta.annotations.as_ref().unwrap_or(&empty);
    if let Some(key) = subscript(path, "metadata.labels") {
        return Ok(labels.get(key).cloned().unwrap_or_default());
    }
    if let Some(key) = subscript(path, "metadata.annotations") {
        return Ok(annotations.get(key).cloned().unwrap_or_default());
    }
    let spec = pod.spec.as_ref();
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => facts.namespace.clone(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(labels),
        "metadata.annotations" => format_map(annotations),
        "spec.nodeName" => facts.node_name.clone(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.podIPs" => facts.pod_ip.to_string(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.to_string(),
        other => return Err(ConfigError::FieldPath(other.to_owned())),
    };
    Ok(value)
}

/// `key` of `metadata.labels['key']`.
fn subscript<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)?
        .strip_prefix("['")?
        .strip_suffix("']")
}

/// Labels or annotations as the downward API writes them: `key="value"` lines, sorted.
fn format_map(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of a `resourceFieldRef` of container `container_name`: the limit or request
/// divided by the divisor (default 1), rounded up. An unset limit is the node's
/// allocatable amount, as in Kubernetes; an unset request is the limit's, else 0.
pub fn resource_value(
    pod: &Pod,
    container_name: &str,
    sel: &ResourceFieldSelector,
    facts: &PodFacts,
) -> Result<String, ConfigError> {
    let container = pod
        .spec
        .iter()
        .flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
        .find(|c| c.name == container_name)
        .ok_or_else(|| ConfigError::ResourceContainer(container_name.to_owned()))?;
    let resources = container.resources.as_ref();
    let limit = |name: &str| resources.and_then(|r| r.limits.as_ref()?.get(name).cloned());
    let request = |name: &str| resources.and_then(|r| r.requests.as_ref()?.get(name).cloned());
    let (kind, resource) = sel
        .resource
        .split_once('.')
        .ok_or_else(|| ConfigError::Resource(sel.resource.clone()))?;
    let node_default = match resource {
        "cpu" => i128::from(facts.node_cpu_millis),
        "memory" => i128::from(facts.node_memory_bytes) * 1000,
        "ephemeral-storage" => 0,
        _ => return Err(ConfigError::Resource(sel.resource.clone())),
    };
    let quantity = match kind {
        "limits" => limit(resource),
        "requests" => request(resource).or_else(|| limit(resource)),
        _ => return Err(ConfigError::Resource(sel.resource.clone())),
    };
    let value = match quantity {
        Some(q) => parse_milli(&q.0).ok_or_else(|| ConfigError::Quantity(q.0.clone()))?,
        None if kind == "limits" => node_default,
        None => 0,
    };
    let divisor = match &sel.divisor {
        Some(d) => parse_milli(&d.0)
            .filter(|d| *d > 0)
            .ok_or_else(|| ConfigError::Quantity(d.0.clone()))?,
        None => 1000,
    };
    let whole = value / divisor + i128::from(value % divisor != 0);
    Ok(whole.to_string())
}
