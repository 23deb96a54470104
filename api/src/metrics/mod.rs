//! Resource metrics: the node summary an agent serves over its tunnel (`GET /stats/summary`,
//! a subset of the kubelet's Summary API, `stats/v1alpha1`) and the `metrics.k8s.io/v1beta1`
//! `PodMetrics` and `NodeMetrics` the API server builds from it, as metrics-server builds
//! them from kubelets. CPU is a rate over the agent's sampling window in nanocores
//! (`"12345n"`), memory a byte count (`"2048Ki"`), as metrics-server writes them.
//!
//! - `summary`: [`NodeSummary`] and its parts, serialised by the agent and read here.
//! - `quantity`: CPU and memory `Quantity` strings and the window as a Go duration.
//! - `objects`: `PodMetrics`, `NodeMetrics` and their lists, from summaries and objects.
//! - `discovery`: the group's `APIGroup`, `APIResourceList` and aggregated entry.
//! - `exposition`: Prometheus' text format for the components' `/metrics` pages.

mod discovery;
pub mod exposition;
mod objects;
mod quantity;
mod summary;
#[cfg(test)]
mod tests;

pub use discovery::{
    GROUP, GROUP_VERSION, VERSION, aggregated_group, api_group, is_metrics_group, resource_list,
};
pub use objects::{metrics_list, node_metrics, pod_metrics};
pub use quantity::{cpu_quantity, go_duration, memory_quantity};
pub use summary::{
    ContainerStats, CpuStats, MemoryStats, NodeStats, NodeSummary, PodRef, PodStats,
};

/// The path an agent serves its [`NodeSummary`] at, over its tunnel.
pub const SUMMARY_PATH: &str = "/stats/summary";

/// The path an agent serves its Prometheus metrics at, over its tunnel (the kubelet's
/// `/metrics` and `/metrics/cadvisor` families on one page).
pub const AGENT_METRICS_PATH: &str = "/metrics";
