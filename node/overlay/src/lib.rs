//! The pod network across nodes: [`Overlay`] implements runtime-wasm's `PodNetwork` for the
//! node agent. Guests see only virtual addresses (pod IPs in 10.244.0.0/16, Service IPs in
//! 10.96.0.0/12); every real socket the overlay opens for a guest is on loopback, and the
//! only real traffic off the host is the node-to-node tunnels.
//!
//! - The same node: a pod's (IP, port) maps to its real loopback listener (runtime-wasm's
//!   `LocalNetwork`, which the overlay wraps).
//! - Another node: `connect` binds a one-shot loopback listener and returns its address; a
//!   relay task accepts the guest's connection and carries it as one HTTP/2 stream on the
//!   tunnel to the destination node (`POST /v1/tcp`, headers naming the virtual source and
//!   destination), which connects to the pod's listener from a loopback socket that it
//!   reports as the remote pod's address. UDP goes through a relay socket per (pod,
//!   remote address), datagrams length-prefixed on one stream per (source, destination).
//! - Tunnels: one TLS 1.3 + HTTP/2 connection from each node to each peer it talks to,
//!   shared by all flows, mutually authenticated by certificates from the cluster CA (`tls`).
//! - Where pod IPs live comes from the Nodes (`spec.podCIDR`, InternalIP, the
//!   `skiff.io/overlay-port` annotation), names from Services and EndpointSlices, all kept
//!   by watchers (`watch`). Anything unmapped is refused and never reaches the kernel.
//! - Service IPs are the node proxy's: the overlay asks a [`ServiceRouter`]. Connections the
//!   node proxy accepts on the host (NodePorts) enter through [`Overlay::forward_tcp`].
//!
//! # Layout
//! `cidr`, `tables`, `route` are pure and tested by table; `tls` the certificates; `body`
//! the HTTP/2 stream plumbing; `dial` and `serve` the two ends of a tunnel; `tcp` and `udp`
//! the flows; `network` the `PodNetwork` implementation; `watch` the watchers; `service`
//! the Service seam and a round-robin router.

pub mod body;
pub mod cidr;
mod dial;
mod enforce;
mod from_outside;
mod host_flow;
mod network;
pub mod policy;
pub mod route;
mod serve;
pub mod service;
pub mod tables;
mod tcp;
pub mod tls;
mod udp;
mod watch;

pub use host_flow::{NotForwarded, gateway_of};
pub use network::{Overlay, OverlayConfig};
pub use service::{RoundRobin, ServiceRouter};
pub use tables::{OVERLAY_PORT_ANNOTATION, Tables};
pub use tls::NodeIdentity;

/// Why the overlay could not start.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("the node's overlay certificate: {0}")]
    Certificate(String),
    #[error("the API server refused to issue the node's overlay certificate: {0}")]
    Refused(String),
    #[error("listening for overlay tunnels on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// The headers of a flow's stream: the virtual source and destination (`ip:port`).
pub const SOURCE_HEADER: &str = "skiff-source";
pub const DESTINATION_HEADER: &str = "skiff-destination";
/// The paths of TCP and UDP flows on a tunnel.
pub const TCP_PATH: &str = "/v1/tcp";
pub const UDP_PATH: &str = "/v1/udp";
