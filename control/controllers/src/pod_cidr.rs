//! Pod CIDR allocation (kube-controller-manager's `nodeipam` range allocator): one /24 of
//! the cluster range (10.244.0.0/16 by default) per Node, written to `spec.podCIDR`. A node
//! keeps its CIDR; a CIDR freed by a deleted node is reused; an exhausted range is an error.
//!
//! Stateless: the CIDRs in use are read back from the nodes each time, so it needs no
//! allocator state to survive a leader change.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Node;

use crate::Error;

/// skiff's cluster range (flannel's and k3s' default).
pub const DEFAULT_CLUSTER_CIDR: &str = "10.244.0.0/16";
/// The prefix length of one node's range.
pub const DEFAULT_NODE_MASK: u8 = 24;

/// A node and the CIDR to write to its `spec.podCIDR` and `spec.podCIDRs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrAssignment {
    pub node: String,
    pub cidr: String,
}

/// The assignments for nodes without a CIDR, and the nodes left without one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodCidrPlan {
    pub assign: Vec<CidrAssignment>,
    /// One [`Error::CidrExhausted`] per node that could not get a CIDR.
    pub errors: Vec<Error>,
}

/// Parses `a.b.c.d/n` into (network, prefix length).
fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let net = u32::from(ip);
    (net & mask == net).then_some((net, len))
}

/// Plans CIDRs for every node that has none, lowest free first, nodes in name order.
pub fn plan_pod_cidrs(
    cluster_cidr: &str,
    node_mask: u8,
    nodes: &[Node],
) -> Result<PodCidrPlan, Error> {
    let bad = || Error::ClusterCidr {
        cidr: cluster_cidr.to_string(),
        mask: node_mask,
    };
    let (base, prefix) = parse_cidr(cluster_cidr).ok_or_else(bad)?;
    if node_mask < prefix || node_mask > 32 || node_mask - prefix > 24 {
        return Err(bad());
    }
    let count: u32 = 1 << (node_mask - prefix);
    let size: u64 = 1 << (32 - node_mask);
    let index_of = |cidr: &str| -> Option<u32> {
        let (net, len) = parse_cidr(cidr)?;
        let offset = u64::from(net.checked_sub(base)?);
        (len == node_mask && offset % size == 0 && offset / size < u64::from(count))
            .then(|| (offset / size) as u32)
    };
    let mut used = BTreeSet::new();
    let mut waiting = Vec::new();
    for n in nodes {
        match n.spec.as_ref().and_then(|s| s.pod_cidr.as_deref()) {
            Some(c) => {
                if let Some(i) = index_of(c) {
                    used.insert(i);
                }
            }
            None => waiting.push(n.metadata.name.clone().unwrap_or_default()),
        }
    }
    waiting.sort();
    let mut plan = PodCidrPlan::default();
    let mut next = 0u32;
    for node in waiting {
        while next < count && used.contains(&next) {
            next += 1;
        }
        if next >= count {
            plan.errors.push(Error::CidrExhausted {
                cidr: cluster_cidr.to_string(),
                node,
            });
            continue;
        }
        used.insert(next);
        let net = u64::from(base) + u64::from(next) * size;
        let ip = Ipv4Addr::from(u32::try_from(net).map_err(|_| bad())?);
        plan.assign.push(CidrAssignment {
            node,
            cidr: format!("{ip}/{node_mask}"),
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::from;
    use serde_json::json;

    fn node(name: &str, cidr: Option<&str>) -> Node {
        from(json!({"metadata": {"name": name}, "spec": {"podCIDR": cidr}}))
    }

    fn run(cidr: &str, mask: u8, nodes: &[Node]) -> (Vec<(String, String)>, Vec<String>) {
        let plan = plan_pod_cidrs(cidr, mask, nodes).expect("plan");
        let assign = plan.assign.into_iter().map(|a| (a.node, a.cidr)).collect();
        let errors = plan
            .errors
            .into_iter()
            .map(|e| match e {
                Error::CidrExhausted { node, .. } => node,
                other => panic!("unexpected {other}"),
            })
            .collect();
        (assign, errors)
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn allocation_table() {
        // (cluster CIDR, mask, nodes, assignments, exhausted nodes)
        type Case<'a> = (
            &'a str,
            u8,
            Vec<Node>,
            Vec<(&'a str, &'a str)>,
            Vec<&'a str>,
        );
        let table: Vec<Case> = vec![
            (
                DEFAULT_CLUSTER_CIDR,
                24,
                vec![node("b", None), node("a", None)],
                vec![("a", "10.244.0.0/24"), ("b", "10.244.1.0/24")],
                vec![],
            ),
            // Kept CIDRs stay; the gap left by a deleted node is reused first.
            (
                DEFAULT_CLUSTER_CIDR,
                24,
                vec![
                    node("a", Some("10.244.0.0/24")),
                    node("c", Some("10.244.2.0/24")),
                    node("d", None),
                ],
                vec![("d", "10.244.1.0/24")],
                vec![],
            ),
            (
                DEFAULT_CLUSTER_CIDR,
                24,
                vec![node("a", Some("10.244.0.0/24"))],
                vec![],
                vec![],
            ),
            // A /22 holds four /24s: 4 nodes fit, the fifth gets an error.
            (
                "10.0.0.0/22",
                24,
                (0..5).map(|i| node(&format!("n{i}"), None)).collect(),
                vec![
                    ("n0", "10.0.0.0/24"),
                    ("n1", "10.0.1.0/24"),
                    ("n2", "10.0.2.0/24"),
                    ("n3", "10.0.3.0/24"),
                ],
                vec!["n4"],
            ),
        ];
        for (i, (cidr, mask, nodes, assign, exhausted)) in table.into_iter().enumerate() {
            let exhausted: Vec<String> = exhausted.into_iter().map(String::from).collect();
            assert_eq!(
                run(cidr, mask, &nodes),
                (pairs(&assign), exhausted),
                "case {i}"
            );
        }
    }

    #[test]
    fn the_full_default_range_holds_256_nodes_and_replanning_plans_nothing() {
        let mut nodes: Vec<Node> = (0..257).map(|i| node(&format!("n{i:03}"), None)).collect();
        let plan = plan_pod_cidrs(DEFAULT_CLUSTER_CIDR, 24, &nodes).expect("plan");
        assert_eq!((plan.assign.len(), plan.errors.len()), (256, 1));
        for a in plan.assign {
            let n = nodes
                .iter_mut()
                .find(|n| n.metadata.name.as_deref() == Some(a.node.as_str()))
                .expect("node");
            n.spec.get_or_insert_with(Default::default).pod_cidr = Some(a.cidr);
        }
        let again = plan_pod_cidrs(DEFAULT_CLUSTER_CIDR, 24, &nodes[..256]).expect("plan");
        assert_eq!(again, PodCidrPlan::default());
    }

    #[test]
    fn bad_cluster_cidrs_are_errors() {
        for (cidr, mask) in [
            ("10.244.0.1/16", 24),
            ("nope", 24),
            ("10.244.0.0/16", 8),
            ("10.0.0.0/8", 33),
        ] {
            assert!(
                matches!(
                    plan_pod_cidrs(cidr, mask, &[]),
                    Err(Error::ClusterCidr { .. })
                ),
                "{cidr} /{mask}"
            );
        }
    }
}
