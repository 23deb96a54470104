//! skiff's own `wasi:io` streams over a connected guest TCP socket (replacing
//! wasmtime-wasi's `TcpReader`/`TcpWriter`), with the same semantics: a read never blocks and
//! returns what the socket has (empty when nothing), `Closed` at EOF; `check-write` grants a
//! permit only when no earlier write is still in flight (backpressure), a write the socket
//! cannot take at once finishes on a background task, `flush` is a no-op, the pollables wait
//! for readability / for the in-flight write and writability, and dropping a stream shuts
//! its direction down.
//!
//! What differs is the cost per call:
//! - a read receives straight into the spare capacity of a fresh `Vec` (no zeroing; the
//!   `Vec` becomes the guest's `list<u8>` without another copy) and may take up to
//!   [`MAX_READ`] bytes at once (wasmtime-wasi: a zeroed 64 KiB `BytesMut` per read);
//! - a read or write first makes the real syscall, so data that arrived since the reactor's
//!   last turn is taken at once instead of after a pollable round trip through tokio; only
//!   an empty socket (`EAGAIN`) falls back to tokio's readiness;
//! - every byte read or written is counted on the container's [`UsageCounters`].

use crate::usage::UsageCounters;
use bytes::Bytes;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::Interest;
use tokio::net::TcpStream;
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{InputStream, StreamError, StreamResult};

/// The most one read hands the guest. Guest-driven, so bounded: the host allocates at most
/// this much per call (and frees it once copied into guest memory); 256 KiB lets a guest
/// reading into a large buffer drain a loopback socket in a quarter of the calls of
/// wasmtime-wasi's 64 KiB.
pub(super) const MAX_READ: usize = 256 * 1024;

/// The permit `check-write` grants: at most this much is held by the host (on a background
/// write) for a guest, the bound of its send-side buffering.
pub(super) const WRITE_PERMIT: usize = 256 * 1024;

/// One connected socket, shared by its input and output stream and its socket resource.
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    read_closed: AtomicBool,
    write: Mutex<WriteState>,
    usage: Arc<UsageCounters>,
}

/// The send side: idle, finishing a write (or a write then the shutdown) on a task, failed
/// once (reported to the next call), or closed.
enum WriteState {
    Idle,
    Flushing(AbortOnDrop),
    Failed(io::Error),
    Closed,
}

/// A background write, aborted if its stream goes away without waiting for it.
struct AbortOnDrop(tokio::task::JoinHandle<io::Result<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Conn {
    pub(super) fn new(stream: TcpStream, usage: Arc<UsageCounters>) -> Arc<Conn> {
        Arc::new(Conn {
            stream,
            read_closed: AtomicBool::new(false),
            write: Mutex::new(WriteState::Idle),
            usage,
        })
    }

    /// `shutdown(receive)`: later reads report `Closed`.
    pub(super) fn shutdown_read(&self) {
        self.read_closed.store(true, Ordering::Relaxed);
        let _ = rustix::net::shutdown(&self.stream, rustix::net::Shutdown::Read);
    }

    /// `shutdown(send)`: after any write in flight, FIN; later writes report `Closed`.
    pub(super) fn shutdown_write(self: &Arc<Self>) {
        let mut state = skiff_sync::lock(&self.write);
        *state = match std::mem::replace(&mut *state, WriteState::Closed) {
            WriteState::Flushing(pending) => {
                let conn = self.clone();
                WriteState::Flushing(AbortOnDrop(tokio::spawn(async move {
                    let written = (&mut { pending }.0).await;
                    let _ = rustix::net::shutdown(&conn.stream, rustix::net::Shutdown::Write);
                    written.unwrap_or_else(|e| Err(io::Error::other(e)))
                })))
            }
            WriteState::Idle => {
                let _ = rustix::net::shutdown(&self.stream, rustix::net::Shutdown::Write);
                WriteState::Closed
            }
            other => other,
        };
    }

    /// What the socket holds now: up to `size` bytes, nothing yet, or the end.
    fn read_now(&self, size: usize) -> io::Result<Received> {
        let mut buf = Vec::with_capacity(size.min(MAX_READ));
        match recv_into(&self.stream, &mut buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => return other.map(|n| Received::of(buf, n)),
        }
        // Empty: let tokio see the same, so the pollable waits for the next readiness edge.
        match (self.stream).try_io(Interest::READABLE, || recv_into(&self.stream, &mut buf)) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Received::Nothing),
            other => other.map(|n| Received::of(buf, n)),
        }
    }

    /// Settles a finished background write (without waiting when `cx` is a no-op context).
    fn poll_settled(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = skiff_sync::lock(&self.write);
        if let WriteState::Flushing(pending) = &mut *state {
            let done = match std::pin::Pin::new(&mut pending.0).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(done) => done,
            };
            *state = match done {
                Ok(Ok(())) => WriteState::Idle,
                Ok(Err(e)) => WriteState::Failed(e),
                Err(e) => WriteState::Failed(io::Error::other(e)),
            };
        }
        Poll::Ready(())
    }
}

/// One non-blocking receive's outcome.
enum Received {
    Data(Vec<u8>),
    Nothing,
    End,
}

impl Received {
    fn of(buf: Vec<u8>, n: usize) -> Received {
        if n == 0 {
            Received::End
        } else {
            Received::Data(buf)
        }
    }
}

/// One `recv` into `buf`'s spare capacity (never zeroed), without waiting.
fn recv_into(stream: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let flags = rustix::net::RecvFlags::DONTWAIT;
    match rustix::net::recv(stream, rustix::buffer::spare_capacity(buf), flags) {
        Ok((n, _)) => Ok(n),
        Err(e) => Err(e.into()),
    }
}

/// A failed socket call as a stream error: a peer gone is `Closed`, the rest
/// `LastOperationFailed` (its `io::Error` maps to a wasi:sockets error code).
fn stream_error(e: io::Error) -> StreamError {
    match e.kind() {
        io::ErrorKind::BrokenPipe => StreamError::Closed,
        _ => StreamError::LastOperationFailed(e.into()),
    }
}

/// The guest's input stream of a connection.
pub(super) struct TcpIn(pub(super) Arc<Conn>);

#[wasmtime_wasi_io::async_trait]
impl InputStream for TcpIn {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.0.read_closed.load(Ordering::Relaxed) {
            return Err(StreamError::Closed);
        }
        if size == 0 {
            return Ok(Bytes::new());
        }
        let received = self.0.read_now(size).map_err(|e| {
            self.0.read_closed.store(true, Ordering::Relaxed);
            StreamError::LastOperationFailed(e.into())
        })?;
        match received {
            Received::Data(buf) => {
                self.0.usage.received(buf.len() as u64);
                Ok(Bytes::from(buf))
            }
            Received::Nothing => Ok(Bytes::new()),
            Received::End => {
                self.0.read_closed.store(true, Ordering::Relaxed);
                Err(StreamError::Closed)
            }
        }
    }
}

#[wasmtime_wasi_io::async_trait]
impl Pollable for TcpIn {
    async fn ready(&mut self) {
        if self.0.read_closed.load(Ordering::Relaxed) {
            return;
        }
        // An error is reported by the next read.
        let _ = self.0.stream.readable().await;
    }
}

impl Drop for TcpIn {
    fn drop(&mut self) {
        let _ = rustix::net::shutdown(&self.0.stream, rustix::net::Shutdown::Read);
    }
}

mod output;
pub(super) use output::TcpOut;

#[cfg(test)]
mod tests;
