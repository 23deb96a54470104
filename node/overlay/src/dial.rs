//! The dialling end of the tunnels: [`TUNNELS_PER_PEER`] TLS + HTTP/2 connections to each
//! peer node, each opened by the first flow hashed to it and shared by every later one; a
//! closed connection is dialled again by the next flow. The peer must present the cluster
//! CA's certificate for its own node name.

use crate::body::Body;
use crate::tls::{CONNECTION_WINDOW, MAX_FRAME, STREAM_WINDOW, peer_node, tunnel_socket};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Connecting and the TLS and HTTP/2 handshakes must fit in this.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections to one peer; a flow uses the one its addresses hash to. One connection is
/// one task that encrypts, frames and writes every flow's bytes in turn, so concurrent flows
/// on one connection share a core; two let the two cores of a small node both carry them.
const TUNNELS_PER_PEER: usize = 2;
/// HTTP/2 pings on an idle tunnel, so a vanished peer is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Why a tunnel to a peer could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DialError {
    #[error("connecting to node {node} at {addr}: {source}")]
    Connect {
        node: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("node {node} at {addr} did not answer within {DIAL_TIMEOUT:?}")]
    Timeout { node: String, addr: SocketAddr },
    #[error("{0:?} is not a valid node name for TLS")]
    BadName(String),
    #[error("the peer at {addr} is not node {node}")]
    WrongPeer { node: String, addr: SocketAddr },
    #[error("HTTP/2 with node {node}: {source}")]
    Http { node: String, source: hyper::Error },
}

/// The tunnels this node opened, by peer node name and slot.
pub(crate) struct Peers {
    tls: TlsConnector,
    open: tokio::sync::Mutex<HashMap<(String, usize), SendRequest<Body>>>,
}

/// The slot of the flow from `source` to `destination` among a peer's connections.
fn slot(source: SocketAddr, destination: SocketAddr) -> usize {
    let mut hasher = std::hash::DefaultHasher::new();
    (source, destination).hash(&mut hasher);
    usize::try_from(hasher.finish() % TUNNELS_PER_PEER as u64).unwrap_or(0)
}

impl Peers {
    pub(crate) fn new(client: Arc<rustls::ClientConfig>) -> Peers {
        Peers {
            tls: TlsConnector::from(client),
            open: tokio::sync::Mutex::default(),
        }
    }

    /// A sender on the tunnel to `node` at `addr` for the flow `(source, destination)`,
    /// dialling it if none is open.
    pub(crate) async fn sender(
        &self,
        (node, addr): (&str, SocketAddr),
        (source, destination): (SocketAddr, SocketAddr),
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<SendRequest<Body>, DialError> {
        let key = (node.to_owned(), slot(source, destination));
        let mut open = self.open.lock().await;
        if let Some(sender) = open.get(&key).filter(|s| !s.is_closed()) {
            return Ok(sender.clone());
        }
        let dialled = tokio::time::timeout(DIAL_TIMEOUT, self.dial(node, addr, tasks, shutdown));
        let sender = dialled.await.map_err(|_| DialError::Timeout {
            node: node.to_owned(),
            addr,
        })??;
        open.insert(key, sender.clone());
        Ok(sender)
    }

    async fn dial(
        &self,
        node: &str,
        addr: SocketAddr,
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<SendRequest<Body>, DialError> {
        let name = ServerName::try_from(node.to_owned())
            .map_err(|_| DialError::BadName(node.to_owned()))?;
        let io = |source| DialError::Connect {
            node: node.to_owned(),
            addr,
            source,
        };
        let tcp = TcpStream::connect(addr).await.map_err(io)?;
        let tls = self.tls.connect(name, tunnel_socket(tcp)).await;
        let tls = tls.map_err(io)?;
        if peer_node(tls.get_ref().1.peer_certificates()).as_deref() != Some(node) {
            return Err(DialError::WrongPeer {
                node: node.to_owned(),
                addr,
            });
        }
        let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(KEEP_ALIVE)
            .keep_alive_while_idle(true)
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_frame_size(MAX_FRAME)
            .handshake(TokioIo::new(tls))
            .await
            .map_err(|source| DialError::Http {
                node: node.to_owned(),
                source,
            })?;
        let (peer, stop) = (node.to_owned(), shutdown.clone());
        tasks.spawn(async move {
            tokio::select! {
                ended = connection => if let Err(e) = ended {
                    tracing::debug!(node = %peer, "overlay tunnel closed: {e}");
                },
                () = stop.cancelled() => {}
            }
        });
        tracing::info!(node, %addr, "overlay tunnel open");
        Ok(sender)
    }
}
