//! The runtime service: pod sandboxes and their containers (create, start, stop, remove,
//! status, logs, usage), on one engine, one compiled-code cache and one [`PodNetwork`].

mod container;
mod http;
mod lifecycle;
mod measure;
mod prepare;
mod probe;
mod run;
mod wasi;

pub use prepare::Prepared;
pub use run::classify;

use crate::compile::{CompileLimits, ModuleCache};
use crate::engine::{EngineConfig, EpochTicker, build_engine};
use crate::error::RuntimeError;
use crate::host::{HostState, P1State};
use crate::image::{BlobStore, ImageService, OciConfig, PulledImage};
use crate::logs::{LogConfig, LogFds};
use crate::network::{PodNetwork, PodRef};
use crate::sockets::SocketAudit;
use crate::spec::{PodSpec, WorkloadKind};
use container::ContainerEntry;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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
    /// When the sandbox was created (the agent's pod start duration counts from it).
    created: std::time::SystemTime,
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
    /// Open log descriptors, bounded so idle containers hold none.
    log_fds: Arc<LogFds>,
    audit: Arc<SocketAudit>,
    pods: Mutex<HashMap<String, PodEntry>>,
    /// Pre-instantiated images by (digest, requested kind): a second container of an image
    /// skips import checks and `instantiate_pre`.
    prepared: Mutex<HashMap<(String, WorkloadKind), Prepared>>,
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
        let log_fds = Arc::new(LogFds::new(cfg.logs.max_open_files));
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
            log_fds,
            audit: Arc::new(SocketAudit::default()),
            pods: Mutex::new(HashMap::new()),
            prepared: Mutex::new(HashMap::new()),
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
        self.prepare_with(reference, None, kind).await
    }

    /// Whether a container of `reference` would start without fetching its bytes (the
    /// kubelet's "already present on machine"): see [`ImageService::is_present`].
    pub fn image_present(&self, reference: &str) -> bool {
        self.0.images.is_present(reference)
    }

    /// [`prepare`](Self::prepare) pulling with `auth` for the image's registry.
    pub async fn prepare_with(
        &self,
        reference: &str,
        auth: Option<&crate::image::OciAuth>,
        kind: WorkloadKind,
    ) -> Result<(PulledImage, Prepared), RuntimeError> {
        let i = &self.0;
        let image = i.images.pull_with(reference, auth).await?;
        let key = (image.digest.clone(), kind);
        let hit = skiff_sync::lock(&i.prepared).get(&key).cloned();
        if let Some(prepared) = hit {
            return Ok((image, prepared));
        }
        let prepared = prepare::prepare(&i.cache, &i.linker, &i.p1_linker, &image, kind).await?;
        skiff_sync::lock(&i.prepared).insert(key, prepared.clone());
        Ok((image, prepared))
    }

    fn pods(&self) -> std::sync::MutexGuard<'_, HashMap<String, PodEntry>> {
        skiff_sync::lock(&self.0.pods)
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
                if let Some((tokens, _)) = &*skiff_sync::lock(&c.run) {
                    tokens.kill.cancel();
                }
            }
        }
        if let Some(rt) = self.guests.take() {
            rt.shutdown_background();
        }
    }
}
