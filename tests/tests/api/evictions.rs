//! `pods/eviction` over plain HTTPS, checked against kube-apiserver's answers: an allowed
//! eviction spends the PodDisruptionBudget's `disruptionsAllowed` (status update) and deletes
//! the pod; one more is 429 TooManyRequests with the budget's cause; a dry run spends and
//! deletes nothing; the Eviction's `deleteOptions` reach the delete (a grace period on a pod of
//! a Ready node); a policy/v1beta1 body is accepted; a node may not evict, not even its own
//! pods; a wrong name is 400 and a missing pod 404.

use std::time::Duration;

use anyhow::ensure;
use base64::Engine;
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, run_bounded};

use crate::manifests::{node_json, one_replica};

#[test]
fn evictions_honour_disruption_budgets() {
    run_bounded(
        "evictions_honour_disruption_budgets",
        Duration::from_secs(90),
        scenario(),
    );
}

const NODE_TOKEN: &str = "n1-evict-0123456789abcdef0123456789ab";
const PODS: &str = "/api/v1/namespaces/default/pods";
const BUDGET: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web";

/// A running, ready pod `name` labelled `app: web`, bound to `node`.
pub async fn running_pod(admin: &ApiClient, name: &str, node: &str) -> anyhow::Result<()> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}, "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f", "uid": "7e57", "controller": true}
        ]},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app.wasm"}],
                 "volumes": [{"name": "scratch", "emptyDir": {}}]}
    });
    admin.json(Method::POST, PODS, &pod).await?.ok()?;
    let status = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
    admin
        .merge_patch(&format!("{PODS}/{name}/status"), &status)
        .await?
        .ok()?;
    Ok(())
}

/// The PodDisruptionBudget `web` (minAvailable 1 over `app: web`) with the status the
/// disruption controller would write for `healthy` ready pods and `allowed` disruptions.
pub async fn budget(admin: &ApiClient, healthy: i64, allowed: i64) -> anyhow::Result<()> {
    let pdb = json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}
    });
    let created = admin
        .json(
            Method::POST,
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            &pdb,
        )
        .await?;
    ensure!(
        created.status.is_success() || created.status == 409,
        "{created:?}"
    );
    set_budget_status(admin, healthy, allowed).await
}

/// What the disruption controller (not the API server) keeps up to date.
pub async fn set_budget_status(
    admin: &ApiClient,
    healthy: i64,
    allowed: i64,
) -> anyhow::Result<()> {
    let status = json!({"status": {"observedGeneration": 1, "disruptionsAllowed": allowed,
        "currentHealthy": healthy, "desiredHealthy": 1, "expectedPods": healthy, "disruptedPods": null}});
    admin
        .merge_patch(&format!("{BUDGET}/status"), &status)
        .await?
        .ok()?;
    Ok(())
}

fn eviction(name: &str, delete_options: Value) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "Eviction",
           "metadata": {"name": name, "namespace": "default"}, "deleteOptions": delete_options})
}

async fn evict(
    client: &ApiClient,
    name: &str,
    body: &Value,
) -> anyhow::Result<skiff_tests::Answer> {
    client
        .json(Method::POST, &format!("{PODS}/{name}/eviction"), body)
        .await
}

