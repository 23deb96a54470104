//! Batching watch writes on a shared HTTP/2 connection.
//!
//! hyper drives each HTTP/2 response body in a task of its own and the connection (framing,
//! TLS, the socket write) in another. When a watch body hands hyper an event, h2 wakes the
//! connection task, and tokio's scheduler puts a task woken from a running task in the worker's
//! LIFO slot, so the connection task runs right after that one body: one event, one TLS record,
//! one `writev`. A write watched by 1,000 streams over 10 connections measured 1,000 `writev`
//! calls, the largest cost of the fan-out.
//!
//! Two things stop the connection from batching frames, and both are undone here:
//! - h2 does not copy a DATA payload of 256 bytes or more (its `CHAIN_THRESHOLD` over vectored
//!   I/O, which tokio-rustls reports) into its write buffer; it writes it straight through and
//!   must flush before it takes the next frame. So over HTTP/2 a watch line goes out in pieces
//!   of at most [`PIECE`] bytes, which h2 copies into its buffer and flushes when the buffer
//!   fills or nothing is left to send. Clients see the same bytes (a line may span frames, as
//!   it may span TCP segments).
//! - the LIFO slot.
//!
//! After a watch body has handed over an event (hyper polls the body again straight after
//! `send_data`), it wakes one of a few parked tasks here. That task takes the LIFO slot and
//! the connection task moves to the back of the run queue, behind the other bodies woken by
//! the same write, so the connection sends all their frames in one pass. It is only a
//! scheduling hint: if it does nothing (the parked task is already queued, or another runtime
//! flavour), every frame is still sent, just less batched.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use futures::task::AtomicWaker;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Parked tasks: a body woken on one worker finds one not already queued.
const PARKED: usize = 4;

/// Largest DATA frame payload a watch sends over HTTP/2: below h2's 256-byte chain threshold,
/// so frames are copied into the connection's write buffer and batched.
pub(super) const PIECE: usize = 240;

pub(crate) struct FlushBatcher {
    parked: Vec<Arc<AtomicWaker>>,
    next: AtomicUsize,
}

impl FlushBatcher {
    /// Starts the parked tasks; they end with `shutdown`. Outside a tokio runtime (unit tests)
    /// nothing is started and `defer` does nothing.
    pub(crate) fn start(shutdown: &CancellationToken, tasks: &TaskTracker) -> Self {
        let mut parked = Vec::new();
        if tokio::runtime::Handle::try_current().is_ok() {
            for _ in 0..PARKED {
                let waker = Arc::new(AtomicWaker::new());
                tasks.spawn(park(waker.clone(), shutdown.clone()));
                parked.push(waker);
            }
        }
        FlushBatcher {
            parked,
            next: AtomicUsize::new(0),
        }
    }

    /// Called by a watch body right after hyper took an event from it.
    pub(crate) fn defer(&self) {
        if self.parked.is_empty() {
            return;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.parked.len();
        self.parked[i].wake();
    }
}

/// A task that does nothing when woken but wait to be woken again.
async fn park(waker: Arc<AtomicWaker>, shutdown: CancellationToken) {
    let parked = poll_fn(|cx| {
        waker.register(cx.waker());
        Poll::<()>::Pending
    });
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = parked => {}
    }
}
