//! [`Overlay`]: the node's `PodNetwork`. Same-node addresses are runtime-wasm's
//! `LocalNetwork`; other nodes' pods get a relay (`tcp`, `udp`) over the tunnel to their
//! node; Service IPs go to the [`ServiceRouter`]; names are answered from the tables.
//! [`Overlay::run`] runs the watchers and the tunnel listener and owns every relay task.

use crate::dial::Peers;
use crate::route::{Decision, decide};
use crate::service::ServiceRouter;
use crate::tables::Tables;
use crate::tls::NodeIdentity;
use crate::udp::UdpRelays;
use crate::{OverlayError, enforce, serve, watch};
use skiff_runtime_wasm::network::{LocalNetwork, NetError, PodNetwork, PodRef, Proto};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What the overlay needs to start.
pub struct OverlayConfig {
    pub identity: NodeIdentity,
    /// Where the tunnel listener binds: the node's address, port 0 for any.
    pub listen: SocketAddr,
    /// The tables the watchers fill (shared with a router that reads them).
    pub tables: Arc<RwLock<Tables>>,
    /// Service IPs: the node proxy. `None`: every Service IP is refused.
    pub router: Option<Arc<dyn ServiceRouter>>,
}

/// State the relays and the tunnel server share.
pub(crate) struct Shared {
    pub node: String,
    pub local: LocalNetwork,
    pub tables: Arc<RwLock<Tables>>,
    pub peers: Peers,
    pub udp: UdpRelays,
    /// Recent UDP flows, whose replies policies let through.
    pub replies: crate::enforce::Replies,
    /// Addresses outside the overlay that egress policies let pods reach.
    pub grants: crate::enforce::Grants,
    /// Virtual sources of NodePort flows, with the outside address policies judge them by.
    pub outsiders: crate::from_outside::Outsiders,
    pub router: Option<Arc<dyn ServiceRouter>>,
    /// Every relay and tunnel task; awaited by [`Overlay::run`].
    pub tasks: TaskTracker,
    pub handle: tokio::runtime::Handle,
    pub shutdown: CancellationToken,
}

/// The node's pod network.
#[derive(Clone)]
pub struct Overlay {
    pub(crate) shared: Arc<Shared>,
    listener: Arc<std::sync::Mutex<Option<TcpListener>>>,
    server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Overlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay")
            .field("node", &self.shared.node)
            .finish_non_exhaustive()
    }
}

impl Overlay {
    /// Binds the tunnel listener; nothing runs until [`Overlay::run`]. Call inside a Tokio
    /// runtime; relays are spawned on it.
    pub async fn bind(
        config: OverlayConfig,
        shutdown: CancellationToken,
    ) -> Result<(Overlay, SocketAddr), OverlayError> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| OverlayError::Listen {
                addr: listen,
                source,
            })?;
        let bound = listener
            .local_addr()
            .map_err(|source| OverlayError::Listen {
                addr: listen,
                source,
            })?;
        let server = config.identity.server_config()?;
        let client = config.identity.client_config()?;
        let shared = Shared {
            node: config.identity.node.clone(),
            local: LocalNetwork::new(),
            tables: config.tables,
            peers: Peers::new(client),
            udp: UdpRelays::default(),
            replies: crate::enforce::Replies::default(),
            grants: crate::enforce::Grants::default(),
            outsiders: crate::from_outside::Outsiders::default(),
            router: config.router,
            tasks: TaskTracker::new(),
            handle: tokio::runtime::Handle::current(),
            shutdown,
        };
        let overlay = Overlay {
            shared: Arc::new(shared),
            listener: Arc::new(std::sync::Mutex::new(Some(listener))),
            server,
        };
        Ok((overlay, bound))
    }

    /// Runs the watchers and the tunnel listener until shutdown, then waits for every relay.
    pub async fn run(self, client: kube::Client) {
        let (tables, shutdown) = (self.shared.tables.clone(), self.shared.shutdown.clone());
        let node = self.shared.node.clone();
        self.run_with(watch::keep_tables(client, &node, tables, shutdown))
            .await;
    }

    /// Runs the tunnel listener beside `keep_tables` (whatever keeps the tables given in
    /// [`OverlayConfig`] current) until shutdown, then waits for every relay. [`Overlay::run`]
    /// passes the API watchers; a test may fill the tables itself.
    pub async fn run_with(self, keep_tables: impl std::future::Future<Output = ()>) {
        let shared = self.shared.clone();
        let listener = skiff_sync::lock(&self.listener).take();
        let serving = async {
            match listener {
                Some(listener) => serve::serve(shared.clone(), listener, self.server.clone()).await,
                None => tracing::error!("the overlay is already running"),
            }
        };
        tokio::join!(serving, keep_tables);
        shared.tasks.close();
        shared.tasks.wait().await;
    }

    /// Where a flow from `pod` to virtual `remote` really goes.
    fn route(
        &self,
        pod: &PodRef,
        proto: Proto,
        remote: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        let s = &self.shared;
        let mut target = remote;
        if is_pod_localhost(target.ip()) {
            target = SocketAddr::new(pod.ip, target.port());
        }
        let decision = decide(&skiff_sync::read(&s.tables), &s.node, target.ip());
        let decision = if decision == Decision::Service {
            let router = s.router.as_ref().ok_or(NetError::Refused(remote))?;
            target = router.pick(pod, proto, target)?;
            // A loopback address is the router's own relay (a held connection): real already.
            if target.ip().is_loopback() {
                return Ok(target);
            }
            decide(&skiff_sync::read(&s.tables), &s.node, target.ip())
        } else {
            decision
        };
        match decision {
            Decision::ThisNode => {
                let real = s.local.route(pod, proto, target)?;
                match enforce::local_flow(s, pod, proto, target) {
                    true => Ok(real),
                    false => Err(NetError::Refused(remote)),
                }
            }
            // The destination's node judges the flow (`enforce`).
            Decision::Peer { node, tunnel } => match enforce::outgoing(s, proto, pod.ip, target) {
                Proto::Tcp => crate::tcp::open(&self.shared, node, tunnel, target),
                Proto::Udp => crate::udp::relay_for(&self.shared, pod.ip, target),
            },
            Decision::Refused | Decision::Service => Err(NetError::Refused(remote)),
            // Handed to the kernel only when an egress ipBlock allows it.
            Decision::Outside if enforce::outside_flow(s, pod, proto, target) => Ok(target),
            Decision::Outside => Err(NetError::Unreachable(remote)),
        }
    }
}

