//! The log's one writer thread: applies commands strictly in the order they were queued, merges
//! consecutive appends into one redb transaction, and fsyncs once per group (group commit).
//!
//! A group of appends found with the queue empty behind it commits with `Durability::Immediate`
//! (one fsync) and fires its `IOFlushed` callbacks. Under load, when more commands wait, a group
//! commits with `Durability::None` (no fsync) and its callbacks wait in `unflushed` until the
//! queue runs dry and an empty `Durability::Immediate` commit makes everything before it
//! durable. Votes and truncations commit durably and so flush the waiting appends too. Purges
//! record `last_purged`, delete a first chunk, and leave the rest to `purge_chunk`, run whenever
//! the queue is empty, so a large purge never holds the writer for long.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use openraft::storage::IOFlushed;
use redb::{Durability, ReadableTable, WriteTransaction};

use super::command::Cmd;
use super::tables::{KEY_COMMITTED, KEY_LAST_PURGED, KEY_VOTE, LOG, META};
use crate::store::types::TypeConfig;

/// Entries deleted per purge transaction: small enough to keep each commit short.
const PURGE_CHUNK: u64 = 1024;
/// Entries merged into one append transaction at most, to bound the time readers wait.
const MAX_GROUP_ENTRIES: usize = 16 * 1024;
/// How long a non-durable commit nobody waits for (`save_committed`, a purge) may stay
/// unsynced while the log is idle.
const LAZY_FLUSH_AFTER: Duration = Duration::from_millis(50);

pub(super) struct Writer {
    path: PathBuf,
    db: Arc<redb::Database>,
    rx: mpsc::Receiver<Cmd>,
    /// A command taken off the queue while merging appends, to run next.
    stashed: Option<Cmd>,
    /// Callbacks of appends committed without fsync, fired by the next durable commit.
    unflushed: Vec<IOFlushed<TypeConfig>>,
    /// Non-durable commits that nobody waits for are pending; sync them when idle.
    lazy_dirty: bool,
    /// A purge's entries up to this index are still to be deleted.
    purge_upto: Option<u64>,
    /// Counts durable commits, each one fsync.
    durable_commits: Arc<AtomicU64>,
    /// One past the last index in the file, published for the tail.
    written_next: Arc<AtomicU64>,
}

impl Writer {
    pub(super) fn new(
        path: &Path,
        db: Arc<redb::Database>,
        rx: mpsc::Receiver<Cmd>,
        purge_upto: Option<u64>,
        durable_commits: Arc<AtomicU64>,
        written_next: Arc<AtomicU64>,
    ) -> Self {
        Writer {
            path: path.to_owned(),
            db,
            rx,
            stashed: None,
            unflushed: Vec::new(),
            lazy_dirty: false,
            purge_upto,
            durable_commits,
            written_next,
        }
    }

    pub(super) fn run(mut self) {
        loop {
            let next = if let Some(cmd) = self.stashed.take() {
                Ok(cmd)
            } else if !self.unflushed.is_empty() || self.purge_upto.is_some() {
                self.rx
                    .try_recv()
                    .map_err(|e| e == TryRecvError::Disconnected)
            } else if self.lazy_dirty {
                self.rx
                    .recv_timeout(LAZY_FLUSH_AFTER)
                    .map_err(|e| e == RecvTimeoutError::Disconnected)
            } else {
                self.rx.recv().map_err(|_| true)
            };
            match next {
                Ok(cmd) => self.handle(cmd),
                Err(true) => break,
                Err(false) if !self.unflushed.is_empty() => self.flush(),
                Err(false) if self.purge_upto.is_some() => self.purge_chunk(),
                Err(false) => self.flush(),
            }
        }
        // Finish a purge still under way, so a clean stop leaves no purged entries behind.
        while self.purge_upto.is_some() {
            self.purge_chunk();
        }
        if self.lazy_dirty || !self.unflushed.is_empty() {
            self.flush();
        }
    }

    fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Append { entries, flushed } => self.append_group(entries, flushed),
            Cmd::Vote { bytes, done } => {
                let result = self.durable(|txn| {
                    txn.open_table(META)?.insert(KEY_VOTE, bytes.as_slice())?;
                    Ok(())
                });
                done.send(result).ok();
            }
            Cmd::Committed { bytes } => {
                let result = self.write(Durability::None, |txn| {
                    txn.open_table(META)?
                        .insert(KEY_COMMITTED, bytes.as_slice())?;
                    Ok(())
                });
                match result {
                    Ok(()) => self.lazy_dirty = true,
                    // Nobody waits for this write; the next append or fsync reports the disk.
                    Err(e) => tracing::error!("{e}"),
                }
            }
            Cmd::Truncate { after, done } => {
                let from = after.map_or(0, |after| after + 1);
                let result = self.durable(|txn| {
                    txn.open_table(LOG)?.retain_in(from.., |_, _| false)?;
                    Ok(())
                });
                self.written_next.fetch_min(from, Ordering::AcqRel);
                done.send(result).ok();
            }
            Cmd::Purge { upto, bytes, done } => {
                let result = self.write(Durability::None, |txn| {
                    txn.open_table(META)?
                        .insert(KEY_LAST_PURGED, bytes.as_slice())?;
                    Ok(())
                });
                if result.is_ok() {
                    self.lazy_dirty = true;
                    self.purge_upto = self.purge_upto.max(Some(upto));
                    self.purge_chunk();
                }
                done.send(result).ok();
            }
        }
    }

    /// Writes this append and every append queued right behind it in one non-durable commit,
    /// with the newest committed log id queued among them.
    fn append_group(&mut self, entries: Vec<(u64, Vec<u8>)>, flushed: IOFlushed<TypeConfig>) {
        let mut count = entries.len();
        let mut group = vec![(entries, flushed)];
        let mut committed = None;
        let mut queue_empty = false;
        while count < MAX_GROUP_ENTRIES {
            match self.rx.try_recv() {
                Ok(Cmd::Append { entries, flushed }) => {
                    count += entries.len();
                    group.push((entries, flushed));
                }
                // Committed only names entries appended before it, so it may share their commit.
                Ok(Cmd::Committed { bytes }) => committed = Some(bytes),
                Ok(other) => {
                    self.stashed = Some(other);
                    break;
                }
                Err(_) => {
                    queue_empty = true;
                    break;
                }
            }
        }
        let last = group
            .iter()
            .rev()
            .find_map(|(entries, _)| entries.last().map(|(index, _)| *index));
        let (entries, callbacks): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        let insert = |txn: &WriteTransaction| {
            let mut table = txn.open_table(LOG)?;
            for (index, bytes) in entries.iter().flatten() {
                table.insert(*index, bytes.as_slice())?;
            }
            if let Some(bytes) = &committed {
                txn.open_table(META)?
                    .insert(KEY_COMMITTED, bytes.as_slice())?;
            }
            Ok(())
        };
        let result = if queue_empty {
            // Nothing else is waiting: one durable commit writes and syncs the group (and
            // whatever earlier groups still wait for their fsync) in one go.
            self.unflushed.extend(callbacks);
            self.durable(insert)
        } else {
            let result = self.write(Durability::None, insert);
            for flushed in callbacks {
                match &result {
                    Ok(()) => self.unflushed.push(flushed),
                    Err(e) => flushed.io_completed(Err(copy(e))),
                }
            }
            result
        };
        if let (Ok(()), Some(last)) = (&result, last) {
            self.written_next.store(last + 1, Ordering::Release);
        }
    }

    /// Makes every earlier commit durable, then reports the waiting appends flushed.
    fn flush(&mut self) {
        let result = self.durable(|_| Ok(()));
        if let Err(e) = result {
            tracing::error!("{e}");
        }
    }

    /// Commits `f` durably; on success the appends committed before it are durable too.
    fn durable(
        &mut self,
        f: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
    ) -> io::Result<()> {
        let result = self.write(Durability::Immediate, f);
        if result.is_ok() {
            self.durable_commits.fetch_add(1, Ordering::Relaxed);
            self.lazy_dirty = false;
        }
        for flushed in self.unflushed.drain(..) {
            flushed.io_completed(result.as_ref().map(|_| ()).map_err(copy));
        }
        result
    }

    /// Deletes the next chunk of a pending purge.
    fn purge_chunk(&mut self) {
        let Some(upto) = self.purge_upto else { return };
        let mut finished = true;
        let result = self.write(Durability::None, |txn| {
            let mut table = txn.open_table(LOG)?;
            let first = table.first()?.map(|(key, _)| key.value());
            if let Some(first) = first.filter(|first| *first <= upto) {
                let end = upto.min(first.saturating_add(PURGE_CHUNK - 1));
                table.retain_in(first..=end, |_, _| false)?;
                finished = end == upto;
            }
            Ok(())
        });
        self.lazy_dirty = true;
        match result {
            Ok(()) if !finished => {}
            Ok(()) => self.purge_upto = None,
            Err(e) => {
                // Leave the rest: `last_purged` already hides these entries and the next open
                // resumes the deletion.
                tracing::error!("{e}");
                self.purge_upto = None;
            }
        }
    }

    fn write(
        &self,
        durability: Durability,
        f: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
    ) -> io::Result<()> {
        let run = || -> Result<(), redb::Error> {
            let mut txn = self.db.begin_write()?;
            txn.set_durability(durability)?;
            f(&txn)?;
            txn.commit()?;
            Ok(())
        };
        run().map_err(|e| {
            io::Error::other(format!(
                "raft log {}: write failed: {e}",
                self.path.display()
            ))
        })
    }
}

/// io::Error is not Clone; every waiter gets the same kind and message.
fn copy(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}
