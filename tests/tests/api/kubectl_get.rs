//! `kubectl get` against one replica: the Table columns kubectl prints for pods, deployments,
//! services, namespaces and events; `-o yaml|json|wide`, `-A`, `-l`; and `get -w` seeing a
//! pod created while it runs.

use std::time::Duration;

use anyhow::{Context, ensure};
use http::Method;
use serde_json::Value;
use skiff_tests::{ApiClient, Kubectl, run_bounded};

use crate::manifests::{
    deployment_yaml, event_json, expect_header, one_replica, pod_json, service_yaml,
};

#[test]
fn kubectl_get_prints_tables_and_formats() {
    run_bounded(
        "kubectl_get_prints_tables_and_formats",
        Duration::from_secs(150),
        scenario(),
    );
}

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("kubectl-get").await?;
    let kubectl = Kubectl::for_replica(&replica)?;
    let admin = ApiClient::admin(&replica)?;

    kubectl
        .ok_stdin(
            &["apply", "-f", "-"],
            &deployment_yaml("web", 2, "app.wasm"),
        )
        .await?;
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &service_yaml("web"))
        .await?;
    for (name, tier) in [("p-front", "front"), ("p-back", "back")] {
        admin
            .json(
                Method::POST,
                "/api/v1/namespaces/default/pods",
                &pod_json(name, tier, None),
            )
            .await?
            .ok()?;
    }
    let deployment = admin
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .await?
        .ok()?;
    let uid = deployment["metadata"]["uid"].as_str().context("uid")?;
    admin
        .json(
            Method::POST,
            "/api/v1/namespaces/default/events",
            &event_json("web.1", "Deployment", "web", uid, "Scaled up to 2"),
        )
        .await?
        .ok()?;

    let pods = kubectl.ok(&["get", "pods"]).await?;
    expect_header(&pods, &["NAME", "READY", "STATUS", "RESTARTS", "AGE"])?;
    ensure!(
        pods.contains("p-front") && pods.contains("p-back"),
        "{pods}"
    );
    let deployments = kubectl.ok(&["get", "deployments"]).await?;
    expect_header(
        &deployments,
        &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    )?;
    ensure!(deployments.contains("web"), "{deployments}");
    let services = kubectl.ok(&["get", "services"]).await?;
    expect_header(
        &services,
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
    )?;
    let web = services
        .lines()
        .find(|l| l.starts_with("web "))
        .context(services.clone())?;
    ensure!(web.contains("ClusterIP") && web.contains("80/TCP"), "{web}");
    let namespaces = kubectl.ok(&["get", "namespaces"]).await?;
    expect_header(&namespaces, &["NAME", "STATUS", "AGE"])?;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        ensure!(
            namespaces
                .lines()
                .any(|l| l.starts_with(ns) && l.contains("Active")),
            "namespace {ns} missing or not Active:\n{namespaces}"
        );
    }
    let events = kubectl.ok(&["get", "events"]).await?;
    expect_header(
        &events,
        &["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
    )?;
    ensure!(
        events.contains("deployment/web") && events.contains("Scaled up to 2"),
        "{events}"
    );

    formats(&kubectl).await?;
    watch(&kubectl, &admin).await?;
    Ok(())
}

/// `-o yaml`, `-o json`, `-o wide`, `-A`, `-l`.
async fn formats(kubectl: &Kubectl) -> anyhow::Result<()> {
    let yaml = kubectl
        .ok(&["get", "deployment", "web", "-o", "yaml"])
        .await?;
    ensure!(
        yaml.contains("apiVersion: apps/v1")
            && yaml.contains("kind: Deployment")
            && yaml.contains("  name: web")
            && yaml.contains("resourceVersion:"),
        "{yaml}"
    );
    let json: Value = serde_json::from_str(&kubectl.ok(&["get", "pods", "-o", "json"]).await?)?;
    ensure!(
        json["kind"] == "List" || json["kind"] == "PodList",
        "{json}"
    );
    let names: Vec<&str> = json["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    ensure!(
        names.contains(&"p-front") && names.contains(&"p-back"),
        "{names:?}"
    );

    let wide = kubectl.ok(&["get", "pods", "-o", "wide"]).await?;
    expect_header(
        &wide,
        &[
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED",
            "NODE",
            "READINESS",
            "GATES",
        ],
    )?;

    let all = kubectl.ok(&["get", "deployments", "-A"]).await?;
    expect_header(
        &all,
        &[
            "NAMESPACE",
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
        ],
    )?;
    ensure!(
        all.lines()
            .any(|l| l.starts_with("default") && l.contains("web")),
        "-A lost the namespace column's value:\n{all}"
    );

    let front = kubectl.ok(&["get", "pods", "-l", "tier=front"]).await?;
    ensure!(
        front.contains("p-front") && !front.contains("p-back"),
        "-l tier=front:\n{front}"
    );
    let set = kubectl
        .ok(&["get", "pods", "-l", "tier in (back)", "-o", "name"])
        .await?;
    ensure!(set.trim() == "pod/p-back", "-l 'tier in (back)': {set:?}");
    Ok(())
}

/// `kubectl get pods -w`: the initial rows, then a row for a pod created while it watches.
async fn watch(kubectl: &Kubectl, admin: &ApiClient) -> anyhow::Result<()> {
    let mut watch = kubectl.spawn(&["get", "pods", "-w"])?;
    watch
        .line_matching(Duration::from_secs(30), |l| l.starts_with("p-front"))
        .await?;
    admin
        .json(
            Method::POST,
            "/api/v1/namespaces/default/pods",
            &pod_json("p-late", "front", None),
        )
        .await?
        .ok()?;
    let row = watch
        .line_matching(Duration::from_secs(20), |l| l.starts_with("p-late"))
        .await?;
    ensure!(row.contains("Pending"), "new watch row: {row:?}");
    watch.kill().await
}
