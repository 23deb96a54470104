//! The pod manager: a kube-runtime watcher of the pods bound to this node
//! (`spec.nodeName=<node>`), one [`task::PodTask`] (owning one pod worker) per pod UID, pod
//! IPs from the node's pod CIDR, and after a (re)list the tasks of pods no longer listed
//! stopped. At the first list it also removes the directories of pods that are gone (an
//! agent restart's leftovers, on disk and in the memory volumes root), reserves the IPs that
//! listed pods already have, and starts the others. Finished pods (Succeeded or Failed) are
//! not run again after a restart. The manager also owns the agent's one event poster
//! ([`event_sink`]).

pub use skiff_api::event_rate;
mod event_sink;
mod events;
pub mod ips;
pub mod ref_cache;
pub mod refs;
mod report;
pub mod task;
pub mod tokens;

use crate::worker::WorkerConfig;
use futures::StreamExt;
use ips::{Cidr, IpPool};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use skiff_runtime_wasm::Runtime;
use skiff_runtime_wasm::network::PodNetwork;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use task::{Outcome, PodSettings, PodTask};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Runs the pods of one node.
pub struct PodManager {
    pub client: Client,
    pub rt: Runtime,
    pub net: Arc<dyn PodNetwork>,
    pub cfg: Arc<WorkerConfig>,
    pub settings: Arc<PodSettings>,
    /// The Node's `spec.podCIDR`, when it has one.
    pub pod_cidr: watch::Receiver<Option<String>>,
    /// The CIDR used while the Node has none.
    pub default_cidr: Cidr,
}

/// The manager's state, apart from its settings.
struct State {
    /// Where pod tasks send their events.
    events: event_sink::EventSink,
    /// The Pod each running task was last given, by UID.
    running: HashMap<String, watch::Sender<Arc<Pod>>>,
    /// Pods whose worker stopped them for deletion: never started again.
    finished: HashSet<String>,
    tasks: JoinSet<(String, Outcome)>,
    pool: IpPool,
    /// The node's shared reads of referenced ConfigMaps and Secrets.
    shared: Arc<ref_cache::RefCache>,
    /// Pods listed since the last `Init`, applied together at `InitDone`.
    listing: Option<Vec<Pod>>,
    first_list_done: bool,
}

