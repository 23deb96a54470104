//! 1,000 pods that change: bound to a Node that no agent serves (so nothing runs them), and an
//! updater that rewrites their status round after round (each round bumps every pod's restart
//! count), as agents reporting on busy pods would. The page shows the restart count, so it can
//! tell when the last round reached it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The node the pods are bound to; it has no agent.
pub const FAKE_NODE: &str = "dashboard-bench-fake";
const CLIENTS: usize = 16;

fn pod_name(i: usize) -> String {
    format!("live-{i:04}")
}

/// Creates the fake Node and `count` pods bound to it (tolerating every taint, so the node
/// lifecycle controller does not evict them when the Node never reports).
pub async fn create_pods(client: &Client, count: usize) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": FAKE_NODE},
    }))?;
    nodes.create(&PostParams::default(), &node).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let results: Vec<anyhow::Result<()>> = stream::iter(0..count)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let pod = serde_json::from_value(json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod_name(i), "labels": {"app": "live"}},
                    "spec": {"nodeName": FAKE_NODE, "tolerations": [{"operator": "Exists"}],
                             "containers": [{"name": "c", "image": "registry.skiff.local/none:v1"}]},
                }))?;
                pods.create(&PostParams::default(), &pod).await?;
                Ok(())
            }
        })
        .buffer_unordered(CLIENTS)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The status updater: `rate` pod status writes a second, round after round, until stopped.
pub struct Updater {
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    writes: Arc<AtomicU64>,
    rounds: Arc<AtomicU64>,
}

impl Updater {
    pub fn start(client: Client, count: usize, rate: u32) -> Updater {
        let stop = CancellationToken::new();
        let writes = Arc::new(AtomicU64::new(0));
        let rounds = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(
            client,
            count,
            rate,
            stop.clone(),
            writes.clone(),
            rounds.clone(),
        ));
        Updater {
            stop,
            task,
            writes,
            rounds,
        }
    }

    /// Status writes so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Stops after the write in flight; returns the last round fully written.
    pub async fn stop(self) -> anyhow::Result<u64> {
        self.stop.cancel();
        self.task.await??;
        Ok(self.rounds.load(Ordering::Relaxed))
    }
}

async fn run(
    client: Client,
    count: usize,
    rate: u32,
    stop: CancellationToken,
    writes: Arc<AtomicU64>,
    rounds: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 1u64.. {
        for i in 0..count {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                _ = tick.tick() => {}
            }
            let status = json!({"status": {"phase": "Running", "containerStatuses": [{
                "name": "c", "image": "registry.skiff.local/none:v1", "imageID": "",
                "ready": true, "restartCount": round, "started": true,
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}});
            pods.patch_status(
                &pod_name(i),
                &PatchParams::default(),
                &Patch::Merge(&status),
            )
            .await?;
            writes.fetch_add(1, Ordering::Relaxed);
        }
        rounds.store(round, Ordering::Relaxed);
    }
    Ok(())
}
