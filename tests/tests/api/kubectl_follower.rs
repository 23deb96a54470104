//! The core kubectl scenarios against a three-replica cluster through a follower's URL: writes
//! are forwarded to the leader, reads and `get -w` answer from the follower.

use std::time::Duration;

use anyhow::ensure;
use skiff_tests::{Cluster, Kubectl, ReplicaOptions, kubeconfig_for, run_bounded};

use crate::kubectl_apply::{client_side_apply, create_and_diff, server_side_apply};
use crate::kubectl_errors::errors;
use crate::kubectl_verbs::verbs;
use crate::manifests::{api_ready, configmap_yaml};

#[test]
fn kubectl_through_a_follower() {
    run_bounded(
        "kubectl_through_a_follower",
        Duration::from_secs(240),
        scenario(),
    );
}

async fn scenario() -> anyhow::Result<()> {
    let cluster = Cluster::start(3, |i| ReplicaOptions::new(&format!("kubectl-f{i}"))).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    for replica in &cluster.replicas {
        api_ready(replica).await?;
    }
    let follower = (leader + 1) % 3;
    let config = kubeconfig_for(&cluster.replicas[0], &cluster.replicas[follower].url())?;
    let kubectl = Kubectl::new(&config)?;

    let namespaces = kubectl.ok(&["get", "namespaces", "-o", "name"]).await?;
    ensure!(
        namespaces.contains("namespace/kube-node-lease"),
        "{namespaces}"
    );
    let mut watch = kubectl.spawn(&["get", "configmaps", "-w", "-o", "name"])?;
    client_side_apply(&kubectl).await?;
    server_side_apply(&kubectl).await?;
    create_and_diff(&kubectl).await?;
    watch
        .line_matching(Duration::from_secs(20), |l| l == "configmap/made")
        .await?;
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &configmap_yaml("late", "x"))
        .await?;
    watch
        .line_matching(Duration::from_secs(20), |l| l == "configmap/late")
        .await?;
    watch.kill().await?;
    verbs(&kubectl).await?;
    errors(&kubectl).await?;

    // The follower stayed a follower: the test really went through forwarding.
    ensure!(
        cluster.leader(Duration::from_secs(10)).await? == leader,
        "leadership moved during the test"
    );
    Ok(())
}
