//! The in-memory key index of the MVCC map, as etcd keeps one: for every key, the revisions
//! it was written at, plus its current value. Pure data, no I/O.
//!
//! redb stores each version once, keyed by revision, so a write appends instead of rewriting
//! a leaf in the middle of a key-ordered table. The index answers "which version of this key
//! is visible at revision R": the current one (served from memory) or an older one (read back
//! from redb by its [`VersionId`]).
//!
//! Invariants:
//! - `versions` of a key are in ascending revision order, and `current` is the value of the
//!   last one unless that one is a deletion.
//! - The index only ever describes versions already committed to redb: the write path publishes
//!   a batch here after its redb transaction commits.
//! - After compaction to C, each key keeps its newest version at or below C if that one is not a
//!   deletion, and everything above C; a key left with no versions is gone. What it dropped
//!   waits in `doomed` until the write path deletes it from redb.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use super::state_machine::{LogId, StoredMembership};
use super::types::KeyValue;

/// Where a version lives in redb's `revisions` table: the revision and the op's place in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct VersionId {
    pub revision: u64,
    pub op: u32,
}

/// One version of a key, as the index records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VersionRef {
    pub id: VersionId,
    pub deleted: bool,
}

#[derive(Debug, Default)]
struct KeyEntry {
    versions: Vec<VersionRef>,
    current: Option<Arc<KeyValue>>,
}

/// What a read at one revision finds for one key.
#[derive(Clone, Debug)]
pub(crate) enum Found {
    /// The key's current value is the one visible.
    Current(Arc<KeyValue>),
    /// An older version is visible; read it from redb.
    Stored(VersionId),
}

/// A change to publish: `key` was written (or deleted, `value: None`) at `version`.
#[derive(Debug)]
pub(crate) struct Change {
    pub key: String,
    pub version: VersionRef,
    pub value: Option<Arc<KeyValue>>,
}

/// The whole in-memory state: keys, revisions, and the Raft bookkeeping that goes with them,
/// all updated together so a reader sees one applied batch or the next, never half of one.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    keys: BTreeMap<String, KeyEntry>,
    pub revision: u64,
    pub compacted: u64,
    pub applied: Option<LogId>,
    pub membership: StoredMembership,
    /// Bumped when a snapshot replaces the whole state, which reuses version ids: a reader that
    /// looked a version up before the bump must not trust what it reads from redb after it.
    pub generation: u64,
    /// Versions compaction dropped from the index that redb still holds, oldest first. The
    /// write path deletes a few with every batch, so a compaction never stalls applies.
    pub doomed: VecDeque<VersionId>,
}

impl KeyIndex {
    /// The key's current value, if it exists now.
    pub(crate) fn current(&self, key: &str) -> Option<&Arc<KeyValue>> {
        self.keys.get(key).and_then(|e| e.current.as_ref())
    }

    /// The version of `key` visible at `revision` (which the caller has checked is inside the
    /// window), or `None` if the key did not exist then.
    pub(crate) fn find(&self, key: &str, revision: u64) -> Option<Found> {
        find_in(self.keys.get(key)?, revision)
    }

    /// Up to `limit` keys under `prefix` after `start_after`, in key order, each with what is
    /// visible at `revision`; and whether more follow.
    pub(crate) fn range(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        revision: u64,
        limit: usize,
    ) -> (Vec<Found>, bool) {
        let start = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let mut out = Vec::new();
        for (key, entry) in self.keys.range::<str, _>((start, Bound::Unbounded)) {
            if !key.starts_with(prefix) {
                break;
            }
            if let Some(found) = find_in(entry, revision) {
                if out.len() == limit {
                    return (out, true);
                }
                out.push(found);
            }
        }
        (out, false)
    }

    /// Every key that exists now, in key order.
    pub(crate) fn live(&self) -> impl Iterator<Item = &Arc<KeyValue>> {
        self.keys.values().filter_map(|e| e.current.as_ref())
    }

    /// Records a committed write.
    pub(crate) fn publish(&mut self, change: Change) {
        let entry = self.keys.entry(change.key).or_default();
        entry.versions.push(change.version);
        entry.current = change.value;
        self.revision = self.revision.max(change.version.id.revision);
    }

    /// The versions that compaction to `target` removes: superseded ones and deletions at or
    /// below it. Call before removing them from redb, then [`KeyIndex::compact`].
    pub(crate) fn compaction_plan(&self, target: u64) -> Vec<(String, VersionId)> {
        let mut doomed = Vec::new();
        for (key, entry) in &self.keys {
            let below = entry.versions.partition_point(|v| v.id.revision <= target);
            for (i, v) in entry.versions[..below].iter().enumerate() {
                if i + 1 < below || v.deleted {
                    doomed.push((key.clone(), v.id));
                }
            }
        }
        doomed
    }

