//! Rows of daemon sets, replication controllers, controller revisions and pod disruption
//! budgets, as kubectl prints them.

use serde_json::json;

use super::{columns, obj, row};

#[test]
fn daemon_set() {
    assert_eq!(
        columns("apps", "daemonsets"),
        [
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Up-to-date",
            "Available",
            "Node Selector",
            "Age",
            "Containers*",
            "Images*",
            "Selector*"
        ]
    );
    let ds = obj(
        "agent",
        json!({
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {"spec": {
                    "nodeSelector": {"zone": "a", "disk": "ssd"},
                    "containers": [{"name": "agent", "image": "agent.wasm"}]
                }}
            },
            "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                       "updatedNumberScheduled": 1, "numberAvailable": 2}
        }),
    );
    assert_eq!(
        row("apps", "daemonsets", &ds),
        json!([
            "agent",
            3,
            3,
            2,
            1,
            2,
            "disk=ssd,zone=a",
            "3h2m",
            "agent",
            "agent.wasm",
            "app=agent"
        ])
    );
    let fresh = obj("new", json!({"spec": {"template": {"spec": {}}}}));
    let cells = row("apps", "daemonsets", &fresh);
    assert_eq!(
        (&cells[1], &cells[6], &cells[10]),
        (&json!(0), &json!("<none>"), &json!("<none>"))
    );
}

#[test]
fn replication_controller() {
    assert_eq!(
        columns("", "replicationcontrollers"),
        [
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Age",
            "Containers*",
            "Images*",
            "Selector*"
        ]
    );
    let rc = obj(
        "legacy",
        json!({
            "spec": {"replicas": 3, "selector": {"app": "legacy"},
                     "template": {"spec": {"containers": [{"name": "app", "image": "app.wasm"}]}}},
            "status": {"replicas": 2, "readyReplicas": 1}
        }),
    );
    assert_eq!(
        row("", "replicationcontrollers", &rc),
        json!(["legacy", 3, 2, 1, "3h2m", "app", "app.wasm", "app=legacy"])
    );
}

#[test]
fn controller_revision() {
    assert_eq!(
        columns("apps", "controllerrevisions"),
        ["Name", "Controller", "Revision", "Age"]
    );
    let owned = obj(
        "agent-6d4f",
        json!({
            "metadata": {"name": "agent-6d4f", "creationTimestamp": super::ago(60),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                     "uid": "u", "controller": true}]},
            "data": {}, "revision": 2
        }),
    );
    assert_eq!(
        row("apps", "controllerrevisions", &owned),
        json!(["agent-6d4f", "daemonset.apps/agent", 2, "60s"])
    );
    let orphan = obj("loose", json!({"data": {}, "revision": 1}));
    assert_eq!(row("apps", "controllerrevisions", &orphan)[1], "<none>");
}

#[test]
fn pod_disruption_budget() {
    assert_eq!(
        columns("policy", "poddisruptionbudgets"),
        [
            "Name",
            "Min Available",
            "Max Unavailable",
            "Allowed Disruptions",
            "Age"
        ]
    );
    let by_count = obj(
        "web",
        json!({"spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}}),
    );
    assert_eq!(
        row("policy", "poddisruptionbudgets", &by_count),
        json!(["web", "2", "N/A", 1, "3h2m"])
    );
    let by_percent = obj("db", json!({"spec": {"maxUnavailable": "25%"}}));
    assert_eq!(
        row("policy", "poddisruptionbudgets", &by_percent),
        json!(["db", "N/A", "25%", 0, "3h2m"])
    );
}
