//! NetworkPolicy (networking.k8s.io/v1) as the overlay enforces it: each policy compiled once
//! (`compile`), and [`allows`], a pure decision over one flow from the policies, the
//! namespaces' labels and what is known of both ends.
//!
//! Kubernetes' semantics: a pod is isolated for a direction only when some policy in its
//! namespace selects it and lists that direction in `policyTypes`; an isolated pod's flow is
//! allowed when any rule of any such policy allows it (rules add up, never subtract). A flow
//! between two pods needs both the source's egress and the destination's ingress. A rule with
//! no ports allows every port, one with no peers every peer. A peer is an `ipBlock` (by
//! address, minus `except`) or selectors: `podSelector` alone is pods of the policy's own
//! namespace, `namespaceSelector` alone every pod of the selected namespaces, both together
//! the selected pods of the selected namespaces. Namespaces always carry the
//! `kubernetes.io/metadata.name` label, as kube-apiserver sets it.

use crate::cidr::Cidr;
use serde::{Deserialize, Serialize};
use skiff_api::selector::LabelSelector;
use skiff_runtime_wasm::network::Proto;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

/// The label kube-apiserver puts on every Namespace, naming it.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

pub type Labels = BTreeMap<String, String>;

/// A pod as policies see it: namespace, labels and named container ports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodIdentity {
    pub namespace: String,
    /// `None`: not known (yet). Such a pod is denied everything a policy of its namespace
    /// would decide for it, and matched by no pod selector: the gap fails closed.
    pub labels: Option<Labels>,
    /// `(name, protocol, port)` of the pod's containers' named ports.
    #[serde(default)]
    pub ports: Vec<(String, String, u16)>,
}

/// One end of a flow: its virtual address, and its pod when the address is a known pod's.
#[derive(Debug, Clone, Copy)]
pub struct End<'a> {
    pub addr: SocketAddr,
    pub pod: Option<&'a PodIdentity>,
}

/// One flow to decide.
#[derive(Debug, Clone, Copy)]
pub struct Flow<'a> {
    pub proto: Proto,
    pub source: End<'a>,
    pub destination: End<'a>,
}

/// A compiled NetworkPolicy.
#[derive(Debug, Clone)]
pub struct PolicyEntry {
    pub namespace: String,
    /// `None`: the selector did not compile; the policy then selects every pod of its
    /// namespace (fail closed: isolated, and no rule matches an uncompilable peer).
    selector: Option<LabelSelector>,
    /// `Some` when `policyTypes` holds Ingress (resp. Egress): the direction's rules.
    ingress: Option<Vec<Rule>>,
    egress: Option<Vec<Rule>>,
}

#[derive(Debug, Clone)]
struct Rule {
    /// Empty: every port.
    ports: Vec<PortMatch>,
    /// `None`: every peer.
    peers: Option<Vec<Peer>>,
}

#[derive(Debug, Clone)]
enum PortMatch {
    /// A number (and `endPort`), or every port of the protocol.
    Range {
        proto: Option<Proto>,
        from: u16,
        to: u16,
    },
    Named {
        proto: Option<Proto>,
        name: String,
    },
}

#[derive(Debug, Clone)]
enum Peer {
    /// `None` in a selector: it did not compile (matches nothing).
    Pods {
        namespaces: Option<Option<LabelSelector>>,
        pods: Option<Option<LabelSelector>>,
    },
    Block {
        cidr: Option<Cidr>,
        except: Vec<Option<Cidr>>,
    },
}

impl PolicyEntry {
    fn selects(&self, pod: &PodIdentity) -> bool {
        let matches = |s: &LabelSelector| pod.labels.as_ref().is_none_or(|l| s.matches(l));
        pod.namespace == self.namespace && self.selector.as_ref().is_none_or(matches)
    }

    /// Whether the policy isolates pods for egress.
    pub fn has_egress(&self) -> bool {
        self.egress.is_some()
    }

    fn rules(&self, direction: Direction) -> Option<&Vec<Rule>> {
        match direction {
            Direction::Ingress => self.ingress.as_ref(),
            Direction::Egress => self.egress.as_ref(),
        }
    }
}

/// Everything a decision reads: policies by `(namespace, name)`, namespaces' labels.
#[derive(Debug, Clone, Default)]
pub struct PolicyTables {
    pub policies: HashMap<(String, String), PolicyEntry>,
    pub namespaces: HashMap<String, Labels>,
}

/// Which side of a flow a decision is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

/// What a pod's policies say of a flow, for one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// No policy selects the pod for the direction.
    NotIsolated,
    /// A rule allows the flow.
    Allowed,
    Denied,
}

