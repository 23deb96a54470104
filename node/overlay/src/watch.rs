//! The watchers that keep the [`Tables`]: Nodes (pod ranges and tunnels), Services and
//! EndpointSlices (names), this node's Pods, Namespaces and NetworkPolicies (policy), each a kube-runtime watcher whose events are applied as they
//! come. A relist (`Init` .. `InitDone`) is buffered and swapped in whole, so objects
//! deleted while the watch was down leave the tables.

use crate::policy::{Labels, PolicyEntry};
use crate::tables::{Key, NodeEntry, PodEntry, ServiceEntry, SliceEntry, Tables};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use tokio_util::sync::CancellationToken;

/// An API kind the tables keep, and how.
trait Kept:
    kube::Resource<DynamicType = ()>
    + Clone
    + std::fmt::Debug
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Id: Hash + Eq + Send;
    type Entry: Send;
    fn id(&self) -> Self::Id;
    fn entry(&self) -> Option<Self::Entry>;
    fn table(tables: &mut Tables) -> &mut HashMap<Self::Id, Self::Entry>;
}

impl Kept for Node {
    type Id = String;
    type Entry = NodeEntry;
    fn id(&self) -> String {
        self.name_any()
    }
    fn entry(&self) -> Option<NodeEntry> {
        Some(NodeEntry::of(self))
    }
    fn table(tables: &mut Tables) -> &mut HashMap<String, NodeEntry> {
        &mut tables.nodes
    }
}

impl Kept for Service {
    type Id = Key;
    type Entry = ServiceEntry;
    fn id(&self) -> Key {
        (self.namespace().unwrap_or_default(), self.name_any())
    }
    fn entry(&self) -> Option<ServiceEntry> {
        ServiceEntry::of(self)
    }
    fn table(tables: &mut Tables) -> &mut HashMap<Key, ServiceEntry> {
        &mut tables.services
    }
}

impl Kept for EndpointSlice {
    type Id = Key;
    type Entry = SliceEntry;
    fn id(&self) -> Key {
        (self.namespace().unwrap_or_default(), self.name_any())
    }
    fn entry(&self) -> Option<SliceEntry> {
        SliceEntry::of(self)
    }
    fn table(tables: &mut Tables) -> &mut HashMap<Key, SliceEntry> {
        &mut tables.slices
    }
}

impl Kept for Pod {
    type Id = Key;
    type Entry = PodEntry;
    fn id(&self) -> Key {
        (self.namespace().unwrap_or_default(), self.name_any())
    }
    fn entry(&self) -> Option<PodEntry> {
        PodEntry::of(self)
    }
    fn table(tables: &mut Tables) -> &mut HashMap<Key, PodEntry> {
        &mut tables.pods
    }
}

impl Kept for Namespace {
    type Id = String;
    type Entry = Labels;
    fn id(&self) -> String {
        self.name_any()
    }
    fn entry(&self) -> Option<Labels> {
        Some(self.labels().clone())
    }
    fn table(tables: &mut Tables) -> &mut HashMap<String, Labels> {
        &mut tables.policy.namespaces
    }
}

impl Kept for NetworkPolicy {
    type Id = Key;
    type Entry = PolicyEntry;
    fn id(&self) -> Key {
        (self.namespace().unwrap_or_default(), self.name_any())
    }
    fn entry(&self) -> Option<PolicyEntry> {
        Some(PolicyEntry::of(self))
    }
    fn table(tables: &mut Tables) -> &mut HashMap<Key, PolicyEntry> {
        &mut tables.policy.policies
    }
}

/// Keeps `tables` current until `shutdown`; `node` is this node (its pods are watched).
pub(crate) async fn keep_tables(
    client: Client,
    node: &str,
    tables: Arc<RwLock<Tables>>,
    shutdown: CancellationToken,
) {
    let all = watcher::Config::default;
    // The node rules let a node list only its own pods (`spec.nodeName=<node>`).
    let own_pods = all().fields(&format!("spec.nodeName={node}"));
    let (c, t, s) = (&client, &tables, &shutdown);
    tokio::join!(
        follow::<Node>(Api::all(c.clone()), all(), t.clone(), s.clone()),
        follow::<Service>(Api::all(c.clone()), all(), t.clone(), s.clone()),
        follow::<EndpointSlice>(Api::all(c.clone()), all(), t.clone(), s.clone()),
        follow::<Pod>(Api::all(c.clone()), own_pods, t.clone(), s.clone()),
        follow::<Namespace>(Api::all(c.clone()), all(), t.clone(), s.clone()),
        follow::<NetworkPolicy>(Api::all(c.clone()), all(), t.clone(), s.clone()),
    );
}

async fn follow<K: Kept>(
    api: Api<K>,
    config: watcher::Config,
    tables: Arc<RwLock<Tables>>,
    shutdown: CancellationToken,
) {
    let events = watcher(api, config).default_backoff();
    let mut events = std::pin::pin!(events);
    let mut relist: Option<HashMap<K::Id, K::Entry>> = None;
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.next() => event,
        };
        match event {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(kind = %K::kind(&()), "overlay watch failed: {e}; retrying");
            }
            Some(Ok(watcher::Event::Init)) => relist = Some(HashMap::new()),
            Some(Ok(watcher::Event::InitApply(object))) => {
                if let (Some(buffer), Some(entry)) = (relist.as_mut(), object.entry()) {
                    buffer.insert(object.id(), entry);
                }
            }
            Some(Ok(watcher::Event::InitDone)) => {
                if let Some(buffer) = relist.take() {
                    *K::table(&mut skiff_sync::write(&tables)) = buffer;
                }
            }
            Some(Ok(watcher::Event::Apply(object))) => {
                let mut tables = skiff_sync::write(&tables);
                match object.entry() {
                    Some(entry) => K::table(&mut tables).insert(object.id(), entry),
                    None => K::table(&mut tables).remove(&object.id()),
                };
            }
            Some(Ok(watcher::Event::Delete(object))) => {
                K::table(&mut skiff_sync::write(&tables)).remove(&object.id());
            }
        }
    }
}
