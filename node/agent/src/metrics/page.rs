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

use std::collections::HashSet;
use std::fmt::Write;

use skiff_api::metrics::exposition::{self, Histogram, POD_START_BOUNDS, labels};
use skiff_runtime_wasm::usage::{ContainerInventory, RunState};

/// Pod start durations, each pod observed once: the first time it is seen with a running
/// container.
#[derive(Debug, Clone)]
pub struct PodStarts {
    /// Sandboxes already observed (forgotten when they leave the runtime).
    seen: HashSet<String>,
    histogram: Histogram,
}

impl Default for PodStarts {
    fn default() -> Self {
        PodStarts {
            seen: HashSet::new(),
            histogram: Histogram::new(&POD_START_BOUNDS),
        }
    }
}

impl PodStarts {
    /// Observes every pod of `containers` that runs a container for the first time.
    pub fn observe(&mut self, containers: &[ContainerInventory]) {
        let present: HashSet<&str> = containers.iter().map(|c| c.pod_id.as_str()).collect();
        self.seen.retain(|id| present.contains(id.as_str()));
        for c in containers {
            let RunState::Running { started_at } = c.state else {
                continue;
            };
            if self.seen.contains(&c.pod_id) {
                continue;
            }
            let first = containers
                .iter()
                .filter(|o| o.pod_id == c.pod_id)
                .filter_map(|o| match o.state {
                    RunState::Running { started_at } => Some(started_at),
                    _ => None,
                })
                .min()
                .unwrap_or(started_at);
            let took = first.duration_since(c.pod_created).unwrap_or_default();
            self.histogram.observe(took.as_secs_f64());
            self.seen.insert(c.pod_id.clone());
        }
    }
}

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
    let mut running_pods: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.container.state, RunState::Running { .. }))
        .map(|r| r.container.pod_id.as_str())
        .collect();
    running_pods.dedup();
    exposition::header(
        &mut out,
        "kubelet_running_pods",
        "gauge",
        "Number of pods that have a running pod sandbox",
    );
    let _ = writeln!(out, "kubelet_running_pods {}", running_pods.len());
    exposition::header(
        &mut out,
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
    exposition::header(
        &mut out,
        "kubelet_pod_start_duration_seconds",
        "histogram",
        "Duration in seconds from the pod's sandbox creation to its first running container",
    );
    starts
        .histogram
        .render(&mut out, "kubelet_pod_start_duration_seconds", "");
    exposition::header(
        &mut out,
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
    per_container(
        &mut out,
        rows,
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed in seconds.",
        |r| (r.container.usage.cpu_ns as f64 / 1e9).to_string(),
    );
    per_container(
        &mut out,
        rows,
        "container_memory_working_set_bytes",
        "gauge",
        "Current working set in bytes.",
        |r| r.container.usage.memory_bytes.to_string(),
    );
    per_pod(
        &mut out,
        rows,
        "container_network_receive_bytes_total",
        "Cumulative count of bytes received",
        |c| c.usage.rx_bytes,
    );
    per_pod(
        &mut out,
        rows,
        "container_network_transmit_bytes_total",
        "Cumulative count of bytes transmitted",
        |c| c.usage.tx_bytes,
    );
    per_container(
        &mut out,
        rows,
        "kube_pod_container_status_restarts_total",
        "counter",
        "The number of container restarts per container.",
        |r| r.restarts.to_string(),
    );
    exposition::header(
        &mut out,
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
        &mut out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
    );
    let _ = writeln!(out, "process_resident_memory_bytes {}", process.rss_bytes);
    out
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
mod tests {
    use super::*;
    use skiff_runtime_wasm::logs::{LogConfig, LogFile};
    use skiff_runtime_wasm::usage::UsageSnapshot;

    fn row(
        pod: &str,
        container: &str,
        state: RunState,
        restarts: u32,
        cpu_ns: u64,
    ) -> ContainerRow {
        let log = LogFile::create(
            format!("/nonexistent/{pod}/{container}.log"),
            LogConfig::default(),
        );
        ContainerRow {
            container: ContainerInventory {
                pod_id: format!("uid-{pod}"),
                pod_name: pod.into(),
                pod_created: at(0),
                namespace: "default".into(),
                container: container.into(),
                state,
                restarts,
                usage: UsageSnapshot {
                    cpu_ns,
                    memory_bytes: 65536,
                    rx_bytes: 1000,
                    tx_bytes: 24,
                },
                log: log.expect("a log handle touches no disk"),
            },
            log_bytes: 1234,
            restarts,
        }
    }

    /// `secs` seconds after the epoch.
    fn at(secs: u64) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    fn running(secs: u64) -> RunState {
        RunState::Running {
            started_at: at(secs),
        }
    }

    #[test]
    fn renders_kubelet_and_cadvisor_families() {
        let rows = [
            row("a", "app", running(3), 2, 1_500_000_000),
            row("a", "side", running(2), 0, 0),
            row("b", "app", RunState::Exited, 0, 0),
            row("c", "app", RunState::Created, 0, 0),
        ];
        let mut starts = PodStarts::default();
        let containers: Vec<ContainerInventory> =
            rows.iter().map(|r| r.container.clone()).collect();
        starts.observe(&containers);
        // Seen again: still one observation for pod a.
        starts.observe(&containers);
        let text = render(
            &rows,
            &starts,
            ProcessUse {
                cpu_ns: 2_000_000_000,
                rss_bytes: 4096,
            },
        );
        for line in [
            "# TYPE kubelet_running_pods gauge",
            "kubelet_running_pods 1",
            "kubelet_running_containers{container_state=\"running\"} 2",
            "kubelet_running_containers{container_state=\"exited\"} 1",
            "kubelet_running_containers{container_state=\"created\"} 1",
            "kubelet_pod_start_duration_seconds_bucket{le=\"1\"} 0",
            "kubelet_pod_start_duration_seconds_bucket{le=\"2\"} 1",
            "kubelet_pod_start_duration_seconds_count 1",
            "kubelet_container_log_filesystem_used_bytes{container=\"app\",namespace=\"default\",pod=\"a\",uid=\"uid-a\"} 1234",
            "container_cpu_usage_seconds_total{container=\"app\",namespace=\"default\",pod=\"a\"} 1.5",
            "container_memory_working_set_bytes{container=\"side\",namespace=\"default\",pod=\"a\"} 65536",
            "kube_pod_container_status_restarts_total{container=\"app\",namespace=\"default\",pod=\"a\"} 2",
            // Pod a's two containers, summed; one sample per pod.
            "container_network_receive_bytes_total{interface=\"eth0\",namespace=\"default\",pod=\"a\"} 2000",
            "container_network_transmit_bytes_total{interface=\"eth0\",namespace=\"default\",pod=\"a\"} 48",
            "container_network_transmit_bytes_total{interface=\"eth0\",namespace=\"default\",pod=\"b\"} 24",
            "process_cpu_seconds_total 2",
            "process_resident_memory_bytes 4096",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        let empty = render(&[], &PodStarts::default(), ProcessUse::default());
        assert!(
            empty.lines().any(|l| l == "kubelet_running_pods 0"),
            "{empty}"
        );
    }
}
