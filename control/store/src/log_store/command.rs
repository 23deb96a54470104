//! The queue into the log's writer thread: the commands, in the order callers issued them, and
//! the handle that sends them and waits for their answers.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use openraft::storage::IOFlushed;
use tokio::sync::oneshot;

use super::wal::Wal;
use super::writer::{Progress, Writer};
use crate::types::TypeConfig;

pub(super) type Done = oneshot::Sender<io::Result<()>>;

/// One write, with the channel that answers it once it is visible to readers.
pub(super) enum Cmd {
    /// Encoded entries by index; `flushed` fires once they are on disk (or with the error).
    /// Nobody waits for the commit itself: readers get these entries from the tail meanwhile.
    Append {
        entries: Vec<(u64, Vec<u8>)>,
        flushed: IOFlushed<TypeConfig>,
    },
    /// An encoded vote; answered once it is on disk.
    Vote { bytes: Vec<u8>, done: Done },
    /// An encoded `Option<LogId>`; nobody waits for it. It is written with the appends queued
    /// around it (or on its own) without fsync, and synced with the next fsync.
    Committed { bytes: Vec<u8> },
    /// Remove every entry with index > `after` (`None`: every entry); answered once on disk.
    Truncate { after: Option<u64>, done: Done },
    /// Record `bytes` (the encoded log id) as last purged and delete entries up to `upto`.
    Purge {
        upto: u64,
        bytes: Vec<u8>,
        done: Done,
    },
}

/// The queue into the writer thread. Dropping it lets the thread finish (with a last fsync) and
/// waits for it, so the file is closed when the last `LogStore` clone is gone.
pub(super) struct WriterHandle {
    tx: Option<mpsc::Sender<Cmd>>,
    thread: Option<JoinHandle<()>>,
    /// What the writer publishes: durable syncs so far, and how far the file reaches.
    pub(super) progress: Progress,
}

impl WriterHandle {
    pub(super) fn spawn(
        path: &Path,
        db: Arc<redb::Database>,
        wal: Wal,
        checkpoint_every: std::time::Duration,
        purge_upto: Option<u64>,
    ) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let progress = Progress::default();
        let writer = Writer::new(
            path,
            db,
            wal,
            checkpoint_every,
            rx,
            purge_upto,
            progress.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || writer.run())?;
        Ok(WriterHandle {
            tx: Some(tx),
            thread: Some(thread),
            progress,
        })
    }

    /// Queues `cmd` without waiting for it.
    pub(super) fn send(&self, cmd: Cmd) -> io::Result<()> {
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(cmd).map_err(|_| stopped())
    }

    /// Queues the command built from `make` and waits for its answer.
    pub(super) async fn call(&self, make: impl FnOnce(Done) -> Cmd) -> io::Result<()> {
        let (done, answer) = oneshot::channel();
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(make(done)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the raft log writer thread panicked");
        }
    }
}

fn stopped() -> io::Error {
    io::Error::other("the raft log writer thread has stopped")
}
