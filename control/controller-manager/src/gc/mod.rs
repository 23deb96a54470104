//! The garbage collector (kube's `garbagecollector`): every kind the API server serves (the
//! `skiff-api` resource table, minus Events as kube ignores them) is watched into a cache and
//! into the [`graph::Graph`] of ownerReferences; one kube-runtime controller per kind
//! reconciles an object when it changes and when the graph says an owner or dependent of it
//! changed (`reconcile_on`). The decisions are `skiff_controllers::gc`'s:
//! - `dependent`: an object whose owners are gone is deleted (propagating the policy its
//!   finalizers ask for), one whose owner is being deleted in the foreground is deleted, and
//!   references to gone owners beside live ones are removed;
//! - `owner`: an owner deleted with `orphan` frees its dependents, then drops the finalizer;
//!   one deleted with `foregroundDeletion` drops it once no blocking dependent is left.
//!
//! An owner missing from the caches is looked up through the API before a dependent is
//! deleted for it (the caches of two kinds may lag each other); an owner of a kind the API
//! server does not serve is taken as present, so nothing is deleted for a kind unknown here.

mod dependent;
mod feed;
mod graph;
mod owner;

use std::sync::{Arc, Mutex};

use kube::api::{Api, ApiResource, DynamicObject, PartialObjectMeta};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use skiff_api::resources::{RESOURCES, ResourceInfo};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cache_ready::{CacheReady, ReadySignal, ready_channel};
use crate::context::{ManagerConfig, drive};
use crate::error::{Backoff, Error};
use crate::metrics::Metrics;
use crate::term::spawn;
use feed::feed;
use graph::{Graph, Located};

/// The controller's name in metrics and logs.
const NAME: &str = "garbage_collector";

/// What the collector watches and caches of every object: its metadata alone
/// (`PartialObjectMetadata`, as kube-controller-manager's metadata informers).
pub(crate) type Meta = PartialObjectMeta<DynamicObject>;

/// One watched kind.
pub(crate) struct Kind {
    pub(crate) info: &'static ResourceInfo,
    pub(crate) resource: ApiResource,
    pub(crate) store: Store<Meta>,
    /// Whether `store` has listed once (never `Store::wait_until_ready`: see `cache_ready`).
    ready: CacheReady,
    wake: mpsc::UnboundedSender<ObjectRef<Meta>>,
}

impl Kind {
    /// The API of this kind in `namespace` (ignored for cluster-scoped kinds), metadata only:
    /// its reads, watches and patches ask for `PartialObjectMetadata`.
    pub(crate) fn api(&self, client: &Client, namespace: Option<&str>) -> Api<Meta> {
        match namespace.filter(|_| self.info.namespaced) {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &self.resource),
            None => Api::all_with(client.clone(), &self.resource),
        }
    }

    /// The cached object at `at`.
    pub(crate) fn get(&self, at: &Located) -> Option<Arc<Meta>> {
        let mut r = ObjectRef::new_with(&at.name, self.resource.clone());
        if let Some(ns) = at.namespace.as_deref().filter(|_| self.info.namespaced) {
            r = r.within(ns);
        }
        self.store.get(&r)
    }
}

/// What every reconcile of the collector shares.
pub(crate) struct Gc {
    pub(crate) client: Client,
    pub(crate) kinds: Vec<Kind>,
    pub(crate) graph: Mutex<Graph>,
    backoff: Backoff,
    metrics: Metrics,
}

impl Gc {
    /// Wakes the objects at `wake` (their controllers reconcile them).
    pub(crate) fn wake(&self, wake: Vec<Located>) {
        for at in wake {
            if let Some(kind) = self.kinds.get(at.kind) {
                let mut r = ObjectRef::new_with(&at.name, kind.resource.clone());
                if let Some(ns) = at.namespace.filter(|_| kind.info.namespaced) {
                    r = r.within(&ns);
                }
                let _ = kind.wake.send(r);
            }
        }
    }

    /// The kind of `apiVersion`/`kind`, if watched.
    pub(crate) fn kind_of(&self, api_version: &str, kind: &str) -> Option<(usize, &Kind)> {
        self.kinds
            .iter()
            .enumerate()
            .find(|(_, k)| k.info.api_version() == api_version && k.info.kind == kind)
    }
}

