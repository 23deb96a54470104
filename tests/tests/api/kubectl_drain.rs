//! `kubectl cordon`, `drain --ignore-daemonsets --delete-emptydir-data` and `uncordon` with the
//! real kubectl: drain finds `pods/eviction` in discovery and evicts through it, skips the
//! DaemonSet's pod (after reading the DaemonSet), is held back by a PodDisruptionBudget with
//! no disruption left (kubectl prints kube-apiserver's 429 message and retries), and finishes
//! once the budget allows it.
//!
//! Why the drained pods go at once: the node here reports no Ready condition, so the API
//! server deletes its pods immediately (`deletes.rs`: only a pod bound to a Ready node is
//! deleted gracefully, for its agent to stop). No agent runs in this test; on a Ready node an
//! evicted pod would stay Terminating until its agent finished it and drain would wait for
//! that. The graceful path of an eviction is checked in `evictions.rs`.

use std::time::Duration;

use anyhow::ensure;
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, Kubectl, run_bounded};

use crate::evictions::{budget, running_pod, set_budget_status};
use crate::manifests::{node_json, one_replica};

#[test]
fn kubectl_drains_a_node_through_evictions() {
    run_bounded(
        "kubectl_drains_a_node_through_evictions",
        Duration::from_secs(120),
        scenario(),
    );
}

const DAEMONSET: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers: [{name: agent, image: agent.wasm}]
";

const DRAIN: &[&str] = &[
    "drain",
    "n1",
    "--ignore-daemonsets",
    "--delete-emptydir-data",
    "--timeout=8s",
];

async fn pod_names(admin: &ApiClient) -> anyhow::Result<Vec<String>> {
    let list = admin.get("/api/v1/namespaces/default/pods").await?.ok()?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .collect())
}

/// The DaemonSet's pod on n1, controlled by the DaemonSet with uid `owner`.
fn daemon_pod(owner: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "agent-n1", "labels": {"app": "agent"}, "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": owner, "controller": true}
        ]},
        "spec": {"nodeName": "n1", "containers": [{"name": "agent", "image": "agent.wasm"}]}
    })
}

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("kubectl-drain").await?;
    let admin = ApiClient::admin(&replica)?;
    let kubectl = Kubectl::for_replica(&replica)?;
    admin
        .json(Method::POST, "/api/v1/nodes", &node_json("n1"))
        .await?
        .ok()?;
    kubectl.ok_stdin(&["apply", "-f", "-"], DAEMONSET).await?;
    let ds = admin
        .get("/apis/apps/v1/namespaces/default/daemonsets/agent")
        .await?
        .ok()?;
    let owner = ds["metadata"]["uid"].as_str().unwrap_or_default();
    admin
        .json(
            Method::POST,
            "/api/v1/namespaces/default/pods",
            &daemon_pod(owner),
        )
        .await?
        .ok()?;
    for pod in ["web-1", "web-2"] {
        running_pod(&admin, pod, "n1").await?;
    }
    budget(&admin, 2, 1).await?;

    let out = kubectl.ok(&["cordon", "n1"]).await?;
    ensure!(out.trim() == "node/n1 cordoned", "{out}");
    let node = admin.get("/api/v1/nodes/n1").await?.ok()?;
    ensure!(node["spec"]["unschedulable"] == true, "{node}");

    // One eviction fits the budget; the second is refused until the drain gives up.
    let out = kubectl.run(DRAIN, "").await?;
    ensure!(!out.success, "drain succeeded past the budget: {out:?}");
    ensure!(
        out.stderr
            .contains("Cannot evict pod as it would violate the pod's disruption budget.")
            && out
                .stderr
                .contains("ignoring DaemonSet-managed Pods: default/agent-n1"),
        "{out:?}"
    );
    let left = pod_names(&admin).await?;
    ensure!(
        left.len() == 2 && left.contains(&"agent-n1".to_owned()),
        "{left:?}"
    );
    let pdb = admin
        .get("/apis/policy/v1/namespaces/default/poddisruptionbudgets/web")
        .await?
        .ok()?;
    ensure!(pdb["status"]["disruptionsAllowed"] == 0, "{pdb}");
    let table = kubectl.ok(&["get", "pdb"]).await?;
    ensure!(
        table.lines().nth(1).is_some_and(
            |l| l.split_whitespace().collect::<Vec<_>>()[..4] == ["web", "1", "N/A", "0"]
        ),
        "{table}"
    );

    // The disruption controller would now count one healthy pod above the minimum again.
    set_budget_status(&admin, 2, 1).await?;
    let out = kubectl.run(DRAIN, "").await?;
    let printed = format!("{}{}", out.stdout, out.stderr);
    ensure!(
        out.success && printed.contains("node/n1 drained") && printed.contains("evicted"),
        "{out:?}"
    );
    ensure!(
        pod_names(&admin).await? == ["agent-n1"],
        "daemon pod evicted or web left"
    );

    let out = kubectl.ok(&["uncordon", "n1"]).await?;
    ensure!(out.trim() == "node/n1 uncordoned", "{out}");
    let node = admin.get("/api/v1/nodes/n1").await?.ok()?;
    ensure!(node["spec"]["unschedulable"] != true, "{node}");
    Ok(())
}
