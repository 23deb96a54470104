//! Flows that start on the host rather than in a guest: the node proxy's NodePort listeners
//! accept a real connection and hand it here with the pod address it chose
//! ([`Overlay::forward_tcp`]). The pod sees the connection come from a virtual source
//! address the caller picks (the node proxy uses this node's gateway, `.1` of its pod range,
//! which the tunnel server accepts as the node's own). A pod of this node is reached on
//! its real loopback listener from a socket registered as that source; a pod of another
//! node through the tunnel, exactly as a guest's connection would be.

use crate::cidr::Cidr;
use crate::network::Overlay;
use crate::route::{Decision, decide};
use crate::{enforce, from_outside};
use skiff_runtime_wasm::network::{NetError, PodRef, Proto, REAL_HOST};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::copy_bidirectional_with_sizes;
use tokio::net::{TcpSocket, TcpStream};

/// How long connecting to a pod's real listener may take.
const CONNECT_WAIT: Duration = Duration::from_secs(5);
/// Each direction's copy buffer (tokio's default of 8 KiB costs a system call per 8 KiB).
const COPY_BUFFER: usize = 64 * 1024;

/// A connection the overlay could not carry, handed back so the caller may try another
/// pod or reset it.
#[derive(Debug)]
pub struct NotForwarded {
    pub error: NetError,
    pub stream: TcpStream,
}

impl Overlay {
    /// This node's gateway address (`.1` of its pod range), once the Node has one: the
    /// virtual source of host flows. `None` before the node's range is known.
    pub fn gateway(&self) -> Option<IpAddr> {
        let tables = skiff_sync::read(&self.shared.tables);
        let cidr = tables.nodes.get(&self.shared.node)?.pod_cidr?;
        Some(gateway_of(cidr))
    }

    /// Carries `stream` to pod address `destination`, seen by the pod as coming from
    /// `source`. NetworkPolicy judges it as a flow from the pod at `source` (a guest's held
    /// connection), or, for a NodePort, as a flow from the address `outside`
    /// (`from_outside`). Returns once the flow is open (the copy then runs as one of the overlay's
    /// tasks, ending at shutdown); a destination that refuses hands the stream back.
    pub async fn forward_tcp(
        &self,
        stream: TcpStream,
        source: SocketAddr,
        outside: Option<IpAddr>,
        destination: SocketAddr,
    ) -> Result<(), NotForwarded> {
        let shared = &self.shared;
        let decision = decide(
            &skiff_sync::read(&shared.tables),
            &shared.node,
            destination.ip(),
        );
        match decision {
            Decision::ThisNode => {
                if !self.host_flow_allowed(source, outside, destination) {
                    tracing::debug!(%source, ?outside, %destination, "a NetworkPolicy refused a host flow");
                    let error = NetError::Refused(destination);
                    return Err(NotForwarded { error, stream });
                }
                self.forward_here(stream, source, destination).await
            }
            Decision::Peer { node, tunnel } => {
                self.forward_to_peer(stream, source, outside, &node, tunnel, destination)
                    .await
            }
            Decision::Service | Decision::Refused => Err(NotForwarded {
                error: NetError::Refused(destination),
                stream,
            }),
            Decision::Outside => Err(NotForwarded {
                error: NetError::Unreachable(destination),
                stream,
            }),
        }
    }

    /// Where a NodePort's UDP relay, bound through the overlay at virtual `source` (a port
    /// of the gateway), sends a datagram for pod address `destination`; NetworkPolicy
    /// judges it as coming from `outside` (`from_outside`). Replies find the relay as any
    /// pod's replies find its socket.
    pub fn send_from_outside(
        &self,
        source: SocketAddr,
        outside: IpAddr,
        destination: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        let shared = &self.shared;
        let decision = decide(
            &skiff_sync::read(&shared.tables),
            &shared.node,
            destination.ip(),
        );
        match decision {
            Decision::ThisNode => {
                if !from_outside::allowed_here(shared, Proto::Udp, outside, destination) {
                    return Err(NetError::Refused(destination));
                }
                enforce::outgoing(shared, Proto::Udp, source.ip(), destination);
                shared.local.route(&pod_at(source), Proto::Udp, destination)
            }
            Decision::Peer { .. } => {
                // Kept until the relay socket is released (`Overlay::release`).
                shared.outsiders.insert(source, outside);
                enforce::outgoing(shared, Proto::Udp, source.ip(), destination);
                crate::udp::relay_for(shared, source.ip(), destination)
            }
            Decision::Service | Decision::Refused => Err(NetError::Refused(destination)),
            Decision::Outside => Err(NetError::Unreachable(destination)),
        }
    }

    /// Makes guests see the real socket `real` as `virtual_addr` (a relay of the node proxy
    /// answering for a Service address), until [`Overlay::unalias`].
    pub fn alias(&self, proto: Proto, real: SocketAddr, virtual_addr: SocketAddr) {
        self.shared.local.add_reverse(proto, real, virtual_addr);
    }

