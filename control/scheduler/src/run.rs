//! The scheduler loop: caches of nodes and pods kept by kube-runtime watchers, and, while this
//! replica holds the scheduler Lease, passes that bind every waiting pod it can place and
//! report the others as kube-scheduler does (PodScheduled=False and a FailedScheduling event).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::bind::{self, Binder};
use crate::decide::schedule;
use crate::queue::{node_states, pending, uid};

/// How often a pass runs without a change (pods left unschedulable are retried).
const RESYNC: Duration = Duration::from_secs(5);
/// Bindings sent at once in one pass.
const BIND_CONCURRENCY: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A watch stream ended (kube-runtime's watchers retry errors themselves, so this means
    /// the client was torn down).
    #[error("the scheduler's watch of {what} ended")]
    WatchEnded { what: &'static str },
}

/// Runs until `shutdown`: keeps the caches, and schedules while `leading` is true.
pub async fn run(
    client: Client,
    leading: watch::Receiver<bool>,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let changed = Arc::new(Notify::new());
    let (nodes, node_writer) = reflector::store::<Node>();
    let (pods, pod_writer) = reflector::store::<Pod>();
    let watch_nodes = follow(
        reflector::reflector(
            node_writer,
            watcher(Api::all(client.clone()), watcher::Config::default()),
        ),
        changed.clone(),
        "nodes",
    );
    let watch_pods = follow(
        reflector::reflector(
            pod_writer,
            watcher(Api::all(client.clone()), watcher::Config::default()),
        ),
        changed.clone(),
        "pods",
    );
    let binder = Binder::new(client);
    let passes = schedule_passes(&nodes, &pods, &binder, leading, &changed);
    tokio::select! {
        () = shutdown.cancelled() => Ok(()),
        result = watch_nodes => result,
        result = watch_pods => result,
        () = passes => Ok(()),
    }
}

/// Drives a reflector's stream, waking the passes on every change.
async fn follow<K>(
    stream: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    changed: Arc<Notify>,
    what: &'static str,
) -> Result<(), RunError> {
    let mut stream = std::pin::pin!(stream.default_backoff());
    while let Some(event) = stream.next().await {
        match event {
            Ok(_) => changed.notify_one(),
            Err(e) => tracing::debug!("scheduler: watching {what}: {e}"),
        }
    }
    Err(RunError::WatchEnded { what })
}

/// Waits for both caches, then runs a pass after every change (or every [`RESYNC`]) while
/// leading.
#[allow(clippy::disallowed_methods)] // reason: this task is the only one ever waiting for these two stores
async fn schedule_passes(
    nodes: &Store<Node>,
    pods: &Store<Pod>,
    binder: &Binder,
    leading: watch::Receiver<bool>,
    changed: &Notify,
) {
    if nodes.wait_until_ready().await.is_err() || pods.wait_until_ready().await.is_err() {
        return;
    }
    let mut assumed: HashMap<String, String> = HashMap::new();
    loop {
        if *leading.borrow() {
            one_pass(nodes, pods, binder, &mut assumed, &leading).await;
        } else {
            assumed.clear();
        }
        let _ = tokio::time::timeout(RESYNC, changed.notified()).await;
    }
}

/// Places every waiting pod it can, in creation order, against the caches plus this pass's
/// own choices; then sends the bindings concurrently and reports the pods that fit nowhere.
async fn one_pass(
    nodes: &Store<Node>,
    pods: &Store<Pod>,
    binder: &Binder,
    assumed: &mut HashMap<String, String>,
    leading: &watch::Receiver<bool>,
) {
    let node_list = nodes.state();
    let pod_list = pods.state();
    let node_refs: Vec<&Node> = node_list.iter().map(AsRef::as_ref).collect();
    let pod_refs: Vec<&Pod> = pod_list.iter().map(AsRef::as_ref).collect();
    // Bindings the caches now show are no longer assumptions.
    assumed.retain(|pod_uid, _| {
        pod_refs
            .iter()
            .any(|p| uid(p) == pod_uid && bind::is_unbound(p))
    });
    let waiting = pending(&pod_refs, assumed);
    let mut bindings = Vec::new();
    let mut unschedulable = Vec::new();
    for pod in waiting {
        let states = node_states(&node_refs, &pod_refs, assumed);
        match schedule(pod, &states) {
            Ok(node) => {
                assumed.insert(uid(pod).to_owned(), node.clone());
                bindings.push((pod.clone(), node));
            }
            Err(why) => unschedulable.push((pod.clone(), why.to_string())),
        }
    }
    if !*leading.borrow() {
        return;
    }
    let failed: Vec<String> = futures::stream::iter(bindings)
        .map(|(pod, node)| async move { binder.bind(&pod, node).await })
        .buffer_unordered(BIND_CONCURRENCY)
        .filter_map(|not_bound| async move { not_bound })
        .collect()
        .await;
    // A binding that failed is no assumption: the pod is tried again in the next pass.
    for pod_uid in failed {
        assumed.remove(&pod_uid);
    }
    for (pod, message) in unschedulable {
        binder.report_unschedulable(&pod, &message).await;
    }
}
