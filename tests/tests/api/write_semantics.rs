//! Write rules kube-apiserver applies beyond validation, over plain HTTPS: a Secret's
//! `stringData` is folded into `data` and never stored (and a node token written that way
//! authenticates); a pod whose last finalizer goes is removed once its graceful deletion is
//! over (the agent's grace-0 delete), and not before; a PATCH without a resourceVersion
//! (of an object or of its `scale`) never loses a race with a status writer.

use std::time::Duration;

use anyhow::ensure;
use base64::Engine;
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, run_bounded};

use crate::manifests::{node_json, one_replica};

const PODS: &str = "/api/v1/namespaces/default/pods";

#[test]
fn writes_fold_string_data_and_finish_pod_deletions() {
    run_bounded(
        "writes_fold_string_data_and_finish_pod_deletions",
        Duration::from_secs(90),
        scenario(),
    );
}

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("write-semantics").await?;
    let admin = ApiClient::admin(&replica)?;
    string_data_is_folded(&admin, &replica).await?;
    for node in ["n1", "n2"] {
        admin
            .json(Method::POST, "/api/v1/nodes", &node_json(node))
            .await?
            .ok()?;
    }
    let ready = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    admin
        .merge_patch("/api/v1/nodes/n2/status", &ready)
        .await?
        .ok()?;
    finalizer_removal_ends_an_ungraceful_delete(&admin).await?;
    finalizer_removal_waits_for_the_grace_0_delete(&admin).await?;
    unpinned_patches_survive_status_writes(&admin).await?;
    Ok(())
}

/// Merge patches of a Deployment and of its `scale`, racing a writer of its status, all
/// succeed: kube-apiserver retries an unpinned patch on the re-read object.
async fn unpinned_patches_survive_status_writes(admin: &ApiClient) -> anyhow::Result<()> {
    const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "raced"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "raced"}},
            "template": {"metadata": {"labels": {"app": "raced"}},
                "spec": {"containers": [{"name": "app", "image": "app.wasm"}]}}}
    });
    admin
        .json(Method::POST, DEPLOYMENTS, &deployment)
        .await?
        .ok()?;
    let status_writer = async {
        for n in 0..60 {
            let status = json!({"status": {"observedGeneration": n}});
            admin
                .merge_patch(&format!("{DEPLOYMENTS}/raced/status"), &status)
                .await?
                .ok()?;
        }
        anyhow::Ok(())
    };
    let patcher = async {
        for n in 0..30 {
            let scale = json!({"spec": {"replicas": n % 3}});
            admin
                .merge_patch(&format!("{DEPLOYMENTS}/raced/scale"), &scale)
                .await?
                .ok()?;
            let labels = json!({"metadata": {"labels": {"round": n.to_string()}}});
            admin
                .merge_patch(&format!("{DEPLOYMENTS}/raced"), &labels)
                .await?
                .ok()?;
        }
        anyhow::Ok(())
    };
    tokio::try_join!(status_writer, patcher)?;
    Ok(())
}

async fn string_data_is_folded(
    admin: &ApiClient,
    replica: &skiff_tests::Replica,
) -> anyhow::Result<()> {
    let token = "n9-fold-0123456789abcdef0123456789abcd";
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "skiff.io/node-token",
        "metadata": {"name": "node-n9-token", "namespace": "kube-system"},
        "data": {"node-name": "bjk="},
        "stringData": {"token": token}
    });
    let stored = admin
        .json(
            Method::POST,
            "/api/v1/namespaces/kube-system/secrets",
            &secret,
        )
        .await?
        .ok()?;
    ensure!(
        stored.get("stringData").is_none()
            && stored["data"]["token"] == base64::engine::general_purpose::STANDARD.encode(token)
            && stored["data"]["node-name"] == "bjk=",
        "{stored}"
    );
    let node = ApiClient::with_token(replica, Some(token))?;
    node.get("/api/v1/nodes/n9")
        .await?
        .expect_status(404, "NotFound")?;
    Ok(())
}

/// A pod with a finalizer on `node`.
async fn held_pod(admin: &ApiClient, name: &str, node: &str) -> anyhow::Result<()> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "finalizers": ["skiff.test/hold"]},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app.wasm"}]}
    });
    admin.json(Method::POST, PODS, &pod).await?.ok()?;
    Ok(())
}

async fn delete(admin: &ApiClient, name: &str, options: Value) -> anyhow::Result<Value> {
    admin
        .json(Method::DELETE, &format!("{PODS}/{name}"), &options)
        .await?
        .ok()
}

async fn release(admin: &ApiClient, name: &str) -> anyhow::Result<()> {
    let patch = json!({"metadata": {"finalizers": null}});
    let answer = admin.merge_patch(&format!("{PODS}/{name}"), &patch).await?;
    ensure!(
        answer.status.is_success() || answer.status == 404,
        "{answer:?}"
    );
    Ok(())
}

async fn exists(admin: &ApiClient, name: &str) -> anyhow::Result<bool> {
    Ok(admin
        .get(&format!("{PODS}/{name}"))
        .await?
        .status
        .is_success())
}

/// A pod on a node that is not Ready has no grace period: its last finalizer ends it.
async fn finalizer_removal_ends_an_ungraceful_delete(admin: &ApiClient) -> anyhow::Result<()> {
    held_pod(admin, "held", "n1").await?;
    let marked = delete(admin, "held", json!({})).await?;
    ensure!(
        marked["metadata"]["deletionTimestamp"].is_string() && exists(admin, "held").await?,
        "{marked}"
    );
    release(admin, "held").await?;
    ensure!(
        !exists(admin, "held").await?,
        "held stayed after its finalizer went"
    );
    Ok(())
}

/// A pod on a Ready node waits for its agent: removing the finalizer first leaves it
/// terminating until the grace-0 delete, and a grace-0 delete first leaves it until the
/// finalizer goes.
async fn finalizer_removal_waits_for_the_grace_0_delete(admin: &ApiClient) -> anyhow::Result<()> {
    held_pod(admin, "early", "n2").await?;
    let marked = delete(admin, "early", json!({})).await?;
    ensure!(
        marked["metadata"]["deletionGracePeriodSeconds"] == 30,
        "{marked}"
    );
    release(admin, "early").await?;
    ensure!(exists(admin, "early").await?, "early went before its agent");
    delete(admin, "early", json!({"gracePeriodSeconds": 0})).await?;
    ensure!(!exists(admin, "early").await?, "early stayed after grace 0");

    held_pod(admin, "late", "n2").await?;
    delete(admin, "late", json!({})).await?;
    let shortened = delete(admin, "late", json!({"gracePeriodSeconds": 0})).await?;
    ensure!(
        shortened["metadata"]["deletionGracePeriodSeconds"] == 0 && exists(admin, "late").await?,
        "{shortened}"
    );
    release(admin, "late").await?;
    ensure!(
        !exists(admin, "late").await?,
        "late stayed after its finalizer went"
    );
    Ok(())
}
