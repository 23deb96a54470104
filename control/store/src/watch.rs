//! Watch: every event under a prefix after a revision, in revision order, none missed, none twice.
//!
//! The state machine publishes each applied batch on a broadcast channel after its redb
//! transaction commits. A watcher subscribes first, then replays history from redb, then follows
//! the channel, skipping what it already delivered. A watcher that falls behind the channel
//! re-reads history; one that falls behind the compacted revision gets `WatchError::Expired`.
//! A watcher is a plain struct, not a task, so dropping it releases everything it held.
//! Events from the channel are shared, not copied, between the watchers that want them
//! ([`SharedEvent`]), so a thousand watchers of one key cost no copies of its value.

use std::collections::VecDeque;
use std::sync::Arc;

use redb::{ReadableDatabase, ReadableTable};
use tokio::sync::broadcast;

use super::codec;
use super::index::Found;
use super::mvcc::{self, META, META_COMPACTED, META_REVISION, Mvcc, MvccError, REVISIONS, Version};
use super::types::{Event, EventKind, KeyValue};

/// How many applied batches the broadcast channel buffers before slow watchers re-read redb.
const CHANNEL_CAPACITY: usize = 4096;
/// Events read from redb per catch-up step, so one slow watcher cannot hold a huge read.
const REPLAY_BATCH: usize = 1024;

#[derive(Clone, Debug)]
pub(crate) enum Published {
    Events(Arc<Vec<Event>>),
    /// A snapshot replaced the state: history before it is gone.
    Reset,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The requested revision is older than the history window (Kubernetes 410 `Expired`).
    #[error("revision {requested} is compacted; the oldest watchable revision is {compacted}")]
    Expired { requested: u64, compacted: u64 },
    #[error("reading watch history: {0}")]
    Storage(#[from] MvccError),
    #[error("the store is shutting down")]
    Closed,
}

/// The publishing side, owned by the state machine.
#[derive(Clone)]
pub struct WatchHub {
    tx: broadcast::Sender<Published>,
}

impl Default for WatchHub {
    fn default() -> Self {
        WatchHub {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }
}

impl WatchHub {
    pub(crate) fn publish(&self, message: Published) {
        // No receivers is normal: nobody is watching.
        let _ = self.tx.send(message);
    }

    /// Starts a watch of `prefix` delivering events with revision `> after`.
    pub fn watch(&self, mvcc: Mvcc, prefix: String, after: u64) -> Result<Watcher, WatchError> {
        let rx = self.tx.subscribe();
        let compacted = mvcc.index().compacted;
        if after < compacted {
            return Err(WatchError::Expired {
                requested: after,
                compacted,
            });
        }
        Ok(Watcher {
            mvcc,
            prefix,
            seen: after,
            rx,
            replaying: true,
            pending: VecDeque::new(),
        })
    }
}

/// An event as a watcher hands it out: one of a published batch (shared by every watcher), or
/// one read back from history.
#[derive(Clone, Debug)]
pub struct SharedEvent {
    batch: Arc<Vec<Event>>,
    index: usize,
}

impl SharedEvent {
    fn owned(event: Event) -> Self {
        SharedEvent {
            batch: Arc::new(vec![event]),
            index: 0,
        }
    }

    pub fn into_owned(self) -> Event {
        match Arc::try_unwrap(self.batch) {
            Ok(mut batch) => batch.swap_remove(self.index),
            Err(batch) => batch[self.index].clone(),
        }
    }
}

impl std::ops::Deref for SharedEvent {
    type Target = Event;
    fn deref(&self) -> &Event {
        &self.batch[self.index]
    }
}

/// One watch stream. Call `next` until it returns an error.
pub struct Watcher {
    mvcc: Mvcc,
    prefix: String,
    /// Highest revision already considered: queued in `pending`, delivered, or filtered out.
    seen: u64,
    rx: broadcast::Receiver<Published>,
    /// Still catching up from redb before following the channel.
    replaying: bool,
    pending: VecDeque<SharedEvent>,
}

impl Watcher {
    /// The next event, waiting for one if needed.
    pub async fn next(&mut self) -> Result<Event, WatchError> {
        self.next_shared().await.map(SharedEvent::into_owned)
    }

