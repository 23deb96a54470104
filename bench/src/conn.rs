//! One keep-alive HTTP/1.1 connection per benchmark client, over plain TCP
//! (etcd's gateway) or TLS with rustls and ring (skiff), to loopback only.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where one target replica listens, and how to talk to it.
#[derive(Clone)]
pub struct Endpoint {
    /// The original URL, for messages.
    pub url: String,
    addr: SocketAddr,
    host: HeaderValue,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    bearer: Option<HeaderValue>,
}

impl Endpoint {
    /// Parses `http://IP:PORT` or `https://IP:PORT`. Refuses anything that is
    /// not a loopback address: benchmark traffic never leaves the machine.
    pub fn parse(url: &str, ca: Option<&Path>, bearer: Option<&str>) -> Result<Self> {
        let (scheme, rest) = url
            .split_once("://")
            .with_context(|| format!("endpoint {url:?} needs a scheme"))?;
        let hostport = rest.trim_end_matches('/');
        let addr: SocketAddr = hostport
            .parse()
            .with_context(|| format!("endpoint {url:?} must be IP:PORT"))?;
        if !addr.ip().is_loopback() {
            bail!("refusing endpoint {url:?}: only loopback addresses are benchmarked");
        }
        let tls = match scheme {
            "http" => None,
            "https" => {
                let ca = ca.context("an https endpoint needs --ca")?;
                Some((tls_connector(ca)?, ServerName::from(addr.ip())))
            }
            other => bail!("endpoint {url:?}: unknown scheme {other:?}"),
        };
        let bearer = bearer
            .map(|t| HeaderValue::from_str(&format!("Bearer {}", t.trim())))
            .transpose()
            .context("bearer token is not a valid header value")?;
        Ok(Self {
            url: url.to_owned(),
            addr,
            host: HeaderValue::from_str(hostport)?,
            tls,
            bearer,
        })
    }

    /// Opens one connection (TCP_NODELAY, TLS if https) and spawns its driver.
    pub async fn connect(&self) -> Result<Conn> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connect {}", self.url))?;
        tcp.set_nodelay(true)?;
        let sender = match &self.tls {
            None => {
                let (sender, conn) = handshake(TokioIo::new(tcp)).await?;
                tokio::spawn(conn);
                sender
            }
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .with_context(|| format!("TLS handshake with {}", self.url))?;
                let (sender, conn) = handshake(TokioIo::new(tls)).await?;
                tokio::spawn(conn);
                sender
            }
        };
        Ok(Conn {
            sender,
            host: self.host.clone(),
            bearer: self.bearer.clone(),
        })
    }
}

/// A client's connection; requests on it are sent one at a time.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    bearer: Option<HeaderValue>,
}

impl Conn {
    /// Sends one request and reads the whole response body.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        let json = "application/json";
        self.request_as(method, path, body, json, json).await
    }

    /// [`Conn::request`] with the body's `Content-Type` and the `Accept` header given.
    pub async fn request_as(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        content_type: &'static str,
        accept: &'static str,
    ) -> Result<(StatusCode, Bytes)> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
            .header(ACCEPT, HeaderValue::from_static(accept));
        if let Some(bearer) = &self.bearer {
            req = req.header(AUTHORIZATION, bearer.clone());
        }
        let req = req.body(Full::new(body))?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// `POST path` with a JSON body.
    pub async fn post(&mut self, path: &str, body: Bytes) -> Result<(StatusCode, Bytes)> {
        self.request(Method::POST, path, body).await
    }
}

/// A TLS connector trusting only the cluster CA in `ca` (PEM), offering
/// HTTP/1.1 by ALPN.
fn tls_connector(ca: &Path) -> Result<TlsConnector> {
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
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}
