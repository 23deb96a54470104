//! The runtime service: pod sandboxes and their containers (create, start, stop, remove,
//! status, logs), on one engine, one compiled-code cache and one [`PodNetwork`].

mod container;
mod http;
mod prepare;
mod run;
mod wasi;

pub use prepare::Prepared;
pub use run::classify;

use crate::compile::{CompileLimits, ModuleCache};
use crate::engine::{EngineConfig, EpochTicker, build_engine};
use crate::error::RuntimeError;
use crate::host::{HostState, P1State};
use crate::image::{BlobStore, ImageService, OciConfig, PulledImage};
use crate::logs::{LogConfig, LogFile};
use crate::network::{PodNetwork, PodRef};
use crate::sockets::SocketAudit;
use crate::spec::{
    ContainerSpec, ContainerState, ContainerStatus, PodSpec, TerminationReason, WorkloadKind,
};
use container::{ContainerEntry, RunTokens};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use wasmtime::Engine;
use wasmtime::component::Linker;

/// Runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Blobs under `<data_dir>/blobs`, compiled code under `<data_dir>/compiled`.
    pub data_dir: PathBuf,
    pub engine: EngineConfig,
    pub compile: CompileLimits,
    pub oci: OciConfig,
    pub logs: LogConfig,
    /// Memory cap for containers without a limit.
    pub default_memory_limit: u64,
    /// Worker threads of the runtime's own tokio runtime that runs guests.
    pub guest_threads: usize,
}

impl RuntimeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        RuntimeConfig {
            data_dir: data_dir.into(),
            engine: EngineConfig::default(),
            compile: CompileLimits::default(),
            oci: OciConfig::default(),
            logs: LogConfig::default(),
            default_memory_limit: crate::host::DEFAULT_MEMORY_LIMIT,
            guest_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

struct PodEntry {
    spec: PodSpec,
    pod: PodRef,
    containers: HashMap<String, Arc<ContainerEntry>>,
}

pub(crate) struct Inner {
    cfg: RuntimeConfig,
    engine: Engine,
    pub(crate) ticker: EpochTicker,
    /// Guests run on their own tokio runtime, which polls for I/O after every couple of
    /// task polls: with the default (61) a core full of yielding busy guests would delay
    /// every socket wakeup by 61 epoch ticks.
    guests: Option<tokio::runtime::Runtime>,
    guest_handle: tokio::runtime::Handle,
    images: ImageService,
    cache: ModuleCache,
    linker: Linker<HostState>,
    p1_linker: wasmtime::Linker<P1State>,
    net: Arc<dyn PodNetwork>,
    audit: Arc<SocketAudit>,
    pods: Mutex<HashMap<String, PodEntry>>,
}

/// The runtime (cheap to clone).
#[derive(Clone)]
pub struct Runtime(Arc<Inner>);

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("data_dir", &self.0.cfg.data_dir)
            .finish_non_exhaustive()
    }
}

fn fatal(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Fatal(e.to_string())
}

