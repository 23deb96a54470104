//! The built-in OCI registry (`skiff-registry`) on the API's port: `/v2/...` is authenticated
//! with the API's tokens (as a bearer token, or as the password of HTTP basic auth, and through
//! `/v2/token`, the token handshake docker-style clients make), authorised, and served through
//! [`ReplicaStorage`]: metadata in the Raft store, blob files in `<data-dir>/registry-blobs`
//! copied between replicas by `registry_peers`.
//!
//! Authorisation: nodes may pull any repository and nothing else (the node rule, never passed
//! on to RBAC); everyone else is decided by RBAC on the pseudo-resource
//! `repositories.registry.skiff.io` named by the repository, with the verbs `pull`, `push` and
//! `delete` (the admin, in `system:masters`, may do everything).

mod serve;
mod storage;

pub(crate) use storage::ReplicaStorage;

use std::sync::Arc;
use std::time::Duration;

use skiff_registry::files::BlobFiles;

/// The RBAC group and resource registry requests are authorised as.
pub(crate) const GROUP: &str = "registry.skiff.io";
pub(crate) const RESOURCE: &str = "repositories";

/// How often the leader collects unreferenced blobs, and how old one must be to go (also how
/// old a blob file no metadata names must be before a replica removes it).
const GC_INTERVAL: Duration = Duration::from_secs(10 * 60);
const GC_GRACE: Duration = Duration::from_secs(60 * 60);

/// The collection's interval and grace: [`GC_INTERVAL`] and [`GC_GRACE`], or (for tests and
/// small devices) `SKIFF_REGISTRY_GC_SECONDS` and `SKIFF_REGISTRY_GC_GRACE_SECONDS`.
fn gc_timing() -> (Duration, Duration) {
    let seconds = |name: &str, default: Duration| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map_or(default, Duration::from_secs)
    };
    (
        seconds("SKIFF_REGISTRY_GC_SECONDS", GC_INTERVAL),
        seconds("SKIFF_REGISTRY_GC_GRACE_SECONDS", GC_GRACE),
    )
}

/// How blobs are cut into store values: skiff-registry's default, or for benchmarks
/// `SKIFF_REGISTRY_CHUNK_KIB` and `SKIFF_REGISTRY_IN_FLIGHT`.
pub(crate) fn layout() -> skiff_registry::blobs::Layout {
    let setting = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let mut layout = skiff_registry::blobs::Layout::default();
    if let Some(kib) = setting("SKIFF_REGISTRY_CHUNK_KIB") {
        layout.chunk_bytes = kib.clamp(4, 8 * 1024) * 1024;
    }
    if let Some(n) = setting("SKIFF_REGISTRY_IN_FLIGHT") {
        layout.in_flight = n.clamp(1, 64);
    }
    layout
}

/// How often each replica fetches the blob files it lacks and drops those nothing names.
const CONVERGE_INTERVAL: Duration = Duration::from_secs(10);

/// The registry served on `/v2`, over [`ReplicaStorage`].
pub(crate) type BuiltinRegistry = skiff_registry::Registry<ReplicaStorage>;

/// Opens this replica's blob files (`<data-dir>/registry-blobs`) and builds the registry.
/// If the directory cannot be opened, new blobs go into the store as chunks (as before blob
/// files), which is slower but loses nothing; the error is logged.
pub(crate) fn build(storage: ReplicaStorage) -> BuiltinRegistry {
    let dir = storage.replica.data_dir().join("registry-blobs");
    let registry = skiff_registry::Registry::new(storage).with_layout(layout());
    match BlobFiles::open(&dir) {
        Ok(files) => registry.with_files(Arc::new(files)),
        Err(e) => {
            tracing::error!(error = %e, "registry blob files unavailable; storing blobs in the store");
            registry
        }
    }
}

/// Starts the leader's garbage collection and every replica's convergence of blob files,
/// owned by the storage's tasks.
pub(crate) fn start_background(storage: ReplicaStorage, files: Option<Arc<BlobFiles>>) {
    let (tasks, shutdown) = (storage.tasks.clone(), storage.shutdown.clone());
    let (interval, grace) = gc_timing();
    if let Some(files) = files.clone() {
        let storage = storage.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            skiff_registry::file_blobs::run_converge(
                &storage,
                files,
                CONVERGE_INTERVAL,
                grace,
                shutdown,
            )
            .await;
        });
    }
    tasks.spawn(async move {
        let replica = storage.replica.clone();
        skiff_registry::gc::run(
            &storage,
            files.as_deref(),
            || replica.is_leader(),
            interval,
            grace,
            shutdown,
        )
        .await;
    });
}
