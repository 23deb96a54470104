//! NodePort listeners: for every NodePort of a Service port, a real listener on the
//! node's address (UDP: `udp_port`), opened and closed as Services come and go. A connection is forwarded
//! to a ready endpoint of this node or another through the overlay
//! ([`Overlay::forward_tcp`]), seen by the pod as coming from this node's gateway address
//! (`.1` of its pod range) and the client's port, and by NetworkPolicy as coming from this
//! node's address (only an `ipBlock` can allow it). With no ready endpoint it is reset at
//! once, unless the Service scales to zero: then it is held while the Deployment wakes
//! (`wake`). A port the host already uses is logged (once per port) and retried on the
//! next change of the table.

use crate::proxy::Proxy;
use crate::wake::Waker;
use skiff_overlay::Overlay;
use skiff_runtime_wasm::network::Proto;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The source address of host flows before this node's pod range is known.
pub(crate) const FALLBACK_GATEWAY: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 244, 0, 1));
/// How many endpoints a connection tries before it is reset.
const ATTEMPTS: usize = 3;

/// What every NodePort connection needs.
pub(crate) struct Forwarder {
    pub proxy: Proxy,
    pub overlay: Overlay,
    pub waker: Arc<Waker>,
    /// The node's address: NetworkPolicy judges NodePort flows as coming from it (as
    /// kube-proxy's masquerade with `externalTrafficPolicy: Cluster`; overlay `from_outside`).
    pub node_ip: IpAddr,
}

/// Keeps a listener on `node_ip` for every NodePort (TCP and UDP) until `shutdown`, then
/// closes them and waits for every connection and flow task.
pub(crate) async fn keep_listeners(
    forwarder: Arc<Forwarder>,
    node_ip: IpAddr,
    shutdown: CancellationToken,
) {
    let tasks = TaskTracker::new();
    let mut open: HashMap<(Proto, u16), CancellationToken> = HashMap::new();
    let mut warned: HashSet<(Proto, u16)> = HashSet::new();
    let mut changes = forwarder.proxy.changes();
    loop {
        let wanted: HashSet<(Proto, u16)> =
            forwarder.proxy.routes().node_ports().into_iter().collect();
        open.retain(|key, stop| {
            let keep = wanted.contains(key);
            if !keep {
                stop.cancel();
                tracing::info!(port = key.1, proto = ?key.0, "NodePort closed");
            }
            keep
        });
        warned.retain(|key| wanted.contains(key));
        for key in wanted {
            if open.contains_key(&key) {
                continue;
            }
            let stop = shutdown.child_token();
            match listen(&forwarder, node_ip, key, &stop, &tasks).await {
                Ok(()) => {
                    warned.remove(&key);
                    open.insert(key, stop);
                }
                Err(e) if warned.insert(key) => {
                    let (proto, port) = key;
                    tracing::warn!(%node_ip, ?proto, "cannot listen on NodePort {port}: {e}; it is not served on this node");
                }
                Err(_) => {}
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = changes.changed() => if changed.is_err() { break },
        }
    }
    tasks.close();
    tasks.wait().await;
}

/// Binds NodePort `port` on `node_ip` and starts serving it until `stop`.
async fn listen(
    forwarder: &Arc<Forwarder>,
    node_ip: IpAddr,
    (proto, port): (Proto, u16),
    stop: &CancellationToken,
    tasks: &TaskTracker,
) -> std::io::Result<()> {
    let addr = SocketAddr::new(node_ip, port);
    let (f, stop) = (forwarder.clone(), stop.clone());
    match proto {
        Proto::Tcp => {
            let listener = TcpListener::bind(addr).await?;
            tasks.spawn(serve(f, listener, port, stop, tasks.clone()));
        }
        Proto::Udp => {
            let socket = tokio::net::UdpSocket::bind(addr).await?;
            let serve = crate::udp_port::serve(f, socket, port, stop, tasks.clone());
            tasks.spawn(serve);
        }
    }
    tracing::info!(%addr, ?proto, "NodePort listening");
    Ok(())
}

/// Accepts connections on one NodePort until `stop`.
async fn serve(
    forwarder: Arc<Forwarder>,
    listener: TcpListener,
    port: u16,
    stop: CancellationToken,
    tasks: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, client)) => {
                let f = forwarder.clone();
                let stop = stop.clone();
                tasks.spawn(async move { connection(&f, stream, client, port, &stop).await });
            }
            Err(e) => {
                tracing::warn!(port, "NodePort accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// One client connection: an endpoint (waiting for one if the Service scales to zero), then
/// the overlay carries it; reset when there is none.
async fn connection(
    f: &Forwarder,
    mut stream: TcpStream,
    client: SocketAddr,
    port: u16,
    stop: &CancellationToken,
) {
    let source = SocketAddr::new(
        f.overlay.gateway().unwrap_or(FALLBACK_GATEWAY),
        client.port(),
    );
    for _ in 0..ATTEMPTS {
        let routes = f.proxy.routes();
        let Some(route) = routes.by_node_port(Proto::Tcp, port) else {
            break;
        };
        let backend = match (f.proxy.pick(route, client.ip()), &route.wake) {
            (Some(backend), _) => Some(backend),
            (None, Some(deployment)) => {
                let route = route.clone();
                f.waker
                    .wake_and_wait(&f.proxy, &route, deployment, client.ip(), stop)
                    .await
            }
            (None, None) => None,
        };
        let Some(backend) = backend else {
            break;
        };
        match f
            .overlay
            .forward_tcp(stream, source, Some(f.node_ip), backend)
            .await
        {
            Ok(()) => return,
            Err(not) => {
                tracing::debug!(%client, %backend, "NodePort {port}: {}", not.error);
                stream = not.stream;
            }
        }
    }
    tracing::debug!(%client, "NodePort {port}: no ready endpoint; connection reset");
    let _ = stream.set_zero_linger();
}
