//! [`Proxy`]: the routing table and the balancing state, shared by the overlay (as its
//! [`ServiceRouter`], for guests' flows to ClusterIPs) and by the NodePort listeners. A
//! choice is made once per connection (or per UDP flow: a client pod's datagrams keep
//! their endpoint until quiet for 30 s); the flow then goes straight to
//! the pod, so established connections never depend on the table again and survive any
//! endpoint change. A Service scaled to zero holds a guest's connection instead (`hold`), or its
//! datagrams (`hold_udp`).

use crate::choose::{PortState, choose};
use crate::hold::Holder;
use crate::table::{PortRoute, Routes, ServiceKey};
use skiff_overlay::ServiceRouter;
use skiff_runtime_wasm::network::{NetError, PodRef, Proto};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tokio::sync::watch;

/// A guest's UDP datagrams to a Service keep their endpoint until quiet this long
/// (conntrack's UDP timeout).
const UDP_FLOW_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// The balancing state of one Service port.
type PortKey = (ServiceKey, String, Proto);

/// The node proxy's shared state. Cheap to clone.
#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

struct Inner {
    routes: RwLock<Arc<Routes>>,
    ports: Mutex<HashMap<PortKey, PortState>>,
    /// Last connection per Service that scales to zero, since the last report.
    activity: Mutex<HashMap<ServiceKey, Instant>>,
    /// Bumped on every new table, so waiters (NodePort listeners, held connections) wake.
    changed: watch::Sender<u64>,
    /// Signalled on activity, so the reporter writes the first connection after a quiet
    /// spell at once.
    active: tokio::sync::Notify,
    /// Holds guests' connections to Services scaled to zero, while [`crate::run`] runs.
    holder: RwLock<Option<Arc<Holder>>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("ports", &self.routes().ports.len())
            .finish_non_exhaustive()
    }
}

impl Default for Proxy {
    fn default() -> Proxy {
        Proxy::new()
    }
}

impl Proxy {
    /// A proxy with an empty table: every Service address is refused until the watchers
    /// fill it ([`crate::run`]).
    pub fn new() -> Proxy {
        Proxy {
            inner: Arc::new(Inner {
                routes: RwLock::default(),
                ports: Mutex::default(),
                activity: Mutex::default(),
                changed: watch::Sender::new(0),
                active: tokio::sync::Notify::new(),
                holder: RwLock::default(),
            }),
        }
    }

    /// The current table.
    pub fn routes(&self) -> Arc<Routes> {
        skiff_sync::read(&self.inner.routes).clone()
    }

