//! Tables of the service objects: services (kubectl's `printService`: type, cluster IP,
//! external IP, `80:30080/TCP` ports), endpoints, endpoint slices and network policies
//! (`printNetworkPolicy`: the pod selector).

use serde_json::{Value, json};

use super::age::age_cell;
use super::fields::{
    format_labels, format_selector, list_at, list_with_more, name, or_none, str_at,
};
use super::{AGE, Column, NAME, Row, col, wide};

pub(super) const SERVICE: &[Column] = &[
    NAME,
    col(
        "Type",
        "string",
        "type determines how the Service is exposed.",
    ),
    col(
        "Cluster-IP",
        "string",
        "clusterIP is the IP address of the service.",
    ),
    col(
        "External-IP",
        "string",
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    col(
        "Port(s)",
        "string",
        "The list of ports that are exposed by this service.",
    ),
    AGE,
    wide(
        "Selector",
        "string",
        "Route service traffic to pods with label keys and values matching this selector.",
    ),
];

/// The EXTERNAL-IP cell (`getServiceExternalIP`, wide: load balancer addresses unclipped).
fn external_ip(svc: &Value, ty: &str) -> String {
    let external: Vec<&str> = list_at(svc, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match ty {
        "ClusterIP" | "NodePort" => or_none(external.join(",")),
        "LoadBalancer" => {
            let mut lb: Vec<&str> = list_at(svc, &["status", "loadBalancer", "ingress"])
                .iter()
                .map(|i| match str_at(i, &["ip"]) {
                    "" => str_at(i, &["hostname"]),
                    ip => ip,
                })
                .filter(|s| !s.is_empty())
                .collect();
            lb.sort_unstable();
            lb.dedup();
            lb.extend(external);
            if lb.is_empty() {
                "<pending>".into()
            } else {
                lb.join(",")
            }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).to_owned(),
        _ => "<unknown>".into(),
    }
}

pub(super) fn service(svc: &Value, now: i64) -> Row {
    let spec = &svc["spec"];
    // Defaulting sets the type; read a missing one as the default.
    let ty = match str_at(spec, &["type"]) {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = list_at(spec, &["clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| str_at(spec, &["clusterIP"]));
    let ports: Vec<String> = list_at(spec, &["ports"])
        .iter()
        .map(|p| {
            let port = p["port"].as_i64().unwrap_or(0);
            let protocol = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(node_port) if node_port > 0 => format!("{port}:{node_port}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    vec![
        json!(name(svc)),
        json!(ty),
        json!(or_none(cluster_ip)),
        json!(external_ip(svc, ty)),
        json!(or_none(ports.join(","))),
        age_cell(svc, now),
        json!(format_labels(&spec["selector"])),
    ]
    .into()
}

pub(super) const ENDPOINTS: &[Column] = &[
    NAME,
    col(
        "Endpoints",
        "string",
        "The set of all endpoints is the union of all subsets.",
    ),
    AGE,
];

/// Host and port as Go's `net.JoinHostPort` writes them (`[::1]:80` for IPv6).
fn join_host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

pub(super) fn endpoints(obj: &Value, now: i64) -> Row {
    let subsets = list_at(obj, &["subsets"]);
    let text = if subsets.is_empty() {
        "<none>".to_owned()
    } else {
        let mut all: Vec<String> = Vec::new();
        for ss in subsets {
            let ips = list_at(ss, &["addresses"])
                .iter()
                .map(|a| str_at(a, &["ip"]));
            let ports = list_at(ss, &["ports"]);
            if ports.is_empty() {
                all.extend(ips.map(str::to_owned));
                continue;
            }
            for p in ports {
                let port = p["port"].as_i64().unwrap_or(0);
                all.extend(ips.clone().map(|ip| join_host_port(ip, port)));
            }
        }
        if all.is_empty() {
            String::new()
        } else {
            list_with_more(&all, 3)
        }
    };
    vec![json!(name(obj)), json!(text), age_cell(obj, now)].into()
}

pub(super) const ENDPOINT_SLICE: &[Column] = &[
    NAME,
    col(
        "AddressType",
        "string",
        "addressType specifies the type of address carried by this EndpointSlice.",
    ),
    col(
        "Ports",
        "string",
        "ports specifies the list of network ports exposed by each endpoint in this slice.",
    ),
    col(
        "Endpoints",
        "string",
        "endpoints is a list of unique endpoints in this slice.",
    ),
    AGE,
];

pub(super) fn endpoint_slice(obj: &Value, now: i64) -> Row {
    let ports: Vec<String> = list_at(obj, &["ports"])
        .iter()
        .map(|p| match (p["port"].as_i64(), p["name"].as_str()) {
            (Some(n), _) => n.to_string(),
            (None, Some(name)) => name.to_owned(),
            (None, None) => "*".to_owned(),
        })
        .collect();
    let addresses: Vec<String> = list_at(obj, &["endpoints"])
        .iter()
        .flat_map(|e| list_at(e, &["addresses"]))
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    vec![
        json!(name(obj)),
        json!(str_at(obj, &["addressType"])),
        json!(list_with_more(&ports, 3)),
        json!(list_with_more(&addresses, 3)),
        age_cell(obj, now),
    ]
    .into()
}

pub(super) const NETWORK_POLICY: &[Column] = &[
    NAME,
    col(
        "Pod-Selector",
        "string",
        "Selects the pods to which this NetworkPolicy object applies.",
    ),
    AGE,
];

pub(super) fn network_policy(obj: &Value, now: i64) -> Row {
    vec![
        json!(name(obj)),
        json!(format_selector(&obj["spec"]["podSelector"])),
        age_cell(obj, now),
    ]
    .into()
}
