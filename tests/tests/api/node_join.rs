//! A node agent's join: the agent token (or the cluster token) buys a credential of the node's
//! own at `/skiff/v1/node-join`, once per name; wrong tokens and bad names get a clear answer;
//! the credential reads only the ConfigMaps and Secrets its own pods reference.

use std::time::Duration;

use anyhow::{Context, ensure};
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, Replica, run_bounded};

use crate::manifests::one_replica;

#[test]
fn nodes_join_with_the_agent_token_and_read_only_what_their_pods_use() {
    run_bounded(
        "nodes_join_with_the_agent_token_and_read_only_what_their_pods_use",
        Duration::from_secs(90),
        scenario(),
    );
}

const JOIN: &str = "/skiff/v1/node-join";

/// The secret part of a `K10<hash>::<role>:<secret>` token file.
fn token_secret(replica: &Replica, file: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(replica.data_dir.join(file))?;
    let secret = text.trim().rsplit(':').next().context("empty token")?;
    Ok(secret.to_owned())
}

async fn join(replica: &Replica, secret: &str, name: &str) -> anyhow::Result<skiff_tests::Answer> {
    let client = ApiClient::with_token(replica, Some(secret))?;
    client
        .json(Method::POST, JOIN, &json!({ "nodeName": name }))
        .await
}

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("node-join").await?;
    let agent_token = std::fs::read_to_string(replica.data_dir.join("agent-token"))?;
    ensure!(
        agent_token.contains("::node:"),
        "agent-token: {agent_token}"
    );
    let agent_secret = token_secret(&replica, "agent-token")?;

    let wrong = join(&replica, "not-the-token", "edge-1").await?;
    ensure!(
        wrong.status == 401,
        "wrong token: {} {}",
        wrong.status,
        wrong.body
    );
    let bad = join(&replica, &agent_secret, "Bad_Name").await?;
    ensure!(bad.status == 400, "bad name: {} {}", bad.status, bad.body);

    let answer = join(&replica, &agent_secret, "edge-1").await?.ok()?;
    let ca = std::fs::read_to_string(replica.data_dir.join("pki/ca.crt"))?;
    ensure!(answer["caCert"] == ca.as_str(), "caCert differs");
    ensure!(
        answer["servers"] == json!([replica.url()]),
        "servers: {}",
        answer["servers"]
    );
    let node_token = answer["token"].as_str().context("no token")?.to_owned();

    let again = join(&replica, &agent_secret, "edge-1").await?;
    ensure!(
        again.status == 409
            && again
                .body
                .as_str()
                .is_some_and(|m| m.contains("delete secret")),
        "second join of one name: {} {}",
        again.status,
        again.body
    );
    // The cluster (server) token admits nodes too, as in k3s.
    let server_secret = token_secret(&replica, "token")?;
    join(&replica, &server_secret, "edge-2").await?.ok()?;

    referenced_objects_only(&replica, &node_token).await
}

/// ConfigMaps and Secrets: edge-1 reads those its pods reference, not others, nor those that
/// only edge-2's pods reference.
async fn referenced_objects_only(replica: &Replica, node_token: &str) -> anyhow::Result<()> {
    let admin = ApiClient::admin(replica)?;
    for name in ["cm-used", "cm-other", "cm-edge2"] {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": name}, "data": {"k": "v"}});
        admin
            .json(Method::POST, "/api/v1/namespaces/default/configmaps", &cm)
            .await?
            .ok()?;
    }
    for name in ["s-used", "s-other"] {
        let s = json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": name}, "stringData": {"k": "v"}});
        admin
            .json(Method::POST, "/api/v1/namespaces/default/secrets", &s)
            .await?
            .ok()?;
    }
    admin
        .json(
            Method::POST,
            "/api/v1/namespaces/default/pods",
            &pod("p1", "edge-1", "cm-used", "s-used"),
        )
        .await?
        .ok()?;
    admin
        .json(
            Method::POST,
            "/api/v1/namespaces/default/pods",
            &pod("p2", "edge-2", "cm-edge2", "s-other"),
        )
        .await?
        .ok()?;

    let node = ApiClient::with_token(replica, Some(node_token))?;
    let base = "/api/v1/namespaces/default";
    for path in [
        format!("{base}/configmaps/cm-used"),
        format!("{base}/secrets/s-used"),
        format!("{base}/secrets?fieldSelector=metadata.name%3Ds-used"),
    ] {
        node.get(&path)
            .await?
            .ok()
            .with_context(|| format!("edge-1 GET {path}"))?;
    }
    for path in [
        format!("{base}/configmaps/cm-other"),
        format!("{base}/configmaps/cm-edge2"),
        format!("{base}/secrets/s-other"),
        format!("{base}/secrets"),
        format!("{base}/configmaps"),
        "/api/v1/namespaces/kube-system/secrets/node-token-edge-2".to_owned(),
    ] {
        let message = node.get(&path).await?.expect_status(403, "Forbidden")?;
        ensure!(message.contains("system:node:edge-1"), "{path}: {message}");
    }
    Ok(())
}

fn pod(name: &str, node: &str, configmap: &str, secret: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "image": "example.wasm",
                "env": [{"name": "K", "valueFrom": {"configMapKeyRef": {"name": configmap, "key": "k"}}}]}],
            "volumes": [{"name": "s", "secret": {"secretName": secret}}]
        }
    })
}