    /// Swaps in a new table; balancing state of ports that are gone is dropped.
    pub fn set_routes(&self, routes: Routes) {
        let keys: std::collections::HashSet<PortKey> = routes.ports.iter().map(port_key).collect();
        *skiff_sync::write(&self.inner.routes) = Arc::new(routes);
        skiff_sync::lock(&self.inner.ports).retain(|k, _| keys.contains(k));
        self.inner.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Installs (or with `None` removes) what holds guests' connections to sleeping
    /// Services.
    pub(crate) fn set_holder(&self, holder: Option<Arc<Holder>>) {
        *skiff_sync::write(&self.inner.holder) = holder;
    }

    /// Notified on every new table.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// The endpoint for a new connection from `client` to `route`, or `None` when it has no
    /// ready endpoint. Counts as activity for a Service that scales to zero.
    pub fn pick(&self, route: &PortRoute, client: IpAddr) -> Option<SocketAddr> {
        let now = Instant::now();
        if route.wake.is_some() {
            self.note_activity(&route.service, now);
        }
        // The overlay asks for every UDP datagram: a client pod's datagrams stay with one
        // endpoint while they keep coming (as conntrack keeps a UDP flow).
        let udp_flow = (route.proto == Proto::Udp).then_some(UDP_FLOW_IDLE);
        let affinity = route.affinity.or(udp_flow);
        let mut ports = skiff_sync::lock(&self.inner.ports);
        let state = ports.entry(port_key(route)).or_default();
        choose(state, &route.backends, affinity, client, now)
    }

    /// Records a connection to `service` at `now`.
    pub(crate) fn note_activity(&self, service: &ServiceKey, now: Instant) {
        skiff_sync::lock(&self.inner.activity).insert(service.clone(), now);
        self.inner.active.notify_one();
    }

    /// Waits for activity noted since the last [`Proxy::take_activity`] (or this wait).
    pub(crate) async fn activity_noted(&self) {
        self.inner.active.notified().await;
    }

    /// The Services that saw a connection since the last call, with the time of the last.
    pub(crate) fn take_activity(&self) -> HashMap<ServiceKey, Instant> {
        std::mem::take(&mut *skiff_sync::lock(&self.inner.activity))
    }
}

fn port_key(route: &PortRoute) -> PortKey {
    (route.service.clone(), route.port_name.clone(), route.proto)
}

impl ServiceRouter for Proxy {
    /// An endpoint of the Service port at `vip`; for a Service scaled to zero, a TCP
    /// connection is held (`hold`) while the Deployment wakes; otherwise no endpoint is
    /// refused at once.
    fn pick(&self, pod: &PodRef, proto: Proto, vip: SocketAddr) -> Result<SocketAddr, NetError> {
        let routes = self.routes();
        let route = routes
            .by_cluster_ip(proto, vip)
            .ok_or(NetError::Refused(vip))?;
        if let Some(backend) = Proxy::pick(self, route, pod.ip) {
            return Ok(backend);
        }
        let holder = skiff_sync::read(&self.inner.holder).clone();
        match (&route.wake, proto, holder) {
            (Some(deployment), Proto::Tcp, Some(holder)) => holder.hold(route, deployment, vip),
            (Some(deployment), Proto::Udp, Some(holder)) => {
                holder.hold_udp(route, deployment, pod, vip)
            }
            _ => Err(NetError::Refused(vip)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn guests_reach_ready_endpoints_and_a_service_without_one_refuses() {
        let service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"clusterIP": "10.96.0.5", "ports": [{"port": 80}, {"name": "b", "port": 81}]},
        }))
        .unwrap();
        let slice = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "ns",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.2"]}, {"addresses": ["10.244.1.3"]}],
            "ports": [{"port": 8080}],
        }))
        .unwrap();
        let proxy = Proxy::new();
        let changes = proxy.changes();
        proxy.set_routes(Routes::build([&service], [&slice]));
        assert!(changes.has_changed().unwrap());
        let pod = PodRef {
            ip: "10.244.0.9".parse().unwrap(),
            namespace: "ns".into(),
        };
        let vip: SocketAddr = "10.96.0.5:80".parse().unwrap();
        let picks: Vec<String> = (0..3)
            .map(|_| {
                ServiceRouter::pick(&proxy, &pod, Proto::Tcp, vip)
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            picks,
            ["10.244.0.2:8080", "10.244.1.3:8080", "10.244.0.2:8080"]
        );
        for vip in ["10.96.0.5:81", "10.96.0.5:82", "10.96.0.6:80"] {
            let vip: SocketAddr = vip.parse().unwrap();
            let got = ServiceRouter::pick(&proxy, &pod, Proto::Tcp, vip);
            assert_eq!(got, Err(NetError::Refused(vip)), "{vip}");
        }
        assert!(
            proxy.take_activity().is_empty(),
            "web does not scale to zero"
        );
    }

    #[test]
    fn a_pods_udp_datagrams_keep_their_endpoint() {
        let service = serde_json::from_value(json!({
            "metadata": {"name": "dns", "namespace": "ns"},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53, "protocol": "UDP"}]},
        }))
        .unwrap();
        let slice = serde_json::from_value(json!({
            "metadata": {"name": "dns-1", "namespace": "ns",
                         "labels": {"kubernetes.io/service-name": "dns"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.2"]}, {"addresses": ["10.244.1.3"]}],
            "ports": [{"port": 5353, "protocol": "UDP"}],
        }))
        .unwrap();
        let proxy = Proxy::new();
        proxy.set_routes(Routes::build([&service], [&slice]));
        let vip: SocketAddr = "10.96.0.10:53".parse().unwrap();
        let pick = |ip: &str| {
            let pod = PodRef {
                ip: ip.parse().unwrap(),
                namespace: "ns".into(),
            };
            ServiceRouter::pick(&proxy, &pod, Proto::Udp, vip)
                .unwrap()
                .to_string()
        };
        let picks = [
            pick("10.244.0.9"),
            pick("10.244.0.9"),
            pick("10.244.0.8"),
            pick("10.244.0.9"),
        ];
        assert_eq!(
            picks,
            [
                "10.244.0.2:5353",
                "10.244.0.2:5353",
                "10.244.1.3:5353",
                "10.244.0.2:5353"
            ]
        );
    }
}
