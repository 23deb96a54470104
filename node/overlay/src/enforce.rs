//! Where the overlay applies NetworkPolicy (`policy`) to real flows. A flow is judged where
//! both of its ends are known:
//! - between two pods of this node: at `connect`/`send`, both directions at once;
//! - to a pod of another node: by that node, when the flow arrives on its tunnel. The source
//!   node states its pod's identity (namespace, labels) in [`IDENTITY_HEADER`]; the peer
//!   trusts it because the tunnel is authenticated by a node certificate and the source lies
//!   in that node's pod range (`serve`). A node may list only its own pods, so the
//!   destination node is the one that knows both pods (Cilium carries a security identity in
//!   its tunnel header for the same reason);
//! - outside the overlay: by this node, allowed only by an explicit egress `ipBlock`.
//!
//! Policies are stateful for replies, as Kubernetes requires: TCP replies ride the allowed
//! connection; a UDP datagram from B to A passes when A sent to B within [`REPLY_WINDOW`].

use crate::network::Shared;
use crate::policy::{End, Flow, PodIdentity, allows, allows_outside};
use crate::tables::Tables;
use http::HeaderValue;
use skiff_runtime_wasm::network::{PodRef, Proto};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The header naming the source pod's identity (JSON of [`PodIdentity`]) on a flow's stream.
pub(crate) const IDENTITY_HEADER: &str = "skiff-source-identity";
/// How long a UDP datagram may answer one sent the other way.
const REPLY_WINDOW: Duration = Duration::from_secs(120);
/// Pairs remembered before old ones are pruned.
const MAX_PAIRS: usize = 65536;

/// Recent UDP flows by (sender IP, receiver IP): the other way is a reply.
#[derive(Default)]
pub(crate) struct Replies {
    sent: Mutex<HashMap<(IpAddr, IpAddr), Instant>>,
}

impl Replies {
    fn record(&self, from: IpAddr, to: IpAddr) {
        let now = Instant::now();
        let mut sent = skiff_sync::lock(&self.sent);
        if sent.len() >= MAX_PAIRS {
            sent.retain(|_, at| now.duration_since(*at) < REPLY_WINDOW);
        }
        sent.insert((from, to), now);
    }

    fn answers(&self, from: IpAddr, to: IpAddr) -> bool {
        skiff_sync::lock(&self.sent)
            .get(&(to, from))
            .is_some_and(|at| at.elapsed() < REPLY_WINDOW)
    }
}

/// Addresses outside the overlay an egress `ipBlock` let a pod reach, for the runtime's
/// second fence (`PodNetwork::real_allowed`), each for [`REPLY_WINDOW`] after its last use.
#[derive(Default)]
pub(crate) struct Grants {
    granted: Mutex<HashMap<SocketAddr, Instant>>,
}

impl Grants {
    fn grant(&self, addr: SocketAddr) {
        let now = Instant::now();
        let mut granted = skiff_sync::lock(&self.granted);
        if granted.len() >= MAX_PAIRS {
            granted.retain(|_, at| now.duration_since(*at) < REPLY_WINDOW);
        }
        granted.insert(addr, now);
    }

    pub(crate) fn allows(&self, addr: &SocketAddr) -> bool {
        skiff_sync::lock(&self.granted)
            .get(addr)
            .is_some_and(|at| at.elapsed() < REPLY_WINDOW)
    }
}

/// The identity of a pod of this node: from the Pod watch, or (not there yet) its
/// namespace with unknown labels.
fn local_identity(tables: &Tables, pod: &PodRef) -> PodIdentity {
    tables
        .pod_at(pod.ip)
        .cloned()
        .unwrap_or_else(|| PodIdentity {
            namespace: pod.namespace.to_string(),
            labels: None,
            ports: Vec::new(),
        })
}

