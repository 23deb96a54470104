//! The registered Node, checked field by field as JSON (what kubectl and the API see).

use super::*;
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};

fn facts() -> NodeFacts {
    NodeFacts {
        name: "edge-1".into(),
        hostname: "edge-1.local".into(),
        internal_ip: "192.168.1.20".parse().unwrap(),
        os: "linux".into(),
        arch: go_arch("aarch64").into(),
        kernel_version: "6.8.0-45-generic".into(),
        os_image: "Ubuntu 24.04.1 LTS".into(),
        cpus: 4,
        memory_bytes: 8 << 30,
        max_pods: DEFAULT_MAX_PODS,
        skiff_version: "0.1.0".into(),
        wasmtime_version: "48.0.0".into(),
        pod_cidr: Some("10.244.1.0/24".into()),
        overlay_port: None,
    }
}

/// 2024-05-01T12:00:00Z plus `secs`.
fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_714_564_800 + secs)
}

fn json_of(node: &Node) -> Value {
    serde_json::to_value(node).unwrap()
}

#[test]
fn node_has_kubelets_fields() {
    let n = json_of(&node(&facts(), at(0)));
    let table: &[(&str, Value)] = &[
        ("/metadata/name", json!("edge-1")),
        (
            "/metadata/labels/kubernetes.io~1hostname",
            json!("edge-1.local"),
        ),
        ("/metadata/labels/kubernetes.io~1os", json!("linux")),
        ("/metadata/labels/kubernetes.io~1arch", json!("arm64")),
        ("/metadata/labels/skiff.io~1runtime", json!("wasm")),
        ("/spec/podCIDR", json!("10.244.1.0/24")),
        (
            "/status/capacity",
            json!({"cpu": "4", "memory": "8388608Ki", "pods": "110"}),
        ),
        (
            "/status/allocatable",
            json!({"cpu": "4", "memory": "8388608Ki", "pods": "110"}),
        ),
        ("/status/nodeInfo/kubeletVersion", json!("v0.1.0")),
        (
            "/status/nodeInfo/containerRuntimeVersion",
            json!("wasmtime://48.0.0"),
        ),
        ("/status/nodeInfo/osImage", json!("Ubuntu 24.04.1 LTS")),
        ("/status/nodeInfo/architecture", json!("arm64")),
        ("/status/nodeInfo/operatingSystem", json!("linux")),
        ("/status/nodeInfo/kernelVersion", json!("6.8.0-45-generic")),
        (
            "/status/addresses",
            json!([{"type": "InternalIP", "address": "192.168.1.20"},
                   {"type": "Hostname", "address": "edge-1.local"}]),
        ),
    ];
    for (pointer, want) in table {
        assert_eq!(n.pointer(pointer), Some(want), "{pointer}");
    }
}

#[test]
fn conditions_are_healthy_and_heartbeats_keep_transition_times() {
    let first = node_status(&facts(), None, at(0));
    let later = node_status(&facts(), Some(&first), at(40));
    let c = json_of(&Node {
        status: Some(later),
        ..Node::default()
    });
    let table = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ("Ready", "True", "KubeletReady"),
    ];
    let conds = c["status"]["conditions"].as_array().unwrap();
    assert_eq!(conds.len(), table.len());
    for (cond, (ty, status, reason)) in conds.iter().zip(table) {
        assert_eq!(cond["type"], ty);
        assert_eq!(cond["status"], status);
        assert_eq!(cond["reason"], reason);
        assert_eq!(cond["lastHeartbeatTime"], "2024-05-01T12:00:40Z", "{ty}");
        assert_eq!(cond["lastTransitionTime"], "2024-05-01T12:00:00Z", "{ty}");
    }
}

#[test]
fn meminfo_and_arch_parse() {
    let table: &[(&str, Option<u64>)] = &[
        (
            "MemTotal:       16318412 kB\nMemFree: 1 kB\n",
            Some(16_318_412 * 1024),
        ),
        ("MemFree: 1 kB\nMemTotal: 2048 kB", Some(2 << 20)),
        ("MemFree: 1 kB\n", None),
        ("MemTotal: lots kB\n", None),
        ("MemTotal: 1 MB\n", None),
    ];
    for (text, want) in table {
        assert_eq!(parse_meminfo(text), *want, "{text:?}");
    }
    for (rust, go) in [
        ("x86_64", "amd64"),
        ("aarch64", "arm64"),
        ("riscv64", "riscv64"),
    ] {
        assert_eq!(go_arch(rust), go);
    }
}
