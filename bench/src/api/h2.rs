//! HTTP/2 over TLS to one skiff replica (ALPN `h2`), so many long-lived watch streams share a
//! few connections instead of needing one socket each. Loopback addresses only.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderValue, Method, Request, Response};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::client::conn::http2::{SendRequest, handshake};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// One replica reached over HTTP/2.
#[derive(Clone)]
pub struct H2Endpoint {
    pub url: String,
    addr: SocketAddr,
    authority: String,
    tls: TlsConnector,
    bearer: HeaderValue,
}

impl H2Endpoint {
    /// Parses `https://IP:PORT`; refuses anything but a loopback address.
    pub fn parse(url: &str, ca: &Path, token: &str) -> Result<Self> {
        let hostport = url
            .strip_prefix("https://")
            .with_context(|| format!("endpoint {url:?} must be https://IP:PORT"))?
            .trim_end_matches('/');
        let addr: SocketAddr = hostport
            .parse()
            .with_context(|| format!("endpoint {url:?} must be https://IP:PORT"))?;
        if !addr.ip().is_loopback() {
            bail!("refusing endpoint {url:?}: only loopback addresses are benchmarked");
        }
        Ok(Self {
            url: url.to_owned(),
            addr,
            authority: hostport.to_owned(),
            tls: connector(ca)?,
            bearer: HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                .context("bearer token is not a valid header value")?,
        })
    }

    /// Opens one HTTP/2 connection and spawns its driver.
    pub async fn connect(&self) -> Result<H2Conn> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connect {}", self.url))?;
        tcp.set_nodelay(true)?;
        let tls = self
            .tls
            .connect(ServerName::from(self.addr.ip()), tcp)
            .await
            .with_context(|| format!("TLS handshake with {}", self.url))?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            bail!("{} did not agree to HTTP/2 by ALPN", self.url);
        }
        let (sender, conn) = handshake(TokioExecutor::new(), TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        Ok(H2Conn {
            sender,
            authority: self.authority.clone(),
            bearer: self.bearer.clone(),
        })
    }
}

/// A multiplexed connection; clones share it.
#[derive(Clone)]
pub struct H2Conn {
    sender: SendRequest<Empty<Bytes>>,
    authority: String,
    bearer: HeaderValue,
}

impl H2Conn {
    /// `GET path` on a new stream; returns once the response head arrived, body unread.
    pub async fn get(&mut self, path: &str) -> Result<Response<Incoming>> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(format!("https://{}{path}", self.authority))
            .header(HOST, HeaderValue::from_str(&self.authority)?)
            .header(AUTHORIZATION, self.bearer.clone())
            .body(Empty::new())?;
        self.sender.ready().await?;
        Ok(self.sender.send_request(req).await?)
    }
}

/// A TLS connector trusting only the cluster CA (PEM), offering only `h2` by ALPN.
fn connector(ca: &Path) -> Result<TlsConnector> {
    let pem = std::fs::read(ca).with_context(|| format!("read CA {}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.context("parse CA PEM")?)?;
    }
    if roots.is_empty() {
        bail!("no certificate in {}", ca.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}
