//! Table tests of `summarize`.

use super::*;
use skiff_runtime_wasm::usage::ContainerUsage;

fn pod(uid: &str, containers: &[(&str, u64, u64)]) -> PodUsage {
    PodUsage {
        pod: uid.into(),
        namespace: "default".into(),
        containers: containers
            .iter()
            .map(|(name, cpu_ns, memory_bytes)| ContainerUsage {
                name: (*name).into(),
                usage: UsageSnapshot {
                    cpu_ns: *cpu_ns,
                    memory_bytes: *memory_bytes,
                    ..UsageSnapshot::default()
                },
            })
            .collect(),
    }
}

fn sample(at_s: u64, process_cpu_ns: u64, pods: Vec<PodUsage>) -> Sample {
    Sample {
        at_ns: at_s * 1_000_000_000,
        process_cpu_ns,
        process_rss_bytes: 50 << 20,
        pods,
    }
}

#[test]
fn rates_are_cpu_time_over_the_window() {
    let before = sample(
        10,
        1_000_000_000,
        vec![
            pod("busy", &[("spin", 0, 1 << 20)]),
            pod("idle", &[("wait", 5_000, 1 << 20)]),
            pod("gone", &[("x", 0, 0)]),
        ],
    );
    let now = sample(
        15,
        6_500_000_000,
        vec![
            pod("busy", &[("spin", 4_900_000_000, 2 << 20)]),
            pod("idle", &[("wait", 10_000, 1 << 20)]),
            pod("new", &[("y", 1_000, 0)]),
        ],
    );
    let summary = summarize("n1", &before, &now, "T".into());
    assert_eq!(summary.time, "T");
    assert!((summary.window_seconds - 5.0).abs() < 1e-9);
    assert_eq!(summary.node.node_name, "n1");
    // 5.5 s of process CPU over 5 s: 1.1 cores.
    assert_eq!(summary.node.cpu.usage_nano_cores, 1_100_000_000);
    assert_eq!(summary.node.memory.working_set_bytes, 50 << 20);
    let uids: Vec<&str> = summary
        .pods
        .iter()
        .map(|p| p.pod_ref.uid.as_str())
        .collect();
    // "new" has one sample only; "gone" is gone.
    assert_eq!(uids, ["busy", "idle"]);
    let busy = &summary.pods[0].containers[0];
    assert_eq!(busy.cpu.usage_nano_cores, 980_000_000);
    assert_eq!(busy.cpu.usage_core_nano_seconds, 4_900_000_000);
    assert_eq!(busy.memory.working_set_bytes, 2 << 20);
    assert_eq!(summary.pods[1].containers[0].cpu.usage_nano_cores, 1_000);
    assert_eq!(summary.pods[1].pod_ref.namespace, "default");
}

#[test]
fn a_counter_that_went_back_gives_no_rate_and_an_empty_window_no_division() {
    let before = sample(10, 100, vec![pod("p", &[("a", 900, 0), ("b", 10, 0)])]);
    let now = sample(12, 50, vec![pod("p", &[("a", 100, 0), ("b", 20, 64)])]);
    let summary = summarize("n1", &before, &now, "T".into());
    let names: Vec<&str> = summary.pods[0]
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["b"]);
    assert_eq!(summary.node.cpu, CpuStats::default());

    let same = summarize("n1", &now, &now, "T".into());
    assert_eq!(same.window_seconds, 0.0);
    assert_eq!(same.pods[0].containers[0].cpu.usage_nano_cores, 0);
}
