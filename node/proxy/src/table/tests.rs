//! The routing table built from Services and EndpointSlices, by table.

use super::*;
use serde_json::json;

fn service(name: &str, spec: serde_json::Value, annotations: serde_json::Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations},
        "spec": spec,
    }))
    .unwrap()
}

fn slice(
    name: &str,
    service: &str,
    endpoints: serde_json::Value,
    ports: serde_json::Value,
) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "ns",
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
    }))
    .unwrap()
}

fn fixture() -> Routes {
    let services = [
        service(
            "web",
            json!({"type": "NodePort", "clusterIP": "10.96.0.5", "sessionAffinity": "ClientIP",
                   "ports": [{"name": "http", "port": 80, "nodePort": 30080},
                             {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}]}),
            json!({SCALE_TARGET_ANNOTATION: "web"}),
        ),
        service(
            "api",
            json!({"clusterIP": "10.96.0.6", "sessionAffinity": "ClientIP",
                   "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
                   "ports": [{"port": 443, "protocol": "SCTP"}, {"port": 8443}]}),
            json!({}),
        ),
        service(
            "ext",
            json!({"type": "ExternalName", "externalName": "example.org"}),
            json!({}),
        ),
    ];
    let slices = [
        slice(
            "web-1",
            "web",
            json!([{"addresses": ["10.244.1.3"]},
                   {"addresses": ["10.244.0.2"], "conditions": {"ready": true}},
                   {"addresses": ["10.244.0.9"], "conditions": {"ready": false}}]),
            json!([{"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"}]),
        ),
        slice(
            "web-2",
            "web",
            json!([{"addresses": ["10.244.2.4"]}]),
            json!([{"name": "http", "port": 8080}]),
        ),
        slice(
            "api-1",
            "api",
            json!([{"addresses": ["10.244.0.7"]}]),
            json!([{"port": 9443}]),
        ),
        slice(
            "orphan",
            "gone",
            json!([{"addresses": ["10.244.0.8"]}]),
            json!([{"port": 1}]),
        ),
    ];
    Routes::build(&services, &slices)
}

#[test]
fn service_ports_get_their_ready_endpoints_affinity_and_wake_target() {
    let routes = fixture();
    let http = routes.by_node_port(Proto::Tcp, 30080).unwrap();
    assert_eq!(http.service, ("ns".to_owned(), "web".to_owned()));
    assert_eq!(http.cluster, Some("10.96.0.5:80".parse().unwrap()));
    let want: Vec<SocketAddr> = ["10.244.0.2:8080", "10.244.1.3:8080", "10.244.2.4:8080"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    assert_eq!(http.backends, want);
    assert_eq!(http.affinity, Some(DEFAULT_AFFINITY_TIMEOUT));
    assert_eq!(http.wake.as_deref(), Some("web"));
    let dns = routes
        .by_cluster_ip(Proto::Udp, "10.96.0.5:53".parse().unwrap())
        .unwrap();
    let want: Vec<SocketAddr> = ["10.244.0.2:5353", "10.244.1.3:5353"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    assert_eq!(dns.backends, want, "only web-1 has the dns port");
    assert_eq!(dns.node_port, Some(30053));
    let api = routes
        .by_cluster_ip(Proto::Tcp, "10.96.0.6:8443".parse().unwrap())
        .unwrap();
    assert_eq!(
        api.backends,
        vec!["10.244.0.7:9443".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(api.affinity, Some(Duration::from_secs(60)));
    assert_eq!(api.wake, None);
    assert_eq!(
        routes.node_ports(),
        vec![(Proto::Udp, 30053), (Proto::Tcp, 30080)]
    );
}

#[test]
fn unknown_addresses_ports_and_protocols_find_nothing() {
    let routes = fixture();
    for (proto, vip) in [
        (Proto::Udp, "10.96.0.5:80"),
        (Proto::Tcp, "10.96.0.5:81"),
        (Proto::Tcp, "10.96.0.6:443"),
        (Proto::Tcp, "10.96.0.7:80"),
    ] {
        assert!(
            routes.by_cluster_ip(proto, vip.parse().unwrap()).is_none(),
            "{vip}"
        );
    }
    assert!(routes.by_node_port(Proto::Udp, 30080).is_none());
    assert_eq!(
        routes.ports.len(),
        3,
        "ExternalName and SCTP ports are not served"
    );
}
