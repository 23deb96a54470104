//! TCP flows to and from other nodes.
//!
//! Outgoing ([`open`]): wasi's `start-connect` needs a real address at once, so a one-shot
//! loopback listener is bound and its address returned; the relay task accepts the guest's
//! connection (its real peer address names the guest's pod and port), opens a stream on the
//! tunnel to the destination node and copies both ways. If the destination refuses, the
//! guest's connection is reset.
//!
//! Incoming ([`accept`]): the destination must be a listening pod of this node; a loopback
//! socket is bound, registered as the remote pod's address (so the guest's `accept` reports
//! the client's pod IP), and connected to the pod's real listener.

use crate::body::{Body, body_to_socket, channel_body, socket_to_body};
use crate::network::Shared;
use crate::{DESTINATION_HEADER, SOURCE_HEADER, TCP_PATH};
use hyper::body::Incoming;
use skiff_runtime_wasm::network::{NetError, PodNetwork, PodRef, Proto, REAL_HOST};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// How long a one-shot listener waits for the guest's connection.
const ACCEPT_WAIT: Duration = Duration::from_secs(10);
/// How long connecting to a pod's listener may take.
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// Starts a relay to pod address `destination` on `node`; returns the loopback address the
/// guest connects to.
pub(crate) fn open(
    shared: &Arc<Shared>,
    node: String,
    tunnel: SocketAddr,
    destination: SocketAddr,
) -> Result<SocketAddr, NetError> {
    let listener = std::net::TcpListener::bind((REAL_HOST, 0))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|_| NetError::Refused(destination))?;
    let real = listener
        .local_addr()
        .map_err(|_| NetError::Refused(destination))?;
    let relay = relay_out(shared.clone(), listener, node, tunnel, destination);
    shared.tasks.spawn_on(relay, &shared.handle);
    Ok(real)
}

async fn relay_out(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    node: String,
    tunnel: SocketAddr,
    destination: SocketAddr,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let accepted = tokio::select! {
        () = shared.shutdown.cancelled() => return,
        accepted = tokio::time::timeout(ACCEPT_WAIT, listener.accept()) => accepted,
    };
    drop(listener);
    let Ok(Ok((stream, peer))) = accepted else {
        return;
    };
    // Only a guest socket the overlay bound has a virtual address: nothing else may use
    // the relay.
    let Some(source) = shared.local.virtual_of(Proto::Tcp, peer) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    match start_flow(&shared, &node, tunnel, source, destination).await {
        Ok((tx, body)) => pipe(&shared, stream, tx, body).await,
        Err(why) => {
            tracing::debug!(%source, %destination, "flow not opened: {why}");
            reset(stream);
        }
    }
}

/// Opens the flow's stream on the tunnel to `node`: the body to feed and the peer's answer.
pub(crate) async fn start_flow(
    shared: &Shared,
    node: &str,
    tunnel: SocketAddr,
    source: SocketAddr,
    destination: SocketAddr,
) -> Result<(crate::body::BodySender, Incoming), String> {
    let flow = (source, destination);
    let sender = (shared.peers).sender((node, tunnel), flow, &shared.tasks, &shared.shutdown);
    let mut sender = sender.await.map_err(|e| e.to_string())?;
    let (tx, body) = channel_body();
    let mut request = http::Request::post(TCP_PATH)
        .header(SOURCE_HEADER, source.to_string())
        .header(DESTINATION_HEADER, destination.to_string())
        .body(body)
        .map_err(|e| e.to_string())?;
    crate::from_outside::stamp(shared, request.headers_mut(), source);
    let response = tokio::select! {
        () = shared.shutdown.cancelled() => return Err("shutting down".into()),
        response = sender.send_request(request) => response.map_err(|e| e.to_string())?,
    };
    if !response.status().is_success() {
        return Err(format!("refused by node {node}: {}", response.status()));
    }
    Ok((tx, response.into_body()))
}

/// Copies both ways until both directions ended or shutdown.
pub(crate) async fn pipe(
    shared: &Shared,
    stream: TcpStream,
    tx: crate::body::BodySender,
    body: Incoming,
) {
    let (read, write) = stream.into_split();
    let both = async {
        tokio::join!(socket_to_body(read, tx), body_to_socket(body, write));
    };
    tokio::select! {
        () = both => {}
        () = shared.shutdown.cancelled() => {}
    }
}

/// Closes `stream` with a reset, so the guest reads an error rather than an orderly end.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// A flow from the remote pod address `source` to a pod of this node at `destination`.
pub(crate) async fn accept(
    shared: &Arc<Shared>,
    source: SocketAddr,
    destination: SocketAddr,
    body: Incoming,
) -> Result<Body, NetError> {
    let remote = PodRef {
        ip: source.ip(),
        namespace: Arc::from(""),
    };
    let real = shared.local.route(&remote, Proto::Tcp, destination)?;
    let refused = |_| NetError::Refused(destination);
    let socket = TcpSocket::new_v4().map_err(refused)?;
    socket
        .bind(SocketAddr::new(REAL_HOST, 0))
        .map_err(refused)?;
    let local = socket.local_addr().map_err(refused)?;
    shared.local.add_reverse(Proto::Tcp, local, source);
    let connected = tokio::time::timeout(CONNECT_WAIT, socket.connect(real)).await;
    let stream = match connected {
        Ok(Ok(stream)) => stream,
        _ => {
            shared.local.remove_reverse(Proto::Tcp, local, source);
            return Err(NetError::Refused(destination));
        }
    };
    let _ = stream.set_nodelay(true);
    let (tx, response) = channel_body();
    let relay = shared.clone();
    shared.tasks.spawn(async move {
        pipe(&relay, stream, tx, body).await;
        relay.local.remove_reverse(Proto::Tcp, local, source);
    });
    Ok(response)
}
