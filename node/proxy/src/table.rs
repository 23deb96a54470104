//! The routing table, built from Services and EndpointSlices (pure): for each Service port,
//! its ClusterIP address, its NodePort, its session affinity and its ready backends (pod
//! IP and target port, from the EndpointSlices' matching named port), and the Deployment a
//! scale-to-zero controller marked it with. Rebuilt whole when either kind changes; the
//! proxy swaps the new table in, so a lookup never sees half an update.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use skiff_runtime_wasm::network::Proto;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The EndpointSlice label naming its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds` (3 hours).
pub const DEFAULT_AFFINITY_TIMEOUT: Duration = Duration::from_secs(10_800);
/// The Service annotation naming the Deployment behind it that scales to zero when idle
/// (written by the scale-to-zero controller in `control/controllers`).
pub const SCALE_TARGET_ANNOTATION: &str = "skiff.io/scale-to-zero-deployment";

/// `(namespace, name)` of a Service.
pub type ServiceKey = (String, String);

/// One port of one Service, with everything a connection to it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRoute {
    pub service: ServiceKey,
    /// The Service port's name ("" when it has one unnamed port).
    pub port_name: String,
    pub proto: Proto,
    /// ClusterIP and port; `None` for a headless Service.
    pub cluster: Option<SocketAddr>,
    /// The NodePort, for NodePort and LoadBalancer Services.
    pub node_port: Option<u16>,
    /// `sessionAffinity: ClientIP` and its timeout; `None`: round robin only.
    pub affinity: Option<Duration>,
    /// Ready endpoints (pod IP, target port), sorted.
    pub backends: Vec<SocketAddr>,
    /// The Deployment to wake when a connection comes and no endpoint is ready.
    pub wake: Option<String>,
}

/// Every Service port the proxy serves, indexed by ClusterIP address and by NodePort.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    pub ports: Vec<PortRoute>,
    by_cluster: HashMap<(Proto, SocketAddr), usize>,
    by_node_port: HashMap<(Proto, u16), usize>,
}

impl Routes {
    /// The table for these Services and EndpointSlices.
    pub fn build<'a>(
        services: impl IntoIterator<Item = &'a Service>,
        slices: impl IntoIterator<Item = &'a EndpointSlice>,
    ) -> Routes {
        let mut ready: HashMap<(ServiceKey, String, Proto), Vec<SocketAddr>> = HashMap::new();
        for slice in slices {
            for (key, backends) in slice_backends(slice) {
                ready.entry(key).or_default().extend(backends);
            }
        }
        let mut routes = Routes::default();
        for service in services {
            for mut port in service_ports(service) {
                let key = (port.service.clone(), port.port_name.clone(), port.proto);
                let mut backends = ready.get(&key).cloned().unwrap_or_default();
                backends.sort();
                backends.dedup();
                port.backends = backends;
                routes.insert(port);
            }
        }
        routes
    }

    fn insert(&mut self, port: PortRoute) {
        let index = self.ports.len();
        if let Some(cluster) = port.cluster {
            self.by_cluster.insert((port.proto, cluster), index);
        }
        if let Some(node_port) = port.node_port {
            self.by_node_port.insert((port.proto, node_port), index);
        }
        self.ports.push(port);
    }

    /// The Service port at ClusterIP address `vip`.
    pub fn by_cluster_ip(&self, proto: Proto, vip: SocketAddr) -> Option<&PortRoute> {
        self.by_cluster.get(&(proto, vip)).map(|i| &self.ports[*i])
    }

    /// The Service port at NodePort `port`.
    pub fn by_node_port(&self, proto: Proto, port: u16) -> Option<&PortRoute> {
        self.by_node_port
            .get(&(proto, port))
            .map(|i| &self.ports[*i])
    }

    /// Every NodePort with its protocol, sorted.
    pub fn node_ports(&self) -> Vec<(Proto, u16)> {
        let mut all: Vec<(Proto, u16)> = self.by_node_port.keys().copied().collect();
        all.sort_by_key(|(proto, port)| (*port, *proto == Proto::Udp));
        all
    }
}

/// The ports of a Service the proxy serves (none for ExternalName or one without ports).
fn service_ports(service: &Service) -> Vec<PortRoute> {
    let Some(spec) = service.spec.as_ref() else {
        return Vec::new();
    };
    if spec.type_.as_deref() == Some("ExternalName") {
        return Vec::new();
    }
    let key = (
        service.metadata.namespace.clone().unwrap_or_default(),
        service.metadata.name.clone().unwrap_or_default(),
    );
    let cluster_ip = spec
        .cluster_ip
        .as_deref()
        .and_then(|ip| ip.parse::<IpAddr>().ok());
    let affinity = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
        let seconds = spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0);
        seconds.map_or(DEFAULT_AFFINITY_TIMEOUT, Duration::from_secs)
    });
    let wake = service
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SCALE_TARGET_ANNOTATION))
        .filter(|d| !d.is_empty())
        .cloned();
    let ports = spec.ports.iter().flatten();
    ports
        .filter_map(|p| {
            let port = u16::try_from(p.port).ok()?;
            Some(PortRoute {
                service: key.clone(),
                port_name: p.name.clone().unwrap_or_default(),
                proto: proto(p.protocol.as_deref())?,
                cluster: cluster_ip.map(|ip| SocketAddr::new(ip, port)),
                node_port: p.node_port.and_then(|n| u16::try_from(n).ok()),
                affinity,
                backends: Vec::new(),
                wake: wake.clone(),
            })
        })
        .collect()
}

/// A slice's ready addresses per (Service, port name, protocol), at the slice's port.
fn slice_backends(slice: &EndpointSlice) -> Vec<((ServiceKey, String, Proto), Vec<SocketAddr>)> {
    let labels = slice.metadata.labels.as_ref();
    let Some(service) = labels.and_then(|l| l.get(SERVICE_NAME_LABEL)) else {
        return Vec::new();
    };
    let key = (
        slice.metadata.namespace.clone().unwrap_or_default(),
        service.clone(),
    );
    // An unset `ready` means ready (discovery/v1); a terminating endpoint is not ready.
    let ready: Vec<IpAddr> = slice
        .endpoints
        .iter()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
        .flat_map(|e| e.addresses.iter().filter_map(|a| a.parse().ok()))
        .collect();
    let ports = slice.ports.iter().flatten();
    ports
        .filter_map(|p| {
            let number = u16::try_from(p.port?).ok()?;
            let name = p.name.clone().unwrap_or_default();
            let backends = ready.iter().map(|ip| SocketAddr::new(*ip, number));
            Some((
                (key.clone(), name, proto(p.protocol.as_deref())?),
                backends.collect(),
            ))
        })
        .collect()
}

fn proto(name: Option<&str>) -> Option<Proto> {
    match name.unwrap_or("TCP") {
        "TCP" => Some(Proto::Tcp),
        "UDP" => Some(Proto::Udp),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
