//! The Raft log in its own redb file (`raft-log.redb`) with a write-ahead file beside it
//! (`raft-log.wal`): openraft's `RaftLogStorage` with one writer thread and group commit.
//!
//! # Layout
//! - `open`: opening an existing file (refused untouched if corrupt) or creating a new one, and
//!   replaying the WAL.
//! - `wal`: the write-ahead file: records, epochs, and how a damaged one is told from a torn one.
//! - `tables`: table definitions and the record helpers that readers and the writer share.
//! - `command`: the queue into the writer thread and the handle that waits for answers.
//! - `writer`: the writer thread: commands in order, consecutive appends merged, one sync a group;
//!   `writer::append` holds the group commit and WAL sync, `writer::commit` commits and checkpoints.
//! - `raft`: the `RaftLogStorage` and `RaftLogReader` impls, which talk to the writer and read redb.
//! - `tail`: the newest entries in memory, so replication rarely reads redb.
//! - `dump`: a listing of every entry's log id and payload hash, for diagnosis.
//!
//! # Durability model
//! Every write goes through one queue to one thread, so vote, append, truncate and purge apply in
//! the order they were called. A group of queued appends is written in one redb transaction
//! committed with `Durability::None`, and as one WAL record. `append` does not wait for either:
//! the entries go into the in-memory `tail` first, which serves reads until redb has them
//! ("readable when `append` returns"), so replication starts while the writer works. Raft
//! allows a leader to write its log in parallel with sending it, on one condition this relies
//! on: a leader that crashes never leads the same term again, or it could write a different
//! entry at an index it had sent but not made durable (`LEADER_RESTORE` in `replica`). When the
//! queue runs dry the writer syncs the WAL (one `fdatasync` of a preallocated file for the whole
//! group, about half what redb's durable commit costs here) and only then fires the appends'
//! `IOFlushed` callbacks. A checkpoint (a durable redb commit naming a new WAL epoch) runs every
//! 50 ms under load and when the log goes idle; opening replays the WAL records of the epoch redb
//! names. `save_vote`, `truncate_after` and the purge's record are checkpoints, so they never
//! depend on replay, and a truncation can never be undone by replaying older records.
//! `save_committed` and the purge's deletions ride on the next checkpoint: losing them in a crash
//! only means re-applying or re-purging more. `save_committed` does not even wait for its write
//! (openraft awaits it before every apply, and a wait would put the core behind the writer);
//! `read_committed` answers from memory what this process saved last.
//!
//! **Invariant**: a redb commit never leaves an interior hole in the `log` table: truncation removes
//! a suffix, purge removes a prefix, appends extend the end; readers check contiguity anyway.

mod command;
mod dump;
mod open;
mod raft;
mod tables;
mod tail;
mod wal;
mod writer;

pub use dump::{Dump, DumpError, dump};
pub(crate) use wal::WalError;

#[cfg(test)]
mod corrupt_tests;
#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod suite_test;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::alias::{EntryOf, LogIdOf, VoteOf};

use crate::types::TypeConfig;

type Entry = EntryOf<TypeConfig>;
type LogId = LogIdOf<TypeConfig>;
type Vote = VoteOf<TypeConfig>;

/// Why the Raft log file could not be opened. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LogStoreError {
    #[error("raft log {path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error(
        "raft log {path} exists but is empty (0 bytes); a log is never created in place, so this \
         file is damaged; it was left untouched (move it away only if this replica has no state)"
    )]
    Empty { path: PathBuf },
    #[error(
        "raft log {path} is corrupt or not a redb raft log ({source}); the file was left untouched"
    )]
    Corrupt { path: PathBuf, source: redb::Error },
    #[error("raft log {path} is already open (by this or another process): {source}")]
    InUse {
        path: PathBuf,
        source: redb::DatabaseError,
    },
    #[error(transparent)]
    Wal(#[from] WalError),
}

/// Handle to the Raft log. Clones share one file, one writer thread and one cache; the writer
/// stops (after a final fsync) and the file is closed when the last clone is dropped.
#[derive(Clone)]
pub struct LogStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

