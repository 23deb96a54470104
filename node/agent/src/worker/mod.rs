//! The pod worker: one task per pod that drives it to its desired state through
//! runtime-wasm and publishes the Pod status on a `watch` channel whenever it changes.
//!
//! The task creates the sandbox and the volume files, pulls and runs the init containers one
//! at a time to completion, then the app containers, restarts them per `restartPolicy` with
//! the crash-loop back-off, and stops everything within the grace period once the pod has a
//! `deletionTimestamp`. Its desired state arrives on a `watch` of [`PodInput`] (the Pod and
//! the ConfigMaps and Secrets it references), so a created ConfigMap unblocks a container.
//!
//! Decisions: every restart waits the back-off, the first one too (the kubelet restarts
//! the first time at once, then backs off), so a crashing container is in CrashLoopBackOff
//! from its first exit. A failed pull shows ErrImagePull for `error_hold`, then
//! ImagePullBackOff until the next attempt (the kubelet flips at its next sync).
//! Probes (httpGet, tcpSocket) reach the pod at its own address through the runtime's
//! `PodNetwork`; see `probes.rs`.

mod create;
mod events;
mod exit;
mod files;
mod pod_rules;
mod probe_check;
mod probes;
mod restore;
mod run;
mod size_limit;
mod slot;

pub use events::{EVENT_QUEUE, EventType, WorkerEvent};

use crate::backoff::BackoffPolicy;
use crate::translate::{PodFacts, References};
use skiff_api::k8s_openapi::api::core::v1::{Pod, PodStatus};
use skiff_runtime_wasm::network::PodNetwork;
use skiff_runtime_wasm::{Runtime, RuntimeError};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Settings shared by the pod workers of a node.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Each pod gets `<pods_dir>/<sandbox id>` for its logs and disk volumes.
    pub pods_dir: PathBuf,
    /// The root of the volumes kept in memory (`<root>/<sandbox id>/<volume>`, see
    /// `crate::volume_root`); `None`: they live under `<pods_dir>/<sandbox id>/volumes`.
    pub volumes_root: Option<PathBuf>,
    pub node_name: String,
    pub host_ip: IpAddr,
    /// Node allocatable, the downward API's value for unset limits.
    pub node_cpu_millis: u64,
    pub node_memory_bytes: u64,
    pub crash_backoff: BackoffPolicy,
    pub pull_backoff: BackoffPolicy,
    /// How long ErrImagePull (or CreateContainerError) shows before the back-off reason.
    pub error_hold: Duration,
}

impl WorkerConfig {
    /// The node-side facts of a pod: its sandbox key (the UID), directories and addresses.
    pub(super) fn pod_facts(&self, desired: &PodInput, pod_ip: IpAddr) -> PodFacts {
        let meta = &desired.pod.metadata;
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
        let sandbox_id = match &meta.uid {
            Some(uid) => uid.clone(),
            None => format!("{namespace}_{}", meta.name.as_deref().unwrap_or_default()),
        };
        let pod_dir = self.pods_dir.join(&sandbox_id);
        let memory_volumes_dir = match &self.volumes_root {
            Some(root) => root.join(&sandbox_id),
            None => crate::translate::disk_volumes_dir(&pod_dir),
        };
        PodFacts {
            pod_dir,
            memory_volumes_dir,
            sandbox_id,
            namespace,
            node_name: self.node_name.clone(),
            pod_ip,
            host_ip: self.host_ip,
            node_cpu_millis: self.node_cpu_millis,
            node_memory_bytes: self.node_memory_bytes,
        }
    }

    /// Kubernetes' timings for a node named `node_name`.
    pub fn new(
        pods_dir: impl Into<PathBuf>,
        node_name: impl Into<String>,
        host_ip: IpAddr,
    ) -> Self {
        WorkerConfig {
            pods_dir: pods_dir.into(),
            volumes_root: None,
            node_name: node_name.into(),
            host_ip,
            node_cpu_millis: 1000,
            node_memory_bytes: 1 << 30,
            crash_backoff: BackoffPolicy::default(),
            pull_backoff: BackoffPolicy::default(),
            error_hold: Duration::from_secs(1),
        }
    }
}

/// The desired state of one pod.
#[derive(Debug, Clone)]
pub struct PodInput {
    /// Shared with the pod task that feeds it (a pod is kept once, not once per holder).
    pub pod: Arc<Pod>,
    /// The ConfigMaps and Secrets it references that exist.
    pub refs: References,
}

/// Why a worker stopped before its pod was done.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("creating the pod sandbox: {0}")]
    Sandbox(#[source] RuntimeError),
    #[error("{action} {path}: {source}")]
    Files {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the runtime failed: {0}")]
    Runtime(#[from] RuntimeError),
}

impl WorkerError {
    /// A file or directory could not be written because its filesystem is full.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, WorkerError::Files { source, .. }
            if source.kind() == std::io::ErrorKind::StorageFull)
    }
}

/// A running pod worker: its status channel and its task. Its owner (the agent's pod
/// manager) cancels and [`join`](PodWorker::join)s it; dropping it unjoined detaches the task.
#[derive(Debug)]
pub struct PodWorker {
    status: watch::Receiver<PodStatus>,
    /// The worker's events, until the owner takes them.
    events: Option<mpsc::Receiver<WorkerEvent>>,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl PodWorker {
    /// Starts the worker of one pod at `pod_ip`; `net` is the network the runtime uses,
    /// through which probes reach the pod. It returns once the pod is deleted (after
    /// its containers stopped and its sandbox and directory are gone) or `cancel` fires
    /// (then its containers are stopped at once, as when the agent exits).
    pub fn spawn(
        runtime: Runtime,
        net: Arc<dyn PodNetwork>,
        cfg: Arc<WorkerConfig>,
        pod_ip: IpAddr,
        input: watch::Receiver<Arc<PodInput>>,
        cancel: CancellationToken,
    ) -> PodWorker {
        let (tx, status) = watch::channel(PodStatus::default());
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let worker = run::Worker::new(runtime, net, cfg, pod_ip, input, tx, events_tx);
        let task = tokio::spawn(worker.run(cancel));
        PodWorker {
            status,
            events: Some(events),
            task,
        }
    }

    /// The receiver of the worker's events (once; later calls return `None`). Events
    /// nobody takes are dropped when the queue is full.
    pub fn take_events(&mut self) -> Option<mpsc::Receiver<WorkerEvent>> {
        self.events.take()
    }

    /// A receiver of the pod's status; each change is a new value.
    pub fn status(&self) -> watch::Receiver<PodStatus> {
        self.status.clone()
    }

    /// Waits for the worker to end.
    pub async fn join(mut self) -> Result<(), WorkerError> {
        self.wait().await
    }

    /// Waits for the worker to end, without giving up the handle (for `select!` loops).
    pub async fn wait(&mut self) -> Result<(), WorkerError> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Ok(()),
        }
    }
}
