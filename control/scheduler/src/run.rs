//! The scheduler loop: caches of nodes and pods kept by kube-runtime watchers, and, while this
//! replica holds the scheduler Lease, passes that bind every waiting pod it can place and
//! report the others as kube-scheduler does (PodScheduled=False and a FailedScheduling event).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::bind::Binder;
use crate::cluster::{Change, Cluster};
use crate::events::{post_scheduled, scheduled_events};
use crate::metrics::{Metrics, Outcome};
use crate::pass::{BindJob, PassState, one_pass};

/// How often a pass runs without a change (pods left unschedulable are retried).
const RESYNC: Duration = Duration::from_secs(5);
/// Bounds of the pause between two passes: twice the last pass's time, so that with thousands
/// of pods waiting passes take at most about a third of a core and the pods that arrive
/// meanwhile are placed together in the next one.
const MIN_GAP: Duration = Duration::from_millis(2);
const MAX_GAP: Duration = Duration::from_millis(250);
/// Bindings in flight at once (kube-scheduler binds each pod in a goroutine of its own; this
/// bounds the connections to the API server).
const BIND_CONCURRENCY: usize = 64;

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
    run_with_metrics(client, leading, shutdown, Metrics::default()).await
}

/// [`run`], counting into `metrics` (which the caller renders at `/metrics`).
pub async fn run_with_metrics(
    client: Client,
    leading: watch::Receiver<bool>,
    shutdown: CancellationToken,
    metrics: Metrics,
) -> Result<(), RunError> {
    let changed = Arc::new(Notify::new());
    let (changes_tx, changes) = mpsc::unbounded_channel();
    let (nodes, node_writer) = reflector::store::<Node>();
    let (pods, pod_writer) = reflector::store::<Pod>();
    let node_feed = Feed {
        changed: changed.clone(),
        changes: changes_tx.clone(),
        what: "nodes",
    };
    let watch_nodes = follow_nodes(client.clone(), node_writer, node_feed);
    let pod_feed = Feed {
        changed: changed.clone(),
        changes: changes_tx,
        what: "pods",
    };
    let watch_pods = follow_pods(client.clone(), (pod_writer, pods.clone()), pod_feed);
    let (scheduled, posting) = scheduled_events();
    let events = post_scheduled(client.clone(), posting);
    let binder = Binder::new(client, scheduled);
    let (to_bind, jobs) = mpsc::unbounded_channel();
    let (failed_tx, failed) = mpsc::unbounded_channel();
    let binds = bind_pipeline(&binder, jobs, failed_tx, &changed, &metrics);
    let passes = schedule_passes(
        (&nodes, &pods),
        &binder,
        leading,
        (&changed, changes),
        to_bind,
        failed,
        &metrics,
    );
    tokio::select! {
        () = shutdown.cancelled() => Ok(()),
        result = watch_nodes => result,
        result = watch_pods => result,
        () = passes => Ok(()),
        () = binds => Ok(()),
        () = events => Ok(()),
    }
}

/// A watch of every object of kind `K`, each event stored in `writer`'s cache first. The cache
/// drops managedFields, which nothing here reads, as kube-scheduler's informers do.
fn cached_watch<K>(
    client: Client,
    writer: reflector::store::Writer<K>,
) -> impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    reflector::reflector(
        writer,
        watcher(Api::all(client), watcher::Config::default()).modify(strip_managed_fields),
    )
}

/// Watches every Node into `writer`'s cache ([`cached_watch`]), handing the changes to `feed`.
fn follow_nodes(
    client: Client,
    writer: reflector::store::Writer<Node>,
    feed: Feed,
) -> impl Future<Output = Result<(), RunError>> {
    follow(cached_watch(client, writer), feed, |event| match event {
        watcher::Event::Apply(node) => Some(Change::Node(Arc::new(node))),
        watcher::Event::Delete(node) => Some(Change::NodeGone(node.name_any())),
        watcher::Event::InitDone => Some(Change::Relisted),
        watcher::Event::Init | watcher::Event::InitApply(_) => None,
    })
}

/// Watches every Pod into the cache of `writer` (read back through `cache`), handing the
/// changes to `feed`.
fn follow_pods(
    client: Client,
    (writer, cache): (reflector::store::Writer<Pod>, Store<Pod>),
    feed: Feed,
) -> impl Future<Output = Result<(), RunError>> {
    follow(
        cached_watch(client, writer),
        feed,
        move |event| match event {
            watcher::Event::Apply(pod) => Some(Change::Pod(cached(&cache, pod))),
            watcher::Event::Delete(pod) => Some(Change::PodGone(pod.uid().unwrap_or_default())),
            watcher::Event::InitDone => Some(Change::Relisted),
            watcher::Event::Init | watcher::Event::InitApply(_) => None,
        },
    )
}

