//! The state machine's apply thread: group commit for applied entries.
//!
//! openraft hands over committed entries batch by batch and waits for each `apply` call. Making
//! every small batch its own redb transaction cost about half of a replica's CPU under load, so
//! while a commit is under way `apply` only queues the batch here and returns; this thread merges
//! whatever is queued into one transaction, commits it, and only then answers the clients,
//! publishes the watch events and raises the *visible* watermark. When nothing is queued or being
//! committed, `apply` commits the batch itself (without fsync): a lone write then skips the
//! hand-off to the thread and back, which cost about as much as the commit on a busy machine.
//!
//! **Invariants**
//! - A client's write is answered only after its transaction committed, so a read on this
//!   replica that starts after the answer sees it.
//! - Batches commit in the order `apply` received them: the inline path runs only when no
//!   batch is queued and the commit lock is free, and openraft never calls `apply` concurrently.
//! - Reads that must reflect an index wait on [`Applier::wait_visible`], not on openraft's
//!   applied index, which runs ahead of the file by at most the queued batches.
//! - A [`Applier::barrier`] returns once everything queued before it is committed: snapshots,
//!   `applied_state` and installs go through one, so they never see a half-applied state.
//! - Only the thread commits with fsync (once per [`DURABLE_EVERY`]), so the caller's task never
//!   waits for the disk.
//! - After a failed commit nothing more is applied: every later call reports the error and
//!   openraft stops the node, which re-applies from the last commit when it restarts.

mod committer;
mod thread;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::storage::ApplyResponder;
use tokio::sync::{mpsc, oneshot, watch};

use super::types::{Event, Response, TypeConfig};
use super::watch::WatchHub;
use committer::Committer;
use thread::{Job, Queue, Thread};

type Entry = openraft::alias::EntryOf<TypeConfig>;
type Responder = Option<ApplyResponder<TypeConfig>>;

/// Entries merged into one transaction at most.
const MAX_GROUP_ENTRIES: usize = 8192;
/// Batches that may wait for the thread before `apply` waits too (back-pressure).
const QUEUE_DEPTH: usize = 256;
/// How often a group commits with fsync. redb frees the pages of non-durable commits only at
/// the next durable one, which then writes all that bookkeeping while holding the write lock:
/// once a second that took 14-60 ms at 16 clients on 3 replicas (every apply waited), every
/// 100 ms it takes 5-9 ms. It also bounds the file's unreusable space.
pub(super) const DURABLE_EVERY: Duration = Duration::from_millis(100);

/// Commits a group of entries in one transaction, with fsync when `durable`: the answers and
/// the watch events.
pub(super) type CommitFn =
    dyn Fn(&[Entry], bool) -> Result<(Vec<Response>, Vec<Event>), String> + Send + Sync;

/// Handle on the apply thread. Cheap to clone.
#[derive(Clone)]
pub(super) struct Applier {
    queue: Arc<Queue>,
    committer: Arc<Committer>,
}

impl Applier {
    /// Starts the thread; `visible` is the index already committed.
    pub(super) fn spawn(hub: WatchHub, visible: u64, commit: Arc<CommitFn>) -> io::Result<Applier> {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let committer = Arc::new(Committer {
            hub,
            visible: Arc::new(watch::Sender::new(visible)),
            failed: Mutex::new(None),
            commit,
            lock: Mutex::new(Instant::now()),
            pending: AtomicUsize::new(0),
        });
        let thread = Thread {
            rx,
            committer: committer.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("sm-applier".into())
            .spawn(move || thread.run())?;
        Ok(Applier {
            queue: Arc::new(Queue {
                tx: Some(queue),
                thread: Some(thread),
            }),
            committer,
        })
    }

    fn failure(&self) -> Option<io::Error> {
        self.committer
            .failure()
            .map(|e| io::Error::other(format!("the state machine stopped applying: {e}")))
    }

    /// Commits the batch here if nothing is queued or committing and no fsync is due; queues it
    /// for the thread otherwise. Its clients are answered once it is committed.
    pub(super) async fn apply(
        &self,
        entries: Vec<Entry>,
        responders: Vec<Responder>,
    ) -> io::Result<()> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let committer = &self.committer;
        if committer.pending.load(Ordering::Acquire) == 0
            && let Ok(mut last_fsync) = committer.lock.try_lock()
            && committer.pending.load(Ordering::Acquire) == 0
            && last_fsync.elapsed() < DURABLE_EVERY
        {
            return committer
                .commit_group(&mut last_fsync, false, entries, responders)
                .map_err(|e| io::Error::other(format!("the state machine stopped applying: {e}")));
        }
        committer.pending.fetch_add(1, Ordering::AcqRel);
        let sent = self.queue.send(Job::Apply(entries, responders)).await;
        if sent.is_err() {
            committer.pending.fetch_sub(1, Ordering::AcqRel);
        }
        sent
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
        self.committer.visible.send_modify(|v| *v = (*v).max(index));
    }

