//! Holding a guest's UDP datagrams to the ClusterIP of a Service scaled to zero, so that the
//! first datagram wakes the Deployment and is delivered rather than dropped.
//!
//! The overlay asks the proxy where a datagram goes synchronously, once per datagram; with
//! no endpoint, the proxy answers with a relay socket on loopback, one per (pod, Service
//! address) while the Deployment wakes, which guests see as the Service address. The relay
//! queues what the pod sends ([`QUEUE`] datagrams at most), wakes the Deployment, waits for
//! an endpoint ([`crate::wake::HOLD`] at most), then sends the queue from a socket of the
//! pod (bound through the overlay, so the endpoint and NetworkPolicy see the pod's IP) and
//! carries the flow on both ways until it has been quiet for [`IDLE`]. Once an endpoint is
//! known the relay is no longer handed out: the pod's later datagrams go straight to the
//! endpoint. Replies go to the pod's socket that sent last (two sockets of one pod waking
//! the same Service at once share the relay). Nothing but the pod's own sockets may use it.

use crate::hold::Holder;
use crate::node_port::Forwarder;
use crate::table::PortRoute;
use skiff_runtime_wasm::network::{NetError, PodNetwork, PodRef, Proto, REAL_HOST};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// Datagrams queued while the Deployment wakes; more are dropped.
const QUEUE: usize = 256;
/// The relay ends after this long without a datagram either way.
const IDLE: Duration = Duration::from_secs(30);
/// The largest datagram carried.
const MAX_DATAGRAM: usize = 65_536;

/// The relays handed out while their Deployment wakes, by (pod IP, Service address).
pub(crate) type Waiting = Arc<Mutex<HashMap<(IpAddr, SocketAddr), SocketAddr>>>;

impl Holder {
    /// The relay for `pod`'s datagrams to `vip` of `route`, whose Deployment is asleep.
    pub(crate) fn hold_udp(
        &self,
        route: &PortRoute,
        deployment: &str,
        pod: &PodRef,
        vip: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        let mut waiting = skiff_sync::lock(&self.udp);
        if let Some(real) = waiting.get(&(pod.ip, vip)) {
            return Ok(*real);
        }
        let refused = |_| NetError::Refused(vip);
        let socket = std::net::UdpSocket::bind((REAL_HOST, 0)).map_err(refused)?;
        socket.set_nonblocking(true).map_err(refused)?;
        let real = socket.local_addr().map_err(refused)?;
        self.forwarder.overlay.alias(Proto::Udp, real, vip);
        waiting.insert((pod.ip, vip), real);
        let relay = Relay {
            f: self.forwarder.clone(),
            pod: pod.clone(),
            vip,
            real,
            waiting: self.udp.clone(),
        };
        let (route, deployment) = (route.clone(), deployment.to_owned());
        let stop = self.stop.clone();
        self.tasks.spawn_on(
            async move { relay.run(socket, route, deployment, stop).await },
            &self.handle,
        );
        Ok(real)
    }
}

struct Relay {
    f: Arc<Forwarder>,
    pod: PodRef,
    vip: SocketAddr,
    /// The relay socket's address, which guests see as `vip`.
    real: SocketAddr,
    waiting: Waiting,
}

impl Relay {
    async fn run(
        self,
        socket: std::net::UdpSocket,
        route: PortRoute,
        deployment: String,
        stop: CancellationToken,
    ) {
        if let Ok(socket) = UdpSocket::from_std(socket) {
            let backend = self
                .queue_until_awake(&socket, &route, &deployment, &stop)
                .await;
            if let Some((backend, queued)) = backend {
                self.carry(&socket, backend, queued, &stop).await;
            }
        }
        self.forget();
        self.f.overlay.unalias(Proto::Udp, self.real, self.vip);
    }

    /// Wakes the Deployment, queueing the pod's datagrams until an endpoint is ready.
    async fn queue_until_awake(
        &self,
        socket: &UdpSocket,
        route: &PortRoute,
        deployment: &str,
        stop: &CancellationToken,
    ) -> Option<(SocketAddr, Vec<(Vec<u8>, SocketAddr)>)> {
        let waker = &self.f.waker;
        let awake = waker.wake_and_wait(&self.f.proxy, route, deployment, self.pod.ip, stop);
        tokio::pin!(awake);
        let mut queued = Vec::new();
        let mut buf = vec![0; MAX_DATAGRAM];
        let backend = loop {
            tokio::select! {
                backend = &mut awake => break backend,
                received = socket.recv_from(&mut buf) => {
                    if let Ok((n, from)) = received
                        && self.sent_by_pod(from)
                        && queued.len() < QUEUE
                    {
                        queued.push((buf[..n].to_vec(), from));
                    }
                }
            }
        };
        // From now on the pod's datagrams go to the endpoint directly.
        self.forget();
        Some((backend?, queued))
    }

    /// Sends the queue to `backend` from a socket of the pod, then relays both ways until
    /// the flow is quiet for [`IDLE`] or `stop`.
    async fn carry(
        &self,
        socket: &UdpSocket,
        backend: SocketAddr,
        queued: Vec<(Vec<u8>, SocketAddr)>,
        stop: &CancellationToken,
    ) {
        let overlay = &self.f.overlay;
        let Ok(upstream) = UdpSocket::bind(SocketAddr::new(REAL_HOST, 0)).await else {
            return;
        };
        let Ok(up_real) = upstream.local_addr() else {
            return;
        };
        let requested = SocketAddr::new(self.pod.ip, 0);
        let Ok(up_local) = overlay.bound(&self.pod, Proto::Udp, requested, up_real) else {
            return;
        };
        let mut guest = None;
        for (datagram, from) in queued {
            guest = Some(from);
            self.send(&upstream, &datagram, backend).await;
        }
        let mut buf = vec![0; MAX_DATAGRAM];
        let mut reply = vec![0; MAX_DATAGRAM];
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(IDLE) => break,
                received = socket.recv_from(&mut buf) => {
                    if let Ok((n, from)) = received && self.sent_by_pod(from) {
                        guest = Some(from);
                        self.send(&upstream, &buf[..n], backend).await;
                    }
                }
                answered = upstream.recv_from(&mut reply) => {
                    if let (Ok((n, _)), Some(guest)) = (answered, guest) {
                        let _ = socket.send_to(&reply[..n], guest).await;
                    }
                }
            }
        }
        overlay.release(&self.pod, Proto::Udp, up_local, up_real);
    }

    async fn send(&self, upstream: &UdpSocket, datagram: &[u8], backend: SocketAddr) {
        match self.f.overlay.send(&self.pod, backend) {
            Ok(target) => {
                let _ = upstream.send_to(datagram, target).await;
            }
            Err(e) => tracing::debug!(pod = %self.pod.ip, %backend, "held UDP datagram: {e}"),
        }
    }

    /// Whether `from` is a socket of the pod (nothing else may use the relay).
    fn sent_by_pod(&self, from: SocketAddr) -> bool {
        self.f
            .overlay
            .virtual_of(Proto::Udp, from)
            .is_some_and(|source| source.ip() == self.pod.ip)
    }

    /// Stops handing out this relay.
    fn forget(&self) {
        let mut waiting = skiff_sync::lock(&self.waiting);
        if waiting.get(&(self.pod.ip, self.vip)) == Some(&self.real) {
            waiting.remove(&(self.pod.ip, self.vip));
        }
    }
}
