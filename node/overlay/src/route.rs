//! Where a virtual destination goes, decided from the tables alone (pure): this node, a
//! peer node's tunnel, or nowhere (refused inside the overlay, unreachable outside it).

use crate::cidr::{CLUSTER_CIDR, SERVICE_CIDR};
use crate::tables::Tables;
use std::net::{IpAddr, SocketAddr};

/// The decision for one destination IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// In this node's pod range (or not routed elsewhere): the same-node table decides.
    ThisNode,
    /// A pod of `node`, reached through its tunnel at `tunnel`.
    Peer { node: String, tunnel: SocketAddr },
    /// A pod range of a node that has not published its tunnel yet, or an overlay address
    /// no node owns: connection refused.
    Refused,
    /// A Service IP: the node proxy's.
    Service,
    /// Outside the overlay: never handed to the kernel.
    Outside,
}

/// Decides where `ip` goes for node `me`.
pub fn decide(tables: &Tables, me: &str, ip: IpAddr) -> Decision {
    if SERVICE_CIDR.contains(ip) {
        return Decision::Service;
    }
    match tables.owner_of(ip) {
        Some((node, _)) if node == me => Decision::ThisNode,
        Some((node, entry)) => match entry.tunnel {
            Some(tunnel) => Decision::Peer {
                node: node.to_owned(),
                tunnel,
            },
            None => Decision::Refused,
        },
        // Before this node's own range is known (the first seconds, or `skiff up` with its
        // default range) its own pods are still found by the same-node table.
        None if CLUSTER_CIDR.contains(ip) => Decision::ThisNode,
        None => Decision::Outside,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::Cidr;
    use crate::tables::NodeEntry;

    #[test]
    fn destinations_go_to_this_node_a_peer_or_nowhere() {
        let mut t = Tables::default();
        let tunnel: SocketAddr = "127.0.0.3:4000".parse().unwrap();
        for (name, cidr, tunnel) in [
            (
                "a",
                "10.244.0.0/24",
                Some("127.0.0.2:4000".parse().unwrap()),
            ),
            ("b", "10.244.1.0/24", Some(tunnel)),
            ("c", "10.244.2.0/24", None),
        ] {
            let entry = NodeEntry {
                pod_cidr: Cidr::parse(cidr),
                tunnel,
            };
            t.nodes.insert(name.into(), entry);
        }
        let peer_b = Decision::Peer {
            node: "b".into(),
            tunnel,
        };
        let table = [
            ("10.244.0.7", Decision::ThisNode),
            ("10.244.1.7", peer_b),
            ("10.244.2.7", Decision::Refused),
            ("10.244.9.7", Decision::ThisNode),
            ("10.96.0.10", Decision::Service),
            ("10.1.2.3", Decision::Outside),
            ("192.0.2.1", Decision::Outside),
            ("127.0.0.1", Decision::Outside),
        ];
        for (ip, want) in table {
            assert_eq!(decide(&t, "a", ip.parse().unwrap()), want, "{ip}");
        }
    }
}
