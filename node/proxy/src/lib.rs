//! The node proxy (kube-proxy for skiff): Services' ClusterIPs and NodePorts, TCP and UDP,
//! load-balanced over ready endpoints (round robin, or `sessionAffinity: ClientIP`), and
//! the scale-to-zero wake-up for Services (a TCP connection or a UDP datagram wakes one).
//!
//! - Guests' flows to a ClusterIP: the overlay (`skiff-overlay`) asks the [`Proxy`], its
//!   `ServiceRouter`, for an endpoint once per connection (or UDP flow) and then routes to
//!   the pod like any other flow, so an established connection never depends on the table
//!   again: endpoint changes affect only new connections. A Service port with no ready
//!   endpoint is refused at once (ConnectionRefused to the guest).
//! - NodePorts (`node_port`, `udp_port`): a real listener on the node's address for each NodePort,
//!   forwarding through the overlay to an endpoint on this node or another.
//! - The table (`table`) is rebuilt from kube-runtime reflectors of Services and
//!   EndpointSlices (`watch`); the choice (`choose`) is pure, as kube-proxy's userspace
//!   round-robin balancer.
//! - Scale-to-zero: connections to marked Services are reported on the Node (`activity`);
//!   with no endpoint, a NodePort connection (or a guest's connection to the ClusterIP,
//!   `hold`) is held while the Deployment is scaled back to 1 (`wake`); so are the first
//!   datagrams of a UDP flow, through a NodePort (`udp_port`) or to the ClusterIP
//!   (`hold_udp`), which are then delivered.
//!
//! # Layout
//! `table` and `choose` are pure and tested by table; `proxy` the shared state; `watch`
//! the reflectors; `node_port` and `udp_port` the listeners; `activity`, `wake`, `hold` and
//! `hold_udp` scale-to-zero.

mod activity;
pub mod choose;
mod hold;
mod hold_udp;
mod node_port;
mod proxy;
pub mod table;
mod udp_port;
mod wake;
mod watch;

pub use activity::{ACTIVITY_ANNOTATION, REPORT_PERIOD};
pub use proxy::Proxy;
pub use table::SCALE_TARGET_ANNOTATION;
pub use wake::HOLD;

use k8s_openapi::api::core::v1::Node;
use skiff_overlay::Overlay;
use std::net::IpAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Where the node proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// This node's name (its activity is written on its Node).
    pub node: String,
    /// The node's address: NodePorts listen here.
    pub node_ip: IpAddr,
}

/// Runs the node proxy until `shutdown`: the reflectors that keep `proxy`'s table, the
/// NodePort listeners (through `overlay`) and the activity reporter; returns once every
/// task and connection it started has ended. `proxy` is the one the overlay was given.
pub async fn run(
    proxy: Proxy,
    overlay: Overlay,
    client: kube::Client,
    config: ProxyConfig,
    shutdown: CancellationToken,
) {
    let nodes = kube::Api::<Node>::all(client.clone());
    let reporter = Arc::new(activity::Reporter::new(nodes, config.node.clone()));
    let forwarder = Arc::new(node_port::Forwarder {
        proxy: proxy.clone(),
        overlay,
        waker: Arc::new(wake::Waker::new(client.clone(), reporter.clone())),
        node_ip: config.node_ip,
    });
    let held = tokio_util::task::TaskTracker::new();
    proxy.set_holder(Some(Arc::new(hold::Holder {
        forwarder: forwarder.clone(),
        handle: tokio::runtime::Handle::current(),
        tasks: held.clone(),
        stop: shutdown.clone(),
        udp: Default::default(),
    })));
    tracing::info!(node = %config.node, node_ip = %config.node_ip, "node proxy running");
    tokio::join!(
        watch::keep_routes(client, proxy.clone(), shutdown.clone()),
        node_port::keep_listeners(forwarder, config.node_ip, shutdown.clone()),
        reporter.run(&proxy, shutdown.clone()),
    );
    proxy.set_holder(None);
    held.close();
    held.wait().await;
}
