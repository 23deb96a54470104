//! The cluster as the overlay sees it, kept by the watchers (`watch.rs`): every Node's pod
//! range and overlay endpoint, every Service's ClusterIP and ports, and every EndpointSlice's
//! ready addresses. Pure: built from API objects, answering where a pod IP lives and what a
//! name resolves to; and for NetworkPolicy (`policy`), this node's pods (IP, namespace,
//! labels, named ports), every Namespace's labels and every NetworkPolicy. Routing is by pod range, as flannel routes by each node's subnet: a
//! node may not list other nodes' pods, and a Node's `spec.podCIDR` never moves while it
//! lives, so no pod table can be stale.

use crate::cidr::Cidr;
use crate::policy::{PodIdentity, PolicyTables};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use skiff_runtime_wasm::network::{NetError, Proto};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// The Node annotation naming the port of the node's overlay tunnel listener (on its
/// InternalIP).
pub const OVERLAY_PORT_ANNOTATION: &str = "skiff.io/overlay-port";
/// The EndpointSlice label naming its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The cluster domain.
const CLUSTER_SUFFIXES: [&str; 2] = [".svc.cluster.local", ".svc"];

/// One Node: its pod range and where its overlay listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    pub pod_cidr: Option<Cidr>,
    /// InternalIP and the overlay port, once the node published both.
    pub tunnel: Option<SocketAddr>,
}

impl NodeEntry {
    /// The entry of `node`, from `spec.podCIDR`, the InternalIP and [`OVERLAY_PORT_ANNOTATION`].
    pub fn of(node: &Node) -> NodeEntry {
        let pod_cidr = node.spec.as_ref().and_then(|s| s.pod_cidr.as_deref());
        let ip = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
            .and_then(|a| a.address.parse::<IpAddr>().ok());
        let port = node
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(OVERLAY_PORT_ANNOTATION))
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0);
        NodeEntry {
            pod_cidr: pod_cidr.and_then(Cidr::parse),
            tunnel: ip.zip(port).map(|(ip, port)| SocketAddr::new(ip, port)),
        }
    }
}

/// A Service port: its name (matched against EndpointSlice port names), number, protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortEntry {
    pub name: String,
    pub port: u16,
    pub proto: Proto,
}

/// One Service: its ClusterIP (`None` when headless) and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    pub cluster_ip: Option<IpAddr>,
    pub ports: Vec<PortEntry>,
}

impl ServiceEntry {
    /// `None` for a Service the overlay cannot answer for (ExternalName, no ClusterIP yet).
    pub fn of(service: &Service) -> Option<ServiceEntry> {
        let spec = service.spec.as_ref()?;
        if spec.type_.as_deref() == Some("ExternalName") {
            return None;
        }
        let cluster_ip = match spec.cluster_ip.as_deref()? {
            "None" => None,
            ip => Some(ip.parse().ok()?),
        };
        let ports = spec.ports.iter().flatten().filter_map(|p| {
            Some(PortEntry {
                name: p.name.clone().unwrap_or_default(),
                port: u16::try_from(p.port).ok()?,
                proto: proto(p.protocol.as_deref())?,
            })
        });
        Some(ServiceEntry {
            cluster_ip,
            ports: ports.collect(),
        })
    }
}

/// One EndpointSlice: its Service, its ready addresses and its ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceEntry {
    pub service: String,
    pub ready: Vec<IpAddr>,
    pub ports: Vec<PortEntry>,
}

impl SliceEntry {
    /// `None` for a slice that names no Service.
    pub fn of(slice: &EndpointSlice) -> Option<SliceEntry> {
        let labels = slice.metadata.labels.as_ref()?;
        let service = labels.get(SERVICE_NAME_LABEL)?.clone();
        // An unset `ready` means ready (discovery/v1).
        let ready = slice
            .endpoints
            .iter()
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
            .flat_map(|e| e.addresses.iter().filter_map(|a| a.parse().ok()));
        let ports = slice.ports.iter().flatten().filter_map(|p| {
            Some(PortEntry {
                name: p.name.clone().unwrap_or_default(),
                port: u16::try_from(p.port?).ok()?,
                proto: proto(p.protocol.as_deref())?,
            })
        });
        Some(SliceEntry {
            service,
            ready: ready.collect(),
            ports: ports.collect(),
        })
    }
}