    /// Forgets what `compaction_plan(target)` listed and records the new window.
    pub(crate) fn compact(&mut self, target: u64, doomed: &[(String, VersionId)]) {
        let mut i = 0;
        while i < doomed.len() {
            let key = &doomed[i].0;
            let end = i + doomed[i..].iter().take_while(|(k, _)| k == key).count();
            let ids = &doomed[i..end];
            if let Some(entry) = self.keys.get_mut(key) {
                entry
                    .versions
                    .retain(|v| !ids.iter().any(|(_, id)| *id == v.id));
                if entry.versions.is_empty() {
                    self.keys.remove(key);
                }
            }
            i = end;
        }
        self.doomed.extend(doomed.iter().map(|(_, id)| *id));
        self.compacted = self.compacted.max(target);
    }
}

fn find_in(entry: &KeyEntry, revision: u64) -> Option<Found> {
    let visible = entry
        .versions
        .partition_point(|v| v.id.revision <= revision);
    let version = entry.versions.get(visible.checked_sub(1)?)?;
    if version.deleted {
        return None;
    }
    if visible == entry.versions.len() {
        return entry.current.clone().map(Found::Current);
    }
    Some(Found::Stored(version.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, rev: u64) -> Arc<KeyValue> {
        Arc::new(KeyValue {
            key: key.into(),
            value: format!("v{rev}").into_bytes(),
            create_revision: 1,
            mod_revision: rev,
            version: 1,
        })
    }

    fn write(index: &mut KeyIndex, key: &str, rev: u64, deleted: bool) {
        index.publish(Change {
            key: key.into(),
            version: VersionRef {
                id: VersionId {
                    revision: rev,
                    op: 0,
                },
                deleted,
            },
            value: (!deleted).then(|| kv(key, rev)),
        });
    }

    fn stored_at(found: Option<Found>) -> Option<u64> {
        match found? {
            Found::Current(kv) => Some(kv.mod_revision),
            Found::Stored(id) => Some(id.revision),
        }
    }

    #[test]
    fn finds_the_version_visible_at_each_revision() {
        let mut index = KeyIndex::default();
        write(&mut index, "/a", 1, false);
        write(&mut index, "/a", 3, false);
        write(&mut index, "/a", 5, true);
        write(&mut index, "/a", 7, false);
        let at = |r| stored_at(index.find("/a", r));
        assert_eq!(
            [at(0), at(1), at(2), at(4), at(5), at(6), at(7), at(9)],
            [
                None,
                Some(1),
                Some(1),
                Some(3),
                None,
                None,
                Some(7),
                Some(7)
            ]
        );
        assert!(matches!(index.find("/a", 8), Some(Found::Current(_))));
        assert!(matches!(index.find("/a", 4), Some(Found::Stored(_))));
        assert_eq!(index.revision, 7);
    }

    #[test]
    fn ranges_skip_absent_keys_and_page() {
        let mut index = KeyIndex::default();
        for (i, key) in ["/p/a", "/p/b", "/p/c", "/q/a"].into_iter().enumerate() {
            write(&mut index, key, i as u64 + 1, false);
        }
        write(&mut index, "/p/b", 5, true);
        let (found, more) = index.range("/p/", None, 5, 10);
        assert_eq!(found.len(), 2);
        assert!(!more);
        let (found, more) = index.range("/p/", None, 4, 2);
        assert_eq!((found.len(), more), (2, true));
        let (found, more) = index.range("/p/", Some("/p/b"), 4, 2);
        assert_eq!(stored_at(found.into_iter().next()), Some(3));
        assert!(!more);
    }

    #[test]
    fn compaction_keeps_what_reads_in_the_window_can_see() {
        let mut index = KeyIndex::default();
        write(&mut index, "/a", 1, false);
        write(&mut index, "/a", 2, false);
        write(&mut index, "/b", 3, false);
        write(&mut index, "/b", 4, true);
        write(&mut index, "/a", 6, false);
        let plan = index.compaction_plan(5);
        let revisions: Vec<u64> = plan.iter().map(|(_, id)| id.revision).collect();
        assert_eq!(
            revisions,
            [1, 3, 4],
            "/a's superseded 1; /b's 3 and its deletion 4"
        );
        index.compact(5, &plan);
        assert_eq!(index.compacted, 5);
        assert_eq!(stored_at(index.find("/a", 5)), Some(2));
        assert_eq!(stored_at(index.find("/a", 6)), Some(6));
        assert!(index.find("/b", 5).is_none());
        assert_eq!(index.live().count(), 1);
        assert!(
            index.compaction_plan(5).is_empty(),
            "compaction is idempotent"
        );
    }
}
