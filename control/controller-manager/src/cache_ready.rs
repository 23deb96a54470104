//! Whether a shared cache has listed once, awaitable by any number of reconciles at once.
//!
//! kube-runtime's `Store::wait_until_ready` must not be awaited by two tasks at once. Its
//! `DelayedInit` (kube-runtime 5.0.0, `src/utils/delayed_init.rs`, `Get::poll`) polls one
//! `futures::channel::oneshot::Receiver`, which keeps a single waker (`rx_task` in
//! futures-channel's `oneshot::Inner::recv`): every task that polls it replaces the waker of
//! the task before, and when the store becomes ready only the last of them is woken. The others
//! wait forever. A reconcile waiting forever keeps its object's slot in the controller's
//! runner, which holds every later trigger of that object until the slot frees (`Runner`,
//! `hold_unless`), so the object is never reconciled again. After a failover the controllers
//! start with objects to reconcile at once: several reconciles waited for the pod cache
//! together, and the rollout stalled for good (the `components_fail_over_with_their_replica`
//! test, 1 run in 4).
//!
//! Polling that readiness from here at all would also steal the waker of the one waiter
//! kube-runtime keeps itself: a `Controller::for_shared_stream` runner waits for its store's
//! readiness before it starts any reconcile. So readiness is read off the reflector's stream
//! instead: `reflector` applies each event to the store before it yields it, so when the
//! stream yields `InitDone` the store holds its first list; a `tokio::sync::watch` channel then
//! wakes every waiter.

use futures::{Stream, StreamExt};
use kube::runtime::watcher;
use tokio::sync::watch;

/// Raises its [`CacheReady`] when the reflector's stream yields `InitDone`.
pub(crate) struct ReadySignal(watch::Sender<bool>);

/// Whether a cache has listed once; any number of tasks may wait for it at once.
#[derive(Clone, Debug)]
pub(crate) struct CacheReady(watch::Receiver<bool>);

/// The cache stopped (its term ended) before it listed once.
#[derive(Debug, thiserror::Error)]
#[error("the cache stopped before it listed once")]
pub(crate) struct CacheStopped;

/// A readiness that is not raised yet, and what raises it.
pub(crate) fn ready_channel() -> (ReadySignal, CacheReady) {
    let (tx, rx) = watch::channel(false);
    (ReadySignal(tx), CacheReady(rx))
}

impl CacheReady {
    /// Waits until the cache has listed once (at once if it has).
    pub(crate) async fn wait(&self) -> Result<(), CacheStopped> {
        let mut rx = self.0.clone();
        rx.wait_for(|ready| *ready)
            .await
            .map(|_| ())
            .map_err(|_| CacheStopped)
    }
}

/// Passes a reflector's events through (`reflect_shared` or `reflector`), raising `signal`
/// once the store behind it holds its first list.
pub(crate) fn signal_when_listed<K, S>(
    stream: S,
    signal: ReadySignal,
) -> impl Stream<Item = S::Item>
where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    stream.inspect(move |event| {
        if let Ok(watcher::Event::InitDone) = event {
            signal.0.send_replace(true);
        }
    })
}

#[cfg(test)]
mod tests;