    /// Undoes [`Overlay::alias`].
    pub fn unalias(&self, proto: Proto, real: SocketAddr, virtual_addr: SocketAddr) {
        self.shared.local.remove_reverse(proto, real, virtual_addr);
    }

    /// Whether NetworkPolicy lets a host flow from `source` reach `destination`, a pod of
    /// this node: judged as coming from `outside` for a NodePort, else from the pod at
    /// `source`.
    fn host_flow_allowed(
        &self,
        source: SocketAddr,
        outside: Option<IpAddr>,
        destination: SocketAddr,
    ) -> bool {
        let shared = &self.shared;
        match outside {
            Some(outside) => from_outside::allowed_here(shared, Proto::Tcp, outside, destination),
            None => enforce::local_flow(shared, &pod_at(source), Proto::Tcp, destination),
        }
    }

    /// A pod of another node: a flow through `node`'s tunnel at `tunnel`, the copy then
    /// running as one of the overlay's tasks. While the flow opens, `source` is registered as
    /// coming from `outside`, so its headers name that address.
    async fn forward_to_peer(
        &self,
        stream: TcpStream,
        source: SocketAddr,
        outside: Option<IpAddr>,
        node: &str,
        tunnel: SocketAddr,
        destination: SocketAddr,
    ) -> Result<(), NotForwarded> {
        let shared = &self.shared;
        if let Some(outside) = outside {
            shared.outsiders.insert(source, outside);
        }
        let started = crate::tcp::start_flow(shared, node, tunnel, source, destination).await;
        if let Some(outside) = outside {
            shared.outsiders.remove(source, outside);
        }
        match started {
            Ok((tx, body)) => {
                let relay = Arc::clone(shared);
                let _ = stream.set_nodelay(true);
                shared.tasks.spawn_on(
                    async move { crate::tcp::pipe(&relay, stream, tx, body).await },
                    &shared.handle,
                );
                Ok(())
            }
            Err(why) => {
                tracing::debug!(%source, %destination, "host flow not opened: {why}");
                let error = NetError::Refused(destination);
                Err(NotForwarded { error, stream })
            }
        }
    }

    /// A pod of this node: a loopback socket registered as `source`, connected to the pod's
    /// real listener.
    async fn forward_here(
        &self,
        stream: TcpStream,
        source: SocketAddr,
        destination: SocketAddr,
    ) -> Result<(), NotForwarded> {
        let shared = &self.shared;
        let from = pod_at(source);
        let refused = |stream| NotForwarded {
            error: NetError::Refused(destination),
            stream,
        };
        let Ok(real) = shared.local.route(&from, Proto::Tcp, destination) else {
            return Err(refused(stream));
        };
        let Some((socket, local)) = loopback_socket() else {
            return Err(refused(stream));
        };
        shared.local.add_reverse(Proto::Tcp, local, source);
        let connected = tokio::time::timeout(CONNECT_WAIT, socket.connect(real)).await;
        let Ok(Ok(mut pod)) = connected else {
            shared.local.remove_reverse(Proto::Tcp, local, source);
            return Err(refused(stream));
        };
        let _ = (pod.set_nodelay(true), stream.set_nodelay(true));
        let relay = Arc::clone(shared);
        let mut stream = stream;
        shared.tasks.spawn_on(
            async move {
                tokio::select! {
                    _ = copy_bidirectional_with_sizes(&mut stream, &mut pod, COPY_BUFFER, COPY_BUFFER) => {}
                    () = relay.shutdown.cancelled() => {}
                }
                relay.local.remove_reverse(Proto::Tcp, local, source);
            },
            &shared.handle,
        );
        Ok(())
    }
}

/// The pod reference of a host flow's virtual source (its namespace is not known here:
/// policy reads the pod's identity from the tables).
fn pod_at(source: SocketAddr) -> PodRef {
    PodRef {
        ip: source.ip(),
        namespace: Arc::from(""),
    }
}

/// A socket bound to a free loopback port, and that port's address.
fn loopback_socket() -> Option<(TcpSocket, SocketAddr)> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(REAL_HOST, 0)).ok()?;
    let local = socket.local_addr().ok()?;
    Some((socket, local))
}

/// `.1` of a pod range: the node's gateway, which no pod is given.
pub fn gateway_of(cidr: Cidr) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::from_bits(cidr.base_bits() | 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_is_the_first_address_of_the_range() {
        for (cidr, want) in [
            ("10.244.0.0/24", "10.244.0.1"),
            ("10.244.7.0/24", "10.244.7.1"),
            ("10.244.7.9/24", "10.244.7.1"),
        ] {
            let cidr = Cidr::parse(cidr).unwrap();
            assert_eq!(gateway_of(cidr).to_string(), want);
        }
    }
}
