//! The Node object this agent registers and refreshes: capacity and allocatable, labels,
//! `nodeInfo`, addresses and the kubelet's conditions with heartbeat times; and the kubelet's
//! Events about the node.
//!
//! Pure: the host facts (cpus, memory, kernel, ...) and `now` are passed in; `parse_meminfo`
//! reads the text of /proc/meminfo that the caller loaded.

use crate::kube_time::to_kube;
use skiff_api::k8s_openapi::api::core::v1::{
    Event, EventSource, Node, NodeAddress, NodeCondition, NodeSpec, NodeStatus, NodeSystemInfo,
    ObjectReference,
};
use skiff_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use skiff_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

/// The label that says a node runs Wasm pods (value [`RUNTIME_LABEL_VALUE`]); workloads
/// select skiff nodes with `nodeSelector: {skiff.io/runtime: wasm}`.
pub const RUNTIME_LABEL: &str = "skiff.io/runtime";
pub const RUNTIME_LABEL_VALUE: &str = "wasm";
/// Pods per node when no limit is configured (the kubelet's `--max-pods` default).
pub const DEFAULT_MAX_PODS: u32 = 110;

/// What the agent found out about its host and itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    /// The Node's name (defaults to the host name).
    pub name: String,
    pub hostname: String,
    /// The address other nodes and the control plane reach this node at.
    pub internal_ip: IpAddr,
    /// `std::env::consts::OS` / `ARCH` in Go's spelling (see [`go_arch`]).
    pub os: String,
    pub arch: String,
    pub kernel_version: String,
    /// A human name of the OS (PRETTY_NAME of /etc/os-release).
    pub os_image: String,
    /// Logical CPUs (the host's available parallelism).
    pub cpus: u32,
    /// Total memory in bytes (MemTotal of /proc/meminfo).
    pub memory_bytes: u64,
    pub max_pods: u32,
    /// skiff's version, reported as the kubelet version (`v0.1.0`).
    pub skiff_version: String,
    /// wasmtime's version, in `containerRuntimeVersion` as `wasmtime://48.0.0`.
    pub wasmtime_version: String,
    /// `spec.podCIDR` this node allocates pod IPs from, when the agent chose one.
    pub pod_cidr: Option<String>,
    /// The port of the overlay's tunnel listener on `internal_ip`, published as the
    /// annotation `skiff.io/overlay-port` for the other nodes' overlays.
    pub overlay_port: Option<u16>,
}

/// The Node annotation naming the overlay's tunnel port (`skiff_overlay::OVERLAY_PORT_ANNOTATION`).
pub const OVERLAY_PORT_ANNOTATION: &str = "skiff.io/overlay-port";

/// The annotations the agent owns on its Node.
pub fn annotations(facts: &NodeFacts) -> BTreeMap<String, String> {
    facts
        .overlay_port
        .map(|port| (OVERLAY_PORT_ANNOTATION.to_owned(), port.to_string()))
        .into_iter()
        .collect()
}

/// Rust's architecture names in Go's spelling, which `kubernetes.io/arch` uses.
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// MemTotal of /proc/meminfo, in bytes.
pub fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => value.checked_mul(1024),
        Some(_) => None,
    }
}

/// The Node to register.
pub fn node(facts: &NodeFacts, now: SystemTime) -> Node {
    let labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_owned(), facts.hostname.clone()),
        ("kubernetes.io/os".to_owned(), facts.os.clone()),
        ("kubernetes.io/arch".to_owned(), facts.arch.clone()),
        (RUNTIME_LABEL.to_owned(), RUNTIME_LABEL_VALUE.to_owned()),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(facts.name.clone()),
            labels: Some(labels),
            annotations: Some(annotations(facts)).filter(|a| !a.is_empty()),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: facts.pod_cidr.clone(),
            pod_cidrs: facts.pod_cidr.clone().map(|c| vec![c]),
            ..NodeSpec::default()
        }),
        status: Some(node_status(facts, None, now)),
    }
}

/// The Node's status at `now`; `previous` keeps each condition's lastTransitionTime while
/// its status is unchanged (a heartbeat only moves lastHeartbeatTime).
pub fn node_status(
    facts: &NodeFacts,
    previous: Option<&NodeStatus>,
    now: SystemTime,
) -> NodeStatus {
    let resources = BTreeMap::from([
        ("cpu".to_owned(), Quantity(facts.cpus.to_string())),
        (
            "memory".to_owned(),
            Quantity(format!("{}Ki", facts.memory_bytes / 1024)),
        ),
        ("pods".to_owned(), Quantity(facts.max_pods.to_string())),
    ]);
    NodeStatus {
        capacity: Some(resources.clone()),
        // Nothing is reserved for the system: the agent and its guests share one process.
        allocatable: Some(resources),
        addresses: Some(vec![
            address("InternalIP", &facts.internal_ip.to_string()),
            address("Hostname", &facts.hostname),
        ]),
        conditions: Some(conditions(previous, now)),
        node_info: Some(NodeSystemInfo {
            architecture: facts.arch.clone(),
            operating_system: facts.os.clone(),
            os_image: facts.os_image.clone(),
            kernel_version: facts.kernel_version.clone(),
            kubelet_version: format!("v{}", facts.skiff_version.trim_start_matches('v')),
            kube_proxy_version: String::new(),
            container_runtime_version: format!("wasmtime://{}", facts.wasmtime_version),
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    }
}

fn address(type_: &str, address: &str) -> NodeAddress {
    NodeAddress {
        type_: type_.to_owned(),
        address: address.to_owned(),
    }
}

/// (type, status, reason, message) of the conditions the kubelet reports when healthy.
const HEALTHY: [(&str, &str, &str, &str); 4] = [
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    (
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ),
    (
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
    (
        "Ready",
        "True",
        "KubeletReady",
        "skiff agent is posting ready status",
    ),
];

fn conditions(previous: Option<&NodeStatus>, now: SystemTime) -> Vec<NodeCondition> {
    let old = previous
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    HEALTHY
        .iter()
        .map(|(type_, status, reason, message)| {
            let kept = old
                .iter()
                .find(|c| c.type_ == *type_ && c.status == *status)
                .and_then(|c| c.last_transition_time.clone());
            NodeCondition {
                type_: (*type_).to_owned(),
                status: (*status).to_owned(),
                reason: Some((*reason).to_owned()),
                message: Some((*message).to_owned()),
                last_heartbeat_time: Some(to_kube(now)),
                last_transition_time: Some(kept.unwrap_or_else(|| to_kube(now))),
            }
        })
        .collect()
}

/// A kubelet Event about node `name` (kube's node events name the node as its uid, which is
/// what `kubectl describe node` looks for), source `kubelet` on host `name`.
pub fn node_event(name: &str, reason: &str, message: &str, now: SystemTime) -> Event {
    let at = to_kube(now);
    let nanos = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{nanos:x}")),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            kind: Some("Node".into()),
            name: Some(name.into()),
            uid: Some(name.into()),
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some("Normal".into()),
        count: Some(1),
        first_timestamp: Some(at.clone()),
        last_timestamp: Some(at),
        source: Some(EventSource {
            component: Some("kubelet".into()),
            host: Some(name.into()),
        }),
        reporting_component: Some("kubelet".into()),
        reporting_instance: Some(name.into()),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests;
