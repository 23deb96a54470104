//! The commit step the apply thread and the inline path share: one group of entries in one
//! transaction, then the clients' answers, the *visible* watermark and the watch events.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;

use super::{CommitFn, DURABLE_EVERY, Entry, Responder};
use crate::watch::{Published, WatchHub};

/// What both the thread and the inline path commit with.
pub(super) struct Committer {
    pub(super) hub: WatchHub,
    /// The last log index whose effects are committed in the file.
    pub(super) visible: Arc<watch::Sender<u64>>,
    pub(super) failed: Mutex<Option<String>>,
    pub(super) commit: Arc<CommitFn>,
    /// Held while committing; guards when the last fsync was.
    pub(super) lock: Mutex<Instant>,
    /// Apply jobs sent to the thread and not yet committed.
    pub(super) pending: AtomicUsize,
}

impl Committer {
    /// Why an earlier commit failed, if one did: nothing more is applied after it.
    pub(super) fn failure(&self) -> Option<String> {
        skiff_sync::lock(&self.failed).clone()
    }

    /// Commits `entries` (the caller holds `lock`, passed as `last_fsync`), then answers the
    /// clients, raises the watermark and publishes the events.
    pub(super) fn commit_group(
        &self,
        last_fsync: &mut Instant,
        may_fsync: bool,
        entries: Vec<Entry>,
        responders: Vec<Responder>,
    ) -> Result<(), String> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let Some(last) = entries.last().map(|e| e.log_id.index) else {
            return Ok(());
        };
        let durable = may_fsync && last_fsync.elapsed() >= DURABLE_EVERY;
        match (self.commit)(&entries, durable) {
            Ok((responses, events)) => {
                if durable {
                    *last_fsync = Instant::now();
                }
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
                *skiff_sync::lock(&self.failed) = Some(e.clone());
                Err(e)
            }
        }
    }
}
