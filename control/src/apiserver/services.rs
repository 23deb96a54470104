//! ClusterIP and NodePort allocation. Each allocated address or port is a key in the store,
//! created in the same transaction as the Service, so two replicas can never hand out the
//! same one: the loser's transaction fails and it picks again.

use std::net::Ipv4Addr;

use rand::Rng;
use serde_json::{Value, json};
use skiff_api::resources::ResourceInfo;
use skiff_api::status::{ApiError, FieldError};

use super::ApiServer;
use super::objects;
use crate::store::types::Op;

/// Service CIDR 10.96.0.0/12 (virtual: no packet is ever sent to these addresses).
const SERVICE_NET: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SERVICE_BITS: u32 = 12;
const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;
const ATTEMPTS: usize = 16;

const IP_KEYS: &str = "/registry/skiff/ranges/clusterips/";
const PORT_KEYS: &str = "/registry/skiff/ranges/nodeports/";

fn random_cluster_ip() -> Ipv4Addr {
    let size = 1u32 << (32 - SERVICE_BITS);
    // Skip the network address, .1 (kubernetes Service by convention) and the broadcast.
    let offset = rand::rng().random_range(2..size - 1);
    Ipv4Addr::from(SERVICE_NET + offset)
}

fn in_service_net(ip: Ipv4Addr) -> bool {
    u32::from(ip) >> (32 - SERVICE_BITS) == SERVICE_NET >> (32 - SERVICE_BITS)
}

/// Allocation keys a Service holds.
pub fn allocation_keys(svc: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(ip) = svc["spec"]["clusterIP"]
        .as_str()
        .filter(|ip| *ip != "None" && !ip.is_empty())
    {
        keys.push(format!("{IP_KEYS}{ip}"));
    }
    for port in svc["spec"]["ports"].as_array().into_iter().flatten() {
        if let Some(p) = port["nodePort"].as_u64() {
            keys.push(format!("{PORT_KEYS}{p}"));
        }
    }
    keys
}

fn wants_node_ports(svc: &Value) -> bool {
    matches!(
        svc["spec"]["type"].as_str(),
        Some("NodePort") | Some("LoadBalancer")
    )
}

impl ApiServer {
    /// Creates a Service, allocating its ClusterIP and node ports atomically with it.
    pub async fn create_service(&self, info: &ResourceInfo, svc: Value) -> Result<Value, ApiError> {
        let (_, name) = objects::namespace_and_name(&svc);
        let requested_ip = svc["spec"]["clusterIP"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if let Some(ip) = &requested_ip
            && ip != "None"
            && !ip.parse::<Ipv4Addr>().is_ok_and(in_service_net)
        {
            let cause = FieldError::invalid(
                "spec.clusterIP",
                format!(
                    "Invalid value: \"{ip}\": provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12"
                ),
            );
            return Err(ApiError::invalid(info.kind, info.group, &name, vec![cause]));
        }
        let is_external = svc["spec"]["type"].as_str() == Some("ExternalName");
        for _ in 0..ATTEMPTS {
            let mut candidate = svc.clone();
            if requested_ip.is_none() && !is_external {
                let ip = random_cluster_ip().to_string();
                candidate["spec"]["clusterIP"] = json!(ip);
                candidate["spec"]["clusterIPs"] = json!([ip]);
            } else if let Some(ip) = &requested_ip {
                candidate["spec"]["clusterIPs"] = json!([ip]);
            }
            if wants_node_ports(&candidate) {
                let ports = candidate["spec"]["ports"]
                    .as_array_mut()
                    .map(|p| p.iter_mut());
                for port in ports.into_iter().flatten() {
                    if port["nodePort"].as_u64().is_none() {
                        port["nodePort"] = json!(rand::rng().random_range(NODE_PORTS));
                    }
                }
            }
            let extra: Vec<Op> = allocation_keys(&candidate)
                .into_iter()
                .map(|k| Op::create(k, name.clone()))
                .collect();
            match self.objects.create(info, candidate, extra).await {
                // A clash on an allocation key (not on the Service itself): try other values,
                // unless the caller asked for exactly these.
                Err(e)
                    if e.reason == "Conflict" && e.message.contains("/registry/skiff/ranges/") =>
                {
                    if requested_ip.is_some() && !wants_node_ports(&svc) {
                        let cause = FieldError::invalid(
                            "spec.clusterIP",
                            "provided IP is already allocated",
                        );
                        return Err(ApiError::invalid(info.kind, info.group, &name, vec![cause]));
                    }
                    continue;
                }
                other => return other,
            }
        }
        Err(ApiError::internal(
            "could not allocate a free ClusterIP or node port; the ranges may be full",
        ))
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
}
