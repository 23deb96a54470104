//! One segment's writes in its redb transaction: each transaction's preconditions checked
//! against the index overlaid with the segment's own earlier writes, its new versions
//! appended to `revisions`, and the changes and events kept for publishing.

use std::collections::HashMap;
use std::sync::Arc;

use openraft::EntryPayload;

use super::Entry;
use crate::codec;
use crate::index::{Change, VersionId, VersionRef};
use crate::mvcc::{Mvcc, MvccError, VersionOut};
use crate::state_machine::{META_MEMBERSHIP, StoredMembership};
use crate::types::{
    Action, Event, EventKind, FailureReason, KeyValue, Op, Precondition, Request, Response, Txn,
    TxnFailure,
};

/// One segment's writes before they are published.
pub(super) struct Batch {
    /// The store's revision with the batch's transactions so far applied.
    pub(super) revision: u64,
    /// Keys this batch wrote: their newest value (`None`: deleted).
    overlay: HashMap<String, Option<Arc<KeyValue>>>,
    /// What the index publishes once the batch is committed.
    pub(super) changes: Vec<Change>,
    /// The membership the batch's last membership entry set, if it had one.
    pub(super) membership: Option<StoredMembership>,
}

impl Batch {
    /// An empty batch on top of the store's `revision`.
    pub(super) fn new(revision: u64) -> Self {
        Batch {
            revision,
            overlay: HashMap::new(),
            changes: Vec::new(),
            membership: None,
        }
    }

    /// Applies one entry of a segment in the segment's transaction and returns its answer:
    /// a transaction goes to `table`, a membership change to `meta` (and the batch).
    pub(super) fn apply_entry(
        &mut self,
        mvcc: &Mvcc,
        table: &mut redb::Table<(u64, u32), &[u8]>,
        meta: &mut redb::Table<&str, &[u8]>,
        entry: &Entry,
        events: &mut Vec<Event>,
    ) -> Result<Response, MvccError> {
        Ok(match &entry.payload {
            EntryPayload::Blank => Response::Empty,
            EntryPayload::Normal(Request::Txn(t)) => self.apply_txn(mvcc, table, t, events)?,
            EntryPayload::Normal(Request::Compact { .. }) => {
                unreachable!("apply_entries gives compactions their own transaction")
            }
            EntryPayload::Membership(m) => {
                let stored = StoredMembership::new(Some(entry.log_id), m.clone());
                meta.insert(META_MEMBERSHIP, codec::encode(&stored).as_slice())?;
                self.membership = Some(stored);
                Response::Empty
            }
        })
    }

    fn current(&self, mvcc: &Mvcc, key: &str) -> Option<Arc<KeyValue>> {
        match self.overlay.get(key) {
            Some(value) => value.clone(),
            None => mvcc.index().current(key).cloned(),
        }
    }

    /// Checks every precondition, then applies every op at `revision + 1`. `events` receives
    /// what watchers must see.
    fn apply_txn(
        &mut self,
        mvcc: &Mvcc,
        table: &mut redb::Table<(u64, u32), &[u8]>,
        txn: &Txn,
        events: &mut Vec<Event>,
    ) -> Result<Response, MvccError> {
        let revision = self.revision;
        let before = match self.check_preconditions(mvcc, txn) {
            Ok(before) => before,
            Err((op_index, reason)) => {
                return Ok(Response::Failed(TxnFailure {
                    op_index,
                    key: txn.ops[op_index].key.clone(),
                    reason,
                    revision,
                }));
            }
        };
        let new_rev = revision + 1;
        for (i, (op, before)) in txn.ops.iter().zip(&before).enumerate() {
            let id = VersionId {
                revision: new_rev,
                op: u32::try_from(i).unwrap_or(u32::MAX),
            };
            self.write_op(table, op, before.as_ref(), id, events)?;
        }
        self.revision = new_rev;
        Ok(Response::Committed {
            revision: new_rev,
            prev: before.into_iter().map(|b| b.as_deref().cloned()).collect(),
        })
    }

    /// Each op's current value, or the index of the first op whose precondition fails and why.
    fn check_preconditions(
        &self,
        mvcc: &Mvcc,
        txn: &Txn,
    ) -> Result<Vec<Option<Arc<KeyValue>>>, (usize, FailureReason)> {
        let mut before = Vec::with_capacity(txn.ops.len());
        for (op_index, op) in txn.ops.iter().enumerate() {
            let current = self.current(mvcc, &op.key);
            let current_rev = current.as_ref().map(|c| c.mod_revision);
            let reason = match (op.precondition, &op.action) {
                (Precondition::Absent, _) if current.is_some() => {
                    Some(FailureReason::AlreadyExists)
                }
                (Precondition::ModRevision(want), _) if current_rev != Some(want) => {
                    Some(FailureReason::RevisionMismatch {
                        current: current_rev,
                    })
                }
                (_, Action::Delete) if current.is_none() => Some(FailureReason::NotFound),
                _ => None,
            };
            if let Some(reason) = reason {
                return Err((op_index, reason));
            }
            before.push(current);
        }
        // Two ops on one key in one transaction would make `prev` and the history ambiguous.
        for (op_index, op) in txn.ops.iter().enumerate() {
            if txn.ops[..op_index].iter().any(|o| o.key == op.key) {
                return Err((op_index, FailureReason::AlreadyExists));
            }
        }
        Ok(before)
    }

    /// Writes one op's new version as `id` (its precondition held: a delete has `before`).
    fn write_op(
        &mut self,
        table: &mut redb::Table<(u64, u32), &[u8]>,
        op: &Op,
        before: Option<&Arc<KeyValue>>,
        id: VersionId,
        events: &mut Vec<Event>,
    ) -> Result<(), MvccError> {
        let (kind, kv) = match &op.action {
            Action::Put(value) => {
                let kv = KeyValue {
                    key: op.key.clone(),
                    value: value.clone(),
                    create_revision: before.map_or(id.revision, |b| b.create_revision),
                    mod_revision: id.revision,
                    version: before.map_or(1, |b| b.version + 1),
                };
                (EventKind::Put, kv)
            }
            Action::Delete => {
                let Some(last) = before else {
                    unreachable!("the precondition checked the key exists")
                };
                let mut kv = KeyValue::clone(last);
                kv.mod_revision = id.revision;
                (EventKind::Delete, kv)
            }
        };
        let deleted = kind == EventKind::Delete;
        let stored = codec::encode(&VersionOut { kv: &kv, deleted });
        table.insert((id.revision, id.op), stored.as_slice())?;
        let value = (!deleted).then(|| Arc::new(kv.clone()));
        self.overlay.insert(op.key.clone(), value.clone());
        self.changes.push(Change {
            key: op.key.clone(),
            version: VersionRef { id, deleted },
            value,
        });
        events.push(Event {
            kind,
            kv,
            prev: before.map(|b| KeyValue::clone(b)),
        });
        Ok(())
    }
}
