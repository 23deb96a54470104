//! The writer's appends: a group of queued appends merged into one non-durable redb commit and
//! one WAL record, synced with one `fdatasync` when the queue runs dry.

use std::io;
use std::sync::atomic::Ordering;

use openraft::storage::IOFlushed;
use redb::{Durability, WriteTransaction};

use super::Writer;
use super::commit::copy;
use crate::log_store::command::Cmd;
use crate::log_store::tables::{KEY_COMMITTED, LOG, META};
use crate::types::TypeConfig;

/// Entries merged into one append transaction at most, to bound the time readers wait.
const MAX_GROUP_ENTRIES: usize = 16 * 1024;

impl Writer {
    /// Writes this append and every append queued right behind it in one non-durable commit,
    /// with the newest committed log id queued among them.
    pub(super) fn append_group(
        &mut self,
        entries: Vec<(u64, Vec<u8>)>,
        flushed: IOFlushed<TypeConfig>,
    ) {
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
        let result = if self.last_checkpoint.elapsed() >= self.checkpoint_every {
            self.unflushed.extend(callbacks);
            self.durable(insert)
        } else {
            self.append_to_wal(insert, &entries, callbacks, queue_empty)
        };
        if let (Ok(()), Some(last)) = (&result, last) {
            self.progress
                .written_next
                .store(last + 1, Ordering::Release);
        }
    }

    /// Commits a group to redb without fsync and writes it to the WAL, syncing the WAL when
    /// nothing else waits (`queue_empty`). A group the WAL has no room for is made durable by a
    /// checkpoint instead.
    fn append_to_wal(
        &mut self,
        insert: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
        entries: &[Vec<(u64, Vec<u8>)>],
        callbacks: Vec<IOFlushed<TypeConfig>>,
        queue_empty: bool,
    ) -> io::Result<()> {
        self.unflushed.extend(callbacks);
        if let Err(e) = self.write(Durability::None, insert) {
            self.fire_unflushed(&Err(copy(&e)));
            return Err(e);
        }
        self.lazy_dirty = true;
        match self.wal.append(entries) {
            Ok(true) if queue_empty => {
                self.sync_wal();
                Ok(())
            }
            Ok(true) => Ok(()),
            // No room in the WAL: a checkpoint makes the group durable in redb instead.
            Ok(false) => self.durable(|_| Ok(())),
            Err(e) => {
                let e = self.wal_error("cannot write", &e);
                self.fire_unflushed(&Err(copy(&e)));
                Err(e)
            }
        }
    }

    /// Makes every WAL record written so far durable and fires the waiting callbacks.
    pub(super) fn sync_wal(&mut self) {
        let result = self
            .wal
            .sync()
            .map_err(|e| self.wal_error("cannot sync", &e));
        match &result {
            Ok(()) => {
                self.progress
                    .durable_commits
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::error!("{e}"),
        }
        self.fire_unflushed(&result);
    }
}
