//! The state machine's apply thread: group commit for applied entries.
//!
//! openraft hands over committed entries batch by batch and waits for each `apply` call. Making
//! every small batch its own redb transaction cost about half of a replica's CPU under load, so
//! `apply` only queues the batch here and returns; this thread merges whatever is queued into
//! one transaction, commits it, and only then answers the clients, publishes the watch events
//! and raises the *visible* watermark.
//!
//! **Invariants**
//! - A client's write is answered only after its transaction committed, so a read on this
//!   replica that starts after the answer sees it.
//! - Reads that must reflect an index wait on [`Applier::wait_visible`], not on openraft's
//!   applied index, which runs ahead of the file by at most the queued batches.
//! - A [`Applier::barrier`] returns once everything queued before it is committed: snapshots,
//!   `applied_state` and installs go through one, so they never see a half-applied state.
//! - After a failed commit the thread applies nothing more: every later call reports the error
//!   and openraft stops the node, which re-applies from the last commit when it restarts.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use openraft::storage::ApplyResponder;
use tokio::sync::{mpsc, oneshot, watch};

use super::types::{Event, TypeConfig};
use super::watch::{Published, WatchHub};

type Entry = openraft::alias::EntryOf<TypeConfig>;
type Responder = Option<ApplyResponder<TypeConfig>>;

/// Entries merged into one transaction at most.
const MAX_GROUP_ENTRIES: usize = 8192;
/// Batches that may wait for the thread before `apply` waits too (back-pressure).
const QUEUE_DEPTH: usize = 256;

enum Job {
    Apply(Vec<Entry>, Vec<Responder>),
    Barrier(oneshot::Sender<io::Result<()>>),
}

/// Commits a group of entries in one transaction: the answers and the watch events.
pub(super) type CommitFn =
    dyn Fn(&[Entry]) -> Result<(Vec<super::types::Response>, Vec<Event>), String> + Send + Sync;

/// The way into the thread. Dropping the last handle closes it and waits for the thread to
/// commit what is queued and release the database, so the file can be reopened at once.
struct Queue {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Queue {
    async fn send(&self, job: Job) -> io::Result<()> {
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

/// Handle on the apply thread. Cheap to clone.
#[derive(Clone)]
pub(super) struct Applier {
    queue: Arc<Queue>,
    /// The last log index whose effects are committed in the file.
    visible: Arc<watch::Sender<u64>>,
    failed: Arc<Mutex<Option<String>>>,
}

impl Applier {
    /// Starts the thread; `visible` is the index already committed.
    pub(super) fn spawn(hub: WatchHub, visible: u64, commit: Arc<CommitFn>) -> io::Result<Applier> {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let visible = Arc::new(watch::Sender::new(visible));
        let failed = Arc::new(Mutex::new(None));
        let thread = Thread {
            hub,
            rx,
            visible: visible.clone(),
            failed: failed.clone(),
            commit,
        };
        let thread = std::thread::Builder::new()
            .name("sm-applier".into())
            .spawn(move || thread.run())?;
        Ok(Applier {
            queue: Arc::new(Queue {
                tx: Some(queue),
                thread: Some(thread),
            }),
            visible,
            failed,
        })
    }

    fn failure(&self) -> Option<io::Error> {
        let failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        failed
            .as_ref()
            .map(|e| io::Error::other(format!("the state machine stopped applying: {e}")))
    }

    /// Queues a batch; its clients are answered once it is committed.
    pub(super) async fn apply(
        &self,
        entries: Vec<Entry>,
        responders: Vec<Responder>,
    ) -> io::Result<()> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        self.queue.send(Job::Apply(entries, responders)).await
    }

    /// Waits until everything queued before this call is committed.
    pub(super) async fn barrier(&self) -> io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.queue.send(Job::Barrier(tx)).await?;
        rx.await
            .map_err(|_| io::Error::other("the state machine's apply thread has stopped"))?
    }

    /// Raises the watermark after a snapshot install (behind a barrier) replaced the state.
    pub(super) fn set_visible(&self, index: u64) {
        self.visible.send_modify(|v| *v = (*v).max(index));
    }