fn proto(name: Option<&str>) -> Option<Proto> {
    match name.unwrap_or("TCP") {
        "TCP" => Some(Proto::Tcp),
        "UDP" => Some(Proto::Udp),
        _ => None,
    }
}

/// A pod of this node as policies see it, at its IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEntry {
    pub ip: IpAddr,
    pub identity: PodIdentity,
}

impl PodEntry {
    /// `None` until the pod has an IP.
    pub fn of(pod: &Pod) -> Option<PodEntry> {
        let ip = pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()?;
        let containers = pod.spec.iter().flat_map(|s| s.containers.iter());
        let ports = containers
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                let number = u16::try_from(p.container_port).ok()?;
                let protocol = p.protocol.clone().unwrap_or_else(|| "TCP".into());
                Some((p.name.clone()?, protocol, number))
            });
        let identity = PodIdentity {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            labels: Some(pod.metadata.labels.clone().unwrap_or_default()),
            ports: ports.collect(),
        };
        Some(PodEntry { ip, identity })
    }
}

/// `(namespace, name)` of a namespaced object.
pub type Key = (String, String);

/// Everything the overlay routes and resolves by.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub nodes: HashMap<String, NodeEntry>,
    pub services: HashMap<Key, ServiceEntry>,
    pub slices: HashMap<Key, SliceEntry>,
    /// This node's pods with an IP.
    pub pods: HashMap<Key, PodEntry>,
    /// This node's pods by IP as the agent told them at sandbox creation (`pod_labels`),
    /// until the Pod watch brings them.
    pub started: HashMap<IpAddr, PodIdentity>,
    /// NetworkPolicies and Namespaces' labels.
    pub policy: PolicyTables,
}

impl Tables {
    /// The node whose pod range holds `ip`, with its entry.
    pub fn owner_of(&self, ip: IpAddr) -> Option<(&str, &NodeEntry)> {
        self.nodes
            .iter()
            .find(|(_, n)| n.pod_cidr.is_some_and(|c| c.contains(ip)))
            .map(|(name, n)| (name.as_str(), n))
    }

    /// The identity of this node's pod at `ip`.
    pub fn pod_at(&self, ip: IpAddr) -> Option<&PodIdentity> {
        let watched = self.pods.values().find(|p| p.ip == ip);
        watched
            .map(|p| &p.identity)
            .or_else(|| self.started.get(&ip))
    }

    /// The addresses of `name` for a pod in `namespace`: `svc`, `svc.ns`, `svc.ns.svc` and
    /// `svc.ns.svc.cluster.local` give the ClusterIP, or a headless Service's ready pod IPs.
    pub fn resolve(&self, name: &str, namespace: &str) -> Result<Vec<IpAddr>, NetError> {
        let unresolvable = || NetError::NameUnresolvable(name.to_owned());
        let lower = name.trim_end_matches('.').to_ascii_lowercase();
        let short = CLUSTER_SUFFIXES
            .iter()
            .find_map(|s| lower.strip_suffix(s))
            .unwrap_or(&lower);
        let key = match short.split('.').collect::<Vec<_>>()[..] {
            [service] if !service.is_empty() => (namespace.to_owned(), service.to_owned()),
            [service, ns] if !service.is_empty() && !ns.is_empty() => {
                (ns.to_owned(), service.to_owned())
            }
            _ => return Err(unresolvable()),
        };
        let service = self.services.get(&key).ok_or_else(unresolvable)?;
        if let Some(ip) = service.cluster_ip {
            return Ok(vec![ip]);
        }
        let mut ready: Vec<IpAddr> = self
            .slices_of(&key.0, &key.1)
            .flat_map(|s| s.ready.iter().copied())
            .collect();
        ready.sort();
        ready.dedup();
        if ready.is_empty() {
            return Err(unresolvable());
        }
        Ok(ready)
    }

    /// The EndpointSlices of Service `namespace/service`.
    pub fn slices_of<'a>(
        &'a self,
        namespace: &'a str,
        service: &'a str,
    ) -> impl Iterator<Item = &'a SliceEntry> + 'a {
        self.slices
            .iter()
            .filter(move |((ns, _), s)| ns == namespace && s.service == service)
            .map(|(_, s)| s)
    }
}

#[cfg(test)]
mod tests;
