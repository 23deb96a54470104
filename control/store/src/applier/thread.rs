//! The apply thread itself and the way into it: the queue of jobs `apply` and `barrier` send,
//! and the loop that merges whatever is queued into one group commit.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot};

use super::committer::Committer;
use super::{Entry, MAX_GROUP_ENTRIES, Responder};

/// What the thread is sent: a batch to commit, or a barrier to answer once all before it is.
pub(super) enum Job {
    Apply(Vec<Entry>, Vec<Responder>),
    Barrier(oneshot::Sender<io::Result<()>>),
}

/// The way into the thread. Dropping the last handle closes it and waits for the thread to
/// commit what is queued and release the database, so the file can be reopened at once.
pub(super) struct Queue {
    pub(super) tx: Option<mpsc::Sender<Job>>,
    pub(super) thread: Option<std::thread::JoinHandle<()>>,
}

impl Queue {
    /// Hands `job` to the thread, waiting while the queue is full; fails once the thread stopped.
    pub(super) async fn send(&self, job: Job) -> io::Result<()> {
        let stopped = || io::Error::other("the state machine's apply thread has stopped");
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(job).await.map_err(|_| stopped())
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the state machine's apply thread panicked");
        }
    }
}

/// The thread's end of the queue, and what it commits with.
pub(super) struct Thread {
    pub(super) rx: mpsc::Receiver<Job>,
    pub(super) committer: Arc<Committer>,
}

impl Thread {
    /// Merges whatever is queued (up to [`MAX_GROUP_ENTRIES`]) into one commit with fsync when
    /// due, then answers the barriers that came with it; returns when the queue closes.
    pub(super) fn run(mut self) {
        while let Some(first) = self.rx.blocking_recv() {
            let mut entries = Vec::new();
            let mut responders = Vec::new();
            let mut barriers = Vec::new();
            let mut jobs = 0;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Apply(e, r) => {
                        entries.extend(e);
                        responders.extend(r);
                        jobs += 1;
                    }
                    Job::Barrier(tx) => barriers.push(tx),
                }
                if entries.len() < MAX_GROUP_ENTRIES {
                    next = self.rx.try_recv().ok();
                }
            }
            let committer = &self.committer;
            let result = {
                let mut last_fsync = skiff_sync::lock(&committer.lock);
                let result = committer.commit_group(&mut last_fsync, true, entries, responders);
                committer.pending.fetch_sub(jobs, Ordering::AcqRel);
                result
            };
            for barrier in barriers {
                barrier
                    .send(
                        result
                            .as_ref()
                            .map(|_| ())
                            .map_err(|e| io::Error::other(e.clone())),
                    )
                    .ok();
            }
        }
    }
}
