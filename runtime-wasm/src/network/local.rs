//! A single-process [`PodNetwork`]: pods in one process reach each other at their virtual IPs
//! through loopback sockets; names and Service VIPs come from tables the test fills in.

use super::{NetError, PodNetwork, PodRef, Proto, REAL_HOST, is_real_allowed};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

/// One real address the network handed out for a connect or send (the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealUse {
    pub proto: Proto,
    pub virtual_target: SocketAddr,
    pub real_target: SocketAddr,
}

#[derive(Debug, Clone)]
struct Binding {
    real: SocketAddr,
    listening: bool,
    /// Bound to 127.0.0.1 in the guest: reachable only from the same pod.
    pod_local: bool,
}

#[derive(Debug, Default)]
struct Tables {
    bindings: HashMap<(Proto, IpAddr, u16), Binding>,
    reverse: HashMap<(Proto, SocketAddr), SocketAddr>,
    names: HashMap<String, Vec<IpAddr>>,
    services: HashMap<(Proto, SocketAddr), (Vec<SocketAddr>, usize)>,
    /// The newest [`MAX_REAL_USES`] real targets (a long-running node must not grow it forever).
    real_uses: VecDeque<RealUse>,
}

/// How many real targets the audit trail keeps.
const MAX_REAL_USES: usize = 4096;

/// In-process overlay for tests and single-node demos.
#[derive(Debug, Default)]
pub struct LocalNetwork {
    tables: Mutex<Tables>,
}

impl LocalNetwork {
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        skiff_sync::lock(&self.tables)
    }

    /// Makes `name` (e.g. `echo.default`) resolve to `ips`.
    pub fn add_name(&self, name: &str, ips: Vec<IpAddr>) {
        self.tables().names.insert(name.to_ascii_lowercase(), ips);
    }

    /// A Service VIP: `vip` on `proto` forwards to the virtual `backends` (round robin).
    pub fn add_service(&self, proto: Proto, vip: SocketAddr, backends: Vec<SocketAddr>) {
        self.tables().services.insert((proto, vip), (backends, 0));
    }

    /// Reports `virtual_addr` for the real socket `real` ([`PodNetwork::virtual_of`]): what a
    /// relay socket of the node overlay stands for (the remote pod it carries traffic of).
    pub fn add_reverse(&self, proto: Proto, real: SocketAddr, virtual_addr: SocketAddr) {
        debug_assert!(is_real_allowed(&real));
        self.tables().reverse.insert((proto, real), virtual_addr);
    }

    /// Forgets a relay socket registered by [`LocalNetwork::add_reverse`], unless the real
    /// port was reused and registered for another address meanwhile.
    pub fn remove_reverse(&self, proto: Proto, real: SocketAddr, virtual_addr: SocketAddr) {
        let mut t = self.tables();
        if t.reverse.get(&(proto, real)) == Some(&virtual_addr) {
            t.reverse.remove(&(proto, real));
        }
    }

    /// The real connect/send targets handed out so far (the newest 4096).
    pub fn real_uses(&self) -> Vec<RealUse> {
        self.tables().real_uses.iter().cloned().collect()
    }

    /// Virtual address -> real target for a socket of `pod`, following a Service VIP to a
    /// backend: the same-node path, which the node overlay (`node/overlay`) reuses. A pod
    /// from another node is passed as a `PodRef` with its IP, so its flows never reach a
    /// pod's localhost-only listener.
    pub fn route(
        &self,
        pod: &PodRef,
        proto: Proto,
        remote: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        let mut t = self.tables();
        let mut target = remote;
        if target.ip().is_loopback() || target.ip().is_unspecified() {
            target = SocketAddr::new(pod.ip, target.port());
        }
        if let Some((backends, next)) = t.services.get_mut(&(proto, target)) {
            if backends.is_empty() {
                return Err(NetError::Refused(remote));
            }
            let pick = backends[*next % backends.len()];
            *next = next.wrapping_add(1);
            target = pick;
        }
        let real = match t.bindings.get(&(proto, target.ip(), target.port())) {
            Some(b)
                if (proto == Proto::Udp || b.listening)
                    && (!b.pod_local || target.ip() == pod.ip) =>
            {
                b.real
            }
            _ if in_overlay(target.ip()) => return Err(NetError::Refused(remote)),
            _ => return Err(NetError::Unreachable(remote)),
        };
        debug_assert!(is_real_allowed(&real));
        if t.real_uses.len() >= MAX_REAL_USES {
            t.real_uses.pop_front();
        }
        t.real_uses.push_back(RealUse {
            proto,
            virtual_target: remote,
            real_target: real,
        });
        Ok(real)
    }
}

