//! openraft's `RaftLogReader` and `RaftLogStorage` for [`LogStore`]: writes go to the writer
//! thread's queue, reads run redb read transactions on tokio's blocking pool.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::Ordering;

use openraft::OptionalSend;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use redb::ReadableDatabase as _;

use super::command::Cmd;
use super::tables::{self, KEY_COMMITTED, KEY_LAST_PURGED, LOG, META};
use super::{Entry, LogId, LogStore, Vote};
use crate::codec;
use crate::types::TypeConfig;

/// Entries returned by one `limited_get_log_entries` at most: bounds one replication message.
const MAX_LIMITED_READ: usize = 4096;

impl LogStore {
    /// Reads `start..end` (at most `limit` entries) off the async executor, skipping what is
    /// purged even if its deletion is still under way.
    async fn read(&self, start: u64, end: Option<u64>, limit: usize) -> io::Result<Vec<Entry>> {
        let start = start.max(self.purged_next());
        if end.is_some_and(|end| end <= start) {
            return Ok(Vec::new());
        }
        if let Some(entries) = self.with_tail(|tail| tail.get(start, end, limit)) {
            return Ok(entries);
        }
        // Older than the tail: redb has every entry below the tail's first, and the tail has
        // the rest (which redb may not have yet).
        let tail_first = self.with_tail(|tail| tail.first());
        let file_end = match (end, tail_first) {
            (Some(end), Some(first)) => Some(end.min(first)),
            (None, first) => first,
            (end, None) => end,
        };
        let shared = self.shared.clone();
        let mut entries = blocking(move || {
            tables::read_entries(&shared.path, &shared.db, start, file_end, limit)
        })
        .await?;
        if let Some(first) = tail_first
            && entries.len() < limit
            && entries.last().is_none_or(|e| e.log_id.index + 1 == first)
        {
            let more = limit - entries.len();
            if let Some(rest) = self.with_tail(|tail| tail.get(first, end, more)) {
                entries.extend(rest);
            }
        }
        Ok(entries)
    }
}

impl LogStore {
    /// Applies a write that succeeded to the tail too; after a failed one the file's contents
    /// are unknown, so the tail is dropped and reads go to redb.
    fn mirror(&self, result: &io::Result<()>, apply: impl FnOnce(&mut super::tail::Tail)) {
        self.with_tail(|tail| match result {
            Ok(()) => apply(tail),
            Err(_) => tail.clear(),
        });
    }
}

/// Runs blocking redb work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("raft log read task failed: {e}")))?
}

/// `range` as `start..end`, `end == None` meaning unbounded.
fn bounds(range: &impl RangeBounds<u64>) -> (u64, Option<u64>) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.checked_add(1),
        Bound::Excluded(&e) => Some(e),
        Bound::Unbounded => None,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let (start, end) = bounds(&range);
        self.read(start, end, usize::MAX).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.saved_vote())
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, io::Error> {
        self.read(start, Some(end), MAX_LIMITED_READ).await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let shared = self.shared.clone();
        blocking(move || {
            let path = &shared.path;
            let txn = shared
                .db
                .begin_read()
                .map_err(|e| tables::io_err(path, "cannot begin a read", e))?;
            let meta = txn
                .open_table(META)
                .map_err(|e| tables::io_err(path, "cannot open the meta table", e))?;
            let log = txn
                .open_table(LOG)
                .map_err(|e| tables::io_err(path, "cannot open the log table", e))?;
            let last_purged: Option<LogId> = tables::read_meta(path, &meta, KEY_LAST_PURGED)?;
            let last_entry = tables::last_entry_id(path, &log)?;
            let last_log_id = match (last_entry, &last_purged) {
                (Some(last), Some(purged)) if last.index <= purged.index => Some(*purged),
                (Some(last), _) => Some(last),
                (None, purged) => *purged,
            };
            Ok(LogState {
                last_purged_log_id: last_purged,
                last_log_id,
            })
        })
        .await
        .map(|mut state| {
            // Appended entries the writer has not committed yet are already in the tail.
            if let Some(last) = self.with_tail(|tail| tail.last_id())
                && state.last_log_id.is_none_or(|id| id.index < last.index)
            {
                state.last_log_id = Some(last);
            }
            state
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let bytes = codec::encode(vote);
        self.shared
            .writer
            .call(|done| Cmd::Vote { bytes, done })
            .await?;
        self.set_saved_vote(*vote);
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        let bytes = codec::encode(&committed);
        // The slot is plain data, valid even if a holder panicked.
        *skiff_sync::lock(&self.shared.committed) = Some(committed);
        // Not awaited: see the module docs' durability model.
        self.shared.writer.send(Cmd::Committed { bytes })
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        let saved = *skiff_sync::lock(&self.shared.committed);
        if let Some(committed) = saved {
            return Ok(committed);
        }
        let shared = self.shared.clone();
        blocking(move || {
            let path = &shared.path;
            let txn = shared
                .db
                .begin_read()
                .map_err(|e| tables::io_err(path, "cannot begin a read", e))?;
            let meta = txn
                .open_table(META)
                .map_err(|e| tables::io_err(path, "cannot open the meta table", e))?;
            let committed: Option<Option<LogId>> = tables::read_meta(path, &meta, KEY_COMMITTED)?;
            Ok(committed.flatten())
        })
        .await
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut kept = Vec::new();
        for entry in entries {
            let index = entry.log_id.index;
            if let Some((prev, _)) = encoded.last()
                && *prev + 1 != index
            {
                let e = io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "raft log {}: append of entry {index} after entry {prev} would leave a hole",
                        self.path().display()
                    ),
                );
                callback.io_completed(Err(io::Error::new(e.kind(), e.to_string())));
                return Err(e);
            }
            let bytes = codec::encode(&entry);
            kept.push((entry, bytes.len()));
            encoded.push((index, bytes));
        }
        // Even an empty append goes through the queue: its callback must not fire before the
        // appends queued ahead of it are durable.
        // Readable at once from the tail; the writer commits and fsyncs behind it and fires
        // `callback` when the entries are durable (or failed).
        let written_next = self
            .shared
            .writer
            .progress
            .written_next
            .load(Ordering::Acquire);
        self.with_tail(|tail| tail.append(kept, written_next));
        let sent = self.shared.writer.send(Cmd::Append {
            entries: encoded,
            flushed: callback,
        });
        if sent.is_err() {
            self.with_tail(|tail| tail.clear());
        }
        sent
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let after = last_log_id.map(|id| id.index);
        let result = self
            .shared
            .writer
            .call(|done| Cmd::Truncate { after, done })
            .await;
        self.mirror(&result, |tail| tail.truncate_after(after));
        result
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let upto = log_id.index;
        let bytes = codec::encode(&log_id);
        self.shared
            .writer
            .call(|done| Cmd::Purge { upto, bytes, done })
            .await?;
        self.with_tail(|tail| tail.purge_upto(upto));
        self.set_purged_next(upto + 1);
        Ok(())
    }
}
