//! In-process HTTP connections to this process's API server. The scheduler, the controller
//! manager and `skiff up`'s node agent call the API server of their own process; over a pipe
//! their requests skip TLS, TCP and the kernel, and keep everything else (HTTP, bearer-token
//! authentication, authorisation, the request metrics), so they are the same API calls a
//! remote client makes.
//!
//! - [`pipe`]: a [`Dialer`] (cheap to clone, for clients) and the [`PipeListener`] it dials.
//! - [`serve`]: the accept loop of a listener, one hyper connection per dial, drained when its
//!   shutdown token fires; [`serve_connection`]: one such connection (also what the HTTPS
//!   listener runs after each TLS handshake).
//! - [`client`]: a kube-rs [`kube::Client`] whose connections are dialed through a pipe.
//!
//! A pipe carries no credentials of its own: every request still presents its bearer token,
//! so a pipe gives a caller nothing a loopback HTTPS connection would not.

mod client;
mod io;
mod serve;

pub use client::{Retry, client};
pub use serve::{DRAIN_GRACE, serve, serve_connection};

use tokio::io::DuplexStream;
use tokio::sync::mpsc;

/// Bytes either end of one connection may have in flight before its writer waits.
const CONNECTION_BUFFER: usize = 256 * 1024;

/// Why a pipe could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    #[error("the in-process API server has stopped")]
    Closed,
    #[error("building the in-process API client: {0}")]
    Client(#[source] kube::Error),
}

/// Opens connections to a [`PipeListener`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dialer {
    accept: mpsc::UnboundedSender<DuplexStream>,
}

/// The server end: each dial arrives here as one connection.
#[derive(Debug)]
pub struct PipeListener {
    incoming: mpsc::UnboundedReceiver<DuplexStream>,
}

/// A new pipe: dials on the [`Dialer`] arrive at the [`PipeListener`].
pub fn pipe() -> (Dialer, PipeListener) {
    let (accept, incoming) = mpsc::unbounded_channel();
    (Dialer { accept }, PipeListener { incoming })
}

impl Dialer {
    /// A new connection to the listener: the caller's end. Fails once the listener is gone.
    pub fn dial(&self) -> Result<DuplexStream, PipeError> {
        let (ours, theirs) = tokio::io::duplex(CONNECTION_BUFFER);
        self.accept.send(theirs).map_err(|_| PipeError::Closed)?;
        Ok(ours)
    }
}

impl PipeListener {
    /// The next connection; `None` once every [`Dialer`] is gone.
    pub async fn accept(&mut self) -> Option<DuplexStream> {
        self.incoming.recv().await
    }
}

#[cfg(test)]
mod tests;
