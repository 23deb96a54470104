//! `kubectl apply` (created, configured, unchanged; one container's image changed keeps the
//! other), `apply --server-side` (a conflict between field managers, then `--force-conflicts`),
//! `create -f`, and `diff` storing nothing.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use skiff_tests::{Kubectl, run_bounded};

use crate::manifests::{configmap_yaml, deployment_yaml, one_replica};

#[test]
fn kubectl_apply_create_and_diff() {
    run_bounded(
        "kubectl_apply_create_and_diff",
        Duration::from_secs(150),
        async {
            let replica = one_replica("kubectl-apply").await?;
            let kubectl = Kubectl::for_replica(&replica)?;
            client_side_apply(&kubectl).await?;
            server_side_apply(&kubectl).await?;
            create_and_diff(&kubectl).await
        },
    );
}

/// The deployment `web` as JSON.
async fn get_json(kubectl: &Kubectl, what: &str) -> anyhow::Result<Value> {
    let out = kubectl.ok(&["get", what, "-o", "json"]).await?;
    serde_json::from_str(&out).with_context(|| format!("kubectl get {what} -o json: {out}"))
}

/// Checks the whole of one line of kubectl's output.
fn expect_line(out: &str, want: &str) -> anyhow::Result<()> {
    ensure!(out.trim() == want, "expected {want:?}, got {out:?}");
    Ok(())
}

/// Applies `web` and reapplies: created, unchanged, configured; a strategic merge patch
/// changing `app`'s image keeps `side`.
pub async fn client_side_apply(kubectl: &Kubectl) -> anyhow::Result<()> {
    let apply = ["apply", "-f", "-"];
    let v1 = deployment_yaml("web", 2, "app.wasm");
    expect_line(
        &kubectl.ok_stdin(&apply, &v1).await?,
        "deployment.apps/web created",
    )?;
    expect_line(
        &kubectl.ok_stdin(&apply, &v1).await?,
        "deployment.apps/web unchanged",
    )?;
    let v2 = deployment_yaml("web", 2, "app2.wasm");
    expect_line(
        &kubectl.ok_stdin(&apply, &v2).await?,
        "deployment.apps/web configured",
    )?;
    let web = get_json(kubectl, "deployment/web").await?;
    let containers = web["spec"]["template"]["spec"]["containers"]
        .as_array()
        .context("containers")?;
    let images: Vec<(&str, &str)> = containers
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default(),
                c["image"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    ensure!(
        images == [("app", "app2.wasm"), ("side", "side.wasm")],
        "after changing app's image the containers are {images:?}"
    );
    ensure!(
        web["metadata"]["generation"] == 2,
        "generation after one spec change: {}",
        web["metadata"]["generation"]
    );
    ensure!(
        web["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|a| a.contains("app2.wasm")),
        "last-applied-configuration not updated: {}",
        web["metadata"]
    );
    Ok(())
}

/// Two field managers applying the same field: a conflict naming the other manager and the
/// field, then `--force-conflicts` takes it over.
pub async fn server_side_apply(kubectl: &Kubectl) -> anyhow::Result<()> {
    let ssa = |manager: &'static str| {
        [
            "apply",
            "--server-side",
            "--field-manager",
            manager,
            "-f",
            "-",
        ]
    };
    expect_line(
        &kubectl
            .ok_stdin(&ssa("alice"), &configmap_yaml("shared", "a"))
            .await?,
        "configmap/shared serverside-applied",
    )?;
    let conflict = kubectl
        .fails(&ssa("bob"), &configmap_yaml("shared", "b"))
        .await?;
    ensure!(
        conflict.contains("Apply failed with 1 conflict")
            && conflict.contains("\"alice\"")
            && conflict.contains(".data.key"),
        "conflict error: {conflict}"
    );
    let cm = get_json(kubectl, "configmap/shared").await?;
    ensure!(cm["data"]["key"] == "a", "a refused apply changed {cm}");
    let mut forced = ssa("bob").to_vec();
    forced.insert(1, "--force-conflicts");
    expect_line(
        &kubectl
            .ok_stdin(&forced, &configmap_yaml("shared", "b"))
            .await?,
        "configmap/shared serverside-applied",
    )?;
    let cm = get_json(kubectl, "configmap/shared").await?;
    ensure!(cm["data"]["key"] == "b", "forced apply did not win: {cm}");
    Ok(())
}

/// `create -f` creates; `diff` shows a change but stores nothing.
pub async fn create_and_diff(kubectl: &Kubectl) -> anyhow::Result<()> {
    expect_line(
        &kubectl
            .ok_stdin(&["create", "-f", "-"], &configmap_yaml("made", "one"))
            .await?,
        "configmap/made created",
    )?;
    let before = get_json(kubectl, "configmap/made").await?;
    // kubectl diff exits 1 when it finds differences.
    let diff = kubectl
        .run(&["diff", "-f", "-"], &configmap_yaml("made", "two"))
        .await?;
    ensure!(
        diff.stdout.contains("-  key: one") && diff.stdout.contains("+  key: two"),
        "kubectl diff output:\n{}\nstderr: {}",
        diff.stdout,
        diff.stderr
    );
    let after = get_json(kubectl, "configmap/made").await?;
    ensure!(
        after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
            && after["data"]["key"] == "one",
        "kubectl diff stored something: before {before}, after {after}"
    );
    Ok(())
}
