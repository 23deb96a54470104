//! kubectl's error lines for the API's errors, word for word: NotFound, AlreadyExists,
//! Conflict (`replace` with a stale resourceVersion) and Invalid.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use skiff_tests::{Kubectl, run_bounded};

use crate::manifests::{configmap_yaml, one_replica};

#[test]
fn kubectl_prints_api_errors_like_kubernetes() {
    run_bounded(
        "kubectl_prints_api_errors_like_kubernetes",
        Duration::from_secs(120),
        async {
            let replica = one_replica("kubectl-errors").await?;
            errors(&Kubectl::for_replica(&replica)?).await
        },
    );
}

fn expect_stderr(stderr: &str, want: &str) -> anyhow::Result<()> {
    ensure!(
        stderr.trim() == want,
        "expected kubectl to print\n  {want}\ngot\n  {}",
        stderr.trim()
    );
    Ok(())
}

pub async fn errors(kubectl: &Kubectl) -> anyhow::Result<()> {
    expect_stderr(
        &kubectl.fails(&["get", "pod", "nope"], "").await?,
        "Error from server (NotFound): pods \"nope\" not found",
    )?;
    expect_stderr(
        &kubectl
            .fails(&["get", "pod", "x", "-n", "nowhere"], "")
            .await?,
        "Error from server (NotFound): namespaces \"nowhere\" not found",
    )?;

    let create = ["create", "-f", "-"];
    kubectl
        .ok_stdin(&create, &configmap_yaml("dup", "one"))
        .await?;
    expect_stderr(
        &kubectl
            .fails(&create, &configmap_yaml("dup", "one"))
            .await?,
        "Error from server (AlreadyExists): error when creating \"STDIN\": configmaps \"dup\" already exists",
    )?;

    // Replace with the resourceVersion read before someone else's write.
    let stale: Value = serde_json::from_str(
        &kubectl
            .ok(&["get", "configmap", "dup", "-o", "json"])
            .await?,
    )?;
    ensure!(
        stale["metadata"]["resourceVersion"].is_string(),
        "no resourceVersion: {stale}"
    );
    kubectl
        .ok(&["label", "configmap", "dup", "touched=yes"])
        .await?;
    let mut replaced = stale.clone();
    replaced["data"]["key"] = "two".into();
    expect_stderr(
        &kubectl
            .fails(&["replace", "-f", "-"], &replaced.to_string())
            .await?,
        "Error from server (Conflict): error when replacing \"STDIN\": Operation cannot be fulfilled on configmaps \"dup\": the object has been modified; please apply your changes to the latest version and try again",
    )?;
    let now: Value = serde_json::from_str(
        &kubectl
            .ok(&["get", "configmap", "dup", "-o", "json"])
            .await?,
    )?;
    ensure!(
        now["data"]["key"] == "one",
        "stale replace was stored: {now}"
    );

    let invalid = kubectl
        .fails(&create, &configmap_yaml("Bad_Name", "x"))
        .await?;
    let first = invalid.lines().next().context("no error line")?;
    ensure!(
        first.starts_with(
            "The ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of"
        ),
        "Invalid error: {invalid}"
    );
    Ok(())
}
