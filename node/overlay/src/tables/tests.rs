//! The tables built from API objects, and their answers, by table.

use super::*;
use serde_json::json;

fn node(cidr: Option<&str>, ip: &str, port: Option<&str>) -> Node {
    let mut annotations = serde_json::Map::new();
    if let Some(port) = port {
        annotations.insert(OVERLAY_PORT_ANNOTATION.into(), port.into());
    }
    serde_json::from_value(json!({
        "metadata": {"name": "n", "annotations": annotations},
        "spec": {"podCIDR": cidr},
        "status": {"addresses": [{"type": "Hostname", "address": "h"},
                                  {"type": "InternalIP", "address": ip}]},
    }))
    .unwrap()
}

#[test]
fn nodes_give_their_pod_range_and_tunnel_once_published() {
    let table = [
        (
            node(Some("10.244.1.0/24"), "127.0.0.2", Some("4000")),
            Some("10.244.1.0/24"),
            Some("127.0.0.2:4000"),
        ),
        (
            node(Some("10.244.1.0/24"), "127.0.0.2", None),
            Some("10.244.1.0/24"),
            None,
        ),
        (
            node(None, "127.0.0.2", Some("4000")),
            None,
            Some("127.0.0.2:4000"),
        ),
        (node(None, "127.0.0.2", Some("0")), None, None),
        (node(None, "127.0.0.2", Some("many")), None, None),
        (node(Some("bad"), "not-an-ip", Some("4000")), None, None),
    ];
    for (node, cidr, tunnel) in table {
        let entry = NodeEntry::of(&node);
        assert_eq!(entry.pod_cidr, cidr.and_then(Cidr::parse), "{node:?}");
        assert_eq!(entry.tunnel, tunnel.map(|t| t.parse().unwrap()), "{node:?}");
    }
}

fn tables() -> Tables {
    let mut t = Tables::default();
    let entry = |cidr: &str, tunnel: Option<&str>| NodeEntry {
        pod_cidr: Cidr::parse(cidr),
        tunnel: tunnel.map(|t| t.parse().unwrap()),
    };
    t.nodes
        .insert("a".into(), entry("10.244.0.0/24", Some("127.0.0.2:4000")));
    t.nodes.insert("b".into(), entry("10.244.1.0/24", None));
    let service: Service = serde_json::from_value(json!({
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "echo", "port": 7000}]}
    }))
    .unwrap();
    let web = ServiceEntry::of(&service).unwrap();
    assert_eq!(web.ports[0].proto, Proto::Tcp);
    t.services.insert(("web".into(), "echo".into()), web);
    let headless: Service = serde_json::from_value(json!({
        "spec": {"clusterIP": "None", "ports": [{"port": 7001, "protocol": "UDP"}]}
    }))
    .unwrap();
    let headless = ServiceEntry::of(&headless).unwrap();
    t.services
        .insert(("web".into(), "peers".into()), headless.clone());
    t.services.insert(("web".into(), "empty".into()), headless);
    for (slice, addresses) in [
        (
            "peers-1",
            json!([{"addresses": ["10.244.1.3"]},
                           {"addresses": ["10.244.0.9"], "conditions": {"ready": false}}]),
        ),
        (
            "peers-2",
            json!([{"addresses": ["10.244.0.2"], "conditions": {"ready": true}},
                           {"addresses": ["10.244.1.3"]}]),
        ),
    ] {
        let slice: EndpointSlice = serde_json::from_value(json!({
            "metadata": {"name": slice, "labels": {SERVICE_NAME_LABEL: "peers"}},
            "addressType": "IPv4", "endpoints": addresses,
            "ports": [{"port": 7001, "protocol": "UDP"}],
        }))
        .unwrap();
        let entry = SliceEntry::of(&slice).unwrap();
        t.slices
            .insert(("web".into(), slice.metadata.name.unwrap()), entry);
    }
    t
}

#[test]
fn pod_ips_belong_to_the_node_whose_range_holds_them() {
    let t = tables();
    let table = [
        ("10.244.0.5", Some("a")),
        ("10.244.1.5", Some("b")),
        ("10.244.2.5", None),
        ("10.96.0.20", None),
        ("127.0.0.1", None),
    ];
    for (ip, want) in table {
        let owner = t.owner_of(ip.parse().unwrap()).map(|(name, _)| name);
        assert_eq!(owner, want, "{ip}");
    }
}

#[test]
fn names_resolve_to_cluster_ips_or_ready_pods_and_nothing_else() {
    let t = tables();
    let vip = Ok(vec!["10.96.0.20".parse().unwrap()]);
    let pods = Ok(vec![
        "10.244.0.2".parse().unwrap(),
        "10.244.1.3".parse().unwrap(),
    ]);
    let none = |n: &str| Err(NetError::NameUnresolvable(n.into()));
    let table = [
        ("echo", "web", vip.clone()),
        ("echo.web", "other", vip.clone()),
        ("echo.web.svc", "other", vip.clone()),
        ("ECHO.web.svc.cluster.local.", "other", vip.clone()),
        ("echo", "other", none("echo")),
        ("peers.web", "web", pods.clone()),
        ("peers", "web", pods),
        ("empty.web", "web", none("empty.web")),
        ("echo.web.example.com", "web", none("echo.web.example.com")),
        ("example.com", "web", none("example.com")),
        ("", "web", none("")),
        (".web", "web", none(".web")),
    ];
    for (name, namespace, want) in table {
        assert_eq!(t.resolve(name, namespace), want, "{name} from {namespace}");
    }
}

#[test]
fn services_without_an_address_are_not_answered_for() {
    let table = [
        json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
        json!({"spec": {"ports": [{"port": 80}]}}),
        json!({"spec": {"clusterIP": "not-an-ip"}}),
        json!({}),
    ];
    for service in table {
        let parsed: Service = serde_json::from_value(service.clone()).unwrap();
        assert_eq!(ServiceEntry::of(&parsed), None, "{service}");
    }
}