/// State shared by every clone of a [`LogStore`].
struct Shared {
    /// The file, for error messages.
    path: PathBuf,
    /// Readers open their own read transactions on it; only the writer thread writes.
    db: Arc<redb::Database>,
    /// The last durably saved vote, kept in memory because every replication round reads it.
    vote: Mutex<Option<Vote>>,
    /// One past the last purged index (0: nothing purged). Reads start here even while the
    /// writer is still deleting the purged prefix in chunks.
    purged_next: AtomicU64,
    /// The queue into the writer thread; dropping it stops the thread.
    writer: command::WriterHandle,
    /// The newest entries, mirrored after each successful write.
    tail: Mutex<tail::Tail>,
    /// The committed log id last given to `save_committed` in this process (`None`: none yet,
    /// read the file), which the writer may not have written yet.
    committed: Mutex<Option<Option<LogId>>>,
}

impl LogStore {
    /// Opens the log at `path`, creating a new empty log if nothing exists there. An existing
    /// file that is empty, truncated or not a redb raft log is refused with an error naming it,
    /// and is not modified.
    pub fn open(path: &Path) -> Result<LogStore, LogStoreError> {
        Self::open_with(path, writer::CHECKPOINT_EVERY)
    }

    /// [`LogStore::open`] with another checkpoint interval, so a test can rely on appends
    /// reaching only the WAL.
    fn open_with(path: &Path, checkpoint_every: Duration) -> Result<LogStore, LogStoreError> {
        let opened = open::open(path)?;
        let purged_next = opened.last_purged.as_ref().map_or(0, |id| id.index + 1);
        let writer = command::WriterHandle::spawn(
            path,
            opened.db.clone(),
            opened.wal,
            checkpoint_every,
            opened.purge_leftover,
        )
        .map_err(|source| LogStoreError::Io {
            path: path.to_owned(),
            what: "cannot start the writer thread",
            source,
        })?;
        Ok(LogStore {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                db: opened.db,
                vote: Mutex::new(opened.vote),
                purged_next: AtomicU64::new(purged_next),
                writer,
                tail: Mutex::default(),
                committed: Mutex::new(None),
            }),
        })
    }

    /// The file this log lives in.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// How many durable (fsynced) commits this handle's writer has made: with group commit,
    /// fewer than the appends it received.
    pub fn durable_commits(&self) -> u64 {
        self.shared
            .writer
            .progress
            .durable_commits
            .load(Ordering::Relaxed)
    }

    /// The committed log id openraft last gave `save_committed` in this process. openraft saves
    /// every commit before applying it, so every write a client was answered for on this
    /// replica is at or below it.
    pub fn saved_committed(&self) -> Option<LogId> {
        // Plain data, valid even if a holder panicked.
        skiff_sync::lock(&self.shared.committed).flatten()
    }

    /// The last vote durably saved. openraft grants a vote only after `save_vote` returns, and
    /// this is updated before it does, so a replica whose saved vote still names leader `L` has
    /// granted no vote to anyone after `L` (see `replica::confirm`).
    pub fn saved_vote(&self) -> Option<Vote> {
        // The guarded value is plain data, valid even if a holder panicked.
        *skiff_sync::lock(&self.shared.vote)
    }

    fn set_saved_vote(&self, vote: Vote) {
        *skiff_sync::lock(&self.shared.vote) = Some(vote);
    }

    /// Runs `f` on the in-memory tail.
    fn with_tail<T>(&self, f: impl FnOnce(&mut tail::Tail) -> T) -> T {
        // The tail is a cache that every failed write clears: still valid after a panic.
        f(&mut skiff_sync::lock(&self.shared.tail))
    }

    fn purged_next(&self) -> u64 {
        self.shared.purged_next.load(Ordering::Acquire)
    }

    fn set_purged_next(&self, next: u64) {
        self.shared.purged_next.fetch_max(next, Ordering::AcqRel);
    }
}