impl Runtime {
    /// Builds the engine, caches and linkers, and starts the epoch ticker.
    pub fn new(cfg: RuntimeConfig, net: Arc<dyn PodNetwork>) -> Result<Self, RuntimeError> {
        let engine = build_engine(&cfg.engine)?;
        let store = BlobStore::open(cfg.data_dir.join("blobs")).map_err(fatal)?;
        let images = ImageService::new(Arc::new(store), cfg.oci.clone());
        let cache = ModuleCache::new(engine.clone(), cfg.data_dir.join("compiled"), cfg.compile)
            .map_err(fatal)?;
        let linker = crate::linker::component_linker(&engine).map_err(fatal)?;
        let p1_linker = crate::linker::p1_linker(&engine).map_err(fatal)?;
        let ticker = EpochTicker::start(engine.clone(), cfg.engine.epoch_tick);
        let guests = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.guest_threads.max(1))
            .thread_name("skiff-guest")
            .event_interval(2)
            .enable_all()
            .build()
            .map_err(fatal)?;
        let guest_handle = guests.handle().clone();
        Ok(Runtime(Arc::new(Inner {
            cfg,
            engine,
            ticker,
            guests: Some(guests),
            guest_handle,
            images,
            cache,
            linker,
            p1_linker,
            net,
            audit: Arc::new(SocketAudit::default()),
            pods: Mutex::new(HashMap::new()),
        })))
    }

    pub fn engine(&self) -> &Engine {
        &self.0.engine
    }

    /// Real compiles done by this runtime's cache (0 when everything came from disk).
    pub fn compile_count(&self) -> u64 {
        self.0.cache.compile_count()
    }

    /// Every real socket address the loopback fence has seen.
    pub fn socket_audit(&self) -> &Arc<SocketAudit> {
        &self.0.audit
    }

    /// ImageService: pulls `reference` into the blob cache.
    pub async fn pull_image(&self, reference: &str) -> Result<PulledImage, RuntimeError> {
        Ok(self.0.images.pull(reference).await?)
    }

    /// Pulls, compiles (or loads from cache), checks and pre-instantiates an image.
    pub async fn prepare(
        &self,
        reference: &str,
        kind: WorkloadKind,
    ) -> Result<(PulledImage, Prepared), RuntimeError> {
        let i = &self.0;
        prepare::prepare(
            &i.images,
            &i.cache,
            &i.linker,
            &i.p1_linker,
            reference,
            kind,
        )
        .await
    }

    fn pods(&self) -> std::sync::MutexGuard<'_, HashMap<String, PodEntry>> {
        self.0.pods.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a pod sandbox (its network identity and log directory).
    pub fn create_pod(&self, spec: PodSpec) -> Result<(), RuntimeError> {
        std::fs::create_dir_all(&spec.log_dir)?;
        let mut pods = self.pods();
        if pods.contains_key(&spec.id) {
            return Err(RuntimeError::PodExists(spec.id));
        }
        let pod = PodRef {
            ip: spec.ip,
            namespace: spec.namespace.as_str().into(),
        };
        pods.insert(
            spec.id.clone(),
            PodEntry {
                spec,
                pod,
                containers: HashMap::new(),
            },
        );
        Ok(())
    }

    fn container(
        &self,
        pod: &str,
        name: &str,
    ) -> Result<(PodSpec, PodRef, Arc<ContainerEntry>), RuntimeError> {
        let pods = self.pods();
        let p = pods
            .get(pod)
            .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
        let c = p
            .containers
            .get(name)
            .ok_or_else(|| RuntimeError::NoSuchContainer {
                pod: pod.to_owned(),
                container: name.to_owned(),
            })?;
        Ok((p.spec.clone(), p.pod.clone(), c.clone()))
    }

    /// Creates a container: pulls and prepares its image. Bad images fail here, clearly,
    /// and nothing else is affected.
    pub async fn create_container(
        &self,
        pod: &str,
        spec: ContainerSpec,
    ) -> Result<ContainerStatus, RuntimeError> {
        let log_dir = {
            let pods = self.pods();
            let p = pods
                .get(pod)
                .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
            if p.containers.contains_key(&spec.name) {
                return Err(RuntimeError::ContainerExists {
                    pod: pod.to_owned(),
                    container: spec.name,
                });
            }
            p.spec.log_dir.clone()
        };
        let (image, prepared) = self.prepare(&spec.image, spec.kind).await?;
        let log = LogFile::create(log_dir.join(format!("{}.log", spec.name)), self.0.cfg.logs)?;
        let entry = Arc::new(ContainerEntry::new(spec, image.digest, prepared, log));
        let status = entry.status();
        let mut pods = self.pods();
        let p = pods
            .get_mut(pod)
            .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
        if p.containers.contains_key(&status.name) {
            return Err(RuntimeError::ContainerExists {
                pod: pod.to_owned(),
                container: status.name,
            });
        }
        p.containers.insert(status.name.clone(), entry);
        Ok(status)
    }

    /// Starts (or restarts, after it terminated) a container.
    pub async fn start_container(&self, pod: &str, name: &str) -> Result<(), RuntimeError> {
        let (pod_spec, pod_ref, entry) = self.container(pod, name)?;
        if entry.is_running() {
            return Err(RuntimeError::ContainerExists {
                pod: pod.to_owned(),
                container: name.to_owned(),
            });
        }
        if matches!(*entry.state.borrow(), ContainerState::Terminated { .. }) {
            // Keep the previous run's log beside the new one, like `kubectl logs --previous`.
            let old = entry.log();
            let previous = old.path().with_extension("previous.log");
            let _ = std::fs::rename(old.path(), &previous);
            *entry.log.lock().unwrap_or_else(|e| e.into_inner()) =
                LogFile::create(old.path(), self.0.cfg.logs)?;
        }
        let tokens = RunTokens::default();
        let work =
            wasi::workload(self.0.clone(), &pod_spec, pod_ref, &entry, tokens.clone()).await?;
        entry.state.send_replace(ContainerState::Running {
            started_at: SystemTime::now(),
        });
        let task_entry = entry.clone();
        let kill = tokens.kill.clone();
        let handle = self.0.guest_handle.spawn(async move {
            let reason = tokio::select! {
                r = work => r,
                () = kill.cancelled() => TerminationReason::Interrupted,
            };
            tracing::info!(container = %task_entry.spec.name, ?reason, "container terminated");
            task_entry.terminated(reason);
        });
        *entry.run.lock().unwrap_or_else(|e| e.into_inner()) = Some((tokens, handle));
        Ok(())
    }

    /// Stops a container: graceful for `grace`, then the guest is cancelled.
    pub async fn stop_container(
        &self,
        pod: &str,
        name: &str,
        grace: Duration,
    ) -> Result<ContainerStatus, RuntimeError> {
        let (_, _, entry) = self.container(pod, name)?;
        entry.stop(grace).await;
        Ok(entry.status())
    }

    /// Waits until a container terminates and returns why.
    pub async fn wait_container(
        &self,
        pod: &str,
        name: &str,
    ) -> Result<TerminationReason, RuntimeError> {
        let (_, _, entry) = self.container(pod, name)?;
        Ok(entry.wait().await)
    }

    pub fn container_status(&self, pod: &str, name: &str) -> Result<ContainerStatus, RuntimeError> {
        Ok(self.container(pod, name)?.2.status())
    }

    /// Statuses of every container of a pod.
    pub fn pod_status(&self, pod: &str) -> Result<Vec<ContainerStatus>, RuntimeError> {
        let pods = self.pods();
        let p = pods
            .get(pod)
            .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
        Ok(p.containers.values().map(|c| c.status()).collect())
    }

    /// The container's current log (read whole with `read_all`, follow with `follow`).
    pub fn logs(&self, pod: &str, name: &str) -> Result<LogFile, RuntimeError> {
        Ok(self.container(pod, name)?.2.log())
    }

    /// Stops (grace 0) and forgets a container.
    pub async fn remove_container(&self, pod: &str, name: &str) -> Result<(), RuntimeError> {
        let (_, _, entry) = self.container(pod, name)?;
        entry.stop(Duration::ZERO).await;
        if let Some(p) = self.pods().get_mut(pod) {
            p.containers.remove(name);
        }
        Ok(())
    }

    /// Stops every container of a pod, each with `grace`, concurrently.
    pub async fn stop_pod(&self, pod: &str, grace: Duration) -> Result<(), RuntimeError> {
        let entries: Vec<_> = {
            let pods = self.pods();
            let p = pods
                .get(pod)
                .ok_or_else(|| RuntimeError::NoSuchPod(pod.to_owned()))?;
            p.containers.values().cloned().collect()
        };
        futures::future::join_all(entries.iter().map(|e| e.stop(grace))).await;
        Ok(())
    }

    /// Stops and removes a pod sandbox; its addresses leave the overlay.
    pub async fn remove_pod(&self, pod: &str) -> Result<(), RuntimeError> {
        self.stop_pod(pod, Duration::ZERO).await?;
        if let Some(p) = self.pods().remove(pod) {
            self.0.net.remove_pod(&p.pod);
        }
        Ok(())
    }

    /// Stops every pod (grace each) and removes them.
    pub async fn shutdown(&self, grace: Duration) {
        let ids: Vec<String> = self.pods().keys().cloned().collect();
        futures::future::join_all(ids.iter().map(|id| self.stop_pod(id, grace))).await;
        for id in ids {
            let _ = self.remove_pod(&id).await;
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Cancel every guest, then let the guest runtime drop its tasks in the background
        // (dropping a runtime may not block inside async code). The epoch ticker keeps
        // ticking until the last store is gone, so spinning guests do reach a yield point.
        for pod in self
            .pods
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            for c in pod.containers.values() {
                if let Some((tokens, _)) = &*c.run.lock().unwrap_or_else(|e| e.into_inner()) {
                    tokens.kill.cancel();
                }
            }
        }
        if let Some(rt) = self.guests.take() {
            rt.shutdown_background();
        }
    }
}
