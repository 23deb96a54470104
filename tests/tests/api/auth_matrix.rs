//! Who may do what, over plain HTTPS: no token and a bad token get 401; a node's token reaches
//! only its own Node, its Lease and the pods bound to it (403 `Forbidden` Status otherwise);
//! the admin reaches everything.

use std::time::Duration;

use anyhow::ensure;
use base64::Engine;
use http::Method;
use serde_json::json;
use skiff_tests::{ApiClient, run_bounded};

use crate::manifests::{node_json, one_replica, pod_json};

#[test]
fn tokens_are_authenticated_and_nodes_confined() {
    run_bounded(
        "tokens_are_authenticated_and_nodes_confined",
        Duration::from_secs(90),
        scenario(),
    );
}

const NODE_TOKEN: &str = "n1-0123456789abcdef0123456789abcdef";

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("auth").await?;
    let admin = ApiClient::admin(&replica)?;

    for token in [None, Some("not-a-token"), Some(NODE_TOKEN)] {
        let anonymous = ApiClient::with_token(&replica, token)?;
        for path in ["/api/v1/namespaces", "/api/v1/nodes/n1", "/api"] {
            let message = anonymous
                .get(path)
                .await?
                .expect_status(401, "Unauthorized")?;
            ensure!(message == "Unauthorized", "401 message: {message:?}");
        }
    }

    // As admin: two nodes, a pod bound to each, and n1's token Secret.
    for node in ["n1", "n2"] {
        admin
            .json(Method::POST, "/api/v1/nodes", &node_json(node))
            .await?
            .ok()?;
    }
    for (pod, node) in [("on-n1", "n1"), ("on-n2", "n2")] {
        admin
            .json(
                Method::POST,
                "/api/v1/namespaces/default/pods",
                &pod_json(pod, "x", Some(node)),
            )
            .await?
            .ok()?;
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "node-n1-token", "namespace": "kube-system" },
        "type": "skiff.io/node-token",
        "data": { "token": b64(NODE_TOKEN), "node-name": b64("n1") }
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
    let own = node.get("/api/v1/nodes/n1").await?.ok()?;
    ensure!(own["metadata"]["name"] == "n1", "{own}");
    let listed = node
        .get("/api/v1/nodes?fieldSelector=metadata.name%3Dn1")
        .await?
        .ok()?;
    ensure!(
        listed["items"].as_array().map(Vec::len) == Some(1),
        "{listed}"
    );
    // A node lists every Node (the overlay needs each node's pod range and tunnel address),
    // as the kubelet's system:node role may; reading or writing another one stays refused.
    let all = node.get("/api/v1/nodes").await?.ok()?;
    ensure!(all["items"].as_array().map(Vec::len) == Some(2), "{all}");
    node.merge_patch(
        "/api/v1/nodes/n1/status",
        &json!({ "status": { "phase": "Running" } }),
    )
    .await?
    .ok()?;
    let pod = node
        .get("/api/v1/namespaces/default/pods/on-n1")
        .await?
        .ok()?;
    ensure!(pod["spec"]["nodeName"] == "n1", "{pod}");
    node.merge_patch(
        "/api/v1/namespaces/default/pods/on-n1/status",
        &json!({ "status": { "phase": "Running" } }),
    )
    .await?
    .ok()?;
    let mine = node
        .get("/api/v1/pods?fieldSelector=spec.nodeName%3Dn1")
        .await?
        .ok()?;
    let names: Vec<_> = mine["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["metadata"]["name"].clone())
        .collect();
    ensure!(names == [json!("on-n1")], "n1's pods: {names:?}");
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": { "name": "n1", "namespace": "kube-node-lease" },
        "spec": { "holderIdentity": "n1", "leaseDurationSeconds": 40 }
    });
    node.json(
        Method::POST,
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        &lease,
    )
    .await?
    .ok()?;

    let forbidden = [
        (Method::GET, "/api/v1/nodes/n2"),
        (Method::GET, "/api/v1/namespaces/default/pods/on-n2"),
        (
            Method::PATCH,
            "/api/v1/namespaces/default/pods/on-n2/status",
        ),
        (Method::PATCH, "/api/v1/nodes/n2/status"),
        (Method::GET, "/api/v1/pods"),
        (Method::GET, "/api/v1/namespaces/default/pods"),
        (Method::GET, "/api/v1/pods?fieldSelector=spec.nodeName%3Dn2"),
        (Method::GET, "/api/v1/namespaces/kube-system/secrets"),
    ];
    for (method, path) in forbidden {
        let answer = node
            .send(
                method.clone(),
                path,
                "application/merge-patch+json",
                json!({ "status": { "phase": "Failed" } }).to_string(),
            )
            .await?;
        let message = answer
            .expect_status(403, "Forbidden")
            .map_err(|e| e.context(format!("node n1: {method} {path}")))?;
        ensure!(
            message.contains("User \"system:node:n1\" cannot"),
            "{method} {path}: 403 message {message:?}"
        );
    }

    // The admin reaches everything, including what the node may not.
    admin.get("/api/v1/nodes/n2").await?.ok()?;
    admin.get("/api/v1/pods").await?.ok()?;
    admin
        .get("/api/v1/namespaces/kube-system/secrets")
        .await?
        .ok()?;
    admin
        .merge_patch(
            "/api/v1/namespaces/default/pods/on-n2/status",
            &json!({ "status": { "phase": "Running" } }),
        )
        .await?
        .ok()?;
    admin
        .send(
            Method::DELETE,
            "/api/v1/namespaces/default/pods/on-n2",
            "application/json",
            "",
        )
        .await?
        .ok()?;
    let pod = node
        .get("/api/v1/namespaces/default/pods/on-n1")
        .await?
        .ok()?;
    ensure!(
        pod["status"]["phase"] == "Running",
        "a refused node request changed the pod: {}",
        pod["status"]
    );
    Ok(())
}