/// Cluster CIDR 10.244.0.0/16 or Service CIDR 10.96.0.0/12.
fn in_overlay(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 10 && (o[1] == 244 || (o[1] & 0xf0) == 96)
        }
        IpAddr::V6(_) => false,
    }
}

impl PodNetwork for LocalNetwork {
    fn bind(
        &self,
        pod: &PodRef,
        proto: Proto,
        requested: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        let ip = requested.ip();
        if !(ip.is_unspecified() || ip.is_loopback() || ip == pod.ip) || !ip.is_ipv4() {
            return Err(NetError::NotBindable(requested));
        }
        if requested.port() != 0
            && self
                .tables()
                .bindings
                .contains_key(&(proto, pod.ip, requested.port()))
        {
            return Err(NetError::AddressInUse(requested));
        }
        Ok(SocketAddr::new(REAL_HOST, 0))
    }

    fn bound(
        &self,
        pod: &PodRef,
        proto: Proto,
        requested: SocketAddr,
        real: SocketAddr,
    ) -> Result<SocketAddr, NetError> {
        // An ephemeral bind keeps the real port as its virtual port (unique on the host).
        let port = if requested.port() == 0 {
            real.port()
        } else {
            requested.port()
        };
        let local = SocketAddr::new(pod.ip, port);
        let mut t = self.tables();
        if t.bindings.contains_key(&(proto, pod.ip, port)) {
            return Err(NetError::AddressInUse(requested));
        }
        let binding = Binding {
            real,
            listening: false,
            pod_local: requested.ip().is_loopback(),
        };
        t.bindings.insert((proto, pod.ip, port), binding);
        t.reverse.insert((proto, real), local);
        Ok(local)
    }

    fn listen(&self, pod: &PodRef, local: SocketAddr) -> Result<(), NetError> {
        match self
            .tables()
            .bindings
            .get_mut(&(Proto::Tcp, pod.ip, local.port()))
        {
            Some(b) => {
                b.listening = true;
                Ok(())
            }
            None => Err(NetError::NotSupported(
                "listen on a socket the overlay did not bind",
            )),
        }
    }

    fn connect(&self, pod: &PodRef, remote: SocketAddr) -> Result<SocketAddr, NetError> {
        self.route(pod, Proto::Tcp, remote)
    }

    fn send(&self, pod: &PodRef, remote: SocketAddr) -> Result<SocketAddr, NetError> {
        self.route(pod, Proto::Udp, remote)
    }

