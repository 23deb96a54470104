//! Fetching the cluster CA from an existing replica before joining, k3s-style: the connection
//! is not verified (the joiner has no CA yet), the CA it returns is checked against the hash
//! pinned in the join token instead.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::ca::{cert_der, fingerprint_der};
use super::token::JoinToken;

/// The port used when the join URL names none (the API server's, as in k3s).
pub const DEFAULT_PORT: u16 = 6443;
/// The whole fetch (connect, handshake, response) must finish within this.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A CA bundle is a few KiB; anything larger is not one.
const MAX_BODY: usize = 64 * 1024;

/// Why fetching the CA failed. [`JoinError::is_retryable`] separates "try again later" (the
/// server is down or busy) from fatal mistakes (wrong token, wrong URL).
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("join URL {url:?} is invalid: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "the join token has no CA hash, so the server at {url} cannot be authenticated; \
         use the full K10... token (or opt into insecure joining)"
    )]
    Unpinned { url: String },
    #[error("cannot reach {url}: {source}")]
    Unreachable { url: String, source: io::Error },
    #[error("TLS handshake with {url} failed: {source}")]
    Tls { url: String, source: io::Error },
    #[error("{url}: HTTP exchange failed: {source}")]
    Http { url: String, source: hyper::Error },
    #[error("{url}/cacerts answered {status}, expected 200 with the cluster CA")]
    BadStatus { url: String, status: StatusCode },
    #[error("{url}/cacerts did not answer with a PEM certificate")]
    NotPem { url: String },
    #[error(
        "the server at {url} presents cluster CA sha256:{presented}, but the token pins \
         sha256:{expected}: wrong token or wrong cluster"
    )]
    CaMismatch {
        expected: String,
        presented: String,
        url: String,
    },
}

impl JoinError {
    /// Whether retrying later may succeed (the server is down, starting, or overloaded).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Tls { .. } | Self::Http { .. } => true,
            Self::BadStatus { status, .. } => status.is_server_error(),
            Self::InvalidUrl { .. } | Self::Unpinned { .. } | Self::NotPem { .. } => false,
            Self::CaMismatch { .. } => false,
        }
    }
}

/// Whether a token without a CA hash may be used to fetch the CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinPolicy {
    /// Refuse tokens that do not pin the CA (the default).
    RequirePin,
    /// Accept whatever CA the server presents when the token pins none. A man in the middle
    /// can then hand over its own CA: for labs only.
    InsecureAllowUnpinned,
}

/// Fetches the cluster CA PEM from `https://host:port/cacerts` and checks it against the CA
/// hash pinned in `token`. The token's secret is never sent (the server is not yet trusted).
pub async fn fetch_ca(url: &str, token: &JoinToken) -> Result<String, JoinError> {
    fetch_ca_with(url, token, PinPolicy::RequirePin).await
}

/// [`fetch_ca`] with an explicit policy for tokens that pin no CA.
pub async fn fetch_ca_with(
    url: &str,
    token: &JoinToken,
    policy: PinPolicy,
) -> Result<String, JoinError> {
    let pinned = match (token.ca_fingerprint(), policy) {
        (Some(pin), _) => Some(pin),
        (None, PinPolicy::InsecureAllowUnpinned) => None,
        (None, PinPolicy::RequirePin) => {
            return Err(JoinError::Unpinned {
                url: url.to_owned(),
            });
        }
    };
    let url = url.trim_end_matches('/');
    let fetched = tokio::time::timeout(FETCH_TIMEOUT, get_cacerts(url)).await;
    let pem = fetched.unwrap_or_else(|_| {
        let source = io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {FETCH_TIMEOUT:?}"),
        );
        Err(JoinError::Unreachable {
            url: url.to_owned(),
            source,
        })
    })?;
    let der = cert_der(&pem).map_err(|_| JoinError::NotPem {
        url: url.to_owned(),
    })?;
    let presented = fingerprint_der(&der);
    match pinned {
        Some(expected) if expected != presented => Err(JoinError::CaMismatch {
            expected: expected.to_owned(),
            presented,
            url: url.to_owned(),
        }),
        Some(_) => Ok(pem),
        None => {
            tracing::warn!(
                "accepting cluster CA sha256:{presented} from {url} without a pin (insecure join)"
            );
            Ok(pem)
        }
    }
}

async fn get_cacerts(url: &str) -> Result<String, JoinError> {
    let invalid = |reason: &str| JoinError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
    if uri.scheme_str() != Some("https") {
        return Err(invalid("must start with https://"));
    }
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(DEFAULT_PORT);
    let tls = connect_unverified(url, &host, port).await?;
    let authority = uri.authority().map_or(host.clone(), ToString::to_string);
    let request = Request::get("/cacerts")
        .header(http::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| invalid(&e.to_string()))?;
    fetch_text(url, tls, request).await
}

/// A TLS connection to `host:port` that does not check the server's certificate (see
/// [`unverified_client_config`]).
async fn connect_unverified(
    url: &str,
    host: &str,
    port: u16,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, JoinError> {
    let server_name = ServerName::try_from(host.to_owned()).map_err(|e| JoinError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|source| JoinError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    let config = unverified_client_config().map_err(|e| JoinError::Tls {
        url: url.to_owned(),
        source: io::Error::other(e),
    })?;
    TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|source| JoinError::Tls {
            url: url.to_owned(),
            source,
        })
}

/// Sends `request` over `tls` (HTTP/1.1) and returns the body of a 200 as text.
async fn fetch_text(
    url: &str,
    tls: tokio_rustls::client::TlsStream<TcpStream>,
    request: Request<Empty<Bytes>>,
) -> Result<String, JoinError> {
    let http_err = |source| JoinError::Http {
        url: url.to_owned(),
        source,
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(http_err)?;
    let conn = tokio::spawn(conn);
    let response = sender.send_request(request).await.map_err(http_err)?;
    let status = response.status();
    if status != StatusCode::OK {
        conn.abort();
        return Err(JoinError::BadStatus {
            url: url.to_owned(),
            status,
        });
    }
    let body = Limited::new(response.into_body(), MAX_BODY).collect().await;
    conn.abort();
    let body = body
        .map_err(|_| JoinError::NotPem {
            url: url.to_owned(),
        })?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|_| JoinError::NotPem {
        url: url.to_owned(),
    })
}

/// The client config of the one `/cacerts` request: any server certificate is accepted, the
/// CA it returns is authenticated by the token's pin instead.
fn unverified_client_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    skiff_trust::cacerts_fetch_config(&[b"http/1.1"]).map(Arc::new)
}