    /// Waits until entries up to `index` are committed and readable, at most `timeout`.
    pub(super) async fn wait_visible(&self, index: u64, timeout: Duration) -> io::Result<()> {
        let mut visible = self.visible.subscribe();
        match tokio::time::timeout(timeout, visible.wait_for(|v| *v >= index)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(io::Error::other(
                "the state machine's apply thread has stopped",
            )),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("entry {index} was not applied within {timeout:?}"),
            )),
        }
    }
}

struct Thread {
    hub: WatchHub,
    rx: mpsc::Receiver<Job>,
    visible: Arc<watch::Sender<u64>>,
    failed: Arc<Mutex<Option<String>>>,
    commit: Arc<CommitFn>,
}

impl Thread {
    fn run(mut self) {
        while let Some(first) = self.rx.blocking_recv() {
            let mut entries = Vec::new();
            let mut responders = Vec::new();
            let mut barriers = Vec::new();
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Apply(e, r) => {
                        entries.extend(e);
                        responders.extend(r);
                    }
                    Job::Barrier(tx) => barriers.push(tx),
                }
                if entries.len() < MAX_GROUP_ENTRIES {
                    next = self.rx.try_recv().ok();
                }
            }
            let result = self.commit_group(entries, responders);
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

    fn commit_group(
        &mut self,
        entries: Vec<Entry>,
        responders: Vec<Responder>,
    ) -> Result<(), String> {
        if let Some(e) = self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Err(e);
        }
        let Some(last) = entries.last().map(|e| e.log_id.index) else {
            return Ok(());
        };
        match (self.commit)(&entries) {
            Ok((responses, events)) => {
                self.visible.send_modify(|v| *v = (*v).max(last));
                for (responder, response) in responders.into_iter().zip(responses) {
                    if let Some(responder) = responder {
                        responder.send(response);
                    }
                }
                if !events.is_empty() {
                    self.hub.publish(Published::Events(Arc::new(events)));
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!("state machine commit failed: {e}");
                *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.clone());
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn blanks(from: u64, to: u64) -> Vec<Entry> {
        (from..=to)
            .map(|i| openraft::testing::blank_ent::<TypeConfig>(1, 1, i))
            .collect()
    }

    fn spawn(commit: Arc<CommitFn>) -> Applier {
        Applier::spawn(WatchHub::default(), 0, commit).expect("spawn")
    }

    #[tokio::test]
    async fn queued_batches_commit_together_and_barriers_wait_for_them() {
        let groups = Arc::new(AtomicUsize::new(0));
        let counted = groups.clone();
        let commit = move |entries: &[Entry]| {
            counted.fetch_add(1, Ordering::SeqCst);
            // A slow commit lets the next batches queue up behind it.
            std::thread::sleep(Duration::from_millis(20));
            Ok((
                vec![super::super::types::Response::Empty; entries.len()],
                Vec::new(),
            ))
        };
        let applier = spawn(Arc::new(commit));
        for i in 0..50 {
            applier
                .apply(blanks(i * 2 + 1, i * 2 + 2), vec![None, None])
                .await
                .expect("apply");
        }
        applier.barrier().await.expect("barrier");
        applier
            .wait_visible(100, Duration::from_millis(1))
            .await
            .expect("all 100 entries are visible after the barrier");
        let groups = groups.load(Ordering::SeqCst);
        assert!(groups < 10, "50 queued batches took {groups} commits");
        let late = applier.wait_visible(101, Duration::from_millis(20)).await;
        assert_eq!(
            late.expect_err("101 was never applied").kind(),
            io::ErrorKind::TimedOut
        );
    }

    #[tokio::test]
    async fn a_failed_commit_stops_the_applier_with_its_reason() {
        let commit = |_: &[Entry]| Err("disk on fire".to_owned());
        let applier = spawn(Arc::new(commit));
        applier
            .apply(blanks(1, 1), vec![None])
            .await
            .expect("queued");
        let err = applier.barrier().await.expect_err("the commit failed");
        assert!(err.to_string().contains("disk on fire"), "{err}");
        let err = applier
            .apply(blanks(2, 2), vec![None])
            .await
            .expect_err("nothing more is applied");
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }
}
