//! [`start_term`]: what one term of leadership starts, every shared cache and every
//! controller, in one `JoinSet` owned by [`crate::run`].

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;
use kube::runtime::reflector::{self, ReflectHandle, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cache_ready::{ReadySignal, ready_channel, signal_when_listed};
use crate::context::{Ctx, ManagerConfig, drain, repolled};
use crate::error::Backoff;
use crate::expectations::Expectations;

/// Events a shared cache holds for slow subscribers before its watch waits for them.
const SHARED_BUFFER: usize = 4096;

/// The subscriptions to the shared caches, one per controller that a cache triggers.
struct Handles {
    pods: ReflectHandle<Pod>,
    replica_sets: ReflectHandle<ReplicaSet>,
    jobs: ReflectHandle<Job>,
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
        pods: p,
        replica_sets: r,
        jobs: j,
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
    });
    start_controllers(tasks, term, &ctx, &handles);
    crate::gc::start(tasks, term, client, config);
    // The caches start after their subscribers exist, so no event is missed.
    cache(tasks, term, "pod cache", client, (pod_writer, pods_listed));
    cache(
        tasks,
        term,
        "replicaset cache",
        client,
        (rs_writer, replica_sets_listed),
    );
    cache(tasks, term, "job cache", client, (job_writer, jobs_listed));
}

fn start_controllers(
    tasks: &mut JoinSet<&'static str>,
    term: &CancellationToken,
    ctx: &Arc<Ctx>,
    h: &Handles,
) {
    let rs = crate::replicaset::controller(
        ctx.clone(),
        repolled(h.replica_sets.clone()),
        repolled(h.pods.clone()),
    );
    spawn(tasks, term, "replicaset controller", rs);
    let deploy = crate::deployment::controller(ctx.clone(), repolled(h.replica_sets.clone()));
    spawn(tasks, term, "deployment controller", deploy);
    let eps = crate::endpoints::controller(ctx.clone(), repolled(h.pods.clone()));
    spawn(tasks, term, "endpoints controller", eps);
    let nodes = crate::node_lifecycle::controller(ctx.clone(), repolled(h.pods.clone()));
    spawn(tasks, term, "node lifecycle controller", nodes);
    let job = crate::job::controller(
        ctx.clone(),
        repolled(h.jobs.clone()),
        repolled(h.pods.clone()),
    );
    spawn(tasks, term, "job controller", job);
    let orphans = crate::job_orphans::controller(ctx.clone(), repolled(h.pods.clone()));
    spawn(tasks, term, "job orphan pods controller", orphans);
    let cidr = crate::pod_cidr::controller(ctx.clone());
    spawn(tasks, term, "pod CIDR controller", cidr);
    let accounts = crate::serviceaccounts::controllers(ctx.clone());
    spawn(tasks, term, "serviceaccount controllers", accounts);
    if crate::replication_controller::served() {
        let rc = crate::replication_controller::controller(ctx.clone(), repolled(h.pods.clone()));
        spawn(tasks, term, "replicationcontroller controller", rc);
    }
    if crate::daemonset::served() {
        let ds = crate::daemonset::controller(ctx.clone(), repolled(h.pods.clone()));
        spawn(tasks, term, "daemonset controller", ds);
    }
    let budgets = crate::disruption::controller(ctx.clone(), repolled(h.pods.clone()));
    spawn(tasks, term, "disruption controller", budgets);
    let hpa = crate::hpa::controller(ctx.clone());
    spawn(tasks, term, "horizontalpodautoscaler controller", hpa);
    let cron = crate::cronjob::controller(ctx.clone(), repolled(h.jobs.clone()));
    spawn(tasks, term, "cronjob controller", cron);
}

/// Starts the watch that fills a shared cache, and says when it has listed once.
fn cache<K>(
    tasks: &mut JoinSet<&'static str>,
    term: &CancellationToken,
    what: &'static str,
    client: &Client,
    (writer, listed): (Writer<K>, ReadySignal),
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
            watch.default_backoff().reflect_shared(writer),
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
