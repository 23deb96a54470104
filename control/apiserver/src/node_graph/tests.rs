//! The graph against `node_refs::pod_references` (the store-side check it stands in for), and
//! its bookkeeping as pods are bound, changed and deleted.

use serde_json::{Value, json};

use super::*;
use crate::node_refs::pod_references;

fn pod(node: &str, spec: Value) -> Vec<u8> {
    let mut spec = spec;
    spec["nodeName"] = json!(node);
    serde_json::to_vec(&json!({"metadata": {"namespace": "ns", "name": "p"}, "spec": spec}))
        .unwrap()
}

fn every_kind_of_reference() -> Value {
    json!({
        "initContainers": [{"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "k"}}}]}],
        "containers": [{"envFrom": [{"secretRef": {"name": "s-from"}}, {"configMapRef": {"name": "cm-from"}}],
                        "env": [{"name": "B", "valueFrom": {"secretKeyRef": {"name": "s-env", "key": "k"}}},
                                {"name": "C", "value": "plain"}]}],
        "ephemeralContainers": [{"env": [{"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]}],
        "volumes": [{"name": "v", "configMap": {"name": "cm-vol"}},
                    {"name": "w", "secret": {"secretName": "s-vol"}},
                    {"name": "e", "emptyDir": {}},
                    {"name": "p", "projected": {"sources": [{"configMap": {"name": "cm-proj"}},
                                                            {"secret": {"name": "s-proj"}},
                                                            {"serviceAccountToken": {"path": "t"}}]}}],
        "imagePullSecrets": [{"name": "s-pull"}]
    })
}

#[test]
fn the_graph_agrees_with_the_store_side_check() {
    let spec = every_kind_of_reference();
    let stored = pod("n1", spec.clone());
    let graph = NodeGraph::default();
    graph.reset(vec![KeyValue {
        key: "/registry/pods/ns/p".into(),
        value: stored.clone(),
        create_revision: 1,
        mod_revision: 1,
        version: 1,
    }]);
    let as_value: Value = serde_json::from_slice(&stored).unwrap();
    let names = [
        "cm-env", "cm-from", "cm-vol", "cm-proj", "s-from", "s-env", "s-vol", "s-proj", "s-pull",
        "other",
    ];
    for kind in [RefKind::ConfigMap, RefKind::Secret] {
        for name in names {
            let want = pod_references(&as_value, kind, name);
            let got = graph.lookup("n1", kind, "ns", name) == GraphAnswer::Referenced;
            assert_eq!(got, want, "{kind:?} {name}");
            assert_ne!(
                graph.lookup("n2", kind, "ns", name),
                GraphAnswer::Referenced,
                "another node, {kind:?} {name}"
            );
            assert_ne!(
                graph.lookup("n1", kind, "other-ns", name),
                GraphAnswer::Referenced,
                "another namespace, {kind:?} {name}"
            );
        }
    }
}

fn event(kind: EventKind, key: &str, value: Vec<u8>) -> Event {
    Event {
        kind,
        kv: KeyValue {
            key: key.into(),
            value,
            create_revision: 1,
            mod_revision: 2,
            version: 1,
        },
        prev: None,
    }
}

#[test]
fn edges_follow_binding_changes_and_deletes() {
    let graph = NodeGraph::default();
    assert_eq!(
        graph.lookup("n1", RefKind::Secret, "ns", "s"),
        GraphAnswer::NotSynced
    );
    graph.reset(Vec::new());
    let uses_s = json!({"volumes": [{"name": "v", "secret": {"secretName": "s"}}]});
    let unbound = serde_json::to_vec(&json!({"metadata": {"namespace": "ns"}, "spec": uses_s}));
    graph.apply(&event(EventKind::Put, "/p/a", unbound.unwrap()));
    let seen = |node| graph.lookup(node, RefKind::Secret, "ns", "s");
    assert_eq!(
        seen("n1"),
        GraphAnswer::NotSeen,
        "an unbound pod grants nothing"
    );

    graph.apply(&event(EventKind::Put, "/p/a", pod("n1", uses_s.clone())));
    graph.apply(&event(EventKind::Put, "/p/b", pod("n1", uses_s.clone())));
    assert_eq!(seen("n1"), GraphAnswer::Referenced);
    graph.apply(&event(EventKind::Delete, "/p/a", Vec::new()));
    assert_eq!(seen("n1"), GraphAnswer::Referenced, "pod b still uses it");
    graph.apply(&event(EventKind::Put, "/p/b", pod("n1", json!({}))));
    assert_eq!(seen("n1"), GraphAnswer::NotSeen, "pod b stopped using it");
    graph.apply(&event(EventKind::Put, "/p/b", pod("n2", uses_s)));
    assert_eq!(seen("n1"), GraphAnswer::NotSeen);
    assert_eq!(seen("n2"), GraphAnswer::Referenced);
    graph.apply(&event(EventKind::Put, "/p/b", b"not json".to_vec()));
    assert_eq!(
        seen("n2"),
        GraphAnswer::NotSeen,
        "an unreadable pod grants nothing"
    );
    graph.unsync();
    assert_eq!(seen("n2"), GraphAnswer::NotSynced);
}
