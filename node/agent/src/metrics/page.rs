//! The agent's Prometheus page (`GET /metrics` over its tunnels, reached by scrapers through
//! the API server's `nodes/<node>/proxy/metrics`): the kubelet's families and cAdvisor's
//! per-container ones on one page, with their names and labels:
//! - `kubelet_running_pods`: pods with a running container;
//! - `kubelet_running_containers{container_state}`: containers by `running`, `exited`,
//!   `created`;
//! - `kubelet_pod_start_duration_seconds`: from a pod's sandbox creation to its first running
//!   container (the kubelet counts from first seeing the pod), each pod once ([`PodStarts`]);
//! - `kubelet_container_log_filesystem_used_bytes{namespace,pod,container,uid}`: bytes of the
//!   container's log files (current and rotated);
//! - `container_cpu_usage_seconds_total{namespace,pod,container}`: CPU time spent running the
//!   guest, over all its runs;
//! - `container_memory_working_set_bytes{namespace,pod,container}`: linear memory of the
//!   guest's live instances;
//! - `container_network_receive_bytes_total{interface,namespace,pod}`,
//!   `container_network_transmit_bytes_total{interface,namespace,pod}`: bytes the pod's
//!   guest sockets received and sent (TCP payload, UDP datagrams), summed over its
//!   containers; one pod-level sample as cAdvisor reports the sandbox's `eth0`;
//! - `kube_pod_container_status_restarts_total{namespace,pod,container}`: the container's
//!   `restartCount` as the agent last wrote it in the Pod's status (kube-state-metrics' family,
//!   which reads the Pod), so it carries on across agent restarts;
//! - `process_cpu_seconds_total`, `process_resident_memory_bytes`: the agent process, guests
//!   included (the node's use, as `/stats/summary` reports it).
//!
//! [`render`] is pure: the caller reads the runtime and the log sizes.

mod pod_starts;

pub use pod_starts::PodStarts;

use std::fmt::Write;

use skiff_api::metrics::exposition::{self, labels};
use skiff_runtime_wasm::usage::{ContainerInventory, RunState};

/// One container and the bytes its log files take.
pub struct ContainerRow {
    pub container: ContainerInventory,
    pub log_bytes: u64,
    /// The restart count the Pod's status shows (see `restarts`).
    pub restarts: u32,
}

/// The agent process's own use.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessUse {
    pub cpu_ns: u64,
    pub rss_bytes: u64,
}

/// The page for `rows` (sorted by pod, then container) and the process.
pub fn render(rows: &[ContainerRow], starts: &PodStarts, process: ProcessUse) -> String {
    let mut out = String::new();
    running_pods(&mut out, rows);
    running_containers(&mut out, rows);
    pod_start_durations(&mut out, starts);
    log_filesystem_used_bytes(&mut out, rows);
    container_usage(&mut out, rows);
    restart_counts(&mut out, rows);
    process_usage(&mut out, process);
    out
}

/// `kubelet_running_pods`: the pods with a running container.
fn running_pods(out: &mut String, rows: &[ContainerRow]) {
    let mut running_pods: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.container.state, RunState::Running { .. }))
        .map(|r| r.container.pod_id.as_str())
        .collect();
    running_pods.dedup();
    exposition::header(
        out,
        "kubelet_running_pods",
        "gauge",
        "Number of pods that have a running pod sandbox",
    );
    let _ = writeln!(out, "kubelet_running_pods {}", running_pods.len());
}

/// `kubelet_running_containers{container_state}`: the containers in each state.
fn running_containers(out: &mut String, rows: &[ContainerRow]) {
    exposition::header(
        out,
        "kubelet_running_containers",
        "gauge",
        "Number of containers currently running",
    );
    for state in ["created", "exited", "running"] {
        let n = rows
            .iter()
            .filter(|r| r.container.state.label() == state)
            .count();
        let _ = writeln!(
            out,
            "kubelet_running_containers{{container_state=\"{state}\"}} {n}"
        );
    }
}

