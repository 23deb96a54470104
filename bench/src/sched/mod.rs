//! The scheduler benchmark (`sched-bench`): one `skiff server` (its in-process scheduler and
//! controller manager), Nodes registered through the API with no agents behind them (as
//! kube-scheduler's scheduler_perf does), then pods created by concurrent clients; it measures
//! how fast they are bound, from the first create to the last binding seen on a watch.
//!
//! Beside the result it prints Kubernetes' published threshold for the same shape of test:
//! scheduler_perf `SchedulingBasic`, workload `5000Nodes_10000Pods` (5,000 nodes, 1,000 pods
//! placed first, then 10,000 measured) expects at least 680 pods/s (kubernetes/kubernetes
//! `test/integration/scheduler_perf/misc/performance-config.yaml`, `threshold: 680`; older
//! trees keep it in `test/integration/scheduler_perf/config/performance-config.yaml`).

mod load;

use std::time::Duration;

use anyhow::Context;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use skiff_tests::{Replica, ReplicaOptions, kubeconfig_for};

pub use load::{Outcome, create_pods, register_nodes, watch_bound};

/// Kubernetes' scheduler_perf SchedulingBasic threshold at 5,000 nodes, pods/s.
pub const KUBERNETES_THRESHOLD: f64 = 680.0;

/// What to run.
#[derive(Clone, Debug)]
pub struct Shape {
    pub nodes: usize,
    pub pods: usize,
    pub clients: usize,
}

/// Starts one replica running the API server and its scheduler but no controller manager (as
/// scheduler_perf runs only kube-apiserver and kube-scheduler; no node lifecycle controller
/// marks the agent-less Nodes unreachable), and an admin kube-rs client for it.
pub async fn start_server() -> anyhow::Result<(Replica, Client)> {
    let options = ReplicaOptions::new("sched-bench").args(["--disable-controller-manager"]);
    let replica = Replica::start(options).await?;
    let path = kubeconfig_for(&replica, &replica.url())?;
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&path)?,
        &KubeConfigOptions::default(),
    )
    .await
    .context("kube config")?;
    let client = Client::try_from(config)?;
    Ok((replica, client))
}

/// One run: registers the Nodes, then creates the pods while a watch counts bindings.
pub async fn run(shape: &Shape) -> anyhow::Result<Outcome> {
    let (_replica, client) = start_server().await?;
    register_nodes(&client, shape.nodes, shape.clients).await?;
    let bound = watch_bound(client.clone(), shape.pods);
    let started = tokio::time::Instant::now();
    let created = create_pods(&client, shape.pods, shape.clients).await?;
    let all_bound = tokio::time::timeout(Duration::from_secs(600), bound)
        .await
        .context("not every pod was bound within 10 minutes")???;
    Ok(Outcome {
        created: created - started,
        bound: all_bound - started,
        pods: shape.pods,
        nodes: shape.nodes,
    })
}
