//! DaemonSets, their ControllerRevisions and ReplicationControllers through the real kubectl:
//! apply (create, then a strategic merge of the template), kube-apiserver's defaults, the
//! immutable selector, get/describe with kubectl's columns, `rollout history` reading the
//! ControllerRevisions a DaemonSet owns, `scale rc`, server-side apply creating then
//! changing, `get all`, `api-resources` and delete.
//! No controller runs here: status columns stay at zero.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use skiff_tests::{Kubectl, run_bounded};

use crate::manifests::{expect_header, one_replica};

#[test]
fn kubectl_serves_daemonsets_and_replication_controllers() {
    run_bounded(
        "kubectl_serves_daemonsets_and_replication_controllers",
        Duration::from_secs(150),
        scenario(),
    );
}

/// A DaemonSet `agent` on nodes labelled `disk=ssd`, its container's env `A=<value>`.
fn daemonset_yaml(value: &str, restart: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {{app: agent}}
  template:
    metadata:
      labels: {{app: agent}}
    spec:
      restartPolicy: {restart}
      nodeSelector: {{disk: ssd}}
      containers:
      - name: agent
        image: agent.wasm
        env: [{{name: A, value: \"{value}\"}}]
"
    )
}

/// A ControllerRevision (revision 1) of the DaemonSet with uid `owner`, as its controller
/// would write one.
fn revision_yaml(owner: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: ControllerRevision
metadata:
  name: agent-6d4f8
  labels: {{app: agent, controller-revision-hash: 6d4f8}}
  ownerReferences:
  - {{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: {owner}, controller: true}}
data:
  spec:
    template:
      $patch: replace
      metadata:
        labels: {{app: agent}}
      spec:
        containers: [{{name: agent, image: agent-v1.wasm}}]
revision: 1
"
    )
}

/// A ReplicationController without a selector: kube-apiserver defaults it from the template.
const RC_YAML: &str = "apiVersion: v1
kind: ReplicationController
metadata:
  name: legacy
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: legacy}
    spec:
      containers: [{name: app, image: app.wasm}]
";

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("kubectl-ds").await?;
    let kubectl = Kubectl::for_replica(&replica)?;
    let ds = daemonsets(&kubectl).await?;
    history(&kubectl, &ds).await?;
    replication_controllers(&kubectl).await?;

    let all = kubectl.ok(&["get", "all"]).await?;
    ensure!(
        all.contains("daemonset.apps/agent") && all.contains("replicationcontroller/legacy"),
        "{all}"
    );
    let resources = kubectl.ok(&["api-resources"]).await?;
    for (name, short, version, kind) in [
        ("daemonsets", "ds", "apps/v1", "DaemonSet"),
        ("controllerrevisions", "", "apps/v1", "ControllerRevision"),
        (
            "replicationcontrollers",
            "rc",
            "v1",
            "ReplicationController",
        ),
        (
            "poddisruptionbudgets",
            "pdb",
            "policy/v1",
            "PodDisruptionBudget",
        ),
    ] {
        let found = resources.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let want: Vec<&str> = [name, short, version, "true", kind]
                .into_iter()
                .filter(|w| !w.is_empty())
                .collect();
            words == want
        });
        ensure!(found, "no {name} row in:\n{resources}");
    }

    let deleted = kubectl.ok(&["delete", "ds", "agent"]).await?;
    ensure!(
        deleted.trim() == "daemonset.apps \"agent\" deleted",
        "{deleted}"
    );
    let out = kubectl.run(&["get", "ds"], "").await?;
    ensure!(out.stderr.contains("No resources found"), "{out:?}");
    Ok(())
}