    /// Like `next`, without copying the event out of the batch it was published in.
    pub async fn next_shared(&mut self) -> Result<SharedEvent, WatchError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(event);
            }
            if self.replaying {
                self.replay_step()?;
                continue;
            }
            match self.rx.recv().await {
                Ok(Published::Events(batch)) => {
                    let seen = self.seen;
                    for (index, e) in batch.iter().enumerate() {
                        if e.revision() > seen && e.kv.key.starts_with(&self.prefix) {
                            let batch = batch.clone();
                            self.pending.push_back(SharedEvent { batch, index });
                        }
                    }
                    if let Some(last) = batch.last() {
                        self.seen = self.seen.max(last.revision());
                    }
                }
                Ok(Published::Reset) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.replaying = true;
                }
                Err(broadcast::error::RecvError::Closed) => return Err(WatchError::Closed),
            }
        }
    }

    /// A revision such that every matching event up to it has been returned by `next`
    /// (what a Kubernetes BOOKMARK reports).
    pub fn revision(&self) -> u64 {
        match self.pending.front() {
            Some(event) => event.revision() - 1,
            None => self.seen,
        }
    }

    /// Reads up to `REPLAY_BATCH` events after `seen` from redb; ends replay when caught up.
    fn replay_step(&mut self) -> Result<(), WatchError> {
        let txn = self.mvcc.db.begin_read().map_err(redb_err)?;
        let meta = txn.open_table(META).map_err(MvccError::from)?;
        let compacted = mvcc::read_u64(&meta, META_COMPACTED)?;
        let current = mvcc::read_u64(&meta, META_REVISION)?;
        if self.seen < compacted {
            return Err(self.expired(compacted));
        }
        let table = txn.open_table(REVISIONS).map_err(MvccError::from)?;
        let mut caught_up = true;
        for (scanned, item) in table
            .range((self.seen + 1, 0)..)
            .map_err(MvccError::from)?
            .enumerate()
        {
            let (k, raw) = item.map_err(MvccError::from)?;
            let (rev, _) = k.value();
            if scanned >= REPLAY_BATCH && rev != self.seen {
                // Stop on a revision boundary so a transaction is never split; `seen` is the
                // last revision fully scanned.
                caught_up = false;
                break;
            }
            self.seen = rev;
            let version: Version = codec::decode(raw.value()).map_err(MvccError::from)?;
            if !version.kv.key.starts_with(&self.prefix) {
                continue;
            }
            let prev = self.prev_of(&table, &version.kv)?;
            let kind = if version.deleted {
                EventKind::Delete
            } else {
                EventKind::Put
            };
            let event = Event {
                kind,
                kv: version.kv,
                prev,
            };
            self.pending.push_back(SharedEvent::owned(event));
        }
        if caught_up {
            // Caught up with everything committed when this read began; the channel holds the
            // rest (we subscribed before reading).
            self.seen = self.seen.max(current);
            self.replaying = false;
        }
        Ok(())
    }

    /// The key as it was just before `kv.mod_revision`.
    fn prev_of<T>(&self, table: &T, kv: &KeyValue) -> Result<Option<KeyValue>, WatchError>
    where
        T: ReadableTable<(u64, u32), &'static [u8]>,
    {
        let before = kv.mod_revision - 1;
        let (found, generation) = {
            let index = self.mvcc.index();
            if index.compacted > before {
                // Compacted since this read began: the version may be gone from the index.
                return Err(self.expired(index.compacted));
            }
            (index.find(&kv.key, before), index.generation)
        };
        match found {
            None => Ok(None),
            Some(Found::Current(prev)) => Ok(Some(KeyValue::clone(&prev))),
            Some(Found::Stored(id)) => {
                let version = mvcc::fetch(table, id)?;
                let index = self.mvcc.index();
                // Gone, or read after a snapshot reused its id: history moved past this watcher.
                match version {
                    Some(version) if index.generation == generation => Ok(Some(version.kv)),
                    _ => Err(self.expired(index.compacted)),
                }
            }
        }
    }

    fn expired(&self, compacted: u64) -> WatchError {
        WatchError::Expired {
            requested: self.seen,
            compacted,
        }
    }
}

fn redb_err(e: redb::TransactionError) -> WatchError {
    WatchError::Storage(e.into())
}
