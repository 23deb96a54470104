//! kubectl's daily surface on one replica, each command's output and exit code asserted:
//! `wait --for=condition=`, `--for=jsonpath=` and `--for=delete` (met and timed out),
//! `delete --grace-period=0 --force`, `edit` through an EDITOR script, `set image|env|resources`
//! and `label --overwrite` / `key-`. `get --watch-only`, `--sort-by`, `--show-labels` are in
//! [`crate::kubectl_listing`].

use std::time::Duration;

use anyhow::{Context, ensure};
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, Kubectl, run_bounded, scratch_dir};
use tokio::time::sleep;

use crate::manifests::{configmap_yaml, node_json, one_replica, pod_json};

#[test]
fn kubectl_wait_edit_set_label() {
    run_bounded(
        "kubectl_wait_edit_set_label",
        Duration::from_secs(180),
        async {
            let replica = one_replica("kubectl-daily").await?;
            let kubectl = Kubectl::for_replica(&replica)?;
            let admin = ApiClient::admin(&replica)?;
            wait_for(&kubectl, &admin).await?;
            force_delete(&kubectl, &admin).await?;
            edit(&kubectl).await?;
            set(&kubectl).await?;
            label(&kubectl).await
        },
    );
}

/// `kubectl wait` returns when a condition or a jsonpath is met, fails with kubectl's message
/// when it is not met in time, and `--for=delete` returns when the object goes.
async fn wait_for(kubectl: &Kubectl, admin: &ApiClient) -> anyhow::Result<()> {
    let pods = "/api/v1/namespaces/default/pods";
    admin
        .json(Method::POST, pods, &pod_json("w1", "web", None))
        .await?
        .ok()?;
    let out = kubectl
        .run(
            &["wait", "--for=condition=Ready", "pod/w1", "--timeout=1s"],
            "",
        )
        .await?;
    ensure!(
        !out.success
            && out
                .stderr
                .contains("timed out waiting for the condition on pods/w1"),
        "wait on an unready pod: {out:?}"
    );
    let ready = json!({ "status": {
        "phase": "Running",
        "conditions": [ { "type": "Ready", "status": "True" } ]
    }});
    let waiting = kubectl.run(
        &["wait", "--for=condition=Ready", "pod/w1", "--timeout=30s"],
        "",
    );
    let make_ready = async {
        sleep(Duration::from_millis(500)).await;
        admin
            .merge_patch(&format!("{pods}/w1/status"), &ready)
            .await?
            .ok()
    };
    let (out, patched) = tokio::join!(waiting, make_ready);
    let (out, _) = (out?, patched?);
    ensure!(
        out.success && out.stdout.trim() == "pod/w1 condition met",
        "wait --for=condition=Ready: {out:?}"
    );
    let out = kubectl
        .ok(&[
            "wait",
            "--for=jsonpath={.status.phase}=Running",
            "pod/w1",
            "--timeout=10s",
        ])
        .await?;
    ensure!(out.trim() == "pod/w1 condition met", "{out:?}");

    let waiting = kubectl.run(&["wait", "--for=delete", "pod/w1", "--timeout=30s"], "");
    let delete = async {
        sleep(Duration::from_millis(500)).await;
        kubectl.ok(&["delete", "pod", "w1", "--wait=false"]).await
    };
    let (out, deleted) = tokio::join!(waiting, delete);
    let (out, deleted) = (out?, deleted?);
    ensure!(deleted.trim() == "pod \"w1\" deleted", "{deleted:?}");
    ensure!(
        out.success && out.stdout.trim() == "pod/w1 condition met",
        "wait --for=delete: {out:?}"
    );
    Ok(())
}

/// A pod bound to a Ready node waits for its agent when deleted; `--grace-period=0 --force`
/// removes it at once, with kubectl's warning.
async fn force_delete(kubectl: &Kubectl, admin: &ApiClient) -> anyhow::Result<()> {
    admin
        .json(Method::POST, "/api/v1/nodes", &node_json("busy"))
        .await?
        .ok()?;
    let ready = json!({ "status": { "conditions": [ { "type": "Ready", "status": "True" } ] } });
    admin
        .merge_patch("/api/v1/nodes/busy/status", &ready)
        .await?
        .ok()?;
    let pod = serde_json::to_string(&pod_json("bound", "web", Some("busy")))?;
    kubectl.ok_stdin(&["create", "-f", "-"], &pod).await?;
    let out = kubectl
        .ok(&["delete", "pod", "bound", "--wait=false"])
        .await?;
    ensure!(out.trim() == "pod \"bound\" deleted", "{out:?}");
    let marked = kubectl
        .ok(&[
            "get",
            "pod",
            "bound",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ])
        .await?;
    ensure!(
        !marked.trim().is_empty(),
        "a graceful delete removed the pod at once"
    );
    let out = kubectl
        .run(
            &["delete", "pod", "bound", "--grace-period=0", "--force"],
            "",
        )
        .await?;
    ensure!(
        out.success && out.stdout.trim() == "pod \"bound\" force deleted",
        "{out:?}"
    );
    ensure!(
        out.stderr.contains("Immediate deletion does not wait"),
        "{out:?}"
    );
    let err = kubectl.fails(&["get", "pod", "bound"], "").await?;
    ensure!(err.contains("pods \"bound\" not found"), "{err}");
    Ok(())
}

