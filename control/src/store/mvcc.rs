//! The MVCC map in redb tables: applying transactions at a new revision, reads at a revision,
//! and compaction of old versions. Pure table logic, no Raft and no async.
//!
//! Tables (all in `state.redb`):
//! - `kv`: key -> current `KeyValue`.
//! - `history`: (key, revision) -> `Version` (the key as of that revision, or its deletion).
//! - `events`: (revision, op index) -> key written at that revision (the watch log).
//! - `meta`: small records: current revision, compacted revision, Raft applied state.
//!
//! Invariant: every write goes to all three data tables in the same redb transaction, so
//! `kv` is always the newest entry of `history`, and `events` lists exactly the `history`
//! entries newer than the compacted revision.

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::codec::{self, CodecError};
use super::types::{
    Action, Event, EventKind, FailureReason, KeyValue, Precondition, Response, Txn, TxnFailure,
};

pub(crate) const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
pub(crate) const HISTORY: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("history");
pub(crate) const EVENTS: TableDefinition<(u64, u32), &str> = TableDefinition::new("events");
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

pub(crate) const META_REVISION: &str = "revision";
pub(crate) const META_COMPACTED: &str = "compacted";

/// One key's state as of one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Version {
    pub kv: KeyValue,
    /// The key was deleted at `kv.mod_revision`; `kv.value` is the last value it had.
    pub deleted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MvccError {
    #[error("storage: {0}")]
    Redb(#[from] redb::Error),
    #[error("decoding a stored record: {0}")]
    Codec(#[from] CodecError),
}

macro_rules! redb_error_into_mvcc {
    ($($t:ty),*) => {$(
        impl From<$t> for MvccError {
            fn from(e: $t) -> Self {
                MvccError::Redb(e.into())
            }
        }
    )*};
}
redb_error_into_mvcc!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<MvccError> for std::io::Error {
    fn from(e: MvccError) -> Self {
        std::io::Error::other(e)
    }
}

pub(crate) fn read_u64<T: ReadableTable<&'static str, &'static [u8]>>(
    meta: &T,
    key: &str,
) -> Result<u64, MvccError> {
    match meta.get(key)? {
        Some(v) => Ok(codec::decode(v.value())?),
        None => Ok(0),
    }
}

pub(crate) fn write_u64(
    meta: &mut redb::Table<&str, &[u8]>,
    key: &str,
    value: u64,
) -> Result<(), MvccError> {
    meta.insert(key, codec::encode(&value).as_slice())?;
    Ok(())
}

/// The open tables of one write transaction. Transactions applied through it bump the
/// revision in memory; [`WriteTables::finish`] stores it once, so a batch of N writes costs one
/// meta update instead of N.
pub(crate) struct WriteTables<'t> {
    pub kv: redb::Table<'t, &'static str, &'static [u8]>,
    pub history: redb::Table<'t, (&'static str, u64), &'static [u8]>,
    pub events: redb::Table<'t, (u64, u32), &'static str>,
    pub meta: redb::Table<'t, &'static str, &'static [u8]>,
    /// The current revision once read, and whether it changed since.
    revision: Option<(u64, bool)>,
}

impl<'t> WriteTables<'t> {
    pub fn open(txn: &'t redb::WriteTransaction) -> Result<Self, MvccError> {
        Ok(WriteTables {
            kv: txn.open_table(KV)?,
            history: txn.open_table(HISTORY)?,
            events: txn.open_table(EVENTS)?,
            meta: txn.open_table(META)?,
            revision: None,
        })
    }

    /// The current revision, including transactions applied through these tables.
    fn revision(&mut self) -> Result<u64, MvccError> {
        if let Some((revision, _)) = self.revision {
            return Ok(revision);
        }
        let revision = read_u64(&self.meta, META_REVISION)?;
        self.revision = Some((revision, false));
        Ok(revision)
    }

    /// Stores the revision if transactions changed it. Call before committing.
    pub fn finish(mut self) -> Result<(), MvccError> {
        if let Some((revision, true)) = self.revision {
            write_u64(&mut self.meta, META_REVISION, revision)?;
        }
        Ok(())
    }

