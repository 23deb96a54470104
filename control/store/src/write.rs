//! The MVCC write path: applying committed Raft entries to `revisions` and `meta` in redb
//! transactions, then publishing them to the key index. Called only by the apply path, one
//! batch at a time, so the index cannot change under a batch except through the batch itself.
//!
//! A batch's transactions read the current values from the index, overlaid with the batch's own
//! earlier writes, and append each new version at `(revision, op index)`. Compaction runs in a
//! transaction of its own, after everything before it in the batch is committed and published;
//! it only moves the window and drops versions from the index, and later batches delete those
//! versions from redb a few at a time.

mod batch;

use openraft::EntryPayload;
use redb::Durability;

use super::codec;
use super::index::VersionId;
use super::mvcc::{self, META, META_COMPACTED, META_REVISION, Mvcc, MvccError, REVISIONS};
use super::state_machine::{LogId, META_APPLIED};
use super::types::{Event, Request, Response, TypeConfig};
use batch::Batch;

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
        let mut batch = Batch::new(self.revision());
        let applied = entries.last().map(|e| e.log_id);
        let sweep = self.sweep_ids(entries.len());
        {
            let mut table = txn.open_table(REVISIONS)?;
            let mut meta = txn.open_table(META)?;
            for id in &sweep {
                table.remove((id.revision, id.op))?;
            }
            let start = batch.revision;
            for entry in entries {
                let response = batch.apply_entry(self, &mut table, &mut meta, entry, events)?;
                responses.push(response);
            }
            if batch.revision != start {
                mvcc::write_u64(&mut meta, META_REVISION, batch.revision)?;
            }
            meta.insert(META_APPLIED, codec::encode(&applied).as_slice())?;
        }
        set_durability(&mut txn, durable)?;
        txn.commit()?;
        self.publish_segment(batch, sweep.len(), applied);
        Ok(())
    }

    /// The compacted versions a segment of `entries` entries deletes from redb: the oldest
    /// [`SWEEP_BASE`] plus [`SWEEP_PER_ENTRY`] per entry of the index's `doomed` queue.
    fn sweep_ids(&self, entries: usize) -> Vec<VersionId> {
        let index = self.index();
        let n = SWEEP_BASE + SWEEP_PER_ENTRY * entries;
        index.doomed.iter().take(n).copied().collect()
    }

    /// Publishes a committed segment to the index: forgets the `swept` versions deleted from
    /// redb, makes the batch's changes visible and records the applied log id and membership.
    fn publish_segment(&self, batch: Batch, swept: usize, applied: Option<LogId>) {
        let mut index = self.index_mut();
        index.doomed.drain(..swept);
        for change in batch.changes {
            index.publish(change);
        }
        index.applied = applied.or(index.applied);
        if let Some(m) = batch.membership {
            index.membership = m;
        }
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
