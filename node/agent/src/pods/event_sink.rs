//! The agent's one poster of pod events, as the kubelet's event broadcaster is: pod tasks hand
//! their events over without waiting, and one loop posts them in order. A pod's status write
//! never queues behind its events, so a burst of starting pods reaches Running before their
//! Pulled/Created/Started events are all written. Posts keep to the kubelet's rate limit
//! ([`EventRate`], `--event-qps` and `--event-burst`); past [`MAX_QUEUED`] waiting events,
//! new ones are dropped (client-go drops when its broadcaster's queue is full).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event_rate::{EventRate, TokenBucket};
use super::events::EventRecorder;
use crate::worker::WorkerEvent;

/// Events waiting to be posted, over all pods, before new ones are dropped.
pub const MAX_QUEUED: usize = 4096;

enum Message {
    /// A pod's recorder (its series memory); its events follow.
    Open {
        uid: String,
        recorder: Box<EventRecorder>,
    },
    Post {
        uid: String,
        event: WorkerEvent,
    },
    /// The pod's task ended: forget its recorder once its queued events are posted.
    Close {
        uid: String,
    },
}

/// Where pod tasks send their events. Cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<Message>,
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

/// The loop that posts what an [`EventSink`] was given; its owner awaits [`SinkLoop::run`].
pub struct SinkLoop {
    rx: mpsc::UnboundedReceiver<Message>,
    queued: Arc<AtomicUsize>,
    rate: EventRate,
}

/// A sink and the loop that drains it at `rate`.
pub fn event_sink(rate: EventRate) -> (EventSink, SinkLoop) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let sink = EventSink {
        tx,
        queued: queued.clone(),
        dropped: Arc::default(),
    };
    (sink, SinkLoop { rx, queued, rate })
}

impl EventSink {
    /// Registers the recorder of pod `uid`.
    pub fn open(&self, uid: &str, recorder: EventRecorder) {
        let uid = uid.to_owned();
        let recorder = Box::new(recorder);
        let _ = self.tx.send(Message::Open { uid, recorder });
    }

    /// Queues `event` of pod `uid`; drops it (with a log line) when too many wait.
    pub fn post(&self, uid: &str, event: WorkerEvent) {
        if self.queued.fetch_add(1, Ordering::Relaxed) >= MAX_QUEUED {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            // One line for the first drop and one a thousand after, not one per event.
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped % 1000 == 1 {
                tracing::warn!(
                    reason = event.reason,
                    dropped,
                    "too many pod events waiting; dropped"
                );
            }
            return;
        }
        let uid = uid.to_owned();
        if self.tx.send(Message::Post { uid, event }).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Pod `uid` has no more events.
    pub fn close(&self, uid: &str) {
        let uid = uid.to_owned();
        let _ = self.tx.send(Message::Close { uid });
    }
}

impl SinkLoop {
    /// Posts events in the order given until every sink is dropped or `cancel` fires (events
    /// still queued then are dropped: they are best effort, as on Kubernetes).
    pub async fn run(mut self, cancel: CancellationToken) {
        let mut recorders: HashMap<String, Box<EventRecorder>> = HashMap::new();
        let mut bucket = TokenBucket::new(self.rate, std::time::Instant::now());
        loop {
            let message = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                message = self.rx.recv() => message,
            };
            match message {
                None => break,
                Some(Message::Open { uid, recorder }) => {
                    recorders.insert(uid, recorder);
                }
                Some(Message::Post { uid, event }) => {
                    self.queued.fetch_sub(1, Ordering::Relaxed);
                    let Some(recorder) = recorders.get_mut(&uid) else {
                        continue;
                    };
                    let wait = bucket.take(std::time::Instant::now());
                    if !wait.is_zero() {
                        tokio::select! {
                            biased;
                            () = cancel.cancelled() => break,
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                    recorder.post(event).await;
                }
                Some(Message::Close { uid }) => {
                    recorders.remove(&uid);
                }
            }
        }
    }
}
