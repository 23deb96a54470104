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
mod graph;
mod owner;

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, PartialObjectMeta};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use skiff_api::resources::{RESOURCES, ResourceInfo};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cache_ready::{CacheReady, ReadySignal, ready_channel, signal_when_listed};
use crate::context::{ManagerConfig, drive};
use crate::error::{Backoff, Error};
use crate::metrics::Metrics;
use crate::term::spawn;
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

/// Starts the collector: a cache, a graph feed and a controller per served kind.
pub(crate) fn start(
    tasks: &mut JoinSet<&'static str>,
    term: &CancellationToken,
    client: &Client,
    config: &ManagerConfig,
) {
    let mut kinds = Vec::new();
    let mut parts = Vec::new();
    for info in RESOURCES.iter().filter(|r| r.plural != "events") {
        let resource = api_resource(info);
        let writer = Writer::<Meta>::new(resource.clone());
        let (wake, woken) = mpsc::unbounded_channel();
        let (listed, ready) = ready_channel();
        kinds.push(Kind {
            info,
            ready,
            store: writer.as_reader(),
            resource,
            wake,
        });
        parts.push((writer, woken, listed));
    }
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
        let run = Config::default().concurrency(config.concurrency);
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
        spawn(tasks, term, "garbage collector", async move {
            drive(controller, NAME, &metrics).await;
        });
        let api = kind.api(client, None);
        spawn(
            tasks,
            term,
            "garbage collector cache",
            feed(gc.clone(), k, api, (writer, listed)),
        );
    }
}

/// What the collector reads of an object: its metadata (owners, finalizers, deletion), without
/// managedFields. The API server sends metadata only (`as=PartialObjectMetadata`), so no
/// object is decoded whole; managedFields, which it sends as kube-apiserver does, are dropped
/// before the cache keeps them (with every kind cached, they would be most of its memory).
fn drop_managed_fields(object: &mut Meta) {
    object.metadata.managed_fields = None;
}

/// Watches one kind into its cache and the graph, waking what each event concerns: the
/// object itself when it has owners or is being deleted, and what the graph says.
async fn feed(
    gc: Arc<Gc>,
    kind: usize,
    api: Api<Meta>,
    (writer, listed): (Writer<Meta>, ReadySignal),
) {
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(drop_managed_fields)
        .reflect(writer);
    let events = signal_when_listed(events, listed);
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        let wake = {
            let mut graph = skiff_sync::lock(&gc.graph);
            match event {
                Ok(watcher::Event::Apply(o)) => {
                    let mut wake = graph.upsert(kind, &o);
                    wake.extend(concerned(kind, &o));
                    wake
                }
                // Woken at `InitDone`, once the cache holds them (a trigger for an object
                // missing from the cache is dropped).
                Ok(watcher::Event::InitApply(o)) => {
                    graph.upsert(kind, &o);
                    Vec::new()
                }
                Ok(watcher::Event::Delete(o)) => graph.remove(&o.uid().unwrap_or_default()),
                Ok(watcher::Event::Init) => {
                    graph.relist_started(kind);
                    Vec::new()
                }
                Ok(watcher::Event::InitDone) => {
                    let mut wake = graph.relist_done(kind);
                    if let Some(k) = gc.kinds.get(kind) {
                        wake.extend(k.store.state().iter().filter_map(|o| concerned(kind, o)));
                    }
                    wake
                }
                Err(e) => {
                    tracing::debug!("controller-manager: garbage collector watch: {e}");
                    Vec::new()
                }
            }
        };
        gc.wake(wake);
    }
}

/// `obj` itself, if the collector may have work on it: it has owners or is being deleted.
fn concerned(kind: usize, obj: &Meta) -> Option<Located> {
    let concerned = !obj.owner_references().is_empty() || obj.metadata.deletion_timestamp.is_some();
    concerned.then(|| Located {
        kind,
        namespace: obj.namespace(),
        name: obj.name_any(),
    })
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
