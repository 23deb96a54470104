//! This node's resource metrics, served over the tunnels as the kubelet serves its Summary
//! API (`GET /stats/summary`): a [`Sampler`] reads the runtime's per-container counters
//! and the agent process's own CPU time and resident set every period, and
//! [`window::summarize`] turns the last two samples into rates.
//!
//! What is measured (the kubelet reads cgroups; a Wasm guest has none):
//! - a container's CPU is the thread CPU time spent polling its guest (where wasm runs),
//!   its memory the linear memory of its live instances;
//! - the node's CPU and memory are the agent process's (CPU time of every thread, resident
//!   set size): guests run inside it, so this is the pods' use plus the agent's own.
//!
//! # Layout
//! - [`window`]: two samples to a [`skiff_api::metrics::NodeSummary`]; pure, tested by table.
//! - [`sampler`]: the sampling loop and the latest summary.
//! - [`page`]: the Prometheus page (kubelet and cAdvisor families); pure, tested by table.
//! - [`restarts`]: the restart counts written in Pod status, for the page.

pub mod page;
pub mod restarts;
pub mod sampler;
pub mod window;

pub use restarts::RestartCounts;
pub use sampler::{NodeStatsSource, Sampler};
