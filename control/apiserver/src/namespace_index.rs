//! The namespaces of this replica and whether each is being deleted, held in memory and fed by
//! a watch on the local store (kube-apiserver's NamespaceLifecycle admission reads an informer
//! cache the same way), so a create in a known namespace costs no store read and no decode of
//! the Namespace.
//!
//! While the index is not in sync (before the first list, or after the watch broke), and for a
//! namespace it does not hold, lookups answer [`NamespaceState::Unknown`] and the caller reads
//! the store, so a namespace created a moment ago through another replica is never refused here.
//! A namespace deleted through this replica is marked terminating before the delete is
//! answered ([`NamespaceIndex::mark_terminating`]), so the client's next create is refused even
//! if the watch has not delivered the delete yet; each entry keeps the revision it reflects, and
//! an older event never overwrites a newer state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::local_index::{self, LocalIndex};
use skiff_replica::Replica;
use skiff_store::types::{Event, EventKind, KeyValue};

/// What the index says of one namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NamespaceState {
    /// It exists and is not being deleted.
    Open,
    /// It has a `deletionTimestamp`: no new content may be created in it.
    Terminating,
    /// Not in the index (absent, or the index is not in sync): read the store.
    Unknown,
}

/// The part of a stored Namespace the index reads; every other field is skipped unparsed.
#[derive(Deserialize)]
struct StoredNamespace {
    metadata: StoredMeta,
}

#[derive(Deserialize)]
struct StoredMeta {
    #[serde(rename = "deletionTimestamp")]
    deletion_timestamp: Option<serde::de::IgnoredAny>,
}

/// What the index holds of one Namespace: the revision it reflects, and whether it is being
/// deleted.
type Entry = (u64, bool);

#[derive(Default)]
pub(crate) struct NamespaceIndex {
    /// Storage key of each Namespace -> its entry.
    terminating: RwLock<HashMap<String, Entry>>,
    /// The index reflects the local store (listed, and the watch is running).
    synced: AtomicBool,
}

impl NamespaceIndex {
    /// The state of the Namespace stored at `key`.
    pub(crate) fn state(&self, key: &str) -> NamespaceState {
        if !self.synced.load(Ordering::Acquire) {
            return NamespaceState::Unknown;
        }
        match skiff_sync::read(&self.terminating).get(key) {
            Some((_, false)) => NamespaceState::Open,
            Some((_, true)) => NamespaceState::Terminating,
            None => NamespaceState::Unknown,
        }
    }

    /// Records that this replica marked the Namespace at `key` for deletion at `revision`.
    pub(crate) fn mark_terminating(&self, key: &str, revision: u64) {
        let mut entries = skiff_sync::write(&self.terminating);
        let entry = entries.entry(key.to_owned()).or_insert((revision, true));
        if entry.0 <= revision {
            *entry = (revision, true);
        }
    }

    /// Keeps the index fed from `replica`'s Namespaces until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, replica: Arc<Replica>, shutdown: CancellationToken) {
        let prefix = skiff_api::resources::find("", "v1", "namespaces")
            .expect("namespaces are served")
            .namespace_prefix(None);
        local_index::feed(self, replica, prefix, shutdown).await;
    }
}

/// Whether the stored bytes are a Namespace being deleted (`None`: not a readable Namespace).
fn is_terminating(value: &[u8]) -> Option<bool> {
    let ns: StoredNamespace = serde_json::from_slice(value).ok()?;
    Some(ns.metadata.deletion_timestamp.is_some())
}