/// Whether `flow` is allowed: the source's egress (when the source is a known pod) and the
/// destination's ingress (when the destination is a known pod).
pub fn allows(tables: &PolicyTables, flow: &Flow<'_>) -> bool {
    let egress = flow
        .source
        .pod
        .is_none_or(|pod| verdict(tables, pod, Direction::Egress, flow) != Verdict::Denied);
    let ingress = flow
        .destination
        .pod
        .is_none_or(|pod| verdict(tables, pod, Direction::Ingress, flow) != Verdict::Denied);
    egress && ingress
}

/// Whether pod `source` may reach `destination` outside the overlay: only when an egress
/// rule allows it explicitly (an `ipBlock`); a pod no egress policy selects reaches nothing
/// outside.
pub fn allows_outside(
    tables: &PolicyTables,
    proto: Proto,
    source: End,
    destination: SocketAddr,
) -> bool {
    let Some(pod) = source.pod else {
        return false;
    };
    let flow = Flow {
        proto,
        source,
        destination: End {
            addr: destination,
            pod: None,
        },
    };
    verdict(tables, pod, Direction::Egress, &flow) == Verdict::Allowed
}

/// What `pod`'s policies for `direction` say of `flow`.
fn verdict(tables: &PolicyTables, pod: &PodIdentity, direction: Direction, flow: &Flow) -> Verdict {
    let (peer, local) = match direction {
        Direction::Ingress => (flow.source, flow.destination),
        Direction::Egress => (flow.destination, flow.source),
    };
    if pod.labels.is_none() {
        let in_force = tables
            .policies
            .values()
            .any(|p| p.selects(pod) && p.rules(direction).is_some());
        return if in_force {
            Verdict::Denied
        } else {
            Verdict::NotIsolated
        };
    }
    let mut isolated = false;
    for policy in tables.policies.values().filter(|p| p.selects(pod)) {
        let rules = policy.rules(direction);
        let Some(rules) = rules else { continue };
        isolated = true;
        let port_pod = if direction == Direction::Ingress {
            local.pod
        } else {
            peer.pod
        };
        let allowed = rules.iter().any(|r| {
            r.ports_allow(flow.proto, flow.destination.addr.port(), port_pod)
                && r.peers_allow(tables, &policy.namespace, peer)
        });
        if allowed {
            return Verdict::Allowed;
        }
    }
    if isolated {
        Verdict::Denied
    } else {
        Verdict::NotIsolated
    }
}

impl Rule {
    fn ports_allow(&self, proto: Proto, port: u16, destination: Option<&PodIdentity>) -> bool {
        self.ports.is_empty()
            || self
                .ports
                .iter()
                .any(|m| m.allows(proto, port, destination))
    }

    fn peers_allow(&self, tables: &PolicyTables, namespace: &str, peer: End) -> bool {
        let Some(peers) = &self.peers else {
            return true;
        };
        peers.iter().any(|p| p.matches(tables, namespace, peer))
    }
}

impl PortMatch {
    fn allows(&self, proto: Proto, port: u16, destination: Option<&PodIdentity>) -> bool {
        match self {
            PortMatch::Range { proto: p, from, to } => {
                *p == Some(proto) && (*from..=*to).contains(&port)
            }
            PortMatch::Named { proto: p, name } => {
                let wanted = match p {
                    Some(Proto::Tcp) => "TCP",
                    Some(Proto::Udp) => "UDP",
                    None => return false,
                };
                *p == Some(proto)
                    && destination.is_some_and(|d| {
                        d.ports
                            .iter()
                            .any(|(n, pr, number)| n == name && pr == wanted && *number == port)
                    })
            }
        }
    }
}

impl Peer {
    fn matches(&self, tables: &PolicyTables, namespace: &str, peer: End) -> bool {
        match self {
            Peer::Block { cidr, except } => {
                let ip = peer.addr.ip();
                cidr.is_some_and(|c| c.contains(ip))
                    && !except.iter().any(|e| e.is_none_or(|e| e.contains(ip)))
            }
            Peer::Pods { namespaces, pods } => {
                let Some(pod) = peer.pod else {
                    return false;
                };
                let namespace_ok = match namespaces {
                    None => pod.namespace == namespace,
                    Some(selector) => selector
                        .as_ref()
                        .is_some_and(|s| s.matches(&namespace_labels(tables, &pod.namespace))),
                };
                let pod_ok = match pods {
                    None => true,
                    Some(selector) => selector
                        .as_ref()
                        .zip(pod.labels.as_ref())
                        .is_some_and(|(s, labels)| s.matches(labels)),
                };
                namespace_ok && pod_ok
            }
        }
    }
}

/// A namespace's labels, with [`NAMESPACE_NAME_LABEL`].
fn namespace_labels(tables: &PolicyTables, namespace: &str) -> Labels {
    let mut labels = tables
        .namespaces
        .get(namespace)
        .cloned()
        .unwrap_or_default();
    labels.insert(NAMESPACE_NAME_LABEL.to_owned(), namespace.to_owned());
    labels
}

mod compile;
#[cfg(test)]
mod tests;
