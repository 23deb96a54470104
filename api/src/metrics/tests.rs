//! Table tests of the metrics quantities and objects.

use serde_json::json;

use super::*;

#[test]
fn quantities_are_written_as_metrics_server_writes_them() {
    let cpu = [(0, "0"), (1, "1n"), (329_087_452, "329087452n")];
    for (nano, want) in cpu {
        assert_eq!(cpu_quantity(nano), want, "{nano} nanocores");
    }
    let memory = [
        (0, "0"),
        (1000, "1000"),
        (1024, "1Ki"),
        (2_748_180 * 1024, "2748180Ki"),
        (64 << 20, "64Mi"),
        (3 << 30, "3Gi"),
        (1536, "1536"),
    ];
    for (bytes, want) in memory {
        assert_eq!(memory_quantity(bytes), want, "{bytes} bytes");
    }
    let windows = [
        (0.0, "0s"),
        (-1.0, "0s"),
        (f64::NAN, "0s"),
        (5.0, "5s"),
        (10.0021, "10.002s"),
        (0.5, "0.5s"),
    ];
    for (seconds, want) in windows {
        assert_eq!(go_duration(seconds), want, "{seconds} s");
    }
}

fn summary() -> NodeSummary {
    let stats = |name: &str, nano: u64, bytes: u64| ContainerStats {
        name: name.into(),
        cpu: CpuStats {
            usage_nano_cores: nano,
            usage_core_nano_seconds: nano * 10,
        },
        memory: MemoryStats {
            working_set_bytes: bytes,
        },
    };
    NodeSummary {
        time: "2026-12-05T15:00:10Z".into(),
        window_seconds: 5.0,
        node: NodeStats {
            node_name: "n1".into(),
            cpu: CpuStats {
                usage_nano_cores: 1_500_000_000,
                usage_core_nano_seconds: 9,
            },
            memory: MemoryStats {
                working_set_bytes: 100 << 20,
            },
        },
        pods: vec![PodStats {
            pod_ref: PodRef {
                namespace: "default".into(),
                uid: "u1".into(),
            },
            containers: vec![stats("app", 980_000_000, 2 << 20), stats("side", 0, 65536)],
        }],
    }
}

#[test]
fn pod_metrics_carry_the_pods_names_labels_and_each_containers_usage() {
    let summary = summary();
    let pod = json!({"metadata": {"name": "web", "namespace": "default", "uid": "u1",
        "labels": {"app": "web"}}});
    let stats = summary.pod("u1").expect("stats of u1");
    assert!(summary.pod("u2").is_none());
    let metrics = pod_metrics(&pod, stats, &summary, "2026-12-05T15:00:11Z");
    assert_eq!(
        metrics,
        json!({
            "kind": "PodMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                "creationTimestamp": "2026-12-05T15:00:11Z"},
            "timestamp": "2026-12-05T15:00:10Z",
            "window": "5s",
            "containers": [
                {"name": "app", "usage": {"cpu": "980000000n", "memory": "2Mi"}},
                {"name": "side", "usage": {"cpu": "0", "memory": "64Ki"}},
            ],
        })
    );
    let list = metrics_list("PodMetrics", vec![metrics]);
    assert_eq!(list["kind"], "PodMetricsList");
    assert_eq!(list["items"][0]["metadata"]["name"], "web");
}

#[test]
fn node_metrics_are_the_node_totals() {
    let node = json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}});
    let metrics = node_metrics(&node, &summary(), "now");
    assert_eq!(metrics["kind"], "NodeMetrics");
    assert_eq!(metrics["metadata"]["name"], "n1");
    assert!(metrics["metadata"].get("namespace").is_none());
    assert_eq!(
        metrics["metadata"]["labels"]["kubernetes.io/hostname"],
        "n1"
    );
    assert_eq!(
        metrics["usage"],
        json!({"cpu": "1500000000n", "memory": "100Mi"})
    );
}

#[test]
fn the_summary_reads_back_what_the_agent_writes() {
    let summary = summary();
    let text = serde_json::to_string(&summary).expect("serialise");
    assert!(text.contains("\"usageNanoCores\":980000000"), "{text}");
    assert!(text.contains("\"workingSetBytes\""), "{text}");
    assert!(text.contains("\"podRef\""), "{text}");
    let back: NodeSummary = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, summary);
}

#[test]
fn discovery_names_both_resources_read_only() {
    assert!(is_metrics_group("metrics.k8s.io"));
    let list = resource_list();
    assert_eq!(list["groupVersion"], "metrics.k8s.io/v1beta1");
    let names: Vec<&str> = list["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["nodes", "pods"]);
    assert_eq!(list["resources"][1]["verbs"], json!(["get", "list"]));
    assert_eq!(list["resources"][1]["namespaced"], true);
    assert_eq!(api_group(true)["kind"], "APIGroup");
    assert!(api_group(false).get("kind").is_none());
    let aggregated = aggregated_group();
    assert_eq!(aggregated["metadata"]["name"], "metrics.k8s.io");
    assert_eq!(
        aggregated["versions"][0]["resources"][0]["scope"],
        "Cluster"
    );
}
