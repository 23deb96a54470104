//! The pure half of Service allocation: which allocation keys a Service holds, what an update
//! keeps from the stored Service (kube-apiserver's `patchAllocatedValues` and
//! `dropTypeDependentFields`), and filling in random values for what is still unallocated.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use rand::Rng;
use serde_json::{Value, json};

/// Service CIDR 10.96.0.0/12 (virtual: no packet is ever sent to these addresses).
const SERVICE_NET: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SERVICE_BITS: u32 = 12;
const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

pub(crate) const IP_KEYS: &str = "/registry/skiff/ranges/clusterips/";
pub(crate) const PORT_KEYS: &str = "/registry/skiff/ranges/nodeports/";

pub(crate) fn random_cluster_ip() -> Ipv4Addr {
    let size = 1u32 << (32 - SERVICE_BITS);
    // Skip the network address, .1 (kubernetes Service by convention) and the broadcast.
    let offset = rand::rng().random_range(2..size - 1);
    Ipv4Addr::from(SERVICE_NET + offset)
}

pub(crate) fn in_service_net(ip: Ipv4Addr) -> bool {
    u32::from(ip) >> (32 - SERVICE_BITS) == SERVICE_NET >> (32 - SERVICE_BITS)
}

/// Allocation keys a Service holds.
pub(crate) fn allocation_keys(svc: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(ip) = svc["spec"]["clusterIP"]
        .as_str()
        .filter(|ip| *ip != "None" && !ip.is_empty())
    {
        keys.push(format!("{IP_KEYS}{ip}"));
    }
    for port in svc["spec"]["ports"].as_array().into_iter().flatten() {
        // 0 is no node port (what a protobuf client sends for a ClusterIP Service).
        if let Some(p) = port["nodePort"].as_u64().filter(|p| *p != 0) {
            keys.push(format!("{PORT_KEYS}{p}"));
        }
    }
    keys
}

pub(crate) fn wants_node_ports(svc: &Value) -> bool {
    matches!(
        svc["spec"]["type"].as_str(),
        Some("NodePort") | Some("LoadBalancer")
    )
}

fn is_external(svc: &Value) -> bool {
    svc["spec"]["type"].as_str() == Some("ExternalName")
}

/// The node ports a Service names explicitly (not to be replaced by random ones on a clash).
pub(crate) fn node_ports(svc: &Value) -> HashSet<u64> {
    svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["nodePort"].as_u64())
        .filter(|p| *p != 0)
        .collect()
}

/// Gives the Service a random ClusterIP (unless headless, external or set) and a random node
/// port for each port that needs one and has none.
pub(crate) fn fill_random(svc: &mut Value) {
    let ip = svc["spec"]["clusterIP"].as_str().unwrap_or_default();
    if ip.is_empty() && !is_external(svc) {
        let ip = random_cluster_ip().to_string();
        svc["spec"]["clusterIP"] = json!(ip);
        svc["spec"]["clusterIPs"] = json!([ip]);
    } else if !is_external(svc) {
        svc["spec"]["clusterIPs"] = json!([ip]);
    }
    if wants_node_ports(svc) {
        let ports = svc["spec"]["ports"].as_array_mut().map(|p| p.iter_mut());
        for port in ports.into_iter().flatten() {
            if port["nodePort"].as_u64().is_none_or(|p| p == 0) {
                port["nodePort"] = json!(rand::rng().random_range(NODE_PORTS));
            }
        }
    }
}

