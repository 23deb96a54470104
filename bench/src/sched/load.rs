//! The load of the scheduler benchmark: Nodes, pods, and the watch that sees them bound.

use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What one run measured, from the first pod create.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Until the last create was answered.
    pub created: Duration,
    /// Until the last pod was seen bound.
    pub bound: Duration,
    pub pods: usize,
    pub nodes: usize,
}

impl Outcome {
    /// Pods bound per second, create to bound.
    pub fn throughput(&self) -> f64 {
        self.pods as f64 / self.bound.as_secs_f64()
    }
}

/// Registers `n` Ready Nodes (32 CPUs, 64 GiB, 110 pods each) with `clients` in flight.
pub async fn register_nodes(client: &Client, n: usize, clients: usize) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let name = format!("node-{i:05}");
                let node: Node = serde_json::from_value(json!({
                    "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}
                }))?;
                api.create(&PostParams::default(), &node).await?;
                let status = json!({"status": {
                    "capacity": {"cpu": "32", "memory": "64Gi", "pods": "110"},
                    "allocatable": {"cpu": "32", "memory": "64Gi", "pods": "110"},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]
                }});
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                    .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(clients)
        .try_collect::<Vec<()>>()
        .await
        .context("registering the nodes")?;
    Ok(())
}

/// Creates `n` pods (10m CPU, 16 MiB each) with `clients` in flight; returns when the last
/// create was answered.
pub async fn create_pods(client: &Client, n: usize, clients: usize) -> anyhow::Result<Instant> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let pod: Pod = serde_json::from_value(json!({
                    "metadata": {"name": format!("pod-{i:06}"), "labels": {"app": "bench"}},
                    "spec": {"containers": [{"name": "c", "image": "bench.wasm",
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
                }))?;
                api.create(&PostParams::default(), &pod).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(clients)
        .try_collect::<Vec<()>>()
        .await
        .context("creating the pods")?;
    Ok(Instant::now())
}

/// Watches pods until `n` distinct ones are bound; the task returns that moment.
pub fn watch_bound(client: Client, n: usize) -> JoinHandle<anyhow::Result<Instant>> {
    tokio::spawn(async move {
        let api: Api<Pod> = Api::namespaced(client, "default");
        let events = watcher(api, watcher::Config::default()).default_backoff();
        let mut pods = std::pin::pin!(events.applied_objects());
        let mut bound = std::collections::HashSet::new();
        while let Some(pod) = pods.next().await {
            let pod = pod?;
            if pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_ref())
                .is_some()
            {
                bound.insert(pod.metadata.name.unwrap_or_default());
                if bound.len() >= n {
                    return Ok(Instant::now());
                }
            }
        }
        anyhow::bail!("the pod watch ended after {} bound", bound.len())
    })
}
