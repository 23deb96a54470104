//! The client half of replica-to-replica traffic: POSTs of codec-encoded bodies over HTTPS to a
//! peer's `/raft/*` endpoints, authenticated by the cluster secret, trusting only the cluster CA.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Serialize, de::DeserializeOwned};

use super::stream::StreamPool;
use skiff_store::codec;

/// Header carrying the cluster secret on peer requests.
pub const PEER_AUTH_HEADER: &str = "x-skiff-peer-secret";
/// Biggest body a peer request or answer may have (snapshots included).
pub(crate) const MAX_PEER_BODY: usize = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Nothing was delivered: the request can be retried elsewhere.
    #[error("peer {addr} is unreachable: {reason}")]
    Unreachable { addr: String, reason: String },
    /// The peer answered with an error status.
    #[error("peer {addr} refused {path}: HTTP {status}: {message}")]
    Rejected {
        addr: String,
        path: String,
        status: u16,
        message: String,
    },
    /// The request may or may not have been processed.
    #[error("peer {addr} did not answer {path} within {timeout:?}")]
    Timeout {
        addr: String,
        path: String,
        timeout: Duration,
    },
    #[error("peer {addr} sent an unreadable answer to {path}: {reason}")]
    Malformed {
        addr: String,
        path: String,
        reason: String,
    },
}

impl PeerError {
    /// True when the request certainly had no effect on the peer.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, PeerError::Unreachable { .. })
    }
}

/// What a streamed request body may fail with.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A request body: whole bytes, or a stream of pieces sent as they come.
type PeerBody = UnsyncBoxBody<Bytes, BodyError>;

/// A pooled HTTPS client for peer RPCs. Cheap to clone.
#[derive(Clone)]
pub struct PeerClient {
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, PeerBody>,
    secret: Arc<str>,
    /// Raft's hot RPCs go over upgraded connections instead (see `replica::stream`).
    streams: StreamPool,
}

impl PeerClient {
    pub fn new(tls: Arc<rustls::ClientConfig>, secret: &str) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(2)));
        // hyper-rustls sets ALPN itself from the enabled HTTP versions.
        let mut tls = (*tls).clone();
        tls.alpn_protocols.clear();
        let secret: Arc<str> = secret.into();
        let streams = StreamPool::new(Arc::new(tls.clone()), secret.clone());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            // Notice a peer that went silent (partition) instead of waiting on a dead connection.
            .http2_keep_alive_interval(Duration::from_secs(1))
            .http2_keep_alive_timeout(Duration::from_secs(2))
            .http2_keep_alive_while_idle(true)
            .timer(hyper_util::rt::TokioTimer::new())
            .build(connector);
        PeerClient {
            http,
            secret,
            streams,
        }
    }

    /// The pooled raft streams (append-entries and votes) to the same peers.
    pub fn streams(&self) -> &StreamPool {
        &self.streams
    }

    /// POSTs `req` to `addr` + `path` and decodes the answer.
    pub async fn call<Req, Resp>(
        &self,
        addr: &str,
        path: &str,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, PeerError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let body = codec::encode(req);
        let bytes = self.post(addr, path, body, timeout).await?;
        codec::decode(&bytes).map_err(|e| PeerError::Malformed {
            addr: addr.to_owned(),
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    async fn post(
        &self,
        addr: &str,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
        self.post_bytes(addr, path, Bytes::from(body), timeout)
            .await
    }

    /// POSTs raw `body` to `addr` + `path` (a `/raft/` path: the router checks the cluster
    /// secret) and returns the answer's bytes, at most [`MAX_PEER_BODY`].
    pub async fn post_bytes(
        &self,
        addr: &str,
        path: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
        let body = Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync();
        self.post_body(addr, path, body, tokio::time::sleep(timeout), timeout)
            .await
    }

    /// As [`Self::post_bytes`], the body sent as `frames` yields them (data, then trailers
    /// at the end: a value known only once the body is sent; a blob relayed while it
    /// arrives). A failed frame aborts the request, so the peer sees the transfer break off
    /// rather than a short body that looks whole. The body lasts as long as its source (an
    /// upload from a slow client may take minutes), so `timeout` counts from when
    /// `source_ended` resolves: how long the peer gets to take the rest and answer.
    pub async fn post_frames<S, E>(
        &self,
        addr: &str,
        path: &str,
        frames: S,
        source_ended: impl Future<Output = ()> + Send,
        timeout: Duration,
    ) -> Result<Bytes, PeerError>
    where
        S: futures::Stream<Item = Result<hyper::body::Frame<Bytes>, E>> + Send + 'static,
        E: Into<BodyError> + 'static,
    {
        use futures::TryStreamExt;
        let body = StreamBody::new(frames.map_err(Into::into)).boxed_unsync();
        let deadline = async {
            source_ended.await;
            tokio::time::sleep(timeout).await;
        };
        self.post_body(addr, path, body, deadline, timeout).await
    }

    /// POSTs `body`; gives up with [`PeerError::Timeout`] (saying `timeout`) when `deadline`
    /// resolves first.
    async fn post_body(
        &self,
        addr: &str,
        path: &str,
        body: PeerBody,
        deadline: impl Future<Output = ()>,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
        let uri = format!("{}{}", addr.trim_end_matches('/'), path);
        let request = http::Request::post(&uri)
            .header(PEER_AUTH_HEADER, &*self.secret)
            .header(http::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .map_err(|e| PeerError::Unreachable {
                addr: addr.to_owned(),
                reason: e.to_string(),
            })?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                let reason = describe_client_error(&e);
                if e.is_connect() {
                    PeerError::Unreachable {
                        addr: addr.to_owned(),
                        reason,
                    }
                } else {
                    PeerError::Malformed {
                        addr: addr.to_owned(),
                        path: path.to_owned(),
                        reason,
                    }
                }
            })?;
            read_answer(addr, path, response).await
        };
        tokio::select! {
            result = exchange => result,
            () = deadline => Err(PeerError::Timeout {
                addr: addr.to_owned(),
                path: path.to_owned(),
                timeout,
            }),
        }
    }
}

/// The answer's bytes (at most [`MAX_PEER_BODY`]), or the peer's refusal.
async fn read_answer(
    addr: &str,
    path: &str,
    response: http::Response<hyper::body::Incoming>,
) -> Result<Bytes, PeerError> {
    let status = response.status();
    let limited = http_body_util::Limited::new(response.into_body(), MAX_PEER_BODY);
    let bytes = limited.collect().await.map_err(|e| PeerError::Malformed {
        addr: addr.to_owned(),
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let bytes = bytes.to_bytes();
    if !status.is_success() {
        return Err(PeerError::Rejected {
            addr: addr.to_owned(),
            path: path.to_owned(),
            status: status.as_u16(),
            message: String::from_utf8_lossy(&bytes).trim().to_owned(),
        });
    }
    Ok(bytes)
}

/// hyper-util's errors hide the cause (e.g. the TLS alert) in their source chain.
fn describe_client_error(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
