//! The node summary an agent serves (`GET /stats/summary` over its tunnel): the kubelet's
//! Summary API (`stats/v1alpha1`) cut down to what metrics.k8s.io needs, in its JSON
//! spelling, plus `windowSeconds`, the sampling window the rates were computed over (the
//! kubelet leaves that to metrics-server, which scrapes twice).

use serde::{Deserialize, Serialize};

/// CPU use over the window: the rate in nanocores and the cumulative time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CpuStats {
    pub usage_nano_cores: u64,
    pub usage_core_nano_seconds: u64,
}

/// Memory in use at the end of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStats {
    /// For a Wasm container: its linear memory; for the node: the agent process's RSS.
    pub working_set_bytes: u64,
}

/// One container's use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStats {
    pub name: String,
    pub cpu: CpuStats,
    pub memory: MemoryStats,
}

/// Which pod a [`PodStats`] is about: the agent knows its pods by uid (its sandbox ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodRef {
    pub namespace: String,
    pub uid: String,
}

/// One pod's running containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStats {
    pub pod_ref: PodRef,
    pub containers: Vec<ContainerStats>,
}

/// The node as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStats {
    pub node_name: String,
    pub cpu: CpuStats,
    pub memory: MemoryStats,
}

/// Everything an agent reports, measured over `[time - windowSeconds, time]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSummary {
    /// The end of the window, RFC 3339.
    pub time: String,
    pub window_seconds: f64,
    pub node: NodeStats,
    pub pods: Vec<PodStats>,
}

impl NodeSummary {
    /// The stats of the pod with `uid`, if it has running containers on this node.
    pub fn pod(&self, uid: &str) -> Option<&PodStats> {
        self.pods.iter().find(|p| p.pod_ref.uid == uid)
    }
}