impl PodManager {
    /// Runs until `cancel` fires, then stops every pod (at once) and waits for their tasks.
    pub async fn run(self, cancel: CancellationToken) {
        let selector = format!("spec.nodeName={}", self.settings.node_name);
        let config = watcher::Config::default().fields(&selector);
        // managedFields are dropped at once: no pod task reads them, and each keeps its pod.
        let stream = watcher(Api::<Pod>::all(self.client.clone()), config)
            .default_backoff()
            .modify(|pod| pod.managed_fields_mut().clear());
        let mut stream = std::pin::pin!(stream);
        let (events, sink_loop) = event_sink::event_sink(self.settings.event_rate);
        let sink_cancel = CancellationToken::new();
        let sink = tokio::spawn(sink_loop.run(sink_cancel.clone()));
        let mut state = State {
            events,
            running: HashMap::new(),
            finished: HashSet::new(),
            tasks: JoinSet::new(),
            pool: IpPool::new(self.default_cidr),
            shared: Arc::default(),
            listing: None,
            first_list_done: false,
        };
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(done) = state.tasks.join_next(), if !state.tasks.is_empty() => {
                    match done {
                        Ok((uid, outcome)) => self.on_task_end(&mut state, uid, outcome),
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Err(e) => tracing::error!(error = %e, "a pod task was aborted"),
                    }
                }
                event = stream.next() => match event {
                    Some(Ok(event)) => self.on_event(&mut state, event, &cancel).await,
                    Some(Err(e)) => tracing::warn!(error = %e, "watching this node's pods failed; retrying"),
                    None => break,
                },
            }
        }
        cancel.cancel();
        while let Some(done) = state.tasks.join_next().await {
            if let Err(e) = done
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        // Every task has handed over its last events; the poster stops with the agent.
        sink_cancel.cancel();
        if let Err(e) = sink.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    async fn on_event(
        &self,
        state: &mut State,
        event: watcher::Event<Pod>,
        cancel: &CancellationToken,
    ) {
        match event {
            watcher::Event::Init => state.listing = Some(Vec::new()),
            watcher::Event::InitApply(pod) => state.listing.get_or_insert_with(Vec::new).push(pod),
            watcher::Event::InitDone => {
                let pods = state.listing.take().unwrap_or_default();
                self.on_list(state, pods).await;
                for pod in state.listing.take().into_iter().flatten() {
                    self.apply(state, pod, cancel);
                }
            }
            watcher::Event::Apply(pod) => self.apply(state, pod, cancel),
            watcher::Event::Delete(pod) => {
                let uid = pod.metadata.uid.unwrap_or_default();
                // Dropping its sender tells the task the pod left the API.
                state.running.remove(&uid);
                state.finished.remove(&uid);
            }
        }
    }

    /// A complete list: stop what is no longer listed, clean up and reserve at the first
    /// list, then apply every pod (put back in `listing` for the caller).
    async fn on_list(&self, state: &mut State, pods: Vec<Pod>) {
        let listed: HashSet<String> = pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        state.running.retain(|uid, _| listed.contains(uid));
        state.finished.retain(|uid| listed.contains(uid));
        self.follow_cidr(state);
        for pod in pods.iter().filter(|p| should_run(p)) {
            let (Some(uid), Some(ip)) = (&pod.metadata.uid, previous_ip(pod)) else {
                continue;
            };
            if !state.pool.reserve(uid, ip) {
                tracing::warn!(pod = ?pod.metadata.name, %ip, "the pod's previous IP is not available; it gets a new one");
            }
        }
        if !state.first_list_done {
            state.first_list_done = true;
            remove_stale_pod_dirs(&self.cfg.pods_dir, &listed, |_| true).await;
            if let Some(root) = &self.cfg.volumes_root {
                // Only UID-named entries: a --volumes-dir may hold other files.
                remove_stale_pod_dirs(root, &listed, crate::volume_root::is_pod_uid).await;
            }
        }
        state.listing = Some(pods);
    }

    /// A pod was added or changed.
    fn apply(&self, state: &mut State, pod: Pod, cancel: &CancellationToken) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        if let Some(tx) = state.running.get(&uid) {
            tx.send_replace(Arc::new(pod));
            return;
        }
        if state.finished.contains(&uid) {
            return;
        }
        if !should_run(&pod) {
            if pod.metadata.deletion_timestamp.is_some() {
                // Nothing of it runs here (a finished pod, or one the agent never started):
                // delete it at once.
                state.finished.insert(uid.clone());
                let api = Api::namespaced(
                    self.client.clone(),
                    pod.metadata.namespace.as_deref().unwrap_or("default"),
                );
                state.tasks.spawn(async move {
                    task::delete_now(&api, &pod).await;
                    (uid, Outcome::Finished)
                });
            }
            return;
        }
        self.follow_cidr(state);
        let reserved = previous_ip(&pod).is_some_and(|ip| state.pool.reserve(&uid, ip));
        let ip = if reserved {
            state.pool.get(&uid)
        } else {
            state.pool.allocate(&uid)
        };
        let Some(ip) = ip else {
            tracing::error!(pod = ?pod.metadata.name, "no free pod IP in the node's pod CIDR; the pod waits");
            return;
        };
        let (tx, rx) = watch::channel(Arc::new(pod));
        state.running.insert(uid.clone(), tx);
        let task = PodTask {
            client: self.client.clone(),
            rt: self.rt.clone(),
            net: self.net.clone(),
            cfg: self.cfg.clone(),
            settings: self.settings.clone(),
            ip: IpAddr::V4(ip),
            pod: rx,
            events: state.events.clone(),
            shared: state.shared.clone(),
        };
        let cancel = cancel.child_token();
        state
            .tasks
            .spawn(async move { (uid, task.run(cancel).await) });
    }

    fn follow_cidr(&self, state: &mut State) {
        let cidr = self.pod_cidr.borrow().clone();
        match cidr.as_deref().map(Cidr::parse) {
            Some(Ok(cidr)) => state.pool.set_cidr(cidr),
            Some(Err(e)) => tracing::warn!(error = %e, "ignoring the Node's podCIDR"),
            None => state.pool.set_cidr(self.default_cidr),
        }
    }

    fn on_task_end(&self, state: &mut State, uid: String, outcome: Outcome) {
        state.pool.release(&uid);
        state.running.remove(&uid);
        if outcome == Outcome::Finished {
            state.finished.insert(uid);
        }
    }
}

/// Whether the agent runs `pod`: not finished and not already being deleted before the
/// agent saw it run.
fn should_run(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

/// The IPv4 address the pod had (`status.podIP`), if any.
fn previous_ip(pod: &Pod) -> Option<Ipv4Addr> {
    pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()
}

/// Removes `<dir>/<uid>` of every pod not in `listed` whose name `sweepable` accepts (`dir`:
/// the pods' directories on disk, or the memory volumes root).
async fn remove_stale_pod_dirs(
    dir: &std::path::Path,
    listed: &HashSet<String>,
    sweepable: impl Fn(&str) -> bool,
) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name().to_string_lossy().into_owned();
        if listed.contains(&name) || !sweepable(&name) {
            continue;
        }
        match tokio::fs::remove_dir_all(entry.path()).await {
            Ok(()) => {
                tracing::info!(pod_uid = %name, dir = %dir.display(), "removed the directory of a pod no longer in the API")
            }
            Err(e) => {
                tracing::warn!(dir = %entry.path().display(), error = %e, "removing a stale pod directory")
            }
        }
    }
}