fn api_resource(info: &ResourceInfo) -> ApiResource {
    ApiResource {
        group: info.group.into(),
        version: info.version.into(),
        api_version: info.api_version(),
        kind: info.kind.into(),
        plural: info.plural.into(),
    }
}

/// What the tasks of one watched kind take: the writer of its cache, the objects its
/// controller is woken for, and the signal that the cache has listed.
type KindFeed = (
    Writer<Meta>,
    mpsc::UnboundedReceiver<ObjectRef<Meta>>,
    ReadySignal,
);

/// The cache and wake-up channel of the kind `info`, with what its tasks take.
fn watched_kind(info: &'static ResourceInfo) -> (Kind, KindFeed) {
    let resource = api_resource(info);
    let writer = Writer::<Meta>::new(resource.clone());
    let (wake, woken) = mpsc::unbounded_channel();
    let (listed, ready) = ready_channel();
    let kind = Kind {
        info,
        ready,
        store: writer.as_reader(),
        resource,
        wake,
    };
    (kind, (writer, woken, listed))
}

/// Starts the collector: a cache, a graph feed and a controller per served kind.
pub(crate) fn start(
    tasks: &mut JoinSet<&'static str>,
    term: &CancellationToken,
    client: &Client,
    config: &ManagerConfig,
) {
    let (kinds, parts): (Vec<Kind>, Vec<KindFeed>) = RESOURCES
        .iter()
        .filter(|r| r.plural != "events")
        .map(watched_kind)
        .unzip();
    let gc = Arc::new(Gc {
        client: client.clone(),
        kinds,
        graph: Mutex::new(Graph::default()),
        backoff: Backoff::new(config.metrics.clone()),
        metrics: config.metrics.clone(),
    });
    for (k, (writer, woken, listed)) in parts.into_iter().enumerate() {
        let Some(kind) = gc.kinds.get(k) else {
            continue;
        };
        let controller = run_controller(&gc, (k, kind), woken, config.concurrency);
        spawn(tasks, term, "garbage collector", controller);
        let api = kind.api(client, None);
        spawn(
            tasks,
            term,
            "garbage collector cache",
            feed(gc.clone(), k, api, (writer, listed)),
        );
    }
}

/// The controller of `kind` (the `k`th), driven to its end: it reconciles an object whenever
/// `woken` names it.
fn run_controller(
    gc: &Arc<Gc>,
    (k, kind): (usize, &Kind),
    woken: mpsc::UnboundedReceiver<ObjectRef<Meta>>,
    concurrency: u16,
) -> impl Future<Output = ()> + use<> {
    let run = Config::default().concurrency(concurrency);
    // Every trigger, an object's own changes too, comes from `feed` through `wake`.
    let controller = Controller::for_stream_with(
        futures::stream::empty(),
        kind.store.clone(),
        kind.resource.clone(),
    )
    .reconcile_on(futures::stream::unfold(woken, |mut rx| async move {
        rx.recv().await.map(|r| (r, rx))
    }))
    .with_config(run)
    .run(
        move |obj, gc| reconcile(k, obj, gc),
        move |obj, e, gc| error_policy(k, &obj, e, &gc),
        gc.clone(),
    );
    let metrics = gc.metrics.clone();
    async move {
        drive(controller, NAME, &metrics).await;
    }
}

fn key(kind: &Kind, obj: &Meta) -> String {
    format!(
        "gc/{}/{}/{}",
        kind.info.plural,
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

fn error_policy(kind: usize, obj: &Meta, error: &Error, gc: &Gc) -> Action {
    let key = gc.kinds.get(kind).map(|k| key(k, obj)).unwrap_or_default();
    gc.backoff.next(NAME, key, error)
}

async fn reconcile(kind: usize, obj: Arc<Meta>, gc: Arc<Gc>) -> Result<Action, Error> {
    let _busy = gc.metrics.busy(NAME);
    for k in &gc.kinds {
        k.ready.wait().await.map_err(|_| Error::CacheNotReady {
            what: k.info.plural,
        })?;
    }
    let Some(this) = gc.kinds.get(kind) else {
        return Ok(Action::await_change());
    };
    owner::collect(&gc, this, &obj).await?;
    dependent::collect(&gc, this, &obj).await?;
    gc.backoff.reset(NAME, &key(this, &obj));
    Ok(Action::await_change())
}
