//! A PATCH through a follower starts from the follower's own copy of the object. A copy behind
//! the leader's must never show: each patch lands on the latest object, and a patch that
//! changes nothing answers with the latest object too.

use std::time::Duration;

use anyhow::ensure;
use http::Method;
use serde_json::json;
use skiff_tests::{ApiClient, Cluster, ReplicaOptions, run_bounded};

use crate::manifests::api_ready;

/// Write-then-patch rounds; each gives the follower a fresh chance to be behind.
const ROUNDS: usize = 40;

#[test]
fn patches_through_a_follower_land_on_the_latest_object() {
    run_bounded(
        "patches_through_a_follower_land_on_the_latest_object",
        Duration::from_secs(180),
        scenario(),
    );
}

async fn scenario() -> anyhow::Result<()> {
    let cluster = Cluster::start(3, |i| ReplicaOptions::new(&format!("patch-f{i}"))).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    for replica in &cluster.replicas {
        api_ready(replica).await?;
    }
    let writer = ApiClient::admin(&cluster.replicas[leader])?;
    let patcher = ApiClient::admin(&cluster.replicas[(leader + 1) % 3])?;
    let made = json!({"metadata": {"name": "racing"}, "data": {"n": "0"}});
    writer
        .json(Method::POST, "/api/v1/namespaces/default/configmaps", &made)
        .await?
        .ok()?;
    let path = "/api/v1/namespaces/default/configmaps/racing";
    for round in 1..=ROUNDS {
        let n = round.to_string();
        writer
            .merge_patch(path, &json!({"data": {"n": n}}))
            .await?
            .ok()?;
        let patched = patcher
            .merge_patch(path, &json!({"data": {"m": n}}))
            .await?
            .ok()?;
        ensure!(
            patched["data"]["n"] == n.as_str() && patched["data"]["m"] == n.as_str(),
            "round {round}: the follower's patch did not land on the latest object: {patched}"
        );
        let later = format!("{round}b");
        writer
            .merge_patch(path, &json!({"data": {"n": later}}))
            .await?
            .ok()?;
        let unchanged = patcher
            .merge_patch(path, &json!({"data": {"m": n}}))
            .await?
            .ok()?;
        ensure!(
            unchanged["data"]["n"] == later.as_str(),
            "round {round}: a patch that changed nothing answered an old object: {unchanged}"
        );
    }
    Ok(())
}