    fn resolve(&self, pod: &PodRef, name: &str) -> Result<Vec<IpAddr>, NetError> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" {
            return Ok(vec![pod.ip]);
        }
        let short = name
            .strip_suffix(".svc.cluster.local")
            .or_else(|| name.strip_suffix(".svc"))
            .unwrap_or(&name);
        let t = self.tables();
        let qualified = format!("{short}.{}", pod.namespace);
        t.names
            .get(&qualified)
            .or_else(|| t.names.get(short))
            .cloned()
            .ok_or(NetError::NameUnresolvable(name))
    }

    fn virtual_of(&self, proto: Proto, real: SocketAddr) -> Option<SocketAddr> {
        self.tables().reverse.get(&(proto, real)).copied()
    }

    fn release(&self, pod: &PodRef, proto: Proto, local: SocketAddr, real: SocketAddr) {
        let mut t = self.tables();
        let key = (proto, pod.ip, local.port());
        if t.bindings.get(&key).is_some_and(|b| b.real == real) {
            t.bindings.remove(&key);
        }
        // The reverse entry stays until the real port is reused, so late replies to a
        // closed socket are still attributed to the right pod.
    }

    fn remove_pod(&self, pod: &PodRef) {
        let mut t = self.tables();
        t.bindings.retain(|(_, ip, _), _| *ip != pod.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ip: &str) -> PodRef {
        PodRef {
            ip: ip.parse().unwrap(),
            namespace: "ns".into(),
        }
    }

    #[test]
    fn binds_publish_and_connects_route_to_loopback_only() {
        let net = LocalNetwork::new();
        let a = pod("10.244.0.2");
        let b = pod("10.244.0.3");
        let req: SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert_eq!(
            net.bind(&a, Proto::Tcp, req).unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        let real: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let local = net.bound(&a, Proto::Tcp, req, real).unwrap();
        assert_eq!(local, "10.244.0.2:80".parse().unwrap());
        // Bound but not listening: refused.
        assert!(matches!(net.connect(&b, local), Err(NetError::Refused(_))));
        net.listen(&a, local).unwrap();
        assert_eq!(net.connect(&b, local).unwrap(), real);
        // Same pod over localhost.
        assert_eq!(
            net.connect(&a, "127.0.0.1:80".parse().unwrap()).unwrap(),
            real
        );
        // Port taken in the pod.
        assert!(matches!(
            net.bind(&a, Proto::Tcp, req),
            Err(NetError::AddressInUse(_))
        ));
        // Foreign addresses are not bindable, unknown ones not reachable.
        assert!(
            net.bind(&a, Proto::Tcp, "10.244.0.9:1".parse().unwrap())
                .is_err()
        );
        assert!(matches!(
            net.connect(&b, "10.244.7.7:80".parse().unwrap()),
            Err(NetError::Refused(_))
        ));
        assert!(matches!(
            net.connect(&b, "1.1.1.1:80".parse().unwrap()),
            Err(NetError::Unreachable(_))
        ));
        assert_eq!(net.virtual_of(Proto::Tcp, real), Some(local));
        net.release(&a, Proto::Tcp, local, real);
        assert!(net.connect(&b, local).is_err());
        assert!(
            net.real_uses()
                .iter()
                .all(|u| u.real_target.ip().is_loopback())
        );
    }

    #[test]
    fn names_resolve_short_qualified_and_fqdn_never_dns() {
        let net = LocalNetwork::new();
        let a = pod("10.244.0.2");
        let vip: IpAddr = "10.96.0.10".parse().unwrap();
        net.add_name("web.ns", vec![vip]);
        for name in [
            "web",
            "web.ns",
            "web.ns.svc",
            "web.ns.svc.cluster.local",
            "WEB.ns.",
        ] {
            assert_eq!(net.resolve(&a, name).unwrap(), vec![vip], "{name}");
        }
        assert_eq!(net.resolve(&a, "localhost").unwrap(), vec![a.ip]);
        assert!(matches!(
            net.resolve(&a, "example.com"),
            Err(NetError::NameUnresolvable(_))
        ));
    }

    #[test]
    fn service_vips_round_robin_over_backends() {
        let net = LocalNetwork::new();
        let (a, b, c) = (pod("10.244.0.2"), pod("10.244.0.3"), pod("10.244.0.4"));
        for (p, port) in [(&a, 41000), (&b, 41001)] {
            let req: SocketAddr = "0.0.0.0:80".parse().unwrap();
            let local = net
                .bound(p, Proto::Tcp, req, SocketAddr::new(REAL_HOST, port))
                .unwrap();
            net.listen(p, local).unwrap();
        }
        let vip: SocketAddr = "10.96.0.10:80".parse().unwrap();
        net.add_service(
            Proto::Tcp,
            vip,
            vec![
                "10.244.0.2:80".parse().unwrap(),
                "10.244.0.3:80".parse().unwrap(),
            ],
        );
        let ports: Vec<u16> = (0..4)
            .map(|_| net.connect(&c, vip).unwrap().port())
            .collect();
        assert_eq!(ports, vec![41000, 41001, 41000, 41001]);
    }
}
