//! The DaemonSet controller: one pod per eligible node, pinned to it by node affinity (the
//! scheduler binds it), replaced by the rolling-update rules, the template history as
//! ControllerRevisions (`daemonset_history`), and the status; with
//! expectations, as ReplicaSets. A change to any Node, its deletion too, wakes every DaemonSet (kube does the
//! same when a node's fit may have changed). Started only when the API server serves
//! `daemonsets`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use skiff_controllers::common::controller_owner;
use skiff_controllers::daemonset;

use crate::cache_ready::{CacheReady, ready_channel, signal_when_listed};
use crate::context::{Ctx, Shared, drive};
use crate::daemonset_history::Synced;
use crate::error::Error;
use crate::owners::adopt_and_release;
use crate::pods::{PodOwner, write_pods};

/// The controller's name in metrics and logs.
const NAME: &str = "daemonset";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "daemonset-controller";
/// How soon a DaemonSet that wrote, waits for its expectations, or rolls, looks again.
const SOON: Duration = Duration::from_millis(200);
/// A rollout waiting for pods to become available looks again this often.
const ROLLING_RESYNC: Duration = Duration::from_secs(1);

/// Whether the API server serves DaemonSets (the resource table says).
pub(crate) fn served() -> bool {
    skiff_api::resources::find("apps", "v1", "daemonsets").is_some()
}

struct DsCtx {
    ctx: Arc<Ctx>,
    nodes: Store<Node>,
    /// Whether `nodes` has listed once (never `Store::wait_until_ready`: see `cache_ready`).
    nodes_ready: CacheReady,
}

/// Runs the controller: its own watches of DaemonSets and Nodes, and the shared pods.
pub(crate) async fn controller(ctx: Arc<Ctx>, pods: Shared<Pod>) {
    let client = ctx.client.clone();
    let (nodes, writer) = reflector::store::<Node>();
    let (listed, nodes_ready) = ready_channel();
    let node_events = watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    let node_events = signal_when_listed(node_events, listed).touched_objects();
    let controller = Controller::new(Api::<DaemonSet>::all(client), watcher::Config::default());
    let daemonsets = controller.store();
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = controller
        .owns_shared_stream(pods)
        .watches_stream(node_events, move |_node: Node| {
            daemonsets
                .state()
                .iter()
                .map(|ds| ObjectRef::from_obj(ds.as_ref()))
                .collect::<Vec<_>>()
        })
        .with_config(config)
        .run(
            reconcile,
            error_policy,
            Arc::new(DsCtx {
                ctx,
                nodes,
                nodes_ready,
            }),
        );
    drive(stream, NAME, &metrics).await;
}

fn error_policy(ds: Arc<DaemonSet>, error: &Error, c: Arc<DsCtx>) -> Action {
    c.ctx.backoff.next(NAME, key(&ds), error)
}

/// The key of its expectations and back-off: by uid too, so an object created again under
/// its name starts afresh.
fn key(ds: &DaemonSet) -> String {
    format!(
        "ds/{}/{}/{}",
        ds.namespace().unwrap_or_default(),
        ds.name_any(),
        ds.uid().unwrap_or_default()
    )
}

async fn reconcile(ds: Arc<DaemonSet>, c: Arc<DsCtx>) -> Result<Action, Error> {
    let ctx = &c.ctx;
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    c.nodes_ready
        .wait()
        .await
        .map_err(|_| Error::CacheNotReady { what: "nodes" })?;
    let ns = ds.namespace().unwrap_or_default();
    let key = key(&ds);
    if !ctx.expectations.satisfied(&key, &ns, &ctx.pods) {
        return Ok(Action::requeue(SOON));
    }
    let pods = ctx.pods_in(&ns);
    let nodes: Vec<Node> = c.nodes.state().iter().map(|n| Node::clone(n)).collect();
    let now = Timestamp::now();
    let plan = if ds.metadata.deletion_timestamp.is_some() {
        daemonset::reconcile(&ds, &nodes, &pods, now)
    } else {
        match crate::daemonset_history::sync(ctx, &ds, &pods).await? {
            Synced::Current(hash) => daemonset::reconcile_at(&ds, &nodes, &pods, now, &hash),
            Synced::Collided => return Ok(Action::requeue(SOON)),
        }
    };
    let plan = plan.map_err(|source| Error::Decide {
        kind: "DaemonSet",
        source,
    })?;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let uid = ds.uid().unwrap_or_default();
    let owner = controller_owner("apps/v1", "DaemonSet", &ds.name_any(), &uid);
    adopt_and_release(&api, &pods, &owner, &plan.adopt, &plan.release).await?;
    let wrote = write_pods(
        ctx,
        &key,
        &api,
        &PodOwner::of(&*ds, EVENT_SOURCE),
        plan.create,
        plan.delete,
    )
    .await?;
    let status = plan.status;
    let settled = status.updated_number_scheduled == Some(status.desired_number_scheduled)
        && status.number_available == Some(status.desired_number_scheduled);
    if ds.status.as_ref() != Some(&status) {
        let mut with_status = DaemonSet::clone(&ds);
        with_status.status = Some(status);
        Api::<DaemonSet>::namespaced(ctx.client.clone(), &ns)
            .replace_status(&ds.name_any(), &PostParams::default(), &with_status)
            .await
            .map_err(Error::api("writing the status of", ds.name_any()))?;
    }
    ctx.backoff.reset(NAME, &key);
    Ok(Action::requeue(match (wrote, settled) {
        (true, _) => SOON,
        (false, false) => ROLLING_RESYNC,
        (false, true) => Duration::from_secs(60),
    }))
}
