//! The token index on a three-replica cluster, through a follower: a node token Secret created
//! through the leader works on the follower at once; once the index has it, requests with it
//! read no Secrets from the store (`skiff_apiserver_token_store_lookups_total` stays put); a
//! deleted node or service-account token gets 401 within a bounded time.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use base64::Engine;
use http::Method;
use serde_json::json;
use skiff_tests::{ApiClient, Cluster, ReplicaOptions, run_bounded};
use tokio::time::{Instant, sleep};

use crate::manifests::{api_ready, node_json};

/// How soon a deleted token must stop working on a follower.
const REVOKED_WITHIN: Duration = Duration::from_secs(2);

#[test]
fn tokens_are_indexed_and_revoked() {
    run_bounded(
        "tokens_are_indexed_and_revoked",
        Duration::from_secs(120),
        scenario(),
    );
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn store_lookups(admin: &ApiClient) -> anyhow::Result<u64> {
    let metrics = admin.get("/metrics").await?.ok()?;
    let text = metrics.as_str().context("metrics are text")?;
    let line = text
        .lines()
        .find(|l| l.starts_with("skiff_apiserver_token_store_lookups_total "))
        .context("no token lookup counter in /metrics")?;
    Ok(line.rsplit(' ').next().unwrap_or_default().parse()?)
}

/// Polls `path` with `client` until it answers 401; returns how long that took.
async fn until_unauthorized(client: &ApiClient, path: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        let answer = client.get(path).await?;
        if answer.status.as_u16() == 401 {
            return Ok(start.elapsed());
        }
        ensure!(answer.status.is_success(), "{path}: {answer:?}");
        if start.elapsed() > Duration::from_secs(10) {
            bail!("{path} still answered after the token was deleted");
        }
        sleep(Duration::from_millis(20)).await;
    }
}

async fn scenario() -> anyhow::Result<()> {
    let cluster = Cluster::start(3, |i| ReplicaOptions::new(&format!("tokens-{i}"))).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    for replica in &cluster.replicas {
        api_ready(replica).await?;
    }
    let follower = &cluster.replicas[(leader + 1) % 3];
    let admin = ApiClient::admin(&cluster.replicas[leader])?;
    let follower_admin = ApiClient::admin(follower)?;
    admin
        .json(Method::POST, "/api/v1/nodes", &node_json("n1"))
        .await?
        .ok()?;

    let node_token = "n1-token-0123456789abcdef";
    let node_secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "node-n1-token", "namespace": "kube-system" },
        "type": "skiff.io/node-token",
        "data": { "token": b64(node_token), "node-name": b64("n1") }
    });
    let sa_token = "sa-token-0123456789abcdef";
    let sa_secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "builder-token", "namespace": "default",
            "annotations": { "kubernetes.io/service-account.name": "builder" } },
        "type": "kubernetes.io/service-account-token",
        "data": { "token": b64(sa_token) }
    });
    for (ns, secret) in [("kube-system", &node_secret), ("default", &sa_secret)] {
        let path = format!("/api/v1/namespaces/{ns}/secrets");
        admin.json(Method::POST, &path, secret).await?.ok()?;
    }

    // Straight after the create, through the follower: found (from the index, or from a
    // linearizable read if the follower's index has not caught up yet).
    let node = ApiClient::with_token(follower, Some(node_token))?;
    let sa = ApiClient::with_token(follower, Some(sa_token))?;
    node.get("/api/v1/nodes/n1").await?.ok()?;
    sa.get("/api").await?.ok()?;

    // Once indexed, authenticating reads nothing from the store.
    let deadline = Instant::now() + Duration::from_secs(5);
    let before = loop {
        let before = store_lookups(&follower_admin).await?;
        for _ in 0..20 {
            node.get("/api/v1/nodes/n1").await?.ok()?;
            sa.get("/api").await?.ok()?;
        }
        let after = store_lookups(&follower_admin).await?;
        if after == before {
            break before;
        }
        ensure!(
            Instant::now() < deadline,
            "tokens still looked up in the store: {before} -> {after}"
        );
    };
    let bad = ApiClient::with_token(follower, Some("no-such-token"))?;
    bad.get("/api/v1/nodes/n1")
        .await?
        .expect_status(401, "Unauthorized")?;
    ensure!(
        store_lookups(&follower_admin).await? == before + 1,
        "an unknown token is confirmed in the store once"
    );
    // Repeating it right away reads nothing more from the store.
    for _ in 0..10 {
        bad.get("/api/v1/nodes/n1")
            .await?
            .expect_status(401, "Unauthorized")?;
    }
    let repeated = store_lookups(&follower_admin).await?;
    ensure!(
        repeated <= before + 2,
        "a repeated unknown token is refused from memory: {before} -> {repeated}"
    );

    // Revoked through the leader: the follower refuses the token within the bound.
    let revoked = [
        (
            &node,
            "/api/v1/namespaces/kube-system/secrets/node-n1-token",
            "/api/v1/nodes/n1",
        ),
        (
            &sa,
            "/api/v1/namespaces/default/secrets/builder-token",
            "/api",
        ),
    ];
    for (client, secret_path, probe) in revoked {
        admin
            .send(Method::DELETE, secret_path, "application/json", "")
            .await?
            .ok()?;
        let took = until_unauthorized(client, probe).await?;
        ensure!(
            took <= REVOKED_WITHIN,
            "{secret_path}: still accepted {took:?} after the delete (bound {REVOKED_WITHIN:?})"
        );
        for _ in 0..5 {
            client
                .get(probe)
                .await?
                .expect_status(401, "Unauthorized")?;
        }
    }
    Ok(())
}
