//! The garbage collector's watch of one kind: into its cache (metadata only, without
//! managedFields) and into the graph, waking the objects each event concerns.

use std::sync::Arc;

use futures::StreamExt;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::store::Writer;
use kube::runtime::{WatchStreamExt, watcher};

use super::graph::Located;
use super::{Gc, Meta};
use crate::cache_ready::{ReadySignal, signal_when_listed};

/// What the collector reads of an object: its metadata (owners, finalizers, deletion), without
/// managedFields. The API server sends metadata only (`as=PartialObjectMetadata`), so no
/// object is decoded whole; managedFields, which it sends as kube-apiserver does, are dropped
/// before the cache keeps them (with every kind cached, they would be most of its memory).
fn drop_managed_fields(object: &mut Meta) {
    object.metadata.managed_fields = None;
}

/// Watches one kind into its cache and the graph, waking what each event concerns: the
/// object itself when it has owners or is being deleted, and what the graph says.
pub(super) async fn feed(
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
