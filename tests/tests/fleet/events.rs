//! Events on both APIs and their time to live (run inside the monitoring scenario, whose
//! server keeps Events `--event-ttl 20s` and sweeps every second): an Event written on
//! core/v1 reads on events.k8s.io/v1 (`note`, `regarding`, `deprecatedCount`), one written on
//! events.k8s.io/v1 reads on core/v1, a field selector in the new names filters, `kubectl get
//! events` and `kubectl events` still list them, and both are gone after their TTL.

use std::time::Duration;

use anyhow::ensure;
use serde_json::{Value, json};
use skiff_tests::Fleet;
use skiff_tests::fleet::poll;

/// The server flags of the scenario.
pub const SERVER_FLAGS: [&str; 4] = ["--event-ttl", "20s", "--event-ttl-sweep-seconds", "1"];

/// Longer than the TTL plus a sweep.
const GONE: Duration = Duration::from_secs(60);

pub async fn check(fleet: &Fleet, pod: &str) -> anyhow::Result<()> {
    let core = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "ttl-core", "namespace": "default"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": "default"},
        "reason": "Checked", "message": "written on core/v1", "type": "Normal", "count": 2,
        "source": {"component": "monitoring-test"},
    });
    let v1 = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "ttl-v1", "namespace": "default"},
        "regarding": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": "default"},
        "reason": "Checked", "note": "written on events.k8s.io/v1", "type": "Normal",
        "action": "Check", "reportingController": "skiff.io/monitoring-test",
        "reportingInstance": "test-1", "eventTime": "2026-01-01T00:00:00.000000Z",
    });
    let kubectl = &fleet.kubectl;
    for object in [&core, &v1] {
        kubectl
            .ok_stdin(&["create", "-f", "-"], &object.to_string())
            .await?;
    }
    let as_v1 = get(fleet, "events.v1.events.k8s.io", "ttl-core").await?;
    ensure!(
        as_v1["note"] == "written on core/v1"
            && as_v1["regarding"]["name"] == pod
            && as_v1["deprecatedCount"] == 2
            && as_v1["deprecatedSource"]["component"] == "monitoring-test"
            && as_v1["message"].is_null(),
        "core Event on events.k8s.io/v1: {as_v1}"
    );
    let as_core = get(fleet, "events", "ttl-v1").await?;
    ensure!(
        as_core["message"] == "written on events.k8s.io/v1"
            && as_core["involvedObject"]["name"] == pod
            && as_core["reportingComponent"] == "skiff.io/monitoring-test",
        "events.k8s.io Event on core/v1: {as_core}"
    );
    let path = format!(
        "/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3D{pod},reason%3DChecked"
    );
    let listed: Value = serde_json::from_str(&kubectl.ok(&["get", "--raw", &path]).await?)?;
    let mut names: Vec<&str> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["metadata"]["name"].as_str())
        .collect();
    names.sort_unstable();
    ensure!(
        names == ["ttl-core", "ttl-v1"],
        "selected by regarding.name: {listed}"
    );
    let table = kubectl.ok(&["get", "events"]).await?;
    let recent = kubectl
        .ok(&["events", "--for", &format!("pod/{pod}")])
        .await?;
    for (what, text) in [("get events", &table), ("events --for", &recent)] {
        ensure!(
            text.contains("written on core/v1") && text.contains("written on events.k8s.io/v1"),
            "kubectl {what}:\n{text}"
        );
    }
    poll("both Events deleted after their TTL", GONE, || async {
        let left = kubectl.ok(&["get", "events", "-o", "name"]).await?;
        Ok(!left.contains("ttl-core") && !left.contains("ttl-v1"))
    })
    .await
}

async fn get(fleet: &Fleet, resource: &str, name: &str) -> anyhow::Result<Value> {
    let text = fleet
        .kubectl
        .ok(&["get", resource, name, "-o", "json"])
        .await?;
    Ok(serde_json::from_str(&text)?)
}
