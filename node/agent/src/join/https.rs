//! The two HTTPS exchanges of a join over hyper's HTTP/1 client: the unverified `GET
//! /cacerts` whose answer is authenticated by the token's pin (`skiff_trust`, as the
//! server's own join does), and a request verified against that CA.

use super::{JoinError, REQUEST_TIMEOUT};
use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use skiff_trust::{PinMismatch, cacerts_fetch_config, check_pin, crypto_provider, first_cert};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Answers are small (a CA, a credential); anything larger is not one.
const MAX_BODY: usize = 64 * 1024;

/// A parsed `https://host:port` URL.
pub(super) struct Target {
    url: String,
    host: String,
    port: u16,
    authority: String,
}

impl Target {
    pub(super) fn parse(url: &str) -> Result<Target, JoinError> {
        let invalid = |reason: &str| JoinError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        if uri.scheme_str() != Some("https") {
            return Err(invalid("it must start with https://"));
        }
        let host = uri.host().ok_or_else(|| invalid("it names no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(6443);
        Ok(Target {
            url: url.to_owned(),
            authority: uri.authority().map_or(host.clone(), ToString::to_string),
            host,
            port,
        })
    }
}

/// `GET /cacerts` without verifying the server, then the pin check.
pub(super) async fn fetch_pinned_ca(target: &Target, pin: &str) -> Result<String, JoinError> {
    let config = cacerts_fetch_config(&[]).map_err(|e| tls_error(target, e))?;
    let request = request(target, "GET", "/cacerts", None, Bytes::new())?;
    let (status, body) = exchange(target, config, request).await?;
    let not_pem = || JoinError::NotPem {
        url: target.url.clone(),
    };
    if status != StatusCode::OK {
        return Err(not_pem());
    }
    let pem = String::from_utf8(body.to_vec()).map_err(|_| not_pem())?;
    match check_pin(&pem, pin) {
        Ok(_) => Ok(pem),
        Err(PinMismatch::NotPem) => Err(not_pem()),
        Err(PinMismatch::OtherCa { presented }) => Err(JoinError::CaMismatch {
            url: target.url.clone(),
            expected: pin.to_owned(),
            presented,
        }),
    }
}

/// A POST verified against `ca_pem`; returns the status and body whatever the status.
pub(super) async fn post_verified(
    target: &Target,
    ca_pem: &str,
    path: &str,
    bearer: &str,
    body: String,
) -> Result<(StatusCode, Bytes), JoinError> {
    let mut roots = RootCertStore::empty();
    let der = first_cert(ca_pem).ok_or_else(|| JoinError::NotPem {
        url: target.url.clone(),
    })?;
    roots.add(der).map_err(|e| tls_error(target, e))?;
    let config = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(target, e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let request = request(target, "POST", path, Some(bearer), Bytes::from(body))?;
    exchange(target, config, request).await
}

fn request(
    target: &Target,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, JoinError> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, &target.authority)
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder
        .body(Full::new(body))
        .map_err(|e| JoinError::InvalidUrl {
            url: target.url.clone(),
            reason: e.to_string(),
        })
}

/// Connects, sends one request, reads the answer, within [`REQUEST_TIMEOUT`].
async fn exchange(
    target: &Target,
    config: ClientConfig,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), JoinError> {
    let work = exchange_unbounded(target, config, request);
    match tokio::time::timeout(REQUEST_TIMEOUT, work).await {
        Ok(result) => result,
        Err(_) => Err(JoinError::Unreachable {
            url: target.url.clone(),
            reason: format!("no answer within {REQUEST_TIMEOUT:?}"),
        }),
    }
}

async fn exchange_unbounded(
    target: &Target,
    config: ClientConfig,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), JoinError> {
    let unreachable = |reason: String| JoinError::Unreachable {
        url: target.url.clone(),
        reason,
    };
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let name = ServerName::try_from(target.host.clone()).map_err(|e| tls_error(target, e))?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| tls_error(target, e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    // The connection task ends with this function: it is aborted when the answer is read.
    let conn = tokio::spawn(conn);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        Ok((status, body))
    }
    .await;
    conn.abort();
    result
}

fn tls_error(target: &Target, e: impl std::fmt::Display) -> JoinError {
    JoinError::Tls {
        url: target.url.clone(),
        reason: e.to_string(),
    }
}
