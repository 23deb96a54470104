//! UDP NodePorts. As kube-proxy's userspace proxier, a flow is a client address: its first
//! datagram picks an endpoint, and the flow keeps it until it has been quiet for
//! [`FLOW_IDLE`]. Each flow has a relay socket on loopback, bound through the overlay as a
//! socket of this node's gateway address (so the pod sees the datagrams come from the
//! gateway and the relay's port, and its replies find their way back); datagrams go where
//! the overlay sends a guest's (the pod's socket here, or the tunnel to its node), and
//! replies go back to the client from the NodePort. NetworkPolicy judges the datagrams as
//! coming from this node's address, as TCP NodePort connections. With no ready endpoint a
//! datagram is dropped (UDP has no refusal to give), unless the Service scales to zero: then
//! the flow's first datagram wakes the Deployment and the flow's datagrams wait in its queue
//! until an endpoint is ready ([`crate::wake::HOLD`] at most), and are then delivered.

use crate::node_port::{FALLBACK_GATEWAY, Forwarder};
use crate::table::PortRoute;
use skiff_runtime_wasm::network::{PodNetwork, PodRef, Proto, REAL_HOST};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A flow ends after this long without a datagram either way.
const FLOW_IDLE: Duration = Duration::from_secs(60);
/// Datagrams queued for one flow before more are dropped.
const FLOW_QUEUE: usize = 256;
/// The largest datagram carried.
const MAX_DATAGRAM: usize = 65_536;

/// Serves UDP NodePort `port` on `socket` until `stop`.
pub(crate) async fn serve(
    f: Arc<Forwarder>,
    socket: UdpSocket,
    port: u16,
    stop: CancellationToken,
    tasks: TaskTracker,
) {
    let socket = Arc::new(socket);
    let mut flows: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0; MAX_DATAGRAM];
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => return,
            received = socket.recv_from(&mut buf) => received,
        };
        let Ok((n, client)) = received else {
            continue;
        };
        flows.retain(|_, tx| !tx.is_closed());
        let tx = match flows.get(&client) {
            Some(tx) => tx.clone(),
            None => {
                let Some(tx) = start_flow(&f, &socket, port, client, &stop, &tasks) else {
                    tracing::debug!(%client, "UDP NodePort {port}: no ready endpoint; dropped");
                    continue;
                };
                flows.insert(client, tx.clone());
                tx
            }
        };
        let _ = tx.try_send(buf[..n].to_vec());
    }
}

/// A new flow from `client`: its endpoint and relay task; `None` without an endpoint.
fn start_flow(
    f: &Arc<Forwarder>,
    socket: &Arc<UdpSocket>,
    port: u16,
    client: SocketAddr,
    stop: &CancellationToken,
    tasks: &TaskTracker,
) -> Option<mpsc::Sender<Vec<u8>>> {
    let routes = f.proxy.routes();
    let route = routes.by_node_port(Proto::Udp, port)?;
    let backend = match f.proxy.pick(route, client.ip()) {
        Some(backend) => Backend::Ready(backend),
        None => Backend::Asleep(route.clone(), route.wake.clone()?),
    };
    let (tx, rx) = mpsc::channel(FLOW_QUEUE);
    let flow = Flow {
        f: f.clone(),
        socket: socket.clone(),
        client,
        backend,
    };
    tasks.spawn(flow.run(rx, stop.clone()));
    Some(tx)
}

struct Flow {
    f: Arc<Forwarder>,
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    backend: Backend,
}

/// The endpoint of a flow: chosen, or to wait for once the Deployment is woken.
enum Backend {
    Ready(SocketAddr),
    Asleep(PortRoute, String),
}

impl Backend {
    /// The endpoint, waking the Deployment first if needed; `None` if none became ready.
    async fn resolve(
        self,
        f: &Forwarder,
        client: IpAddr,
        stop: &CancellationToken,
    ) -> Option<SocketAddr> {
        match self {
            Backend::Ready(backend) => Some(backend),
            Backend::Asleep(route, deployment) => {
                f.waker
                    .wake_and_wait(&f.proxy, &route, &deployment, client, stop)
                    .await
            }
        }
    }
}

impl Flow {
    /// Relays both ways until the flow is idle for [`FLOW_IDLE`] or `stop`.
    async fn run(self, mut rx: mpsc::Receiver<Vec<u8>>, stop: CancellationToken) {
        // Datagrams wait in `rx` meanwhile.
        let Some(backend) = self.backend.resolve(&self.f, self.client.ip(), &stop).await else {
            tracing::debug!(client = %self.client, "UDP NodePort: no endpoint woke; flow dropped");
            return;
        };
        let gateway = self.f.overlay.gateway().unwrap_or(FALLBACK_GATEWAY);
        let as_gateway = PodRef {
            ip: gateway,
            namespace: Arc::from(""),
        };
        let Ok(relay) = UdpSocket::bind(SocketAddr::new(REAL_HOST, 0)).await else {
            return;
        };
        let Ok(real) = relay.local_addr() else {
            return;
        };
        let requested = SocketAddr::new(gateway, 0);
        let Ok(local) = self
            .f
            .overlay
            .bound(&as_gateway, Proto::Udp, requested, real)
        else {
            tracing::debug!(client = %self.client, "UDP NodePort: no relay address");
            return;
        };
        let mut buf = vec![0; MAX_DATAGRAM];
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(FLOW_IDLE) => break,
                datagram = rx.recv() => {
                    let Some(datagram) = datagram else { break };
                    match self.f.overlay.send_from_outside(local, self.f.node_ip, backend) {
                        Ok(target) => { let _ = relay.send_to(&datagram, target).await; }
                        Err(e) => tracing::debug!(%backend, "UDP NodePort: {e}"),
                    }
                }
                reply = relay.recv_from(&mut buf) => {
                    if let Ok((n, _)) = reply {
                        let _ = self.socket.send_to(&buf[..n], self.client).await;
                    }
                }
            }
        }
        self.f.overlay.release(&as_gateway, Proto::Udp, local, real);
    }
}
