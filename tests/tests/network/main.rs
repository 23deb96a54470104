//! The pod network (issue 16 items 1 and 2), with real `skiff` processes and the real
//! kubectl.
//! - `across_nodes`: one server and two agents on their own loopback addresses (127.0.0.2,
//!   127.0.0.3); a client pod on one node reaches an echo pod on the other by pod IP over
//!   TCP and UDP (the echo pod sees the client's pod IP), by a headless Service's name in
//!   another namespace (`svc.ns`), and through a ClusterIP.
//! - `fail_closed`: `skiff up` in a network namespace whose only device is loopback; pods
//!   connecting to unmapped 10.x addresses are refused and the kernel never routed a packet
//!   for them.
//! - `policy`: NetworkPolicy enforced across nodes and on one node (ingress by pod and
//!   namespace selectors, TCP and UDP), and egress outside the overlay only through an
//!   `ipBlock`; NodePort traffic from the host judged as coming from the receiving node's
//!   address, and connections established before a policy change kept (`policy_host`).
//! - `node_port`: the node proxy (item 3): NodePorts on two agents reach pods on both
//!   nodes, ClientIP affinity, a Service without endpoints resets at once, an established
//!   connection survives a scale-up, new connections follow a scale-down.
//! - `scale_to_zero` (item 6): an annotated Deployment idle for 10 s is scaled to 0; the
//!   next request through its NodePort, or a guest's connection to its ClusterIP, wakes it
//!   and is answered; a node may scale only a marked Deployment at 0 replicas; UDP through
//!   a NodePort or to a ClusterIP wakes one too, its first datagram answered.

mod across_nodes;
mod fail_closed;
mod node_port;
mod policy;
mod policy_host;
mod scale_to_zero;
mod scale_to_zero_udp;
mod support;
