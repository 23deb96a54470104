//! Service IPs (10.96.0.0/12) belong to the node proxy (`node/proxy`, issue 16 item 3): the
//! overlay hands every flow to a Service IP to a [`ServiceRouter`], which names the backend
//! pod's virtual address; the overlay then routes to that pod like any other.
//! [`RoundRobin`] is a plain router over the overlay's own tables (ready endpoints in turn,
//! no session affinity), so a name and a connect work end to end until the proxy replaces it.

use crate::tables::Tables;
use skiff_runtime_wasm::network::{NetError, PodRef, Proto};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

/// Picks the backend of a flow to a Service IP.
pub trait ServiceRouter: Send + Sync + 'static {
    /// The virtual address (pod IP and port) a flow from `pod` to Service address `vip`
    /// goes to; `Refused` when the Service has no ready endpoint or no such port. A
    /// loopback address is a real one: a relay of the router's own that the guest connects
    /// to as it is (the node proxy holds a connection there while a Service wakes).
    fn pick(&self, pod: &PodRef, proto: Proto, vip: SocketAddr) -> Result<SocketAddr, NetError>;
}

/// Ready endpoints in turn, from the overlay's tables.
#[derive(Debug)]
pub struct RoundRobin {
    tables: Arc<RwLock<Tables>>,
    next: Mutex<HashMap<(Proto, SocketAddr), usize>>,
}

impl RoundRobin {
    pub fn new(tables: Arc<RwLock<Tables>>) -> RoundRobin {
        RoundRobin {
            tables,
            next: Mutex::default(),
        }
    }
}

/// Every ready backend of Service address `vip` on `proto`, sorted.
pub fn backends(tables: &Tables, proto: Proto, vip: SocketAddr) -> Vec<SocketAddr> {
    let service = tables.services.iter().find_map(|(key, s)| {
        let port = s
            .ports
            .iter()
            .find(|p| p.port == vip.port() && p.proto == proto)?;
        (s.cluster_ip == Some(vip.ip())).then_some((key, port.name.as_str()))
    });
    let Some(((namespace, name), port_name)) = service else {
        return Vec::new();
    };
    let mut all: Vec<SocketAddr> = tables
        .slices_of(namespace, name)
        .filter_map(|slice| {
            let port = slice
                .ports
                .iter()
                .find(|p| p.name == port_name && p.proto == proto)?;
            Some(
                slice
                    .ready
                    .iter()
                    .map(move |ip| SocketAddr::new(*ip, port.port)),
            )
        })
        .flatten()
        .collect();
    all.sort();
    all.dedup();
    all
}

impl ServiceRouter for RoundRobin {
    fn pick(&self, _pod: &PodRef, proto: Proto, vip: SocketAddr) -> Result<SocketAddr, NetError> {
        let all = backends(&skiff_sync::read(&self.tables), proto, vip);
        if all.is_empty() {
            return Err(NetError::Refused(vip));
        }
        let mut next = skiff_sync::lock(&self.next);
        let turn = next.entry((proto, vip)).or_insert(0);
        let pick = all[*turn % all.len()];
        *turn = turn.wrapping_add(1);
        Ok(pick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{PortEntry, ServiceEntry, SliceEntry};

    fn port(name: &str, port: u16, proto: Proto) -> PortEntry {
        PortEntry {
            name: name.into(),
            port,
            proto,
        }
    }

    #[test]
    fn service_ports_map_to_ready_endpoints_in_turn() {
        let mut t = Tables::default();
        let service = ServiceEntry {
            cluster_ip: Some("10.96.0.20".parse().unwrap()),
            ports: vec![port("tcp", 80, Proto::Tcp), port("dns", 53, Proto::Udp)],
        };
        t.services.insert(("ns".into(), "web".into()), service);
        let slice = SliceEntry {
            service: "web".into(),
            ready: vec!["10.244.1.3".parse().unwrap(), "10.244.0.2".parse().unwrap()],
            ports: vec![port("tcp", 8080, Proto::Tcp), port("dns", 5353, Proto::Udp)],
        };
        t.slices.insert(("ns".into(), "web-1".into()), slice);
        let t = Arc::new(RwLock::new(t));
        let rr = RoundRobin::new(t.clone());
        let pod = PodRef {
            ip: "10.244.0.9".parse().unwrap(),
            namespace: "ns".into(),
        };
        let vip: SocketAddr = "10.96.0.20:80".parse().unwrap();
        let picks: Vec<String> = (0..3)
            .map(|_| rr.pick(&pod, Proto::Tcp, vip).unwrap().to_string())
            .collect();
        assert_eq!(
            picks,
            ["10.244.0.2:8080", "10.244.1.3:8080", "10.244.0.2:8080"]
        );
        let dns: SocketAddr = "10.96.0.20:53".parse().unwrap();
        assert_eq!(
            rr.pick(&pod, Proto::Udp, dns).unwrap().to_string(),
            "10.244.0.2:5353"
        );
        for (proto, vip) in [
            (Proto::Udp, "10.96.0.20:80"),
            (Proto::Tcp, "10.96.0.20:81"),
            (Proto::Tcp, "10.96.0.21:80"),
        ] {
            let vip: SocketAddr = vip.parse().unwrap();
            assert_eq!(rr.pick(&pod, proto, vip), Err(NetError::Refused(vip)));
        }
    }
}