/// An update keeps what the stored Service was given: its ClusterIP when the new one is empty,
/// and each port's node port when the new port (same port and protocol) names none. A change
/// to a type without node ports drops the node ports the old Service had, and a change to
/// ExternalName drops the old ClusterIP, as kube-apiserver does; node ports the caller changed
/// are left for validation to refuse.
pub(crate) fn carry_allocations(old: &Value, new: &mut Value) {
    if !new["spec"].is_object() {
        return;
    }
    let old_ip = old["spec"]["clusterIP"].as_str().unwrap_or_default();
    let new_ip = new["spec"]["clusterIP"].as_str().unwrap_or_default();
    if is_external(new) {
        if new_ip == old_ip
            && let Some(spec) = new["spec"].as_object_mut()
        {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
    } else if new_ip.is_empty() && !old_ip.is_empty() {
        new["spec"]["clusterIP"] = json!(old_ip);
        new["spec"]["clusterIPs"] = old["spec"]["clusterIPs"].clone();
    }
    let port_key = |p: &Value| {
        (
            p["port"].as_u64(),
            p["protocol"].as_str().unwrap_or("TCP").to_owned(),
        )
    };
    let old_ports: Vec<((Option<u64>, String), u64)> = old["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((port_key(p), p["nodePort"].as_u64()?)))
        .collect();
    let keeps_node_ports = wants_node_ports(new);
    if !keeps_node_ports && wants_node_ports(old) {
        // Type-dependent fields the caller left as they were go with the node ports.
        for field in ["externalTrafficPolicy", "allocateLoadBalancerNodePorts"] {
            if new["spec"].get(field) == old["spec"].get(field)
                && let Some(spec) = new["spec"].as_object_mut()
            {
                spec.remove(field);
            }
        }
    }
    let ports = new["spec"]["ports"].as_array_mut().map(|p| p.iter_mut());
    for port in ports.into_iter().flatten() {
        let held = old_ports
            .iter()
            .find(|(k, _)| *k == port_key(port))
            .map(|(_, n)| *n);
        match (keeps_node_ports, port["nodePort"].as_u64(), held) {
            (true, None | Some(0), Some(held)) => port["nodePort"] = json!(held),
            (false, Some(n), Some(held)) if n == held => {
                if let Some(p) = port.as_object_mut() {
                    p.remove("nodePort");
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ips_stay_in_the_service_range() {
        for _ in 0..1000 {
            let ip = random_cluster_ip();
            assert!(in_service_net(ip), "{ip}");
            assert_ne!(ip, Ipv4Addr::new(10, 96, 0, 1));
        }
        assert!(!in_service_net(Ipv4Addr::new(10, 112, 0, 1)));
        let svc =
            json!({"spec": {"clusterIP": "10.96.3.4", "ports": [{"port": 80, "nodePort": 30080}]}});
        assert_eq!(
            allocation_keys(&svc),
            [format!("{IP_KEYS}10.96.3.4"), format!("{PORT_KEYS}30080")]
        );
    }

    fn svc(ty: &str, ports: Value) -> Value {
        json!({"spec": {"type": ty, "clusterIP": "10.96.0.9", "clusterIPs": ["10.96.0.9"], "ports": ports}})
    }

    #[test]
    fn an_update_keeps_allocated_node_ports_and_ip() {
        let old = svc("NodePort", json!([{"port": 80, "nodePort": 30080}]));
        let mut new = json!({"spec": {"type": "NodePort",
            "ports": [{"port": 80}, {"port": 81, "protocol": "TCP"}]}});
        carry_allocations(&old, &mut new);
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.9");
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 30080);
        assert!(new["spec"]["ports"][1].get("nodePort").is_none());
        fill_random(&mut new);
        let second = new["spec"]["ports"][1]["nodePort"].as_u64().unwrap();
        assert!(NODE_PORTS.contains(&(second as u16)));
        assert_eq!(
            new["spec"]["ports"][0]["nodePort"], 30080,
            "kept, not redrawn"
        );
    }

    #[test]
    fn a_type_change_drops_what_the_new_type_cannot_hold() {
        let mut old = svc("NodePort", json!([{"port": 80, "nodePort": 30080}]));
        old["spec"]["externalTrafficPolicy"] = json!("Cluster");
        let mut to_cluster_ip = old.clone();
        to_cluster_ip["spec"]["type"] = json!("ClusterIP");
        carry_allocations(&old, &mut to_cluster_ip);
        assert!(to_cluster_ip["spec"]["ports"][0].get("nodePort").is_none());
        assert!(to_cluster_ip["spec"].get("externalTrafficPolicy").is_none());
        assert!(allocation_keys(&to_cluster_ip).len() == 1);

        // A node port the caller changed is not silently dropped: validation refuses it.
        let mut changed = svc("ClusterIP", json!([{"port": 80, "nodePort": 30081}]));
        carry_allocations(&old, &mut changed);
        assert_eq!(changed["spec"]["ports"][0]["nodePort"], 30081);

        let mut external = json!({"spec": {"type": "ExternalName", "externalName": "x.example",
            "clusterIP": "10.96.0.9", "ports": [{"port": 80, "nodePort": 30080}]}});
        carry_allocations(&old, &mut external);
        assert!(external["spec"].get("clusterIP").is_none());
        assert!(allocation_keys(&external).is_empty());
    }
}