/// A flow from `pod` to `destination`, a pod of this node.
pub(crate) fn local_flow(
    shared: &Shared,
    pod: &PodRef,
    proto: Proto,
    destination: SocketAddr,
) -> bool {
    let tables = skiff_sync::read(&shared.tables);
    if tables.policy.policies.is_empty() || pod.ip == destination.ip() {
        return true;
    }
    if is_reply(shared, proto, pod.ip, destination.ip()) {
        return true;
    }
    let source = local_identity(&tables, pod);
    // A destination the Pod watch has not brought yet: nothing says which policies select
    // it, so it is closed while any policy exists.
    let Some(target) = tables.pod_at(destination.ip()) else {
        return false;
    };
    let flow = Flow {
        proto,
        source: End {
            addr: SocketAddr::new(pod.ip, 0),
            pod: Some(&source),
        },
        destination: End {
            addr: destination,
            pod: Some(target),
        },
    };
    allows(&tables.policy, &flow) && remember(shared, proto, pod.ip, destination.ip())
}

/// A flow from `pod` of this node to `destination` outside the overlay.
pub(crate) fn outside_flow(
    shared: &Shared,
    pod: &PodRef,
    proto: Proto,
    destination: SocketAddr,
) -> bool {
    let tables = skiff_sync::read(&shared.tables);
    let source = local_identity(&tables, pod);
    let end = End {
        addr: SocketAddr::new(pod.ip, 0),
        pod: Some(&source),
    };
    let allowed = allows_outside(&tables.policy, proto, end, destination);
    if allowed {
        shared.grants.grant(destination);
        remember(shared, proto, pod.ip, destination.ip());
    }
    allowed
}

/// A flow from another node's pod at `source` (with the identity its node stated) to this
/// node's pod at `destination`.
pub(crate) fn incoming_flow(
    shared: &Shared,
    proto: Proto,
    source: SocketAddr,
    identity: Option<&PodIdentity>,
    destination: SocketAddr,
) -> bool {
    let tables = skiff_sync::read(&shared.tables);
    if tables.policy.policies.is_empty() || is_reply(shared, proto, source.ip(), destination.ip()) {
        return true;
    }
    let Some(target) = tables.pod_at(destination.ip()) else {
        return false;
    };
    // A source whose node stated no identity could be egress-isolated: closed while any
    // egress policy exists.
    if identity.is_none() && tables.policy.policies.values().any(|p| p.has_egress()) {
        return false;
    }
    let flow = Flow {
        proto,
        source: End {
            addr: source,
            pod: identity,
        },
        destination: End {
            addr: destination,
            pod: Some(target),
        },
    };
    allows(&tables.policy, &flow) && remember(shared, proto, source.ip(), destination.ip())
}

/// A flow from `pod_ip` of this node to a pod of another node (judged there): remembered
/// so that UDP replies pass. Returns `proto`.
pub(crate) fn outgoing(shared: &Shared, proto: Proto, pod_ip: IpAddr, to: SocketAddr) -> Proto {
    if proto == Proto::Udp && !skiff_sync::read(&shared.tables).policy.policies.is_empty() {
        shared.replies.record(pod_ip, to.ip());
    }
    proto
}

/// The identity header for a flow from this node's pod at `source`.
pub(crate) fn identity_header(shared: &Shared, source: IpAddr) -> Option<HeaderValue> {
    let tables = skiff_sync::read(&shared.tables);
    let json = serde_json::to_string(tables.pod_at(source)?).ok()?;
    HeaderValue::from_str(&json).ok()
}

/// The identity a peer stated, if it is readable.
pub(crate) fn stated_identity(value: Option<&HeaderValue>) -> Option<PodIdentity> {
    serde_json::from_slice(value?.as_bytes()).ok()
}

fn is_reply(shared: &Shared, proto: Proto, from: IpAddr, to: IpAddr) -> bool {
    proto == Proto::Udp && shared.replies.answers(from, to)
}

/// Records an allowed UDP flow so its replies pass; true.
fn remember(shared: &Shared, proto: Proto, from: IpAddr, to: IpAddr) -> bool {
    if proto == Proto::Udp {
        shared.replies.record(from, to);
    }
    true
}