/// Create, default, strategic merge, immutable selector, validation, get and describe; the
/// stored DaemonSet.
async fn daemonsets(kubectl: &Kubectl) -> anyhow::Result<Value> {
    let out = kubectl
        .ok_stdin(&["apply", "-f", "-"], &daemonset_yaml("1", "Always"))
        .await?;
    ensure!(out.trim() == "daemonset.apps/agent created", "{out}");
    let table = kubectl.ok(&["get", "ds"]).await?;
    expect_header(
        &table,
        &[
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "NODE",
            "SELECTOR",
            "AGE",
        ],
    )?;
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .context("a row")?
        .split_whitespace()
        .collect();
    ensure!(
        row[..7] == ["agent", "0", "0", "0", "0", "0", "disk=ssd"],
        "{table}"
    );

    let out = kubectl
        .ok_stdin(&["apply", "-f", "-"], &daemonset_yaml("2", "Always"))
        .await?;
    ensure!(out.trim() == "daemonset.apps/agent configured", "{out}");
    let ds: Value =
        serde_json::from_str(&kubectl.ok(&["get", "ds", "agent", "-o", "json"]).await?)?;
    let spec = &ds["spec"];
    ensure!(
        spec["updateStrategy"]
            == serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
            && spec["revisionHistoryLimit"] == 10
            && ds["metadata"]["generation"] == 2
            && ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
            && spec["template"]["spec"]["containers"][0]["env"]
                == serde_json::json!([{"name": "A", "value": "2"}]),
        "{ds:#}"
    );

    let err = kubectl
        .fails(
            &[
                "patch",
                "ds",
                "agent",
                "-p",
                r#"{"spec":{"selector":{"matchLabels":{"app":"x"}}}}"#,
            ],
            "",
        )
        .await?;
    ensure!(
        err.contains(
            r#"spec.selector: Invalid value: {"matchLabels":{"app":"x"}}: field is immutable"#
        ),
        "{err}"
    );
    let err = kubectl
        .fails(&["apply", "-f", "-"], &daemonset_yaml("2", "Never"))
        .await?;
    ensure!(
        err.contains(r#"spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always""#),
        "{err}"
    );

    let described = kubectl.ok(&["describe", "ds", "agent"]).await?;
    for line in [
        "Selector:       app=agent",
        "Node-Selector:  disk=ssd",
        "Image:      agent.wasm",
    ] {
        ensure!(described.contains(line), "no {line:?} in:\n{described}");
    }
    Ok(ds)
}

/// `kubectl rollout history ds` lists the ControllerRevisions the DaemonSet controls.
async fn history(kubectl: &Kubectl, ds: &Value) -> anyhow::Result<()> {
    let out = kubectl.ok(&["rollout", "history", "ds", "agent"]).await?;
    ensure!(out.contains("No rollout history found."), "{out}");
    let uid = ds["metadata"]["uid"].as_str().context("uid")?;
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &revision_yaml(uid))
        .await?;
    let table = kubectl.ok(&["get", "controllerrevisions"]).await?;
    expect_header(&table, &["NAME", "CONTROLLER", "REVISION", "AGE"])?;
    ensure!(
        table.contains("agent-6d4f8   daemonset.apps/agent   1"),
        "{table}"
    );
    let out = kubectl.ok(&["rollout", "history", "ds", "agent"]).await?;
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    ensure!(rows.contains(&vec!["1", "<none>"]), "{out}");
    let out = kubectl
        .ok(&["rollout", "history", "ds", "agent", "--revision=1"])
        .await?;
    ensure!(out.contains("agent-v1.wasm"), "{out}");
    Ok(())
}

/// A selector defaulted from the template, the scale subresource, get and describe.
async fn replication_controllers(kubectl: &Kubectl) -> anyhow::Result<()> {
    let out = kubectl.ok_stdin(&["apply", "-f", "-"], RC_YAML).await?;
    ensure!(
        out.trim() == "replicationcontroller/legacy created",
        "{out}"
    );
    let table = kubectl.ok(&["get", "rc"]).await?;
    expect_header(&table, &["NAME", "DESIRED", "CURRENT", "READY", "AGE"])?;
    let out = kubectl
        .ok(&["scale", "rc", "legacy", "--replicas=4"])
        .await?;
    ensure!(out.trim() == "replicationcontroller/legacy scaled", "{out}");
    let rc: Value =
        serde_json::from_str(&kubectl.ok(&["get", "rc", "legacy", "-o", "json"]).await?)?;
    ensure!(
        rc["spec"]["replicas"] == 4
            && rc["spec"]["selector"] == serde_json::json!({"app": "legacy"})
            && rc["metadata"]["labels"] == serde_json::json!({"app": "legacy"}),
        "{rc:#}"
    );
    // Server-side apply creates, then changes, as one manager: no conflict with itself.
    for replicas in ["1", "3"] {
        let manifest = RC_YAML
            .replace("legacy", "applied")
            .replace("replicas: 2", &format!("replicas: {replicas}"));
        let out = kubectl
            .ok_stdin(&["apply", "--server-side", "-f", "-"], &manifest)
            .await?;
        ensure!(
            out.trim() == "replicationcontroller/applied serverside-applied",
            "{out}"
        );
    }
    let applied: Value = serde_json::from_str(
        &kubectl
            .ok(&[
                "get",
                "rc",
                "applied",
                "-o",
                "json",
                "--show-managed-fields",
            ])
            .await?,
    )?;
    let managers = &applied["metadata"]["managedFields"];
    ensure!(
        applied["spec"]["replicas"] == 3
            && managers.as_array().map(Vec::len) == Some(1)
            && managers[0]["manager"] == "kubectl"
            && managers[0]["operation"] == "Apply",
        "{applied:#}"
    );
    let described = kubectl.ok(&["describe", "rc", "legacy"]).await?;
    ensure!(
        described.contains("Replicas:     0 current / 4 desired"),
        "{described}"
    );
    Ok(())
}
