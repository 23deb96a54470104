//! The calling side of Raft streams: a pool of upgraded TLS connections per peer address, and
//! one request/answer exchange per call on a connection the caller holds alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Kind, PATH_STREAM, UPGRADE_PROTOCOL, read_frame, write_frame};
use crate::peer_client::{PEER_AUTH_HEADER, PeerError};
use skiff_store::codec;

type Conn = TokioIo<Upgraded>;

/// How long dialing (TCP, TLS and the upgrade) may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(2);
/// Idle connections kept per peer; more are closed when returned.
const MAX_IDLE: usize = 4;

/// Upgraded connections to peers, by address. Cheap to clone.
#[derive(Clone)]
pub struct StreamPool {
    tls: TlsConnector,
    secret: Arc<str>,
    idle: Arc<Mutex<HashMap<String, Vec<Conn>>>>,
}

impl StreamPool {
    pub fn new(tls: Arc<rustls::ClientConfig>, secret: Arc<str>) -> Self {
        StreamPool {
            tls: TlsConnector::from(tls),
            secret,
            idle: Arc::default(),
        }
    }

    /// Sends `req` as a `kind` frame to the replica at `addr` (an `https://` URL) and decodes
    /// its answer, within `timeout`. A pooled connection that turns out dead (the peer
    /// restarted) is replaced by a fresh one once.
    pub async fn call<Req, Resp>(
        &self,
        addr: &str,
        kind: Kind,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, PeerError>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
    {
        let body = codec::encode(req);
        let exchange = async {
            if let Some(mut conn) = self.take_idle(addr)
                && let Ok(answer) = exchange(&mut conn, kind, &body).await
            {
                self.put_idle(addr, conn);
                return Ok(answer);
            }
            let mut conn = self.dial(addr).await?;
            let answer =
                exchange(&mut conn, kind, &body)
                    .await
                    .map_err(|e| PeerError::Unreachable {
                        addr: addr.to_owned(),
                        reason: format!("raft stream broke: {e}"),
                    })?;
            self.put_idle(addr, conn);
            Ok(answer)
        };
        let answer = match tokio::time::timeout(timeout, exchange).await {
            Ok(answer) => answer?,
            Err(_) => {
                return Err(PeerError::Timeout {
                    addr: addr.to_owned(),
                    path: format!("{PATH_STREAM} ({kind:?})"),
                    timeout,
                });
            }
        };
        codec::decode(&answer).map_err(|e| PeerError::Malformed {
            addr: addr.to_owned(),
            path: format!("{PATH_STREAM} ({kind:?})"),
            reason: e.to_string(),
        })
    }

    fn take_idle(&self, addr: &str) -> Option<Conn> {
        let mut idle = skiff_sync::lock(&self.idle);
        let conns = idle.get_mut(addr)?;
        let conn = conns.pop();
        if conns.is_empty() {
            // No entry lingers for a peer that has left the cluster.
            idle.remove(addr);
        }
        conn
    }

    fn put_idle(&self, addr: &str, conn: Conn) {
        let mut idle = skiff_sync::lock(&self.idle);
        let conns = idle.entry(addr.to_owned()).or_default();
        if conns.len() < MAX_IDLE {
            conns.push(conn);
        }
    }

    /// Connects to `addr`, does the TLS handshake and upgrades the connection.
    async fn dial(&self, addr: &str) -> Result<Conn, PeerError> {
        let unreachable = |reason: String| PeerError::Unreachable {
            addr: addr.to_owned(),
            reason,
        };
        let uri: Uri = addr
            .parse()
            .map_err(|e| unreachable(format!("bad peer address: {e}")))?;
        let host = uri
            .host()
            .ok_or_else(|| unreachable("the peer address has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let name = ServerName::try_from(host.clone())
            .map_err(|e| unreachable(format!("bad peer host {host}: {e}")))?;
        let dial = async {
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            tcp.set_nodelay(true).ok();
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| unreachable(format!("TLS: {e}")))?;
            self.upgrade(addr, &uri, tls).await
        };
        tokio::time::timeout(DIAL_TIMEOUT, dial)
            .await
            .map_err(|_| unreachable(format!("no raft stream within {DIAL_TIMEOUT:?}")))?
    }

    async fn upgrade(
        &self,
        addr: &str,
        uri: &Uri,
        tls: tokio_rustls::client::TlsStream<TcpStream>,
    ) -> Result<Conn, PeerError> {
        let failed = |reason: String| PeerError::Unreachable {
            addr: addr.to_owned(),
            reason,
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| failed(e.to_string()))?;
        // Ends by itself once the connection is upgraded (or broken).
        tokio::spawn(connection.with_upgrades());
        let authority = uri
            .authority()
            .map_or_else(String::new, ToString::to_string);
        let request = Request::get(PATH_STREAM)
            .header(header::HOST, authority)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, UPGRADE_PROTOCOL)
            .header(PEER_AUTH_HEADER, &*self.secret)
            .body(Empty::<Bytes>::new())
            .map_err(|e| failed(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if status != StatusCode::SWITCHING_PROTOCOLS {
            let body = Limited::new(response.into_body(), 64 * 1024)
                .collect()
                .await;
            let message = body.map_or_else(
                |_| String::new(),
                |b| String::from_utf8_lossy(&b.to_bytes()).trim().to_owned(),
            );
            return Err(PeerError::Rejected {
                addr: addr.to_owned(),
                path: PATH_STREAM.to_owned(),
                status: status.as_u16(),
                message,
            });
        }
        let upgraded = hyper::upgrade::on(response)
            .await
            .map_err(|e| failed(format!("upgrade: {e}")))?;
        Ok(TokioIo::new(upgraded))
    }
}

/// Writes the request frame and reads the answer frame.
async fn exchange(conn: &mut Conn, kind: Kind, body: &[u8]) -> std::io::Result<Vec<u8>> {
    write_frame(conn, Some(kind as u8), body).await?;
    read_frame(conn).await
}
