//! `kubectl scale`, `label`, `annotate`, `describe` (with an Event about the deployment) and
//! `delete` (with `--wait`) on one replica; the deployment `web` is created by
//! [`crate::kubectl_apply::client_side_apply`].

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use skiff_tests::{Kubectl, run_bounded};

use crate::kubectl_apply::client_side_apply;
use crate::manifests::{configmap_yaml, event_json, one_replica};

#[test]
fn kubectl_scale_label_describe_delete() {
    run_bounded(
        "kubectl_scale_label_describe_delete",
        Duration::from_secs(150),
        async {
            let replica = one_replica("kubectl-verbs").await?;
            let kubectl = Kubectl::for_replica(&replica)?;
            client_side_apply(&kubectl).await?;
            verbs(&kubectl).await
        },
    );
}

async fn deployment(kubectl: &Kubectl) -> anyhow::Result<Value> {
    let out = kubectl
        .ok(&["get", "deployment", "web", "-o", "json"])
        .await?;
    serde_json::from_str(&out).context(out)
}

/// Scale, label, annotate and describe `web`, then delete a ConfigMap and `web`.
pub async fn verbs(kubectl: &Kubectl) -> anyhow::Result<()> {
    let out = kubectl
        .ok(&["scale", "deployment/web", "--replicas=5"])
        .await?;
    ensure!(out.trim() == "deployment.apps/web scaled", "{out:?}");
    let out = kubectl
        .ok(&["label", "deployment", "web", "env=prod"])
        .await?;
    ensure!(out.trim() == "deployment.apps/web labeled", "{out:?}");
    let out = kubectl
        .ok(&["annotate", "deployment", "web", "note=hello"])
        .await?;
    ensure!(out.trim() == "deployment.apps/web annotated", "{out:?}");
    let web = deployment(kubectl).await?;
    ensure!(web["spec"]["replicas"] == 5, "scale: {}", web["spec"]);
    ensure!(
        web["metadata"]["labels"]["env"] == "prod" && web["metadata"]["labels"]["tier"] == "web",
        "label: {}",
        web["metadata"]
    );
    ensure!(
        web["metadata"]["annotations"]["note"] == "hello",
        "annotate: {}",
        web["metadata"]
    );
    let selected = kubectl
        .ok(&["get", "deployments", "-l", "env=prod", "-o", "name"])
        .await?;
    ensure!(selected.trim() == "deployment.apps/web", "{selected:?}");

    let uid = web["metadata"]["uid"].as_str().context("uid")?;
    let event = event_json("web.1", "Deployment", "web", uid, "Scaled up to 5");
    kubectl
        .ok_stdin(&["create", "-f", "-"], &event.to_string())
        .await?;
    let described = kubectl.ok(&["describe", "deployment", "web"]).await?;
    let has = |prefix: &str, value: &str| {
        described
            .lines()
            .any(|l| l.starts_with(prefix) && l.contains(value))
    };
    ensure!(
        has("Name:", "web")
            && has("Namespace:", "default")
            && has("Replicas:", "5 desired")
            && has("Selector:", "app=web"),
        "describe deployment:\n{described}"
    );
    let events = described
        .split_once("\nEvents:")
        .map(|(_, e)| e)
        .context(format!("no Events section:\n{described}"))?;
    ensure!(
        events.contains("ScalingReplicaSet")
            && events.contains("Scaled up to 5")
            && events.contains("skiff-test"),
        "describe shows no event:\n{described}"
    );

    kubectl
        .ok_stdin(&["apply", "-f", "-"], &configmap_yaml("gone", "x"))
        .await?;
    let out = kubectl
        .ok(&["delete", "configmap", "gone", "--wait=true"])
        .await?;
    ensure!(out.trim() == "configmap \"gone\" deleted", "{out:?}");
    let out = kubectl
        .ok(&["delete", "deployment", "web", "--wait"])
        .await?;
    ensure!(out.trim() == "deployment.apps \"web\" deleted", "{out:?}");
    let err = kubectl.fails(&["get", "deployment", "web"], "").await?;
    ensure!(
        err.trim() == "Error from server (NotFound): deployments.apps \"web\" not found",
        "{err:?}"
    );
    let left = kubectl.ok(&["get", "configmaps", "-o", "name"]).await?;
    ensure!(!left.contains("configmap/gone"), "{left}");
    Ok(())
}
