//! The accepting end of the tunnels: TLS with a required client certificate from the
//! cluster CA, the peer's node name from it, then HTTP/2 where every request is one flow
//! (`POST /v1/tcp` or `/v1/udp` with the virtual source and destination in headers). A flow
//! is refused (403) unless its source lies in the peer's own pod range and the NetworkPolicies
//! allow it (`enforce`), and (503) unless its
//! destination is a pod of this node listening there.

use crate::body::{Body, empty_body};
use crate::enforce::{IDENTITY_HEADER, incoming_flow, stated_identity};
use crate::from_outside::{allowed_here, stated_outside};
use crate::network::Shared;
use crate::tls::{CONNECTION_WINDOW, MAX_FRAME, STREAM_WINDOW, peer_node, tunnel_socket};
use crate::{DESTINATION_HEADER, SOURCE_HEADER, TCP_PATH, UDP_PATH};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use skiff_runtime_wasm::network::Proto;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Accepts tunnels until shutdown.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, from)) => {
                let (shared2, acceptor) = (shared.clone(), acceptor.clone());
                shared.tasks.spawn(connection(shared2, acceptor, tcp, from));
            }
            Err(e) => {
                tracing::warn!("accepting an overlay tunnel: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One peer's tunnel: handshake, then its flows until it closes or shutdown.
async fn connection(shared: Arc<Shared>, acceptor: TlsAcceptor, tcp: TcpStream, from: SocketAddr) {
    let handshake = acceptor.accept(tunnel_socket(tcp));
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::warn!(%from, "refused an overlay tunnel: {e}");
            return;
        }
        Err(_) => return,
    };
    let Some(peer) = peer_node(tls.get_ref().1.peer_certificates()) else {
        tracing::warn!(%from, "refused an overlay tunnel: the certificate names no node");
        return;
    };
    tracing::debug!(node = %peer, %from, "overlay tunnel accepted");
    let (flows, peer2) = (shared.clone(), Arc::<str>::from(peer.as_str()));
    let service = service_fn(move |request| {
        let (shared, peer) = (flows.clone(), peer2.clone());
        async move { Ok::<_, std::convert::Infallible>(flow(&shared, &peer, request).await) }
    });
    let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME)
        .serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    tokio::select! {
        ended = connection.as_mut() => if let Err(e) = ended {
            tracing::debug!(node = %peer, "overlay tunnel closed: {e}");
        },
        () = shared.shutdown.cancelled() => connection.as_mut().graceful_shutdown(),
    }
}

/// One flow from node `peer`.
async fn flow(shared: &Arc<Shared>, peer: &str, request: Request<Incoming>) -> Response<Body> {
    let addr = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<SocketAddr>().ok())
    };
    let (Some(source), Some(destination)) = (addr(SOURCE_HEADER), addr(DESTINATION_HEADER)) else {
        return answer(StatusCode::BAD_REQUEST, empty_body());
    };
    let from_peer = skiff_sync::read(&shared.tables)
        .nodes
        .get(peer)
        .and_then(|n| n.pod_cidr)
        .is_some_and(|cidr| cidr.contains(source.ip()));
    if !from_peer {
        tracing::warn!(node = peer, %source, "refused a flow whose source is not the peer's pod");
        return answer(StatusCode::FORBIDDEN, empty_body());
    }
    let path = request.uri().path().to_owned();
    let proto = if path == UDP_PATH {
        Proto::Udp
    } else {
        Proto::Tcp
    };
    let allowed = match stated_outside(request.headers()) {
        Some(outside) => allowed_here(shared, proto, outside, destination),
        None => {
            let identity = stated_identity(request.headers().get(IDENTITY_HEADER));
            incoming_flow(shared, proto, source, identity.as_ref(), destination)
        }
    };
    if !allowed {
        tracing::debug!(node = peer, %source, %destination, "a NetworkPolicy refused a flow");
        return answer(StatusCode::FORBIDDEN, empty_body());
    }
    let body = request.into_body();
    let opened = match path.as_str() {
        TCP_PATH => crate::tcp::accept(shared, source, destination, body).await,
        UDP_PATH => crate::udp::accept(shared, source, destination, body),
        _ => return answer(StatusCode::NOT_FOUND, empty_body()),
    };
    match opened {
        Ok(body) => answer(StatusCode::OK, body),
        Err(e) => {
            tracing::debug!(node = peer, %source, %destination, "refused a flow: {e}");
            answer(StatusCode::SERVICE_UNAVAILABLE, empty_body())
        }
    }
}

fn answer(status: StatusCode, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}
