//! The log's one writer thread: applies commands strictly in the order they were queued, merges
//! consecutive appends into one redb transaction, and syncs once per group (group commit).
//!
//! A group of appends commits to redb with `Durability::None` (no fsync) and is written as one
//! record to the WAL (`wal`). When the queue is empty behind it, one `fdatasync` of the WAL makes
//! it and every earlier group durable and fires their `IOFlushed` callbacks; under load the
//! callbacks wait in `unflushed` until the queue runs dry. A *checkpoint* is a redb commit with
//! `Durability::Immediate` that also names a new WAL epoch, after which the WAL starts over:
//! one runs when [`CHECKPOINT_EVERY`] has passed, when a group does not fit in the WAL, when the
//! log has been idle a while, and for every vote, truncation and purge record, which must never
//! depend on WAL replay. Purges delete a first chunk and leave the rest to `purge_chunk`, run
//! whenever the queue is empty, so a large purge never holds the writer for long.

mod append;
mod commit;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use openraft::storage::IOFlushed;
use redb::{Durability, ReadableTable};

use super::command::Cmd;
use super::tables::{KEY_COMMITTED, KEY_LAST_PURGED, KEY_VOTE, LOG, META};
use super::wal::Wal;
use crate::types::TypeConfig;

/// Entries deleted per purge transaction: small enough to keep each commit short.
const PURGE_CHUNK: u64 = 1024;
/// How often appends checkpoint under steady load, and how long a non-durable commit (an
/// append only the WAL holds, `save_committed`, a purge's deletions) waits for one while the log
/// is idle. redb writes the bookkeeping of its non-durable commits at the next durable one, so
/// this bounds that work as well as the WAL's use.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// The writer thread's state: the files, the queue it drains, and what it has yet to sync.
pub(super) struct Writer {
    path: PathBuf,
    db: Arc<redb::Database>,
    wal: Wal,
    /// When the last checkpoint committed, and how often one is due.
    last_checkpoint: Instant,
    checkpoint_every: Duration,
    rx: mpsc::Receiver<Cmd>,
    /// A command taken off the queue while merging appends, to run next.
    stashed: Option<Cmd>,
    /// Callbacks of appends not synced yet, fired by the next WAL sync or checkpoint.
    unflushed: Vec<IOFlushed<TypeConfig>>,
    /// Commits or WAL records not covered by a checkpoint are pending; checkpoint when idle.
    lazy_dirty: bool,
    /// A purge's entries up to this index are still to be deleted.
    purge_upto: Option<u64>,
    /// What the writer publishes to the store's handles.
    progress: Progress,
}

/// What the writer thread publishes to the `LogStore` handles.
#[derive(Clone, Default)]
pub(super) struct Progress {
    /// Syncs that made appends durable: WAL syncs and checkpoints. With group commit, fewer
    /// than the appends received.
    pub(super) durable_commits: Arc<AtomicU64>,
    /// One past the last index committed to the file (durably or not): the tail may forget
    /// entries below it, because redb serves them.
    pub(super) written_next: Arc<AtomicU64>,
}

impl Writer {
    /// A writer over `db` and `wal` that drains `rx`, resuming a purge up to `purge_upto`.
    pub(super) fn new(
        path: &Path,
        db: Arc<redb::Database>,
        wal: Wal,
        checkpoint_every: Duration,
        rx: mpsc::Receiver<Cmd>,
        purge_upto: Option<u64>,
        progress: Progress,
    ) -> Self {
        Writer {
            path: path.to_owned(),
            db,
            wal,
            last_checkpoint: Instant::now(),
            checkpoint_every,
            rx,
            stashed: None,
            unflushed: Vec::new(),
            lazy_dirty: false,
            purge_upto,
            progress,
        }
    }

    /// Runs commands until every sender is gone; syncs, purges or checkpoints whenever the
    /// queue is empty, and on the way out finishes a purge and checkpoints what is pending.
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
                    .recv_timeout(self.checkpoint_every)
                    .map_err(|e| e == RecvTimeoutError::Disconnected)
            } else {
                self.rx.recv().map_err(|_| true)
            };
            match next {
                Ok(cmd) => self.handle(cmd),
                Err(true) => break,
                Err(false) if !self.unflushed.is_empty() => self.sync_wal(),
                Err(false) if self.purge_upto.is_some() => self.purge_chunk(),
                Err(false) => self.checkpoint(),
            }
        }
        // Finish a purge still under way, so a clean stop leaves no purged entries behind.
        while self.purge_upto.is_some() {
            self.purge_chunk();
        }
        if self.lazy_dirty || !self.unflushed.is_empty() {
            self.checkpoint();
        }
    }

    /// Runs one command and answers whoever waits for it.
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
                self.progress.written_next.fetch_min(from, Ordering::AcqRel);
                done.send(result).ok();
            }
            Cmd::Purge { upto, bytes, done } => {
                // Durable: appends after a purge past the log's end (a snapshot install) would
                // otherwise replay onto a log that lost the purge, leaving a hole.
                let result = self.durable(|txn| {
                    txn.open_table(META)?
                        .insert(KEY_LAST_PURGED, bytes.as_slice())?;
                    Ok(())
                });
                if result.is_ok() {
                    self.purge_upto = self.purge_upto.max(Some(upto));
                    self.purge_chunk();
                }
                done.send(result).ok();
            }
        }
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
}
