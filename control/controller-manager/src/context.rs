//! What the controllers share: [`ManagerConfig`], the caches of pods, ReplicaSets and Jobs,
//! the expectations and the back-off; and the drivers of cache and controller streams.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use skiff_controllers::node_lifecycle::NodeLifecycleParams;

use crate::cache_ready::CacheReady;
use crate::error::{Backoff, Error};
use crate::events::Recorder;
use crate::expectations::Expectations;
use crate::metrics::Metrics;

/// The manager's settings (kube-controller-manager's flags).
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// `--node-monitor-grace-period` and the default NoExecute toleration.
    pub node_lifecycle: NodeLifecycleParams,
    /// How long a ReplicaSet waits for the pod cache to show its own creations and
    /// deletions before deciding anyway (kube: 5 minutes).
    pub expectations_timeout: Duration,
    /// Reconciles run at once per controller (kube's `--concurrent-*-syncs`, 5).
    pub concurrency: u16,
    /// `--cluster-cidr`: the range node pod CIDRs are cut from.
    pub cluster_cidr: String,
    /// `--node-cidr-mask-size`: the prefix length of each node's range.
    pub node_cidr_mask: u8,
    /// `--root-ca-file`: the cluster CA (PEM), written as `ca.crt` into token Secrets.
    pub root_ca: Option<Vec<u8>>,
    /// Where the controllers count their reconciles: a handle, so keep a clone to serve
    /// `/metrics` with [`Metrics::render`].
    pub metrics: Metrics,
    /// kube-apiserver's `--event-ttl`: Events are deleted this long after their last write.
    pub event_ttl: Duration,
    /// How often the event-ttl sweep runs (an Event lives at most this much past its TTL).
    pub event_ttl_sweep: Duration,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            node_lifecycle: NodeLifecycleParams::default(),
            expectations_timeout: Duration::from_secs(300),
            concurrency: 5,
            cluster_cidr: skiff_controllers::pod_cidr::DEFAULT_CLUSTER_CIDR.into(),
            node_cidr_mask: skiff_controllers::pod_cidr::DEFAULT_NODE_MASK,
            root_ca: None,
            metrics: Metrics::default(),
            event_ttl: skiff_controllers::event_ttl::DEFAULT_EVENT_TTL,
            event_ttl_sweep: Duration::from_secs(60),
        }
    }
}

/// The context every reconcile gets.
pub(crate) struct Ctx {
    pub(crate) client: Client,
    pub(crate) config: ManagerConfig,
    /// All pods. A watch of its own, apart from the controllers' trigger watches (a second
    /// watch of pods is the price of not using kube-runtime's unstable shared streams).
    pub(crate) pods: Store<Pod>,
    /// All ReplicaSets (the Deployment controller reads them).
    pub(crate) replica_sets: Store<ReplicaSet>,
    /// All Jobs (the CronJob controller reads them).
    pub(crate) jobs: Store<Job>,
    /// Whether each cache has listed once. Never `Store::wait_until_ready`, which loses all
    /// but the last of several waiters (see `cache_ready`).
    pub(crate) pods_ready: CacheReady,
    pub(crate) replica_sets_ready: CacheReady,
    pub(crate) jobs_ready: CacheReady,
    pub(crate) expectations: Expectations,
    pub(crate) backoff: Backoff,
    pub(crate) metrics: Metrics,
    /// Where every controller records its Events.
    pub(crate) events: Recorder,
}

impl Ctx {
    /// Waits until every shared cache has listed once.
    pub(crate) async fn caches_ready(&self) -> Result<(), Error> {
        let not_ready = |what| move |_| Error::CacheNotReady { what };
        self.pods_ready.wait().await.map_err(not_ready("pods"))?;
        self.replica_sets_ready
            .wait()
            .await
            .map_err(not_ready("replicasets"))?;
        self.jobs_ready.wait().await.map_err(not_ready("jobs"))
    }

    /// The cached pods of `namespace`.
    pub(crate) fn pods_in(&self, namespace: &str) -> Vec<Arc<Pod>> {
        let mut pods = self.pods.state();
        pods.retain(|p| p.metadata.namespace.as_deref() == Some(namespace));
        pods
    }
}

/// Drives a reflector's stream (kube-runtime's watcher retries errors with back-off).
pub(crate) async fn drain<K>(
    stream: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        if let Err(e) = event {
            tracing::debug!("controller-manager: cache watch: {e}");
        }
    }
}

/// Drives a controller's stream, counting reconciles and logging the failed ones.
pub(crate) async fn drive<T, E: std::fmt::Display>(
    stream: impl futures::Stream<Item = Result<T, E>>,
    what: &'static str,
    metrics: &Metrics,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(result) = stream.next().await {
        metrics.finished(what, result.is_err());
        if let Err(e) = result {
            tracing::debug!("controller-manager: {what}: {e}");
        }
    }
}

/// A subscription to a shared cache, as the controllers take it (see [`repolled`]).
pub(crate) type Shared<K> = futures::stream::BoxStream<'static, std::sync::Arc<K>>;

/// How often a shared subscription is polled even without a wake-up.
const REPOLL: Duration = Duration::from_secs(1);

/// The objects a shared cache's watch saw deleted, for its subscribers (see [`subscription`]).
pub(crate) type Deletes<K> = tokio::sync::broadcast::Sender<std::sync::Arc<K>>;

/// A controller's subscription to a shared cache: its changes through `handle` (see
/// [`repolled`]) and its deletions through `deletes`. kube-runtime 5.0's `ReflectHandle`
/// never yields a deleted object (it looks each event's object up in the cache, where a
/// deleted one is gone), so without `deletes` a controller would not hear that a pod it
/// counts is gone until its next resync (the ReplicaSet would replace an evicted pod late,
/// an EndpointSlice would keep a deleted pod).
pub(crate) fn subscription<K>(
    handle: kube::runtime::reflector::ReflectHandle<K>,
    deletes: &Deletes<K>,
) -> Shared<K>
where
    K: kube::runtime::reflector::Lookup + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default + Send + Sync,
{
    let deleted = futures::stream::unfold(deletes.subscribe(), |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(obj) => return Some((obj, rx)),
                // A slow subscriber that missed deletions hears of them at its resync.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    futures::stream::select(repolled(handle), deleted).boxed()
}

/// `handle`, polled again every second. kube-runtime 5.0's `ReflectHandle` answers
/// `Pending` without arranging a wake-up when the object an event names is already gone
/// from the cache (a pod deleted right after a change): its controller would then hear
/// nothing more from that cache, and the cache's watch would block once the subscription's
/// buffer fills. Polling it again takes the next event.
fn repolled<K>(handle: kube::runtime::reflector::ReflectHandle<K>) -> Shared<K>
where
    K: kube::runtime::reflector::Lookup + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default + Send + Sync,
{
    let ticks = futures::stream::unfold((), |()| async {
        tokio::time::sleep(REPOLL).await;
        Some((None, ()))
    });
    futures::stream::select(handle.map(Some), ticks)
        .filter_map(futures::future::ready)
        .boxed()
}
