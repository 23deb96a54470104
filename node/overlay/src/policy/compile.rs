//! A NetworkPolicy compiled once from its API object into what [`super::allows`] reads.

use super::{Peer, PolicyEntry, PortMatch, Rule};
use crate::cidr::Cidr;
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as K8sSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use skiff_api::selector::LabelSelector;
use skiff_runtime_wasm::network::Proto;

fn selector(s: &K8sSelector) -> Option<LabelSelector> {
    LabelSelector::from_k8s(s).ok()
}

/// `None` for SCTP (the overlay carries TCP and UDP only): such a port matches no flow.
fn proto_of(name: Option<&str>) -> Option<Proto> {
    match name.unwrap_or("TCP") {
        "TCP" => Some(Proto::Tcp),
        "UDP" => Some(Proto::Udp),
        _ => None,
    }
}

fn port_match(p: &NetworkPolicyPort) -> PortMatch {
    let proto = proto_of(p.protocol.as_deref());
    match &p.port {
        None => PortMatch::Range {
            proto,
            from: 0,
            to: u16::MAX,
        },
        Some(IntOrString::String(name)) => PortMatch::Named {
            proto,
            name: name.clone(),
        },
        Some(IntOrString::Int(n)) => {
            let from = u16::try_from(*n).unwrap_or(u16::MAX);
            let to = p
                .end_port
                .and_then(|e| u16::try_from(e).ok())
                .unwrap_or(from);
            PortMatch::Range { proto, from, to }
        }
    }
}

fn peer(p: &NetworkPolicyPeer) -> Peer {
    match &p.ip_block {
        Some(IPBlock { cidr, except }) => Peer::Block {
            cidr: Cidr::parse(cidr),
            except: except.iter().flatten().map(|e| Cidr::parse(e)).collect(),
        },
        None => Peer::Pods {
            namespaces: p.namespace_selector.as_ref().map(selector),
            pods: p.pod_selector.as_ref().map(selector),
        },
    }
}

fn rule(ports: Option<&Vec<NetworkPolicyPort>>, peers: Option<&Vec<NetworkPolicyPeer>>) -> Rule {
    Rule {
        ports: ports.iter().copied().flatten().map(port_match).collect(),
        peers: peers
            .filter(|p| !p.is_empty())
            .map(|p| p.iter().map(peer).collect()),
    }
}

impl PolicyEntry {
    /// Compiles `policy`. `policyTypes` unset means Ingress, plus Egress when egress rules
    /// are given (kube-apiserver's defaulting).
    pub fn of(policy: &NetworkPolicy) -> PolicyEntry {
        let spec = policy.spec.clone().unwrap_or_default();
        let types = spec.policy_types.clone().unwrap_or_else(|| {
            let mut t = vec!["Ingress".to_owned()];
            if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                t.push("Egress".to_owned());
            }
            t
        });
        let has = |t: &str| types.iter().any(|x| x == t);
        let ingress = spec.ingress.iter().flatten();
        let egress = spec.egress.iter().flatten();
        PolicyEntry {
            namespace: policy.metadata.namespace.clone().unwrap_or_default(),
            selector: selector(&spec.pod_selector.clone().unwrap_or_default()),
            ingress: has("Ingress").then(|| {
                ingress
                    .map(|r| rule(r.ports.as_ref(), r.from.as_ref()))
                    .collect()
            }),
            egress: has("Egress").then(|| {
                egress
                    .map(|r| rule(r.ports.as_ref(), r.to.as_ref()))
                    .collect()
            }),
        }
    }
}
