//! Read-index rounds shared by concurrent linearizable reads: each read waits for the next
//! round that *starts* after it arrived, and at most one round is in flight per replica, so
//! 256 concurrent readers cost one quorum round trip, not 256.
//!
//! Why this is still linearizable: a round's read index is the leader's commit index confirmed
//! by a quorum after the round began. Every write acknowledged before a read arrived committed
//! before that read's round began, so its index is at most the round's read index. A read never
//! joins a round that was already under way when it arrived.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Why a round gave no read index. Cloned to every read in the round.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub(crate) enum RoundError {
    /// No leader answered; the reads may retry.
    #[error("{0}")]
    NoLeader(String),
    /// The Raft node failed or stopped; retrying is pointless.
    #[error("{0}")]
    Fatal(String),
}

type Answer = Result<u64, RoundError>;

#[derive(Default)]
struct Queue {
    /// A round task is running; new readers only enqueue.
    running: bool,
    /// Readers waiting for the next round to start.
    waiting: Vec<oneshot::Sender<Answer>>,
}

/// Coalesces read-index requests. Cheap to clone; clones share the queue.
#[derive(Clone, Default)]
pub(crate) struct ReadIndexBatcher {
    queue: Arc<Mutex<Queue>>,
}

impl ReadIndexBatcher {
    /// The read index for a read arriving now, from a round started after this call.
    /// `round` performs one round (on the leader, or by asking it); at most one runs at a time.
    ///
    /// A read that finds no round running drives the next one itself, in its own task: a lone
    /// reader pays no hand-off to another task. Readers that queued meanwhile get a task of
    /// their own that drives rounds until none is waiting, so the starter answers its own
    /// client after one round.
    pub(crate) async fn read_index<F, Fut>(&self, round: F) -> Answer
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Answer> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut queue = lock(&self.queue);
            queue.waiting.push(tx);
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            FirstRound {
                queue: self.queue.clone(),
                round: Some(round),
                batch: Vec::new(),
            }
            .run()
            .await;
        }
        rx.await
            .unwrap_or_else(|_| Err(RoundError::NoLeader("the read-index round stopped".into())))
    }
}

/// The round a starting reader drives in its own task. When it ends, or if that reader goes
/// away mid-round (its client left), the readers still waiting (including the round's own, if
/// it did not finish) get a task that drives rounds for them, so none is stranded.
struct FirstRound<F, Fut>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    queue: Arc<Mutex<Queue>>,
    round: Option<F>,
    /// The readers of the round under way.
    batch: Vec<oneshot::Sender<Answer>>,
}

impl<F, Fut> FirstRound<F, Fut>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    async fn run(&mut self) {
        self.batch = std::mem::take(&mut lock(&self.queue).waiting);
        let Some(round) = &self.round else { return };
        // Boxed: inlined, the round's future nests too deep for the compiler's layout queries.
        let answer = Box::pin(round()).await;
        for reader in std::mem::take(&mut self.batch) {
            reader.send(answer.clone()).ok();
        }
    }
}

impl<F, Fut> Drop for FirstRound<F, Fut>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    fn drop(&mut self) {
        let Some(round) = self.round.take() else {
            return;
        };
        let mut queue = lock(&self.queue);
        queue.waiting.append(&mut self.batch);
        if queue.waiting.is_empty() {
            queue.running = false;
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(drive(self.queue.clone(), round));
            }
            // The runtime is shutting down: no task is left to answer them.
            Err(_) => queue.running = false,
        }
    }
}

/// Runs rounds until no reader is waiting, each round answering the readers queued before it
/// started.
async fn drive<F, Fut>(queue: Arc<Mutex<Queue>>, round: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Answer>,
{
    loop {
        let batch = {
            let mut queue = lock(&queue);
            if queue.waiting.is_empty() {
                queue.running = false;
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        let answer = round().await;
        for reader in batch {
            reader.send(answer.clone()).ok();
        }
    }
}

/// The queue is plain data, valid even if a holder panicked.
fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    skiff_sync::lock(queue)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    /// A round that takes a while and returns how many rounds have started so far.
    fn counting_round(
        started: Arc<AtomicU64>,
    ) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Answer> + Send>> + Send + Sync + 'static
    {
        move || {
            let started = started.clone();
            Box::pin(async move {
                let n = started.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(n)
            })
        }
    }

    #[tokio::test]
    async fn concurrent_reads_share_rounds() {
        let batcher = ReadIndexBatcher::default();
        let started = Arc::new(AtomicU64::new(0));
        let reads: Vec<_> = (0..200)
            .map(|_| {
                let batcher = batcher.clone();
                let round = counting_round(started.clone());
                tokio::spawn(async move { batcher.read_index(round).await })
            })
            .collect();
        for read in reads {
            read.await.expect("join").expect("answer");
        }
        let rounds = started.load(Ordering::SeqCst);
        assert!(
            (1..=3).contains(&rounds),
            "200 concurrent reads took {rounds} rounds"
        );
    }

    #[tokio::test]
    async fn a_read_never_joins_a_round_already_under_way() {
        let batcher = ReadIndexBatcher::default();
        let started = Arc::new(AtomicU64::new(0));
        let first = {
            let batcher = batcher.clone();
            let round = counting_round(started.clone());
            tokio::spawn(async move { batcher.read_index(round).await })
        };
        // Let the first round start, then read while it is in flight.
        while started.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let second = batcher.read_index(counting_round(started.clone())).await;
        assert_eq!(first.await.expect("join"), Ok(1));
        assert_eq!(second, Ok(2), "the late read must get the next round");
    }

    #[tokio::test]
    async fn errors_reach_every_reader_and_the_next_round_runs() {
        let batcher = ReadIndexBatcher::default();
        let failing = || async { Err(RoundError::NoLeader("down".into())) };
        assert_eq!(
            batcher.read_index(failing).await,
            Err(RoundError::NoLeader("down".into()))
        );
        assert_eq!(batcher.read_index(|| async { Ok(7) }).await, Ok(7));
    }

    #[tokio::test]
    async fn a_starter_that_goes_away_strands_no_reader() {
        let batcher = ReadIndexBatcher::default();
        let gate = Arc::new(tokio::sync::Notify::new());
        let started = Arc::new(AtomicU64::new(0));
        let round = {
            let (gate, started) = (gate.clone(), started.clone());
            move || {
                let (gate, started) = (gate.clone(), started.clone());
                async move {
                    let n = started.fetch_add(1, Ordering::SeqCst) + 1;
                    if n == 1 {
                        // The first round hangs until its reader is gone.
                        gate.notified().await;
                    }
                    Ok(n)
                }
            }
        };
        let starter = {
            let (batcher, round) = (batcher.clone(), round.clone());
            tokio::spawn(async move { batcher.read_index(round).await })
        };
        while started.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let queued = {
            let (batcher, round) = (batcher.clone(), round.clone());
            tokio::spawn(async move { batcher.read_index(round).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        starter.abort();
        assert!(starter.await.expect_err("aborted").is_cancelled());
        let answer = tokio::time::timeout(Duration::from_secs(5), queued)
            .await
            .expect("the queued reader is answered")
            .expect("join");
        assert_eq!(answer, Ok(2));
        // And the batcher is idle again: the next read starts round 3 itself.
        assert_eq!(batcher.read_index(round).await, Ok(3));
    }
}
