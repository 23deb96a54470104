//! The dialling end of the tunnels: one TLS + HTTP/2 connection to each peer node, opened
//! on the first flow to it and shared by every later one; a closed connection is dialled
//! again by the next flow. The peer must present the cluster CA's certificate for its own
//! node name.

use crate::body::Body;
use crate::tls::peer_node;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Connecting and the TLS and HTTP/2 handshakes must fit in this.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 pings on an idle tunnel, so a vanished peer is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Flow-control windows: large enough that one stream is not held to 64 KiB in flight.
const STREAM_WINDOW: u32 = 4 << 20;
const CONNECTION_WINDOW: u32 = 16 << 20;

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

/// The tunnels this node opened, by peer node name.
pub(crate) struct Peers {
    tls: TlsConnector,
    open: tokio::sync::Mutex<HashMap<String, SendRequest<Body>>>,
}

impl Peers {
    pub(crate) fn new(client: Arc<rustls::ClientConfig>) -> Peers {
        Peers {
            tls: TlsConnector::from(client),
            open: tokio::sync::Mutex::default(),
        }
    }

    /// A sender on the tunnel to `node` at `addr`, dialling it if none is open.
    pub(crate) async fn sender(
        &self,
        node: &str,
        addr: SocketAddr,
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<SendRequest<Body>, DialError> {
        let mut open = self.open.lock().await;
        if let Some(sender) = open.get(node).filter(|s| !s.is_closed()) {
            return Ok(sender.clone());
        }
        let dialled = tokio::time::timeout(DIAL_TIMEOUT, self.dial(node, addr, tasks, shutdown));
        let sender = dialled.await.map_err(|_| DialError::Timeout {
            node: node.to_owned(),
            addr,
        })??;
        open.insert(node.to_owned(), sender.clone());
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
        let _ = tcp.set_nodelay(true);
        let tls = self.tls.connect(name, tcp).await.map_err(io)?;
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
