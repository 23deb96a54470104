//! `skiff up`, the single-process cluster, through the real kubectl: its node turns Ready, a
//! Deployment of the http-server example is scheduled, run and rolled out (`kubectl rollout
//! status` returns), scales 2 -> 4; SIGTERM stops it cleanly; started again on the same
//! directory, the same cluster comes back and runs the Deployment's pods again.

use std::time::Duration;

use serde_json::{Value, json};
use skiff_tests::{Kubectl, Replica, ReplicaOptions, run_bounded};

use crate::support::{LIMIT, WAIT, guest, poll};

const NODE: &str = "up-node";

#[test]
fn skiff_up_runs_a_deployment_and_comes_back() {
    run_bounded("skiff_up", LIMIT, scenario());
}

fn deployment(image: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [{
                    "name": "web", "image": image, "ports": [{"containerPort": 8080}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                       "periodSeconds": 1}}]}
            }
        }
    })
}

/// Pods of the Deployment that are Running and 1/1 ready, from kubectl's table.
async fn ready_pods(kubectl: &Kubectl) -> anyhow::Result<usize> {
    let out = kubectl
        .run(&["get", "pods", "-l", "app=web", "--no-headers"], "")
        .await?;
    Ok(out
        .stdout
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(1) == Some(&"1/1") && cols.get(2) == Some(&"Running")
        })
        .count())
}

async fn node_ready(kubectl: &Kubectl) -> anyhow::Result<()> {
    let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
    poll("the node is Ready", WAIT, || async {
        let out = kubectl
            .run(&["get", "node", NODE, "-o", jsonpath], "")
            .await?;
        Ok(out.success && out.stdout.trim() == "True")
    })
    .await
}

async fn scenario() -> anyhow::Result<()> {
    let options = ReplicaOptions::up("up").args([
        "--name",
        NODE,
        "--lease-seconds",
        "2",
        "--crash-backoff-base-ms",
        "300",
    ]);
    let mut up = Replica::start(options).await?;
    let kubectl = Kubectl::for_replica(&up)?;
    node_ready(&kubectl).await?;
    let labels = kubectl
        .ok(&["get", "node", NODE, "-o", "jsonpath={.metadata.labels}"])
        .await?;
    anyhow::ensure!(labels.contains("skiff.io/runtime"), "labels: {labels}");

    let image = guest("http-server")?;
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &deployment(&image, 2).to_string())
        .await?;
    kubectl
        .ok(&["rollout", "status", "deploy/web", "--timeout=60s"])
        .await?;
    anyhow::ensure!(ready_pods(&kubectl).await? == 2, "two pods ready");
    kubectl.ok(&["scale", "deploy/web", "--replicas=4"]).await?;
    kubectl
        .ok(&["rollout", "status", "deploy/web", "--timeout=60s"])
        .await?;
    poll("four pods Running and ready", WAIT, || async {
        Ok(ready_pods(&kubectl).await? == 4)
    })
    .await?;

    up.stop().await;
    let stdout = std::fs::read_to_string(up.root.join("stdout.1.log"))?;
    anyhow::ensure!(
        stdout.contains("skiff up: stopped"),
        "no clean stop: {stdout}"
    );
    up.restart().await?;
    node_ready(&kubectl).await?;
    poll(
        "the Deployment's four pods run again",
        Duration::from_secs(90),
        || async { Ok(ready_pods(&kubectl).await? == 4) },
    )
    .await?;
    let deployments = kubectl.ok(&["get", "deploy", "-o", "name"]).await?;
    anyhow::ensure!(deployments.trim() == "deployment.apps/web", "{deployments}");
    Ok(())
}
