//! The garbage collector's graph (kube's `GraphBuilder`, minus virtual nodes): every object of
//! every watched kind by uid, with its owners' uids, and the reverse index from an owner's uid
//! to its dependents. Fed by the watch events of every kind; answers which objects an event
//! should wake up. Pure bookkeeping, no I/O.

use std::collections::{BTreeSet, HashMap};

use super::Meta;
use kube::ResourceExt;

/// Where an object lives: its kind (an index into the collector's kinds), namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Located {
    pub(crate) kind: usize,
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
}

#[derive(Clone, Debug)]
struct Node {
    at: Located,
    owners: Vec<String>,
    /// Has a `deletionTimestamp`.
    deleting: bool,
}

/// The graph. Owners need not be known to be referenced: a dependent may arrive first.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, BTreeSet<String>>,
    /// The uids seen of each kind while it relists (`Init` .. `InitDone`).
    relisting: HashMap<usize, BTreeSet<String>>,
}

impl Graph {
    /// Records `obj` of `kind` (created or changed); the objects to wake: its dependents if it
    /// is being deleted, and its owners that are being deleted (they wait for it).
    pub(crate) fn upsert(&mut self, kind: usize, obj: &Meta) -> Vec<Located> {
        let Some(uid) = obj.uid() else {
            return Vec::new();
        };
        if let Some(seen) = self.relisting.get_mut(&kind) {
            seen.insert(uid.clone());
        }
        let owners: Vec<String> = obj
            .owner_references()
            .iter()
            .map(|r| r.uid.clone())
            .collect();
        let node = Node {
            at: Located {
                kind,
                namespace: obj.namespace(),
                name: obj.name_any(),
            },
            owners,
            deleting: obj.metadata.deletion_timestamp.is_some(),
        };
        if let Some(old) = self.nodes.remove(&uid) {
            self.unlink(&uid, &old.owners);
        }
        for owner in &node.owners {
            self.dependents
                .entry(owner.clone())
                .or_default()
                .insert(uid.clone());
        }
        let mut wake = self.deleting_owners(&node.owners);
        if node.deleting {
            wake.extend(self.dependents_of(&uid));
        }
        self.nodes.insert(uid, node);
        wake
    }

    /// Forgets the object with `uid` (deleted); the objects to wake: its dependents (their
    /// owner is gone) and its owners being deleted.
    pub(crate) fn remove(&mut self, uid: &str) -> Vec<Located> {
        let Some(node) = self.nodes.remove(uid) else {
            return Vec::new();
        };
        self.unlink(uid, &node.owners);
        let mut wake = self.deleting_owners(&node.owners);
        wake.extend(self.dependents_of(uid));
        wake
    }

    /// A relist of `kind` starts.
    pub(crate) fn relist_started(&mut self, kind: usize) {
        self.relisting.insert(kind, BTreeSet::new());
    }

    /// A relist of `kind` ended: objects of that kind it did not list were deleted while the
    /// watch was down. The objects to wake, as for [`Graph::remove`].
    pub(crate) fn relist_done(&mut self, kind: usize) -> Vec<Located> {
        let seen = self.relisting.remove(&kind).unwrap_or_default();
        let gone: Vec<String> = self
            .nodes
            .iter()
            .filter(|(uid, n)| n.at.kind == kind && !seen.contains(*uid))
            .map(|(uid, _)| uid.clone())
            .collect();
        gone.iter().flat_map(|uid| self.remove(uid)).collect()
    }

    /// Where the object with `uid` is, if known.
    pub(crate) fn locate(&self, uid: &str) -> Option<Located> {
        self.nodes.get(uid).map(|n| n.at.clone())
    }

    /// The known objects that name `uid` as an owner.
    pub(crate) fn dependents_of(&self, uid: &str) -> Vec<Located> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|d| self.locate(d))
            .collect()
    }

    fn deleting_owners(&self, owners: &[String]) -> Vec<Located> {
        owners
            .iter()
            .filter_map(|o| self.nodes.get(o))
            .filter(|n| n.deleting)
            .map(|n| n.at.clone())
            .collect()
    }

    fn unlink(&mut self, uid: &str, owners: &[String]) {
        for owner in owners {
            if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