/// The reflector's own copy of `pod` (it stored the event just before handing it on), so the
/// passes' cluster and the cache share one decoded pod rather than holding two; `pod` itself
/// only if the cache no longer has that version.
fn cached(cache: &Store<Pod>, pod: Pod) -> Arc<Pod> {
    match cache.get(&reflector::ObjectRef::from_obj(&pod)) {
        Some(stored) if stored.resource_version() == pod.resource_version() => stored,
        _ => Arc::new(pod),
    }
}

fn strip_managed_fields<K: kube::Resource>(object: &mut K) {
    object.managed_fields_mut().clear();
}

/// Where a watch's events go: the passes' cache, and their wake-up.
struct Feed {
    changed: Arc<Notify>,
    changes: mpsc::UnboundedSender<Change>,
    what: &'static str,
}

/// Drives a reflector's stream, handing each event (as `to_change` makes it) to the passes'
/// cache and waking them.
async fn follow<K>(
    stream: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    feed: Feed,
    to_change: impl Fn(watcher::Event<K>) -> Option<Change>,
) -> Result<(), RunError> {
    let mut stream = std::pin::pin!(stream.default_backoff());
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => {
                if let Some(change) = to_change(event) {
                    // The passes outlive the feeds (one select), so a send fails only at exit.
                    let _ = feed.changes.send(change);
                }
                feed.changed.notify_one();
            }
            Err(e) => tracing::debug!("scheduler: watching {}: {e}", feed.what),
        }
    }
    Err(RunError::WatchEnded { what: feed.what })
}

/// Waits for both caches, then runs a pass after every change (or every [`RESYNC`]) while
/// leading.
#[allow(clippy::disallowed_methods)] // reason: this task is the only one ever waiting for these two stores
async fn schedule_passes(
    caches: (&Store<Node>, &Store<Pod>),
    binder: &Binder,
    leading: watch::Receiver<bool>,
    (changed, mut changes): (&Notify, mpsc::UnboundedReceiver<Change>),
    to_bind: mpsc::UnboundedSender<BindJob>,
    mut failed: mpsc::UnboundedReceiver<String>,
    metrics: &Metrics,
) {
    let (nodes, pods) = caches;
    if nodes.wait_until_ready().await.is_err() || pods.wait_until_ready().await.is_err() {
        return;
    }
    let lists = || (nodes.state(), pods.state());
    let mut cluster = Cluster::default();
    cluster.apply(Change::Relisted, lists);
    let mut state = PassState::default();
    let mut took = Duration::ZERO;
    let mut was_leading = false;
    loop {
        while let Ok(change) = changes.try_recv() {
            cluster.apply(change, lists);
        }
        // A binding that failed is no assumption: the pod is tried again in this pass.
        while let Ok(pod_uid) = failed.try_recv() {
            cluster.unassume(&pod_uid);
        }
        if *leading.borrow() {
            let started = tokio::time::Instant::now();
            let unschedulable = one_pass(&mut cluster, &mut state, &to_bind, metrics, || {
                *leading.borrow()
            });
            took = started.elapsed();
            was_leading = true;
            for (pod, message) in unschedulable {
                binder.report_unschedulable(&pod, &message).await;
            }
        } else if was_leading {
            // Another scheduler decides now: forget this one's assumptions, once.
            state = PassState::default();
            cluster.unassume_all();
            was_leading = false;
        }
        let _ = tokio::time::timeout(RESYNC, changed.notified()).await;
        tokio::time::sleep((took * 2).clamp(MIN_GAP, MAX_GAP)).await;
    }
}

/// Sends the bindings of placed pods, [`BIND_CONCURRENCY`] at a time, for as long as passes
/// send jobs; a binding the API refused goes back to the passes through `failed`.
async fn bind_pipeline(
    binder: &Binder,
    mut jobs: mpsc::UnboundedReceiver<BindJob>,
    failed: mpsc::UnboundedSender<String>,
    changed: &Notify,
    metrics: &Metrics,
) {
    let jobs = futures::stream::poll_fn(|cx| jobs.poll_recv(cx));
    jobs.for_each_concurrent(BIND_CONCURRENCY, |job| {
        let failed = failed.clone();
        async move {
            match binder.bind(&job.pod, job.node).await {
                None => {
                    metrics.attempt(Outcome::Scheduled, job.started.elapsed());
                    metrics.bound_after(job.attempts);
                }
                Some(pod_uid) => {
                    metrics.attempt(Outcome::Error, job.started.elapsed());
                    let _ = failed.send(pod_uid);
                    changed.notify_one();
                }
            }
        }
    })
    .await;
}
