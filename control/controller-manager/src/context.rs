//! What the controllers share: [`ManagerConfig`], the caches of pods and ReplicaSets, the
//! expectations and the back-off; and [`start_term`], which starts every cache and controller
//! of one term of leadership in one `JoinSet`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;
use kube::runtime::reflector::{self, ReflectHandle, Store};
use kube::runtime::{WatchStreamExt, watcher};
use skiff_controllers::node_lifecycle::NodeLifecycleParams;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cache_ready::{CacheReady, ready_channel, signal_when_listed};
use crate::error::{Backoff, Error};
use crate::expectations::Expectations;

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
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            node_lifecycle: NodeLifecycleParams::default(),
            expectations_timeout: Duration::from_secs(300),
            concurrency: 5,
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
    /// Whether `pods` and `replica_sets` have listed once. Never `Store::wait_until_ready`,
    /// which loses all but the last of several waiters (see `cache_ready`).
    pub(crate) pods_ready: CacheReady,
    pub(crate) replica_sets_ready: CacheReady,
    pub(crate) expectations: Expectations,
    pub(crate) backoff: Backoff,
}

impl Ctx {
    /// Waits until both caches have listed once.
    pub(crate) async fn caches_ready(&self) -> Result<(), Error> {
        self.pods_ready
            .wait()
            .await
            .map_err(|_| Error::CacheNotReady { what: "pods" })?;
        self.replica_sets_ready
            .wait()
            .await
            .map_err(|_| Error::CacheNotReady {
                what: "replicasets",
            })
    }

    /// The cached pods of `namespace`.
    pub(crate) fn pods_in(&self, namespace: &str) -> Vec<Pod> {
        self.pods
            .state()
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(namespace))
            .map(|p| Pod::clone(p))
            .collect()
    }
}

/// Starts the caches and every controller of one term into `tasks`; each stops when `term`
/// is cancelled (dropping a controller's stream aborts its reconciles in flight).
pub(crate) fn start_term(
    tasks: &mut JoinSet<&'static str>,
    client: &Client,
    config: &ManagerConfig,
    term: &CancellationToken,
) {
    let (pods, pod_writer) = reflector::store_shared::<Pod>(SHARED_BUFFER);
    let (replica_sets, rs_writer) = reflector::store_shared::<ReplicaSet>(SHARED_BUFFER);
    let subscribe = Subscriptions {
        pods: pod_writer.subscribe(),
        replica_sets: rs_writer.subscribe(),
    };
    let pod_watch = watcher(Api::<Pod>::all(client.clone()), watcher::Config::default());
    let rs_watch = watcher(
        Api::<ReplicaSet>::all(client.clone()),
        watcher::Config::default(),
    );
    let (pods_listed, pods_ready) = ready_channel();
    let (replica_sets_listed, replica_sets_ready) = ready_channel();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        config: config.clone(),
        pods,
        replica_sets,
        pods_ready,
        replica_sets_ready,
        expectations: Expectations::new(config.expectations_timeout),
        backoff: Backoff::default(),
    });
    let Subscriptions {
        pods: Some(p),
        replica_sets: Some(r),
    } = subscribe
    else {
        return;
    };
    let rs = crate::replicaset::controller(ctx.clone(), r.clone(), p.clone());
    spawn(tasks, term, "replicaset controller", rs);
    spawn(
        tasks,
        term,
        "deployment controller",
        crate::deployment::controller(ctx.clone(), r),
    );
    let eps = crate::endpoints::controller(ctx.clone(), p.clone());
    spawn(tasks, term, "endpoints controller", eps);
    spawn(
        tasks,
        term,
        "node lifecycle controller",
        crate::node_lifecycle::controller(ctx, p),
    );
    // The caches start after their subscribers exist, so no event is missed.
    spawn(
        tasks,
        term,
        "pod cache",
        drain(signal_when_listed(
            pod_watch.default_backoff().reflect_shared(pod_writer),
            pods_listed,
        )),
    );
    spawn(
        tasks,
        term,
        "replicaset cache",
        drain(signal_when_listed(
            rs_watch.default_backoff().reflect_shared(rs_writer),
            replica_sets_listed,
        )),
    );
}

/// Events a shared cache holds for slow subscribers before its watch waits for them.
const SHARED_BUFFER: usize = 4096;

/// The subscriptions to the shared caches (`None` only for a store that is not shared).
struct Subscriptions {
    pods: Option<ReflectHandle<Pod>>,
    replica_sets: Option<ReflectHandle<ReplicaSet>>,
}

/// Runs `work` in `tasks` until it ends or `term` is cancelled; the task's result is its name.
fn spawn(
    tasks: &mut JoinSet<&'static str>,
    term: &CancellationToken,
    what: &'static str,
    work: impl Future<Output = ()> + Send + 'static,
) {
    let term = term.clone();
    tasks.spawn(async move {
        tokio::select! {
            () = term.cancelled() => {}
            () = work => tracing::warn!("controller-manager: {what} ended"),
        }
        what
    });
}

/// Drives a reflector's stream (kube-runtime's watcher retries errors with back-off).
async fn drain<K>(stream: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>>) {
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        if let Err(e) = event {
            tracing::debug!("controller-manager: cache watch: {e}");
        }
    }
}

/// Drives a controller's stream, logging failed reconciles.
pub(crate) async fn drive<T, E: std::fmt::Display>(
    stream: impl futures::Stream<Item = Result<T, E>>,
    what: &'static str,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(result) = stream.next().await {
        if let Err(e) = result {
            tracing::debug!("controller-manager: {what}: {e}");
        }
    }
}
