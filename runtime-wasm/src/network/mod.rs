//! The overlay interface every guest socket address goes through.
//!
//! Guests see only virtual addresses (pod IPs 10.244.x.y, Service VIPs 10.96.x.y); real
//! sockets bind and connect only on loopback. The node agent implements [`PodNetwork`] with
//! the real overlay (tunnels to other nodes, Services); [`LocalNetwork`] is the
//! single-process implementation used in tests. Anything an implementation cannot map is
//! refused: it is never handed to the kernel.

mod local;

pub use local::{LocalNetwork, RealUse};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

/// The pod a socket belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub ip: IpAddr,
    pub namespace: Arc<str>,
}

/// Why the overlay refused an operation (mapped to wasi:sockets error codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("connection refused: nothing listens at {0}")]
    Refused(SocketAddr),
    #[error("{0} is outside the overlay and egress is not allowed")]
    Unreachable(SocketAddr),
    #[error("address {0} already in use in this pod")]
    AddressInUse(SocketAddr),
    #[error("cannot bind {0}: not this pod's address")]
    NotBindable(SocketAddr),
    #[error("name {0:?} does not resolve")]
    NameUnresolvable(String),
    #[error("not supported: {0}")]
    NotSupported(&'static str),
}

/// Address mapping between the virtual overlay and real loopback sockets.
///
/// Calls are synchronous table operations (wasi's `start-connect` is synchronous).
pub trait PodNetwork: Send + Sync + 'static {
    /// A guest of `pod` wants to bind `requested`; returns the real address to bind
    /// (always a loopback address, port 0 or fixed).
    fn bind(
        &self,
        pod: &PodRef,
        proto: Proto,
        requested: SocketAddr,
    ) -> Result<SocketAddr, NetError>;
    /// The real socket got bound to `real`; returns the virtual local address to report.
    /// UDP sockets become reachable here.
    fn bound(
        &self,
        pod: &PodRef,
        proto: Proto,
        requested: SocketAddr,
        real: SocketAddr,
    ) -> Result<SocketAddr, NetError>;
    /// A TCP socket bound at virtual `local` listens: connects to it may now succeed.
    fn listen(&self, pod: &PodRef, local: SocketAddr) -> Result<(), NetError>;
    /// Where a TCP connect from `pod` to virtual `remote` really goes (loopback).
    fn connect(&self, pod: &PodRef, remote: SocketAddr) -> Result<SocketAddr, NetError>;
    /// Where a UDP datagram from `pod` to virtual `remote` really goes (loopback).
    fn send(&self, pod: &PodRef, remote: SocketAddr) -> Result<SocketAddr, NetError>;
    /// Resolves a host name for `pod` (Services by `name`, `name.ns`, `name.ns.svc.cluster.local`).
    fn resolve(&self, pod: &PodRef, name: &str) -> Result<Vec<IpAddr>, NetError>;
    /// The virtual address behind a real peer address, if it is an overlay socket.
    fn virtual_of(&self, proto: Proto, real: SocketAddr) -> Option<SocketAddr>;
    /// The socket bound at virtual `local` (real `real`) was closed.
    fn release(&self, pod: &PodRef, proto: Proto, local: SocketAddr, real: SocketAddr);
    /// Every address of `pod` is gone (sandbox removed).
    fn remove_pod(&self, pod: &PodRef);
    /// Whether a real socket may use `real` (wasmtime's `socket_addr_check`, the second
    /// fence): loopback, or (the node overlay) an address outside the overlay that an egress
    /// `ipBlock` let a pod reach.
    fn real_allowed(&self, real: &SocketAddr) -> bool {
        is_real_allowed(real)
    }
    /// The labels of `pod`, told when its sandbox is created so that NetworkPolicy knows the
    /// pod before its first connection (the node overlay; others ignore them).
    fn pod_labels(&self, _pod: &PodRef, _labels: &std::collections::BTreeMap<String, String>) {}
}

/// True for addresses a real socket may use: loopback only.
pub fn is_real_allowed(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// The loopback address real sockets use.
pub const REAL_HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