    /// Waits until entries up to `index` are committed and readable, at most `timeout`.
    pub(super) async fn wait_visible(&self, index: u64, timeout: Duration) -> io::Result<()> {
        let mut visible = self.committer.visible.subscribe();
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

#[cfg(test)]
mod tests {

    use super::*;

    fn blanks(from: u64, to: u64) -> Vec<Entry> {
        (from..=to)
            .map(|i| openraft::testing::blank_ent::<TypeConfig>(1, 1, i))
            .collect()
    }

    fn spawn(commit: Arc<CommitFn>) -> Applier {
        Applier::spawn(WatchHub::default(), 0, commit).expect("spawn")
    }

    /// A commit closure that sleeps `pause` and records, per commit, its size, whether it was
    /// durable, and whether it ran on the apply thread.
    type Log = Arc<Mutex<Vec<(usize, bool, bool)>>>;
    fn recording(pause: Duration) -> (Arc<CommitFn>, Log) {
        let log: Log = Arc::default();
        let record = log.clone();
        let commit = move |entries: &[Entry], durable: bool| {
            let on_thread = std::thread::current().name() == Some("sm-applier");
            skiff_sync::lock(&record).push((entries.len(), durable, on_thread));
            std::thread::sleep(pause);
            Ok((vec![Response::Empty; entries.len()], Vec::new()))
        };
        (Arc::new(commit), log)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_queued_behind_a_commit_commit_together_and_barriers_wait_for_them() {
        let (commit, log) = recording(Duration::from_millis(20));
        let applier = spawn(commit);
        // The first batch commits inline, on its own task; the rest find the lock taken and
        // queue, and the thread merges what piles up behind each 20 ms commit.
        let first = {
            let applier = applier.clone();
            tokio::spawn(async move { applier.apply(blanks(1, 2), vec![None, None]).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        for i in 1..50 {
            applier
                .apply(blanks(i * 2 + 1, i * 2 + 2), vec![None, None])
                .await
                .expect("apply");
        }
        first.await.expect("task").expect("inline apply");
        applier.barrier().await.expect("barrier");
        applier
            .wait_visible(100, Duration::from_millis(1))
            .await
            .expect("all 100 entries are visible after the barrier");
        let log = skiff_sync::lock(&log).clone();
        assert_eq!(log.iter().map(|c| c.0).sum::<usize>(), 100);
        assert!(
            log.len() < 10,
            "50 batches took {} commits: {log:?}",
            log.len()
        );
        assert!(!log[0].2, "the first batch committed inline: {log:?}");
        assert!(
            log[1..].iter().all(|c| c.2),
            "the rest on the thread: {log:?}"
        );
        let late = applier.wait_visible(101, Duration::from_millis(20)).await;
        assert_eq!(
            late.expect_err("101 was never applied").kind(),
            io::ErrorKind::TimedOut
        );
    }

    #[tokio::test]
    async fn a_lone_batch_commits_inline_without_fsync_until_an_fsync_is_due() {
        let (commit, log) = recording(Duration::ZERO);
        let applier = spawn(commit);
        for i in 1..=3 {
            applier
                .apply(blanks(i, i), vec![None])
                .await
                .expect("apply");
            // Inline: visible as soon as `apply` returns.
            applier
                .wait_visible(i, Duration::ZERO)
                .await
                .expect("visible at once");
        }
        tokio::time::sleep(DURABLE_EVERY + Duration::from_millis(50)).await;
        applier
            .apply(blanks(4, 4), vec![None])
            .await
            .expect("apply");
        applier.barrier().await.expect("barrier");
        let log = skiff_sync::lock(&log).clone();
        assert_eq!(
            log,
            vec![
                (1, false, false),
                (1, false, false),
                (1, false, false),
                (1, true, true)
            ],
            "(entries, durable, on the thread) per commit"
        );
    }

    #[tokio::test]
    async fn a_failed_commit_stops_the_applier_with_its_reason() {
        let commit = |_: &[Entry], _: bool| Err("disk on fire".to_owned());
        let applier = spawn(Arc::new(commit));
        // A lone batch commits inline, so its own call reports the failure.
        let err = applier
            .apply(blanks(1, 1), vec![None])
            .await
            .expect_err("the commit failed");
        assert!(err.to_string().contains("disk on fire"), "{err}");
        let err = applier.barrier().await.expect_err("the commit failed");
        assert!(err.to_string().contains("disk on fire"), "{err}");
        let err = applier
            .apply(blanks(2, 2), vec![None])
            .await
            .expect_err("nothing more is applied");
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }
}
