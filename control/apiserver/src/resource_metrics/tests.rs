//! Table tests of metrics paths and of which objects get metrics.

use std::collections::HashMap;

use serde_json::json;
use skiff_api::metrics::{CpuStats, MemoryStats, NodeStats, NodeSummary, PodRef, PodStats};

use super::{Target, metrics_objects};

#[test]
fn paths_name_nodes_or_pods() {
    let pods = |namespace: Option<&str>, name: Option<&str>| Target::Pods {
        namespace: namespace.map(str::to_owned),
        name: name.map(str::to_owned),
    };
    let cases = [
        ("nodes", Some(Target::Nodes(None))),
        ("nodes/n1", Some(Target::Nodes(Some("n1".into())))),
        ("pods", Some(pods(None, None))),
        ("namespaces/default/pods", Some(pods(Some("default"), None))),
        (
            "namespaces/default/pods/web",
            Some(pods(Some("default"), Some("web"))),
        ),
        ("namespaces/default/pods/web/log", None),
        ("namespaces//pods", None),
        ("deployments", None),
        ("nodes/n1/proxy", None),
    ];
    for (path, want) in cases {
        assert_eq!(Target::parse(path), want, "{path}");
    }
    assert_eq!(
        pods(Some("a"), Some("b")).core_path(),
        "/api/v1/namespaces/a/pods/b"
    );
    assert_eq!(pods(None, None).core_path(), "/api/v1/pods");
    assert_eq!(
        Target::Nodes(Some("n".into())).core_path(),
        "/api/v1/nodes/n"
    );
}

fn summary(node: &str, uids: &[&str]) -> NodeSummary {
    NodeSummary {
        time: "2026-12-05T15:00:00Z".into(),
        window_seconds: 10.0,
        node: NodeStats {
            node_name: node.into(),
            cpu: CpuStats::default(),
            memory: MemoryStats::default(),
        },
        pods: uids
            .iter()
            .map(|uid| PodStats {
                pod_ref: PodRef {
                    namespace: "default".into(),
                    uid: (*uid).into(),
                },
                containers: Vec::new(),
            })
            .collect(),
    }
}

#[test]
fn only_objects_with_numbers_get_metrics() {
    let summaries = HashMap::from([
        ("n1".to_owned(), summary("n1", &["u1"])),
        ("n2".to_owned(), summary("n2", &[])),
    ]);
    let pod = |name: &str, uid: &str, node: Option<&str>| {
        json!({"metadata": {"name": name, "namespace": "default", "uid": uid},
               "spec": {"nodeName": node}})
    };
    let pods = [
        pod("reported", "u1", Some("n1")),
        pod("not-running", "u2", Some("n1")),
        pod("no-tunnel", "u3", Some("n3")),
        pod("unscheduled", "u4", None),
    ];
    let target = Target::Pods {
        namespace: None,
        name: None,
    };
    let items = metrics_objects(&target, &pods, &summaries, "now");
    let names: Vec<&str> = items
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["reported"]);

    let nodes = [
        json!({"metadata": {"name": "n1"}}),
        json!({"metadata": {"name": "n3"}}),
    ];
    let items = metrics_objects(&Target::Nodes(None), &nodes, &summaries, "now");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "NodeMetrics");
    assert_eq!(items[0]["metadata"]["name"], "n1");
}