impl LocalIndex for NamespaceIndex {
    fn describes(&self) -> &'static str {
        "namespaces"
    }

    fn reset(&self, kvs: Vec<KeyValue>) {
        let mut fresh: HashMap<String, Entry> = kvs
            .into_iter()
            .filter_map(|kv| Some((kv.key, (kv.mod_revision, is_terminating(&kv.value)?))))
            .collect();
        let mut entries = skiff_sync::write(&self.terminating);
        // A mark newer than the listing survives it (the watch brings its event next).
        for (key, (revision, state)) in entries.drain() {
            if let Some(listed) = fresh.get_mut(&key)
                && listed.0 < revision
            {
                *listed = (revision, state);
            }
        }
        *entries = fresh;
        self.synced.store(true, Ordering::Release);
    }

    fn apply(&self, event: &Event) {
        let revision = event.revision();
        let state = match event.kind {
            EventKind::Put => is_terminating(&event.kv.value),
            EventKind::Delete => None,
        };
        let mut entries = skiff_sync::write(&self.terminating);
        if entries.get(&event.kv.key).is_some_and(|e| e.0 > revision) {
            return;
        }
        match state {
            Some(state) => entries.insert(event.kv.key.clone(), (revision, state)),
            None => entries.remove(&event.kv.key),
        };
    }

    fn unsync(&self) {
        self.synced.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(key: &str, value: serde_json::Value) -> KeyValue {
        at(key, value, 1)
    }

    fn at(key: &str, value: serde_json::Value, revision: u64) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: serde_json::to_vec(&value).unwrap(),
            create_revision: 1,
            mod_revision: revision,
            version: 1,
        }
    }

    fn event(kind: EventKind, kv: KeyValue) -> Event {
        Event {
            kind,
            kv,
            prev: None,
        }
    }

    #[test]
    fn lookups_follow_the_listing_and_the_watch() {
        let index = NamespaceIndex::default();
        let open =
            json!({"metadata": {"name": "a", "uid": "1"}, "spec": {"finalizers": ["kubernetes"]}});
        let going = json!({"metadata": {"name": "b", "deletionTimestamp": "2026-12-06T00:00:00Z"}});
        assert_eq!(
            index.state("ns/a"),
            NamespaceState::Unknown,
            "not listed yet"
        );
        index.reset(vec![kv("ns/a", open.clone()), kv("ns/b", going.clone())]);
        assert_eq!(index.state("ns/a"), NamespaceState::Open);
        assert_eq!(index.state("ns/b"), NamespaceState::Terminating);
        assert_eq!(
            index.state("ns/c"),
            NamespaceState::Unknown,
            "absent: read the store"
        );

        index.apply(&event(EventKind::Put, at("ns/a", going, 2)));
        assert_eq!(index.state("ns/a"), NamespaceState::Terminating);
        index.apply(&event(EventKind::Delete, at("ns/a", open.clone(), 3)));
        assert_eq!(index.state("ns/a"), NamespaceState::Unknown);
        index.apply(&event(EventKind::Put, at("ns/c", open, 4)));
        assert_eq!(index.state("ns/c"), NamespaceState::Open);

        index.unsync();
        assert_eq!(index.state("ns/c"), NamespaceState::Unknown, "out of sync");
    }

    #[test]
    fn a_null_deletion_timestamp_is_open_and_unreadable_bytes_are_not_indexed() {
        let index = NamespaceIndex::default();
        let null = json!({"metadata": {"name": "a", "deletionTimestamp": null}});
        let mut broken = kv("ns/b", json!({}));
        broken.value = b"not json".to_vec();
        index.reset(vec![kv("ns/a", null), broken]);
        assert_eq!(index.state("ns/a"), NamespaceState::Open);
        assert_eq!(index.state("ns/b"), NamespaceState::Unknown);
    }

    #[test]
    fn a_local_mark_wins_over_older_events_and_an_older_listing() {
        let index = NamespaceIndex::default();
        let open = json!({"metadata": {"name": "a"}});
        let going = json!({"metadata": {"name": "a", "deletionTimestamp": "2026-12-06T00:00:00Z"}});
        index.reset(vec![at("ns/a", open.clone(), 5)]);
        index.mark_terminating("ns/a", 7);
        assert_eq!(index.state("ns/a"), NamespaceState::Terminating);
        index.apply(&event(EventKind::Put, at("ns/a", open.clone(), 6)));
        assert_eq!(
            index.state("ns/a"),
            NamespaceState::Terminating,
            "older event ignored"
        );
        index.reset(vec![at("ns/a", open.clone(), 6)]);
        assert_eq!(
            index.state("ns/a"),
            NamespaceState::Terminating,
            "older listing"
        );
        index.apply(&event(EventKind::Put, at("ns/a", going, 7)));
        index.apply(&event(EventKind::Delete, at("ns/a", open.clone(), 9)));
        assert_eq!(
            index.state("ns/a"),
            NamespaceState::Unknown,
            "removed: read the store"
        );
        index.mark_terminating("ns/b", 3);
        index.apply(&event(EventKind::Put, at("ns/b", open, 4)));
        assert_eq!(
            index.state("ns/b"),
            NamespaceState::Open,
            "a newer event wins"
        );
    }
}