    fn current(&self, key: &str) -> Result<Option<KeyValue>, MvccError> {
        match self.kv.get(key)? {
            Some(v) => Ok(Some(codec::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Checks every precondition, then applies every op at `revision + 1`. `events` receives
    /// what watchers must see.
    pub fn apply_txn(&mut self, txn: &Txn, events: &mut Vec<Event>) -> Result<Response, MvccError> {
        let revision = self.revision()?;
        let mut prev = Vec::with_capacity(txn.ops.len());
        for (op_index, op) in txn.ops.iter().enumerate() {
            let current = self.current(&op.key)?;
            let reason = match (op.precondition, &current, &op.action) {
                (Precondition::Absent, Some(_), _) => Some(FailureReason::AlreadyExists),
                (Precondition::ModRevision(want), cur, _)
                    if cur.as_ref().map(|c| c.mod_revision) != Some(want) =>
                {
                    Some(FailureReason::RevisionMismatch {
                        current: cur.as_ref().map(|c| c.mod_revision),
                    })
                }
                (_, None, Action::Delete) => Some(FailureReason::NotFound),
                _ => None,
            };
            if let Some(reason) = reason {
                let failure = TxnFailure {
                    op_index,
                    key: op.key.clone(),
                    reason,
                    revision,
                };
                return Ok(Response::Failed(failure));
            }
            prev.push(current);
        }
        // Two ops on one key in one transaction would make `prev` and the history ambiguous.
        for (i, op) in txn.ops.iter().enumerate() {
            if txn.ops[..i].iter().any(|o| o.key == op.key) {
                let failure = TxnFailure {
                    op_index: i,
                    key: op.key.clone(),
                    reason: FailureReason::AlreadyExists,
                    revision,
                };
                return Ok(Response::Failed(failure));
            }
        }

        let new_rev = revision + 1;
        for (i, (op, before)) in txn.ops.iter().zip(&prev).enumerate() {
            let (kind, version) = match &op.action {
                Action::Put(value) => {
                    let kv = KeyValue {
                        key: op.key.clone(),
                        value: value.clone(),
                        create_revision: before.as_ref().map_or(new_rev, |b| b.create_revision),
                        mod_revision: new_rev,
                        version: before.as_ref().map_or(1, |b| b.version + 1),
                    };
                    self.kv
                        .insert(op.key.as_str(), codec::encode(&kv).as_slice())?;
                    (EventKind::Put, Version { kv, deleted: false })
                }
                Action::Delete => {
                    self.kv.remove(op.key.as_str())?;
                    let mut kv = before.clone().expect("precondition checked the key exists");
                    kv.mod_revision = new_rev;
                    (EventKind::Delete, Version { kv, deleted: true })
                }
            };
            self.history.insert(
                (op.key.as_str(), new_rev),
                codec::encode(&version).as_slice(),
            )?;
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            self.events.insert((new_rev, index), op.key.as_str())?;
            events.push(Event {
                kind,
                kv: version.kv,
                prev: before.clone(),
            });
        }
        self.revision = Some((new_rev, true));
        Ok(Response::Committed {
            revision: new_rev,
            prev,
        })
    }

    /// Drops events at or below `target` and every version that no read at a revision
    /// `>= target` can see. Returns the compacted revision in effect afterwards.
    pub fn compact(&mut self, target: u64) -> Result<u64, MvccError> {
        let revision = self.revision()?;
        let compacted = read_u64(&self.meta, META_COMPACTED)?;
        let target = target.min(revision);
        if target <= compacted {
            return Ok(compacted);
        }
        let mut doomed_events = Vec::new();
        for item in self.events.range((compacted + 1, 0)..=(target, u32::MAX))? {
            let (k, v) = item?;
            doomed_events.push((k.value(), v.value().to_owned()));
        }
        for ((rev, index), key) in doomed_events {
            self.events.remove((rev, index))?;
            // The version at `rev` is still visible at `target` unless a newer one exists at or
            // below `target`; a visible deletion needs no record either.
            let newer = self
                .history
                .range((key.as_str(), rev + 1)..=(key.as_str(), target))?
                .next()
                .is_some();
            let keep = !newer && {
                let raw = self.history.get((key.as_str(), rev))?;
                match raw {
                    Some(v) => !codec::decode::<Version>(v.value())?.deleted,
                    None => false,
                }
            };
            if !keep {
                self.history.remove((key.as_str(), rev))?;
            }
        }
        write_u64(&mut self.meta, META_COMPACTED, target)?;
        Ok(target)
    }
}

/// Reads the key's version visible at `revision` from the history table.
pub(crate) fn version_at<T>(
    history: &T,
    key: &str,
    revision: u64,
) -> Result<Option<KeyValue>, MvccError>
where
    T: ReadableTable<(&'static str, u64), &'static [u8]>,
{
    match history.range((key, 0)..=(key, revision))?.next_back() {
        Some(item) => {
            let version: Version = codec::decode(item?.1.value())?;
            Ok((!version.deleted).then_some(version.kv))
        }
        None => Ok(None),
    }
}

/// Rebuilds the watch event for `key` written at `revision`.
pub(crate) fn event_at<T>(history: &T, key: &str, revision: u64) -> Result<Option<Event>, MvccError>
where
    T: ReadableTable<(&'static str, u64), &'static [u8]>,
{
    let Some(raw) = history.get((key, revision))? else {
        return Ok(None);
    };
    let version: Version = codec::decode(raw.value())?;
    drop(raw);
    let prev = version_at(history, key, revision.saturating_sub(1))?;
    let kind = if version.deleted {
        EventKind::Delete
    } else {
        EventKind::Put
    };
    Ok(Some(Event {
        kind,
        kv: version.kv,
        prev,
    }))
}
