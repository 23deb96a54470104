//! One tunnel: dial a replica over TLS verified against the cluster CA, ask for
//! `GET /skiff/v1/tunnel` with the node's token and `Upgrade: skiff-tunnel/1`, and on
//! `101 Switching Protocols` serve HTTP/2 on the upgraded connection (the replica is the
//! client from then on) until it closes or the agent shuts down.

use super::TunnelError;
use super::serve::{Served, route};
use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

/// The path a replica accepts tunnels on.
pub const TUNNEL_PATH: &str = "/skiff/v1/tunnel";
/// The protocol named in the `Upgrade` header.
pub const TUNNEL_PROTOCOL: &str = "skiff-tunnel/1";

/// Connecting, TLS and the upgrade answer must all fit in this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings on an idle tunnel, so a vanished replica (or NAT mapping) is noticed.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// A refusal's body is read up to this size for the log line.
const MAX_REFUSAL: usize = 4096;

/// Host, port and `host:port` of an `https://` URL.
fn target(url: &str) -> Result<(String, u16, String), TunnelError> {
    let invalid = |reason: &str| TunnelError::InvalidUrl {
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
    let port = uri.port_u16().unwrap_or(6443);
    let authority = uri
        .authority()
        .map_or_else(|| host.to_owned(), ToString::to_string);
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    Ok((host, port, authority))
}

/// Opens a tunnel to `url`: the upgraded connection, ready for HTTP/2.
async fn open(
    url: &str,
    tls: &TlsConnector,
    token: &str,
) -> Result<hyper::upgrade::Upgraded, TunnelError> {
    let (host, port, authority) = target(url)?;
    let io = |source: std::io::Error| TunnelError::Connect {
        url: url.to_owned(),
        source,
    };
    let name = ServerName::try_from(host.clone()).map_err(|_| TunnelError::InvalidUrl {
        url: url.to_owned(),
        reason: "its host is not a valid server name".into(),
    })?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(io)?;
    let _ = tcp.set_nodelay(true);
    let stream = tls.connect(name, tcp).await.map_err(io)?;
    let http = |source: hyper::Error| TunnelError::Http {
        url: url.to_owned(),
        source,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    let request = Request::get(TUNNEL_PATH)
        .header(header::HOST, authority)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, TUNNEL_PROTOCOL)
        .body(Empty::<Bytes>::new())
        .map_err(|e| TunnelError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let upgrade = async move {
        let response = sender.send_request(request).await.map_err(http)?;
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_REFUSAL)
                .collect()
                .await;
            let message = body
                .map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_owned())
                .unwrap_or_default();
            return Err(TunnelError::Refused {
                url: url.to_owned(),
                status,
                message,
            });
        }
        hyper::upgrade::on(response).await.map_err(http)
    };
    // The connection is driven beside the request until it hands its IO to the upgrade.
    let (upgraded, _) = tokio::join!(upgrade, connection.with_upgrades());
    upgraded
}

/// Dials `url` and serves the tunnel until it closes (`Ok`) or `shutdown` fires.
pub async fn run_tunnel(
    url: &str,
    tls: &TlsConnector,
    token: &str,
    served: &Arc<Served>,
    shutdown: &CancellationToken,
) -> Result<(), TunnelError> {
    let upgraded = tokio::time::timeout(HANDSHAKE_TIMEOUT, open(url, tls, token))
        .await
        .map_err(|_| TunnelError::Timeout {
            url: url.to_owned(),
            after: HANDSHAKE_TIMEOUT,
        })??;
    tracing::info!(server = url, "tunnel to the control plane open");
    let (served, streams_end) = (served.clone(), shutdown.clone());
    let service = service_fn(move |request| {
        let (served, streams_end) = (served.clone(), streams_end.clone());
        async move { Ok::<_, std::convert::Infallible>(route(request, &served, &streams_end).await) }
    });
    let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .serve_connection(upgraded, service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => served.map_err(|source| TunnelError::Http {
            url: url.to_owned(),
            source,
        }),
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(2), connection).await;
            Ok(())
        }
    }
}
