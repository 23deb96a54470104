//! The MVCC write path: applying committed Raft entries to `revisions` and `meta` in redb
//! transactions, then publishing them to the key index. Called only by the apply path, one
//! batch at a time, so the index cannot change under a batch except through the batch itself.
//!
//! A batch's transactions read the current values from the index, overlaid with the batch's own
//! earlier writes, and append each new version at `(revision, op index)`. Compaction runs in a
//! transaction of its own, after everything before it in the batch is committed and published;
//! it only moves the window and drops versions from the index, and later batches delete those
//! versions from redb a few at a time.

use std::collections::HashMap;
use std::sync::Arc;

use openraft::EntryPayload;
use redb::Durability;

use super::codec;
use super::index::{Change, VersionId, VersionRef};
use super::mvcc::{
    self, META, META_COMPACTED, META_REVISION, Mvcc, MvccError, REVISIONS, VersionOut,
};
use super::state_machine::{LogId, META_APPLIED, META_MEMBERSHIP, StoredMembership};
use super::types::{
    Action, Event, EventKind, FailureReason, KeyValue, Op, Precondition, Request, Response, Txn,
    TxnFailure, TypeConfig,
};

type Entry = openraft::alias::EntryOf<TypeConfig>;

/// Compacted versions deleted from redb per batch, plus this many per entry: enough to keep
/// up with any write rate, little enough not to show in a lone write's latency.
const SWEEP_BASE: usize = 64;
const SWEEP_PER_ENTRY: usize = 4;

impl Mvcc {
    /// Applies `entries` in order; the last redb commit is durable if `durable`. Returns each
    /// entry's answer and the events for watchers.
    pub(crate) fn apply_entries(
        &self,
        entries: &[Entry],
        durable: bool,
    ) -> Result<(Vec<Response>, Vec<Event>), MvccError> {
        let mut responses = Vec::with_capacity(entries.len());
        let mut events = Vec::new();
        let mut rest = entries;
        while let Some(first) = rest.first() {
            if let EntryPayload::Normal(Request::Compact { revision }) = &first.payload {
                let done = self.compact(*revision, first.log_id, durable && rest.len() == 1)?;
                responses.push(Response::Compacted { revision: done });
                rest = &rest[1..];
                continue;
            }
            let run = rest
                .iter()
                .position(|e| matches!(e.payload, EntryPayload::Normal(Request::Compact { .. })))
                .unwrap_or(rest.len());
            let (segment, tail) = rest.split_at(run);
            self.apply_segment(
                segment,
                durable && tail.is_empty(),
                &mut responses,
                &mut events,
            )?;
            rest = tail;
        }
        Ok((responses, events))
    }

    /// Entries without a compaction, in one redb transaction.
    fn apply_segment(
        &self,
        entries: &[Entry],
        durable: bool,
        responses: &mut Vec<Response>,
        events: &mut Vec<Event>,
    ) -> Result<(), MvccError> {
        let mut txn = self.db.begin_write()?;
        let mut batch = Batch {
            revision: self.revision(),
            overlay: HashMap::new(),
            changes: Vec::new(),
        };
        let mut membership = None;
        let applied = entries.last().map(|e| e.log_id);
        let sweep: Vec<VersionId> = {
            let index = self.index();
            let n = SWEEP_BASE + SWEEP_PER_ENTRY * entries.len();
            index.doomed.iter().take(n).copied().collect()
        };
        {
            let mut table = txn.open_table(REVISIONS)?;
            let mut meta = txn.open_table(META)?;
            for id in &sweep {
                table.remove((id.revision, id.op))?;
            }
            let start = batch.revision;
            for entry in entries {
                let response = match &entry.payload {
                    EntryPayload::Blank => Response::Empty,
                    EntryPayload::Normal(Request::Txn(t)) => {
                        batch.apply_txn(self, &mut table, t, events)?
                    }
                    EntryPayload::Normal(Request::Compact { .. }) => {
                        unreachable!("apply_entries gives compactions their own transaction")
                    }
                    EntryPayload::Membership(m) => {
                        let stored = StoredMembership::new(Some(entry.log_id), m.clone());
                        meta.insert(META_MEMBERSHIP, codec::encode(&stored).as_slice())?;
                        membership = Some(stored);
                        Response::Empty
                    }
                };
                responses.push(response);
            }
            if batch.revision != start {
                mvcc::write_u64(&mut meta, META_REVISION, batch.revision)?;
            }
            meta.insert(META_APPLIED, codec::encode(&applied).as_slice())?;
        }
        set_durability(&mut txn, durable)?;
        txn.commit()?;
        let mut index = self.index_mut();
        index.doomed.drain(..sweep.len());
        for change in batch.changes {
            index.publish(change);
        }
        index.applied = applied.or(index.applied);
        if let Some(m) = membership {
            index.membership = m;
        }
        Ok(())
    }

    /// Drops every version no read at a revision `>= target` can see from the index and queues
    /// it for deletion from redb; returns the compacted revision in effect afterwards.
    fn compact(&self, target: u64, log_id: LogId, durable: bool) -> Result<u64, MvccError> {
        let (target, compacted, plan) = {
            let index = self.index();
            let target = target.min(index.revision);
            let plan = (target > index.compacted).then(|| index.compaction_plan(target));
            (target, index.compacted, plan)
        };
        let mut txn = self.db.begin_write()?;
        {
            // Only the window moves here; the versions go from redb batch by batch afterwards
            // (`KeyIndex::doomed`). Until then no read can reach them: reads below the window
            // are refused, and the index no longer points at them.
            let mut meta = txn.open_table(META)?;
            if plan.is_some() {
                mvcc::write_u64(&mut meta, META_COMPACTED, target)?;
            }
            meta.insert(META_APPLIED, codec::encode(&Some(log_id)).as_slice())?;
        }
        set_durability(&mut txn, durable)?;
        txn.commit()?;
        let mut index = self.index_mut();
        index.applied = Some(log_id);
        match plan {
            Some(plan) => {
                index.compact(target, &plan);
                Ok(target)
            }
            None => Ok(compacted),
        }
    }
}

fn set_durability(txn: &mut redb::WriteTransaction, durable: bool) -> Result<(), MvccError> {
    txn.set_durability(if durable {
        Durability::Immediate
    } else {
        Durability::None
    })?;
    Ok(())
}

/// One segment's writes before they are published.
struct Batch {
    revision: u64,
    /// Keys this batch wrote: their newest value (`None`: deleted).
    overlay: HashMap<String, Option<Arc<KeyValue>>>,
    changes: Vec<Change>,
}

impl Batch {
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
