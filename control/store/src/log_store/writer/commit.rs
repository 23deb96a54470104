//! The writer's redb transactions: plain commits, and checkpoints (durable commits that start a
//! new WAL epoch), with the callbacks of the appends they make durable.

use std::io;
use std::sync::atomic::Ordering;
use std::time::Instant;

use redb::{Durability, WriteTransaction};

use super::Writer;
use crate::log_store::tables;

impl Writer {
    /// Makes everything so far durable in redb, starting a new WAL epoch. Nobody waits for it
    /// but the appends in `unflushed`, which get its result.
    pub(super) fn checkpoint(&mut self) {
        if let Err(e) = self.durable(|_| Ok(())) {
            tracing::error!("{e}");
        }
    }

    /// Commits `f` durably with a new WAL epoch; on success everything committed before it is
    /// durable in redb too, and the WAL starts over.
    pub(super) fn durable(
        &mut self,
        f: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
    ) -> io::Result<()> {
        let epoch = self.wal.epoch() + 1;
        let result = self.write(Durability::Immediate, |txn| {
            f(txn)?;
            tables::name_wal_epoch(txn, epoch)
        });
        if result.is_ok() {
            self.wal.restart(epoch);
            self.last_checkpoint = Instant::now();
            self.progress
                .durable_commits
                .fetch_add(1, Ordering::Relaxed);
            self.lazy_dirty = false;
        }
        self.fire_unflushed(&result);
        result
    }

    /// Hands `result` to every append waiting in `unflushed`.
    pub(super) fn fire_unflushed(&mut self, result: &io::Result<()>) {
        for flushed in self.unflushed.drain(..) {
            flushed.io_completed(result.as_ref().map(|_| ()).map_err(copy));
        }
    }

    /// A WAL error that names the file and what was being done.
    pub(super) fn wal_error(&self, what: &str, e: &io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!("raft log WAL {}: {what}: {e}", self.wal.path().display()),
        )
    }

    /// Runs `f` in one redb write transaction committed with `durability`.
    pub(super) fn write(
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
pub(super) fn copy(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}
