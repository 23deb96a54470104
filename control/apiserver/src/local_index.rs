//! In-memory indexes fed from this replica's store, as kube-apiserver's authenticators and
//! authorizers read informer caches: one list of a key prefix, then its watch from the listed
//! revision; when the watch breaks the index is marked out of sync and listed again. The token
//! index, the RBAC policy cache and the node authorizer's graph are each one [`LocalIndex`].

use std::sync::Arc;
use std::time::Duration;

use skiff_replica::Replica;
use skiff_replica::ops::Consistency;
use skiff_store::ListOptions;
use skiff_store::types::{Event, KeyValue};
use tokio_util::sync::CancellationToken;

/// Wait before listing again after the watch or a list failed.
const RELIST_DELAY: Duration = Duration::from_millis(200);

/// An index that [`feed`] keeps current.
pub(crate) trait LocalIndex: Send + Sync + 'static {
    /// What the index holds, for log lines ("token Secrets").
    fn describes(&self) -> &'static str;
    /// Replaces everything with one listing and marks the index in sync.
    fn reset(&self, kvs: Vec<KeyValue>);
    /// Applies one change seen by the watch.
    fn apply(&self, event: &Event);
    /// The watch broke: lookups must not trust the index until the next `reset`.
    fn unsync(&self);
}

/// Keeps `index` fed from the keys under `prefix` of `replica` until `shutdown`.
pub(crate) async fn feed<I: LocalIndex>(
    index: Arc<I>,
    replica: Arc<Replica>,
    prefix: String,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let why = follow(index.as_ref(), &replica, &prefix, &shutdown).await;
        index.unsync();
        if shutdown.is_cancelled() {
            return;
        }
        tracing::debug!("index of {}: {why}; listing again", index.describes());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RELIST_DELAY) => {}
        }
    }
}

/// One list-then-watch round; returns why it stopped.
async fn follow<I: LocalIndex>(
    index: &I,
    replica: &Replica,
    prefix: &str,
    shutdown: &CancellationToken,
) -> String {
    let what = index.describes();
    let page = match replica
        .list(prefix, &ListOptions::default(), Consistency::Serializable)
        .await
    {
        Ok(page) => page,
        Err(e) => return format!("listing {what}: {e}"),
    };
    let mut watcher = match replica.watch(prefix, page.revision) {
        Ok(w) => w,
        Err(e) => return format!("watching {what}: {e}"),
    };
    index.reset(page.kvs);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return "shutting down".into(),
            next = watcher.next() => match next {
                Ok(event) => index.apply(&event),
                Err(e) => return format!("the watch of {what} ended: {e}"),
            },
        }
    }
}
