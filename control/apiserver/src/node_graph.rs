//! The node authorizer's graph (Kubernetes' `plugin/pkg/auth/authorizer/node` keeps one too):
//! for each node, the ConfigMaps and Secrets that the pods bound to it reference, held in
//! memory and fed by a watch of pods on this replica's store. A node's read of a referenced
//! object is then a hash lookup instead of a search through the namespace's pods.
//!
//! Pods are decoded into a view of only the fields that reference objects (node name, env,
//! envFrom, volumes, projected sources, imagePullSecrets), so a pod status write costs the
//! index one small parse. A "no" from the graph is not final: the graph may lag the store by
//! the watch's latency, so the caller confirms it from the store (`node_refs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use skiff_replica::Replica;
use skiff_store::types::{Event, EventKind, KeyValue};
use tokio_util::sync::CancellationToken;

use super::local_index::{self, LocalIndex};
use super::node_refs::RefKind;

/// One edge: `node` may read the object `kind` `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Grant {
    node: String,
    kind: RefKind,
    namespace: String,
    name: String,
}

#[derive(Default)]
struct Edges {
    /// Storage key of each bound pod -> the edges it adds.
    by_pod: HashMap<String, Vec<Grant>>,
    /// Each edge -> how many pods add it.
    counts: HashMap<Grant, u32>,
}

impl Edges {
    fn forget(&mut self, key: &str) {
        for grant in self.by_pod.remove(key).unwrap_or_default() {
            if let Some(count) = self.counts.get_mut(&grant) {
                *count -= 1;
                if *count == 0 {
                    self.counts.remove(&grant);
                }
            }
        }
    }

    fn put(&mut self, key: &str, pod: Option<&[u8]>) {
        self.forget(key);
        let grants = pod.map(grants_of).unwrap_or_default();
        if grants.is_empty() {
            return;
        }
        for grant in &grants {
            *self.counts.entry(grant.clone()).or_default() += 1;
        }
        self.by_pod.insert(key.to_owned(), grants);
    }
}

/// What the graph says about one read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GraphAnswer {
    Referenced,
    /// Not referenced by any pod bound to the node, as far as this replica has seen.
    NotSeen,
    /// The graph is not in sync: ask the store.
    NotSynced,
}

#[derive(Default)]
pub(crate) struct NodeGraph {
    edges: RwLock<Edges>,
    synced: AtomicBool,
}

impl NodeGraph {
    /// Whether a pod bound to `node` references `kind` `namespace/name`.
    pub(crate) fn lookup(
        &self,
        node: &str,
        kind: RefKind,
        namespace: &str,
        name: &str,
    ) -> GraphAnswer {
        if !self.synced.load(Ordering::Acquire) {
            return GraphAnswer::NotSynced;
        }
        let grant = Grant {
            node: node.to_owned(),
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        match skiff_sync::read(&self.edges).counts.contains_key(&grant) {
            true => GraphAnswer::Referenced,
            false => GraphAnswer::NotSeen,
        }
    }

    /// Keeps the graph fed from `replica`'s pods until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, replica: Arc<Replica>, shutdown: CancellationToken) {
        let prefix = skiff_api::resources::find("", "v1", "pods")
            .expect("pods are served")
            .namespace_prefix(None);
        local_index::feed(self, replica, prefix, shutdown).await;
    }
}

impl LocalIndex for NodeGraph {
    fn describes(&self) -> &'static str {
        "pods' references (node authorizer)"
    }

    fn reset(&self, kvs: Vec<KeyValue>) {
        let mut fresh = Edges::default();
        for kv in &kvs {
            fresh.put(&kv.key, Some(&kv.value));
        }
        *skiff_sync::write(&self.edges) = fresh;
        self.synced.store(true, Ordering::Release);
    }

    fn apply(&self, event: &Event) {
        let pod = match event.kind {
            EventKind::Put => Some(event.kv.value.as_slice()),
            EventKind::Delete => None,
        };
        skiff_sync::write(&self.edges).put(&event.kv.key, pod);
    }

    fn unsync(&self) {
        self.synced.store(false, Ordering::Release);
    }
}

/// The edges a stored pod adds: none unless it is bound to a node.
fn grants_of(pod: &[u8]) -> Vec<Grant> {
    // A pod not yet bound (every create through the scheduler) has no `nodeName` anywhere in
    // its JSON: a byte search is enough to know it adds nothing, without parsing it.
    if memchr::memmem::find(pod, b"\"nodeName\"").is_none() {
        return Vec::new();
    }
    let Ok(view) = serde_json::from_slice::<view::Pod>(pod) else {
        return Vec::new();
    };
    let Some(node) = view.spec.node_name.clone().filter(|n| !n.is_empty()) else {
        return Vec::new();
    };
    let mut grants: Vec<Grant> = view
        .spec
        .references()
        .map(|(kind, name)| Grant {
            node: node.clone(),
            kind,
            namespace: view.metadata.namespace.clone(),
            name: name.to_owned(),
        })
        .collect();
    grants.sort_by(|a, b| (a.kind as u8, &a.name).cmp(&(b.kind as u8, &b.name)));
    grants.dedup();
    grants
}

mod view;

#[cfg(test)]
mod tests;
