//! NetworkPolicy for flows that enter the cluster from outside through a NodePort.
//!
//! Kubernetes leaves open which source address a policy sees for NodePort traffic (the
//! NetworkPolicy docs: rewriting "may happen before or after" policy processing); with
//! `externalTrafficPolicy: Cluster`, the default and what skiff's node proxy does,
//! kube-proxy masquerades such traffic to the node, so CNI plugins see the node's address.
//! skiff does the same, explicitly: a NodePort flow is judged as coming from the address of
//! the node that received it (its real address, e.g. 127.0.0.2 in tests), which is not a
//! pod: only `ipBlock` peers can match it, pod and namespace selectors never do, and a
//! policy that isolates the pod for ingress refuses it unless an `ipBlock` allows that
//! address. Egress policies do not apply (the source is no pod).
//!
//! The node proxy registers the flow's virtual source (the gateway address and a port) with
//! the outside address ([`Outsiders`]) while it opens the flow; a pod of this node is judged
//! here, a pod of another node by that node, which reads the address from
//! [`OUTSIDE_HEADER`] (trusted as the identity header is: the tunnel is authenticated by a
//! node certificate and the source lies in the peer's range).

use crate::enforce::{IDENTITY_HEADER, identity_header};
use crate::network::Shared;
use crate::policy::{End, Flow, allows};
use http::{HeaderMap, HeaderValue};
use skiff_runtime_wasm::network::Proto;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

/// The header naming the outside address a NodePort flow is judged as coming from.
pub(crate) const OUTSIDE_HEADER: &str = "skiff-outside-source";

/// Virtual sources of host flows that came from outside, with the address policy sees.
#[derive(Default)]
pub(crate) struct Outsiders {
    by_source: Mutex<HashMap<SocketAddr, IpAddr>>,
}

impl Outsiders {
    pub(crate) fn insert(&self, source: SocketAddr, outside: IpAddr) {
        skiff_sync::lock(&self.by_source).insert(source, outside);
    }

    /// Forgets `source`, unless it was registered again for another address meanwhile.
    pub(crate) fn remove(&self, source: SocketAddr, outside: IpAddr) {
        let mut by_source = skiff_sync::lock(&self.by_source);
        if by_source.get(&source) == Some(&outside) {
            by_source.remove(&source);
        }
    }

    /// Forgets `source` whatever it was registered for (its socket was released).
    pub(crate) fn forget(&self, source: &SocketAddr) {
        skiff_sync::lock(&self.by_source).remove(source);
    }

    pub(crate) fn get(&self, source: &SocketAddr) -> Option<IpAddr> {
        skiff_sync::lock(&self.by_source).get(source).copied()
    }
}

/// Whether a flow from outside (seen as `outside`) may reach this node's pod at
/// `destination`.
pub(crate) fn allowed_here(
    shared: &Shared,
    proto: Proto,
    outside: IpAddr,
    destination: SocketAddr,
) -> bool {
    let tables = skiff_sync::read(&shared.tables);
    if tables.policy.policies.is_empty() {
        return true;
    }
    let Some(target) = tables.pod_at(destination.ip()) else {
        return false;
    };
    let flow = Flow {
        proto,
        source: End {
            addr: SocketAddr::new(outside, 0),
            pod: None,
        },
        destination: End {
            addr: destination,
            pod: Some(target),
        },
    };
    allows(&tables.policy, &flow)
}

/// The headers that tell the destination node who a flow from `source` is: the pod's
/// identity, or the outside address of a NodePort flow.
pub(crate) fn stamp(shared: &Shared, headers: &mut HeaderMap, source: SocketAddr) {
    if let Some(outside) = shared.outsiders.get(&source) {
        if let Ok(value) = HeaderValue::from_str(&outside.to_string()) {
            headers.insert(OUTSIDE_HEADER, value);
        }
    } else if let Some(identity) = identity_header(shared, source.ip()) {
        headers.insert(IDENTITY_HEADER, identity);
    }
}

/// The outside address a peer stated for a flow, if any and readable.
pub(crate) fn stated_outside(headers: &HeaderMap) -> Option<IpAddr> {
    headers.get(OUTSIDE_HEADER)?.to_str().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outside_source_is_kept_until_removed_for_its_own_address() {
        let outsiders = Outsiders::default();
        let source: SocketAddr = "10.244.0.1:40000".parse().unwrap();
        let (node_a, node_b): (IpAddr, IpAddr) =
            ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        outsiders.insert(source, node_a);
        assert_eq!(outsiders.get(&source), Some(node_a));
        // Registered again meanwhile: removing the older registration keeps the newer.
        outsiders.insert(source, node_b);
        outsiders.remove(source, node_a);
        assert_eq!(outsiders.get(&source), Some(node_b));
        outsiders.remove(source, node_b);
        assert_eq!(outsiders.get(&source), None);
        outsiders.insert(source, node_a);
        outsiders.forget(&source);
        assert_eq!(outsiders.get(&source), None);
    }

    #[test]
    fn a_stated_outside_address_is_read_only_when_it_parses() {
        let mut headers = HeaderMap::new();
        assert_eq!(stated_outside(&headers), None);
        headers.insert(OUTSIDE_HEADER, HeaderValue::from_static("not an address"));
        assert_eq!(stated_outside(&headers), None);
        headers.insert(OUTSIDE_HEADER, HeaderValue::from_static("127.0.0.2"));
        assert_eq!(stated_outside(&headers), Some("127.0.0.2".parse().unwrap()));
    }
}
