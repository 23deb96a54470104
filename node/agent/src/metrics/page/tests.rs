//! Tests of the Prometheus page: every family, rendered from a table of containers.

use super::*;
use skiff_runtime_wasm::logs::{LogConfig, LogFile};
use skiff_runtime_wasm::usage::UsageSnapshot;

fn row(pod: &str, container: &str, state: RunState, restarts: u32, cpu_ns: u64) -> ContainerRow {
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
    let containers: Vec<ContainerInventory> = rows.iter().map(|r| r.container.clone()).collect();
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