/// `kubectl edit` runs EDITOR on the object's YAML and writes back what it changed; an
/// editor that changes nothing cancels the edit.
async fn edit(kubectl: &Kubectl) -> anyhow::Result<()> {
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &configmap_yaml("settings", "one"))
        .await?;
    let dir = scratch_dir("kubectl-editor")?;
    let editor = dir.join("edit.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/: one$/: edited/' \"$1\"\n")?;
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let editor = editor.to_str().context("editor path")?;
    let out = kubectl
        .run_with_env(
            &["edit", "configmap", "settings"],
            "",
            &[("EDITOR", editor)],
        )
        .await?;
    ensure!(
        out.success && out.stdout.trim() == "configmap/settings edited",
        "{out:?}"
    );
    let data = kubectl
        .ok(&["get", "configmap", "settings", "-o", "jsonpath={.data}"])
        .await?;
    let data: Value = serde_json::from_str(&data).context(data)?;
    ensure!(
        data.as_object()
            .is_some_and(|d| d.values().all(|v| v == "edited")),
        "{data}"
    );
    // The value no longer ends in ": one", so the same editor changes nothing now.
    let out = kubectl
        .run_with_env(
            &["edit", "configmap", "settings"],
            "",
            &[("EDITOR", editor)],
        )
        .await?;
    ensure!(
        out.success && out.stderr.contains("Edit cancelled, no changes made."),
        "{out:?}"
    );
    Ok(())
}

/// `kubectl set image|env|resources` on a Deployment change its pod template.
async fn set(kubectl: &Kubectl) -> anyhow::Result<()> {
    kubectl
        .ok(&[
            "create",
            "deployment",
            "api",
            "--image=api:1",
            "--replicas=0",
        ])
        .await?;
    let steps: [(&[&str], &str); 3] = [
        (
            &["set", "image", "deployment/api", "api=api:2"],
            "image updated",
        ),
        (
            &["set", "env", "deployment/api", "MODE=fast"],
            "env updated",
        ),
        (
            &[
                "set",
                "resources",
                "deployment/api",
                "--limits=cpu=200m,memory=128Mi",
            ],
            "resource requirements updated",
        ),
    ];
    for (args, said) in steps {
        let out = kubectl.ok(args).await?;
        ensure!(
            out.trim() == format!("deployment.apps/api {said}"),
            "{args:?}: {out:?}"
        );
    }
    let containers = kubectl
        .ok(&[
            "get",
            "deployment",
            "api",
            "-o",
            "jsonpath={.spec.template.spec.containers[0]}",
        ])
        .await?;
    let c: Value = serde_json::from_str(&containers).context(containers)?;
    ensure!(c["image"] == "api:2", "{c}");
    ensure!(
        c["env"] == json!([{ "name": "MODE", "value": "fast" }]),
        "{c}"
    );
    ensure!(
        c["resources"]["limits"] == json!({ "cpu": "200m", "memory": "128Mi" }),
        "{c}"
    );
    Ok(())
}

/// A label that is set is only replaced with `--overwrite`; `key-` removes it.
async fn label(kubectl: &Kubectl) -> anyhow::Result<()> {
    let out = kubectl
        .ok(&["label", "configmap", "settings", "tier=x"])
        .await?;
    ensure!(out.trim() == "configmap/settings labeled", "{out:?}");
    let err = kubectl
        .fails(&["label", "configmap", "settings", "tier=y"], "")
        .await?;
    ensure!(
        err.contains("'tier' already has a value (x), and --overwrite is false"),
        "{err}"
    );
    let out = kubectl
        .ok(&["label", "--overwrite", "configmap", "settings", "tier=y"])
        .await?;
    ensure!(out.trim() == "configmap/settings labeled", "{out:?}");
    let labels = kubectl
        .ok(&[
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.metadata.labels}",
        ])
        .await?;
    ensure!(labels.trim() == r#"{"tier":"y"}"#, "{labels:?}");
    let out = kubectl
        .ok(&["label", "configmap", "settings", "tier-"])
        .await?;
    ensure!(out.trim() == "configmap/settings unlabeled", "{out:?}");
    let labels = kubectl
        .ok(&[
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.metadata.labels}",
        ])
        .await?;
    // An emptied map may stay as `{}` (JSON storage keeps it; kube's protobuf drops it).
    ensure!(
        matches!(labels.trim(), "" | "{}"),
        "labels left: {labels:?}"
    );
    Ok(())
}