async fn exists(admin: &ApiClient, name: &str) -> anyhow::Result<bool> {
    Ok(admin
        .get(&format!("{PODS}/{name}"))
        .await?
        .status
        .is_success())
}

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("evictions").await?;
    let admin = ApiClient::admin(&replica)?;
    // n1 reports no Ready condition, so its pods are deleted at once; n2 is Ready, so a
    // delete there is graceful and waits for its (absent) agent.
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
    for (pod, node) in [
        ("web-1", "n1"),
        ("web-2", "n1"),
        ("web-3", "n1"),
        ("slow", "n2"),
    ] {
        running_pod(&admin, pod, node).await?;
    }
    budget(&admin, 4, 1).await?;

    // A node may not evict, not even a pod bound to it.
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "skiff.io/node-token",
        "metadata": {"name": "node-n1-token", "namespace": "kube-system"},
        "data": {"token": b64(NODE_TOKEN), "node-name": b64("n1")}
    });
    admin
        .json(
            Method::POST,
            "/api/v1/namespaces/kube-system/secrets",
            &secret,
        )
        .await?
        .ok()?;
    let node = ApiClient::with_token(&replica, Some(NODE_TOKEN))?;
    let message = evict(&node, "web-1", &eviction("web-1", Value::Null))
        .await?
        .expect_status(403, "Forbidden")?;
    ensure!(
        message
            == "pods \"web-1\" is forbidden: User \"system:node:n1\" cannot create resource \"pods/eviction\" in API group \"\" in the namespace \"default\"",
        "{message}"
    );

    let message = evict(&admin, "web-1", &eviction("web-2", Value::Null))
        .await?
        .expect_status(400, "BadRequest")?;
    ensure!(
        message == "name in URL does not match name in Eviction object",
        "{message}"
    );
    let message = evict(&admin, "nope", &eviction("nope", Value::Null))
        .await?
        .expect_status(404, "NotFound")?;
    ensure!(message == "pods \"nope\" not found", "{message}");

    // A dry run spends nothing and deletes nothing.
    evict(
        &admin,
        "web-1",
        &eviction("web-1", json!({"dryRun": ["All"]})),
    )
    .await?
    .ok()?;
    let pdb = admin.get(BUDGET).await?.ok()?;
    ensure!(
        exists(&admin, "web-1").await? && pdb["status"]["disruptionsAllowed"] == 1,
        "{pdb}"
    );

    // Allowed: 201 Success, the disruption spent and recorded, the pod gone.
    let answer = evict(&admin, "web-1", &eviction("web-1", Value::Null)).await?;
    ensure!(
        answer.status == 201 && answer.body["status"] == "Success",
        "{answer:?}"
    );
    ensure!(!exists(&admin, "web-1").await?, "web-1 still there");
    let pdb = admin.get(BUDGET).await?.ok()?;
    ensure!(
        pdb["status"]["disruptionsAllowed"] == 0
            && pdb["status"]["disruptedPods"]["web-1"].is_string()
            && pdb["status"]["conditions"][0]["reason"] == "InsufficientPods",
        "{pdb}"
    );

    // Refused: the budget has no disruption left (the v1beta1 body older kubectls send).
    let mut beta = eviction("web-2", Value::Null);
    beta["apiVersion"] = json!("policy/v1beta1");
    let refused = evict(&admin, "web-2", &beta).await?;
    let message = refused.expect_status(429, "TooManyRequests")?;
    ensure!(
        message == "Cannot evict pod as it would violate the pod's disruption budget.",
        "{message}"
    );
    ensure!(
        refused.body["details"]["causes"]
            == json!([{"reason": "DisruptionBudget", "message": "The disruption budget web needs 1 healthy pods and has 4 currently"}]),
        "{}",
        refused.body
    );
    ensure!(exists(&admin, "web-2").await?, "web-2 was deleted");

    // Two budgets over one pod: kube-apiserver's 500, with no reason.
    let pdbs = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    let second = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web-too"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}});
    admin.json(Method::POST, pdbs, &second).await?.ok()?;
    let several = evict(&admin, "web-2", &eviction("web-2", Value::Null)).await?;
    ensure!(
        several.status == 500
            && several.body["message"]
                == "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
            && several.body.get("reason").is_none(),
        "{several:?}"
    );
    admin
        .send(
            Method::DELETE,
            &format!("{pdbs}/web-too"),
            "application/json",
            "",
        )
        .await?
        .ok()?;

    // The Eviction's deleteOptions reach the delete: a graceful one on the Ready node.
    set_budget_status(&admin, 3, 2).await?;
    evict(
        &admin,
        "slow",
        &eviction("slow", json!({"gracePeriodSeconds": 7})),
    )
    .await?
    .ok()?;
    let slow = admin.get(&format!("{PODS}/slow")).await?.ok()?;
    ensure!(
        slow["metadata"]["deletionTimestamp"].is_string()
            && slow["metadata"]["deletionGracePeriodSeconds"] == 7,
        "{slow}"
    );
    // A terminating pod skips the budget: evicting it again spends nothing.
    evict(&admin, "slow", &eviction("slow", Value::Null))
        .await?
        .ok()?;
    let pdb = admin.get(BUDGET).await?.ok()?;
    ensure!(pdb["status"]["disruptionsAllowed"] == 1, "{pdb}");
    Ok(())
}