/// The addresses that are a pod's own localhost: `127.0.0.1`, `::1` and the unspecified
/// address. The rest of 127.0.0.0/8 is the host's, outside the overlay like any other
/// address (reachable only through an egress `ipBlock`).
fn is_pod_localhost(ip: IpAddr) -> bool {
    ip.is_unspecified()
        || ip == IpAddr::from([127, 0, 0, 1])
        || ip == IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
}

impl PodNetwork for Overlay {
    fn real_allowed(&self, real: &SocketAddr) -> bool {
        skiff_runtime_wasm::network::is_real_allowed(real) || self.shared.grants.allows(real)
    }

    fn pod_labels(&self, pod: &PodRef, labels: &std::collections::BTreeMap<String, String>) {
        let identity = crate::policy::PodIdentity {
            namespace: pod.namespace.to_string(),
            labels: Some(labels.clone()),
            ports: Vec::new(),
        };
        skiff_sync::write(&self.shared.tables)
            .started
            .insert(pod.ip, identity);
    }

    fn bind(
        &self,
        pod: &PodRef,
        proto: Proto,
        requested: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        self.shared.local.bind(pod, proto, requested)
    }

    fn bound(
        &self,
        pod: &PodRef,
        proto: Proto,
        requested: SocketAddr,
        real: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        self.shared.local.bound(pod, proto, requested, real)
    }

    fn listen(&self, pod: &PodRef, local: SocketAddr) -> Result<(), NetError> {
        self.shared.local.listen(pod, local)
    }

    fn connect(&self, pod: &PodRef, remote: SocketAddr) -> Result<SocketAddr, NetError> {
        self.route(pod, Proto::Tcp, remote)
    }

    fn send(&self, pod: &PodRef, remote: SocketAddr) -> Result<SocketAddr, NetError> {
        self.route(pod, Proto::Udp, remote)
    }

    fn resolve(&self, pod: &PodRef, name: &str) -> Result<Vec<IpAddr>, NetError> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        if name.trim_end_matches('.').eq_ignore_ascii_case("localhost") {
            return Ok(vec![pod.ip]);
        }
        skiff_sync::read(&self.shared.tables).resolve(name, &pod.namespace)
    }

    fn virtual_of(&self, proto: Proto, real: SocketAddr) -> Option<SocketAddr> {
        self.shared.local.virtual_of(proto, real)
    }

    fn release(&self, pod: &PodRef, proto: Proto, local: SocketAddr, real: SocketAddr) {
        self.shared.local.release(pod, proto, local, real);
        self.shared.outsiders.forget(&local);
    }

    fn remove_pod(&self, pod: &PodRef) {
        skiff_sync::write(&self.shared.tables)
            .started
            .remove(&pod.ip);
        self.shared.local.remove_pod(pod);
        self.shared.udp.remove_pod(pod.ip);
    }
}
