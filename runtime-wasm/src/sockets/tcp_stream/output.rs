//! The output stream of skiff's TCP connection: `check-write` grants [`WRITE_PERMIT`] while
//! no write is in flight, a write makes the syscall at once and leaves what the socket could
//! not take to a background task, and the pollable waits for that task and writability.

use super::{AbortOnDrop, Conn, WRITE_PERMIT, WriteState, stream_error};
use bytes::{Buf, Bytes};
use std::io;
use std::sync::Arc;
use std::task::{Context, Waker};
use tokio::io::Interest;
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{OutputStream, StreamError, StreamResult};

/// The guest's output stream of a connection.
pub(in crate::sockets) struct TcpOut(pub(in crate::sockets) Arc<Conn>);

#[wasmtime_wasi_io::async_trait]
impl OutputStream for TcpOut {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let mut state = skiff_sync::lock(&self.0.write);
        match &*state {
            WriteState::Idle if bytes.len() <= WRITE_PERMIT => {}
            WriteState::Closed => return Err(StreamError::Closed),
            WriteState::Failed(_) => return Err(take_failure(&mut state)),
            _ => {
                return Err(StreamError::Trap(wasmtime::format_err!(
                    "not permitted to write {} bytes",
                    bytes.len()
                )));
            }
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let flags = rustix::net::SendFlags::NOSIGNAL;
            match rustix::net::send(&self.0.stream, &rest, flags) {
                Ok(n) => {
                    self.0.usage.sent(n as u64);
                    rest.advance(n);
                }
                Err(rustix::io::Errno::AGAIN) => break,
                Err(e) => {
                    *state = WriteState::Closed;
                    return Err(stream_error(e.into()));
                }
            }
        }
        if !rest.is_empty() {
            *state = WriteState::Flushing(AbortOnDrop(tokio::spawn(flush(self.0.clone(), rest))));
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        let mut state = skiff_sync::lock(&self.0.write);
        match &*state {
            WriteState::Closed => Err(StreamError::Closed),
            WriteState::Failed(_) => Err(take_failure(&mut state)),
            _ => Ok(()),
        }
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        if self
            .0
            .poll_settled(&mut Context::from_waker(Waker::noop()))
            .is_pending()
        {
            return Ok(0);
        }
        let mut state = skiff_sync::lock(&self.0.write);
        match &*state {
            WriteState::Idle => Ok(WRITE_PERMIT),
            WriteState::Flushing(_) => Ok(0),
            WriteState::Closed => Err(StreamError::Closed),
            WriteState::Failed(_) => Err(take_failure(&mut state)),
        }
    }

    async fn cancel(&mut self) {
        // Bytes the guest already wrote are delivered before the stream goes away.
        std::future::poll_fn(|cx| self.0.poll_settled(cx)).await;
    }
}

/// A failure is reported once; the stream is closed after it.
fn take_failure(state: &mut WriteState) -> StreamError {
    match std::mem::replace(state, WriteState::Closed) {
        WriteState::Failed(e) => stream_error(e),
        _ => StreamError::Closed,
    }
}

/// The rest of a write the socket could not take at once.
async fn flush(conn: Arc<Conn>, mut rest: Bytes) -> io::Result<()> {
    while !rest.is_empty() {
        conn.stream.writable().await?;
        let sent = conn.stream.try_io(Interest::WRITABLE, || {
            rustix::net::send(&conn.stream, &rest, rustix::net::SendFlags::NOSIGNAL)
                .map_err(io::Error::from)
        });
        match sent {
            Ok(n) => {
                conn.usage.sent(n as u64);
                rest.advance(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[wasmtime_wasi_io::async_trait]
impl Pollable for TcpOut {
    async fn ready(&mut self) {
        std::future::poll_fn(|cx| self.0.poll_settled(cx)).await;
        let open = matches!(*skiff_sync::lock(&self.0.write), WriteState::Idle);
        if open {
            let _ = self.0.stream.writable().await;
        }
    }
}

impl Drop for TcpOut {
    fn drop(&mut self) {
        let _ = rustix::net::shutdown(&self.0.stream, rustix::net::Shutdown::Write);
    }
}
