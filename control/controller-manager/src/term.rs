//! [`start_term`]: what one term of leadership starts, every shared cache and every
//! controller, in one `JoinSet` owned by [`crate::run`].

use std::future::Future;
use std::sync::Arc;

use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::reflector::{self, ReflectHandle, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use crate::events::Recorder;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cache_ready::{ReadySignal, ready_channel, signal_when_listed};
use crate::context::{Ctx, Deletes, ManagerConfig, Shared, drain, subscription};
use crate::error::Backoff;
use crate::expectations::Expectations;

/// Events a shared cache holds for slow subscribers before its watch waits for them.
const SHARED_BUFFER: usize = 4096;

/// Deletions a shared cache holds for slow subscribers before they miss some.
const DELETES_BUFFER: usize = 1024;

/// The subscriptions to the shared caches, one per controller that a cache triggers.
struct Handles {
    pods: (ReflectHandle<Pod>, Deletes<Pod>),
    replica_sets: (ReflectHandle<ReplicaSet>, Deletes<ReplicaSet>),
    jobs: (ReflectHandle<Job>, Deletes<Job>),
}

fn deletes<K: Clone>() -> Deletes<K> {
    tokio::sync::broadcast::channel(DELETES_BUFFER).0
}

impl Handles {
    fn pods(&self) -> Shared<Pod> {
        subscription(self.pods.0.clone(), &self.pods.1)
    }
    fn replica_sets(&self) -> Shared<ReplicaSet> {
        subscription(self.replica_sets.0.clone(), &self.replica_sets.1)
    }
    fn jobs(&self) -> Shared<Job> {
        subscription(self.jobs.0.clone(), &self.jobs.1)
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
    let (jobs, job_writer) = reflector::store_shared::<Job>(SHARED_BUFFER);
    let (pods_listed, pods_ready) = ready_channel();
    let (replica_sets_listed, replica_sets_ready) = ready_channel();
    let (jobs_listed, jobs_ready) = ready_channel();
    let (Some(p), Some(r), Some(j)) = (
        pod_writer.subscribe(),
        rs_writer.subscribe(),
        job_writer.subscribe(),
    ) else {
        return;
    };
    let handles = Handles {
        pods: (p, deletes()),
        replica_sets: (r, deletes()),
        jobs: (j, deletes()),
    };
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        config: config.clone(),
        pods,
        replica_sets,
        jobs,
        pods_ready,
        replica_sets_ready,
        jobs_ready,
        expectations: Expectations::new(config.expectations_timeout),
        backoff: Backoff::new(config.metrics.clone()),
        metrics: config.metrics.clone(),
        events: Recorder::new(client.clone()),
    });
    start_controllers(tasks, term, &ctx, &handles);
    crate::gc::start(tasks, term, client, config);
    // The caches start after their subscribers exist, so no event is missed.
    let h = &handles;
    let pod_cache = (pod_writer, pods_listed, h.pods.1.clone());
    cache(tasks, term, "pod cache", client, pod_cache);
    let rs_cache = (rs_writer, replica_sets_listed, h.replica_sets.1.clone());
    cache(tasks, term, "replicaset cache", client, rs_cache);
    let job_cache = (job_writer, jobs_listed, h.jobs.1.clone());
    cache(tasks, term, "job cache", client, job_cache);
}

fn start_controllers(
    tasks: &mut JoinSet<&'static str>,
    term: &CancellationToken,
    ctx: &Arc<Ctx>,
    h: &Handles,
) {
    let rs = crate::replicaset::controller(ctx.clone(), h.replica_sets(), h.pods());
    spawn(tasks, term, "replicaset controller", rs);
    let deploy = crate::deployment::controller(ctx.clone(), h.replica_sets());
    spawn(tasks, term, "deployment controller", deploy);
    let eps = crate::endpoints::controller(ctx.clone(), h.pods());
    spawn(tasks, term, "endpoints controller", eps);
    let nodes = crate::node_lifecycle::controller(ctx.clone(), h.pods());
    spawn(tasks, term, "node lifecycle controller", nodes);
    let job = crate::job::controller(ctx.clone(), h.jobs(), h.pods());
    spawn(tasks, term, "job controller", job);
    let orphans = crate::job_orphans::controller(ctx.clone(), h.pods());
    spawn(tasks, term, "job orphan pods controller", orphans);
    let cidr = crate::pod_cidr::controller(ctx.clone());
    spawn(tasks, term, "pod CIDR controller", cidr);
    let accounts = crate::serviceaccounts::controllers(ctx.clone());
    spawn(tasks, term, "serviceaccount controllers", accounts);
    if crate::replication_controller::served() {
        let rc = crate::replication_controller::controller(ctx.clone(), h.pods());
        spawn(tasks, term, "replicationcontroller controller", rc);
    }
    if crate::daemonset::served() {
        let ds = crate::daemonset::controller(ctx.clone(), h.pods());
        spawn(tasks, term, "daemonset controller", ds);
    }
    let budgets = crate::disruption::controller(ctx.clone(), h.pods());
    spawn(tasks, term, "disruption controller", budgets);
    let hpa = crate::hpa::controller(ctx.clone());
    spawn(tasks, term, "horizontalpodautoscaler controller", hpa);
    let cron = crate::cronjob::controller(ctx.clone(), h.jobs());
    spawn(tasks, term, "cronjob controller", cron);
    let stz = crate::scale_to_zero::controller(ctx.clone());
    spawn(tasks, term, "scale-to-zero controller", stz);
    let ttl = crate::event_ttl::controller(ctx.clone());
    spawn(tasks, term, "event-ttl sweep", ttl);
}

/// Starts the watch that fills a shared cache, says when it has listed once, and tells
/// `deletes` of every object it sees deleted.
fn cache<K>(
    tasks: &mut JoinSet<&'static str>,
    term: &CancellationToken,
    what: &'static str,
    client: &Client,
    (writer, listed, deletes): (Writer<K>, ReadySignal, Deletes<K>),
) where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let watch = watcher(Api::<K>::all(client.clone()), watcher::Config::default());
    spawn(
        tasks,
        term,
        what,
        drain(signal_when_listed(
            watch
                .default_backoff()
                // No controller reads managedFields: not keeping them is most of a cached
                // pod's size (kube-controller-manager's informers strip them the same way).
                .modify(|object| object.managed_fields_mut().clear())
                .reflect_shared(writer)
                .inspect_ok(move |event| {
                    if let watcher::Event::Delete(obj) = event {
                        // No subscriber yet (or any more) is no one to tell.
                        let _ = deletes.send(Arc::new(obj.clone()));
                    }
                }),
            listed,
        )),
    );
}

/// Runs `work` in `tasks` until it ends or `term` is cancelled; the task's result is its name.
pub(crate) fn spawn(
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