/// `kubelet_pod_start_duration_seconds`: the histogram of [`PodStarts`].
fn pod_start_durations(out: &mut String, starts: &PodStarts) {
    exposition::header(
        out,
        "kubelet_pod_start_duration_seconds",
        "histogram",
        "Duration in seconds from the pod's sandbox creation to its first running container",
    );
    starts.render(out, "kubelet_pod_start_duration_seconds");
}

/// `kubelet_container_log_filesystem_used_bytes{namespace,pod,container,uid}`: each
/// container's log files.
fn log_filesystem_used_bytes(out: &mut String, rows: &[ContainerRow]) {
    exposition::header(
        out,
        "kubelet_container_log_filesystem_used_bytes",
        "gauge",
        "Bytes used by the container's logs on the filesystem.",
    );
    for row in rows {
        let c = &row.container;
        let l = labels(&[
            ("container", &c.container),
            ("namespace", &c.namespace),
            ("pod", &c.pod_name),
            ("uid", &c.pod_id),
        ]);
        let _ = writeln!(
            out,
            "kubelet_container_log_filesystem_used_bytes{{{l}}} {}",
            row.log_bytes
        );
    }
}

/// cAdvisor's families: each container's CPU time and working set, each pod's network bytes.
fn container_usage(out: &mut String, rows: &[ContainerRow]) {
    per_container(
        out,
        rows,
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed in seconds.",
        |r| (r.container.usage.cpu_ns as f64 / 1e9).to_string(),
    );
    per_container(
        out,
        rows,
        "container_memory_working_set_bytes",
        "gauge",
        "Current working set in bytes.",
        |r| r.container.usage.memory_bytes.to_string(),
    );
    per_pod(
        out,
        rows,
        "container_network_receive_bytes_total",
        "Cumulative count of bytes received",
        |c| c.usage.rx_bytes,
    );
    per_pod(
        out,
        rows,
        "container_network_transmit_bytes_total",
        "Cumulative count of bytes transmitted",
        |c| c.usage.tx_bytes,
    );
}

/// `kube_pod_container_status_restarts_total`: the restart counts of the Pods' status.
fn restart_counts(out: &mut String, rows: &[ContainerRow]) {
    per_container(
        out,
        rows,
        "kube_pod_container_status_restarts_total",
        "counter",
        "The number of container restarts per container.",
        |r| r.restarts.to_string(),
    );
}

/// `process_cpu_seconds_total` and `process_resident_memory_bytes`: the agent process's use.
fn process_usage(out: &mut String, process: ProcessUse) {
    exposition::header(
        out,
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
    );
    let _ = writeln!(
        out,
        "process_cpu_seconds_total {}",
        process.cpu_ns as f64 / 1e9
    );
    exposition::header(
        out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
    );
    let _ = writeln!(out, "process_resident_memory_bytes {}", process.rss_bytes);
}

/// One family with a sample per container, as cAdvisor labels them.
fn per_container(
    out: &mut String,
    rows: &[ContainerRow],
    name: &str,
    kind: &str,
    help: &str,
    value: fn(&ContainerRow) -> String,
) {
    exposition::header(out, name, kind, help);
    for row in rows {
        let c = &row.container;
        let l = labels(&[
            ("container", &c.container),
            ("namespace", &c.namespace),
            ("pod", &c.pod_name),
        ]);
        let _ = writeln!(out, "{name}{{{l}}} {}", value(row));
    }
}

/// One counter family with a sample per pod (rows sorted by pod): the sum over its
/// containers, labelled as cAdvisor labels a pod's network (`interface="eth0"`).
fn per_pod(
    out: &mut String,
    rows: &[ContainerRow],
    name: &str,
    help: &str,
    value: fn(&ContainerInventory) -> u64,
) {
    exposition::header(out, name, "counter", help);
    for pod in rows.chunk_by(|a, b| a.container.pod_id == b.container.pod_id) {
        let c = &pod[0].container;
        let total: u64 = pod.iter().map(|r| value(&r.container)).sum();
        let l = labels(&[
            ("interface", "eth0"),
            ("namespace", &c.namespace),
            ("pod", &c.pod_name),
        ]);
        let _ = writeln!(out, "{name}{{{l}}} {total}");
    }
}

#[cfg(test)]
mod tests;
