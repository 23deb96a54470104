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

/// Writers the updater spreads its writes over (one write in flight each).
const WRITERS: usize = 16;

/// The status updater: `rate` pod status writes a second, round after round, until stopped;
/// `WRITERS` writers each own every `WRITERS`-th pod and write at `rate / WRITERS`.
pub struct Updater {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    writes: Arc<AtomicU64>,
    /// The last round each writer finished.
    rounds: Vec<Arc<AtomicU64>>,
}

impl Updater {
    pub fn start(client: Client, count: usize, rate: u32) -> Updater {
        let stop = CancellationToken::new();
        let writes = Arc::new(AtomicU64::new(0));
        let rounds: Vec<Arc<AtomicU64>> = (0..WRITERS).map(|_| Arc::default()).collect();
        let period = Duration::from_secs_f64(WRITERS as f64 / f64::from(rate.max(1)));
        let tasks = (0..WRITERS)
            .map(|w| {
                let pods: Vec<usize> = (w..count).step_by(WRITERS).collect();
                let writer = Writer {
                    pods: Api::namespaced(client.clone(), "default"),
                    period,
                    stop: stop.clone(),
                    writes: writes.clone(),
                    round: rounds[w].clone(),
                };
                tokio::spawn(writer.run(pods))
            })
            .collect();
        Updater {
            stop,
            tasks,
            writes,
            rounds,
        }
    }

    /// Status writes so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Stops after the writes in flight; returns the last round every pod went through.
    pub async fn stop(self) -> anyhow::Result<u64> {
        self.stop.cancel();
        for task in self.tasks {
            task.await??;
        }
        let done = self.rounds.iter().map(|r| r.load(Ordering::Relaxed)).min();
        Ok(done.unwrap_or_default())
    }
}

/// One writer of the updater.
struct Writer {
    pods: Api<Pod>,
    period: Duration,
    stop: CancellationToken,
    writes: Arc<AtomicU64>,
    round: Arc<AtomicU64>,
}

impl Writer {
    async fn run(self, mine: Vec<usize>) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(self.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for round in 1u64.. {
            for &i in &mine {
                tokio::select! {
                    () = self.stop.cancelled() => return Ok(()),
                    _ = tick.tick() => {}
                }
                let status = json!({"status": {"phase": "Running", "containerStatuses": [{
                    "name": "c", "image": "registry.skiff.local/none:v1", "imageID": "",
                    "ready": true, "restartCount": round, "started": true,
                    "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}});
                let patch = Patch::Merge(&status);
                self.pods
                    .patch_status(&pod_name(i), &PatchParams::default(), &patch)
                    .await?;
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            self.round.store(round, Ordering::Relaxed);
        }
        Ok(())
    }
}
