//! A watch of the benchmark's pods that reports the moment each is first seen Running.

use std::collections::HashSet;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Pods first seen Running, with when; the task ends when the receiver is dropped.
pub struct Running {
    /// The `bench=` label of the watched pods.
    pub label: String,
    pub seen: mpsc::UnboundedReceiver<(String, Instant)>,
    pub task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches the Running pods labelled `bench=<label>` in `default`; returns once the watch has
/// listed. The API server filters on `status.phase=Running` (as `kubectl get pods -w
/// --field-selector status.phase=Running` does), so each pod reaches the benchmark once, when
/// it runs, and the observer does not decode every pod's Pending versions on the same cores
/// as the cluster it measures.
pub async fn running(client: Client, label: &str) -> anyhow::Result<Running> {
    let api: Api<Pod> = Api::namespaced(client, "default");
    let config = watcher::Config::default()
        .labels(&format!("bench={label}"))
        .fields("status.phase=Running");
    let (tx, seen) = mpsc::unbounded_channel();
    let (listed_tx, listed) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut listed_tx = Some(listed_tx);
        let mut reported = HashSet::new();
        let mut events = std::pin::pin!(watcher(api, config).default_backoff());
        while let Some(event) = events.next().await {
            let pod = match event {
                Ok(watcher::Event::InitDone) => {
                    if let Some(tx) = listed_tx.take() {
                        let _ = tx.send(());
                    }
                    continue;
                }
                Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("pod watch: {e}");
                    continue;
                }
            };
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            let name = pod.metadata.name.unwrap_or_default();
            let first = phase == Some("Running") && reported.insert(name.clone());
            if first && tx.send((name, Instant::now())).is_err() {
                return;
            }
        }
    });
    listed.await?;
    Ok(Running {
        label: label.to_owned(),
        seen,
        task,
    })
}
